"""Simulated Keithley 2400/2450: sourcemeter role through the real drivers, AMR, heating, compliance."""

from __future__ import annotations

import numpy as np
import pytest
from pymeasure.instruments.keithley import Keithley2400, Keithley2450

from stfmr.instruments.role_sourcemeter import Keithley2400SourceMeter, Keithley2450SourceMeter
from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.sample import VirtualSample

CASES = [
    ("Keithley2400", Keithley2400, Keithley2400SourceMeter),
    ("Keithley2450", Keithley2450, Keithley2450SourceMeter),
]


@pytest.fixture
def bench() -> VirtualBench:
    return VirtualBench(VirtualSample.preset("type-A"))


def _role(bench: VirtualBench, model: str, driver_cls, role_cls):
    role = role_cls(driver_cls(bench.adapter(model)), f"SIM::{model}")
    role.configure(compliance_V=20.0, nplc=1.0)
    return role


@pytest.mark.parametrize("model,driver_cls,role_cls", CASES)
def test_role_methods_source_current_into_the_bench(bench, model, driver_cls, role_cls):
    sm = _role(bench, model, driver_cls, role_cls)
    assert "KEITHLEY" in sm.identity()
    sm.set_dc_current(1e-3)
    assert sm.dc_current() == pytest.approx(1e-3)
    sm.set_output(True)
    assert sm.output_enabled() is True
    assert bench.dc.effective_current_A() == pytest.approx(1e-3)
    t0 = bench.clock.now()
    volts = sm.measure_voltage()
    assert bench.clock.now() - t0 >= 1 / 50  # one power-line cycle of integration
    assert volts == pytest.approx(1e-3 * bench.resistance(), abs=1e-5)
    assert sm.measure_resistance() == pytest.approx(bench.resistance(), abs=0.02)
    sm.set_output(False)
    assert sm.output_enabled() is False and bench.dc.effective_current_A() == 0.0
    assert sm.describe()
    assert bench.protocol_errors == []


@pytest.mark.parametrize("model,driver_cls,role_cls", CASES)
def test_resistance_follows_amr_cos_squared(bench, model, driver_cls, role_cls):
    sm = _role(bench, model, driver_cls, role_cls)
    sm.set_dc_current(1e-3)
    sm.set_output(True)
    phis = np.arange(0.0, 181.0, 30.0)
    rs = []
    for phi in phis:
        bench.stage.define_position(phi)
        rs.append(sm.measure_resistance())
    design = np.column_stack([np.ones_like(phis), np.cos(np.radians(phis)) ** 2])
    (r0, d_r), *_ = np.linalg.lstsq(design, np.array(rs), rcond=None)
    sample = bench.sample
    assert d_r == pytest.approx(sample.delta_R_amr_Ohm, rel=2e-3)
    assert r0 == pytest.approx(sample.R_perp_Ohm + sample.heating_k_Ohm_per_A2 * 1e-6, abs=0.01)


def test_heating_grows_with_current_squared(bench):
    sm = _role(bench, "Keithley2400", Keithley2400, Keithley2400SourceMeter)
    sm.set_output(True)
    currents = np.array([0.5e-3, 1e-3, 2e-3, 3e-3, 4e-3])
    rs = []
    for amps in currents:
        sm.set_dc_current(amps)
        rs.append(sm.measure_resistance())
    design = np.column_stack([np.ones_like(currents), currents**2])
    (r0, k), *_ = np.linalg.lstsq(design, np.array(rs), rcond=None)
    assert k == pytest.approx(bench.sample.heating_k_Ohm_per_A2, rel=0.02)
    # same for +I and -I: heating is even in the current
    sm.set_dc_current(-3e-3)
    assert sm.measure_resistance() == pytest.approx(rs[3], abs=0.01)


@pytest.mark.parametrize("model,driver_cls,role_cls", CASES)
def test_compliance_clamps_the_voltage_and_is_flagged(bench, model, driver_cls, role_cls):
    sm = _role(bench, model, driver_cls, role_cls)
    sm.configure(compliance_V=1.0)
    sm.set_dc_current(10e-3)  # ~8.4 V wanted
    sm.set_output(True)
    assert sm.measure_voltage() == pytest.approx(1.0, abs=1e-4)
    if model == "Keithley2400":
        reading = [float(v) for v in sm.driver.ask(":READ?").split(",")]
        assert int(reading[4]) & 8  # compliance bit of the status word
        assert reading[1] == pytest.approx(1.0 / bench.resistance(), rel=1e-3)
    else:
        assert sm.driver.ask(":SOUR:CURR:VLIM:TRIP?") == "1"
    assert bench.protocol_errors == []


def test_keithley2400_measure_turns_the_output_on(bench):
    driver = Keithley2400(bench.adapter("Keithley2400"))
    driver.source_mode = "current"
    driver.source_current = 1e-3
    assert driver.source_enabled is False
    assert driver.voltage == pytest.approx(1e-3 * bench.resistance(), abs=1e-5)
    assert driver.source_enabled is True
    driver.write(":SOUR:CURR 2")  # beyond 1.05 A: refused
    assert int(driver.check_errors()[0][0]) == -222
    assert driver.source_current == pytest.approx(1e-3)
    assert bench.protocol_errors == []
