"""Fit ST-FMR spectra: V = V_S*S + V_A*A + V_0 + V_1*(H - H_r) (PHYSICS.md section 2).

Two engines evaluate the one model of :mod:`stfmr.analysis.lineshape`:

- the fast core (default, the live path): variable projection. For any
  (H_r, dH) the amplitudes V_S, V_A, V_0, V_1 follow exactly from linear
  least squares, so the fit is a 2-parameter problem. The start needs no
  human: a matched-filter scan (FFT cross-correlations of the background-free
  data with S and A at every position and at seven widths) proposes
  candidates, the exact chi-square drop ranks them, and a quadratic on a 3x3
  stencil polishes the winner. Newton steps on (H_r, dH) with the exact
  Hessian of the full problem (amplitudes re-solved after every step) then
  converge quadratically. Standard errors come from the full Jacobian at the
  optimum scaled by the reduced chi-square, as lmfit reports them.
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
from functools import lru_cache
from typing import Any

import numpy as np

from stfmr.analysis import lineshape

#: parameter order of values, stderr and the correlation matrix
PARAM_NAMES: tuple[str, ...] = ("H_r", "dH", "V_S", "V_A", "V_0", "V_1")

#: fewest points in a branch (six parameters plus enough to judge the fit)
MIN_POINTS = 15

#: the resonance must lower chi-square by this many (reduced) units against the
#: background alone. Pure Gaussian noise reaches 22 at the 99th and 30 at the
#: 99.9th percentile (2000 noise spectra of 51 to 2001 points); a signal-to-noise
#: of 5 (peak over sigma) with a line two field steps wide reaches about 40
MIN_SIGNIFICANCE = 35.0

_MAX_ITER = 60
#: widths scanned for the automatic start
_N_WIDTHS = 7
#: the refinement stops when a step moves H_r and dH by less than this times dH
_XTOL = 1e-8
_XTOL_NEWTON = 3e-4


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


# ---------------------------------------------------------------- fast core
#
# The core works on a scaled field u = H/max|H| (same sign as H, so the branch
# polarity of the lineshapes is kept) and a voltage scaled by its spread, and
# converts back to mT and V at the end.


def _linear_solve(phi: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares coefficients for the columns of ``phi`` (n x k).

    Normal equations scaled to unit diagonal: a handful of columns of moderate
    condition, so this is accurate and several times faster than an SVD.
    """
    g = phi.T @ phi
    d = np.sqrt(np.diagonal(g)).copy()
    d[d == 0] = 1.0
    try:
        return np.linalg.solve(g / np.outer(d, d), (y @ phi) / d) / d
    except np.linalg.LinAlgError:
        coef, *_ = np.linalg.lstsq(phi, y, rcond=None)
        return coef


class _Point:
    """The model at one (hr, w): basis, shape gradients, exact amplitudes, residual, chi-square."""

    __slots__ = ("hr", "w", "phi", "grads", "coef", "r", "chi2")

    def __init__(self, u, y, hr, w, derivative, slope):
        s, a, s_hr, a_hr, s_w, a_w = lineshape.shape_gradients(u, hr, w, derivative)
        phi = np.empty((u.size, 4 if slope else 3))
        phi[:, 0], phi[:, 1], phi[:, 2] = s, a, 1.0
        if slope:
            phi[:, 3] = lineshape.branch_polarity(hr) * (u - hr)
        self.hr, self.w = float(hr), float(w)
        self.phi = phi
        self.grads = np.array((s_hr, a_hr, s_w, a_w))
        self.coef = _linear_solve(self.phi, y)
        self.r = y - self.phi @ self.coef
        self.chi2 = float(self.r @ self.r)

    def jacobian(self) -> np.ndarray:
        """Full model Jacobian, columns in PARAM_NAMES order (V_1 only with a slope)."""
        s_hr, a_hr, s_w, a_w = self.grads
        c = self.coef
        j_hr = c[0] * s_hr + c[1] * a_hr
        if self.phi.shape[1] == 4:
            j_hr = j_hr - c[3] * lineshape.branch_polarity(self.hr)
        return np.column_stack((j_hr, c[0] * s_w + c[1] * a_w, self.phi))


def _exact_gain(u, yp, q, hr, w, derivative):
    """Chi-square drop of adding S and A at each candidate (hr, w) to the background fit.

    ``yp`` is the data with the background (columns of the orthonormal ``q``)
    projected out, so only the 2x2 problem of S and A remains per candidate.
    """
    s, a = lineshape.shape_terms(u, hr[:, None], w[:, None], derivative)
    m = np.column_stack((q, yp))
    sd, ad = s @ m, a @ m
    nq = q.shape[1]
    gss = np.einsum("ij,ij->i", s, s) - np.einsum("ij,ij->i", sd[:, :nq], sd[:, :nq])
    gaa = np.einsum("ij,ij->i", a, a) - np.einsum("ij,ij->i", ad[:, :nq], ad[:, :nq])
    gsa = np.einsum("ij,ij->i", s, a) - np.einsum("ij,ij->i", sd[:, :nq], ad[:, :nq])
    bs, ba = sd[:, nq], ad[:, nq]
    det = gss * gaa - gsa * gsa
    ok = det > 1e-9 * gss * gaa
    safe = np.where(ok, det, 1.0)
    return np.where(ok, (gaa * bs * bs - 2.0 * gsa * bs * ba + gss * ba * ba) / safe, 0.0)


