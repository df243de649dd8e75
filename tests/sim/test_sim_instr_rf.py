"""Simulated rf sources driven through the real drivers and stfmr's rf role wrappers."""

from __future__ import annotations

import math
import warnings

import pytest
from pymeasure.instruments.agilent import Agilent8257D
from pymeasure.instruments.anritsu import AnritsuMG3692C

from stfmr.instruments.drivers.rohde_schwarz_smb100a import RohdeSchwarzSMB100A
from stfmr.instruments.role_rf import Agilent8257DRf, AnritsuMG3692CRf, SMB100ARf
from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.sample import VirtualSample

CASES = [
    ("Agilent8257D", Agilent8257D, Agilent8257DRf),
    ("AnritsuMG3692C", AnritsuMG3692C, AnritsuMG3692CRf),
    ("SMB100A", RohdeSchwarzSMB100A, SMB100ARf),
]


@pytest.fixture
def bench() -> VirtualBench:
    return VirtualBench(VirtualSample.preset("type-A"))


def _role(bench: VirtualBench, model: str, driver_cls, role_cls):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # SCPIUnknownMixin's notice
        driver = driver_cls(bench.adapter(model))
    return role_cls(driver, f"SIM::{model}"), driver


@pytest.mark.parametrize("model,driver_cls,role_cls", CASES)
def test_role_methods_drive_the_shared_rf_state(bench, model, driver_cls, role_cls):
    rf, _ = _role(bench, model, driver_cls, role_cls)
    assert rf.identity()
    rf.set_frequency_GHz(9.5)
    rf.set_power_dBm(4.0)
    assert rf.frequency_GHz() == pytest.approx(9.5)
    assert rf.power_dBm() == pytest.approx(4.0)
    assert bench.rf.frequency_Hz == pytest.approx(9.5e9)
    assert bench.rf.power_dBm == pytest.approx(4.0)

    rf.set_output(True)
    assert rf.output_enabled() is True and bench.rf.output_on
    rf.set_modulation("pulse", 1234.0)
    assert bench.rf.modulation == "pulse"
    assert bench.rf.modulation_rate_Hz == pytest.approx(1234.0)
    assert bench.rf.lockin_factor() == pytest.approx(math.sqrt(2) / math.pi)
    rf.set_modulation("am", 777.0)
    assert bench.rf.modulation == "am" and bench.rf.modulation_rate_Hz == pytest.approx(777.0)
    rf.set_modulation("off")
    assert bench.rf.modulation == "off" and bench.rf.lockin_factor() == 0.0
    rf.set_output(False)
    assert rf.output_enabled() is False and not bench.rf.output_on
    assert rf.describe()
    assert bench.protocol_errors == []


@pytest.mark.parametrize("model,driver_cls,role_cls", CASES)
def test_out_of_range_level_goes_to_the_error_queue_not_the_output(bench, model, driver_cls, role_cls):
    _, driver = _role(bench, model, driver_cls, role_cls)
    driver.power = -10.0
    driver.write(":POW 99 dBm" if model != "SMB100A" else "SOUR:POW 99")
    assert bench.rf.power_dBm == pytest.approx(-10.0)
    code = driver.ask("SYST:ERR?").split(",")[0]
    assert int(code) == -222
    assert int(driver.ask("SYST:ERR?").split(",")[0]) == 0
    assert bench.protocol_errors == []


def test_unknown_command_is_a_protocol_error_and_queued(bench):
    _, driver = _role(bench, "Agilent8257D", Agilent8257D, Agilent8257DRf)
    driver.write(":FREQ:BOGUS 3")
    assert bench.protocol_errors and "FREQ:BOGUS" in bench.protocol_errors[0]
    assert driver.ask("SYST:ERR?").startswith("-113")


def test_agilent_modulation_needs_the_master_switch(bench):
    _, gen = _role(bench, "Agilent8257D", Agilent8257D, Agilent8257DRf)
    gen.config_pulse_modulation(frequency=2e3, input="square")
    gen.disable_modulation()
    assert bench.rf.modulation == "off"  # :OUTPUT:MOD OFF masks the pulse modulation
    gen.enable_modulation()
    assert bench.rf.modulation == "pulse" and bench.rf.modulation_rate_Hz == pytest.approx(2e3)
    assert gen.ask(":SOUR:PULM:SOUR:INT?") == "SQU"
    gen.write(":SOURCE:PULM:SOURCE EXTERNAL")
    assert gen.pulse_source == "external" and bench.rf.modulation == "off"  # no internal pulse train
    gen.write(":SOUR:PULM:SOUR BOGUS")
    assert int(gen.ask("SYST:ERR?").split(",")[0]) == -224
    gen.pulse_source = "internal"
    # long and short SCPI forms reach the same setting
    gen.write(":SOURCE:FREQUENCY:CW 3.5 GHZ")
    assert gen.frequency == pytest.approx(3.5e9)
    assert bench.protocol_errors == []


def test_smb100a_pulse_period_and_width(bench):
    _, gen = _role(bench, "SMB100A", RohdeSchwarzSMB100A, SMB100ARf)
    gen.configure_pulse_modulation(500.0, duty=0.5)
    assert gen.pulse_period == pytest.approx(2e-3)
    assert gen.pulse_width == pytest.approx(1e-3)
    assert gen.pulse_source == "internal" and gen.pulse_modulation_enabled is True
    assert bench.instrument("SMB100A").duty_cycle() == pytest.approx(0.5)
    assert gen.check_errors() == []
    assert bench.protocol_errors == []
