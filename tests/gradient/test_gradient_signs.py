"""Signs of the model's torques, derived by hand from limits, and the identity behind case IV.

Convention (section 1 of the physics notes): tau = tau_DL*m x (m x y) + tau_FL*m x y, with
m = x, so the damping-like direction is m x (m x y) = -y and the field-like one m x y = +z.
xi_FL > 0 is the sign of the Oersted field of a conducting layer below (B along -y).
"""

import tomllib
from dataclasses import replace
from importlib import resources

import numpy as np
import pytest

from stfmr.analysis.constants import E_CHARGE, HBAR, gyromagnetic_ratio
from stfmr.analysis.gradient.cases import CASE_NAMES, case_stack
from stfmr.analysis.gradient.compositions import CompositionError, load_compositions, table_from_dict
from stfmr.analysis.gradient.solver import NM, solve
from stfmr.analysis.gradient.stack import Stack, StackError, stack_from_dict
from stfmr.analysis.gradient.torques import (
    evaluate,
    oersted_field_per_E,
    spin_torque_density,
    torque_on_magnetization,
)

X, Y, Z = np.eye(3)
G = 2.1


def by_hand(u_vec, sigma, l_J, l_phi, s_J, ms):
    """dm/dt (rad/s per V/m) of m = x from the continuity equation's torque terms, by vectors.

    The spin accumulation loses N = (hbar/2e)*sigma*(s_J*(u x m)/l_J^2 + m x (u x m)/l_phi^2)
    per volume and time; the magnetization gains it: dL/dt = N with M = -gamma*L (electron).
    """
    m = X
    n = (HBAR / (2 * E_CHARGE)) * sigma * (s_J * np.cross(u_vec, m) / l_J**2 + np.cross(m, np.cross(u_vec, m)) / l_phi**2)
    return -gyromagnetic_ratio(G) * n / ms


@pytest.mark.parametrize("s_J", [1, -1])
@pytest.mark.parametrize("u_y, u_z", [(1.0, 0.0), (0.3, -0.7), (-0.4, 0.9)])
def test_local_torque_is_the_projection_of_minus_gamma_N_over_Ms(u_y, u_z, s_J):
    sigma, l_J, l_phi, ms = 3e6, 1.5 * NM, 2.0 * NM, 8e5
    dmdt = by_hand(np.array([0.0, u_y, u_z]) * 1e-9, sigma, l_J, l_phi, s_J, ms)
    factor = 1 / l_phi**2 - 1j * s_J / l_J**2
    tau = torque_on_magnetization(spin_torque_density(sigma, factor, complex(u_y, u_z) * 1e-9), ms, G)
    dl_direction, fl_direction = np.cross(X, np.cross(X, Y)), np.cross(X, Y)
    assert tau.real == pytest.approx(dmdt @ dl_direction, rel=1e-12)
    assert tau.imag == pytest.approx(dmdt @ fl_direction, rel=1e-12)


def test_static_plus_y_accumulation_is_an_exchange_field_along_minus_y_like_the_underlayer_oersted_field():
    """The hand limit: u = +y, no dephasing, s_J = +1 (ferromagnetic s-d coupling).

    The exchange torque s_J*(u x m) = y x x = -z is the angular momentum the accumulation
    hands over; dm/dt = -gamma*N/M_s is then along +z, which is -gamma*m x B with B along -y:
    an exchange field along -y, the direction of the Oersted field above a conducting underlayer.
    """
    dmdt = by_hand(np.array([0.0, 1e-9, 0.0]), 3e6, 1.5 * NM, 1e6 * NM, +1, 8e5)
    assert dmdt @ Z > 0 and abs(dmdt @ Y) < 1e-9 * abs(dmdt @ Z)
    b_exchange_y = -(dmdt @ Z) / gyromagnetic_ratio(G)  # dm/dt = -gamma*x x (B_y*y) = -gamma*B_y*z
    assert b_exchange_y < 0
    tau = torque_on_magnetization(spin_torque_density(3e6, -1j / (1.5 * NM) ** 2, 1e-9), 8e5, G)
    assert tau.imag > 0 and abs(tau.real) < 1e-12 * tau.imag


def _pt_like_under_thin_ferromagnet(s_J):
    """A theta > 0 sink below a ferromagnet thin against l_J and without dephasing: u ~ +y, static."""
    return stack_from_dict({
        "model": {"lambda_J_sign": s_J, "slice_nm": 0.25},
        "layer": [
            {"name": "Pt", "role": "sink", "thickness_nm": 4.0, "rho_uOhm_cm": 20.0, "theta_SH": 0.1, "l_sf_nm": 1.5},
            {"name": "F", "role": "ferromagnet", "thickness_nm": 0.5, "rho_uOhm_cm": 30.0, "theta_SH": 0.0,
             "l_sf_nm": 1.0, "l_J_nm": 10.0, "l_phi_nm": 1e6, "mu0Ms_T": 1.0},
        ],
    })


