"""What one point of a field sweep costs: instrument queries, and live refits within a CPU budget."""

from __future__ import annotations

import collections

import numpy as np

from stfmr.instruments.bench import open_simulated_bench
from stfmr.instruments.sim import base
from stfmr.procedures import field_sweep as fs
from stfmr.procedures.field_sweep import FieldSweep
from stfmr.procedures.safety import SafetyGuard


def _exchanges(monkeypatch, points: int) -> collections.Counter:
    """Every command the simulated instruments received while a sweep of ``points`` measured."""
    log: list[tuple[str, str]] = []
    write = base.SimInstrument.write

    def recording(self, message):
        log.append((self.MODEL, message.strip()))
        return write(self, message)

    monkeypatch.setattr(base.SimInstrument, "write", recording)
    bench = open_simulated_bench("type-A")
    try:
        SafetyGuard(bench).ramp_field(100.0)
        proc = FieldSweep()
        proc.field_start_mT, proc.field_stop_mT, proc.field_points = 100.0, 100.0 + 0.005 * points, points
        proc.move_stage = False
        proc.bench = bench
        proc.should_stop = lambda: False
        proc.emit = lambda *a, **k: None
        proc.startup()
        log.clear()
        proc.measure()
        during = collections.Counter(m for m, cmd in log if cmd.endswith("?") or "?" in cmd.split()[0])
        log.clear()
        proc.shutdown()
        ending = [cmd for m, cmd in log]
    finally:
        bench.close()
    return during, ending


def test_a_point_costs_four_queries_and_the_safe_end_still_reads_back(monkeypatch):
    few, _ = _exchanges(monkeypatch, 20)
    many, ending = _exchanges(monkeypatch, 60)
    per_point = {model: (many[model] - few[model]) / 40 for model in many if many[model] != few[model]}
    # lock-in: X,Y snapshot and overload status; gaussmeter: the field (also the trip check);
    # supply: the ramp step's setpoint read-back (tests/procedures/test_queries_per_point.py has the detail)
    assert per_point == {"SR830": 2.0, "LakeShore421": 1.0, "KepcoBOP3612": 1.0}
    # the ending reads the supply's setpoint and output from the instrument, not from memory
    assert "CURRent?" in ending and "OUTPut?" in ending


def test_live_refits_stay_within_their_cpu_budget_and_build_the_axis_only_for_a_fit(monkeypatch):
    """2000 points at 1 ms each; a refit costs 20 us per point fitted: fits take at most 1/(1 + factor)."""
    clock = {"wall": 0.0, "cpu": 0.0}
    fits, axes = [], []

    class FakeTime:
        @staticmethod
        def perf_counter() -> float:
            return clock["wall"]

        @staticmethod
        def process_time() -> float:
            return clock["cpu"]

    def fake_fit(fields, voltages):
        cost = 20e-6 * len(voltages)
        clock["wall"] += cost
        clock["cpu"] += cost
        fits.append(len(voltages))
        return []

    def fake_axis(set_H, measured_H):
        axes.append(len(set_H))
        return np.asarray(measured_H)

    monkeypatch.setattr(fs, "time", FakeTime)
    monkeypatch.setattr(fs, "fit_branches", fake_fit)
    monkeypatch.setattr(FieldSweep, "_fit_axis", staticmethod(fake_axis))
    proc = FieldSweep()
    proc.on_fit = lambda f: None
    proc._next_live_fit = -float("inf")
    set_H: list[float] = []
    for k in range(2000):
        clock["wall"] += 1e-3
        set_H.append(100.0 + k)
        proc._update_live_fit(set_H, set_H, set_H)
    fit_cpu = sum(20e-6 * n for n in fits)
    assert fit_cpu <= clock["wall"] / (1.0 + fs.LIVE_FIT_COST_FACTOR) + 20e-6 * 2000
    assert len(axes) == len(fits) > 20  # still a live view: dozens of refits
    assert fits[-1] > 1900  # and the last one saw nearly the whole spectrum
