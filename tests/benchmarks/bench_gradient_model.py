"""Benchmark of the gradient model (issue 3). Run: python tests/benchmarks/bench_gradient_model.py

Prints:
1. all ten paper cases (I..IV and II+III, A and B) with profiles and JSON dicts (target < 50 ms);
2. a sweep of 10,000 stacks (type-A sample model with random theta_Ni, theta_Fe, l_sf, l_J,
   l_phi and sink rho; target < 10 s on 2 cores; runs in one process);
3. solve time against slice count from 10 to 100,000 and the fitted exponents (must be ~1).
"""

from __future__ import annotations

import time

import numpy as np
from bench_gradient_batch import (
    random_parameters,  # the same random stacks in both benchmarks
)
from stfmr.analysis.gradient.cases import CASE_NAMES, run_cases, sample_stack
from stfmr.analysis.gradient.compositions import load_compositions
from stfmr.analysis.gradient.stack import Stack
from stfmr.analysis.gradient.torques import evaluate


def best_of(fn, repeat: int) -> float:
    """Shortest wall time of ``repeat`` calls (s)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_cases(table) -> None:
    def all_cases():
        return [r.to_dict() for r in run_cases(CASE_NAMES, table)]

    all_cases()  # warm-up (imports)
    t = best_of(all_cases, 20)
    print(f"all {len(CASE_NAMES)} cases with profiles and JSON: {t * 1e3:.2f} ms (target < 50 ms)")


def bench_sweep(table, n: int = 10_000) -> None:
    params = random_parameters(n)
    t0 = time.perf_counter()
    xi = np.empty(n)
    for i in range(n):
        t = table.with_parameters(**params[i])
        xi[i] = evaluate(sample_stack("A", t)).xi_DL_E
    dt = time.perf_counter() - t0
    print(
        f"sweep of {n} type-A stacks (6 parameters, one process): {dt:.2f} s, "
        f"{dt / n * 1e6:.0f} us per stack (target < 10 s); xi_DL^E from {xi.min():.3g} to {xi.max():.3g} Ohm^-1 m^-1"
    )


def bench_scaling(table) -> None:
    base = sample_stack("A", table)
    thickness = sum(l.thickness_nm for l in base.layers)
    counts = np.array([10, 30, 100, 300, 1000, 3000, 10000, 30000, 100000])
    times = []
    for n in counts:
        stack = Stack(layers=base.layers, slice_nm=thickness / n, lambda_J_sign=base.lambda_J_sign, g=base.g)
        evaluate(stack)
        times.append(best_of(lambda: evaluate(stack), 7 if n < 30000 else 3))
    times = np.array(times)
    for n, t in zip(counts, times):
        print(f"  {n:6d} slices: {t * 1e3:8.3f} ms")
    req = counts <= 10000
    slope_req = np.polyfit(np.log(counts[req]), np.log(times[req]), 1)[0]
    big = counts >= 1000
    slope_big = np.polyfit(np.log(counts[big]), np.log(times[big]), 1)[0]
    # separate the fixed per-call overhead from the part that grows with N
    from scipy.optimize import curve_fit

    (t0, c, p), _ = curve_fit(
        lambda n, t0, c, p: t0 + c * n**p, counts[req], times[req], p0=(times[0], times[-1] / counts[-1], 1.0),
        sigma=times[req], maxfev=20000,
    )
    print(
        f"solve time ~ N^p: plain log-log p = {slope_req:.2f} over 10..10,000 slices (the fixed per-call overhead "
        f"of ~{times[0] * 1e3:.2f} ms flattens the small end); fit t = t0 + c*N^p over 10..10,000: p = {p:.2f}; "
        f"log-log over 1,000..100,000: p = {slope_big:.2f} (must be ~1)"
    )


def main() -> None:
    table = load_compositions()
    bench_cases(table)
    bench_sweep(table)
    bench_scaling(table)


if __name__ == "__main__":
    main()
