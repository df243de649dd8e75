"""FrequencyScan: one ST-FMR spectrum V_FMR(f) at fixed field, power and angle.

For setups whose magnet is slow or fixed: the field is set once (twice with
``both_branches``) and the rf frequency is stepped through resonance. The line
is analysed by :mod:`stfmr.analysis.frequency_scan`, which maps it onto the
field-swept line through the Kittel slope df/dH.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter

from stfmr.analysis import columns as col
from stfmr.analysis.constants import DEFAULT_G
from stfmr.analysis.frequency_scan import MIN_POINTS, FrequencyScanFit, FrequencyScanFitError, fit_frequency_scan
from stfmr.procedures.safety import LimitChecker, LimitError
from stfmr.procedures.spectrum import SpectrumProcedure

log = logging.getLogger(__name__)

#: fewest points of a branch before the final fit is attempted (as for a field sweep)
#: the coil current counts as settled within this fraction of the target current, or FIELD_SETTLED_MIN_A
#: (2e-4 of 150 mT is 0.03 mT, under 1 % of a typical half width)
FIELD_SETTLED_FRACTION = 2e-4
FIELD_SETTLED_MIN_A = 1e-3
#: longest wait (s) for the coil current to follow its setpoint before the scan starts
FIELD_SETTLE_TIMEOUT_S = 30.0


class FrequencyScan(SpectrumProcedure):
    """Step the rf frequency through resonance at a fixed field and record the lock-in at each point.

    The magnet is ramped once to ``field_mT`` at the safe rate and the
    procedure waits until the coil current has followed the setpoint. Then
    the rf source steps from ``frequency_start_GHz`` to ``frequency_stop_GHz``
    (power re-checked against the limit at every step); after each step it
    waits the detector's settle time (from its time constant and filter
    slope) plus ``dwell_s``, reads X and Y, the measured field and the supply
    current, and emits the point. With ``both_branches`` the rf is switched
    off, the magnet is ramped to ``-field_mT`` and the same frequencies are
    scanned again. The spectrum is fitted once at the end (``final_fits``,
    one :class:`~stfmr.analysis.frequency_scan.FrequencyScanFit` per branch,
    with ``g`` for the field-equivalent linewidth); ``on_fit`` is not called,
    since its receivers expect field-sweep fits.
    """

    field_mT = FloatParameter("Field", units="mT", default=150.0, minimum=0.0, maximum=5000.0)
    frequency_start_GHz = FloatParameter("Frequency start", units="GHz", default=8.0, minimum=0.001, maximum=110.0)
    frequency_stop_GHz = FloatParameter("Frequency stop", units="GHz", default=12.0, minimum=0.001, maximum=110.0)
    frequency_points = IntegerParameter(col.FREQUENCY_POINTS_PARAM, default=161, minimum=3, maximum=100000)
    g = FloatParameter(col.LANDE_G_PARAM, default=DEFAULT_G, minimum=0.1, maximum=10.0)

    #: what the GUI plots V_FMR against
    SWEEP_COLUMN = col.FREQUENCY
    DATA_COLUMNS = [
        col.FREQUENCY, col.FIELD_SET, col.FIELD, col.CURRENT, col.X, col.Y, col.V_FMR,
        col.POWER, col.ANGLE, col.I_DC, col.TIME,
    ]

    def frequency_values(self) -> np.ndarray:
        """The rf frequencies (GHz) of one branch, in scan order."""
        return np.linspace(self.frequency_start_GHz, self.frequency_stop_GHz, int(self.frequency_points))

    def field_values(self) -> list[float]:
        """The set fields (mT) of the branches, in order: +field, then -field with ``both_branches``."""
        return [float(self.field_mT), -float(self.field_mT)] if self.both_branches else [float(self.field_mT)]

    def check_plan(self, guard: LimitChecker) -> None:
        where = self.where()
        self.check_settings(guard, where)
        for f in (self.frequency_start_GHz, self.frequency_stop_GHz):
            if not (isinstance(f, (int, float)) and math.isfinite(f) and f > 0):
                raise LimitError(f"{where}: rf frequency must be a positive finite number of GHz, got {f!r}")
        if self.frequency_start_GHz == self.frequency_stop_GHz:
            raise ValueError(f"{where}: frequency start and stop are both {self.frequency_start_GHz:g} GHz: "
                             "a scan needs a range")
        for h in self.field_values():
            guard.check_field(h, where)

    def measure(self) -> None:
        bench, guard = self.bench, self.guard
        factor = self.modulation_factor()
        settle = bench.detector.settle_time() + self.dwell_s
        freqs = self.frequency_values()
        fields = self.field_values()
        total = len(freqs) * len(fields)
        self.prepare(float(freqs[0]))
        t0 = bench.clock.now()
        columns: dict[str, list[float]] = {"f": [], "h_set": [], "h": [], "v": []}
        self.readings_xy: list[tuple[float, float]] = []
        k = 0
        for h_set in fields:
            if self.should_stop():
                break
            guard.rf_output(False)  # no rf while the magnet ramps between branches
            guard.ramp_field(h_set)
            if self.should_stop() or not self._wait_for_field(h_set):
                break
            guard.set_rf(float(freqs[0]), self.power_dBm)
            guard.rf_output(True)
            for f in freqs:
                if self.should_stop():
                    log.info("frequency scan stopped at %d of %d points", k, total)
                    break
                guard.set_rf(float(f), self.power_dBm)
                bench.clock.sleep(settle)
                row = self.read_point(factor, t0, h_set, float(f))
                k += 1
                self.emit_progress(k, total)
                for key, value in zip(columns, (float(f), h_set, row[col.FIELD], row[col.V_FMR])):
                    columns[key].append(value)
                self.readings_xy.append((row[col.X], row[col.Y]))
        self.final_fits = self._final_fit(columns)

    def _wait_for_field(self, field_mT: float) -> bool:
        """Wait until the coil current (lagging the setpoint by L/R) has reached the field's current.

        Returns False if the run was stopped meanwhile. A coil that has not
        followed within FIELD_SETTLE_TIMEOUT_S is an error: the field of a
        frequency scan must not drift.
        """
        field, clock = self.bench.field, self.bench.clock
        target = field.current_for_field(field_mT)
        tolerance = max(FIELD_SETTLED_FRACTION * abs(target), FIELD_SETTLED_MIN_A)
        waited = 0.0
        while abs(field.current() - target) > tolerance:
            if self.should_stop():
                return False
            if waited >= FIELD_SETTLE_TIMEOUT_S:
                raise TimeoutError(f"magnet current {field.current():.4g} A has not reached {target:.4g} A "
                                   f"({field_mT:g} mT) {FIELD_SETTLE_TIMEOUT_S:g} s after the ramp")
            clock.sleep(0.1)
            waited += 0.1
        return True

    def _final_fit(self, columns: dict[str, list[float]]) -> list[FrequencyScanFit]:
        if len(columns["f"]) < MIN_POINTS:
            return []
        try:
            fits = fit_frequency_scan(columns["f"], columns["v"], columns["h"], set_field_mT=columns["h_set"],
                                      g=self.g)
        except (FrequencyScanFitError, ValueError) as exc:
            self.fit_error = str(exc)
            log.warning("frequency scan at %g mT, %g deg not fitted: %s", self.field_mT, self.angle_deg, exc)
            return []
        for fit in fits:
            v, e = fit.values, fit.stderr
            q, qe = fit.equivalent, fit.equivalent_stderr
            log.info(
                "fit %+d branch at %.2f mT, %g deg: f_r = %.4f +- %.4f GHz, df = %.4f +- %.4f GHz "
                "(dH = %.3f +- %.3f mT), V_S = %.4g +- %.2g V, V_A (field sense) = %.4g +- %.2g V",
                fit.polarity, fit.field_mT, self.angle_deg, v["f_r"], e["f_r"], v["df"], e["df"],
                q["dH"], qe["dH"], q["V_S"], qe["V_S"], q["V_A"], qe["V_A"],
            )
        return fits