def test_full_solve_gives_the_field_like_torque_the_sign_of_the_oersted_field():
    plus = evaluate(_pt_like_under_thin_ferromagnet(+1))
    # the static limit: a +y accumulation, hardly precessed
    assert np.all(plus.u_y > 0) and np.all(np.abs(plus.u_z) < 0.05 * plus.u_y)
    assert np.all(oersted_field_per_E(plus.solution)[plus.solution.mesh.is_fm] < 0)  # B_y < 0 above the sink
    assert plus.xi_Oe_E > 0 and plus.xi_FL_E > 0  # same sign, as the hand limit says
    assert np.all(plus.tau_FL_per_E > 0)
    minus = evaluate(_pt_like_under_thin_ferromagnet(-1))  # antiferromagnetic coupling: field along +y
    assert minus.xi_FL_E == pytest.approx(-plus.xi_FL_E, rel=1e-9)


def test_the_pt_reference_keeps_xi_DL_positive():
    stack = stack_from_dict({
        "layer": [
            {"name": "Pt", "role": "sink", "thickness_nm": 4.0, "rho_uOhm_cm": 20.0, "theta_SH": 0.1, "l_sf_nm": 1.5},
            {"name": "Py", "role": "ferromagnet", "thickness_nm": 5.0, "rho_uOhm_cm": 30.0, "theta_SH": 0.0,
             "l_sf_nm": 5.0, "l_J_nm": 1.0, "l_phi_nm": 1.0, "mu0Ms_T": 1.0},
        ],
    })
    r = evaluate(stack)
    assert r.xi_DL_E > 0 and r.selected.xi_FL_Oe_E > 0


def test_uniform_spin_lengths_make_the_DL_total_the_interface_spin_current_times_c_over_kappa2():
    """Integrating dj/dz = -sigma*kappa^2*u over the film: sum(N dz) = (hbar/2e)*(c/kappa^2)*j_int.

    So xi_DL (macrospin; equal to local-average at uniform M_s) = Re[(c/kappa^2)*j_int], whatever
    rho and theta do inside the film: a rho gradient (case IV) only moves the source around.
    """
    table = load_compositions()
    c = 1 / (table.l_phi_nm * NM) ** 2 - 1j * table.lambda_J_sign / (table.l_J_nm * NM) ** 2
    kappa2 = 1 / (table.l_sf_nm * NM) ** 2 + c
    for name in CASE_NAMES:
        stack = case_stack(name, table)
        solution = solve(stack)
        first_fm_node = int(np.argmax(solution.mesh.is_fm))
        j_int = solution.j_nodes[first_fm_node]
        identity = (c / kappa2 * j_int).real
        r = evaluate(stack)
        assert r.totals["macrospin"].xi_DL_E == pytest.approx(identity, rel=1e-9), name
        if name.startswith(("I-", "III-", "IV-")):  # uniform M_s: both weightings agree
            assert r.totals["local-average"].xi_DL_E == pytest.approx(identity, rel=1e-9), name


def test_lambda_J_sign_must_be_plus_or_minus_one_not_a_boolean():
    default = tomllib.loads(
        resources.files("stfmr.analysis.gradient").joinpath("data/compositions.toml").read_text("utf-8")
    )
    default["model"]["lambda_J_sign"] = True
    with pytest.raises(CompositionError, match="lambda_J_sign.*True"):
        table_from_dict(default)
    table = load_compositions()
    with pytest.raises(CompositionError, match="lambda_J_sign.*boolean is not a sign"):
        replace(table, lambda_J_sign=True)
    with pytest.raises(StackError, match="lambda_J_sign.*boolean is not a sign"):
        Stack(layers=case_stack("I-A", table).layers, lambda_J_sign=True)
    with pytest.raises(StackError, match="lambda_J_sign.*got 0"):
        Stack(layers=case_stack("I-A", table).layers, lambda_J_sign=0)
    with pytest.raises(StackError, match="lambda_J_sign.*True"):
        stack_from_dict({"model": {"lambda_J_sign": True}, "layer": [
            {"name": "F", "role": "ferromagnet", "thickness_nm": 1.0, "rho_uOhm_cm": 30.0, "theta_SH": 0.0,
             "l_sf_nm": 1.0, "l_J_nm": 1.0, "l_phi_nm": 1.0, "mu0Ms_T": 1.0}]})
