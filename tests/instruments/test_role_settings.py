"""Each role wrapper owns its bench-file settings: keys, ranges, construction and applying them.

A new instrument is one wrapper plus one registry line: bench_config and
open_role hold no per-driver knowledge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from pymeasure.adapters import ProtocolAdapter
from pymeasure.instruments.srs import SR830, SR860

from stfmr.instruments import registry
from stfmr.instruments.bench import BenchConfigError, open_role, parse_bench_config
from stfmr.instruments.bench_config import READER
from stfmr.instruments.role_field import KepcoFieldControl
from stfmr.instruments.role_rf import SMB100ARf

LIMITS = {"max_field_mT": 300.0, "max_current_A": 8.0, "max_ramp_rate_A_per_s": 0.5, "max_rf_power_dBm": 18.0,
          "angle_min_deg": -10.0, "angle_max_deg": 370.0, "max_dc_current_A": 0.005}
IDN = ("*IDN?", "Vendor,Model,123,1.0")


def bench(**roles: dict) -> dict:
    data = {"rf": {"driver": "SMB100A", "resource": "TCPIP::10.0.0.5::INSTR"},
            "detector": {"driver": "SR830", "resource": "GPIB0::8::INSTR"},
            "field": {"driver": "KepcoBOP3612", "resource": "GPIB0::6::INSTR", "mT_per_A": 40.0},
            "limits": dict(LIMITS)}
    data.update(roles)
    return data


def refusal(data: dict) -> str:
    with pytest.raises(BenchConfigError) as info:
        parse_bench_config(data)
    return str(info.value)


@pytest.mark.parametrize("name", sorted(registry.DRIVERS))
def test_every_driver_returns_exactly_its_declared_settings_with_defaults(name):
    spec = registry.DRIVERS[name]
    wrapper = spec.wrapper_class()
    given = {"mT_per_A": 40.0} if "mT_per_A" in wrapper.SETTINGS else {}
    settings = wrapper.read_settings(READER.table(given, f"[{spec.role}]", wrapper.SETTINGS), spec, None)
    assert list(settings) == list(wrapper.SETTINGS)  # the order of the header's settings
    assert {k: v for k, v in settings.items() if k not in given} == \
        {k: v for k, v in wrapper.SETTINGS.items() if k not in given}


@pytest.mark.parametrize("driver", [SR830, SR860])
def test_lock_in_ranges_are_the_drivers_own_tables(driver):
    name = driver.__name__
    longest, largest = max(driver.TIME_CONSTANTS), max(driver.SENSITIVITIES)
    ok = bench(detector={"driver": name, "resource": "GPIB0::8::INSTR", "time_constant_s": longest,
                         "sensitivity_V": largest})
    assert parse_bench_config(ok).roles["detector"].settings["time_constant_s"] == longest
    too_slow = bench(detector={"driver": name, "resource": "GPIB0::8::INSTR", "time_constant_s": longest * 1.01})
    assert f"[detector] time_constant_s: the {name} goes up to {longest:g} s" in refusal(too_slow)
    too_big = bench(detector={"driver": name, "resource": "GPIB0::8::INSTR", "sensitivity_V": largest * 1.01})
    assert f"[detector] sensitivity_V: the {name} goes up to {largest:g} V" in refusal(too_big)


def test_the_supply_limit_is_the_wrappers_constant(monkeypatch):
    data = bench(limits={**LIMITS, "max_current_A": 10.0})
    assert parse_bench_config(data).limits.max_current_A == 10.0  # the BOP 36-12 gives 12 A
    monkeypatch.setattr(KepcoFieldControl, "MAX_CURRENT_A", 9.5)
    assert "[limits] max_current_A: 10 A is above the KepcoBOP3612's 9.5 A" in refusal(data)


class ToyRf(SMB100ARf):
    """A hypothetical new rf source: an SMB100A that also selects its 10 MHz reference."""

    SETTINGS = {**SMB100ARf.SETTINGS, "reference": "internal"}

    @classmethod
    def read_settings(cls, table: Any, spec: Any, base_dir: Any) -> dict[str, Any]:
        return {**super().read_settings(table, spec, base_dir),
                "reference": table.one_of("reference", ("internal", "external"))}

    def apply_settings(self, settings: dict[str, Any]) -> None:
        self.driver.write(f"ROSC:SOUR {'EXT' if settings['reference'] == 'external' else 'INT'}")
        super().apply_settings(settings)


@dataclass(frozen=True)
class ToySpec(registry.DriverSpec):
    def wrapper_class(self) -> type:
        return ToyRf


def test_a_new_instrument_is_one_wrapper_and_one_registry_line(monkeypatch):
    monkeypatch.setitem(registry.DRIVERS, "ToySource", ToySpec(
        "ToySource", "rf", "stfmr.instruments.drivers.rohde_schwarz_smb100a:RohdeSchwarzSMB100A", "",
        own_terminations=True, sim_model="SMB100A"))
    table = {"driver": "ToySource", "resource": "TCPIP::10.0.0.9::INSTR", "reference": "external",
             "modulation_rate_Hz": 500.0}
    cfg = parse_bench_config(bench(rf=table))
    assert cfg.roles["rf"].settings == {"modulation": "pulse", "modulation_rate_Hz": 500.0, "reference": "external"}
    assert "[rf] reference: must be internal or external, got 'gps'" in refusal(bench(rf={**table, "reference": "gps"}))
    assert "[rf] reference: unknown key" in refusal(bench(rf={**table, "driver": "SMB100A"}))  # the other driver's key
    adapter = ProtocolAdapter([IDN, ("ROSC:SOUR EXT", None), ("SOUR:PULM:SOUR INT", None),
                               ("SOUR:PULM:PER 2.000000e-03", None), ("SOUR:PULM:WIDT 1.000000e-03", None),
                               ("SOUR:AM:STAT 0", None), ("SOUR:PULM:STAT 1", None)])
    rf = open_role("rf", cfg.roles["rf"], lambda driver, rc: adapter)
    assert isinstance(rf, ToyRf) and rf.modulation() == ("pulse", 500.0)
    assert adapter._index == len(adapter.comm_pairs)


def test_open_role_leaves_each_link_reopenable():
    """role.reopen and the gaussmeter's reopen rebuild the driver on a fresh link (reconnect needs them)."""
    cfg = parse_bench_config(bench(field={"driver": "KepcoBOP3612", "resource": "GPIB0::6::INSTR", "mT_per_A": 40.0,
                                          "gaussmeter": {"driver": "LakeShore425", "resource": "ASRL3::INSTR"}}))
    asked: list[str] = []
    adapters = {"KepcoBOP3612": ProtocolAdapter([IDN, ("FUNCtion:MODE CURR", None), ("VOLTage 20", None)]),
                "LakeShore425": ProtocolAdapter([IDN, ("UNIT?", "1"), ("UNIT?", "1")])}

    def adapter_for(driver: str, rc: Any) -> ProtocolAdapter:
        asked.append(driver)
        return adapters[driver]

    field = open_role("field", cfg.roles["field"], adapter_for)
    assert asked == ["KepcoBOP3612", "LakeShore425"]
    supply, gauss = field.driver, field.gaussmeter.driver
    field.reconnect()
    field.gaussmeter.reconnect()
    assert asked[2:] == ["KepcoBOP3612", "LakeShore425"]
    assert field.driver is not supply and field.gaussmeter.driver is not gauss
    assert field.gaussmeter.unit() == "G"  # read again on the new link (the meter may have been power-cycled)
