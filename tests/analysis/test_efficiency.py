"""Absolute-method efficiencies: the docs/physics.md §4 formula, propagated uncertainties, polarity, ratio method, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest
import uncertainties

from stfmr.analysis.constants import MU0, TWO_E_OVER_HBAR, gyromagnetic_ratio
from stfmr.analysis.efficiency import (
    EfficiencyInputError,
    absolute_efficiencies,
    amplitudes_from_fields,
    efficiencies_from_fits,
    fields_per_current,
    oersted_efficiency,
)
from stfmr.analysis.sample import SampleMetadata

SAMPLE = SampleMetadata(
    name="A1", Ms_t_A=4.0e-3, Ms_t_stderr_A=0.1e-3, resistivity_uOhm_cm=67.0, length_um=100.0, width_um=10.0,
    stack="Ta-B(3)/Ni-Fe(5)/MgO", setup_polarity=1,
)
BASE = dict(V_S0=12e-6, V_A0=9e-6, H_r_mT=110.0, dH_mT=4.5, mu0_Meff_T=0.85, I0_A=7e-3, delta_R_Ohm=0.55, R_Ohm=230.0)


def physics_formula(V_S0, V_A0, H_r_mT, dH_mT, mu0_Meff_T, I0_A, delta_R_Ohm, R_Ohm, Ms_t, L):
    """docs/physics.md §4, written out independently (vectorised)."""
    b_r, d_b, m = H_r_mT * 1e-3, dH_mT * 1e-3, mu0_Meff_T
    common = TWO_E_OVER_HBAR * Ms_t * L * (2 * b_r + m) * d_b / (I0_A**2 * R_Ohm * delta_R_Ohm)
    return common * V_S0 / np.sqrt(b_r * (b_r + m)), common * V_A0 / (b_r + m)


def test_exact_inputs_match_physics_formula_and_derived_quantities():
    eff = absolute_efficiencies(**BASE, sample=SAMPLE, g=2.1)
    xi_dl, xi_fl = physics_formula(**BASE, Ms_t=SAMPLE.Ms_t_A, L=SAMPLE.length_m)
    assert eff.value("xi_DL_E") == pytest.approx(xi_dl, rel=1e-12)
    assert eff.value("xi_FL_Oe_E") == pytest.approx(xi_fl, rel=1e-12)
    assert eff.value("xi_DL_j") == pytest.approx(xi_dl * 67e-8, rel=1e-12)
    # xi^E = (2e/hbar)*(Ms t/gamma)*T/E
    gamma = gyromagnetic_ratio(2.1)
    assert eff.value("T_DL_per_E") == pytest.approx(xi_dl * gamma / (TWO_E_OVER_HBAR * SAMPLE.Ms_t_A), rel=1e-12)
    assert eff.value("T_FL_per_E") == pytest.approx(xi_fl * gamma / (TWO_E_OVER_HBAR * SAMPLE.Ms_t_A), rel=1e-12)
    d = eff.to_dict()
    for key in ("xi_DL_E", "xi_FL_Oe_E", "xi_DL_j", "xi_FL_Oe_j", "T_DL_per_E", "T_FL_per_E"):
        assert set(d[key]) == {"value", "stderr"}
    assert d["ratio_method_xi_DL_E"] is None
    # only Ms_t carries an uncertainty here: relative stderr is exactly that of Ms_t
    assert eff.stderr("xi_DL_E") / eff.value("xi_DL_E") == pytest.approx(0.1 / 4.0, rel=1e-9)


def test_negative_branch_resonance_field_uses_magnitude():
    a = absolute_efficiencies(**BASE, sample=SAMPLE)
    b = absolute_efficiencies(**{**BASE, "H_r_mT": -110.0}, sample=SAMPLE)
    assert a.value("xi_DL_E") == b.value("xi_DL_E")


def test_setup_polarity_multiplies_voltages():
    flipped = SampleMetadata.from_dict({**SAMPLE.to_dict(), "setup_polarity": -1})
    a = absolute_efficiencies(**BASE, sample=SAMPLE)
    b = absolute_efficiencies(**BASE, sample=flipped)
    assert b.value("xi_DL_E") == pytest.approx(-a.value("xi_DL_E"))
    assert b.value("xi_FL_Oe_E") == pytest.approx(-a.value("xi_FL_Oe_E"))
    assert b.to_dict()["setup_polarity"] == -1


def test_analytic_partial_derivative_for_I0():
    """xi ~ 1/I_0^2: the relative stderr from I_0 alone is 2*sigma_I/I_0."""
    exact = SampleMetadata.from_dict({**SAMPLE.to_dict(), "Ms_t_stderr_A": 0.0})
    eff = absolute_efficiencies(**{**BASE, "I0_A": (7e-3, 0.14e-3)}, sample=exact)
    assert eff.stderr("xi_DL_E") / eff.value("xi_DL_E") == pytest.approx(2 * 0.14 / 7.0, rel=1e-9)
    assert eff.stderr("xi_FL_Oe_E") / eff.value("xi_FL_Oe_E") == pytest.approx(2 * 0.14 / 7.0, rel=1e-9)


def test_propagation_matches_monte_carlo_with_correlations(rng):
    """Every input uncertain, V_S0/V_A0 and H_r/dH correlated: linear propagation vs 40000 draws."""
    cov_v = np.array([[0.3e-6**2, 0.6 * 0.3e-6 * 0.25e-6], [0.6 * 0.3e-6 * 0.25e-6, 0.25e-6**2]])
    cov_h = np.array([[0.2**2, -0.3 * 0.2 * 0.1], [-0.3 * 0.2 * 0.1, 0.1**2]])
    v_s, v_a = uncertainties.correlated_values([12e-6, 9e-6], cov_v)
    h_r, dh = uncertainties.correlated_values([110.0, 4.5], cov_h)
    sig = dict(meff=0.01, i0=0.1e-3, dr=0.01, r=2.0, L=1.0)
    eff = absolute_efficiencies(
        V_S0=v_s, V_A0=v_a, H_r_mT=h_r, dH_mT=dh, mu0_Meff_T=(0.85, sig["meff"]), I0_A=(7e-3, sig["i0"]),
        delta_R_Ohm=(0.55, sig["dr"]), R_Ohm=(230.0, sig["r"]), sample=SAMPLE, length_stderr_um=sig["L"],
    )
    n = 40000
    vs, va = rng.multivariate_normal([12e-6, 9e-6], cov_v, n).T
    hr, dhs = rng.multivariate_normal([110.0, 4.5], cov_h, n).T
    draws = physics_formula(
        vs, va, hr, dhs, rng.normal(0.85, sig["meff"], n), rng.normal(7e-3, sig["i0"], n),
        rng.normal(0.55, sig["dr"], n), rng.normal(230.0, sig["r"], n),
        rng.normal(SAMPLE.Ms_t_A, SAMPLE.Ms_t_stderr_A, n), rng.normal(100e-6, 1e-6, n),
    )
    for name, mc in zip(("xi_DL_E", "xi_FL_Oe_E"), draws):
        assert eff.stderr(name) == pytest.approx(np.std(mc), rel=0.05)
        assert eff.value(name) == pytest.approx(np.mean(mc), rel=0.01)
    corr_mc = np.corrcoef(draws[0], draws[1])[0, 1]
    corr_lin = uncertainties.correlation_matrix([eff.xi_DL_E, eff.xi_FL_Oe_E])[0, 1]
    assert corr_lin == pytest.approx(corr_mc, abs=0.03)


def test_ratio_method_equals_absolute_for_pure_oersted_field_like_torque():
    t_n_nm, rho_n = 3.0, 180.0
    xi_oe = oersted_efficiency(SAMPLE.Ms_t_A, t_n_nm * 1e-9, rho_n * 1e-8)
    assert xi_oe == pytest.approx(TWO_E_OVER_HBAR * 4e-3 * MU0 * 3e-9 / (2 * 180e-8))
    xi_dl = 25000.0
    b_dl, b_fl = fields_per_current(xi_dl, xi_oe, 230.0, SAMPLE.length_m, SAMPLE.Ms_t_A)
    v_s0, v_a0 = amplitudes_from_fields(b_dl * 7e-3, b_fl * 7e-3, 7e-3, 110.0, 4.5, 0.85, 0.55)
    eff = absolute_efficiencies(
        **{**BASE, "V_S0": v_s0, "V_A0": v_a0}, sample=SAMPLE,
        underlayer_thickness_nm=t_n_nm, underlayer_resistivity_uOhm_cm=rho_n,
    )
    assert eff.value("ratio_method_xi_DL_E") == pytest.approx(xi_dl, rel=1e-9)
    assert eff.value("xi_DL_E") == pytest.approx(xi_dl, rel=1e-9)
    assert set(eff.to_dict()["ratio_method_xi_DL_E"]) == {"value", "stderr"}


def test_efficiencies_from_fits_chain(rng):
    """Real fit objects in, correlated results out, close to the exact values."""
    from stfmr.analysis.angular import fit_angular
    from stfmr.analysis.calibration import calibrate_rf_current, fit_amr
    from stfmr.analysis.resonance import fit_kittel, resonance_field_mT
    from stfmr.analysis.spectrum_fit import fit_spectrum
    from stfmr.analysis.lineshape import antisymmetric, symmetric

    angles = np.arange(0.0, 360.0, 10.0)
    k = np.cos(np.radians(angles)) ** 2 * np.sin(np.radians(angles))
    ang = fit_angular(angles, 12e-6 * k + rng.normal(0, 5e-8, k.size), 9e-6 * k + rng.normal(0, 5e-8, k.size))
    field = np.linspace(60.0, 160.0, 201)
    volts = 3e-6 * symmetric(field, 110.0, 4.5) + 2e-6 * antisymmetric(field, 110.0, 4.5) + rng.normal(0, 2e-8, field.size)
    spec = fit_spectrum(field, volts)
    freqs = np.array([4.0, 6.0, 8.0, 10.0, 12.0])
    kit = fit_kittel(freqs, resonance_field_mT(freqs, 0.85, 2.1) + rng.normal(0, 0.2, freqs.size))
    amr = fit_amr(angles, 230 + 0.55 * np.cos(np.radians(angles)) ** 2 + rng.normal(0, 0.002, angles.size))
    i_dc = np.linspace(-5, 5, 11)
    p = np.linspace(0, 15, 6)
    cal = calibrate_rf_current(i_dc, 229 + 2e3 * (i_dc * 1e-3) ** 2, p, 229 + 2.0 * 1e-3 * 10 ** (p / 10) + rng.normal(0, 1e-4, p.size))
    eff = efficiencies_from_fits(angular=ang, spectrum=spec, kittel=kit, I0_A=cal.I0(15.0), amr=amr, R_Ohm=230.0, sample=SAMPLE)
    exact = physics_formula(12e-6, 9e-6, 110.0, 4.5, 0.85, math.sqrt(2 * 2.0 * 10 ** 1.5 * 1e-3 / 2e3), 0.55, 230.0, 4e-3, 100e-6)
    assert eff.value("xi_DL_E") == pytest.approx(exact[0], rel=0.1)
    assert eff.value("xi_FL_Oe_E") == pytest.approx(exact[1], rel=0.1)
    assert eff.stderr("xi_DL_E") > 0 and eff.stderr("T_FL_per_E") > 0


@pytest.mark.parametrize(
    "change, word",
    [
        ({"I0_A": 0.0}, "I_0"),
        ({"I0_A": -1e-3}, "I_0"),
        ({"dH_mT": -4.5}, "dH"),
        ({"H_r_mT": 0.0}, "H_r"),
        ({"R_Ohm": float("nan")}, "R (Ohm)"),
        ({"V_S0": float("nan")}, "V_S0"),
        ({"delta_R_Ohm": 0.0}, "Delta_R_AMR"),
        ({"mu0_Meff_T": -0.5}, "M_eff"),
        ({"V_A0": (1e-6, -1.0)}, "V_A0"),
        ({"V_A0": (1e-6, 1.0, 2.0)}, "V_A0"),
        ({"R_Ohm": "abc"}, "R (Ohm)"),
    ],
)
def test_refusals_name_the_input(change, word):
    with pytest.raises(EfficiencyInputError, match=word.replace("(", r"\(").replace(")", r"\)")):
        absolute_efficiencies(**{**BASE, **change}, sample=SAMPLE)


def test_refuses_missing_sample_and_zero_v_a_for_ratio():
    with pytest.raises(EfficiencyInputError, match="sample"):
        absolute_efficiencies(**BASE, sample={"name": "x"})
    with pytest.raises(EfficiencyInputError, match="V_A0 is zero"):
        absolute_efficiencies(**{**BASE, "V_A0": 0.0}, sample=SAMPLE, underlayer_thickness_nm=3.0)
    assert issubclass(EfficiencyInputError, ValueError)
