"""MagnetCalibration: field against supply current with the gaussmeter, both branches of the loop.

The supply is driven in amperes directly (the coil calibration is what is being
measured), still through the safety layer: every current is checked before
anything moves (:meth:`SafetyGuard.check_coil_current`: the current limit, and
the field limit by the calibration in use), every move is a ramp within the rate
limit, and a measured field beyond the field limit stops the run. The loop:

1. a magnetising ramp 0 -> +I_max (not recorded), so the loop starts saturated;
2. the *down* branch, ``points_per_branch`` currents from +I_max to -I_max;
3. the *up* branch, the same currents from -I_max to +I_max.

At each point the coil settles for ``settle_s`` (its L/R lag), then the supply
readback and the gaussmeter are read. ``Branch`` is +1 (up) or -1 (down). The rf
stays off. Finish, abort and error ramp the magnet to zero (``make_safe``).

After a complete run the runner calls :meth:`MagnetCalibration.write_outputs`,
which writes the loop as a coil calibration (``calibration_file`` in the run
folder, ``coil_calibration.csv`` by default; see
:func:`stfmr.instruments.calibration.write_loop_calibration`). Point a bench
file's ``[field] calibration_file`` at it and FieldControl uses it, branches
and all.
"""

from __future__ import annotations

import datetime as _dt
import logging
from pathlib import Path

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter, Parameter

from stfmr import __version__
from stfmr.analysis import columns as col
from stfmr.instruments.calibration import DOWN, UP, CalibrationError, write_loop_calibration
from stfmr.procedures.base import BenchProcedure
from stfmr.procedures.safety import LimitChecker, LimitError

log = logging.getLogger(__name__)

#: the default name of the calibration written into the run folder
DEFAULT_CALIBRATION_FILE = "coil_calibration.csv"


