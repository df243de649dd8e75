"""Fit ST-FMR spectra: V = V_S*S + V_A*A + V_0 + V_1*(H - H_r) (docs/physics.md §2).

Two engines evaluate the one model of :mod:`stfmr.analysis.lineshape`:

- the fast core (default, the live path), :mod:`stfmr.analysis.spectrum_fit_core`:
  variable projection (the amplitudes V_S, V_A, V_0, V_1 follow exactly from
  linear least squares for any (H_r, dH), so the fit is a 2-parameter
  problem), a global search from a matched-filter scan of the whole window
  (several candidates refined by Newton steps with the exact Hessian, the
  lowest chi-square kept) that needs no human. This module scales the branch
  for it and takes standard errors from the full Jacobian at the optimum
  scaled by the reduced chi-square, as lmfit reports them.
- lmfit (``engine="lmfit"``, and :func:`lmfit_result` for the user-facing
  report): an ``lmfit.Model`` of :func:`~stfmr.analysis.lineshape.spectrum_voltage`
  started from the fast core's automatic starting values.

Fields are mu0*H in mT, voltages in V. A branch may be swept up or down but
must be strictly monotonic and of one sign. Every refusal raises
:class:`SpectrumFitError` saying why; no garbage fit is returned silently.
:func:`fit_each_branch` fits the branches of a file independently and keeps
a branch that cannot be fitted as a :class:`BranchFailure` with its reason.
A fit carries warnings (:attr:`SpectrumFit.warnings`) for a resonance within
EDGE_LINEWIDTHS linewidths of a sweep edge and for a second distinct minimum
whose chi-square is within CLOSE_MINIMA of the lowest.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from typing import Any, NoReturn

import numpy as np

from stfmr.analysis import lineshape
from stfmr.analysis.spectrum_fit_core import MAX_ITER, search

#: parameter order of values, stderr and the correlation matrix
PARAM_NAMES: tuple[str, ...] = ("H_r", "dH", "V_S", "V_A", "V_0", "V_1")

#: fewest points in a branch (six parameters plus enough to judge the fit)
MIN_POINTS = 15

#: the resonance must lower chi-square by this many (reduced) units against the
#: background alone. Pure Gaussian noise reaches 22 at the 99th and 30 at the
#: 99.9th percentile (2000 noise spectra of 51 to 2001 points); a signal-to-noise
#: of 5 (peak over sigma) with a line two field steps wide reaches about 40
MIN_SIGNIFICANCE = 35.0

#: a resonance closer than this many linewidths (dH) to an end of the sweep is flagged
EDGE_LINEWIDTHS = 2.0

#: a second distinct minimum whose chi-square exceeds the lowest by less than this
#: fraction is flagged (when it is itself a significant resonance inside the sweep)
CLOSE_MINIMA = 0.05


class SpectrumFitError(ValueError):
    """The spectrum cannot be fitted; the message says why."""


class SpectrumFitWarning(UserWarning):
    """Something was left out of a fit (e.g. a stray point of the other branch)."""


@dataclass(frozen=True)
class SpectrumFit:
    """Result of fitting one field branch.

    polarity: +1 or -1, the sign of the branch's field.
    values, stderr: keyed "H_r", "dH" (mT; H_r carries the branch sign, dH > 0),
        "V_S", "V_A", "V_0" (V), "V_1" (V/mT, the slope against |H|). V_S and
        V_A reverse with the branch as the physics says (see lineshape). In
        derivative mode with data dV/dH in V/mT, V_S and V_A are in V, V_0 in
        V/mT and V_1 in V/mT^2. Without a fitted slope V_1 = 0 with stderr 0.
    names, correlation: the fitted parameters and their correlation matrix
        (6 x 6, or 5 x 5 without a slope).
    redchi: reduced chi-square (V^2, the residual variance); npoints: points fitted.
    derivative: derivative lineshapes were fitted.
    significance: chi-square drop of the resonance against the background
        alone, in units of redchi (at least MIN_SIGNIFICANCE).
    field_range_mT: first and last field of the branch, increasing.
    """

    polarity: int
    values: dict[str, float]
    stderr: dict[str, float]
    names: tuple[str, ...]
    correlation: np.ndarray = dc_field(repr=False)
    redchi: float
    npoints: int
    derivative: bool
    significance: float
    field_range_mT: tuple[float, float]
    #: set by the two-mode analysis (analysis.modes.ModeSelection.to_dict) when it chose two modes
    modes: dict[str, Any] | None = None
    #: point-to-point noise of the data (V; V/mT in derivative mode), see :func:`point_noise`
    noise_V: float = float("nan")
    #: what the user should know about this fit (edge, a close second minimum), in words
    warnings: tuple[str, ...] = ()

    @property
    def chi2_noise(self) -> float:
        """Reduced chi-square in units of the point-to-point noise: about 1 when the model explains the data."""
        return self.redchi / self.noise_V**2 if self.noise_V > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready record {"polarity", name: {"value", "stderr"}..., "redchi", "noise_V",
        "chi2_noise", "npoints", "field_range_mT", "warnings"}."""
        out: dict[str, Any] = {"polarity": int(self.polarity)}
        for name in PARAM_NAMES:
            out[name] = {"value": float(self.values[name]), "stderr": float(self.stderr[name])}
        out["redchi"] = float(self.redchi)
        out["noise_V"] = float(self.noise_V)
        out["chi2_noise"] = float(self.chi2_noise)
        out["npoints"] = int(self.npoints)
        out["field_range_mT"] = [float(x) for x in self.field_range_mT]
        out["warnings"] = list(self.warnings)
        if self.modes is not None:
            out["modes"] = self.modes
        return out

    def evaluate(self, field_mT) -> np.ndarray:
        """Return the fitted model (V) at the given fields (mT)."""
        v = self.values
        return lineshape.spectrum_voltage(
            field_mT, v["H_r"], v["dH"], v["V_S"], v["V_A"], v["V_0"], v["V_1"], self.derivative
        )


