"""Benchmark of the one-or-two-mode choice (analysis/modes.py): error rates and time.

    python tests/benchmarks/bench_modes.py [--n N]

Prints, for synthetic 201-point branches drawn from the model lineshape with white
noise (the main line at signal-to-noise 300, width 7 mT, random V_S/V_A ratio,
sloped background):
- the false-two-mode rate on N one-mode branches;
- the detection rate of a second mode against its amplitude relative to the main
  line (peak signal-to-noise of the second mode in brackets) and its distance
  from the main line in half widths, N branches each;
- the median time of fit_modes per branch, one-mode and two-mode data.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from stfmr.analysis.lineshape import spectrum_voltage  # noqa: E402
from stfmr.analysis.modes import fit_modes  # noqa: E402
from stfmr.analysis.spectrum_fit import SpectrumFitError  # noqa: E402

FIELD = np.linspace(60.0, 220.0, 201)  # mT
H_MAIN, DH = 150.0, 7.0
SNR = 300.0


def branch(rng: np.random.Generator, ratio: float = 0.0, distance: float = 0.0) -> np.ndarray:
    """Voltage (V) of one branch: the main line, an optional second one, background and noise."""
    angle = rng.uniform(0, 2 * np.pi)
    amp = 2e-5
    v = spectrum_voltage(FIELD, H_MAIN, DH, amp * np.cos(angle), amp * np.sin(angle), 1e-6, 2e-9)
    if ratio:
        a2 = rng.uniform(0, 2 * np.pi)
        v = v + spectrum_voltage(FIELD, H_MAIN - distance * DH, DH, ratio * amp * np.cos(a2),
                                 ratio * amp * np.sin(a2), 0.0, 0.0)
    return v + rng.normal(0.0, amp / SNR, FIELD.size)


def two_mode_rate(rng, n: int, ratio: float = 0.0, distance: float = 0.0) -> tuple[float, list[float]]:
    chosen, times = 0, []
    for _ in range(n):
        v = branch(rng, ratio, distance)
        t = time.perf_counter()
        try:
            chosen += fit_modes(FIELD, v).n_modes == 2
        except SpectrumFitError:
            pass
        times.append(time.perf_counter() - t)
    return chosen / n, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="branches per case")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    rate, times_one = two_mode_rate(rng, args.n)
    print(f"one-mode branches: two modes chosen in {rate:.1%} of {args.n}")
    times_two: list[float] = []
    print("second mode found (rows: amplitude ratio [its SNR]; columns: distance in half widths)")
    distances = (1.0, 2.0, 4.0)
    print("             " + "".join(f"{d:>8g}" for d in distances))
    for ratio in (0.02, 0.05, 0.1, 0.3):
        cells = []
        for d in distances:
            r, t = two_mode_rate(rng, args.n, ratio, d)
            times_two += t
            cells.append(f"{r:>8.0%}")
        print(f"  {ratio:>5g} [{ratio * SNR:>4.0f}]" + "".join(cells))
    print(f"time per branch: {np.median(times_one) * 1e3:.1f} ms (one-mode data), "
          f"{np.median(times_two) * 1e3:.1f} ms (two-mode data), median")


if __name__ == "__main__":
    main()
