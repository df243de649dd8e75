"""docs/physics.md §1, §3 and §9 [derived]: the full vector LLG, integrated in time, against the linear response.

``instruments/sim/llg.py`` linearises the Landau-Lifshitz-Gilbert equation by
hand (its torque projections carry the sign convention of docs/physics.md §1),
and the closed forms of ``analysis/efficiency.py`` and ``analysis/dc_bias.py``
were derived for stfmr. Here nothing is linearised: the torques are written as
vectors (sigma = -y for the damping-like torque, a field -B_FL*y for the
field-like one), the unit vector m(t) is integrated with a fixed-step RK4 over
many rf periods, and the rectified voltage is the time average of I(t)*R(m(t)).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from stfmr.analysis.constants import TWO_E_OVER_HBAR, gyromagnetic_ratio
from stfmr.analysis.dc_bias import damping_slope_per_A
from stfmr.analysis.resonance import linewidth_mT, resonance_field_mT
from stfmr.instruments.sim.llg import MagnetParams, mixing_voltage

G = 2.1
GAMMA = gyromagnetic_ratio(G)
SIGMA = np.array([0.0, -1.0, 0.0])  # spin polarization of a theta_SH > 0 layer below (docs/physics.md §1)
Y = np.array([0.0, 1.0, 0.0])


def _cross(a, b):
    """a x b for vectors stored along axis 0 (faster than np.cross for many small systems)."""
    return np.stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _torque_rate(m, field, meff, alpha, b_dl):
    """dm/dt of the Gilbert-form LLG with a damping-like torque: m, field of shape (3, n), b_dl of shape (n,).

    dm/dt = -gamma m x B + alpha m x dm/dt + gamma b_dl m x (sigma x m), with B = field - meff*m_z z.
    Both driving terms are perpendicular to m, so dm/dt = (F + alpha m x F)/(1 + alpha^2).
    """
    b = field.copy()
    b[2] -= meff * m[2]
    f = -GAMMA * _cross(m, b)
    f += GAMMA * b_dl * _cross(m, _cross(SIGMA[:, None] * np.ones_like(m), m))
    return (f + alpha * _cross(m, f)) / (1.0 + alpha * alpha)


def _integrate(m0, applied, meff, alpha, current, b_dl_per_A, b_fl_per_A, t_end, dt, sample_from=None, samples=None):
    """RK4 from m0 (3, n) to t_end (s) at step dt; current(t) in A. Returns m at the sample times (after sample_from)."""
    m = m0.copy()
    out = []
    steps = int(round(t_end / dt))
    take = set() if samples is None else set(samples)

    def rate(t, mm):
        i = current(t)
        field = applied - (b_fl_per_A * i)[None, :] * Y[:, None]  # the field-like torque: a field -B_FL*y
        return _torque_rate(mm, field, meff, alpha, b_dl_per_A * i)

    for k in range(steps):
        if k in take:
            out.append(m.copy())
        t = k * dt
        k1 = rate(t, m)
        k2 = rate(t + dt / 2, m + dt / 2 * k1)
        k3 = rate(t + dt / 2, m + dt / 2 * k2)
        k4 = rate(t + dt, m + dt * k3)
        m = m + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        m /= np.linalg.norm(m, axis=0)
    return m, out


def test_time_domain_llg_gives_the_linear_response_and_the_section_1_signs():
    magnet = MagnetParams(mu0_Meff_T=0.6, g=G, alpha=0.05, mu0_dH0_T=0.0)
    freq, phi, i0, delta_r = 8e9, math.radians(40.0), 4e-3, 1.0
    h_r = resonance_field_mT(freq / 1e9, magnet.mu0_Meff_T, G) * 1e-3
    dh = linewidth_mT(freq / 1e9, magnet.alpha, 0.0, G) * 1e-3
    offsets = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    # three torque sets (damping-like alone, field-like alone, both) x 5 fields x 2 branches
    b_per_A = [(5e-3, 0.0), (0.0, 5e-3), (5e-3, -3e-3)]
    fields, b_dl, b_fl = [], [], []
    for dl, fl in b_per_A:
        for branch in (1.0, -1.0):
            for x in offsets:
                fields.append(branch * (h_r + x * dh))
                b_dl.append(dl)
                b_fl.append(fl)
    fields, b_dl, b_fl = np.array(fields), np.array(b_dl), np.array(b_fl)
    direction = np.array([math.cos(phi), math.sin(phi), 0.0])
    applied = direction[:, None] * fields[None, :]  # a negative field points along phi + 180 deg
    m0 = direction[:, None] * np.sign(fields)[None, :]
    omega = 2 * math.pi * freq
    period, per_period, settle, average = 1 / freq, 50, 34, 6
    dt = period / per_period
    sample_steps = range(settle * per_period, (settle + average) * per_period)
    _, ms = _integrate(m0, applied, magnet.mu0_Meff_T, magnet.alpha, lambda t: i0 * math.cos(omega * t),
                       b_dl, b_fl, (settle + average) * period, dt, samples=sample_steps)
    t = np.array(list(sample_steps)) * dt
    m_x = np.array([m[0] for m in ms])  # (samples, n)
    v_time = np.mean((i0 * np.cos(omega * t))[:, None] * delta_r * m_x**2, axis=0)  # <I R>; R_perp averages out
    v_lin = np.array([
        mixing_voltage(f, freq, phi, i0, delta_r, dl, fl, magnet) for f, dl, fl in zip(fields, b_dl, b_fl)
    ]).ravel()
    scale = np.abs(v_lin).max()
    np.testing.assert_allclose(v_time, v_lin, rtol=0, atol=2e-4 * scale)
    v = v_time.reshape(3, 2, 5)
    # damping-like alone (sigma = -y, B_DL > 0): a symmetric line, positive on +H, reversed on -H
    assert v[0, 0, 2] > 0 and v[0, 1, 2] == pytest.approx(-v[0, 0, 2], rel=1e-3)
    assert abs(v[0, 0, 3] - v[0, 0, 1]) < 0.05 * v[0, 0, 2]
    # field-like alone (a field -B_FL*y, like the Oersted field of a layer below): positive V_A,
    # i.e. the line is positive above resonance and negative below it on +H
    assert v[1, 0, 3] > 0 > v[1, 0, 1] and abs(v[1, 0, 2]) < 0.05 * v[1, 0, 3]


@pytest.mark.parametrize("phi_deg", [60.0, 240.0])
def test_time_domain_dc_torque_changes_the_relaxation_rate_as_section_9(phi_deg):
    """A dc current's damping-like torque shifts the relaxation rate by gamma*B_dc*sin(phi), as the closed form says."""
    meff, alpha = 0.6, 0.02
    b_r = 0.1
    phi = math.radians(phi_deg)
    r_ohm, length_m, ms_t_a, xi = 800.0, 100e-6, 4e-3, 5e5
    b_per_A = xi * r_ohm / (length_m * TWO_E_OVER_HBAR * ms_t_a)  # docs/physics.md §4: xi^E = (2e/hbar)*M_s*t*B/E
    i_dc = 4e-3
    currents = np.array([-i_dc, -i_dc, i_dc, i_dc])
    direction = np.array([math.cos(phi), math.sin(phi), 0.0])
    applied = direction[:, None] * np.full(4, b_r)[None, :]
    # two starts per current, kicked differently: their difference is the free mode, static tilt removed
    e2 = np.array([-math.sin(phi), math.cos(phi), 0.0])
    kick = np.array([1e-3, -2e-3, 1e-3, -2e-3])
    m0 = direction[:, None] + e2[:, None] * kick[None, :]
    m0 /= np.linalg.norm(m0, axis=0)
    f_k = GAMMA * math.sqrt(b_r * (b_r + meff)) / (2 * math.pi)
    per_period, periods = 50, 24
    dt = 1 / f_k / per_period
    samples = range(0, periods * per_period, 4)
    # a constant dc current: b_DL = b_per_A*I_dc in each system (no field-like part, so no static field shift)
    _, ms = _integrate(m0, applied, meff, alpha, lambda t: 1.0, b_per_A * currents, np.zeros(4),
                       periods / f_k, dt, samples=samples)
    t = np.array(list(samples)) * dt
    rates = []
    for a, b in ((0, 1), (2, 3)):
        d = np.array([mm[:, a] - mm[:, b] for mm in ms])  # (samples, 3)
        d2 = d @ e2
        d3 = d[:, 2]
        q = b_r * d2**2 + (b_r + meff) * d3**2  # the undamped mode's invariant: decays as exp(-2*Gamma*t)
        slope = np.polyfit(t, np.log(q), 1)[0]
        rates.append(-slope / 2)
    gamma_minus, gamma_plus = rates
    # relaxation rate of the in-plane mode: alpha_eff*gamma*(B_r + mu0*M_eff/2)
    d_alpha_measured = (gamma_plus - gamma_minus) / (2 * i_dc) / (GAMMA * (b_r + meff / 2))
    d_alpha_closed = damping_slope_per_A(xi, r_ohm, length_m, ms_t_a, b_r, meff, phi_deg)
    assert d_alpha_measured == pytest.approx(d_alpha_closed, rel=5e-3)
    # sign: a positive current anti-damps where sin(phi) > 0 (sigma = -y, xi > 0)
    assert np.sign(gamma_plus - gamma_minus) == -np.sign(math.sin(phi))