@dataclass(frozen=True)
class BranchFailure:
    """A field branch that could not be fitted: its sign, size, field range and the reason."""

    polarity: int
    reason: str
    npoints: int
    field_range_mT: tuple[float, float]

    @property
    def message(self) -> str:
        """The reason with the branch named, e.g. 'negative field branch: no resonance in the window ...'."""
        return f"{branch_name(self.polarity)} field branch: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """The ``failed_branches`` entry of ``stfmr fit --json``."""
        return {"polarity": int(self.polarity), "reason": self.reason, "npoints": int(self.npoints),
                "field_range_mT": [float(x) for x in self.field_range_mT]}


@dataclass(frozen=True)
class BranchFits:
    """Every branch of a file: the fits (positive branch first) and the branches that could not be fitted."""

    fits: list[SpectrumFit]
    failures: list[BranchFailure]

    def error_message(self) -> str:
        """Every failure's message, joined (the reason a file with no fitted branch is refused)."""
        return "; ".join(f.message for f in self.failures)


def branch_name(polarity: int) -> str:
    """'positive' or 'negative'."""
    return "positive" if polarity > 0 else "negative"


def point_noise(field_mT: np.ndarray, voltage_V: np.ndarray) -> float:
    """Point-to-point noise (V) of a branch, independent of any model.

    Each point is compared with the straight line through its two neighbours;
    for white noise sigma that difference has variance sigma^2 (1 + a^2 + b^2)
    (a, b the interpolation weights), while a smooth signal cancels to second
    order in the field step. The median absolute difference (robust against
    the few points on a narrow line) gives sigma. Noise correlated between
    neighbouring points (a lock-in time constant longer than the step) makes
    this smaller than the scatter about a smooth curve.
    """
    h, v = np.asarray(field_mT, dtype=float), np.asarray(voltage_V, dtype=float)
    if h.size < 3:
        return float("nan")
    a = (h[2:] - h[1:-1]) / (h[2:] - h[:-2])
    b = 1.0 - a
    e = np.abs(v[1:-1] - (a * v[:-2] + b * v[2:])) / np.sqrt(1.0 + a * a + b * b)
    return float(1.482602218505602 * _median(e))


