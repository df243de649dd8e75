"""Exact linear response of an in-plane macrospin to rf spin-orbit torques.

This is the simulator's physics (and the test suite's reference): the 2x2
linearised Landau-Lifshitz-Gilbert equation solved at each field, never the
closed-form Lorentzians of the analysis. The two are deliberately separate so
that each checks the other.

Geometry (docs/physics.md §1): current along x, film normal z, m0 in plane
at angle phi from the current, saturated along the applied field. Local frame
e1 = m0, e2 = z x e1 (in-plane transverse), e3 = z. A negative field reverses
m0, i.e. phi -> phi + 180 deg.

Torque convention. A spin-Hall-like source of positive efficiency (a Pt-like
layer with theta_SH > 0 *below* the ferromagnet) injects spins polarised along
sigma = -y (the spin current Q_zy = -theta_SH*J_x flows up into the magnet), so
the damping-like torque is gamma*B_DL * m x (sigma x m) with sigma = -y and
B_DL > 0. The field-like torque is that of a field -B_FL*y: the Oersted field
of current flowing in a layer below points along -y, and it counts as
B_FL > 0. With these, the rectified voltage <I(t) R(t)> has V_S0 > 0 and
V_A0 > 0 for a Pt/Py-like bilayer at positive field with Delta_R_AMR > 0, as
measured by Liu et al. (PRL 106, 036601, 2011), and as docs/physics.md §1
and §3 require (sigma = +y would give V_S and V_A opposite signs for Pt/Py;
tests/analysis and tests/physics pin the convention used here).

A dc current adds a static damping-like field b_dc_dl (and a field-like/Oersted
field b_dc_fl). Linearising gamma*b_dc_dl * m x (sigma x m) about m0 adds the
rate gamma*b_dc_dl*sin(phi) (sigma.e1 = -sin(phi)) to both transverse
equations: anti-damping for b_dc_dl*sin(phi) > 0. The dc field -b_dc_fl*y adds
-b_dc_fl*sin(phi) to the field along m0. The static tilt of m0 by the dc torques
(of order b_dc/(B + mu0*M_eff)) is left out: it changes the resonance and the
linewidth only in second order, but the mixing amplitude in first order in I_dc
(a relative change of order 1e-4 per mA on the presets).

Inhomogeneous broadening mu0*dH0 enters as extra Gilbert-like damping
alpha + gamma*mu0*dH0/omega, which at fixed frequency gives exactly the
linewidth mu0*dH = mu0*dH0 + alpha*omega/gamma of docs/physics.md §5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stfmr.analysis.constants import DEFAULT_G, gyromagnetic_ratio


@dataclass(frozen=True)
class MagnetParams:
    """Dynamic properties of the ferromagnet.

    mu0_Meff_T: effective magnetisation mu0*M_eff (T).
    g: Lande g-factor.
    alpha: Gilbert damping.
    mu0_dH0_T: inhomogeneous half-width mu0*dH_0 (T).
    """

    mu0_Meff_T: float
    g: float = DEFAULT_G
    alpha: float = 0.01
    mu0_dH0_T: float = 0.0


def transverse_response(
    field_T,
    freq_Hz: float,
    phi_rad: float,
    b_dl_T,
    b_fl_T,
    magnet: MagnetParams,
    b_dc_dl_T: float = 0.0,
    b_dc_fl_T: float = 0.0,
) -> np.ndarray:
    """Return the complex in-plane angle amplitude m2 (rad) under rf torques.

    field_T: applied mu0*H along m0 (T), scalar or array; its sign picks the branch.
    freq_Hz: rf frequency (Hz).
    phi_rad: angle between current and positive field (rad).
    b_dl_T, b_fl_T: peak damping-like and field-like effective fields (T),
        i.e. per-current coefficients times the peak rf current I_0.
    b_dc_dl_T, b_dc_fl_T: damping-like and field-like effective fields (T) of a dc
        current through the device, same sign conventions as the rf ones.

    The time dependence is Re(m2 * exp(i*omega*t)) for a drive I_0*cos(omega*t).
    """
    field = np.asarray(field_T, dtype=float)
    gamma = gyromagnetic_ratio(magnet.g)
    omega = 2.0 * np.pi * freq_Hz
    phi = np.where(field < 0, phi_rad + np.pi, phi_rad)
    b0 = np.abs(field) - b_dc_fl_T * np.sin(phi)
    rate_dc = gamma * b_dc_dl_T * np.sin(phi)
    # sigma = -y projected on e2 = (-sin phi, cos phi, 0): -cos(phi).
    # DL torque gamma*B_DL*m x (sigma x m) ~ gamma*B_DL*(sigma.e2) e2.
    # FL torque from field -B_FL*y: -gamma*m x (-B_FL y) ~ gamma*B_FL*cos(phi) e3.
    tau2 = gamma * np.asarray(b_dl_T) * (-np.cos(phi))
    tau3 = gamma * np.asarray(b_fl_T) * np.cos(phi)
    alpha = magnet.alpha + gamma * magnet.mu0_dH0_T / omega
    meff = magnet.mu0_Meff_T
    # (i*w - r_dc)*m2 + (gamma*(B0+Meff) + i*alpha*w)*m3 = tau2
    # -(gamma*B0 + i*alpha*w)*m2 + (i*w - r_dc)*m3 = tau3
    a11 = 1j * omega - rate_dc
    a12 = gamma * (b0 + meff) + 1j * alpha * omega
    a21 = -(gamma * b0 + 1j * alpha * omega)
    a22 = 1j * omega - rate_dc
    det = a11 * a22 - a12 * a21
    return (tau2 * a22 - a12 * tau3) / det


def mixing_voltage(
    field_T,
    freq_Hz: float,
    phi_rad: float,
    I0_A: float,
    delta_R_amr_Ohm: float,
    b_dl_per_A_T: float,
    b_fl_per_A_T: float,
    magnet: MagnetParams,
    I_dc_A: float = 0.0,
) -> np.ndarray:
    """Return the dc mixing voltage <I(t) R(t)> (V) of an ST-FMR spectrum.

    I0_A: peak rf current (A). delta_R_amr_Ohm: AMR amplitude in
    R(phi) = R_perp + Delta_R*cos^2(phi) (Ohm). b_dl_per_A_T, b_fl_per_A_T:
    effective fields per ampere of current through the device (T/A). I_dc_A: dc
    current through the device (A), whose torques change the damping and the field.
    """
    field = np.asarray(field_T, dtype=float)
    phi = np.where(field < 0, phi_rad + np.pi, phi_rad)
    m2 = transverse_response(
        field, freq_Hz, phi_rad, b_dl_per_A_T * I0_A, b_fl_per_A_T * I0_A, magnet,
        b_dl_per_A_T * I_dc_A, b_fl_per_A_T * I_dc_A,
    )
    dR_dphi = -delta_R_amr_Ohm * np.sin(2.0 * phi)
    return 0.5 * I0_A * dR_dphi * m2.real
