"""Autophase: set the lock-in phase that puts the ST-FMR signal in X."""

from __future__ import annotations

import logging

import numpy as np

from stfmr.analysis.lockin import detection_phase_deg
from stfmr.procedures.field_sweep import FieldSweep

log = logging.getLogger(__name__)


class Autophase(FieldSweep):
    """Measure one spectrum through resonance, then turn the lock-in's reference phase.

    The (X, Y) readings of a spectrum lie on a line through the origin; the
    reference phase is changed by that line's angle (modulo 180 deg, the sign
    being the setup polarity's business), so the following spectra carry the
    whole signal in X. The spectrum itself is kept as this step's file; the
    phase set goes to the log and the run manifest.
    """

    def measure(self) -> None:
        super().measure()
        if self.should_stop() or len(self.readings_xy) < 3:
            return
        x, y = np.array(self.readings_xy).T
        offset = detection_phase_deg(x, y)
        detector = self.bench.detector
        old = detector.phase()
        new = (old + offset + 180.0) % 360.0 - 180.0
        detector.set_phase(new)
        self.phase_set_deg = new
        log.info("autophase: signal at %+.2f deg from X; lock-in phase %.2f -> %.2f deg", offset, old, new)
