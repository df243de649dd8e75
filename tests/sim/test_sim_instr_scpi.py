"""SCPI header patterns and argument parsing used by the simulated instruments."""

from __future__ import annotations

import re

import pytest

from stfmr.instruments.sim.scpi import ScpiValueError, header, number_with_unit, on_off


def _matches(spelling: str, command: str) -> bool:
    return re.fullmatch(header(spelling), command, re.IGNORECASE) is not None


@pytest.mark.parametrize("command", ["FREQ?", ":FREQ?", ":SOUR:FREQ:CW?", "source:frequency?", "SOURCE:FREQ:CW?"])
def test_header_accepts_long_and_short_forms(command):
    assert _matches("[SOURce:]FREQuency[:CW]?", command)


@pytest.mark.parametrize("command", ["FREQU?", "FRE?", "SOUR:FREQ", "SOURC:FREQ?", "FREQ:CWX?"])
def test_header_refuses_what_scpi_refuses(command):
    assert not _matches("[SOURce:]FREQuency[:CW]?", command)


def test_nested_optional_nodes():
    assert _matches("[SENSe[1]:]VOLTage[:DC]:NPLCycles", ":SENS1:VOLT:NPLC")
    assert _matches("[SENSe[1]:]VOLTage[:DC]:NPLCycles", "VOLTAGE:DC:NPLCYCLES")


def test_number_with_unit():
    assert number_with_unit("1.000000e+10 Hz", {"HZ": 1.0}) == 1e10
    assert number_with_unit("2.5 GHZ", {"GHZ": 1e9}) == 2.5e9
    assert number_with_unit("-5", {}) == -5.0
    with pytest.raises(ScpiValueError, match="unit"):
        number_with_unit("5 furlongs", {"HZ": 1.0})
    with pytest.raises(ScpiValueError, match="not a number"):
        number_with_unit("ten", {})


def test_on_off():
    assert on_off("ON") is True and on_off("0") is False and on_off(" off ") is False
    with pytest.raises(ScpiValueError):
        on_off("maybe")


SIM_INSTR_MODELS = ["Agilent8257D", "AnritsuMG3692C", "SMB100A", "KepcoBOP3612", "LakeShore421",
                    "LakeShore425", "ESP300", "Keithley2400", "Keithley2450"]


@pytest.mark.parametrize("model", SIM_INSTR_MODELS)
def test_every_simulator_identifies_resets_and_reports_unknown_commands(model):
    from stfmr.instruments.sim.bench import VirtualBench
    from stfmr.instruments.sim.sample import VirtualSample

    bench = VirtualBench(VirtualSample.preset("reference"))
    sim = bench.instrument(model)
    sim.write("*RST;*IDN?")
    assert sim.read().strip() and sim.pending() == 0
    assert bench.protocol_errors == []
    sim.write("NOSUCHCOMMAND 12")
    assert bench.protocol_errors == [f"{model}: 'NOSUCHCOMMAND 12'"]
    assert sim.errors  # also in the instrument's own error queue / event register
