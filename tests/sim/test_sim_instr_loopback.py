"""Every SIM-INSTR simulator through its real driver and role wrapper over loopback VISA (pyvisa-py)."""

from __future__ import annotations

import warnings

import pytest
from pymeasure.instruments.agilent import Agilent8257D
from pymeasure.instruments.anritsu import AnritsuMG3692C
from pymeasure.instruments.keithley import Keithley2400, Keithley2450
from pymeasure.instruments.lakeshore import LakeShore421
from pymeasure.instruments.newport.esp300 import ESP300

from stfmr.instruments.drivers.rohde_schwarz_smb100a import RohdeSchwarzSMB100A
from stfmr.instruments.role_field import GaussmeterRole
from stfmr.instruments.role_rf import Agilent8257DRf, AnritsuMG3692CRf, SMB100ARf
from stfmr.instruments.role_rotator import ESP300Rotator
from stfmr.instruments.role_sourcemeter import Keithley2400SourceMeter, Keithley2450SourceMeter
from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.sample import VirtualSample

pytest.importorskip("pyvisa_py")

MODELS = ["Agilent8257D", "AnritsuMG3692C", "SMB100A", "LakeShore421", "ESP300", "Keithley2400", "Keithley2450"]


@pytest.fixture(scope="module")
def served():
    from stfmr.instruments.sim.server import start_server

    bench = VirtualBench(VirtualSample.preset("type-A"))
    server = start_server(bench, MODELS)
    yield bench, server.resources()
    server.stop()


def _open(driver_cls, resource: str):
    """Open a driver on a served resource with "\n" terminations, as stfmr's bench does for sockets."""
    kwargs = {"visa_library": "@py", "timeout": 2000}
    if driver_cls is not LakeShore421:  # it fixes its own terminations ("\r" replies)
        kwargs.update(read_termination="\n", write_termination="\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return driver_cls(resource, **kwargs)


@pytest.mark.parametrize("model,driver_cls,role_cls", [
    ("Agilent8257D", Agilent8257D, Agilent8257DRf),
    ("AnritsuMG3692C", AnritsuMG3692C, AnritsuMG3692CRf),
    ("SMB100A", RohdeSchwarzSMB100A, SMB100ARf),
])
def test_rf_over_loopback(served, model, driver_cls, role_cls):
    bench, resources = served
    rf = role_cls(_open(driver_cls, resources[model]), resources[model])
    try:
        assert rf.identity()
        rf.set_frequency_GHz(7.25)
        rf.set_power_dBm(-2.0)
        rf.set_output(True)
        rf.set_modulation("pulse", 1e3)
        assert rf.frequency_GHz() == pytest.approx(7.25)
        assert rf.power_dBm() == pytest.approx(-2.0)
        assert rf.output_enabled() is True
        assert bench.rf.modulation == "pulse"  # the queries above ran after every write
        rf.set_modulation("off")
        rf.set_output(False)
        assert rf.output_enabled() is False  # a query orders us after the writes on the socket
        assert bench.rf.modulation == "off" and not bench.rf.output_on
    finally:
        rf.close()
    assert bench.protocol_errors == []


def test_gaussmeter_over_loopback(served):
    bench, resources = served
    driver = _open(LakeShore421, resources["LakeShore421"])
    driver.WRITE_DELAY = None
    role = GaussmeterRole(driver, resources["LakeShore421"])
    try:
        assert role.identity().startswith("LSCI")
        assert role.field_mT() == pytest.approx(bench.magnet.field_mT(), abs=0.05)
    finally:
        role.close()
    assert bench.protocol_errors == []


def test_rotator_over_loopback(served):
    bench, resources = served
    rot = ESP300Rotator(_open(ESP300, resources["ESP300"]), resources["ESP300"])
    try:
        rot.configure()
        rot.move_to(5.0)
        rot.angle()  # a query: the move command has been handled
        bench.clock.advance(1.0)  # the served bench also follows the wall clock
        assert not rot.is_moving()
        assert rot.check_reached() == pytest.approx(5.0)
        rot.home()
        rot.angle()
        bench.clock.advance(1.0)
        assert rot.angle() == pytest.approx(0.0)
        rot.check_errors()
    finally:
        rot.close()
    assert bench.protocol_errors == []


@pytest.mark.parametrize("model,driver_cls,role_cls", [
    ("Keithley2400", Keithley2400, Keithley2400SourceMeter),
    ("Keithley2450", Keithley2450, Keithley2450SourceMeter),
])
def test_sourcemeter_over_loopback(served, model, driver_cls, role_cls):
    bench, resources = served
    sm = role_cls(_open(driver_cls, resources[model]), resources[model])
    try:
        sm.configure(compliance_V=10.0)
        sm.set_dc_current(1e-3)
        sm.set_output(True)
        assert sm.output_enabled() is True
        assert sm.measure_resistance() == pytest.approx(bench.resistance(), abs=0.05)
        sm.set_output(False)
    finally:
        sm.close()
    assert bench.protocol_errors == []
