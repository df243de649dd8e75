"""AMR: R(phi) at a saturating field, for Delta_R_AMR (docs/physics.md §5)."""

from __future__ import annotations

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter

from stfmr.analysis import columns as col
from stfmr.instruments.roles import SourceMeter
from stfmr.procedures.base import SENSE_CURRENT_MA, BenchProcedure
from stfmr.procedures.safety import LimitChecker, SafetyGuard


class AmrSweep(BenchProcedure):
    """Turn the stage through a list of angles at fixed field and record R = V/I_sense.

    The rf stays off. Each angle is measured with +I and -I and the two
    averaged, (V+ - V-)/(2 I), so thermal and rectified dc voltages cancel.
    """

    field_mT = FloatParameter("Field", units="mT", default=200.0, minimum=-5000.0, maximum=5000.0)
    angle_start_deg = FloatParameter("Angle start", units="deg", default=0.0, minimum=-360.0, maximum=720.0)
    angle_stop_deg = FloatParameter("Angle stop", units="deg", default=360.0, minimum=-360.0, maximum=720.0)
    angle_points = IntegerParameter(col.ANGLE_POINTS_PARAM, default=37, minimum=3, maximum=10000)
    sense_current_mA = FloatParameter("Sense current", units="mA", default=SENSE_CURRENT_MA,
                                      minimum=1e-6, maximum=100.0)

    DATA_COLUMNS = [col.ANGLE_SET, col.ANGLE, col.FIELD, col.I_DC, col.RESISTANCE, col.TIME]

    def angles(self) -> np.ndarray:
        return np.linspace(self.angle_start_deg, self.angle_stop_deg, int(self.angle_points))

    def check_plan(self, guard: LimitChecker) -> None:
        where = self.where()
        if guard.bench.rotator is None or guard.bench.sourcemeter is None:
            raise ValueError(f"{where}: the bench needs a rotator and a sourcemeter")
        guard.check_field(self.field_mT, where)
        for angle in (self.angle_start_deg, self.angle_stop_deg):
            guard.check_angle(angle, where)
        guard.check_dc_current(self.sense_current_mA * 1e-3, where)

    def measure(self) -> None:
        bench, guard = self.bench, self.guard
        rotator, sourcemeter = bench.rotator, bench.sourcemeter
        assert rotator is not None and sourcemeter is not None  # check_plan refused a bench without them
        guard.rf_output(False)
        guard.ramp_field(self.field_mT)
        t0 = bench.clock.now()
        angles = self.angles()
        for k, angle in enumerate(angles):
            if self.should_stop():
                break
            guard.move_stage(float(angle))
            resistance = reversed_current_resistance(guard, sourcemeter, self.sense_current_mA * 1e-3)
            self.emit("results", {
                col.ANGLE_SET: float(angle),
                col.ANGLE: rotator.angle(),
                col.FIELD: bench.field.field_mT(),
                col.I_DC: self.sense_current_mA,
                col.RESISTANCE: resistance,
                col.TIME: bench.clock.now() - t0,
            })
            self.emit("progress", 100.0 * (k + 1) / len(angles))


def reversed_current_resistance(guard: SafetyGuard, sourcemeter: SourceMeter, amps: float) -> float:
    """R = (V(+I) - V(-I)) / (2 I): a current-reversal reading free of dc offsets (Ohm)."""
    guard.set_dc_current(amps)
    v_plus = sourcemeter.measure_voltage()
    guard.set_dc_current(-amps)
    v_minus = sourcemeter.measure_voltage()
    guard.set_dc_current(0.0)
    return (v_plus - v_minus) / (2.0 * amps)
