"""Bench time to reach 1 % on xi_DL^E: the default sequence against the lean one, on the virtual bench.

Each design is an example sequence as shipped (``full-characterization.toml``, the default,
and ``fast-characterization.toml``, the lean one), run by the headless runner on a fresh
virtual type-A bench whose noise density is NOISE x the preset's (default 30), one run per
seed, then analysed as ``stfmr analyze`` does. Bench time is the virtual clock's, split by
the executor's task events into the angle sweep and the rest.

Time to 1 %. A fixed sequence reaches some relative error e of xi_DL^E in bench time T; it
is scaled, not rerun. The budget (printed) puts nearly all of the variance of xi_DL^E at this
noise on V_S0 and dH, both from the angle sweep, whose spectra are repeated blocks: their
errors go as 1/sqrt(time). So

    T_1% = T_other + T_angle * (e / 1 %)^2        (headline: only the angle sweep scales)
    T_1%(all) = T * (e / 1 %)^2                   (the whole sequence scaled: T e^2 per design)

with e the mean over seeds of the reported relative error. The first keeps the fixed steps
(autophase, AMR, rf calibration, frequency sweep) at their length, so it favours neither
design; the second is the usual figure of merit of a design (bench time x variance). Each
run is checked unbiased: the preset's xi_DL^E within 3 reported sigmas.

Cramer-Rao: for every branch of the final angle sweep, the V_S error that the Fisher
information of the measured fields allows (the spectrum model's gradient at the fit, the
true per-point noise of the simulated lock-in: one reading's, times what averaging the
point's correlated readings leaves of it, :mod:`stfmr.analysis.measurement_design`),
against the fit's reported V_S error: the printed ratio is their mean. And xi_DL^E's
reported error over its Cramer-Rao bounds (:mod:`stfmr.analysis.design_bound`, the same
noise): "chain", the analysis's propagation with every spectrum fit at its bound, and
"joint", the bound of all the angular frequency's spectra together (one V_S0, V_A0, dH);
both on the spectrum part, the other inputs at their reported errors.

Run: python tests/benchmarks/bench_design.py [SEEDS] [NOISE]
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from stfmr.analysis.budget import efficiency_budgets
from stfmr.analysis.characterize import analyze_run
from stfmr.analysis.design_bound import BOUNDS, design_bound
from stfmr.analysis.measurement_design import GRADIENT_NAMES, model_gradient
from stfmr.analysis.run_reader import read_run
from stfmr.instruments.bench import open_simulated_bench
from stfmr.instruments.modulation import lockin_factor
from stfmr.instruments.sim import filter_noise
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.procedures.executor import ExecutorObserver, run_sequence
from stfmr.procedures.sequence import parse_sequence

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sequences"
DESIGNS = {"default": EXAMPLES / "full-characterization.toml", "lean": EXAMPLES / "fast-characterization.toml"}
TARGET = 0.01
PRESET = "type-A"


class TaskClock(ExecutorObserver):
    """Virtual bench time spent in each task (s), by the task's step kind."""

    def __init__(self, bench: Any) -> None:
        super().__init__()
        self.bench, self.by_kind, self._start = bench, {}, 0.0

    def task_started(self, task, entry, procedure, results) -> None:
        self._start = self.bench.clock.now()

    def task_finished(self, task, outcome) -> None:
        self.by_kind[task.kind] = self.by_kind.get(task.kind, 0.0) + self.bench.clock.now() - self._start


def crb_ratio(analysis: Any, sigma_V: float) -> float:
    """Mean over the angle sweep's branch fits of (reported V_S error) / (Cramer-Rao V_S error)."""
    out = []
    for spectrum in analysis.run.spectra:
        if spectrum.kind != "angle_sweep":
            continue
        for fit in analysis.fits.get(spectrum.file, []):
            fields = np.asarray(spectrum.field_mT, dtype=float)
            fields = fields[np.sign(fields) == fit.polarity]
            free = [GRADIENT_NAMES.index(n) for n in fit.names]
            grad = model_gradient(fields, fit.values)[:, free]
            crb = np.linalg.inv(grad.T @ grad / sigma_V**2)
            k = fit.names.index("V_S")
            out.append(fit.stderr["V_S"] / np.sqrt(crb[k, k]))
    return float(np.mean(out)) if out else float("nan")


