"""Bench files: the examples load, and every bad key is refused with its name before anything opens."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest

from stfmr.instruments.bench import BenchConfigError, Limits, load_bench_config, open_bench, parse_bench_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "benches"


def lab() -> dict:
    with (EXAMPLES / "lab.toml").open("rb") as fh:
        return tomllib.load(fh)


def test_examples_load():
    real = load_bench_config(EXAMPLES / "lab.toml")
    assert not real.simulated
    assert real.roles["detector"].settings["time_constant_s"] == 0.1
    assert real.roles["field"].gaussmeter.driver == "LakeShore421"
    assert real.limits.max_ramp_rate_A_per_s == 0.5
    sim = load_bench_config(EXAMPLES / "sim.toml")
    assert sim.simulated and sim.simulation.sample == "type-A"
    assert all(rc.resource.startswith("SIM::") for rc in sim.roles.values())


def _set(data: dict, path: str, value):
    keys = path.split(".")
    node = data
    for k in keys[:-1]:
        node = node[k]
    if value is _DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value


_DELETE = object()

BAD = [
    ("rf.driver", "HP8350", "[rf] driver"),
    ("rf.driver", "SR830", "[rf] driver"),  # a detector is not an rf source
    ("rf.resource", _DELETE, "[rf] resource"),
    ("rf.modulation", "chirp", "[rf] modulation"),
    ("rf.modulation_rate_Hz", 0.0, "[rf] modulation_rate_Hz"),
    ("rf.modulaton", "pulse", "[rf] modulaton"),  # typo: unknown key
    ("detector.time_constant_s", -1, "[detector] time_constant_s"),
    ("detector.time_constant_s", "fast", "[detector] time_constant_s"),
    ("detector.filter_slope_dB", 10, "[detector] filter_slope_dB"),
    ("detector.sensitivity_V", 0, "[detector] sensitivity_V"),
    ("detector.sensitivity_V", 2.0, "[detector] sensitivity_V"),
    ("detector.time_constant_s", 1e5, "[detector] time_constant_s"),
    ("field.mT_per_A", _DELETE, "[field] mT_per_A"),
    ("field.calibration_file", "coil.csv", "[field] mT_per_A"),  # both given
    ("field.compliance_V", 50.0, "[field] compliance_V"),
    ("field.gaussmeter.driver", "Hall9000", "[field.gaussmeter] driver"),
    ("field.gaussmeter.range", 3, "[field.gaussmeter] range"),
    ("rotator.axis", 4, "[rotator] axis"),
    ("rotator.axis", True, "[rotator] axis"),
    ("sourcemeter.compliance_V", -1.0, "[sourcemeter] compliance_V"),
    ("sourcemeter.timeout_ms", 0, "[sourcemeter] timeout_ms"),
    ("limits.max_field_mT", _DELETE, "[limits] max_field_mT"),
    ("limits.max_field_mT", -5.0, "[limits] max_field_mT"),
    ("limits.max_current_A", 20.0, "[limits] max_current_A"),
    ("limits.max_ramp_rate_A_per_s", 0.0, "[limits] max_ramp_rate_A_per_s"),
    ("limits.max_rf_power_dBm", 40.0, "[limits] max_rf_power_dBm"),
    ("limits.angle_max_deg", -20.0, "[limits] angle_max_deg"),
    ("limits.max_dc_current_A", 2.0, "[limits] max_dc_current_A"),
    ("limits.max_voltage_V", 2.0, "[limits] max_voltage_V"),
    ("limits.max_field_mT", float("nan"), "[limits] max_field_mT"),
    ("detector", _DELETE, "[detector]"),
    ("limits", _DELETE, "[limits]"),
    ("magnet", {"driver": "KepcoBOP3612"}, "[magnet]"),
    ("bench.owner", "me", "[bench] owner"),
    ("sourcemeter.resource", "SIM::sourcemeter", "[rf] resource"),  # mixed real and simulated
    ("sourcemeter.resource", "GPIB0::8::INSTR", "[sourcemeter] resource"),  # same address as the detector
    ("simulation", {"sample": "type-A"}, "[simulation]"),  # only for simulated benches
]


@pytest.mark.parametrize("path, value, named", BAD, ids=[f"{p}={v!r}" for p, v, _ in BAD])
def test_bad_bench_file_names_the_key(tmp_path, path, value, named):
    data = copy.deepcopy(lab())
    _set(data, path, value)
    with pytest.raises(BenchConfigError) as info:
        parse_bench_config(data, source="lab.toml", base_dir=tmp_path)
    assert named in str(info.value)
    assert str(info.value).startswith("bench file lab.toml: ")


@pytest.mark.parametrize(
    "path, value, named",
    [
        ("simulation.transport", "carrier-pigeon", "[simulation] transport"),
        ("simulation.seed", -1, "[simulation] seed"),
        ("simulation.faults", "missing-faults.toml", "[simulation] faults"),
        ("simulation.colour", "red", "[simulation] colour"),
    ],
)
def test_bad_simulation_table(tmp_path, path, value, named):
    with (EXAMPLES / "sim.toml").open("rb") as fh:
        data = tomllib.load(fh)
    _set(data, path, value)
    with pytest.raises(BenchConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse_bench_config(data, source="sim.toml", base_dir=tmp_path)


def test_calibration_file_resolved_relative_to_bench_file(tmp_path):
    (tmp_path / "coil.csv").write_text("Current (A),Field (mT)\n0,0.5\n1,40\n2,80\n")
    data = lab()
    del data["field"]["mT_per_A"]
    data["field"]["calibration_file"] = "coil.csv"
    cfg = parse_bench_config(data, source="lab.toml", base_dir=tmp_path)
    assert cfg.roles["field"].settings["calibration_file"] == str(tmp_path / "coil.csv")


def test_invalid_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[rf\ndriver = 1\n")
    with pytest.raises(BenchConfigError, match="not valid TOML"):
        load_bench_config(bad)
    with pytest.raises(OSError):
        load_bench_config(tmp_path / "nothing.toml")


def test_limits_round_trip():
    limits = Limits.from_dict(lab()["limits"])
    assert Limits.from_dict(limits.to_dict()) == limits


def test_unreachable_real_instrument_is_a_connection_error_never_a_simulator(tmp_path):
    """A real resource that cannot be opened fails, naming role and address."""
    from stfmr.instruments.errors import InstrumentConnectionLost

    data = lab()
    # a loopback port nobody listens on: connection refused at once
    data["rf"]["resource"] = "TCPIP::127.0.0.1::9::SOCKET"
    data["rf"]["timeout_ms"] = 500
    cfg = parse_bench_config(data, source="lab.toml", base_dir=tmp_path)
    with pytest.raises(InstrumentConnectionLost) as info:
        open_bench(cfg)
    assert info.value.role == "rf" and info.value.address == "TCPIP::127.0.0.1::9::SOCKET"
