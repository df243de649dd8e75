"""Simulated Kepco BOP 36-12: current mode, coil lag, trip fault, in-process and over loopback VISA."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymeasure.instruments.kepco import KepcoBOP3612

from stfmr.instruments.calibration import LinearCoilCalibration
from stfmr.instruments.errors import SupplyTrip
from stfmr.instruments.role_field import KepcoFieldControl
from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.faults import FaultPlan
from stfmr.instruments.sim.sample import VirtualSample

MODEL = "KepcoBOP3612"


def _field_role(bench: VirtualBench) -> KepcoFieldControl:
    driver = KepcoBOP3612(bench.adapter(MODEL))
    return KepcoFieldControl(driver, "SIM::Kepco", LinearCoilCalibration(bench.magnet.calibration_mT_per_A))


@pytest.fixture
def bench() -> VirtualBench:
    return VirtualBench(VirtualSample.preset("type-A"))


def test_role_methods_and_coil_lag(bench):
    field = _field_role(bench)
    assert "KEPCO" in field.identity()
    field.configure(compliance_V=20.0)
    assert field.driver.operating_mode == "CURR"
    assert field.driver.voltage_setpoint == pytest.approx(20.0)
    field.set_output(True)
    assert field.output_enabled() is True
    field.set_current(3.0)
    assert field.current_setpoint() == pytest.approx(3.0)
    assert bench.magnet.setpoint() == pytest.approx(3.0)

    tau = bench.magnet.params.time_constant_s
    t0 = bench.clock.now()
    early = field.current()
    bench.clock.advance(tau - (bench.clock.now() - t0))
    at_tau = field.current()
    bench.clock.advance(20 * tau)
    settled = field.current()
    assert early < 0.1  # the coil has barely started
    assert at_tau == pytest.approx(3.0 * (1 - math.exp(-1)), abs=0.02)
    assert settled == pytest.approx(3.0, abs=2e-3)
    # the history shows the lag: the setpoint jumps, the coil current follows
    h = bench.history_arrays()
    assert h["setpoint_A"].max() == pytest.approx(3.0)
    assert np.all(h["coil_A"] <= h["setpoint_A"].max() + 1e-9)
    # the inductive voltage is gone once settled: V = R_coil * I
    assert field.driver.voltage == pytest.approx(3.0 * bench.instrument(MODEL).COIL_RESISTANCE_OHM, rel=1e-3)
    assert bench.protocol_errors == []


def test_output_off_lets_the_coil_decay(bench):
    field = _field_role(bench)
    field.configure(compliance_V=30.0)
    field.set_current(-2.0)
    field.set_output(True)
    bench.clock.advance(3.0)
    assert field.current() == pytest.approx(-2.0, abs=2e-3)
    field.set_output(False)
    bench.clock.advance(3.0)
    assert field.current() == pytest.approx(0.0, abs=2e-3)
    assert field.current_setpoint() == pytest.approx(-2.0)  # programmed value is kept


def test_voltage_mode_drives_v_over_r_within_the_current_limit(bench):
    supply = KepcoBOP3612(bench.adapter(MODEL))
    supply.operating_mode = "VOLT"
    supply.current_setpoint = 1.0  # the limit in voltage mode
    supply.voltage_setpoint = 0.9
    supply.output_enabled = True
    bench.clock.advance(3.0)
    r_coil = bench.instrument(MODEL).COIL_RESISTANCE_OHM
    assert supply.current == pytest.approx(0.9 / r_coil, abs=2e-3)
    supply.voltage_setpoint = 10.0
    bench.clock.advance(3.0)
    assert supply.current == pytest.approx(1.0, abs=2e-3)


def test_compliance_voltage_limits_the_coil_current(bench):
    field = _field_role(bench)
    field.configure(compliance_V=9.0)
    field.set_output(True)
    field.set_current(10.0)  # needs 18 V across the 1.8 Ohm coil
    bench.clock.advance(3.0)
    r_coil = bench.instrument(MODEL).COIL_RESISTANCE_OHM
    assert field.current() == pytest.approx(9.0 / r_coil, abs=2e-3)
    assert field.current_setpoint() == pytest.approx(10.0)  # the programmed value is kept
    field.configure(compliance_V=30.0)
    bench.clock.advance(3.0)
    assert field.current() == pytest.approx(10.0, abs=2e-3)


def test_out_of_range_current_refused_into_the_error_queue(bench):
    supply = KepcoBOP3612(bench.adapter(MODEL))
    supply.write("CURR 13")
    assert bench.magnet.setpoint() == 0.0
    assert int(supply.check_errors()[0][0]) == -222
    assert bench.protocol_errors == []


def test_supply_trip_fault_surfaces_as_supply_trip():
    plan = FaultPlan.from_dict([{"kind": "supply_trip", "instrument": MODEL, "after_s": 1.0}])
    bench = VirtualBench(VirtualSample.preset("type-A"), faults=plan)
    field = _field_role(bench)
    field.configure(compliance_V=20.0)
    field.set_current(2.0)
    field.set_output(True)
    field.current()  # before the trip: fine
    bench.clock.advance(2.0)
    with pytest.raises(SupplyTrip) as info:
        field.current()
    assert "KepcoBOP3612" in str(info.value) and "field" in str(info.value)
    assert bench.magnet.tripped
    assert field.driver.ask("STAT:QUES:COND?") == "1"
    bench.clock.advance(3.0)
    assert bench.magnet.coil_current() == pytest.approx(0.0, abs=1e-3)  # the coil decays after the trip
    field.set_output(True)  # switching on again clears the trip
    assert not bench.magnet.tripped and field.output_enabled()


def test_kepco_over_loopback_visa():
    pytest.importorskip("pyvisa_py")
    from stfmr.instruments.sim.server import start_server

    bench = VirtualBench(VirtualSample.preset("type-A"))
    server = start_server(bench, [MODEL])
    try:
        resource = server.resources()[MODEL]
        assert resource.startswith("TCPIP::127.0.0.1::") and resource.endswith("::SOCKET")
        driver = KepcoBOP3612(resource, visa_library="@py", timeout=2000)
        field = KepcoFieldControl(driver, resource, LinearCoilCalibration(40.0))
        try:
            assert "KEPCO" in field.identity()
            field.configure(compliance_V=20.0)
            field.set_current(1.5)
            field.set_output(True)
            assert field.current_setpoint() == pytest.approx(1.5)
            assert field.output_enabled() is True
            bench.clock.advance(2.0)
            assert field.current() == pytest.approx(1.5, abs=5e-3)
            assert driver.operating_mode == "CURR"
        finally:
            field.close()
    finally:
        server.stop()
    assert bench.protocol_errors == []
