"""Repeated measurements of the same parameters, combined: one estimate, an honest error, a consistency check.

K fits of the same model to K repeats of one measurement (rf heating slopes of
several calibrations, the AMR parameters of several angle sweeps) each give a
parameter vector x_i with covariance C_i. Combined, they give the generalised
inverse-variance mean

    x = C (sum_i C_i^-1 x_i),   C = (sum_i C_i^-1)^-1,

which is what one least-squares fit of all the repeats' points together gives
when each repeat keeps its own nuisance parameters (a drifting offset R_0) and
shares the pooled ones: the normal equations separate repeat by repeat.

**Noise level.** An unweighted fit estimates its readings' noise from its own
residuals: a 6-point line has 4 degrees of freedom, and with so few the inverse
of an estimated variance is on average nu/(nu-2) = 2 times too large, so
weighting repeats by their own errors would understate the pooled error and
favour the repeat whose residuals happened to be small. As one joint fit would,
the noise variance is therefore estimated once from every repeat's residuals
(their degrees of freedom add), and each repeat's covariance is rescaled to it,
unless Bartlett's test says the repeats' noise differs (p <
:data:`NOISE_DIFFERS_P`: e.g. another sense current); then each keeps its own.
Fits weighted by known errors keep their covariance.

**Consistency.** For each pooled parameter j, chi2_j = sum_i (x_ij - m_j)^2 /
(C_i)_jj about its own inverse-variance mean m_j, on K-1 degrees of freedom,
and its Birge ratio sqrt(chi2_j/(K-1)). The p-value is from the F distribution
F(K-1, nu) with the noise estimated on nu degrees of freedom (exact for linear
fits), from chi-square with known errors. Where a parameter's repeats disagree
beyond their errors (p below :data:`DISAGREE_P` over the number of parameters,
so that agreeing repeats are warned 1 time in 100 however many parameters they
have), its row and column of the pooled covariance are multiplied by its Birge
ratio and a warning says so; otherwise they are left alone, so that K agreeing
repeats give 1/K of one repeat's variance (scaling whenever the ratio exceeds 1
would make two agreeing repeats give about 0.74 of one's variance, not 0.5).
Parameter by parameter, so that a drift of one (R_perp with the room's
temperature) does not inflate another that did not move (Delta_R_AMR).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from stfmr.analysis.fit_common import FitInputError, ParamFit

#: repeats whose scatter a correct model with correct errors exceeds with less than this
#: probability (over the number of pooled parameters) disagree: warned, and the pooled
#: error is scaled by the Birge ratio
DISAGREE_P = 0.01
#: Bartlett's test below this p-value: the repeats' noise levels differ, each keeps its own
NOISE_DIFFERS_P = 0.01

#: how each repeat's noise level entered (Pooling.noise)
NOISE_KNOWN, NOISE_POOLED, NOISE_OWN, NOISE_SINGLE = "known", "pooled", "each its own", "single"


@dataclass(frozen=True)
class Pooling:
    """How K repeats were combined, and whether they agree, parameter by parameter."""

    what: str  #: the pooled quantity, as messages name it ("rf heating slope c at 10 GHz")
    labels: tuple[str, ...]  #: the repeats (file names), in the order given
    noise: str  #: NOISE_KNOWN, NOISE_POOLED, NOISE_OWN or NOISE_SINGLE
    names: tuple[str, ...] = ()  #: the pooled parameters (empty for one repeat)
    chi2: tuple[float, ...] = ()  #: per parameter, of the repeats about the pooled value
    p_value: tuple[float, ...] = ()  #: per parameter: probability of a chi2 at least this for agreeing repeats
    error_scale: tuple[float, ...] = ()  #: per parameter: its Birge ratio where its repeats disagree, else 1

    @classmethod
    def single(cls, what: str, label: str) -> Pooling:
        """The record of one measurement, nothing pooled."""
        return cls(what, (label,), NOISE_SINGLE)

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def dof(self) -> int:
        """Degrees of freedom of each parameter's chi-square: K-1."""
        return self.n - 1

    @property
    def birge_ratios(self) -> tuple[float, ...]:
        """sqrt(chi2/(K-1)) per parameter (empty for one repeat)."""
        return tuple(math.sqrt(c / self.dof) for c in self.chi2) if self.dof > 0 else ()

    @property
    def disagrees(self) -> bool:
        return any(s > 1.0 for s in self.error_scale)

    def warning(self) -> str | None:
        """The warning for repeats that disagree beyond their errors, else None."""
        if not self.disagrees:
            return None
        parts = [f"{name}: chi-square {c:.3g} on {self.dof} degree{'s' if self.dof > 1 else ''} of freedom, "
                 f"p = {p:.2g}, error scaled by the Birge ratio {s:.3g}"
                 for name, c, p, s in zip(self.names, self.chi2, self.p_value, self.error_scale) if s > 1.0]
        return (f"{self.what}: the {self.n} repeats ({', '.join(self.labels)}) disagree beyond their errors "
                f"({'; '.join(parts)})")

    def note(self) -> str | None:
        """How the repeats were pooled (None for one)."""
        if self.n < 2:
            return None
        noise = {NOISE_POOLED: "one noise level from all their residuals",
                 NOISE_OWN: "each its own noise level (their residual scatter differs)",
                 NOISE_KNOWN: "known errors"}[self.noise]
        birge = "Birge ratios " + ", ".join(f"{n} {b:.3g}" for n, b in zip(self.names, self.birge_ratios)) \
            if len(self.names) > 1 else f"Birge ratio {self.birge_ratios[0]:.3g}"
        return f"{self.what}: inverse-variance mean of {self.n} repeats ({', '.join(self.labels)}; {noise}), {birge}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: repeats, files, noise and, per pooled parameter, chi2, dof, p_value, birge_ratio, error_scale."""
        return {"repeats": self.n, "files": list(self.labels), "noise": self.noise,
                "parameters": {n: {"chi2": c, "dof": self.dof, "p_value": p, "birge_ratio": b, "error_scale": s}
                               for n, c, p, b, s in zip(self.names, self.chi2, self.p_value, self.birge_ratios,
                                                        self.error_scale)}}


