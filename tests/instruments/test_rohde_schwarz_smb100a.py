"""Message transcripts of the R&S SMB100A/SMF100A driver (pymeasure expected_protocol)."""

from __future__ import annotations

import pytest
from pymeasure.test import expected_protocol

from stfmr.instruments.drivers.rohde_schwarz_smb100a import (
    RohdeSchwarzSMB100A,
    RohdeSchwarzSMF100A,
)


def test_identity():
    with expected_protocol(
        RohdeSchwarzSMB100A,
        [("*IDN?", "Rohde&Schwarz,SMB100A,1406.6000k03/102345,3.1.19.15-3.20.390.24")],
    ) as inst:
        assert inst.id.startswith("Rohde&Schwarz,SMB100A")


def test_frequency_set_and_get():
    with expected_protocol(
        RohdeSchwarzSMB100A,
        [("SOUR:FREQ 10000000000.000", None), ("SOUR:FREQ?", "10000000000")],
    ) as inst:
        inst.frequency = 10e9
        assert inst.frequency == pytest.approx(10e9)


@pytest.mark.parametrize("bad", [1e3, 41e9])
def test_frequency_out_of_range_is_refused_not_clipped(bad):
    with expected_protocol(RohdeSchwarzSMB100A, []) as inst:
        with pytest.raises(ValueError):
            inst.frequency = bad


def test_power_set_and_get():
    with expected_protocol(
        RohdeSchwarzSMB100A, [("SOUR:POW -5.50", None), ("SOUR:POW?", "-5.5")]
    ) as inst:
        inst.power = -5.5
        assert inst.power == pytest.approx(-5.5)
    with expected_protocol(RohdeSchwarzSMB100A, []) as inst:
        with pytest.raises(ValueError):
            inst.power = 31


def test_output():
    with expected_protocol(
        RohdeSchwarzSMB100A,
        [("OUTP 1", None), ("OUTP?", "1"), ("OUTP 0", None), ("OUTP?", "0")],
    ) as inst:
        inst.output_enabled = True
        assert inst.output_enabled is True
        inst.output_enabled = False
        assert inst.output_enabled is False


def test_pulse_modulation_configuration():
    with expected_protocol(
        RohdeSchwarzSMB100A,
        [
            ("SOUR:PULM:SOUR INT", None),
            ("SOUR:PULM:PER 1.000000e-03", None),
            ("SOUR:PULM:WIDT 5.000000e-04", None),
            ("SOUR:AM:STAT 0", None),
            ("SOUR:PULM:STAT 1", None),
            ("SOUR:PULM:STAT?", "1"),
            ("SOUR:PULM:SOUR?", "INT"),
            ("SOUR:PULM:PER?", "0.001"),
            ("SOUR:PULM:WIDT?", "0.0005"),
        ],
    ) as inst:
        inst.configure_pulse_modulation(1e3)
        assert inst.pulse_modulation_enabled is True
        assert inst.pulse_source == "internal"
        assert inst.pulse_period == pytest.approx(1e-3)
        assert inst.pulse_width == pytest.approx(5e-4)


def test_pulse_modulation_bad_arguments():
    with expected_protocol(RohdeSchwarzSMB100A, []) as inst:
        with pytest.raises(ValueError, match="duty"):
            inst.configure_pulse_modulation(1e3, duty=1.0)
        with pytest.raises(ValueError, match="rate"):
            inst.configure_pulse_modulation(0.0)


def test_amplitude_modulation_configuration():
    with expected_protocol(
        RohdeSchwarzSMB100A,
        [
            ("SOUR:AM:SOUR INT", None),
            ("SOUR:LFO:FREQ 1234", None),
            ("SOUR:AM:DEPT 80.0", None),
            ("SOUR:PULM:STAT 0", None),
            ("SOUR:AM:STAT 1", None),
            ("SOUR:AM:STAT?", "1"),
            ("SOUR:AM:DEPT?", "80"),
            ("SOUR:LFO:FREQ?", "1234"),
        ],
    ) as inst:
        inst.configure_amplitude_modulation(1234, 80)
        assert inst.am_enabled is True
        assert inst.am_depth == pytest.approx(80)
        assert inst.lf_frequency == pytest.approx(1234)


def test_disable_modulation_and_error_queue():
    with expected_protocol(
        RohdeSchwarzSMB100A,
        [
            ("SOUR:PULM:STAT 0", None),
            ("SOUR:AM:STAT 0", None),
            ("SYST:ERR?", '-222,"Data out of range"'),
            ("SYST:ERR?", '0,"No error"'),
        ],
    ) as inst:
        inst.disable_modulation()
        errors = inst.check_errors()
        assert len(errors) == 1 and int(errors[0][0]) == -222


def test_shutdown_turns_output_and_modulation_off():
    with expected_protocol(
        RohdeSchwarzSMB100A,
        [("OUTP 0", None), ("SOUR:PULM:STAT 0", None), ("SOUR:AM:STAT 0", None)],
    ) as inst:
        inst.shutdown()


def test_smf100a_ranges():
    with expected_protocol(RohdeSchwarzSMF100A, [("SOUR:FREQ 43000000000.000", None)]) as inst:
        inst.frequency = 43e9
        with pytest.raises(ValueError):
            inst.frequency = 50e3
