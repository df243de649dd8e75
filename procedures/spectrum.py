"""What a field sweep and a frequency scan share: rf, angle and dc bias settings, and the lock-in point."""

from __future__ import annotations

from typing import Any

from pymeasure.experiment import BooleanParameter, FloatParameter, IntegerParameter

from stfmr.analysis import columns as col
from stfmr.procedures.base import BenchProcedure
from stfmr.procedures.safety import LimitChecker


class SpectrumProcedure(BenchProcedure):
    """Base of the ST-FMR spectra: the fixed settings and one detector reading per point.

    Subclasses add the swept quantity, its Parameters and DATA_COLUMNS (each
    holds every column :meth:`read_point` writes).
    """

    power_dBm = FloatParameter(col.POWER_PARAM, units="dBm", default=10.0, minimum=-130.0, maximum=40.0)
    angle_deg = FloatParameter(col.ANGLE_PARAM, units="deg", default=45.0, minimum=-360.0, maximum=720.0)
    move_stage = BooleanParameter("Move stage", default=True)
    both_branches = BooleanParameter(col.BOTH_BRANCHES_PARAM, default=False)
    dc_current_mA = FloatParameter("DC current", units="mA", default=0.0, minimum=-1000.0, maximum=1000.0)
    dwell_s = FloatParameter("Extra dwell", units="s", default=0.0, minimum=0.0, maximum=3600.0)
    #: lock-in readings averaged into each point, a noise correlation time apart (see read_detector)
    readings_per_point = IntegerParameter(col.READINGS_PARAM, default=1, minimum=1, maximum=10000)

    def check_settings(self, guard: LimitChecker, where: str) -> None:
        """Check the rf power, dc current and angle against the limits."""
        guard.check_rf_power(self.power_dBm, where)
        guard.check_dc_current(self.dc_current_mA * 1e-3, where)
        if self.move_stage and guard.bench.rotator is not None:
            guard.check_angle(self.angle_deg, where)

    def prepare(self, frequency_GHz: float) -> None:
        """rf off and set, the stage at the angle, the dc bias ramped on (all through the guard)."""
        guard = self.guard
        guard.rf_output(False)
        guard.set_rf(frequency_GHz, self.power_dBm)
        if self.move_stage and self.bench.rotator is not None:
            guard.move_stage(self.angle_deg)
        if self.dc_current_mA:
            guard.set_dc_current(self.dc_current_mA * 1e-3)
        # the I_dc column is this label: the source must agree (a current left on would mislabel the data)
        guard.verify_dc_current(self.dc_current_mA * 1e-3, type(self).__name__)

    def read_point(self, factor: float, t0: float, field_set_mT: float, frequency_GHz: float) -> dict[str, Any]:
        """Read the lock-in, the field and the supply current; emit the row (written and flushed); return it.

        factor: lock-in X per dc mixing volt; t0: the clock's time (s) at the start.
        """
        bench = self.bench
        x, y = self.read_detector()
        bench.detector.check_overload()
        row = {
            col.FIELD_SET: float(field_set_mT),
            col.FIELD: bench.field.field_mT(),
            col.CURRENT: bench.field.point_current(),
            col.X: x,
            col.Y: y,
            col.V_FMR: x / factor,
            col.FREQUENCY: float(frequency_GHz),
            col.POWER: self.power_dBm,
            col.ANGLE: self.angle_deg,
            col.I_DC: self.dc_current_mA,
            col.TIME: bench.clock.now() - t0,
        }
        self.emit("results", row)
        return row

    def read_detector(self) -> tuple[float, float]:
        """Return the mean (X, Y) (V) of ``readings_per_point`` readings, the first now.

        The readings are the detector's reading_interval apart (a lock-in's noise
        correlation time, 2 tau at 12 dB/oct): after one settle time per point, each
        further reading adds almost independent noise for 2 tau of bench time, where a
        new point would cost the whole settle time (6.6 tau) again. The state does not
        change within a point, so the one overload check after the last reading covers
        them all (the SR830's status bits also latch).
        """
        n = int(self.readings_per_point)
        detector = self.bench.detector
        x_sum = y_sum = 0.0
        for k in range(n):
            if k:
                self.bench.clock.sleep(detector.reading_interval())
            x, y = detector.read_xy()
            x_sum += x
            y_sum += y
        return x_sum / n, y_sum / n

    def emit_progress(self, done: int, total: int) -> None:
        """Emit progress when the percentage changes: at most 100 events, since each repaints a GUI bar."""
        percent = (100 * done) // total
        if percent != (100 * (done - 1)) // total:
            self.emit("progress", float(percent))
