"""What one measured point costs in instrument queries, and that the checks folded into its readings still hold.

A FieldSweep runs on the virtual bench (the real pymeasure drivers on the
simulators). A point's queries are the commands with a ``?`` that the
simulators received between its row and the previous one. With a gaussmeter a
point costs the lock-in's X,Y snapshot and its latched overload status, the
gaussmeter's field and the ramp step's setpoint read-back; the trip check and the
421's range multiplier ride on the field reading (role_field.LiveFollower).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

import pytest

from stfmr.analysis import columns as col
from stfmr.instruments.bench import open_bench
from stfmr.instruments.bench_config import parse_bench_config
from stfmr.instruments.errors import DetectorOverload, SupplyTrip
from stfmr.instruments.sim.faults import FaultPlan
from stfmr.instruments.sim.virtual_bench import default_tables, make_virtual
from stfmr.procedures.field_sweep import FieldSweep
from stfmr.procedures.safety import ReadbackError, SafetyGuard

SUPPLY, GAUSS, LOCKIN = "KepcoBOP3612", "LakeShore421", "SR830"
#: per point with a gaussmeter: one detector read, its overload status, one field read, the ramp's read-back
WITH_GAUSSMETER = {(LOCKIN, "SNAP?"): 1, (LOCKIN, "LIAS?"): 1, (GAUSS, "FIELD?"): 1, (SUPPLY, "CURRent?"): 1}
#: without one the field is the calibrated field of the measured current
WITHOUT_GAUSSMETER = {(LOCKIN, "SNAP?"): 1, (LOCKIN, "LIAS?"): 1, (SUPPLY, "MEASure:CURRent?"): 1,
                      (SUPPLY, "CURRent?"): 1}
#: a live point of the type-A bench: the measured field within the remanence (0.4 mT) and the coil's
#: nonlinearity (1 % at 10 A, against the bench's linear coil constant) of the set field
LIVE_MT, LIVE_REL = 0.6, 0.006


def open_virtual(gaussmeter: bool = True, unit: str = "G"):
    """The default virtual bench (type-A sample), with or without the field role's LakeShore 421 (in ``unit``)."""
    virtual = make_virtual("type-A", None, 0)
    virtual.instrument(GAUSS).unit = unit
    data = default_tables(lambda role: None if (role == "gaussmeter" and not gaussmeter) else f"SIM::{role}",
                          virtual.magnet.calibration_mT_per_A)
    data["simulation"] = {"sample": "type-A", "seed": 0, "transport": "inprocess"}
    return open_bench(parse_bench_config(data), virtual=virtual)