def _median(x: np.ndarray) -> float:
    """np.median of a 1-d array, bit for bit, from one partition (np.median's overhead is most of its time)."""
    k = x.size // 2
    part = np.partition(x, (k, -1) if x.size % 2 else (k - 1, k, -1))  # a NaN goes last, as in np.median
    if math.isnan(part[-1]):
        return float("nan")
    return float(part[k]) if x.size % 2 else float((part[k - 1] + part[k]) / 2.0)


# ---------------------------------------------------------------- validation


def _prepare_branch(field_mT, voltage_V) -> tuple[np.ndarray, np.ndarray]:
    """Check one branch and return (field, voltage) as float arrays, sorted by increasing field."""
    h = np.asarray(field_mT, dtype=float).ravel()
    v = np.asarray(voltage_V, dtype=float).ravel()
    if h.size != v.size:
        raise SpectrumFitError(f"field has {h.size} points but voltage has {v.size}")
    if h.size < MIN_POINTS:
        raise SpectrumFitError(f"too few points: {h.size} (a spectrum needs at least {MIN_POINTS})")
    for label, arr in (("field", h), ("voltage", v)):
        if not np.isfinite(arr).all():
            bad = np.flatnonzero(~np.isfinite(arr))
            raise SpectrumFitError(
                f"{label} holds {bad.size} NaN or infinite value(s), first at index {bad[0]}"
            )
    step = h[1:] - h[:-1]
    if step.min() > 0:
        first, last = float(h[0]), float(h[-1])
    elif step.max() < 0:
        first, last = float(h[-1]), float(h[0])
    else:
        _refuse_unsorted(h, step)
    if first < 0 < last:
        _refuse_unsorted(h, step)
    if h[-1] < h[0]:
        h, v = h[::-1], v[::-1]
    return h, v


def _refuse_unsorted(h: np.ndarray, step: np.ndarray) -> NoReturn:
    """Raise the SpectrumFitError of a branch that is not strictly monotonic in one sign, in this order:
    both signs, zero everywhere, a duplicated field, a reversal."""
    if np.any(h > 0) and np.any(h < 0):
        raise SpectrumFitError(
            "field holds both signs: fit each branch on its own (fit_branches does this)"
        )
    if np.all(h == 0):
        raise SpectrumFitError("field is zero everywhere")
    if np.any(step == 0):
        i = int(np.flatnonzero(step == 0)[0])
        raise SpectrumFitError(f"duplicated field value {h[i]:g} mT at indices {i} and {i + 1}")
    i = int(np.flatnonzero(np.sign(step) != np.sign(step[0]))[0])
    raise SpectrumFitError(
        f"field is not monotonic: the sweep reverses at index {i + 1} ({h[i + 1]:g} mT);"
        " sort the data or split the sweeps"
    )


# ---------------------------------------------------------------- fast core (spectrum_fit_core) in mT and V


def _fit_prepared(h, y, polarity, derivative, slope) -> SpectrumFit:
    """Fast-core fit of one validated branch (h increasing, one sign)."""
    scale = max(-float(h[0]), float(h[-1]))  # max |h| of a branch of one sign, sorted
    u = h / scale
    yscale = _spread(y)
    if yscale == 0.0:
        raise SpectrumFitError("no resonance in the window: the voltage is constant")
    yn = y / yscale
    minima, chi2_bg = search(u, yn, derivative, slope, polarity)
    pt, converged, outside = _choose_minimum(minima, u)
    dof = h.size - (len(PARAM_NAMES) - (0 if slope else 1))
    significance = (chi2_bg - pt.chi2) / max(pt.chi2 / dof, 1e-300)
    if significance < MIN_SIGNIFICANCE:
        raise SpectrumFitError(_no_resonance(h, significance))
    if not converged:
        if not u[0] <= pt.hr <= u[-1]:
            raise SpectrumFitError(f"no resonance in the window {h[0]:g} to {h[-1]:g} mT: the best fit runs"
                                   f" to H_r = {pt.hr * scale:.4g} mT, outside it")
        raise SpectrumFitError(f"the fit did not converge in {MAX_ITER} iterations")
    # back to mT and V: parameter = factor * scaled parameter
    amp = yscale * (scale if derivative else 1.0)
    factors = np.array([scale, scale, amp, amp, yscale, yscale / scale][: pt.coef.size + 2])
    params = factors * np.concatenate(([pt.hr, pt.w], pt.coef))
    fit = _assemble(h, y, polarity, params, pt.jacobian(), factors, yscale, pt.chi2,
                    derivative, significance)
    close = _close_minimum(h, [m for m in minima if m[0] is not pt], pt, chi2_bg, dof, scale)
    if outside is not None:
        close += (f"a line with H_r = {outside.hr * scale:.4g} mT, outside the sweep, lowers chi-square by"
                  f" {100 * (1 - outside.chi2 / pt.chi2):.1f} % more: something beyond the sweep (or a curved"
                  " background) shapes the spectrum; widen the sweep",)
    return replace(fit, warnings=fit.warnings + close) if close else fit


