"""Linewidth against dc current: the effective damping and xi_DL^E from its slope (docs/physics.md §9).

A dc current I_dc through the bilayer exerts a damping-like torque whose
component along m changes the damping of the precession. In stfmr's sign
convention (``instruments/sim/llg.py``: sigma = -y, so that V_S > 0 for
xi_DL^E > 0 at positive field) the closed form is

    d(alpha_eff)/dI_dc = -sin(phi) * (hbar/2e) * xi_DL^E * R / (L * (B_r + mu0*M_eff/2) * M_s*t_FM)

(docs/physics.md §9, with sigma = -y): a positive current anti-damps the
positive-field branch at 0 < phi < 180 deg when xi_DL^E > 0. The negative-field
branch has m at phi + 180 deg, so its slope has the opposite sign. At fixed
frequency alpha_eff = (gamma/omega)*(mu0*dH - mu0*dH_0), so

    d(alpha_eff)/dI_dc = (gamma/omega) * d(mu0*dH)/dI_dc.

Joule heating changes the linewidth (through M_eff and R) with I_dc^2; the fit
dH(I) = dH(0) + s*I + c*I^2 keeps the odd part s only, which is why the currents
must include both polarities. This module is the one home of these formulas;
``tests/analysis/test_dc_bias.py`` checks them against the exact LLG with a dc
torque.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stfmr.analysis.efficiency import Quantity, as_quantity, fields_per_current
from stfmr.analysis.resonance import omega_over_gamma_T
from stfmr.analysis.fit_common import FitInputError, ParamFit, check_sigma, check_xy, linear_start, make_params, run_lmfit


class DcBiasError(FitInputError):
    """Linewidths that cannot give xi_DL^E (too few currents, one polarity only, ...)."""


def inverse_variance_mean(values: list) -> Any:
    """Weighted mean of ``uncertainties`` values by 1/stderr^2 (exact values, stderr 0, dominate alone)."""
    exact = [v for v in values if getattr(v, "std_dev", 0.0) == 0.0]
    if exact:
        return sum(exact) / len(exact)
    weights = [1.0 / v.std_dev**2 for v in values]
    return sum(w * v for w, v in zip(weights, values)) / sum(weights)


def damping_slope_per_A(xi_DL_E: Quantity, R_Ohm: Quantity, length_m: Quantity, Ms_t_A: Quantity,
                        B_r_T: Quantity, mu0_Meff_T: Quantity, phi_deg: float):
    """Return d(alpha_eff)/dI_dc (1/A) of the branch whose magnetization is at phi_deg (deg)."""
    xi = as_quantity(xi_DL_E, "xi_DL^E (Ohm^-1 m^-1)")
    r = as_quantity(R_Ohm, "R (Ohm)", positive=True)
    length = as_quantity(length_m, "length (m)", positive=True)
    ms_t = as_quantity(Ms_t_A, "M_s*t_FM (A)", positive=True)
    b_r = as_quantity(B_r_T, "B_r (T)", positive=True)
    meff = as_quantity(mu0_Meff_T, "mu0*M_eff (T)")
    b_dl_per_A = fields_per_current(xi, 0.0, r, length, ms_t)[0]
    return -math.sin(math.radians(phi_deg)) * b_dl_per_A / (b_r + meff / 2.0)


def xi_from_damping_slope(slope_per_A: Quantity, R_Ohm: Quantity, length_m: Quantity, Ms_t_A: Quantity,
                          B_r_T: Quantity, mu0_Meff_T: Quantity, phi_deg: float):
    """Return xi_DL^E (Ohm^-1 m^-1) from d(alpha_eff)/dI_dc (1/A): the inverse of :func:`damping_slope_per_A`."""
    sin_phi = math.sin(math.radians(phi_deg))
    if abs(sin_phi) < 0.05:
        raise DcBiasError(f"at phi = {phi_deg:g} deg the dc torque does not change the damping (sin(phi) ~ 0)")
    unit = damping_slope_per_A(1.0, R_Ohm, length_m, Ms_t_A, B_r_T, mu0_Meff_T, phi_deg)
    return as_quantity(slope_per_A, "d(alpha_eff)/dI_dc (1/A)") / unit


@dataclass(frozen=True)
class LinewidthCurrentFit(ParamFit):
    """dH(I) = dH_at_0_mT + slope_mT_per_mA*I + curvature_mT_per_mA2*I^2 for one branch."""


def fit_linewidth_vs_current(I_dc_mA, dH_mT, sigma_mT=None) -> LinewidthCurrentFit:
    """Fit the half width mu0*dH (mT) against dc current (mA): odd slope plus even (heating) part."""
    try:
        i, dh = check_xy(I_dc_mA, dH_mT, "I_dc (mA)", "dH (mT)", 3)
        sigma = check_sigma(sigma_mT, dh.size, "sigma of dH (mT)")
    except FitInputError as exc:
        raise DcBiasError(str(exc)) from None
    if not (np.any(i > 0) and np.any(i < 0)):
        raise DcBiasError("the dc currents must include both polarities: the odd part of dH(I_dc) gives xi_DL, "
                          "the even part is heating")
    quadratic = len(np.unique(np.abs(i[i != 0]))) >= 2 and dh.size >= 4
    design = np.column_stack([np.ones_like(i), i, i**2] if quadratic else [np.ones_like(i), i])
    coef = linear_start(design, dh)
    params = make_params([("dH_at_0_mT", coef[0], True), ("slope_mT_per_mA", coef[1], True),
                          ("curvature_mT_per_mA2", coef[2] if quadratic else 0.0, quadratic)])

    def residual(p):
        r = p["dH_at_0_mT"].value + p["slope_mT_per_mA"].value * i + p["curvature_mT_per_mA2"].value * i**2 - dh
        return r if sigma is None else r / sigma

    # the fit errors of single spectra understate the scatter between spectra: scale by redchi
    base = run_lmfit(residual, params, dh.size, False, "linewidth against dc current")
    return LinewidthCurrentFit(**base.base_fields())


@dataclass
class DcBiasBranch:
    """One field branch at one (frequency, angle, power): its linewidths and the xi they give."""

    polarity: int  #: +1 or -1 (field sign)
    angle_deg: float  #: angle of the magnetization (phi, or phi + 180 deg on the negative branch)
    I_dc_mA: np.ndarray
    dH_mT: np.ndarray
    dH_stderr_mT: np.ndarray
    fit: LinewidthCurrentFit
    damping_slope_per_A: Any  #: uncertainties variable, 1/A
    xi_DL_E: Any  #: uncertainties variable, Ohm^-1 m^-1 (None without R, L or M_s*t_FM)


@dataclass
class DcBiasResult:
    """The dc-bias measurement at one frequency, angle and power, both branches combined."""

    frequency_GHz: float
    angle_deg: float
    power_dBm: float
    B_r_T: Any
    branches: list[DcBiasBranch] = field(default_factory=list)
    xi_DL_E: Any = None  #: inverse-variance mean over the branches (None without R, L or M_s*t_FM)

    def alpha_eff(self, dH0_mT: Quantity, g: float) -> list[tuple[float, int, Any]]:
        """Return (I_dc mA, polarity, alpha_eff) for every spectrum, given the inhomogeneous width dH_0 (mT)."""
        dh0 = as_quantity(dH0_mT, "dH_0 (mT)")
        scale = 1e-3 / omega_over_gamma_T(self.frequency_GHz, g)
        out = []
        for b in self.branches:
            ufl = [as_quantity((v, s), "dH (mT)") for v, s in zip(b.dH_mT, b.dH_stderr_mT)]
            out += [(float(i), b.polarity, (dh - dh0) * scale) for i, dh in zip(b.I_dc_mA, ufl)]
        return out

    def to_dict(self, dH0_mT: Quantity | None = None, g: float | None = None) -> dict[str, Any]:
        def value(x: Any) -> dict[str, float]:
            return {"value": float(getattr(x, "nominal_value", x)), "stderr": float(getattr(x, "std_dev", 0.0))}

        def q(x: Any) -> dict[str, float] | None:
            return None if x is None else value(x)

        out: dict[str, Any] = {"frequency_GHz": self.frequency_GHz, "angle_deg": self.angle_deg,
                               "power_dBm": self.power_dBm, "B_r_mT": q(self.B_r_T * 1e3),
                               "xi_DL_E": q(self.xi_DL_E), "branches": []}
        for b in self.branches:
            out["branches"].append({
                "polarity": b.polarity, "angle_deg": b.angle_deg,
                "dH_slope_mT_per_mA": q(b.fit.ufloats()["slope_mT_per_mA"]),
                "dalpha_dI_per_A": q(b.damping_slope_per_A), "xi_DL_E": q(b.xi_DL_E),
                "I_dc_mA": [float(v) for v in b.I_dc_mA], "dH_mT": [float(v) for v in b.dH_mT],
            })
        if dH0_mT is not None and g is not None:
            out["alpha_eff"] = [{"I_dc_mA": i, "polarity": p, **value(a)} for i, p, a in self.alpha_eff(dH0_mT, g)]
        return out


def analyze_dc_bias(frequency_GHz: float, angle_deg: float, power_dBm: float,
                    points: list[tuple[float, int, float, float, float, float]], *,
                    g: Quantity, mu0_Meff_T: Quantity, R_Ohm: Quantity | None, length_m: Quantity | None,
                    Ms_t_A: Quantity | None) -> DcBiasResult:
    """xi_DL^E from linewidths at several dc currents at one frequency (GHz), angle (deg) and power (dBm).

    points: (I_dc mA, polarity, H_r mT, H_r stderr, dH mT, dH stderr) of every fitted branch.
    g, mu0_Meff_T (T): from the Kittel fit; R_Ohm: device resistance (Ohm) in E = I*R/L;
    length_m, Ms_t_A: from the sample record. Without R_Ohm, length_m or Ms_t_A the
    linewidths are still fitted and d(alpha_eff)/dI_dc found; xi_DL^E is then None.
    """
    per_mT = 1e-3 / omega_over_gamma_T(frequency_GHz, g)  # d(alpha)/d(mu0*dH in mT), with g's uncertainty
    result = None
    xis = []
    for polarity in (1, -1):
        rows = np.array([p for p in points if p[1] == polarity], dtype=float).reshape(-1, 6)
        if len(rows) < 3 or not (np.any(rows[:, 0] > 0) and np.any(rows[:, 0] < 0)):
            continue
        order = np.argsort(rows[:, 0])
        rows = rows[order]
        fit = fit_linewidth_vs_current(rows[:, 0], rows[:, 4], rows[:, 5])
        # B_r near zero current: the dc field-like torque shifts H_r linearly in I_dc, so the mean
        # is B_r(0); its uncertainty is negligible next to the slope's
        b_r = float(np.mean(np.abs(rows[:, 2]))) * 1e-3
        if result is None:
            result = DcBiasResult(frequency_GHz, angle_deg, power_dBm, b_r)
        branch_angle = angle_deg if polarity == 1 else angle_deg + 180.0
        slope = fit.ufloats()["slope_mT_per_mA"] * 1e3 * per_mT  # 1/A
        xi = None if None in (R_Ohm, length_m, Ms_t_A) else \
            xi_from_damping_slope(slope, R_Ohm, length_m, Ms_t_A, b_r, mu0_Meff_T, branch_angle)
        result.branches.append(DcBiasBranch(polarity, branch_angle, rows[:, 0], rows[:, 4], rows[:, 5], fit, slope, xi))
        xis.append(xi)
    if result is None:
        raise DcBiasError(f"at {frequency_GHz:g} GHz, {angle_deg:g} deg: no branch has 3 or more dc currents "
                          "of both polarities")
    result.xi_DL_E = None if None in xis else inverse_variance_mean(xis)
    return result
