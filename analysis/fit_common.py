"""What the supporting fits (angular, Kittel, damping, AMR, rf current) share.

Input checks that refuse bad data with a message naming the problem, an
lmfit runner, and :class:`ParamFit`, the result record with values, standard
errors and the covariance matrix, which :meth:`ParamFit.ufloats` turns into
correlated ``uncertainties`` variables so that efficiencies honour correlations.
"""

from __future__ import annotations

import functools
import warnings

from dataclasses import dataclass, field as dc_field, fields
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

if TYPE_CHECKING:  # imported where used: lmfit and uncertainties (scipy.stats) cost most of a one-file fit's start-up
    import lmfit


class FitInputError(ValueError):
    """Data that cannot be fitted (too few points, NaN, wrong sign, ...); the message says why."""


@dataclass(frozen=True)
class ParamFit:
    """Result of a least-squares fit.

    names: the fitted parameters, in the order of the covariance matrix.
    values, stderr: best values and standard errors keyed by name (fixed
        parameters appear in values with stderr 0 and as plain floats in ufloats()).
    covariance: covariance matrix of the fitted parameters (names order).
    redchi: reduced chi-square (in data units squared when unweighted).
    npoints: number of data points.
    """

    names: tuple[str, ...]
    values: dict[str, float]
    stderr: dict[str, float]
    covariance: np.ndarray = dc_field(repr=False)
    redchi: float
    npoints: int

    @property
    def correlation(self) -> np.ndarray:
        """Correlation matrix of the fitted parameters (names order)."""
        s = np.sqrt(np.diag(self.covariance))
        return self.covariance / np.outer(s, s)

    def ufloats(self) -> dict[str, Any]:
        """Return every value as an ``uncertainties`` variable; fitted ones carry their covariance.

        The variables are created once per result, so quantities computed from
        several calls stay correlated.
        """
        return dict(self._uvars)

    @cached_property
    def _uvars(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.names:
            with warnings.catch_warnings():
                # an exact fit (noiseless data) has zero variances: legitimate here
                warnings.simplefilter("ignore", UserWarning)
                import uncertainties

                corr = uncertainties.correlated_values([self.values[n] for n in self.names], self.covariance)
            out.update(zip(self.names, corr))
        for name, value in self.values.items():
            out.setdefault(name, float(value))
        return out

    def base_fields(self) -> dict[str, Any]:
        """The ParamFit fields as keywords, to build a subclass result from this one."""
        return {f.name: getattr(self, f.name) for f in fields(ParamFit)}

    def to_dict(self) -> dict[str, Any]:
        """Return {name: {"value", "stderr"}, ..., "redchi", "npoints"}."""
        out: dict[str, Any] = {n: {"value": float(v), "stderr": float(self.stderr[n])} for n, v in self.values.items()}
        out["redchi"] = float(self.redchi)
        out["npoints"] = int(self.npoints)
        return out


def refusals_as(error_cls: type[FitInputError]):
    """Decorator: re-raise any FitInputError of the wrapped fit as ``error_cls`` (same message)."""

    def wrap(func):
        @functools.wraps(func)
        def inner(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except FitInputError as exc:
                if isinstance(exc, error_cls):
                    raise
                raise error_cls(str(exc)) from None

        return inner

    return wrap


def as_array(values, what: str) -> np.ndarray:
    """Return a 1-D float array; refuse NaN, infinities and non-numbers naming ``what``."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise FitInputError(f"{what}: not numbers ({exc})") from None
    if arr.ndim != 1:
        raise FitInputError(f"{what}: expected a 1-D sequence, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise FitInputError(f"{what}: {int(bad.sum())} value(s) are NaN or infinite (first at index {int(np.argmax(bad))})")
    return arr


def check_xy(x, y, x_name: str, y_name: str, min_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate a pair of equally long finite arrays with at least ``min_points`` entries."""
    xa = as_array(x, x_name)
    ya = as_array(y, y_name)
    if xa.size != ya.size:
        raise FitInputError(f"{x_name} has {xa.size} values but {y_name} has {ya.size}")
    if xa.size < min_points:
        raise FitInputError(f"too few points: {xa.size} given, this fit needs at least {min_points}")
    return xa, ya


def check_sigma(sigma, n: int, what: str) -> np.ndarray | None:
    """Validate optional per-point standard errors (positive, finite, n of them)."""
    if sigma is None:
        return None
    s = as_array(np.atleast_1d(sigma), what)
    if s.size not in (1, n):
        raise FitInputError(f"{what}: give one value or {n}, got {s.size}")
    s = np.broadcast_to(s, (n,)).astype(float)
    if np.any(s <= 0):
        raise FitInputError(f"{what}: standard errors must be positive")
    return s


def check_positive(arr: np.ndarray, what: str) -> None:
    """Refuse zero or negative entries, naming ``what``."""
    if np.any(arr <= 0):
        raise FitInputError(f"{what}: all values must be positive (first bad at index {int(np.argmax(arr <= 0))})")


def run_lmfit(
    residual: Callable[[lmfit.Parameters], np.ndarray],
    params: lmfit.Parameters,
    npoints: int,
    weighted: bool,
    what: str,
) -> ParamFit:
    """Minimise ``residual`` with lmfit (Levenberg-Marquardt) and return a :class:`ParamFit`.

    weighted: the residuals are already divided by known standard errors, so
    the covariance is not rescaled by the reduced chi-square.
    """
    import lmfit

    result = lmfit.minimize(residual, params, method="leastsq", scale_covar=not weighted)
    names = tuple(result.var_names)
    if not result.success:
        raise FitInputError(f"{what} did not converge: {result.message}")
    values = {n: float(p.value) for n, p in result.params.items()}
    redchi = float(result.redchi) if result.nfree > 0 else float("nan")
    covar = result.covar
    if covar is None or not np.all(np.isfinite(covar)):
        # MINPACK gives up on badly scaled problems (V next to deg); use a
        # central-difference Jacobian, refusing only a truly singular one.
        covar = _numerical_covariance(residual, result.params, names, redchi if not weighted else 1.0)
        if covar is None:
            raise FitInputError(
                f"{what}: the parameters are not determined by these data (singular covariance); "
                "measure over a wider range or fix a parameter"
            )
    covar = np.array(covar, dtype=float)
    stderr = {n: 0.0 for n in values}
    for i, n in enumerate(names):
        stderr[n] = float(np.sqrt(covar[i, i]))
    return ParamFit(names, values, stderr, covar, redchi, npoints)


def _numerical_covariance(residual, params: lmfit.Parameters, names: tuple[str, ...], scale: float) -> np.ndarray | None:
    """Covariance scale*(J^T J)^-1 from a central-difference Jacobian, or None if J is rank deficient."""
    p = params.copy()
    x0 = np.array([p[n].value for n in names], dtype=float)
    typical = float(np.max(np.abs(x0))) if np.any(x0) else 1.0
    cols = []
    for j, n in enumerate(names):
        h = 1e-6 * max(abs(x0[j]), 1e-4 * typical)
        p[n].value = x0[j] + h
        r_plus = np.asarray(residual(p), dtype=float)
        p[n].value = x0[j] - h
        r_minus = np.asarray(residual(p), dtype=float)
        p[n].value = x0[j]
        cols.append((r_plus - r_minus) / (2.0 * h))
    jac = np.column_stack(cols)
    norms = np.linalg.norm(jac, axis=0)
    if np.any(norms == 0) or not np.all(np.isfinite(jac)):
        return None
    js = jac / norms
    sv = np.linalg.svd(js, compute_uv=False)
    if sv[-1] < 1e-10 * sv[0]:
        return None
    cov_s = np.linalg.inv(js.T @ js)
    return scale * cov_s / np.outer(norms, norms)


def linear_start(design: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Exact linear least-squares coefficients (columns of ``design``), used as starting values."""
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return coef


def make_params(spec: Sequence[tuple[str, float, bool]]) -> lmfit.Parameters:
    """Build lmfit Parameters from (name, start value, vary) triples."""
    import lmfit

    params = lmfit.Parameters()
    for name, value, vary in spec:
        params.add(name, value=float(value), vary=vary)
    return params