def pool_fits(fits: Mapping[str, ParamFit], names: Sequence[str], what: str, *,
              weighted: bool = False) -> tuple[ParamFit, Pooling]:
    """Combine the parameters ``names`` of repeated fits {label: fit}: (the pooled fit, how).

    weighted: the fits were weighted by known errors (their covariance is absolute).
    The pooled ParamFit holds only ``names``; its ``redchi`` is the residual variance
    of all repeats together (the pooled noise variance of unweighted fits) and its
    ``npoints`` all their points. One fit is returned as it is.
    """
    if not fits:
        raise FitInputError(f"{what}: nothing to pool")
    labels = tuple(fits)
    items = [fits[k] for k in labels]
    for label, fit in zip(labels, items):
        if any(n not in fit.names for n in names):
            raise FitInputError(f"{what}: {label} did not fit {', '.join(n for n in names if n not in fit.names)}")
    if len(items) == 1:
        return items[0], Pooling.single(what, labels[0])
    nus = np.array([f.npoints - len(f.names) for f in items], dtype=float)
    redchis = np.array([f.redchi for f in items], dtype=float)
    covs = [_sub_covariance(f, names) for f in items]
    noise_dof = float(np.sum(nus))
    if weighted:
        noise = NOISE_KNOWN
    elif _noise_poolable(nus, redchis):
        noise = NOISE_POOLED
        pooled_var = float(np.sum(nus * redchis) / noise_dof)
        covs = [c * (pooled_var / r) for c, r in zip(covs, redchis)]
    else:
        noise = NOISE_OWN
        noise_dof = float(np.min(nus)) if np.all(nus > 0) else math.nan
    values = np.array([[f.values[n] for n in names] for f in items])
    weights = [np.linalg.inv(c) for c in covs]
    covariance = np.linalg.inv(sum(weights))
    mean = covariance @ sum(w @ v for w, v in zip(weights, values))
    # each parameter's scatter about its own inverse-variance mean: chi-square on K-1 degrees of freedom
    variances = np.array([np.diag(c) for c in covs])
    own_mean = np.sum(values / variances, axis=0) / np.sum(1.0 / variances, axis=0)
    chi2 = np.sum((values - own_mean) ** 2 / variances, axis=0)
    dof = len(items) - 1
    p_values = [_p_value(float(c), dof, None if weighted else noise_dof) for c in chi2]
    threshold = DISAGREE_P / len(names)
    scales = np.array([math.sqrt(c / dof) if p < threshold and c > dof else 1.0 for c, p in zip(chi2, p_values)])
    covariance = covariance * np.outer(scales, scales)
    stderr = {n: float(math.sqrt(covariance[i, i])) for i, n in enumerate(names)}
    total_var = float(np.sum(nus * redchis) / np.sum(nus)) if np.sum(nus) > 0 else math.nan
    fit = ParamFit(tuple(names), {n: float(mean[i]) for i, n in enumerate(names)}, stderr, covariance,
                   total_var, int(sum(f.npoints for f in items)))
    return fit, Pooling(what, labels, noise, tuple(names), tuple(float(c) for c in chi2), tuple(p_values),
                        tuple(float(x) for x in scales))


def _sub_covariance(fit: ParamFit, names: Sequence[str]) -> np.ndarray:
    """The covariance of ``names`` within ``fit``; a repeat without an error (an exact fit) is refused."""
    idx = [fit.names.index(n) for n in names]
    cov = np.asarray(fit.covariance, dtype=float)[np.ix_(idx, idx)]
    if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
        raise FitInputError("a repeat without a standard error (exact data) cannot be weighted against the others")
    return cov


def _noise_poolable(nus: np.ndarray, redchis: np.ndarray) -> bool:
    """True when every repeat estimated its noise and Bartlett's test finds their noise levels alike."""
    if np.any(nus < 1) or not np.all(np.isfinite(redchis)) or np.any(redchis <= 0):
        return False
    from scipy.special import chdtrc

    n = float(np.sum(nus))
    pooled = float(np.sum(nus * redchis) / n)
    stat = (n * math.log(pooled) - float(np.sum(nus * np.log(redchis)))) \
        / (1.0 + (float(np.sum(1.0 / nus)) - 1.0 / n) / (3.0 * (len(nus) - 1)))
    return float(chdtrc(len(nus) - 1, stat)) >= NOISE_DIFFERS_P


def _p_value(chi2: float, dof: int, noise_dof: float | None) -> float:
    """P(chi2 at least this) for agreeing repeats: chi-square with known errors, else F(dof, noise_dof)."""
    from scipy.special import chdtrc, fdtrc

    if noise_dof is None:
        return float(chdtrc(dof, chi2))
    if not (math.isfinite(noise_dof) and noise_dof > 0):
        return 1.0  # no noise estimate to compare with
    return float(fdtrc(dof, noise_dof, chi2 / dof))
