"""A run's resonance fields and linewidths against frequency: Kittel and damping fits that say what they assumed.

Three jobs, so that ``stfmr analyze`` never prints nonsense with exit 0:

- **Which g.** g is fitted only where the series can determine it: at least
  :data:`FREE_G_MIN_FREQUENCIES` distinct frequencies spanning a factor of at
  least :data:`FREE_G_MIN_SPAN`, and a free fit whose g is inside
  :data:`G_PLAUSIBLE`, not at a bound, with a relative standard error (after
  error scaling) of at most :data:`FREE_G_MAX_REL_ERR`. Otherwise g is fixed at
  the set value (``stfmr analyze --g``, else the sample record's ``g``, else
  :data:`~stfmr.analysis.constants.DEFAULT_G`). On 3 frequencies g and M_eff are
  nearly degenerate (H_r ~ f^2/(g^2*M_eff) for large M_eff): a free g runs to
  its bound and M_eff to hundreds of T.
- **Honest errors.** Both fits scale their errors by sqrt(reduced chi-square)
  where it exceeds 1; a fitted g's uncertainty enters alpha's.
- **Warnings** for every fitted parameter at a bound, every non-physical value
  (:func:`plausibility_warnings`) and a reduced chi-square far from 1
  (:func:`redchi_warning`).

Frequencies in GHz, fields and half widths (mu0*H) in mT, mu0*M_eff in T.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from stfmr.analysis.fit_common import FitInputError, ParamFit
from stfmr.analysis.resonance import G_BOUNDS, DampingFit, KittelFit, fit_damping, fit_kittel

#: g is fitted only on at least this many distinct frequencies ...
FREE_G_MIN_FREQUENCIES = 5
#: ... spanning at least this factor (f_max/f_min) ...
FREE_G_MIN_SPAN = 2.0
#: ... when the free fit's relative standard error of g is at most this
FREE_G_MAX_REL_ERR = 0.02
#: the g-factors of ferromagnets in FMR (outside: warned, and a free g outside is not used)
G_PLAUSIBLE: tuple[float, float] = (1.5, 2.5)
#: |mu0*M_eff| (T) no material reaches (Fe-Co: about 2.4 T)
MEFF_MAX_T = 2.5
#: Gilbert damping above this is not a ferromagnet's FMR line
ALPHA_MAX = 0.2
#: a reduced chi-square above this is warned (the data scatter > 3x their error bars) ...
REDCHI_HIGH = 10.0
#: ... and one this improbably low for a correct model with correct error bars (error bars overstated)
REDCHI_LOW_PROBABILITY = 1e-3
#: a negative mu0*dH_0 is warned when it is below zero by more than this many standard errors
DH0_NEGATIVE_SIGMAS = 2.0

#: where a fixed g came from -> how the output names it
G_SOURCES = {"default": "default for Ni-Fe", "sample": "the sample record's g", "--g": "--g"}


@dataclass(frozen=True)
class GChoice:
    """The g the Kittel and damping fits used, and why.

    value, stderr: g (stderr 0 when fixed). fitted: g was a free parameter.
    source: "fitted", or where the fixed value came from ("--g", "sample", "default").
    reason: why g was fitted or fixed, in words.
    free_g_rejected: a free g was fitted but ran to a bound or out of :data:`G_PLAUSIBLE`
        (on a series long enough to fit g, a sign that the data are not one Kittel curve).
    """

    value: float
    stderr: float
    fitted: bool
    source: str
    reason: str
    free_g_rejected: bool = False

    def describe(self) -> str:
        """One line, e.g. "2.1, fixed (default for Ni-Fe): ..."."""
        return describe_g(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """The JSON record: value, stderr, fitted, source, reason."""
        return {"value": self.value, "stderr": self.stderr, "fitted": self.fitted, "source": self.source,
                "reason": self.reason}


def describe_g(record: dict[str, Any]) -> str:
    """One line for a :meth:`GChoice.to_dict` record, e.g. "2.1, fixed (default for Ni-Fe): ..."."""
    if record["fitted"]:
        return f"{record['value']:.5g} +- {record['stderr']:.2g}, fitted: {record['reason']}"
    return f"{record['value']:g}, fixed ({G_SOURCES.get(record['source'], record['source'])}): {record['reason']}"


@dataclass
class ResonanceSeries:
    """The Kittel and damping fits of one series, the g they used, and what is wrong with them."""

    g: GChoice
    frequencies: int  #: distinct frequencies
    points: int  #: (frequency, branch) points
    kittel: KittelFit | None = None
    damping: DampingFit | None = None
    warnings: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  #: fits that could not be made, and why


def fit_resonance_series(freq_GHz, H_r_mT, H_r_stderr_mT, dH_mT, dH_stderr_mT, *,
                         g: float, g_source: str = "default") -> ResonanceSeries:
    """Kittel and damping fits of points (f, |H_r|, its stderr, dH, its stderr), one per fitted branch.

    g, g_source: the value g is fixed at when the series cannot determine it, and where it
    came from ("--g", "sample" or "default"). Fits that cannot be made are named in ``missing``.
    """
    if not (math.isfinite(g) and g > 0):
        raise FitInputError(f"g must be positive, got {g!r}")
    f = np.asarray(freq_GHz, dtype=float)
    h = np.abs(np.asarray(H_r_mT, dtype=float))
    distinct = np.unique(np.round(f, 6))
    kittel, choice = _kittel_with_g(f, h, H_r_stderr_mT, distinct, g, g_source)
    series = ResonanceSeries(choice, int(distinct.size), int(f.size))
    if kittel is None:
        series.missing.append(f"Kittel fit: {choice.reason}")
        return series
    series.kittel = kittel
    try:
        series.damping = fit_damping(f, dH_mT, g=choice.value, g_stderr=choice.stderr, sigma_mT=dH_stderr_mT,
                                     scale_errors=True)
    except FitInputError as exc:
        series.missing.append(f"damping fit: {exc}")
    series.warnings = resonance_warnings(series)
    return series


def _kittel_with_g(f: np.ndarray, h: np.ndarray, sigma, distinct: np.ndarray, g: float,
                   g_source: str) -> tuple[KittelFit | None, GChoice]:
    """The Kittel fit with a free g where the series determines it, else with g fixed; the choice, in words."""
    span = float(distinct.max() / distinct.min()) if distinct.size else 0.0
    where = f"{distinct.size} frequencies, {distinct.min():.3g}-{distinct.max():.3g} GHz" if distinct.size else "no data"
    set_value = "" if g_source == "default" else f"; the set g {g:g} applies only when g is fixed"
    rejected = False
    if distinct.size < FREE_G_MIN_FREQUENCIES or span < FREE_G_MIN_SPAN:
        why = (f"g is fitted only on >= {FREE_G_MIN_FREQUENCIES} frequencies spanning a factor "
               f">= {FREE_G_MIN_SPAN:g}; this series has {where}")
    else:
        free: KittelFit | None
        try:
            free = fit_kittel(f, h, sigma_mT=sigma, fit_g=True, g=g, scale_errors=True)
        except FitInputError as exc:
            free, why = None, f"the free-g fit failed ({exc})"
        if free is not None:
            gv, ge = free.values["g"], free.stderr["g"]
            rejected = "g" in free.at_bound or not G_PLAUSIBLE[0] <= gv <= G_PLAUSIBLE[1]
            if "g" in free.at_bound:
                why = f"a free g ran to its bound ({gv:.3g}; the fit allows {G_BOUNDS[0]:g}-{G_BOUNDS[1]:g})"
            elif rejected:
                why = f"a free g = {gv:.4g} +- {ge:.2g} is outside {G_PLAUSIBLE[0]:g}-{G_PLAUSIBLE[1]:g}"
            elif not ge <= FREE_G_MAX_REL_ERR * gv:
                why = (f"a free g = {gv:.4g} +- {ge:.2g} is not determined to "
                       f"{100 * FREE_G_MAX_REL_ERR:g} % ({where})")
            else:
                reason = f"{where}, relative error {100 * ge / gv:.2g} % <= {100 * FREE_G_MAX_REL_ERR:g} %{set_value}"
                return free, GChoice(gv, ge, True, "fitted", reason)
    try:
        fixed = fit_kittel(f, h, sigma_mT=sigma, fit_g=False, g=g, scale_errors=True)
    except FitInputError as exc:
        return None, GChoice(g, 0.0, False, g_source, f"{why}; with g fixed: {exc}", rejected)
    return fixed, GChoice(g, 0.0, False, g_source, why, rejected)


def resonance_warnings(series: ResonanceSeries) -> list[str]:
    """Every warning about a series' fits: rejected free g, parameters at bounds, non-physical values, chi-square."""
    out: list[str] = []
    choice = series.g
    if choice.free_g_rejected:
        out.append(f"Kittel fit on {series.frequencies} frequencies: {choice.reason}; g fixed at {choice.value:g} "
                   "instead (are the frequencies right, and is it one mode?)")
    for fit, what in ((series.kittel, "Kittel fit"), (series.damping, "damping fit")):
        if fit is None:
            continue
        out.extend(f"{what}: {name} = {fit.values[name]:.4g} is at a bound of the fit"
                   for name in getattr(fit, "at_bound", ()))
        chi = redchi_warning(fit, what)
        if chi:
            out.append(chi)
    out.extend(plausibility_warnings(series.kittel, series.damping, choice))
    return out


