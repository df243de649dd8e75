"""Keithley 2182 simulator through the real pymeasure driver, in-process."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymeasure.instruments.keithley import Keithley2182

from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.faults import FaultPlan
from stfmr.instruments.sim.sample import VirtualSample


@pytest.fixture
def bench() -> VirtualBench:
    b = VirtualBench(VirtualSample.preset("type-B"), seed=2)
    b.rf.frequency_Hz = 8e9
    b.rf.power_dBm = 12.0
    b.rf.output_on = True
    b.stage.move_to(45.0)
    b.magnet.set_output(True)
    b.clock.advance(5.0)
    return b


def test_driver_methods_the_role_uses(bench):
    nv = Keithley2182(bench.adapter("Keithley2182"))
    assert "2182" in nv.id
    nv.voltage_nplc = 1
    assert nv.voltage_nplc == 1.0
    nv.ch_1.voltage_range = 0.01
    assert nv.ch_1.voltage_range == 0.01
    t0 = bench.clock.now()
    nv.voltage
    assert bench.clock.now() - t0 >= 1.0 / 50.0  # one integration period on the virtual clock
    assert bench.protocol_errors == []


def test_dc_reading_is_the_mixing_voltage_plus_noise(bench):
    nv = Keithley2182(bench.adapter("Keithley2182"))
    nv.voltage_nplc = 5
    sigma = bench.sample.noise_density_V_per_rtHz * math.sqrt(1.0 / (2.0 * 0.1))
    for field in (90.0, 110.0, 130.0):
        bench.magnet.set_setpoint(field / bench.magnet.calibration_mT_per_A)
        bench.clock.sleep(1.5)
        truth = float(bench.sample.mixing_voltage(bench.field_mT(), 8.0, 12.0, 45.0))
        readings = [float(nv.voltage) for _ in range(5)]
        assert abs(np.mean(readings) - truth) < 5 * sigma / math.sqrt(5) + 1e-3 * abs(truth)


def test_pulse_modulation_halves_the_dc_voltage(bench):
    nv = Keithley2182(bench.adapter("Keithley2182"))
    bench.magnet.set_setpoint(110.0 / bench.magnet.calibration_mT_per_A)
    bench.clock.sleep(1.5)
    cw = np.mean([float(nv.voltage) for _ in range(4)])
    bench.rf.modulation = "pulse"
    pulsed = np.mean([float(nv.voltage) for _ in range(4)])
    assert pulsed == pytest.approx(cw / 2, rel=0.05)


def test_range_rounds_up_and_overload_fault_reads_the_overflow_marker():
    plan = FaultPlan.from_dict({"fault": [{"kind": "overload", "instrument": "Keithley2182", "after_queries": 2}]})
    b = VirtualBench(VirtualSample.preset("type-A"), faults=plan)
    nv = Keithley2182(b.adapter("Keithley2182"))
    nv.ch_1.voltage_range = 0.05
    assert nv.ch_1.voltage_range == 0.1  # rounded up to the next range
    assert abs(float(nv.voltage)) < 1e-3
    assert float(nv.voltage) == pytest.approx(9.9e37)
    assert abs(float(nv.voltage)) < 1e-3  # fired once


def test_unknown_command_goes_to_the_scpi_error_queue(bench):
    nv = Keithley2182(bench.adapter("Keithley2182"))
    nv.write(":SENS:VOLT:FOO 3")
    assert bench.protocol_errors == ["Keithley2182: ':SENS:VOLT:FOO 3'"]
    assert nv.ask(":SYST:ERR?").startswith("-113")
    assert nv.ask(":SYST:ERR?").startswith("0,")


def test_reset_message_is_understood(bench):
    nv = Keithley2182(bench.adapter("Keithley2182"))
    nv.voltage_nplc = 2
    nv.reset()
    assert nv.voltage_nplc == 5.0
    assert bench.protocol_errors == []
