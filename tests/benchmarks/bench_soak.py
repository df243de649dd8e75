"""Soak: random faults and kills on the virtual bench, counted as an unattended night would meet them.

Each trial draws a short run (three to six spectra, some with a dc bias), one
to three random faults (timeouts, garbled replies, passing or permanent drops,
supply trips, overloads, on any instrument, at any query of the run) and, in
half the trials, a SIGKILL at a random record of the run folder's journal or a
random row of a Results file (the run is forked, so the kill is real and
nothing of the child's clean-up runs). The run is then continued with
``--resume`` semantics, on a bench without faults (someone fixed the cause),
until every task is complete.

Counted:

- endings verified safe / reported unsafe: every procedure's safe ending;
- unsafe but reported safe (must be 0): an ending called safe while the
  simulator says rf, dc bias or magnet is not;
- spectra lost (must be 0): a task never complete, or complete twice, at the end;
- data mislabelled (must be 0): a recorded point whose dc bias, rf state or
  lock-in phase in the simulator differs from what its file says.

Run: python tests/benchmarks/bench_soak.py [TRIALS] [SEED]
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.runs import DC_BIAS_STEP, SAMPLE  # noqa: E402

from stfmr.analysis.datafile import read_datafile
from stfmr.analysis.run_manifest import MANIFEST, read_manifest
from stfmr.instruments.bench import open_simulated_bench
from stfmr.procedures import recording, safety
from stfmr.procedures.executor import run_sequence
from stfmr.procedures.run_folder import RunFolder
from stfmr.procedures.sequence import parse_sequence
from stfmr.procedures.spectrum import SpectrumProcedure

MODELS = ["Agilent8257D", "SR830", "KepcoBOP3612", "LakeShore421", "ESP300", "Keithley2400"]
KINDS = ["timeout", "garbled", "drop", "drop_permanent", "supply_trip", "overload"]


def draw_sequence(rng: random.Random) -> str:
    angles = sorted(rng.sample([30, 45, 60, 120, 135, 150], rng.randint(2, 4)))
    text = SAMPLE + f"""
