"""The drift-diffusion solver against closed forms and two independent methods."""

import numpy as np
import pytest
from stfmr.analysis.constants import TWO_E_OVER_HBAR
from stfmr.analysis.gradient.reference import (
    finite_difference_torque,
    oersted_integral_closed_form,
    richardson_torque,
    transfer_matrix_torque,
)
from stfmr.analysis.gradient.solver import NM, UOHM_CM, solve
from stfmr.analysis.gradient.stack import stack_from_dict
from stfmr.analysis.gradient.torques import evaluate, torque_from_xi, xi_from_torque
from support.stacks import layer


def make(layers, **model):
    return stack_from_dict({"model": model, "layer": layers})


def total_torque(result):
    """sum(N dz) per E (J m^-2 per V/m) from the macrospin efficiencies.

    xi_DL + i*xi_FL = (2e/hbar)*conj(sum(N dz)): the magnetization receives N, dm/dt = -gamma*N/M_s.
    """
    t = result.totals["macrospin"]
    return complex(t.xi_DL_E, -t.xi_FL_E) / TWO_E_OVER_HBAR


def random_stack(rng, *, gmix=False):
    layers = [layer("sink", "N", rng.uniform(0.5, 4), rng.uniform(20, 250), rng.uniform(-0.2, 0.2), rng.uniform(0.8, 3))]
    for i in range(int(rng.integers(1, 6))):
        layers.append(
            layer(
                "ferromagnet",
                f"F{i}",
                rng.uniform(0.3, 2),
                rng.uniform(20, 80),
                rng.uniform(-0.05, 0.05),
                rng.uniform(1.5, 5),
                rng.uniform(1, 2),
                rng.uniform(1, 4),
                rng.uniform(0.5, 1.7),
            )
        )
    if gmix:
        layers[1]["G_mix_S_per_m2"] = rng.uniform(1e14, 1e15)
        layers[1]["G_mix_imag_S_per_m2"] = rng.uniform(-1e14, 1e14)
    return make(layers, slice_nm=float(rng.uniform(0.1, 0.7)), lambda_J_sign=int(rng.choice([-1, 1])))


def test_uniform_layer_without_sink_matches_sinh_solution():
    t, rho, theta, lsf, lj, lphi = 4.0, 30.0, 0.05, 3.0, 1.2, 2.0
    stack = make([layer("ferromagnet", "F", t, rho, theta, lsf, lj, lphi, 1.0)], slice_nm=0.25)
    sol = solve(stack)
    sigma = 1 / (rho * UOHM_CM)
    k = np.sqrt(1 / (lsf * NM) ** 2 + 1 / (lphi * NM) ** 2 - 1j / (lj * NM) ** 2)
    z = np.concatenate([[0.0], np.cumsum(sol.mesh.h)])
    exact = theta / k * np.sinh(k * (z - t * NM / 2)) / np.cosh(k * t * NM / 2)  # s/(sigma k), s = theta*sigma*E
    np.testing.assert_allclose(sol.u_nodes, exact, rtol=1e-10, atol=1e-12 * abs(exact).max())
    # u_y antisymmetric about the centre, so the uniform film has no net torque
    np.testing.assert_allclose(sol.u_nodes.real, -sol.u_nodes.real[::-1], atol=1e-12 * abs(exact).max())
    r = evaluate(stack)
    assert abs(r.T_DL_per_E) < 1e-9 * abs(r.tau_DL_per_E).max()
    assert r.tau_DL_per_E[0] < 0 < r.tau_DL_per_E[-1]
    # current is zero at both surfaces
    assert abs(sol.j_nodes[0]) < 1e-9 * theta * sigma and abs(sol.j_nodes[-1]) < 1e-9 * theta * sigma


def pt_py(lphi, rho_f=20.0, t_f=5.0):
    return make(
        [
            layer("sink", "Pt", 4.0, 20.0, 0.1, 1.5),
            layer("ferromagnet", "Py", t_f, rho_f, 0.0, 5.0, 1.0, lphi, 1.0),
        ]
    )


