"""Where to measure: the optimal angles of an angle sweep and the field points of an adaptive spectrum.

Angles. V_S(phi) and V_A(phi) of the paper form are V_0 * cos^2(phi) sin(phi)
(:mod:`stfmr.analysis.angular`), largest in magnitude at phi* = arctan(1/sqrt(2))
= 35.26 deg and its mirrors 144.74, 215.26 and 324.74 deg: a spectrum there
carries the most V_S0 per unit of bench time. At those four angles the
derivative of cos^2(phi) sin(phi) vanishes, so an angle offset phi_0 cannot be
told apart from nothing: the general (MacNeill) fit with a fitted phi_0 is
singular on them alone. Its three amplitudes per component are determined by
the four (their basis columns are orthogonal there); one more angle where the
derivative does not vanish determines phi_0. :data:`SYMMETRY_ANGLES_DEG` holds
that one angle, 15 deg (on both field branches: 15 and 195 deg). 0 deg would
inform phi_0 most, but there every basis function vanishes and the spectrum
has no resonance to fit; at 15 deg the line keeps 63 % of its largest amplitude
and the error of phi_0 is within 1.5x of that at 0 deg.

Fields. A spectrum V = V_S*S + V_A*A + V_0 + V_1*x (:mod:`stfmr.analysis.lineshape`)
is fitted for (H_r, dH, V_S, V_A) with the background (V_0, V_1). The adaptive
sweep adds points one at a time where they shrink the variance of the target
parameter (V_S) the most, given the fit so far (sequential c-optimal design):
with C the fit's covariance, g(H) the model's gradient at field H and sigma^2
the residual variance, a point at H lowers Var(V_S) by
(c^T C g)^2 / (sigma^2 + g^T C g). The optimum collects at four places that
depend on V_A/V_S and on the window (about -1.2, +0.7 and +4 to +5 linewidths
from H_r and the far edge of the window on the other side for V_A/V_S = 2);
``tests/procedures/test_field_placement.py`` derives them.
"""

from __future__ import annotations

import numpy as np

from stfmr.analysis import lineshape

#: the angle (deg) where |cos^2(phi) sin(phi)| is largest: arctan(1/sqrt(2))
PHI_STAR_DEG = float(np.degrees(np.arctan(1.0 / np.sqrt(2.0))))
#: phi* and its mirrors (deg): each carries the largest |V_S| and |V_A|
OPTIMAL_ANGLES_DEG = (PHI_STAR_DEG, 180.0 - PHI_STAR_DEG, 180.0 + PHI_STAR_DEG, 360.0 - PHI_STAR_DEG)
#: the extra angle (deg) the general angular fit needs for its phi_0 (one angle)
SYMMETRY_ANGLES_DEG = (15.0,)

#: order of the spectrum parameters in :func:`model_gradient` (as analysis.spectrum_fit.PARAM_NAMES)
GRADIENT_NAMES = ("H_r", "dH", "V_S", "V_A", "V_0", "V_1")


def optimal_angles_deg() -> list[float]:
    """The angles (deg) of an ``angles_deg = "optimal"`` sweep, in measuring order (increasing)."""
    return sorted(OPTIMAL_ANGLES_DEG + SYMMETRY_ANGLES_DEG)


def model_gradient(field_mT, values: dict[str, float]) -> np.ndarray:
    """Return d V / d parameter (n x 6, GRADIENT_NAMES order) of the spectrum model at fields (mT).

    values: the fit's "H_r", "dH" (mT), "V_S", "V_A", "V_0" (V), "V_1" (V/mT);
    H_r's sign picks the branch.
    """
    h = np.atleast_1d(np.asarray(field_mT, dtype=float))
    hr, w, vs, va, v1 = (values[k] for k in ("H_r", "dH", "V_S", "V_A", "V_1"))
    p = lineshape.branch_polarity(hr)
    s, a, s_hr, a_hr, s_w, a_w = lineshape.shape_gradients(h, hr, w)
    x = p * (h - hr)
    return np.column_stack([vs * s_hr + va * a_hr - v1 * p, vs * s_w + va * a_w, s, a, np.ones_like(h), x])