[[step]]
kind = "angle_sweep"
frequency_GHz = 10.0
power_dBm = 15.0
angles_deg = {angles}
window_mT = 40.0
mu0_Meff_T = 0.65
field_points = {rng.choice([15, 21, 31])}
both_branches = {str(rng.random() < 0.3).lower()}
"""
    if rng.random() < 0.5:
        text += DC_BIAS_STEP
    return text


def draw_faults(rng: random.Random) -> dict:
    faults = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(KINDS)
        model = {"supply_trip": "KepcoBOP3612", "overload": "SR830"}.get(kind, rng.choice(MODELS))
        fault = {"kind": "drop" if kind == "drop_permanent" else kind, "instrument": model,
                 "after_queries": rng.randint(0, 250),
                 "count": 10**6 if kind == "drop_permanent" else rng.randint(1, 3)}
        faults.append(fault)
    return {"fault": faults}


class Audit:
    """Checks every recorded point against the simulator, and every safe ending against it."""

    def __init__(self) -> None:
        self.verified = self.unsafe_reported = self.false_safe = self.mislabelled = self.points = self.fired = 0

    def install(self, bench) -> None:
        audit = self
        self.bench = bench
        original_read = SpectrumProcedure.read_point
        original_safe = safety.SafetyGuard.make_safe

        def read_point(procedure, factor, t0, field_set_mT, frequency_GHz):
            v = bench.virtual
            dc = v.dc.current_A * 1e3 if v.dc.output_on else 0.0
            phase = v.instrument("SR830").phase_deg
            row = original_read(procedure, factor, t0, field_set_mT, frequency_GHz)
            audit.points += 1
            header_phase = float(procedure.detector_phase)  # the header's value, evaluated at startup
            if abs(dc - row["I_dc (mA)"]) > 1e-6 or not v.rf.output_on or abs(phase - header_phase) > 1e-6:
                audit.mislabelled += 1
            return row

        def make_safe(guard, reason):
            end = original_safe(guard, reason)
            audit.fired = len(bench.virtual.faults.fired_log)
            v = bench.virtual
            truly = (not v.rf.output_on and not v.dc.output_on and v.magnet.setpoint() == 0.0
                     and (abs(v.magnet.coil_current()) < 5e-3 or not v.magnet.output_enabled))
            if end.safe:
                audit.verified += 1
                audit.false_safe += not truly
            else:
                audit.unsafe_reported += 1
            return end

        SpectrumProcedure.read_point = read_point  # type: ignore[method-assign]
        self._restore = (original_read, original_safe)
        safety.SafetyGuard.make_safe = make_safe  # type: ignore[method-assign]


    def counts(self) -> dict[str, int]:
        self.fired = len(self.bench.virtual.faults.fired_log)
        return {key: getattr(self, key) for key in COUNTED}

    def uninstall(self) -> None:
        SpectrumProcedure.read_point, safety.SafetyGuard.make_safe = self._restore  # type: ignore[method-assign]


COUNTED = ("verified", "unsafe_reported", "false_safe", "mislabelled", "points", "fired")


def killed_run(text: str, faults: dict, out: Path, target: tuple[object, str], n: int, report: Path) -> None:
    """In a fork: run with faults, SIGKILL at the n-th call of target; the audit goes to ``report`` first."""
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:
        bench = open_simulated_bench("type-A", faults=faults)
        audit = Audit()
        audit.install(bench)
        owner, name = target
        real = getattr(owner, name)
        calls = {"n": 0}

        def dying(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == n:
                report.write_text(json.dumps(audit.counts()))
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)

        setattr(owner, name, dying)
        run_sequence(parse_sequence(text, "soak.toml", bench.limits), bench, out)
        report.write_text(json.dumps(audit.counts()))
    finally:
        os._exit(0)


def trial(rng: random.Random, tmp: Path, totals: dict) -> None:
    text = draw_sequence(rng)
    faults = draw_faults(rng)
    out = tmp / "run"
    keys = {t.key for t in parse_sequence(text, "soak.toml").tasks}
    safety.SAFE_END_RETRY_S = 5.0
    kill = rng.random() < 0.5 and hasattr(os, "fork")
    if kill:
        target = rng.choice([(RunFolder, "_append"), (recording, "write_row")])
        n = rng.randint(1, 2 * len(keys) if target[1] == "_append" else 80)
        report = tmp / "audit.json"
        killed_run(text, faults, out, target, n, report)
        audit = json.loads(report.read_text()) if report.exists() else {}
        for key in COUNTED:
            totals[key] += audit.get(key, 0)
        totals["kills"] += 1
    else:
        bench = open_simulated_bench("type-A", faults=faults)
        audit = Audit()
        audit.install(bench)
        first = run_sequence(parse_sequence(text, "soak.toml", bench.limits), bench, out)
        totals["stopped"] += first.state != "finished"
        totals["runs_unsafe"] += first.state == "unsafe"
        for key, value in audit.counts().items():
            totals[key] += value
        audit.uninstall()
        bench.close()
    for _ in range(5):  # the operator fixes the cause and resumes until the run is done
        bench = open_simulated_bench("type-A")
        audit = Audit()
        audit.install(bench)
        resume = (out / MANIFEST).exists()
        outcome = run_sequence(parse_sequence(text, "soak.toml", bench.limits), bench, out, resume=resume,
                               allow_bench_change=True)
        for key, value in audit.counts().items():
            totals[key] += value
        audit.uninstall()
        bench.close()
        if outcome.state == "finished":
            break
    complete = [e for e in read_manifest(out)["entries"] if e["status"] == "complete"]
    counted = [e["key"] for e in complete]
    totals["lost"] += len(keys - set(counted)) + (len(counted) - len(set(counted)))
    for entry in complete:  # every complete file holds every row its parameters promise
        p = entry["parameters"]
        rows = len(read_datafile(out / entry["file"]))
        expected = p["field_points"] * (2 if p["both_branches"] else 1)
        totals["lost"] += rows != expected


def main() -> None:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 2026
    rng = random.Random(seed)
    totals = dict.fromkeys(COUNTED + ("lost", "kills", "stopped", "runs_unsafe"), 0)
    import logging

    logging.disable(logging.CRITICAL)
    t0 = time.perf_counter()
    for k in range(trials):
        with tempfile.TemporaryDirectory() as tmp:
            trial(rng, Path(tmp), totals)
    elapsed = time.perf_counter() - t0
    print(f"soak: {trials} trials (seed {seed}), {totals['kills']} with a SIGKILL, {totals['fired']} fault firings; "
          f"of the unkilled first runs {totals['stopped']} stopped early ({totals['runs_unsafe']} unsafe); "
          f"{elapsed:.0f} s")
    print("| trials | endings verified safe | endings reported unsafe | reported safe but not (must be 0) "
          "| spectra lost (must be 0) | data mislabelled (must be 0) | points checked |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(f"| {trials} | {totals['verified']} | {totals['unsafe_reported']} | {totals['false_safe']} "
          f"| {totals['lost']} | {totals['mislabelled']} | {totals['points']} |")
    sys.exit(1 if totals["false_safe"] or totals["lost"] or totals["mislabelled"] else 0)


if __name__ == "__main__":
    main()