def backflow_closed_form(lphi, rho_f=20.0, t_f=5.0, sign=1):
    """xi_DL^E of docs/physics.md §6.5's Pt check including back-flow (derived for this test).

    Sink: u = theta*E*l*sinh(z/l) + B*cosh(z/l) (j = 0 at z = 0); the ferromagnet
    (no spin Hall, j = 0 at the oxide) takes j = G*u(t) with G = sigma_F*k*tanh(k*t_F).
    Then j(t) = theta*sigma_N*E*g*(cosh T - 1)/(g*cosh T + sinh T), g = G*l/sigma_N,
    T = t/l, and the damping-like share of the absorbed current is Re(c/k^2).
    """
    sigma_n, ln, tn, theta = 1 / (20 * UOHM_CM), 1.5 * NM, 4.0 * NM, 0.1
    sigma_f = 1 / (rho_f * UOHM_CM)
    c = 1 / (lphi * NM) ** 2 - 1j * sign / (1.0 * NM) ** 2
    k2 = 1 / (5.0 * NM) ** 2 + c
    k = np.sqrt(k2)
    g = sigma_f * k * np.tanh(k * t_f * NM) * ln / sigma_n
    big_t = tn / ln
    j = theta * sigma_n * g * (np.cosh(big_t) - 1) / (g * np.cosh(big_t) + np.sinh(big_t))
    return (c / k2 * j).real


def test_pt_like_check_against_closed_form_with_backflow():
    no_backflow = 0.1 / (20 * UOHM_CM) * (1 - 1 / np.cosh(4 / 1.5))
    assert no_backflow == pytest.approx(4.3e5, rel=0.01)
    r = evaluate(pt_py(0.2))
    assert r.xi_DL_E == pytest.approx(backflow_closed_form(0.2), rel=1e-9)
    # back-flow lowers it by roughly ten percent, never raises it
    assert 0.8 * no_backflow < r.xi_DL_E < 0.95 * no_backflow
    # faster dephasing (a better spin sink) approaches the no-back-flow limit
    fast = evaluate(pt_py(0.005)).xi_DL_E
    assert r.xi_DL_E < fast < no_backflow and fast > 0.99 * no_backflow


def test_sign_conventions_of_section_1():
    r = evaluate(pt_py(0.5))
    assert r.xi_DL_E > 0  # Pt-like sink below: xi_DL > 0
    assert r.xi_Oe_E > 0  # current below the ferromagnet: xi_Oe > 0
    above = make(
        [layer("ferromagnet", "Py", 5.0, 20.0, 0.0, 5.0, 1.0, 0.5, 1.0), layer("sink", "Pt", 4.0, 20.0, 0.1, 1.5)]
    )
    ra = evaluate(above)
    assert ra.xi_DL_E == pytest.approx(-r.xi_DL_E, rel=1e-9)
    assert ra.xi_Oe_E == pytest.approx(-r.xi_Oe_E, rel=1e-9)


