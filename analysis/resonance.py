"""Kittel and damping: resonance field and linewidth against frequency (docs/physics.md §5).

In-plane Kittel: f = (gamma/2 pi)*sqrt(B_r*(B_r + mu0*M_eff)) and its inverse
(the one home of that formula: procedures centre their field windows with
:func:`resonance_field_mT`). Damping: mu0*dH = mu0*dH_0 + alpha*2 pi f/gamma.
Frequencies in GHz, fields (mu0*H) in mT at the API; mu0*M_eff in T.

Both fits can scale their errors by sqrt(reduced chi-square) where the data
scatter more than their error bars (``scale_errors``); the damping fit adds the
uncertainty of g to alpha's (alpha is proportional to g at fixed data). Which g
a run's analysis uses, and what is flagged, is :mod:`stfmr.analysis.resonance_series`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from stfmr.analysis.constants import DEFAULT_G, gyromagnetic_ratio
from stfmr.analysis.fit_common import (
    FitInputError,
    ParamFit,
    check_positive,
    check_sigma,
    check_xy,
    linear_start,
    make_params,
    refusals_as,
    run_lmfit,
)


class ResonanceFitError(FitInputError):
    """Kittel or damping data cannot be fitted; the message says why."""


#: the range a free g may take in the Kittel fit (gamma must stay positive)
G_BOUNDS: tuple[float, float] = (0.1, 10.0)


def resonance_field_mT(freq_GHz, mu0_Meff_T: float, g: float):
    """Return the in-plane resonance field mu0*H_r (mT, positive) at frequency ``freq_GHz``.

    B_r = (-mu0*M_eff + sqrt((mu0*M_eff)^2 + 4*(2 pi f/gamma)^2))/2. Works on
    arrays and on ``uncertainties`` variables.
    """
    f_Hz = float(freq_GHz) * 1e9 if np.ndim(freq_GHz) == 0 else np.asarray(freq_GHz, dtype=float) * 1e9
    b = 2.0 * np.pi * f_Hz / gyromagnetic_ratio(g)  # omega/gamma (T)
    return 1e3 * 0.5 * (-mu0_Meff_T + (mu0_Meff_T**2 + 4.0 * b**2) ** 0.5)


def kittel_frequency_GHz(H_r_mT, mu0_Meff_T: float, g: float):
    """Return the in-plane resonance frequency (GHz) at resonance field mu0*H_r (mT, magnitude)."""
    br = np.abs(np.asarray(H_r_mT, dtype=float)) * 1e-3
    return gyromagnetic_ratio(g) / (2.0 * np.pi) * np.sqrt(br * (br + mu0_Meff_T)) * 1e-9


def omega_over_gamma_T(freq_GHz, g):
    """Return 2 pi f / gamma (T) at frequency freq_GHz (GHz) for Lande factor g (g may carry an uncertainty)."""
    f = np.asarray(freq_GHz, dtype=float) if np.ndim(freq_GHz) else freq_GHz  # a float or an uncertainties variable
    return 2e9 * np.pi * f / gyromagnetic_ratio(g)


def meff_from_resonance_T(field_mT, freq_GHz, g: float):
    """Return mu0*M_eff (T) that puts (|field| mT, freq GHz) on the in-plane Kittel curve.

    field_mT: a float, an array or an ``uncertainties`` variable.
    """
    if np.ndim(field_mT):
        b = np.abs(np.asarray(field_mT, dtype=float)) * 1e-3
    else:  # abs() of an uncertainties variable is deprecated
        b = (-field_mT if getattr(field_mT, "nominal_value", field_mT) < 0 else field_mT) * 1e-3
    return omega_over_gamma_T(freq_GHz, g) ** 2 / b - b


def linewidth_mT(freq_GHz, alpha: float, dH0_mT: float, g: float):
    """Return the half width mu0*dH = mu0*dH_0 + alpha*2 pi f/gamma (mT) at frequency ``freq_GHz``."""
    return dH0_mT + alpha * omega_over_gamma_T(freq_GHz, g) * 1e3


@dataclass(frozen=True)
class KittelFit(ParamFit):
    """Kittel fit: values "mu0_Meff_T" (T) and "g"; "g" has stderr 0 when it was fixed.

    error_scale: the factor sqrt(reduced chi-square) the errors were multiplied by (1: not scaled).
    at_bound: the fitted parameters that ended at a bound of the fit (a free g at :data:`G_BOUNDS`).
    """

    error_scale: float = 1.0
    at_bound: tuple[str, ...] = ()

    def resonance_field_mT(self, freq_GHz):
        """Fitted resonance field (mT) at frequency ``freq_GHz``."""
        return resonance_field_mT(freq_GHz, self.values["mu0_Meff_T"], self.values["g"])


@dataclass(frozen=True)
class DampingFit(ParamFit):
    """Damping fit: values "alpha" and "dH0_mT" (mu0*dH_0, mT), for the given g.

    g_stderr: the uncertainty of g included in alpha's error (0: alpha's error excludes g's).
    error_scale: the factor sqrt(reduced chi-square) the fit errors were multiplied by (1: not scaled).
    """

    g: float
    g_stderr: float = 0.0
    error_scale: float = 1.0

    def linewidth_mT(self, freq_GHz):
        """Fitted half width mu0*dH (mT) at frequency ``freq_GHz``."""
        return linewidth_mT(freq_GHz, self.values["alpha"], self.values["dH0_mT"], self.g)


def _check_freq(freq_GHz, y, y_name: str, min_points: int) -> tuple[np.ndarray, np.ndarray]:
    f, y = check_xy(freq_GHz, y, "frequency (GHz)", y_name, min_points)
    check_positive(f, "frequency (GHz)")
    if np.unique(f).size < min_points:
        raise ResonanceFitError(f"need at least {min_points} distinct frequencies, got {np.unique(f).size}")
    return f, y


def _scaled_by_redchi(fit: ParamFit, factor: float) -> dict:
    """The ParamFit fields of ``fit`` with its errors multiplied by ``factor`` (covariance by factor^2)."""
    return fit.base_fields() | {"covariance": fit.covariance * factor**2,
                                "stderr": {n: e * factor for n, e in fit.stderr.items()}}


def redchi_scale(redchi: float, weighted: bool) -> float:
    """sqrt(reduced chi-square) of a weighted fit whose data scatter more than their error bars, else 1."""
    return math.sqrt(redchi) if weighted and math.isfinite(redchi) and redchi > 1.0 else 1.0


@refusals_as(ResonanceFitError)
def fit_kittel(freq_GHz, H_r_mT, *, fit_g: bool = True, g: float = DEFAULT_G, sigma_mT=None,
               scale_errors: bool = False) -> KittelFit:
    """Fit mu0*M_eff (T) and g to resonance fields H_r (mT, positive magnitudes) at frequencies (GHz).

    The residuals are in field (the measured quantity). fit_g=False fixes g.
    Negative H_r are refused: pass |H_r| of a negative-field branch.
    scale_errors: with sigma_mT, multiply the errors by sqrt(reduced chi-square) when it exceeds 1.
    """
    if not (np.isfinite(g) and g > 0):
        raise ResonanceFitError(f"g must be positive, got {g!r}")
    f, h = _check_freq(freq_GHz, H_r_mT, "H_r (mT)", 3 if fit_g else 2)
    check_positive(h, "H_r (mT) (give |H_r| for the negative-field branch)")
    sigma = check_sigma(sigma_mT, h.size, "sigma of H_r (mT)")
    # Start: f^2 is linear in the unknowns at fixed g: (2 pi f/gamma)^2 = B^2 + B*Meff.
    br = h * 1e-3
    w = (2.0 * np.pi * f * 1e9 / gyromagnetic_ratio(g)) ** 2
    meff0 = float(linear_start(br[:, None], w - br**2)[0])
    if not np.isfinite(meff0) or meff0 <= -0.9 * br.min():
        meff0 = 0.5
    params = make_params([("mu0_Meff_T", meff0, True), ("g", g, fit_g)])
    params["g"].set(min=G_BOUNDS[0], max=G_BOUNDS[1])

    def residual(p):
        r = resonance_field_mT(f, p["mu0_Meff_T"].value, p["g"].value) - h
        return r if sigma is None else r / sigma

    base = run_lmfit(residual, params, h.size, sigma is not None, "Kittel fit")
    scale = redchi_scale(base.redchi, sigma is not None) if scale_errors else 1.0
    at_bound = tuple(n for n in base.names if n == "g" and _at_bound(base.values["g"], G_BOUNDS))
    return KittelFit(**_scaled_by_redchi(base, scale), error_scale=scale, at_bound=at_bound)


def _at_bound(value: float, bounds: tuple[float, float]) -> bool:
    return any(abs(value - b) <= 1e-3 * max(abs(b), 1.0) for b in bounds)


@refusals_as(ResonanceFitError)
def fit_damping(freq_GHz, dH_mT, *, g: float, sigma_mT=None, g_stderr: float = 0.0,
                scale_errors: bool = False) -> DampingFit:
    """Fit alpha and mu0*dH_0 (mT) to half widths mu0*dH (mT) at frequencies (GHz), for Lande factor g.

    scale_errors: with sigma_mT, multiply the fit errors by sqrt(reduced chi-square) when it exceeds 1.
    g_stderr: the standard error of g (a fitted g), added to alpha's: the data fix alpha/g, so
    var(alpha) gains (alpha*g_stderr/g)^2; mu0*dH_0 does not depend on g.
    """
    if not (np.isfinite(g) and g > 0):
        raise ResonanceFitError(f"g must be positive, got {g!r}")
    if not (np.isfinite(g_stderr) and g_stderr >= 0):
        raise ResonanceFitError(f"the standard error of g must be >= 0, got {g_stderr!r}")
    f, dh = _check_freq(freq_GHz, dH_mT, "dH (mT)", 3)
    check_positive(dh, "dH (mT)")
    sigma = check_sigma(sigma_mT, dh.size, "sigma of dH (mT)")
    x = linewidth_mT(f, 1.0, 0.0, g)  # omega/gamma in mT
    coef = linear_start(np.column_stack([np.ones_like(x), x]), dh)
    params = make_params([("alpha", coef[1], True), ("dH0_mT", coef[0], True)])

    def residual(p):
        r = p["dH0_mT"].value + p["alpha"].value * x - dh
        return r if sigma is None else r / sigma

    base = run_lmfit(residual, params, dh.size, sigma is not None, "damping fit")
    scale = redchi_scale(base.redchi, sigma is not None) if scale_errors else 1.0
    fields = _scaled_by_redchi(base, scale)
    if g_stderr > 0:
        i = base.names.index("alpha")
        cov = fields["covariance"].copy()
        cov[i, i] += (base.values["alpha"] * g_stderr / g) ** 2
        fields |= {"covariance": cov, "stderr": fields["stderr"] | {"alpha": float(math.sqrt(cov[i, i]))}}
    return DampingFit(**fields, g=float(g), g_stderr=float(g_stderr), error_scale=scale)
