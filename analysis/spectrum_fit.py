"""Fit ST-FMR spectra: V = V_S*S + V_A*A + V_0 + V_1*(H - H_r) (docs/physics.md §2).

Two engines evaluate the one model of :mod:`stfmr.analysis.lineshape`:

- the fast core (default, the live path), :mod:`stfmr.analysis.spectrum_fit_core`:
  variable projection (the amplitudes V_S, V_A, V_0, V_1 follow exactly from
  linear least squares for any (H_r, dH), so the fit is a 2-parameter
  problem), started by a matched-filter scan that needs no human, refined by
  Newton steps with the exact Hessian. This module scales the branch for it
  and takes standard errors from the full Jacobian at the optimum scaled by
  the reduced chi-square, as lmfit reports them.
- lmfit (``engine="lmfit"``, and :func:`lmfit_result` for the user-facing
  report): an ``lmfit.Model`` of :func:`~stfmr.analysis.lineshape.spectrum_voltage`
  started from the fast core's automatic starting values.

Fields are mu0*H in mT, voltages in V. A branch may be swept up or down but
must be strictly monotonic and of one sign. Every refusal raises
:class:`SpectrumFitError` saying why; no garbage fit is returned silently.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import numpy as np

from stfmr.analysis import lineshape
from stfmr.analysis.spectrum_fit_core import MAX_ITER, grid_start, refine

#: parameter order of values, stderr and the correlation matrix
PARAM_NAMES: tuple[str, ...] = ("H_r", "dH", "V_S", "V_A", "V_0", "V_1")

#: fewest points in a branch (six parameters plus enough to judge the fit)
MIN_POINTS = 15

#: the resonance must lower chi-square by this many (reduced) units against the
#: background alone. Pure Gaussian noise reaches 22 at the 99th and 30 at the
#: 99.9th percentile (2000 noise spectra of 51 to 2001 points); a signal-to-noise
#: of 5 (peak over sigma) with a line two field steps wide reaches about 40
MIN_SIGNIFICANCE = 35.0


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

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready record {"polarity", name: {"value", "stderr"}..., "redchi"}."""
        out: dict[str, Any] = {"polarity": int(self.polarity)}
        for name in PARAM_NAMES:
            out[name] = {"value": float(self.values[name]), "stderr": float(self.stderr[name])}
        out["redchi"] = float(self.redchi)
        if self.modes is not None:
            out["modes"] = self.modes
        return out

    def evaluate(self, field_mT) -> np.ndarray:
        """Return the fitted model (V) at the given fields (mT)."""
        v = self.values
        return lineshape.spectrum_voltage(
            field_mT, v["H_r"], v["dH"], v["V_S"], v["V_A"], v["V_0"], v["V_1"], self.derivative
        )


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
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise SpectrumFitError(
                f"{label} holds {bad.size} NaN or infinite value(s), first at index {bad[0]}"
            )
    if np.any(h > 0) and np.any(h < 0):
        raise SpectrumFitError(
            "field holds both signs: fit each branch on its own (fit_branches does this)"
        )
    if np.all(h == 0):
        raise SpectrumFitError("field is zero everywhere")
    step = np.diff(h)
    if np.any(step == 0):
        i = int(np.flatnonzero(step == 0)[0])
        raise SpectrumFitError(f"duplicated field value {h[i]:g} mT at indices {i} and {i + 1}")
    if not (np.all(step > 0) or np.all(step < 0)):
        i = int(np.flatnonzero(np.sign(step) != np.sign(step[0]))[0])
        raise SpectrumFitError(
            f"field is not monotonic: the sweep reverses at index {i + 1} ({h[i + 1]:g} mT);"
            " sort the data or split the sweeps"
        )
    if h[-1] < h[0]:
        h, v = h[::-1], v[::-1]
    return h, v


# ---------------------------------------------------------------- fast core (spectrum_fit_core) in mT and V


