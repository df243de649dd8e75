"""Angular dependence of the symmetric and antisymmetric amplitudes V_S(phi), V_A(phi).

docs/physics.md §3. Angles at the API are degrees: the angle between the
current and the magnetization, so a negative-field branch enters as phi + 180
(where V_S and V_A of the spin-Hall-like terms change sign). Two forms:

- "paper": V_S(phi) = V_S0*cos^2(phi)*sin(phi), V_A(phi) = V_A0*cos^2(phi)*sin(phi);
- "general" (MacNeill et al. 2017): V_S(phi) = sin(2 phi)*(S_y cos phi + S_x sin phi + S_z),
  and likewise A_y, A_x, A_z; the y terms alone are the paper form with V_S0 = 2*S_y.

Both allow an angle offset phi_0 (deg; phi -> phi - phi_0), fitted or fixed.
V_S and V_A may be fitted together, sharing phi_0, so the covariance of V_S0
and V_A0 that the efficiencies need is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stfmr.analysis.fit_common import (
    FitInputError,
    ParamFit,
    check_sigma,
    check_xy,
    linear_start,
    make_params,
    refusals_as,
    run_lmfit,
)

FORMS = ("paper", "general")
#: offsets (deg) tried for the starting value of a fitted phi_0
_OFFSET_SCAN_DEG = np.arange(-20.0, 20.5, 0.5)


class AngularFitError(FitInputError):
    """The angular data cannot be fitted; the message says why."""


def _basis(phi_rad: np.ndarray, form: str) -> np.ndarray:
    """Columns multiplying the amplitudes of one component (n x 1 or n x 3)."""
    if form == "paper":
        return (np.cos(phi_rad) ** 2 * np.sin(phi_rad))[:, None]
    s2 = np.sin(2.0 * phi_rad)
    return np.column_stack([s2 * np.cos(phi_rad), s2 * np.sin(phi_rad), s2])


def _amp_names(component: str, form: str) -> list[str]:
    if form == "paper":
        return [f"V_{component}0"]
    return [f"{component}_y", f"{component}_x", f"{component}_z"]


def angular_voltage(angle_deg, amplitudes: dict[str, float], component: str, form: str = "paper", offset_deg: float = 0.0):
    """Return V_S(phi) or V_A(phi) (V) of the given form at angles in degrees.

    amplitudes: {"V_S0": ...} (paper) or {"S_y", "S_x", "S_z"} (general), V;
    component: "S" or "A".
    """
    if form not in FORMS:
        raise AngularFitError(f"unknown angular form {form!r}; use one of {FORMS}")
    phi = np.radians(np.atleast_1d(np.asarray(angle_deg, dtype=float)) - offset_deg)
    coef = np.array([amplitudes[n] for n in _amp_names(component, form)], dtype=float)
    out = _basis(phi, form) @ coef
    return out if np.ndim(angle_deg) else float(out[0])


def amplitude_weights(angle_deg, sigma, form: str = "paper", offset_deg: float = 0.0) -> np.ndarray:
    """Weights W (n_amp x n) with amplitudes = W @ V: the weighted least-squares solution at a fixed phi_0.

    angle_deg: the points' angles (deg); sigma: their standard errors (V). With phi_0
    fixed the angular fit is linear in the voltages, so its amplitudes are exactly these
    combinations of them, and carry any correlation of the voltages with other quantities.
    """
    phi = np.radians(np.asarray(angle_deg, dtype=float) - offset_deg)
    basis = _basis(phi, form)
    w = 1.0 / np.asarray(sigma, dtype=float) ** 2
    return np.linalg.solve(basis.T @ (w[:, None] * basis), basis.T * w)


@dataclass(frozen=True)
class AngularFit(ParamFit):
    """Angular fit result: amplitudes in V ("V_S0", "V_A0" or "S_y", ..., "A_z") and "phi_0_deg" (deg).

    form: "paper" or "general"; components: the fitted ones ("S", "A" or both);
    offset_fitted: phi_0 was a free parameter; weighted: the voltages' standard errors
    were given (the covariance is then not scaled by the reduced chi-square).
    """

    form: str
    components: tuple[str, ...]
    offset_fitted: bool
    weighted: bool = False

    def amplitude(self, component: str):
        """The cos^2(phi)*sin(phi) amplitude V_S0 or V_A0 (V) as a correlated ``uncertainties`` variable.

        In the general form this is 2*S_y (or 2*A_y).
        """
        if component not in self.components:
            raise AngularFitError(f"component {component!r} was not fitted (fitted: {self.components})")
        u = self.ufloats()
        return u[f"V_{component}0"] if self.form == "paper" else 2.0 * u[f"{component}_y"]

    def amplitudes(self) -> tuple[Any, Any]:
        """(V_S0, V_A0) as correlated ``uncertainties`` variables (both components must be fitted)."""
        u = self.ufloats()  # one call, so the two share the covariance
        get = (lambda c: u[f"V_{c}0"]) if self.form == "paper" else (lambda c: 2.0 * u[f"{c}_y"])
        for c in ("S", "A"):
            if c not in self.components:
                raise AngularFitError(f"component {c!r} was not fitted (fitted: {self.components})")
        return get("S"), get("A")

    def amplitudes_of(self, angle_deg, V_S, V_A) -> tuple[Any, Any]:
        """(V_S0, V_A0) as the same least-squares combinations of voltages given as ``uncertainties`` variables.

        The fit's points (angles in deg, the voltages it was given): for a fit with phi_0
        fixed and weighted by the voltages' errors, the values equal :meth:`amplitudes`' and
        so do the errors when the voltages are independent; any correlation of the
        voltages with other quantities (dH of the same spectra) is kept. Otherwise (phi_0
        fitted, unweighted) :meth:`amplitudes`.
        """
        if self.offset_fitted or not self.weighted:
            return self.amplitudes()
        angles = np.asarray(angle_deg, dtype=float)
        out = []
        for c, volts in (("S", V_S), ("A", V_A)):
            sigma = [float(v.std_dev) for v in volts]
            weights = amplitude_weights(angles, sigma, self.form, self.values["phi_0_deg"])
            amps = [sum(float(wk) * v for wk, v in zip(row, volts)) for row in weights]
            out.append(amps[0] if self.form == "paper" else 2.0 * amps[0])  # general: V_S0 = 2 S_y
        return out[0], out[1]

    def evaluate(self, angle_deg, component: str):
        """Return the fitted V_S(phi) or V_A(phi) (V) at angles in degrees."""
        return angular_voltage(angle_deg, self.values, component, self.form, self.values["phi_0_deg"])


@refusals_as(AngularFitError)
def fit_angular(
    angle_deg,
    V_S=None,
    V_A=None,
    *,
    form: str = "paper",
    fit_offset: bool = False,
    offset_deg: float = 0.0,
    sigma_S=None,
    sigma_A=None,
) -> AngularFit:
    """Fit V_S(phi) and/or V_A(phi) (V) at magnetization angles ``angle_deg`` (deg).

    form: "paper" or "general" (module docstring). fit_offset: fit phi_0
    (shared by both components), starting from ``offset_deg``; otherwise phi_0
    is fixed at ``offset_deg``. sigma_S, sigma_A: optional standard errors of
    the voltages (V); without them the covariance is scaled by the reduced
    chi-square. Raises AngularFitError for too few points, NaN, mismatched
    lengths, or angles that do not determine the amplitudes.
    """
    if form not in FORMS:
        raise AngularFitError(f"unknown angular form {form!r}; use one of {FORMS}")
    data = {c: v for c, v in (("S", V_S), ("A", V_A)) if v is not None}
    if not data:
        raise AngularFitError("give V_S, V_A or both")
    if not np.isfinite(offset_deg):
        raise AngularFitError(f"offset_deg must be finite, got {offset_deg!r}")
    n_amp = 1 if form == "paper" else 3
    min_points = n_amp + (1 if fit_offset else 0) + 1
    arrays: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for c, v in data.items():
        angles, y = check_xy(angle_deg, v, "angle (deg)", f"V_{c} (V)", min_points)
        sigma = check_sigma(sigma_S if c == "S" else sigma_A, y.size, f"sigma_{c} (V)")
        arrays[c] = (y, sigma)
    weighted = all(s is not None for _, s in arrays.values())
    if not weighted and any(s is not None for _, s in arrays.values()):
        raise AngularFitError("give standard errors for both components or for neither")

    def linear_coefs(off: float) -> tuple[dict[str, np.ndarray], float]:
        phi = np.radians(angles - off)
        basis = _basis(phi, form)
        coefs, cost = {}, 0.0
        for c, (y, s) in arrays.items():
            w = 1.0 if s is None else 1.0 / s
            coef = linear_start(basis * np.atleast_1d(w)[:, None] if s is not None else basis, y * w)
            coefs[c] = coef
            cost += float(np.sum(((basis @ coef - y) * w) ** 2))
        return coefs, cost

    # the basis functions are of order 1: a tiny singular value means angles at their zeros only
    sv = np.linalg.svd(_basis(np.radians(angles - offset_deg), form), compute_uv=False)
    if sv[-1] < 1e-6 * np.sqrt(angles.size):
        raise AngularFitError(
            f"these angles do not determine the {form}-form amplitudes (e.g. only 0, 90, 180, 270 deg); "
            "measure at intermediate angles"
        )
    start_off = offset_deg
    if fit_offset:
        costs = [linear_coefs(offset_deg + d)[1] for d in _OFFSET_SCAN_DEG]
        start_off = offset_deg + float(_OFFSET_SCAN_DEG[int(np.argmin(costs))])
    coefs, _ = linear_coefs(start_off)
    spec: list[tuple[str, float, bool]] = []
    for c in arrays:
        spec += list(zip(_amp_names(c, form), coefs[c], [True] * n_amp))
    spec.append(("phi_0_deg", start_off, fit_offset))
    params = make_params(spec)

    def residual(p):
        phi = np.radians(angles - p["phi_0_deg"].value)
        basis = _basis(phi, form)
        parts = []
        for c, (y, s) in arrays.items():
            coef = np.array([p[n].value for n in _amp_names(c, form)])
            r = basis @ coef - y
            parts.append(r if s is None else r / s)
        return np.concatenate(parts)

    npoints = sum(y.size for y, _ in arrays.values())
    base = run_lmfit(residual, params, npoints, weighted, "angular fit")
    return AngularFit(**base.base_fields(), form=form, components=tuple(arrays), offset_fitted=fit_offset,
                      weighted=weighted)