def check_calibration_name(name: str, where: str) -> str:
    """Return ``name`` if it is a plain ``.csv`` file name (written into the run folder); else ValueError."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: calibration_file must be a file name, got {name!r}")
    if Path(name).name != name or name in (".", "..") or not name.lower().endswith(".csv"):
        raise ValueError(f"{where}: calibration_file must be a plain .csv file name (it is written into the "
                         f"run folder), got {name!r}")
    return name


class MagnetCalibration(BenchProcedure):
    """Measure the magnet's field against supply current through a full hysteresis loop."""

    max_current_A = FloatParameter("Max current", units="A", default=5.0, minimum=0.001, maximum=12.0)
    points_per_branch = IntegerParameter("Points per branch", default=41, minimum=3, maximum=100000)
    settle_s = FloatParameter("Settle time", units="s", default=1.0, minimum=0.0, maximum=3600.0)
    calibration_file = Parameter("Calibration file", default=DEFAULT_CALIBRATION_FILE)

    DATA_COLUMNS = [col.SET_CURRENT, col.CURRENT, col.FIELD, col.BRANCH, col.TIME]

    def branch_currents(self) -> tuple[np.ndarray, np.ndarray]:
        """The set currents (A) of the down branch (+I_max -> -I_max) and of the up branch (reverse)."""
        down = np.linspace(float(self.max_current_A), -float(self.max_current_A), int(self.points_per_branch))
        return down, down[::-1].copy()

    def _step(self, amps: float, where: str) -> tuple[float, float] | None:
        """Ramp to ``amps`` (A) if the field measured so far says it stays within the limit; settle, read.

        The look-ahead extrapolates the last two settled points (|B| + |dB/dI|*|dI|), so a
        coil stronger than its calibration is stopped before it exceeds the field limit,
        not after. Returns (readback A, field mT), or None if the run was stopped meanwhile.
        """
        guard, field = self.guard, self.bench.field
        if len(self._trail) >= 2:
            (i1, b1), (i2, b2) = self._trail[-2:]
            if i2 != i1:
                predicted = abs(b2) + abs((b2 - b1) / (i2 - i1)) * abs(amps - i2)
                if predicted > guard.limits.max_field_mT:
                    raise LimitError(f"{where}: at {amps:g} A the measured field would reach about "
                                     f"{predicted:.4g} mT (from {b2:.4g} mT at {i2:g} A), beyond the limit of "
                                     f"+-{guard.limits.max_field_mT:g} mT: the coil is stronger than its "
                                     "calibration says; stopped before the step")
        guard.ramp_current(amps)
        if self.should_stop():
            return None
        self.bench.clock.sleep(self.settle_s)
        readback, field_mT = field.current(), field.field_mT()
        guard.check_measured_field(field_mT, where)
        self._trail.append((amps, field_mT))
        return readback, field_mT

    def startup(self) -> None:
        try:
            super().startup()
        except Exception as exc:  # a refused plan: keep the reason for the runner's manifest and log
            self.error = exc
            raise

    def check_plan(self, guard: LimitChecker) -> None:
        where = self.where()
        if not guard.bench.field.has_gaussmeter():
            raise ValueError(f"{where}: the bench has no gaussmeter; a magnet calibration measures the field "
                             "with one ([field.gaussmeter] in the bench file)")
        # ranges of max_current_A, points_per_branch and settle_s: their Parameters'; limits: the guard's
        check_calibration_name(self.calibration_file, where)
        imax = float(self.max_current_A)
        for amps in (imax, -imax):
            guard.check_coil_current(float(amps), where)

    def measure(self) -> None:
        bench, guard = self.bench, self.guard
        where = self.where()
        down, up = self.branch_currents()
        plan = [(float(a), DOWN) for a in down] + [(float(a), UP) for a in up]
        #: the loop as measured: (set current A, readback A, field mT, branch)
        self.loop: list[tuple[float, float, float, int]] = []
        guard.rf_output(False)
        t0 = bench.clock.now()
        #: (set current A, measured field mT) of every settled point, for the look-ahead
        self._trail: list[tuple[float, float]] = []
        for amps in up[up > 0]:  # the magnetising excursion to +I_max, a point spacing at a time
            if self.should_stop() or self._step(amps, where) is None:
                break
        for k, (amps, branch) in enumerate(plan):
            if self.should_stop():
                break
            reading = self._step(amps, where)
            if reading is None:
                break  # the ramp was interrupted short of this point
            readback, field_mT = reading
            self.loop.append((amps, readback, field_mT, branch))
            self.emit("results", {
                col.SET_CURRENT: amps,
                col.CURRENT: readback,
                col.FIELD: field_mT,
                col.BRANCH: branch,
                col.TIME: bench.clock.now() - t0,
            })
            self.emit("progress", 100.0 * (k + 1) / len(plan))
        if len(self.loop) < len(plan):
            log.info("magnet calibration stopped after %d of %d points", len(self.loop), len(plan))
            return
        residual = max(abs(r - s) for s, r, _, _ in self.loop)
        log.info("magnet calibration: %d points, largest |readback - set| %.3g A", len(self.loop), residual)
        spacing = 2.0 * float(self.max_current_A) / (int(self.points_per_branch) - 1)
        if residual > 0.02 * spacing:
            log.warning("magnet calibration: the readback differs from the setpoint by up to %.3g A "
                        "(%.0f%% of the point spacing): the coil may not settle within settle_s = %g s",
                        residual, 100 * residual / spacing, self.settle_s)

    def planned_outputs(self) -> list[str]:
        """The files :meth:`write_outputs` will write into the run folder (set aside if the task is unfinished)."""
        return [self.calibration_file]

    def write_outputs(self, folder: str | Path) -> list[str]:
        """Write the measured loop as a coil calibration into ``folder``; return the file names written.

        The table's current is the *programmed* current (what FieldControl will
        program); the readback stays in the Results file.
        """
        loop = getattr(self, "loop", [])
        expected = 2 * int(self.points_per_branch)
        if len(loop) != expected:
            raise CalibrationError(f"magnet calibration incomplete ({len(loop)} of {expected} points): "
                                   "no calibration written")
        path = Path(folder) / check_calibration_name(self.calibration_file, type(self).__name__)
        bench = self.bench
        gaussmeter = bench.field.gaussmeter
        assert gaussmeter is not None  # check_plan refused a bench without one
        kind = "SIMULATED bench" if bench.simulated else "real instruments"
        comment = [
            f"coil calibration measured by stfmr {__version__} (MagnetCalibration) on "
            f"{_dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds')}",
            f"bench: {bench.config.name} ({kind}); gaussmeter: {gaussmeter.instrument}",
            f"loop: +-{float(self.max_current_A):g} A, {int(self.points_per_branch)} points per branch, "
            f"settle {float(self.settle_s):g} s; down = +I_max -> -I_max, up = -I_max -> +I_max",
            f"{col.CURRENT} is the programmed supply current; use this file as [field] calibration_file",
        ]
        calibration = write_loop_calibration(path, [p[0] for p in loop], [p[2] for p in loop],
                                             [p[3] for p in loop], comment)
        assert calibration.band_A is not None  # a table with up and down branches has a band
        lo, hi = calibration.band_A
        log.info("coil calibration written to %s: hysteresis band %.3g..%.3g A; point [field] calibration_file "
                 "of the bench file at it", path, lo, hi)
        if lo <= -float(self.max_current_A) or hi >= float(self.max_current_A):
            log.warning("coil calibration: the branches do not close within +-%g A: measure to a larger "
                        "current for a saturated loop", float(self.max_current_A))
        return [path.name]
