"""Fault plans and the adapter-level faults as the drivers see them (in-process)."""

from __future__ import annotations

import pytest
from pymeasure.instruments.srs import SR830

from stfmr.instruments.sim.adapter import SimAdapter
from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.faults import FaultPlan, FaultPlanError
from stfmr.instruments.sim.sample import VirtualSample


def _lockin(faults: list[dict]) -> tuple[VirtualBench, SR830]:
    bench = VirtualBench(VirtualSample.preset("type-A"), faults=FaultPlan.from_dict({"fault": faults}))
    return bench, SR830(bench.adapter("SR830"))


def test_timeout_fault_raises_timeout_error_once():
    bench, li = _lockin([{"kind": "timeout", "instrument": "SR830", "after_queries": 2}])
    li.sensitivity
    li.sensitivity
    with pytest.raises(TimeoutError):
        li.sensitivity
    assert li.sensitivity == 0.05  # the next exchange works again
    assert bench.faults.fired_log == ["timeout on SR830 (firing 1 of 1)"]


def test_garbled_reply_fails_to_parse():
    _, li = _lockin([{"kind": "garbled", "instrument": "SR830", "count": 2}])
    x = li.x  # pymeasure hands back the text it could not cast
    with pytest.raises(ValueError):
        float(x)
    assert not any(ch.isdigit() for ch in li.ask("*IDN?"))
    assert li.ask("*IDN?").startswith("Stanford")


def test_drop_fault_cuts_the_link_for_good():
    bench, li = _lockin([{"kind": "drop", "instrument": "SR830", "after_s": 10.0}])
    li.x
    bench.clock.advance(10.0)
    with pytest.raises(ConnectionError):
        li.x
    with pytest.raises(ConnectionError):
        li.write("*CLS")
    assert isinstance(li.adapter, SimAdapter) and li.adapter.dropped


def test_overload_fault_sets_input_overload():
    _, li = _lockin([{"kind": "overload", "instrument": "SR830"}])
    li.x
    assert int(li.lia_status) & 0b101 == 0b101


def test_faults_only_hit_their_instrument():
    bench, li = _lockin([{"kind": "timeout", "instrument": "SR860"}])
    for _ in range(3):
        li.x
    assert bench.faults.fired_log == []


def test_read_without_query_times_out():
    _, li = _lockin([])
    with pytest.raises(TimeoutError):
        li.read()


@pytest.mark.parametrize("entry,match", [
    ({"kind": "explode", "instrument": "SR830"}, "kind"),
    ({"kind": "timeout", "instrument": "SR9999"}, "SR9999"),
    ({"kind": "timeout", "instrument": "SR830", "after_s": 1, "after_queries": 2}, "not both"),
    ({"kind": "timeout", "instrument": "SR830", "count": 0}, "count"),
    ({"kind": "timeout", "instrument": "SR830", "delay": 3}, "delay"),
    ({"kind": "timeout", "instrument": "SR830", "after_s": -1}, "after_s"),
])
def test_bad_fault_entries_are_named(entry, match):
    with pytest.raises(FaultPlanError, match=match):
        FaultPlan.from_dict({"fault": [entry]})


def test_fault_file(tmp_path):
    path = tmp_path / "faults.toml"
    path.write_text('[[fault]]\nkind = "supply_trip"\ninstrument = "KepcoBOP3612"\nafter_s = 30.0\n')
    plan = FaultPlan.from_toml(path)
    assert plan.to_dict() == {"fault": [{"kind": "supply_trip", "instrument": "KepcoBOP3612", "count": 1,
                                         "after_s": 30.0}]}
    path.write_text("[[fault]\n")
    with pytest.raises(FaultPlanError, match="TOML"):
        FaultPlan.from_toml(path)
    path.write_text('[[faults]]\nkind = "drop"\n')
    with pytest.raises(FaultPlanError, match="faults"):
        FaultPlan.from_toml(path)


def test_example_fault_file_loads():
    from pathlib import Path

    plan = FaultPlan.from_toml(Path(__file__).resolve().parents[2] / "examples" / "faults" / "flaky_bench.toml")
    assert [f.kind for f in plan.faults] == ["timeout", "garbled", "stage_short", "supply_trip"]