def test_lambda_J_sign_flips_the_field_like_torque_only():
    plus = evaluate(make(pt_py(0.5).to_dict()["layer"], lambda_J_sign=1))
    minus = evaluate(make(pt_py(0.5).to_dict()["layer"], lambda_J_sign=-1))
    assert plus.xi_FL_E != 0
    assert minus.xi_FL_E == pytest.approx(-plus.xi_FL_E, rel=1e-9)
    assert minus.xi_DL_E == pytest.approx(plus.xi_DL_E, rel=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_transfer_matrix_and_finite_differences_agree(seed):
    stack = random_stack(np.random.default_rng(seed), gmix=seed % 2 == 1)
    banded = total_torque(evaluate(stack))
    # shooting with 2x2 transfer matrices: a different formulation, exact arithmetic
    assert abs(transfer_matrix_torque(stack) - banded) < 1e-9 * abs(banded)
    # finite volumes, h^2-Richardson-extrapolated: a different discretization
    assert abs(richardson_torque(stack, 100) - banded) < 1e-6 * abs(banded)


def test_finite_differences_converge_as_h_squared():
    stack = random_stack(np.random.default_rng(42))
    exact = total_torque(evaluate(stack))
    errors = [abs(finite_difference_torque(stack, n) - exact) for n in (25, 50, 100)]
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    assert ratios == pytest.approx([4.0, 4.0], rel=0.05)


def test_results_do_not_depend_on_slice_size():
    base = random_stack(np.random.default_rng(7)).to_dict()
    totals = []
    for slice_nm in (0.5, 0.1, 0.013):
        base["model"]["slice_nm"] = slice_nm
        r = evaluate(stack_from_dict(base))
        totals.append([r.totals[w].xi_DL_E for w in ("local-average", "macrospin")] + [r.xi_FL_E, r.xi_Oe_E])
    np.testing.assert_allclose(totals[1], totals[0], rtol=1e-9)
    np.testing.assert_allclose(totals[2], totals[0], rtol=1e-9)


def test_slice_profiles_converge_to_the_midpoint_values():
    stack = make([layer("sink", "N", 3, 200, 0.1, 1.5), layer("ferromagnet", "F", 5, 30, 0.02, 3, 1.5, 2, 1.0)])
    fine = evaluate(make(stack.to_dict()["layer"], slice_nm=0.01))
    coarse = evaluate(make(stack.to_dict()["layer"], slice_nm=0.5))
    # slice averages on a 0.5 nm grid equal averages of the 0.01 nm profile over the same slices
    averaged = fine.u_y.reshape(-1, 50).mean(axis=1)
    np.testing.assert_allclose(coarse.u_y, averaged, rtol=1e-9, atol=1e-12 * abs(averaged).max())
    np.testing.assert_allclose(coarse.z_nm, np.arange(3.25, 8.0, 0.5))


def test_mixing_conductance_limits():
    layers = pt_py(0.5).to_dict()["layer"]
    plain = evaluate(make(layers)).xi_DL_E
    layers[1]["G_mix_S_per_m2"] = 1e22
    assert evaluate(make(layers)).xi_DL_E == pytest.approx(plain, rel=1e-5)
    layers[1]["G_mix_S_per_m2"] = 1e12
    assert abs(evaluate(make(layers)).xi_DL_E) < 0.01 * plain


def test_torque_xi_conversions():
    # gamma = 2.1*mu_B/hbar = 1.8469e11 rad/(s T), 2e/hbar = 3.0385e15
    xi = xi_from_torque(1000.0, 4.0e-3, 2.1)
    assert xi == pytest.approx(3.0385e15 * 4.0e-3 / 1.8469e11 * 1000.0, rel=2e-4)
    assert torque_from_xi(xi, 4.0e-3, 2.1) == pytest.approx(1000.0, rel=1e-12)
    r = evaluate(pt_py(0.5))
    for w in ("local-average", "macrospin"):
        t = r.totals[w]
        assert t.xi_DL_E == pytest.approx(xi_from_torque(t.T_DL_per_E, r.Ms_t_A, r.g), rel=1e-12)
    assert r.Ms_t_A == pytest.approx(1.0 / 4e-7 / np.pi * 5e-9, rel=1e-9)


def test_local_torque_is_gamma_N_over_Ms():
    stack = make([layer("sink", "N", 3, 200, 0.1, 1.5), layer("ferromagnet", "F", 2, 30, 0.0, 3, 1.5, 2, 0.8)])
    r = evaluate(stack)
    r2 = evaluate(make(stack.to_dict()["layer"][:1] + [dict(stack.to_dict()["layer"][1], mu0Ms_T=1.6)]))
    # the spin accumulation does not depend on M_s; the local torque goes as 1/M_s
    np.testing.assert_allclose(r2.u_y, r.u_y, rtol=1e-12)
    np.testing.assert_allclose(r2.tau_DL_per_E, r.tau_DL_per_E / 2, rtol=1e-12)


def test_oersted_field_against_layer_sums():
    stack = random_stack(np.random.default_rng(3))
    r = evaluate(stack, weighting="macrospin")
    assert r.xi_Oe_E == pytest.approx(TWO_E_OVER_HBAR * oersted_integral_closed_form(stack), rel=1e-10)


def test_oersted_of_a_graded_resistivity_alone():
    # no sink, uniform M_s: more current at the bottom gives a net positive self-Oersted efficiency
    graded = make([layer("ferromagnet", f"F{i}", 1, rho, 0, 3, 1.5, 2, 1.0) for i, rho in enumerate((20, 40, 60))])
    assert evaluate(graded).xi_Oe_E > 0
    assert evaluate(graded.reversed()).xi_Oe_E == pytest.approx(-evaluate(graded).xi_Oe_E, rel=1e-10)
    uniform = make([layer("ferromagnet", f"F{i}", 1, 40, 0, 3, 1.5, 2, 1.0) for i in range(3)])
    assert abs(evaluate(uniform).xi_Oe_E) < 1e-9 * evaluate(graded).xi_Oe_E


@pytest.mark.parametrize("weighting", ["local-average", "macrospin"])
def test_reversing_a_sinkless_stack_reverses_the_self_induced_torque(weighting):
    layers = [
        layer("ferromagnet", f"F{i}", 1.0, rho, theta, 3.0, 1.5, 2.0, ms)
        for i, (rho, theta, ms) in enumerate([(25, 0.03, 0.6), (35, 0.02, 0.9), (45, 0.015, 1.2), (60, 0.01, 1.6)])
    ]
    stack = make(layers, weighting=weighting)
    up, down = evaluate(stack), evaluate(stack.reversed())
    assert abs(up.T_DL_per_E) > 0
    assert down.T_DL_per_E == pytest.approx(-up.T_DL_per_E, rel=1e-9)
    assert down.T_FL_per_E == pytest.approx(-up.T_FL_per_E, rel=1e-9)
    np.testing.assert_allclose(down.tau_DL_per_E, -up.tau_DL_per_E[::-1], rtol=1e-9, atol=1e-12)


def test_macrospin_weighting_ignores_a_pure_Ms_gradient():
    def stack(ms_values, weighting):
        return make(
            [layer("sink", "N", 3, 200, 0.0, 1.5)]
            + [layer("ferromagnet", f"F{i}", 1, 35, 0.02, 3, 1.5, 2, ms) for i, ms in enumerate(ms_values)],
            weighting=weighting,
        )

    graded, flat = (0.6, 0.85, 1.0, 1.2, 1.6), (1.05,) * 5
    m_g, m_f = evaluate(stack(graded, "macrospin")), evaluate(stack(flat, "macrospin"))
    assert m_g.xi_DL_E == pytest.approx(m_f.xi_DL_E, rel=1e-12)
    assert m_g.xi_FL_E == pytest.approx(m_f.xi_FL_E, rel=1e-12)
    l_g, l_f = evaluate(stack(graded, "local-average")), evaluate(stack(flat, "local-average"))
    assert abs(l_g.xi_DL_E - l_f.xi_DL_E) > 0.5 * abs(l_f.xi_DL_E)  # but the local average sees it


def test_solver_handles_thick_stacks_without_overflow():
    stack = make([layer("sink", "N", 200, 200, 0.1, 1.0), layer("ferromagnet", "F", 300, 30, 0.02, 2, 1, 1, 1.0)])
    r = evaluate(stack)
    assert np.isfinite(r.xi_DL_E) and r.xi_DL_E > 0
    thin_sink_limit = 0.1 / (200 * UOHM_CM)  # 1 - sech(200) = 1
    assert r.xi_DL_E < thin_sink_limit


def test_net_torque_is_the_spin_current_from_the_sink_times_c_over_kappa2():
    """Integrating the continuity equation over a ferromagnet with uniform spin lengths."""
    rng = np.random.default_rng(11)
    layers = [layer("sink", "N", 3, 180, -0.1, 1.5)] + [
        layer("ferromagnet", f"F{i}", 1, rng.uniform(20, 60), rng.uniform(0, 0.04), 3, 1.5, 2, rng.uniform(0.6, 1.6))
        for i in range(5)
    ]
    stack = make(layers, slice_nm=0.3)
    r = evaluate(stack, weighting="macrospin")
    sol = r.solution
    j_in = sol.j_nodes[np.argmax(sol.mesh.is_fm)]  # total spin current at the sink/ferromagnet interface
    c = 1 / (2 * NM) ** 2 - 1j / (1.5 * NM) ** 2
    k2 = 1 / (3 * NM) ** 2 + c
    assert total_torque(r) == pytest.approx(complex(c / k2 * j_in) / TWO_E_OVER_HBAR, rel=1e-9)