def place_points(candidates_mT, covariance: np.ndarray, values: dict[str, float], noise_V: float, count: int,
                 target: str = "V_S") -> list[float]:
    """Choose ``count`` fields (mT) from ``candidates_mT``, one at a time, each where it lowers Var(target) most.

    covariance: the fit's 6 x 6 covariance (GRADIENT_NAMES order; mT, V); values: its
    parameters; noise_V: the residual standard deviation (V). After each choice the
    covariance is updated as a new point there would update it, and that candidate is
    used up, so the points of one call are distinct.
    """
    fields = np.asarray(candidates_mT, dtype=float)
    if fields.size == 0 or count <= 0:
        return []
    grad = model_gradient(fields, values)
    cov = np.array(covariance, dtype=float)
    c = np.zeros(len(GRADIENT_NAMES))
    c[GRADIENT_NAMES.index(target)] = 1.0
    noise2 = float(noise_V) ** 2
    free = np.ones(fields.size, dtype=bool)
    chosen: list[float] = []
    for _ in range(min(count, fields.size)):
        cg = grad @ cov  # (n, 6): C g per candidate
        gain = (cg @ c) ** 2 / (noise2 + np.einsum("ij,ij->i", cg, grad))
        gain[~free] = -np.inf
        k = int(np.argmax(gain))
        u = cg[k]
        cov -= np.outer(u, u) / (noise2 + u @ grad[k])
        free[k] = False
        chosen.append(float(fields[k]))
    return chosen


def fit_covariance(fit) -> np.ndarray:
    """The 6 x 6 covariance (GRADIENT_NAMES order) of a SpectrumFit; V_1 not fitted: zero row and column."""
    cov = np.zeros((len(GRADIENT_NAMES), len(GRADIENT_NAMES)))
    idx = [GRADIENT_NAMES.index(n) for n in fit.names]
    err = np.array([fit.stderr[n] for n in fit.names])
    cov[np.ix_(idx, idx)] = np.asarray(fit.correlation) * np.outer(err, err)
    return cov


def fisher_information(field_mT, values: dict[str, float], noise_V, names=GRADIENT_NAMES) -> np.ndarray:
    """The Fisher information of the spectrum parameters ``names`` from points at ``field_mT`` (mT).

    values: the parameters the model is evaluated at (as for :func:`model_gradient`);
    noise_V: the standard deviation (V) of each point's independent Gaussian noise, one
    value or one per point. Returns G^T G (len(names) square, 1/(unit_i unit_j)), G the
    model's gradient divided by the noise: the inverse of the least covariance any
    unbiased estimate of those parameters from these points can have.
    """
    h = np.atleast_1d(np.asarray(field_mT, dtype=float))
    noise = np.broadcast_to(np.asarray(noise_V, dtype=float), h.shape)
    if not np.all(np.isfinite(noise) & (noise > 0)):
        raise ValueError(f"noise_V must be positive and finite at every point, got {noise_V!r}")
    unknown = [n for n in names if n not in GRADIENT_NAMES]
    if unknown:
        raise ValueError(f"unknown spectrum parameter(s) {unknown}; use names from {GRADIENT_NAMES}")
    grad = model_gradient(h, values)[:, [GRADIENT_NAMES.index(n) for n in names]] / noise[:, None]
    return grad.T @ grad


def cramer_rao_covariance(field_mT, values: dict[str, float], noise_V, names=GRADIENT_NAMES) -> np.ndarray:
    """The Cramer-Rao covariance (``names`` order; mT, V) of a spectrum fit: the inverse Fisher information.

    Arguments as for :func:`fisher_information`. Raises ValueError when the points do
    not determine the parameters (a singular information matrix).
    """
    info = fisher_information(field_mT, values, noise_V, names)
    return inverse_information(info, f"{len(np.atleast_1d(field_mT))} points at these fields", names)


def inverse_information(info: np.ndarray, what: str, names) -> np.ndarray:
    """The inverse of a Fisher information matrix whose parameters' units differ by decades (mT next to V).

    Inverted in its correlation form, so the scales do not count as ill-conditioning.
    Raises ValueError "<what> do not determine <names>" when it is singular.
    """
    scale = np.sqrt(np.diag(info))
    if np.any(scale == 0) or np.linalg.cond(info / np.outer(scale, scale)) > 1e12:
        raise ValueError(f"{what} do not determine {tuple(names)}")
    return np.linalg.inv(info / np.outer(scale, scale)) / np.outer(scale, scale)