@lru_cache(maxsize=16)
def _scan_kernels(ng: int, derivative: bool, polarity: int):
    """Return (widths, conj FFT of the S and A kernels, in-window kernel energy) for the scan.

    Lengths in units of the uniform grid step: the shapes depend only on
    (field - H_r)/dH, so one set serves every window of ``ng`` points.
    """
    widths = np.geomspace(1.0, (ng - 1) / 3.0, _N_WIDTHS)
    nfft = 1 << int(np.ceil(np.log2(2 * ng - 1)))
    lag = np.arange(-(ng - 1), ng, dtype=float)
    # shapes at field hr0 + lag of a resonance at hr0 on the branch's side of zero
    hr0 = float(polarity) * 10.0 * ng
    s_k, a_k = lineshape.shape_terms(hr0 + lag, hr0, widths[:, None], derivative)
    kern = np.zeros((3 * _N_WIDTHS, nfft))
    kern[:, np.arange(-(ng - 1), ng) % nfft] = np.concatenate((s_k, a_k, s_k * s_k + a_k * a_k))
    kf = np.conj(np.fft.rfft(kern, nfft))
    ones_f = np.fft.rfft(np.ones(ng), nfft)
    energy = np.fft.irfft(kf[2 * _N_WIDTHS :] * ones_f, nfft)[:, :ng]
    return widths, kf[: 2 * _N_WIDTHS].copy(), np.maximum(energy, 1e-300)


def _grid_start(u: np.ndarray, y: np.ndarray, derivative: bool, slope: bool, polarity: int):
    """Find the global basin: return (hr, w, chi2 of the background alone).

    Step 1, a matched-filter scan: on a uniform copy of the background-free
    data, the projections on S and A of every position and of _N_WIDTHS widths
    (from the field step to a third of the window) are cross-correlations,
    computed all at once with FFTs; their normalised power ranks the
    candidates. Step 2: the best position of every width is ranked again by
    the exact chi-square drop on the data (:func:`_exact_gain`), which
    accounts for the window edges and the background, and the winner is
    polished (:func:`_polish`). The refinement then converges from there.
    """
    n = u.size
    lo, hi = u[0], u[-1]
    span = hi - lo
    cols = [np.full(n, 1.0 / np.sqrt(n))]
    if slope:
        uc = u - u.mean()
        cols.append(uc / np.linalg.norm(uc))
    q = np.column_stack(cols)
    yp = y - q @ (q.T @ y)
    chi2_background = float(yp @ yp)

    # a uniform grid of a fixed size per size class (about half to one point per
    # data point: the scan only has to find the basin), so the kernels' FFTs are cached
    ng = max(128, 1 << int(np.floor(np.log2(n))))
    ug = np.linspace(lo, hi, ng)
    yg = np.interp(ug, u, yp)
    widths_d, kernel_f, energy = _scan_kernels(ng, derivative, polarity)
    widths = widths_d * (span / (ng - 1))
    yf = np.fft.rfft(yg, kernel_f.shape[1] * 2 - 2)
    corr = np.fft.irfft(kernel_f * yf)[:, :ng]
    cs, ca = corr[:_N_WIDTHS], corr[_N_WIDTHS:]
    power = (cs * cs + ca * ca) / energy
    # the best position of every width
    best = np.argmax(power, axis=1)
    hr = ug[best]
    w = widths
    gain = _exact_gain(u, yp, q, hr, w, derivative)
    i = int(np.argmax(gain))
    hr_best, w_best = _polish(u, yp, q, float(hr[i]), float(w[i]), derivative)
    return hr_best, w_best, chi2_background


#: stencil of the start's polish: offsets of H_r (in widths) and of ln(dH)
_STENCIL = np.array([(a, b) for a in (-1.0, 0.0, 1.0) for b in (-1.0, 0.0, 1.0)])
_STENCIL_FIT = np.linalg.pinv(
    np.column_stack(
        (np.ones(9), _STENCIL[:, 0], _STENCIL[:, 1], _STENCIL[:, 0] ** 2,
         _STENCIL[:, 0] * _STENCIL[:, 1], _STENCIL[:, 1] ** 2)
    )
)


