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