def _choose_minimum(minima, u):
    """Return (point, converged, lower minimum outside the sweep or None) of the global search's minima.

    The lowest chi-square wins. If it is not an acceptable resonance
    (unconverged, H_r outside the sweep, dH beyond its width), a converged
    minimum inside the sweep within CLOSE_MINIMA of it is taken instead, and
    the outside one returned for a warning; else the lowest is returned and
    the checks refuse it with their reason.
    """
    lo, hi = float(u[0]), float(u[-1])
    best, converged = minima[0]

    def acceptable(pt, ok):
        return ok and lo <= pt.hr <= hi and 0 < pt.w < hi - lo

    if acceptable(best, converged):
        return best, converged, None
    for pt, ok in minima[1:]:
        if acceptable(pt, ok) and pt.chi2 <= (1.0 + CLOSE_MINIMA) * best.chi2:
            return pt, ok, best
    return best, converged, None


def _close_minimum(h, others, best, chi2_bg: float, dof: int, scale: float) -> tuple[str, ...]:
    """A warning for the best other minimum when its chi-square is within CLOSE_MINIMA of the fit's.

    others: the other minima, lowest chi-square first. Only a minimum that is
    itself a resonance counts: inside the sweep, narrower than it, and
    significant (MIN_SIGNIFICANCE) against the background alone.
    """
    lo, hi = float(h[0]), float(h[-1])
    for pt, _ in others:
        excess = (pt.chi2 - best.chi2) / best.chi2
        if excess >= CLOSE_MINIMA:
            break
        if excess < 0:
            continue  # a lower minimum that is no resonance (outside the sweep): warned about separately
        hr, w = pt.hr * scale, pt.w * scale
        significance = (chi2_bg - pt.chi2) / max(best.chi2 / dof, 1e-300)
        if lo <= hr <= hi and 0 < w < hi - lo and significance >= MIN_SIGNIFICANCE:
            return (f"another minimum, H_r = {hr:.4g} mT with dH = {w:.3g} mT, has a chi-square only"
                    f" {100 * excess:.1f} % higher than the fit's (H_r = {best.hr * scale:.4g} mT): the spectrum"
                    " is not one clear Lorentzian (a second mode or a background bump?); look at it"
                    " (--plot) or try --modes auto",)
    return ()


def _spread(y: np.ndarray) -> float:
    """np.std(y), bit for bit, without its generic machinery (which costs more than the arithmetic on 401 points)."""
    d = y - y.sum() / y.size
    return math.sqrt((d * d).sum() / y.size)


#: the covariance comes from the inverse of the k x k normal matrix of the column-scaled
#: Jacobian when the largest diagonal element of that inverse is below this: the
#: condition number is then at most k^2 times it (3.6e6 for k = 6), so the inverse agrees
#: with the SVD's to about 1e-16 times that; else from the SVD, which also tells a
#: degenerate fit
_NORMAL_COND = 1e5


