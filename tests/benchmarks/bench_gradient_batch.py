"""Benchmark of the batched gradient solve (issue 16). Run: python tests/benchmarks/bench_gradient_batch.py [N]

Prints, for N stacks (default 10,000; type-A sample models with random theta_Ni,
theta_Fe, l_sf, l_J, l_phi and sink rho, as bench_gradient_model.py's sweep):

1. the solve and totals: torques.evaluate stack by stack against batch.evaluate_many
   on the same Stack objects, the ratio (aim >= 20x) and the largest difference of
   xi_DL^E and xi_FL+Oe^E relative to the stack's larger |xi| (must be ~1e-12 or less);
2. the whole sweep including building the stacks from the composition table;
3. a 4-parameter `--fit` (its residuals and Jacobian go through the batch).

Times are CPU times of this process (time.process_time), so that other load on
the machine does not distort the ratio; the best of a few repeats for the short ones.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from stfmr.analysis.gradient.batch import evaluate_many
from stfmr.analysis.gradient.cases import sample_stack
from stfmr.analysis.gradient.compare import fit_parameters, load_measured
from stfmr.analysis.gradient.compositions import load_compositions
from stfmr.analysis.gradient.torques import evaluate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def cpu_time(fn, repeat: int = 1) -> tuple[float, object]:
    """Shortest CPU time of ``repeat`` calls (s) and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def random_parameters(n: int) -> list[dict[str, float]]:
    rng = np.random.default_rng(0)
    cols = {
        "theta_Ni": rng.uniform(0.0, 0.08, n),
        "theta_Fe": rng.uniform(-0.05, 0.02, n),
        "l_sf_nm": rng.uniform(1.5, 5.0, n),
        "l_J_nm": rng.uniform(1.0, 2.0, n),
        "l_phi_nm": rng.uniform(1.0, 4.0, n),
        "sink_rho_uOhm_cm": rng.uniform(150.0, 250.0, n),
    }
    return [{k: float(v[i]) for k, v in cols.items()} for i in range(n)]


def main(n: int = 10_000) -> None:
    table = load_compositions()
    params = random_parameters(n)

    def build():
        return [sample_stack("A", table.with_parameters(**p)) for p in params]

    t_build, stacks = cpu_time(build)
    evaluate_many(stacks[:10])  # warm-up

    def single():
        return [evaluate(s).selected for s in stacks]

    t_single, one = cpu_time(single)
    t_batch, many = cpu_time(lambda: evaluate_many(stacks), repeat=3)
    # differences on each stack's scale (a component that crosses zero has no relative error of its own)
    single_values = {q: np.array([getattr(t, q) for t in one]) for q in ("xi_DL_E", "xi_FL_Oe_E")}
    scale = np.maximum(*(np.abs(v) for v in single_values.values()))
    worst = max(float(np.max(np.abs(many.column(q, "local-average") - a) / scale)) for q, a in single_values.items())
    print(f"{n} type-A stacks, solve and totals: one by one {t_single:.2f} s ({t_single / n * 1e6:.0f} us/stack), "
          f"batched {t_batch:.3f} s ({t_batch / n * 1e6:.1f} us/stack): {t_single / t_batch:.1f}x faster "
          f"(aim >= 20x); largest difference {worst:.1e} of the stack's |xi|")
    print(f"whole sweep with building the stacks from the table ({t_build:.2f} s): "
          f"one by one {t_build + t_single:.2f} s, batched {t_build + t_batch:.2f} s: "
          f"{(t_build + t_single) / (t_build + t_batch):.1f}x")

    measured = load_measured(EXAMPLES / "measured_paper_t3nm.toml")
    names = ["theta_Ni", "theta_Fe", "l_sf_nm", "sink_l_sf_nm"]
    fit_parameters(measured, table, names[:1])  # warm-up (lmfit import)
    t_fit, fit = cpu_time(lambda: fit_parameters(measured, table, names), repeat=3)
    print(f"fit of {', '.join(names)} to the paper's two samples: {t_fit * 1e3:.0f} ms (reduced chi2 {fit.redchi:.3g})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