def _fit_prepared(h, y, polarity, derivative, slope) -> SpectrumFit:
    """Fast-core fit of one validated branch (h increasing, one sign)."""
    scale = float(np.max(np.abs(h)))
    u = h / scale
    yscale = float(np.std(y))
    if yscale == 0.0:
        raise SpectrumFitError("no resonance in the window: the voltage is constant")
    yn = y / yscale
    hr_u, w_u, chi2_bg = grid_start(u, yn, derivative, slope, polarity)
    pt, converged = refine(u, yn, hr_u, w_u, derivative, slope)
    dof = h.size - (len(PARAM_NAMES) - (0 if slope else 1))
    significance = (chi2_bg - pt.chi2) / max(pt.chi2 / dof, 1e-300)
    if significance < MIN_SIGNIFICANCE:
        raise SpectrumFitError(_no_resonance(h, significance))
    if not converged:
        raise SpectrumFitError(f"the fit did not converge in {MAX_ITER} iterations")
    # back to mT and V: parameter = factor * scaled parameter
    amp = yscale * (scale if derivative else 1.0)
    factors = np.array([scale, scale, amp, amp, yscale, yscale / scale][: pt.phi.shape[1] + 2])
    params = factors * np.concatenate(([pt.hr, pt.w], pt.coef))
    return _assemble(h, y, polarity, params, pt.jacobian(), factors, yscale, derivative, significance)


def _assemble(h, y, polarity, params, jac_scaled, factors, yscale, derivative, significance) -> SpectrumFit:
    """Build and sanity-check a SpectrumFit.

    params: fitted parameters in mT and V (PARAM_NAMES order, V_1 absent without a slope).
    jac_scaled: model Jacobian in the core's scaled units; factors: parameter = factor *
    scaled parameter; yscale: the voltage scale. The covariance is
    redchi * (J^T J)^-1, as lmfit reports it.
    """
    names = PARAM_NAMES[: params.size]
    values = dict(zip(PARAM_NAMES, [float(p) for p in params] + [0.0] * (6 - params.size)))
    resid = y - lineshape.spectrum_voltage(h, derivative=derivative, **values)
    dof = h.size - params.size
    redchi = float(resid @ resid) / dof
    norms = np.sqrt(np.einsum("ij,ij->j", jac_scaled, jac_scaled))
    norms[norms == 0] = 1.0
    _, sv, vt = np.linalg.svd(jac_scaled / norms, full_matrices=False)
    if sv[-1] <= 1e-12 * sv[0]:
        raise SpectrumFitError("the fit is degenerate: its parameters cannot be told apart")
    d = factors / norms
    cov = (vt.T / sv**2) @ vt * np.outer(d, d) * (redchi / yscale**2)
    err = np.sqrt(np.diagonal(cov))
    stderr = dict(zip(names, map(float, err)))
    stderr.setdefault("V_1", 0.0)
    fit = SpectrumFit(
        polarity=int(polarity),
        values=values,
        stderr=stderr,
        names=names,
        correlation=cov / np.outer(err, err),
        redchi=redchi,
        npoints=int(h.size),
        derivative=bool(derivative),
        significance=float(significance),
        field_range_mT=(float(h[0]), float(h[-1])),
    )
    _check_sane(fit, h)
    return fit


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
    if not all(np.isfinite(v) for v in fit.stderr.values()):
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
        return _from_lmfit(result, h, polarity, derivative, slope, start.significance)
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


def fit_branches(field_mT, voltage_V, **kw) -> list[SpectrumFit]:
    """Fit every field branch of a file on its own; return the fits, positive branch first.

    Keyword arguments go to :func:`fit_spectrum`. A failing branch raises
    SpectrumFitError naming the branch.
    """
    fits = []
    for pol, h, v in split_branches(field_mT, voltage_V):
        try:
            fits.append(fit_spectrum(h, v, **kw))
        except SpectrumFitError as exc:
            name = "positive" if pol > 0 else "negative"
            raise SpectrumFitError(f"{name} field branch: {exc}") from exc
    return fits


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
    )
    _check_sane(fit, h)
    return fit