def _unit_inverse(jac: np.ndarray, gram: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """Return (Js^T Js)^-1 of the column-scaled Jacobian Js = jac/norms; SpectrumFitError if the fit is degenerate.

    gram = Js^T Js (k x k, unit diagonal). A well-conditioned one is inverted
    directly; otherwise the SVD of Js (n x k) decides, refusing a fit whose
    smallest singular value is under 1e-12 of the largest.
    """
    try:
        inv = np.linalg.inv(gram)
        diagonal = inv.diagonal()
        # for unit diagonal: cond <= k^2 * max diag of the inverse; a non-positive one is round-off garbage
        if 0.0 < float(diagonal.min()) and float(diagonal.max()) < _NORMAL_COND:
            return inv
    except np.linalg.LinAlgError:
        pass
    _, sv, vt = np.linalg.svd(jac / norms, full_matrices=False)
    if sv[-1] <= 1e-12 * sv[0]:
        raise SpectrumFitError("the fit is degenerate: its parameters cannot be told apart")
    return (vt.T / sv**2) @ vt


def _assemble(h, y, polarity, params, jac, factors, yscale, chi2_scaled, derivative,
              significance) -> SpectrumFit:
    """Build and sanity-check a SpectrumFit.

    params: fitted parameters in mT and V (PARAM_NAMES order, V_1 absent without a slope).
    jac: model Jacobian in the core's scaled units (n x k); factors: parameter =
    factor * scaled parameter; yscale: the voltage scale; chi2_scaled: the residual
    sum of squares in the scaled voltage. The covariance is redchi * (J^T J)^-1,
    as lmfit reports it, from the Jacobian with its columns scaled to unit norm.
    """
    names = PARAM_NAMES[: params.size]
    values = dict(zip(PARAM_NAMES, params.tolist() + [0.0] * (6 - params.size)))
    dof = h.size - params.size
    redchi = chi2_scaled * yscale**2 / dof
    gram = jac.T @ jac
    norms = np.sqrt(gram.diagonal())
    if not norms.all():
        norms[norms == 0] = 1.0
    inv = _unit_inverse(jac, gram / np.outer(norms, norms), norms)
    s = np.sqrt(inv.diagonal())
    # cov = inv * d d^T * redchi / yscale^2 with d = factors / norms > 0
    err = s * (factors / norms) * (math.sqrt(redchi) / yscale)
    stderr = dict(zip(names, err.tolist()))
    stderr.setdefault("V_1", 0.0)
    fit = SpectrumFit(
        polarity=int(polarity),
        values=values,
        stderr=stderr,
        names=names,
        correlation=inv / np.outer(s, s),
        redchi=redchi,
        npoints=int(h.size),
        derivative=bool(derivative),
        significance=float(significance),
        field_range_mT=(float(h[0]), float(h[-1])),
        noise_V=point_noise(h, y),
    )
    _check_sane(fit, h)
    return _with_edge_warning(fit)


def _with_edge_warning(fit: SpectrumFit) -> SpectrumFit:
    """The fit, with a warning when its resonance is within EDGE_LINEWIDTHS linewidths of a sweep edge."""
    lo, hi = fit.field_range_mT
    hr, dh = fit.values["H_r"], fit.values["dH"]
    edge = lo if hr - lo < hi - hr else hi
    if abs(hr - edge) >= EDGE_LINEWIDTHS * dh:
        return fit
    text = (f"H_r = {hr:.4g} mT is {abs(hr - edge) / dh:.1f} linewidths (dH = {dh:.3g} mT) from the sweep"
            f" edge at {edge:g} mT (under {EDGE_LINEWIDTHS:g}): the line's tail outside the sweep and the"
            " background are poorly told apart; widen the sweep")
    return replace(fit, warnings=fit.warnings + (text,))


def _no_resonance(h: np.ndarray, significance: float) -> str:
    return (
        f"no resonance in the window {h[0]:g} to {h[-1]:g} mT: the best line lowers chi-square"
        f" by only {significance:.1f} noise units (at least {MIN_SIGNIFICANCE:g} needed)"
    )


def _check_sane(fit: SpectrumFit, h: np.ndarray) -> None:
    """Refuse fits that are numbers without meaning."""
    lo, hi = float(h[0]), float(h[-1])
    hr, dh = fit.values["H_r"], fit.values["dH"]
    step = (hi - lo) / (h.size - 1)
    if fit.significance < MIN_SIGNIFICANCE:
        raise SpectrumFitError(_no_resonance(h, fit.significance))
    if not lo <= hr <= hi:
        raise SpectrumFitError(
            f"no resonance in the window {lo:g} to {hi:g} mT: the best fit puts H_r at {hr:g} mT"
        )
    if not 0 < dh < hi - lo:
        raise SpectrumFitError(
            f"linewidth dH = {dh:g} mT is not inside (0, {hi - lo:g}) mT, the window width"
        )
    if dh < 0.5 * step:
        raise SpectrumFitError(
            f"linewidth dH = {dh:g} mT is narrower than half the mean field step ({step:g} mT):"
            " the line is not resolved"
        )
    if not all(math.isfinite(v) for v in fit.stderr.values()):
        raise SpectrumFitError("the fit has undefined standard errors (degenerate parameters)")


# ---------------------------------------------------------------- public API


def fit_spectrum(
    field_mT, voltage_V, *, derivative: bool = False, slope: bool = True, engine: str = "fast"
) -> SpectrumFit:
    """Fit one field branch and return its :class:`SpectrumFit`.

    field_mT: mu0*H (mT), strictly monotonic (either direction), all of one sign.
    voltage_V: dc-equivalent mixing voltage (V), or dV/dH (V/mT) with ``derivative``.
    slope: fit the linear background V_1 (else V_1 = 0).
    engine: "fast" (variable projection, the default) or "lmfit" (lmfit Model
        from the same automatic start). Both give the same optimum.
    Raises SpectrumFitError saying why a spectrum cannot be fitted.
    """
    h, y = _prepare_branch(field_mT, voltage_V)
    polarity = -1 if h[0] < 0 else 1
    if engine == "fast":
        return _fit_prepared(h, y, polarity, derivative, slope)
    if engine == "lmfit":
        start = _fit_prepared(h, y, polarity, derivative, slope)
        result = _run_lmfit(h, y, start, derivative, slope)
        fit = _from_lmfit(result, h, polarity, derivative, slope, start.significance)
        # the lmfit fit starts at the fast core's minimum: keep its word on other minima
        close = tuple(w for w in start.warnings if w.startswith("another minimum"))
        return replace(fit, warnings=fit.warnings + close) if close else fit
    raise SpectrumFitError(f"unknown fit engine {engine!r}: use 'fast' or 'lmfit'")


def split_branches(field_mT, voltage_V) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Split a file's columns into [(polarity, field, voltage)] by the sign of the field.

    Zero-field points belong to neither branch and are dropped. A branch with
    fewer than MIN_POINTS points beside a full branch of the other sign is a
    stray (e.g. a probe offset at the start of a sweep): it is dropped with a
    SpectrumFitWarning.
    """
    h = np.asarray(field_mT, dtype=float).ravel()
    v = np.asarray(voltage_V, dtype=float).ravel()
    if h.size != v.size:
        raise SpectrumFitError(f"field has {h.size} points but voltage has {v.size}")
    bad = np.flatnonzero(~np.isfinite(h))
    if bad.size:
        raise SpectrumFitError(f"field holds {bad.size} NaN or infinite value(s), first at index {bad[0]}")
    parts = []
    for pol, mask in ((1, h > 0), (-1, h < 0)):
        if np.any(mask):
            parts.append((pol, h[mask], v[mask]))
    if not parts:
        raise SpectrumFitError("field is zero everywhere")
    if len(parts) == 2:
        sizes = [p[1].size for p in parts]
        for i, part in enumerate(parts):
            other = sizes[1 - i]
            if part[1].size < MIN_POINTS <= other:
                warnings.warn(
                    SpectrumFitWarning(
                        f"dropped {part[1].size} stray point(s) of the "
                        f"{'positive' if part[0] > 0 else 'negative'} field branch"
                    ),
                    stacklevel=2,
                )
        parts = [p for p in parts if not (p[1].size < MIN_POINTS <= max(sizes))]
    return parts


def fit_each_branch(field_mT, voltage_V, **kw) -> BranchFits:
    """Fit every field branch of a file independently; a branch that cannot be fitted is kept with its reason.

    Keyword arguments go to :func:`fit_spectrum`. Raises SpectrumFitError only
    for what concerns the whole file (mismatched lengths, NaN fields, no
    nonzero field); callers decide what no fitted branch at all means.
    """
    fits, failures = [], []
    for pol, h, v in split_branches(field_mT, voltage_V):
        try:
            fits.append(fit_spectrum(h, v, **kw))
        except SpectrumFitError as exc:
            failures.append(BranchFailure(int(pol), str(exc), int(h.size),
                                          (float(np.min(h)), float(np.max(h)))))
    return BranchFits(fits, failures)


def fit_branches(field_mT, voltage_V, **kw) -> list[SpectrumFit]:
    """Fit every field branch of a file on its own; return the fits, positive branch first.

    Keyword arguments go to :func:`fit_spectrum`. Strict: a failing branch
    raises SpectrumFitError naming the branch (:func:`fit_each_branch` keeps
    the others).
    """
    result = fit_each_branch(field_mT, voltage_V, **kw)
    if result.failures:
        raise SpectrumFitError(result.failures[0].message)
    return result.fits


# ---------------------------------------------------------------- lmfit


def spectrum_model(derivative: bool = False, prefix: str = ""):
    """Return the lmfit Model of :func:`stfmr.analysis.lineshape.spectrum_voltage`.

    Independent variable ``field`` (mT); parameters H_r, dH (mT), V_S, V_A, V_0 (V), V_1 (V/mT),
    each name preceded by ``prefix`` (for sums of modes).
    """
    import lmfit

    def model(field, H_r, dH, V_S, V_A, V_0, V_1):
        return lineshape.spectrum_voltage(field, H_r, dH, V_S, V_A, V_0, V_1, derivative)

    return lmfit.Model(model, independent_vars=["field"], prefix=prefix,
                       name="stfmr spectrum" + (" (derivative)" if derivative else "") + (f" {prefix}" if prefix else ""))


def _run_lmfit(h, y, start: SpectrumFit, derivative: bool, slope: bool, **fit_kws):
    """Run the lmfit Model on a prepared branch from the values of ``start``."""
    model = spectrum_model(derivative)
    params = model.make_params(**{k: start.values[k] for k in PARAM_NAMES})
    if not slope:
        params["V_1"].set(value=0.0, vary=False)
    return model.fit(y, params, field=h, **fit_kws)


def lmfit_result(field_mT, voltage_V, *, derivative: bool = False, slope: bool = True, **fit_kws):
    """Return the lmfit ModelResult of one branch (for ``fit_report()`` and plots).

    Starts from the fast core's optimum, so it needs no human start either.
    Further keyword arguments go to ``lmfit.Model.fit`` (e.g. ``method="least_squares"``
    or ``fit_kws={"xtol": 1e-12}``).
    """
    h, y = _prepare_branch(field_mT, voltage_V)
    polarity = -1 if h[0] < 0 else 1
    start = _fit_prepared(h, y, polarity, derivative, slope)
    return _run_lmfit(h, y, start, derivative, slope, **fit_kws)


def _from_lmfit(result, h, polarity, derivative, slope, significance) -> SpectrumFit:
    """Turn an lmfit ModelResult into a sanity-checked SpectrumFit."""
    if not result.success or result.covar is None:
        raise SpectrumFitError(f"the lmfit fit did not converge: {result.message}")
    p = result.params
    values = {k: float(p[k].value) for k in PARAM_NAMES}
    if values["dH"] < 0:
        values["dH"], values["V_A"] = -values["dH"], -values["V_A"]
    names = tuple(result.var_names)
    err = np.sqrt(np.diag(result.covar))
    stderr = {k: float(p[k].stderr or 0.0) for k in PARAM_NAMES}
    fit = SpectrumFit(
        polarity=int(polarity),
        values=values,
        stderr=stderr,
        names=names,
        correlation=result.covar / np.outer(err, err),
        redchi=float(result.redchi),
        npoints=int(h.size),
        derivative=bool(derivative),
        significance=float(significance),
        field_range_mT=(float(h[0]), float(h[-1])),
        noise_V=point_noise(h, result.data),
    )
    _check_sane(fit, h)
    return _with_edge_warning(fit)
