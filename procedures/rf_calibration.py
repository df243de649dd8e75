"""RfCalibration: R(I_dc) and, off resonance, R(P) at one frequency (Tshitoyan et al. 2015).

The peak rf current is I_0 = sqrt(2*c*P/k), so its error is half the relative error
of the heating slope c (Ohm/W), which the R(P) readings set. A slope is best
determined by readings at the two ends of the power range, and each reading's
error is the sourcemeter's voltage noise over the sense current: the "ends"
power design with a 1 mA sense current (:data:`PRECISION_SENSE_CURRENT_MA`)
gives I_0 an error 11 times smaller (reported; 19 times the true rms) than six evenly
spaced powers read through 0.1 mA, in slightly less bench time
(tests/benchmarks/bench_rf_calibration.py). The
sense current heats the device by k*I_sense^2 at every power alike, so it
shifts R_0' and not c.
"""

from __future__ import annotations

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter, ListParameter

from stfmr.analysis import columns as col
from stfmr.instruments.roles import SourceMeter
from stfmr.procedures.amr import reversed_current_resistance
from stfmr.procedures.base import SENSE_CURRENT_MA, BenchProcedure
from stfmr.procedures.safety import LimitChecker

#: the sense current of R(P) readings in the precision design (mA): ten times the resistance
#: readings' default, for a tenth of their error; its heating is the same at every power
PRECISION_SENSE_CURRENT_MA = 1.0
#: the precision design's R(P) readings at each end of the power range, and its dc currents
#: (dc_points = 5: +-1/4, 2/4, 3/4 and 4/4 of dc_max): with 1 mA, together no longer than the
#: grid design of six powers and nine dc points (tests/benchmarks/bench_rf_calibration.py)
PRECISION_REPEATS = 3
PRECISION_DC_POINTS = 5
#: how the R(P) readings are spread over the power range
POWER_DESIGNS = ("grid", "ends")