def plausibility_warnings(kittel: KittelFit | None, damping: DampingFit | None, g: GChoice) -> list[str]:
    """Warnings for values no ferromagnet has: |mu0*M_eff|, alpha, a negative mu0*dH_0, g."""
    out = []
    if not G_PLAUSIBLE[0] <= g.value <= G_PLAUSIBLE[1]:
        out.append(f"g = {g.value:.4g} is outside {G_PLAUSIBLE[0]:g}-{G_PLAUSIBLE[1]:g} (ferromagnets in FMR)")
    if kittel is not None:
        meff = kittel.values["mu0_Meff_T"]
        if abs(meff) > MEFF_MAX_T:
            out.append(f"Kittel fit: mu0*M_eff = {meff:.4g} T is beyond +-{MEFF_MAX_T:g} T, which no material "
                       "has: check the frequencies, the field unit and g")
    if damping is not None:
        alpha, dh0, dh0_err = damping.values["alpha"], damping.values["dH0_mT"], damping.stderr["dH0_mT"]
        if alpha <= 0:
            out.append(f"damping fit: alpha = {alpha:.4g} is not positive")
        elif alpha > ALPHA_MAX:
            out.append(f"damping fit: alpha = {alpha:.4g} is above {ALPHA_MAX:g}, not a ferromagnet's FMR damping")
        if dh0 < -DH0_NEGATIVE_SIGMAS * dh0_err:
            out.append(f"damping fit: mu0*dH_0 = {dh0:.4g} +- {dh0_err:.2g} mT is negative "
                       f"(by more than {DH0_NEGATIVE_SIGMAS:g} standard errors)")
    return out


def redchi_warning(fit: ParamFit, what: str) -> str | None:
    """A warning when a weighted fit's reduced chi-square is far from 1, else None.

    Far: above :data:`REDCHI_HIGH` (the data scatter more than sqrt(10) = 3.2 times their
    error bars), or so low that a correct model with correct error bars gives less with
    probability :data:`REDCHI_LOW_PROBABILITY` (the error bars look overstated).
    """
    redchi, dof = fit.redchi, fit.npoints - len(fit.names)
    if not math.isfinite(redchi) or dof < 1:
        return None
    if redchi > REDCHI_HIGH:
        return (f"{what}: reduced chi-square {redchi:.3g}: the data scatter {math.sqrt(redchi):.3g}x more than "
                "their error bars (errors scaled by that factor)")
    if stats.chi2.cdf(redchi * dof, dof) < REDCHI_LOW_PROBABILITY:
        return f"{what}: reduced chi-square {redchi:.3g} on {dof} degrees of freedom: the error bars look overstated"
    return None
