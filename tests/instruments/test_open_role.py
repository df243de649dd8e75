"""open_role: the bench file's settings reach the instrument, in this order, and the role answers."""

from __future__ import annotations

import pytest
from pymeasure.adapters import ProtocolAdapter

from stfmr.instruments.bench import Bench, open_role, parse_bench_config
from stfmr.instruments.clock import VirtualClock
from stfmr.instruments.errors import InstrumentTimeout

LIMITS = {"max_field_mT": 300.0, "max_current_A": 8.0, "max_ramp_rate_A_per_s": 0.5, "max_rf_power_dBm": 18.0,
          "angle_min_deg": -10.0, "angle_max_deg": 370.0, "max_dc_current_A": 0.005}


def config(**roles):
    data = {"rf": {"driver": "SMB100A", "resource": "TCPIP::10.0.0.5::INSTR"},
            "detector": {"driver": "SR830", "resource": "GPIB0::8::INSTR"},
            "field": {"driver": "KepcoBOP3612", "resource": "GPIB0::6::INSTR", "mT_per_A": 40.0},
            "limits": dict(LIMITS)}
    data.update(roles)
    return parse_bench_config(data)


class Script:
    """Hands out one ProtocolAdapter per driver and checks every one was used up."""

    def __init__(self, **transcripts):
        self.adapters = {name: ProtocolAdapter(pairs) for name, pairs in transcripts.items()}

    def __call__(self, driver, rc):
        return self.adapters[driver]

    def check_done(self):
        for name, adapter in self.adapters.items():
            assert adapter._index == len(adapter.comm_pairs), f"{name}: {adapter.comm_pairs[adapter._index:]}"


IDN = ("*IDN?", "Vendor,Model,123,1.0")


def test_rf_settings_applied_in_order():
    cfg = config(rf={"driver": "SMB100A", "resource": "TCPIP::10.0.0.5::INSTR", "modulation": "pulse",
                     "modulation_rate_Hz": 500.0})
    script = Script(SMB100A=[IDN, ("SOUR:PULM:SOUR INT", None), ("SOUR:PULM:PER 2.000000e-03", None),
                             ("SOUR:PULM:WIDT 1.000000e-03", None), ("SOUR:AM:STAT 0", None),
                             ("SOUR:PULM:STAT 1", None)])
    rf = open_role("rf", cfg.roles["rf"], script)
    script.check_done()
    assert rf.modulation() == ("pulse", 500.0)
    assert rf.address == "TCPIP::10.0.0.5::INSTR"


def test_detector_and_field_with_gaussmeter():
    cfg = config(
        detector={"driver": "SR830", "resource": "GPIB0::8::INSTR", "time_constant_s": 0.3,
                  "filter_slope_dB": 24, "sensitivity_V": 1e-4, "phase_deg": 12.5},
        field={"driver": "KepcoBOP3612", "resource": "GPIB0::6::INSTR", "mT_per_A": 40.0, "compliance_V": 15.0,
               "gaussmeter": {"driver": "LakeShore425", "resource": "ASRL3::INSTR"}},
    )
    script = Script(
        SR830=[IDN, ("OFLT9", None), ("OFSL3", None), ("PHAS12.50", None), ("SENS14", None)],
        KepcoBOP3612=[IDN, ("FUNCtion:MODE CURR", None), ("VOLTage 15", None)],
        LakeShore425=[IDN, ("UNIT?", "1")],
    )
    det = open_role("detector", cfg.roles["detector"], script)
    field = open_role("field", cfg.roles["field"], script)
    script.check_done()
    assert det.settle_time() == pytest.approx(10 * 0.3, rel=0.01)  # 24 dB/oct: 99 % after 10 tau
    assert field.has_gaussmeter() and field.gaussmeter.unit() == "G"
    assert field.current_for_field(80.0) == pytest.approx(2.0)


def test_silent_instrument_at_open_is_a_timeout_naming_role():
    class Silent(ProtocolAdapter):
        def _read(self, **kwargs):
            raise TimeoutError("no reply")

    cfg = config()
    with pytest.raises(InstrumentTimeout) as info:
        open_role("detector", cfg.roles["detector"], lambda d, rc: Silent([("*IDN?", None)]))
    assert "detector (SR830 at GPIB0::8::INSTR)" in str(info.value)


def test_bench_header_says_simulated_or_not():
    cfg = config()
    script = Script(SMB100A=[IDN, ("SOUR:PULM:SOUR INT", None), ("SOUR:PULM:PER 1.000000e-03", None),
                             ("SOUR:PULM:WIDT 5.000000e-04", None), ("SOUR:AM:STAT 0", None),
                             ("SOUR:PULM:STAT 1", None)],
                    SR830=[IDN, ("OFLT8", None), ("OFSL1", None)],
                    KepcoBOP3612=[IDN, ("FUNCtion:MODE CURR", None), ("VOLTage 20", None)])
    roles = {name: open_role(name, cfg.roles[name], script) for name in ("rf", "detector", "field")}
    bench = Bench(cfg, roles, VirtualClock())
    head = bench.header()
    assert head["SIMULATED"] is False
    assert head["roles"]["detector"]["driver"] == "SR830"
    assert head["roles"]["detector"]["address"] == "GPIB0::8::INSTR"
    assert head["roles"]["detector"]["settings"]["time_constant_s"] == 0.1
    assert head["roles"]["field"]["applied"]["calibration"] == {"kind": "linear", "mT_per_A": 40.0, "offset_mT": 0.0}
    assert head["limits"]["max_ramp_rate_A_per_s"] == 0.5
    assert bench.rotator is None and bench.sourcemeter is None
    assert bench.modulation() == ("pulse", 1000.0)
    import json

    json.dumps(head)  # a Results-file header must serialise