class RfCalibration(BenchProcedure):
    """Measure the device's heating by dc current and by rf power at one frequency.

    First, rf off: R = V/I at each dc current of the list (R = R_0 + k*I_dc^2).
    Then at an off-resonance field, rf on at each power of the list: R from a
    reversed sense current (R = R_0 + c*P). Rows of the first part have
    `RF on` = 0, of the second 1. Equal heating gives I_0 = sqrt(2*c*P/k).
    Power design "grid": one reading at each of ``power_points`` evenly spaced
    powers. "ends": ``power_points`` readings alternating between the lowest and
    the highest power in the order low, high, high, low, low, high, ... (a linear
    drift then cancels from the slope in every group of four).
    The rf is CW during R(P): pulse modulation would halve the average heating
    and so the calibrated I_0^2. The bench's modulation is restored afterwards.
    """

    frequency_GHz = FloatParameter(col.FREQUENCY_PARAM, units="GHz", default=10.0, minimum=0.001, maximum=110.0)
    field_mT = FloatParameter("Field", units="mT", default=350.0, minimum=-5000.0, maximum=5000.0)
    dc_max_mA = FloatParameter("DC current max", units="mA", default=4.0, minimum=1e-3, maximum=1000.0)
    dc_points = IntegerParameter(col.DC_CURRENT_POINTS_PARAM, default=9, minimum=3, maximum=1000)
    power_start_dBm = FloatParameter("Power start", units="dBm", default=0.0, minimum=-130.0, maximum=40.0)
    power_stop_dBm = FloatParameter("Power stop", units="dBm", default=15.0, minimum=-130.0, maximum=40.0)
    power_points = IntegerParameter(col.POWER_POINTS_PARAM, default=6, minimum=2, maximum=1000)
    power_design = ListParameter("Power design", choices=POWER_DESIGNS, default="grid")
    sense_current_mA = FloatParameter("Sense current", units="mA", default=SENSE_CURRENT_MA,
                                      minimum=1e-6, maximum=100.0)

    DATA_COLUMNS = [col.RF_ON, col.I_DC, col.POWER, col.FREQUENCY, col.FIELD, col.RESISTANCE, col.TIME]

    def dc_currents_mA(self) -> np.ndarray:
        """Both polarities, zero left out (R = V/I needs a current)."""
        half = np.linspace(0.0, self.dc_max_mA, int(self.dc_points))[1:]
        return np.concatenate([-half[::-1], half])

    def powers_dBm(self) -> np.ndarray:
        """The source power of each R(P) reading in measuring order (dBm)."""
        n = int(self.power_points)
        if self.power_design == "ends":
            ends = (self.power_start_dBm, self.power_stop_dBm)
            return np.array([ends[(k + 1) // 2 % 2] for k in range(n)], dtype=float)
        return np.linspace(self.power_start_dBm, self.power_stop_dBm, n)

    def check_plan(self, guard: LimitChecker) -> None:
        where = self.where()
        if guard.bench.sourcemeter is None:
            raise ValueError(f"{where}: the bench needs a sourcemeter")
        guard.check_field(self.field_mT, where)
        guard.check_dc_current(self.dc_max_mA * 1e-3, where)
        guard.check_dc_current(self.sense_current_mA * 1e-3, where)
        guard.check_rf_power(max(self.power_start_dBm, self.power_stop_dBm), where)

    def measure(self) -> None:
        bench, guard = self.bench, self.guard
        sm = bench.sourcemeter
        assert sm is not None  # check_plan refused a bench without one
        t0 = bench.clock.now()
        guard.rf_output(False)
        guard.ramp_field(self.field_mT)
        field = bench.field.field_mT()

        def row(rf_on: int, i_mA: float, p_dBm: float, resistance: float) -> dict:
            return {col.RF_ON: rf_on, col.I_DC: i_mA, col.POWER: p_dBm,
                    col.FREQUENCY: self.frequency_GHz, col.FIELD: field,
                    col.RESISTANCE: resistance, col.TIME: bench.clock.now() - t0}

        currents = self.dc_currents_mA()
        powers = self.powers_dBm()
        total = len(currents) + len(powers)
        for k, i_mA in enumerate(currents):
            if self.should_stop():
                return
            guard.set_dc_current(i_mA * 1e-3)
            bench.clock.sleep(0.05)
            resistance = sm.measure_voltage() / (i_mA * 1e-3)
            self.emit("results", row(0, float(i_mA), float("nan"), resistance))
            self.emit("progress", 100.0 * (k + 1) / total)
        guard.set_dc_current(0.0)
        guard.set_rf(self.frequency_GHz, float(powers[0]))
        mode, rate = bench.rf.modulation()
        bench.rf.set_modulation("off")
        try:
            guard.rf_output(True)
            amps, chained, previous = self.sense_current_mA * 1e-3, self.power_design == "ends", None
            if chained:
                guard.set_dc_current(amps)
            for k, p in enumerate(powers):
                if self.should_stop():
                    break
                if p != previous:  # the device settles at a new power; a repeated one is already there
                    guard.set_rf(self.frequency_GHz, float(p))
                    bench.clock.sleep(0.05)
                    previous = p
                if chained:
                    resistance = self._reversal(sm, amps if k % 2 == 0 else -amps)
                else:
                    resistance = reversed_current_resistance(guard, sm, amps)
                self.emit("results", row(1, self.sense_current_mA, float(p), resistance))
                self.emit("progress", 100.0 * (len(currents) + k + 1) / total)
            if chained:
                guard.set_dc_current(0.0, interruptible=False)
        finally:
            guard.rf_output(False)
            bench.rf.set_modulation(mode, rate)

    def _reversal(self, sm: SourceMeter, start_A: float) -> float:
        """R (Ohm) from one reversal of the sense current that is on at ``start_A`` (A): V there, then at -start_A.

        The ends design keeps the current on between readings, each starting at the
        polarity the previous one ended at (+I -I, then -I +I, ...): one ramp through
        2*I per reading instead of 4*I, and dc offsets still cancel within each reading.
        """
        first = sm.measure_voltage()
        self.guard.set_dc_current(-start_A)
        second = sm.measure_voltage()
        return (first - second) / (2.0 * start_A)
