"""Benchmark of the spectrum fit: speed, agreement with lmfit, convergence on hard spectra.

    python tests/benchmarks/bench_spectrum_fit.py [--hard N] [--timed N] [--profile]

Prints, from one run:
- the median time per 401-point spectrum of stfmr's fit (fast core), of a
  plain lmfit fit of the same model from naive starting values (data mean,
  window centre, a tenth of the window as width) and of scipy curve_fit from
  the same starts, and the ratios (targets: stfmr <= 1 ms, >= 5x faster than lmfit);
- the agreement of stfmr's values and standard errors with lmfit, both with
  lmfit's default leastsq (forward-difference Jacobian) and with an accurate
  lmfit (least_squares, central differences, tight tolerances);
- how often each method converges to the truth on N hard spectra
  (signal-to-noise 5, half of them with the resonance 1 to 3 linewidths from
  an edge, any sign and ratio of V_S and V_A, widths from 2 field steps to a
  tenth of the window, a sloped background). Converged means H_r, dH, V_S
  and V_A all within 5 expected standard errors of the truth (the errors the
  Jacobian at the truth gives for the known noise); an exception counts as a
  failure.

The hard spectra are drawn from the model lineshape itself so that the truth is
exact; the unit tests check the fit against the exact LLG response.

--profile prints instead where stfmr's fit spends its time on the typical
spectra (cProfile, cumulative per function of stfmr.analysis; the profiler's
own cost per call inflates the parts made of many small calls).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, as the live GUI has

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from scipy.optimize import curve_fit  # noqa: E402

from stfmr.analysis import lineshape  # noqa: E402
from stfmr.analysis.spectrum_fit import PARAM_NAMES, SpectrumFitError, fit_spectrum, spectrum_model  # noqa: E402

FIELD = np.linspace(20.0, 250.0, 401)  # mT
SPAN = FIELD[-1] - FIELD[0]
STEP = SPAN / (FIELD.size - 1)
LINE = ("H_r", "dH", "V_S", "V_A")


def draw(rng: np.random.Generator, hard: bool):
    """Return (truth dict, voltage, sigma) of one synthetic spectrum."""
    dh = float(np.exp(rng.uniform(np.log(2 * STEP), np.log(SPAN / 10))))
    if hard and rng.random() < 0.5:
        gap = max(rng.uniform(1.0, 3.0) * dh, 0.02 * SPAN)
        hr = FIELD[0] + gap if rng.random() < 0.5 else FIELD[-1] - gap
    else:
        hr = float(rng.uniform(FIELD[0] + 0.1 * SPAN, FIELD[-1] - 0.1 * SPAN))
    angle = rng.uniform(0.0, 2.0 * np.pi)
    amp = 10.0 ** rng.uniform(-7, -5)
    truth = dict(H_r=hr, dH=dh, V_S=amp * np.cos(angle), V_A=amp * np.sin(angle),
                 V_0=amp * rng.normal(0.0, 0.5), V_1=amp * rng.normal(0.0, 2e-3))
    line = lineshape.spectrum_voltage(FIELD, truth["H_r"], truth["dH"], truth["V_S"], truth["V_A"], 0.0, 0.0)
    sigma = float(np.max(np.abs(line))) / (5.0 if hard else 20.0)
    v = lineshape.spectrum_voltage(FIELD, **truth) + rng.normal(0.0, sigma, FIELD.size)
    return truth, v, sigma


def expected_errors(truth: dict, sigma: float) -> dict:
    """Standard errors from the Jacobian at the truth for noise sigma (central differences)."""
    names = list(PARAM_NAMES)
    base = np.array([truth[n] for n in names])
    cols = []
    for i, n in enumerate(names):
        d = 1e-6 * (abs(base[i]) + (truth["dH"] if n in ("H_r", "dH") else abs(truth["V_S"]) + abs(truth["V_A"])))
        p, m = base.copy(), base.copy()
        p[i] += d
        m[i] -= d
        cols.append((lineshape.spectrum_voltage(FIELD, *p) - lineshape.spectrum_voltage(FIELD, *m)) / (2 * d))
    j = np.column_stack(cols)
    cov = np.linalg.inv(j.T @ j) * sigma**2
    return dict(zip(names, np.sqrt(np.diag(cov))))


def naive_start(v: np.ndarray) -> dict:
    """The starting values a plain fit would use: data mean, window centre, a tenth of the window."""
    return dict(H_r=0.5 * (FIELD[0] + FIELD[-1]), dH=SPAN / 10.0, V_S=float(np.max(v) - np.min(v)),
                V_A=0.0, V_0=float(np.mean(v)), V_1=0.0)


def fit_stfmr(v):
    return fit_spectrum(FIELD, v).values


_MODEL = spectrum_model()


def fit_lmfit(v, **kw):
    result = _MODEL.fit(v, _MODEL.make_params(**naive_start(v)), field=FIELD, **kw)
    return {n: result.params[n].value for n in PARAM_NAMES}, result


def fit_curve_fit(v):
    def f(h, hr, dh, vs, va, v0, v1):
        return lineshape.spectrum_voltage(h, hr, dh, vs, va, v0, v1)

    p0 = [naive_start(v)[n] for n in PARAM_NAMES]
    popt, _ = curve_fit(f, FIELD, v, p0=p0, maxfev=20000)
    return dict(zip(PARAM_NAMES, popt))


def converged(values: dict, truth: dict, errors: dict) -> bool:
    return all(abs(abs(values[n]) - abs(truth[n])) <= 5 * errors[n] if n == "dH"
               else abs(values[n] - truth[n]) <= 5 * errors[n] for n in LINE)


def median_time(fn, spectra, repeat=1) -> float:
    times = []
    for v in spectra:
        for _ in range(repeat):
            t0 = time.perf_counter()
            try:
                fn(v)
            except Exception:  # noqa: BLE001 - a failed fit still costs its time
                pass
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def progress(text: str, end: str = "\n") -> None:
    """Say what the benchmark is doing (stderr, so the figures on stdout stay clean)."""
    print(text, end=end, file=sys.stderr, flush=True)


def profile(spectra) -> None:
    """Print the cumulative time per fit of each stfmr.analysis function on these spectra (cProfile)."""
    import cProfile
    import pstats

    for v in spectra[:5]:
        fit_stfmr(v)  # warm-up
    prof = cProfile.Profile()
    prof.enable()
    for v in spectra:
        fit_stfmr(v)
    prof.disable()
    rows = [(ct, nc, f"{os.path.basename(path)[:-3]}:{line} {name}")
            for (path, line, name), (_, nc, _, ct, _) in pstats.Stats(prof).stats.items()
            if f"{os.sep}analysis{os.sep}" in path]
    total = max(ct for ct, *_ in rows)
    print(f"where stfmr's fit spends its time ({len(spectra)} typical 401-point spectra, cProfile):")
    print(f"  {'module:line function':<40} {'calls/fit':>9} {'us/fit':>7} {'share':>6}")
    for ct, nc, label in sorted(rows, reverse=True)[:24]:
        print(f"  {label:<40} {nc / len(spectra):9.1f} {1e6 * ct / len(spectra):7.0f} {100 * ct / total:5.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hard", type=int, default=1000, help="hard spectra for the convergence rates")
    parser.add_argument("--timed", type=int, default=100, help="typical spectra for the timing")
    parser.add_argument("--profile", action="store_true", help="print where stfmr's fit spends its time, and stop")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(12345)
    if args.profile:
        profile([draw(rng, hard=False)[1] for _ in range(args.timed)])
        return

    progress(f"timing stfmr, lmfit and curve_fit on {args.timed} typical spectra ...")
    typical = [draw(rng, hard=False) for _ in range(args.timed)]
    spectra = [v for _, v, _ in typical]
    for v in spectra[:5]:
        fit_stfmr(v)  # warm-up (kernel cache, imports)
    t_stfmr = median_time(fit_stfmr, spectra, repeat=5)
    t_lmfit = median_time(fit_lmfit, spectra)
    t_curve = median_time(fit_curve_fit, spectra)
    print(f"401-point spectra, {args.timed} typical (SNR 20), median time per fit:")
    print(f"  stfmr fast core      {t_stfmr * 1e3:8.3f} ms   (target <= 1 ms)")
    print(f"  lmfit, naive starts  {t_lmfit * 1e3:8.3f} ms   -> stfmr is {t_lmfit / t_stfmr:5.1f}x faster (target >= 5x)")
    print(f"  curve_fit, naive     {t_curve * 1e3:8.3f} ms   -> stfmr is {t_curve / t_stfmr:5.1f}x faster")

    # agreement where lmfit found the same minimum
    progress(f"comparing with lmfit on {min(30, args.timed)} spectra ...")
    rel_default, err_default, rel_exact, err_exact = [], [], [], []
    tight = {"jac": "3-point", "xtol": 1e-15, "ftol": 1e-15, "gtol": 1e-15, "x_scale": "jac"}
    for truth, v, sigma in typical[:30]:
        ours = fit_spectrum(FIELD, v)
        for kw, rel, err in (({}, rel_default, err_default),
                             ({"method": "least_squares", "fit_kws": tight}, rel_exact, err_exact)):
            vals, result = fit_lmfit(v, **kw)
            if not converged(vals, truth, expected_errors(truth, sigma)) or result.covar is None:
                continue
            rel.append(max(abs(ours.values[n] - vals[n]) / max(abs(vals[n]), result.params[n].stderr)
                           for n in PARAM_NAMES))
            err.append(max(abs(ours.stderr[n] / result.params[n].stderr - 1) for n in PARAM_NAMES))
    print("agreement with lmfit (max over parameters; relative to max(|value|, stderr)):")
    print(f"  lmfit leastsq, default tolerances ({len(rel_default)} fits): values {np.max(rel_default):.1e},"
          f" stderr {100 * np.max(err_default):.3f} %")
    print(f"  lmfit least_squares, central differences, tight ({len(rel_exact)} fits): values"
          f" {np.max(rel_exact):.1e} (target 1e-6), stderr {100 * np.max(err_exact):.4f} % (target 1 %)")

    ok = {"stfmr": 0, "lmfit": 0, "curve_fit": 0}
    failures = []
    t0 = time.perf_counter()
    for i in range(args.hard):
        if i % 50 == 0:
            progress(f"\r  hard spectra: {i} / {args.hard}", end="")
        truth, v, sigma = draw(rng, hard=True)
        errors = expected_errors(truth, sigma)
        for name, fn in (("stfmr", fit_stfmr), ("lmfit", lambda y: fit_lmfit(y)[0]), ("curve_fit", fit_curve_fit)):
            try:
                good = converged(fn(v), truth, errors)
            except (SpectrumFitError, RuntimeError, ValueError, np.linalg.LinAlgError) as exc:
                good = False
                if name == "stfmr":
                    failures.append((i, str(exc)))
            ok[name] += good
            if name == "stfmr" and not good and (not failures or failures[-1][0] != i):
                failures.append((i, f"off: truth {truth}"))
    progress(f"\r  hard spectra: {args.hard} / {args.hard}")
    print(f"convergence to the truth on {args.hard} hard spectra (SNR 5, edges, mixed signs;"
          f" {time.perf_counter() - t0:.0f} s):")
    for name, n in ok.items():
        print(f"  {name:<10} {n:5d} / {args.hard}  ({100.0 * n / args.hard:.1f} %)")
    for i, why in failures[:10]:
        print(f"  stfmr failure on spectrum {i}: {why}")


if __name__ == "__main__":
    main()