def _polish(u, yp, q, hr, w, derivative) -> tuple[float, float]:
    """Move the start to the top of a quadratic through the exact gain on a 3x3 stencil.

    The scan's grid leaves the start up to about half a width off; the polish
    brings it to a few per cent, which saves the Newton refinement one or two
    iterations.
    """
    dh, dl = 0.3 * w, 0.3
    hrs = hr + dh * _STENCIL[:, 0]
    hrs = np.where(hrs * hr > 0, hrs, hr)  # never across zero field, onto the other branch
    ws = w * np.exp(dl * _STENCIL[:, 1])
    gain = _exact_gain(u, yp, q, hrs, ws, derivative)
    c0, ca, cb, caa, cab, cbb = _STENCIL_FIT @ gain
    det = 4.0 * caa * cbb - cab * cab
    if caa < 0 and det > 0:
        a = (-2.0 * cbb * ca + cab * cb) / det
        b = (cab * ca - 2.0 * caa * cb) / det
        if abs(a) <= 1.5 and abs(b) <= 1.5 and (hr + dh * a) * hr > 0:
            return hr + dh * a, w * float(np.exp(dl * b))
    i = int(np.argmax(gain))
    return float(hrs[i]), float(ws[i])


def _newton_step(pt: "_Point", u, derivative) -> np.ndarray | None:
    """Return the full Newton step (H_r, dH) of chi-square, or None if its Hessian is not positive.

    Gauss-Newton alone converges only linearly when the noise is large (a
    factor of about ten per step at a signal-to-noise of 5). The exact Hessian
    adds the residual-weighted second derivatives: the cross terms with the
    amplitudes are the shape gradients themselves; the (H_r, dH) block comes
    from a forward difference of the shape gradients.
    """
    jac = pt.jacobian()
    hess = jac.T @ jac
    r, c = pt.r, pt.coef
    g0 = pt.grads @ r  # r.(dS/dH_r, dA/dH_r, dS/dw, dA/dw)
    hess[:2, 2:4] -= g0.reshape(2, 2)
    hess[2:4, :2] -= g0.reshape(2, 2).T
    eps = 1e-6 * pt.w
    for k, (dhr, dw) in enumerate(((eps, 0.0), (0.0, eps))):
        gk = np.array(lineshape.shape_gradients(u, pt.hr + dhr, pt.w + dw, derivative)[2:]) @ r
        dg = (gk - g0) / eps
        hess[0, k] -= c[0] * dg[0] + c[1] * dg[1]
        hess[1, k] -= c[0] * dg[2] + c[1] * dg[3]
    hess[:2, :2] = 0.5 * (hess[:2, :2] + hess[:2, :2].T)
    d = np.sqrt(np.abs(np.diagonal(hess)))
    d[d == 0] = 1.0
    grad = (r @ jac) / d
    try:
        step = np.linalg.solve(hess / np.outer(d, d), grad)
    except np.linalg.LinAlgError:
        return None
    # a step against the gradient means the Hessian is not positive here
    return (step / d)[:2] if step @ grad > 0 else None


def _refine(u, y, hr, w, derivative, slope):
    """Newton on (H_r, dH) with the amplitudes re-solved exactly after each step.

    This is variable projection: only (hr, w) are iterated. The step is the
    Newton step of the full problem where its Hessian is positive, else the
    Gauss-Newton step; a step is halved while chi-square rises.
    Returns (point, converged).
    """
    pt = _Point(u, y, hr, w, derivative, slope)
    for _ in range(_MAX_ITER):
        step = _newton_step(pt, u, derivative)
        # Newton converges quadratically (error after a step s is about 2*s^2):
        # after a full step of 3e-4*dH the error is below 1e-6*dH.
        # Gauss-Newton converges linearly: go further.
        tol = _XTOL_NEWTON if step is not None else _XTOL
        if step is None:
            step = _linear_solve(pt.jacobian(), pt.r)[:2]
        d_hr, d_w = step
        lam = 1.0
        for _ in range(40):
            hr_new = pt.hr + lam * d_hr
            if hr_new * pt.hr > 0:  # a step across zero field would leave the branch
                trial = _Point(u, y, hr_new, abs(pt.w + lam * d_w), derivative, slope)
                if trial.chi2 <= pt.chi2:
                    break
            lam *= 0.5
        else:
            # no descent along the step: at the minimum to round-off
            return pt, bool(abs(d_hr) < 1e-6 * pt.w and abs(d_w) < 1e-6 * pt.w)
        tol = (tol if lam == 1.0 else _XTOL) * pt.w
        done = abs(lam * d_hr) <= tol and abs(lam * d_w) <= tol
        pt = trial
        if done:
            return pt, True
    return pt, False


def _fit_prepared(h, y, polarity, derivative, slope) -> SpectrumFit:
    """Fast-core fit of one validated branch (h increasing, one sign)."""
    scale = float(np.max(np.abs(h)))
    u = h / scale
    yscale = float(np.std(y))
    if yscale == 0.0:
        raise SpectrumFitError("no resonance in the window: the voltage is constant")
    yn = y / yscale
    hr_u, w_u, chi2_bg = _grid_start(u, yn, derivative, slope, polarity)
    pt, converged = _refine(u, yn, hr_u, w_u, derivative, slope)
    dof = h.size - (len(PARAM_NAMES) - (0 if slope else 1))
    significance = (chi2_bg - pt.chi2) / max(pt.chi2 / dof, 1e-300)
    if significance < MIN_SIGNIFICANCE:
        raise SpectrumFitError(_no_resonance(h, significance))
    if not converged:
        raise SpectrumFitError(f"the fit did not converge in {_MAX_ITER} iterations")
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