@dataclass
class Sweep:
    """The rows a sweep recorded, each point's queries, and the error that stopped it (if any)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    queries: list[collections.Counter] = field(default_factory=list)
    error: BaseException | None = None
    ending: collections.Counter = field(default_factory=collections.Counter)


def _queries(bench) -> list[tuple[str, str]]:
    virtual = bench.virtual
    return [(m, c.split()[0]) for m in virtual.models() for c in virtual.instrument(m).commands if "?" in c.split()[0]]


def inject(bench, kind: str, model: str) -> None:
    """A fault of ``kind`` on ``model`` at its next command (supply_trip) or reading (overload)."""
    bench.virtual.faults.faults.extend(FaultPlan.from_dict([{"kind": kind, "instrument": model}]).faults)


def sweep(bench, start_mT: float, stop_mT: float, points: int, on_row=None) -> Sweep:
    """Measure a FieldSweep (no stage move) from start_mT to stop_mT, ramped there first; then its safe ending.

    on_row(n) runs after the n-th row is recorded.
    """
    SafetyGuard(bench).ramp_field(start_mT)
    bench.clock.sleep(2.0)  # the coil follows the ramp (L/R = 0.15 s)
    proc = FieldSweep()
    proc.field_start_mT, proc.field_stop_mT, proc.field_points = start_mT, stop_mT, points
    proc.move_stage = False
    proc.bench = bench
    proc.should_stop = lambda: False
    out = Sweep()
    seen = collections.Counter(_queries(bench))

    def emit(kind, value=None, *args, **kwargs):
        if kind != "results":
            return
        now = collections.Counter(_queries(bench))
        out.queries.append(now - seen)
        seen.clear()
        seen.update(now)
        out.rows.append(dict(value))
        if on_row is not None:
            on_row(len(out.rows))

    proc.emit = emit
    proc.startup()
    try:
        proc.measure()
    except Exception as exc:  # noqa: BLE001 - the test looks at it
        out.error = exc
    before = collections.Counter(_queries(bench))
    proc.shutdown()
    out.ending = collections.Counter(_queries(bench)) - before
    assert proc.safe_end.safe, proc.safe_end.summary()
    return out


def _steady(run: Sweep) -> set[tuple]:
    """The distinct per-point query counts after the first two points (which verify the output and range)."""
    return {tuple(sorted(q.items())) for q in run.queries[2:]}


def _all_live(run: Sweep) -> None:
    for row in run.rows:
        assert abs(row[col.FIELD] - row[col.FIELD_SET]) < LIVE_MT + LIVE_REL * abs(row[col.FIELD_SET]), row


def test_a_point_costs_four_queries_and_the_safe_ending_still_reads_the_supply():
    with open_virtual() as bench:
        run = sweep(bench, 100.0, 101.0, 25)
    assert run.error is None
    assert _steady(run) == {tuple(sorted(WITH_GAUSSMETER.items()))}
    # the first point checks what the cache holds: the output state and the 421's multiplier
    assert run.queries[0][(SUPPLY, "OUTPut?")] == 1 and run.queries[0][(GAUSS, "FIELDM?")] == 1
    assert run.ending[(SUPPLY, "CURRent?")] > 0 and run.ending[(SUPPLY, "OUTPut?")] > 0
    _all_live(run)


def test_without_a_gaussmeter_the_measured_current_is_the_field_read_and_the_current_column():
    with open_virtual(gaussmeter=False) as bench:
        run = sweep(bench, 100.0, 101.0, 25)
        mT_per_A = bench.virtual.magnet.calibration_mT_per_A
    assert run.error is None
    assert _steady(run) == {tuple(sorted(WITHOUT_GAUSSMETER.items()))}
    for row in run.rows:  # one reading serves both columns
        assert row[col.FIELD] == pytest.approx(mT_per_A * row[col.CURRENT], rel=1e-12)
    _all_live(run)


def test_with_a_gaussmeter_the_current_column_is_the_read_back_setpoint():
    with open_virtual() as bench:
        run = sweep(bench, 100.0, 101.0, 11)
        expected = [bench.field.current_for_field(row[col.FIELD_SET]) for row in run.rows]
    assert [row[col.CURRENT] for row in run.rows] == pytest.approx(expected, rel=1e-5)  # the supply's 6 digits


@pytest.mark.parametrize("gaussmeter", [True, False], ids=["gaussmeter", "current"])
@pytest.mark.parametrize("tau_s", [0.1, 1e-3], ids=["settled", "short-settle"])
def test_a_trip_during_a_sweep_stops_it_and_no_point_after_it_is_recorded(gaussmeter, tau_s):
    """The trip shows as a field (or current) that no longer follows the setpoint; the output is then read.

    The simulated supply trips at the next command after the 5th row: the ramp to the 6th point.
    With a 1 ms time constant the 6th point is read 6.6 ms later, when the coil has lost 4 % only.
    """
    with open_virtual(gaussmeter) as bench:
        bench.detector.set_time_constant(tau_s)
        run = sweep(bench, 100.0, 110.0, 41, on_row=lambda n: n == 5 and inject(bench, "supply_trip", SUPPLY))
        assert bench.virtual.faults.faults[0].fired == 1
    assert isinstance(run.error, SupplyTrip) and SUPPLY in str(run.error)
    assert len(run.rows) == 5
    _all_live(run)


def test_a_supply_that_does_not_take_a_setpoint_is_caught_by_the_ramp_read_back():
    with open_virtual() as bench:
        supply = bench.virtual.instrument(SUPPLY)
        write = supply.write
        lose = {"setpoints": 0}

        def losing_setpoints(message: str) -> None:
            if lose["setpoints"] and message.strip().upper().startswith("CURR") and "?" not in message:
                lose["setpoints"] -= 1
                return  # the command is lost: the supply keeps its setpoint
            write(message)

        supply.write = losing_setpoints
        run = sweep(bench, 100.0, 110.0, 21, on_row=lambda n: n == 5 and lose.update(setpoints=1))
    assert isinstance(run.error, ReadbackError) and "setpoint reads" in str(run.error)
    assert len(run.rows) == 5
    _all_live(run)


def test_an_overload_is_detected_and_the_overloaded_point_is_not_recorded():
    with open_virtual() as bench:
        sens = bench.detector.sensitivity()
        run = sweep(bench, 100.0, 110.0, 21, on_row=lambda n: n == 5 and inject(bench, "overload", LOCKIN))
        assert bench.virtual.faults.faults[0].fired == 1
    assert isinstance(run.error, DetectorOverload) and LOCKIN in str(run.error)
    assert len(run.rows) == 5
    for row in run.rows:  # the overloaded reading (clipped at 1.1 x full scale) is in no row
        assert abs(row[col.X]) < sens and abs(row[col.Y]) < sens


@pytest.mark.parametrize("unit, start, stop", [("G", 24.0, 36.0), ("T", 294.0, 306.0)])
def test_an_auto_range_change_of_the_gaussmeter_is_followed(unit, start, stop):
    """The 421 changes its multiplier at 300 G (gauss) and at 0.3 T (tesla): the cached one is read again there."""
    with open_virtual(unit=unit) as bench:
        run = sweep(bench, start, stop, 25)
    assert run.error is None
    _all_live(run)
    multiplier_reads = sum(q[(GAUSS, "FIELDM?")] for q in run.queries)
    assert 2 <= multiplier_reads <= 4  # the first point and the range change, not every point


@pytest.mark.parametrize("change", ["range", "unit"])
def test_a_range_or_unit_changed_by_hand_mid_sweep_is_followed(change):
    with open_virtual() as bench:
        meter = bench.virtual.instrument(GAUSS)

        def by_hand(n: int) -> None:
            if n == 5:
                if change == "range":  # 300 G range (no multiplier) -> 3 kG range (k)
                    meter.range_index, meter.auto = 1, False
                else:
                    meter.unit = "T"

        run = sweep(bench, 22.0, 28.0, 13, on_row=by_hand)
    assert run.error is None and len(run.rows) == 13
    _all_live(run)


def test_below_20_mT_each_point_still_reads_the_output():
    """A tripped magnet keeps its remanence (a few mT): at low field the reading cannot tell, so the supply is asked."""
    with open_virtual() as bench:
        run = sweep(bench, 5.0, 8.0, 13)
    assert _steady(run) == {tuple(sorted((WITH_GAUSSMETER | {(SUPPLY, "OUTPut?"): 1}).items()))}
    _all_live(run)


def test_near_zero_field_a_multiplier_cached_at_high_field_is_read_again():
    """Where a reading 1000 times off could pass for the expected one, the 421's multiplier is always read."""
    with open_virtual() as bench:
        high = sweep(bench, 100.0, 101.0, 5)  # 3 kG range: multiplier k
        low = sweep(bench, 0.1, 1.0, 10)  # 30 G range: no multiplier
    assert high.error is None and low.error is None
    assert high.queries[-1][(GAUSS, "FIELDM?")] == 0 and low.queries[0][(GAUSS, "FIELDM?")] == 1
    _all_live(low)  # 0.1 to 1 mT: read with the cached k they would be 100 to 1000 mT


def test_a_frequency_scan_point_costs_the_detector_and_one_field_read():
    """At a fixed field there is no ramp step to read back: three queries a point."""
    from stfmr.procedures.frequency_scan import FrequencyScan

    with open_virtual() as bench:
        proc = FrequencyScan()
        proc.field_mT, proc.frequency_start_GHz, proc.frequency_stop_GHz, proc.frequency_points = 150.0, 8.0, 8.2, 21
        proc.move_stage = False
        proc.bench = bench
        proc.should_stop = lambda: False
        seen, per_point = collections.Counter(_queries(bench)), []

        def emit(kind, value=None, *args, **kwargs):
            if kind == "results":
                now = collections.Counter(_queries(bench))
                per_point.append(tuple(sorted((now - seen).items())))
                seen.clear()
                seen.update(now)

        proc.emit = emit
        proc.startup()
        proc.measure()
        proc.shutdown()
    detector_and_field = {(LOCKIN, "SNAP?"): 1, (LOCKIN, "LIAS?"): 1, (GAUSS, "FIELD?"): 1}
    assert len(per_point) == 21 and set(per_point[1:]) == {tuple(sorted(detector_and_field.items()))}