def crb_xi_ratios(analysis: Any, sigma_V: Any) -> dict[str, float]:
    """xi_DL^E's reported error over each of its Cramer-Rao bounds ("chain", "joint"), points of noise sigma_V (V).

    sigma_V: one value, or a function of a spectrum giving it.
    """
    bound = design_bound(analysis, sigma_V)
    return {which: bound.ratio("xi_DL_E", which) for which in BOUNDS}


def run_design(path: Path, seed: int, noise: float) -> dict[str, Any]:
    """Measure and analyse one design on one seed: bench times, xi_DL^E, its budget and the CRB ratio."""
    preset = VirtualSample.preset(PRESET)
    sample = dataclasses.replace(preset, noise_density_V_per_rtHz=preset.noise_density_V_per_rtHz * noise)
    bench = open_simulated_bench(sample, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            sequence = parse_sequence(path.read_text(), path.name, bench.limits)
            clock = TaskClock(bench)
            t0 = bench.clock.now()
            outcome = run_sequence(sequence, bench, Path(tmp) / "run", observer=clock)
            total = bench.clock.now() - t0
            assert outcome.state == "finished", outcome.state
            lockin = bench.virtual.instrument("SR830")
            spacing = bench.detector.reading_interval() / bench.detector.time_constant()
            reading_V = lockin.noise_rms() / lockin_factor("pulse")
            # each step's points: the noise of the mean of its readings
            by_kind = {t.kind: reading_V * filter_noise.mean_noise_factor(
                lockin.slope_dB // 6, int(t.parameters.get("readings_per_point", 1)), spacing) for t in sequence.tasks}
        finally:
            bench.close()
        analysis = analyze_run(read_run(Path(tmp) / "run"))
        budget = efficiency_budgets(analysis.efficiencies)["xi_DL_E"]
        crb = crb_ratio(analysis, by_kind["angle_sweep"])
        crb_xi = crb_xi_ratios(analysis, lambda spectrum: by_kind.get(spectrum.kind, reading_V))
    angle = clock.by_kind.get("angle_sweep", 0.0)
    return {"T": total, "T_angle": angle, "value": budget.value, "stderr": budget.stderr,
            "rel": budget.stderr / abs(budget.value), "pull": (budget.value - preset.xi_DL_E) / budget.stderr,
            "shares": {s.name: s.share for s in budget.inputs}, "crb": crb, "crb_xi": crb_xi}


def main(seeds: int = 3, noise: float = 30.0) -> None:
    print(f"virtual {PRESET} bench at {noise:g}x its noise, {seeds} seeds; target {TARGET:.0%} on xi_DL^E")
    summary = {}
    for name, path in DESIGNS.items():
        runs = [run_design(path, seed, noise) for seed in range(seeds)]
        T, T_angle = float(np.mean([r["T"] for r in runs])), float(np.mean([r["T_angle"] for r in runs]))
        rel = float(np.mean([r["rel"] for r in runs]))
        t_target = (T - T_angle) + T_angle * (rel / TARGET) ** 2
        t_all = T * (rel / TARGET) ** 2
        shares = {k: float(np.mean([r["shares"][k] for r in runs])) for k in runs[0]["shares"]}
        unbiased = all(abs(r["pull"]) < 3 for r in runs)
        summary[name] = (t_target, t_all)
        print(f"{name:8s} {path.name}: bench time {T:7.1f} s (angle sweep {T_angle:7.1f} s), "
              f"xi_DL^E relative error {rel:.3%}")
        print(f"         per seed: " + "; ".join(f"{r['value']:.0f} +- {r['stderr']:.0f} ({r['pull']:+.1f} sigma)"
                                                 for r in runs) + f"  unbiased (3 sigma): {unbiased}")
        print("         budget: " + ", ".join(f"{k} {v:.1%}" for k, v in shares.items() if abs(v) >= 0.0005))
        print(f"         time to {TARGET:.0%}: {t_target:7.1f} s (angle sweep scaled), {t_all:7.1f} s (all scaled); "
              f"V_S error / Cramer-Rao bound of its fields: {np.mean([r['crb'] for r in runs]):.3f}")
        print("         xi_DL^E error / its Cramer-Rao bound: " + ", ".join(
            f"{which} {np.mean([r['crb_xi'][which] for r in runs]):.3f}" for which in BOUNDS))
    (d_target, d_all), (l_target, l_all) = summary["default"], summary["lean"]
    print(f"default/lean bench time to {TARGET:.0%}: {d_target / l_target:.1f}x (angle sweep scaled), "
          f"{d_all / l_all:.1f}x (all scaled); target >= 15x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3, float(sys.argv[2]) if len(sys.argv) > 2 else 30.0)
