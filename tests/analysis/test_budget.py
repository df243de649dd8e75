"""The uncertainty budget of the efficiencies, and dH at the angle-sweep frequency from every spectrum."""

from __future__ import annotations

import math

import numpy as np
import pytest
import uncertainties

from stfmr.analysis.budget import efficiency_budgets, uncertainty_budget
from stfmr.analysis.characterize import combined_linewidth
from stfmr.analysis.efficiency import INPUT_NAMES, absolute_efficiencies, spectrum_ufloats
from stfmr.analysis.sample import SampleMetadata
from stfmr.analysis.spectrum_fit import fit_branches

from support import spectra

SAMPLE = SampleMetadata(name="A1", Ms_t_A=4.0e-3, Ms_t_stderr_A=0.04e-3, resistivity_uOhm_cm=67.0, length_um=100.0,
                        width_um=10.0, stack="Ta-B(3)/Ni-Fe(5)/MgO", setup_polarity=1)


def efficiencies(i0_stderr_A: float = 10e-6, dh=None):
    """Inputs with errors of every kind: correlated pairs from one fit (V_S0/V_A0, H_r/dH, R/Delta_R, M_eff/g)."""
    v_s, v_a = uncertainties.correlated_values([12e-6, 9e-6], [[4e-16, 1e-16], [1e-16, 4e-16]])
    h_r, d_h = uncertainties.correlated_values([110.0, 4.5], [[0.04, 0.006], [0.006, 0.01]])
    r, d_r = uncertainties.correlated_values([230.0, 0.55], [[1e-4, -3e-6], [-3e-6, 2e-6]])
    meff, g = uncertainties.correlated_values([0.85, 2.1], [[4e-6, 2e-6], [2e-6, 1e-4]])
    return absolute_efficiencies(V_S0=v_s, V_A0=v_a, H_r_mT=h_r, dH_mT=d_h if dh is None else dh, mu0_Meff_T=meff,
                                 g=g, I0_A=(7e-3, i0_stderr_A), delta_R_Ohm=d_r, R_Ohm=r, sample=SAMPLE,
                                 length_stderr_um=0.2)


@pytest.mark.parametrize("result", ["xi_DL_E", "xi_FL_Oe_E"])
def test_the_shares_add_to_one_and_reproduce_the_propagated_variance(result):
    eff = efficiencies()
    budget = efficiency_budgets(eff)[result]
    assert sum(s.share for s in budget.inputs) == pytest.approx(1.0, abs=1e-12)
    # the variance d.C.d of the budget is the one ``uncertainties`` propagated, correlations and all
    assert budget.variance == pytest.approx(eff.stderr(result) ** 2, rel=1e-9)
    assert budget.value == pytest.approx(eff.value(result), rel=1e-12)
    assert [s.name for s in budget.inputs] == sorted(INPUT_NAMES, key=lambda n: -abs(budget.share(n)))
    # each input alone: derivative^2 * variance, exactly the budget's share where it is uncorrelated
    i0 = next(s for s in budget.inputs if s.name == "I_0")
    assert i0.sensitivity == pytest.approx(-2.0)  # xi^E goes as 1/I_0^2
    assert i0.share == pytest.approx((2 * i0.stderr / i0.value) ** 2 * budget.value ** 2 / budget.variance, rel=1e-9)
    unused = "V_A0" if result == "xi_DL_E" else "V_S0"
    assert budget.share(unused) == 0 and budget.share("g") == 0  # neither enters this xi^E


@pytest.mark.parametrize("name, scale", [("I_0", 5.0), ("length", 10.0)])
def test_an_input_s_share_rises_when_its_error_is_inflated(name, scale):
    eff = efficiencies()
    before = uncertainty_budget(eff.inputs, "xi_DL_E")
    q = eff.inputs.quantities[name]
    inflated = uncertainties.ufloat(q.nominal_value, q.std_dev * scale)
    after_inputs = type(eff.inputs)(eff.inputs.quantities | {name: inflated}, eff.inputs.resistivity_Ohm_m)
    after = uncertainty_budget(after_inputs, "xi_DL_E")
    assert after.share(name) > before.share(name) + 0.05
    assert after.variance > before.variance
    assert sum(s.share for s in after.inputs) == pytest.approx(1.0, abs=1e-12)


def test_exact_inputs_have_no_share_and_the_budget_survives_without_any_error():
    eff = absolute_efficiencies(V_S0=12e-6, V_A0=9e-6, H_r_mT=110.0, dH_mT=4.5, mu0_Meff_T=0.85, I0_A=7e-3,
                                delta_R_Ohm=0.55, R_Ohm=230.0,
                                sample=SampleMetadata(**(SAMPLE.to_dict() | {"Ms_t_stderr_A": 0.0})))
    budget = efficiency_budgets(eff)["xi_DL_E"]
    assert budget.variance == 0 and all(s.share == 0 for s in budget.inputs)
    assert dict((s.name, round(s.sensitivity, 9)) for s in budget.inputs)["dH"] == 1.0


def branch_fits(angles_deg, rng, snr: float = 40.0):
    """Fits of noisy exact-LLG spectra (both branches) at each angle: the dH of every one is the same."""
    h_r = spectra.kittel_field_mT()
    field = np.concatenate([np.linspace(-h_r - 30, -h_r + 30, 121), np.linspace(h_r - 30, h_r + 30, 121)])
    fits = []
    for phi in angles_deg:
        clean = spectra.llg_spectrum(field, phi_deg=phi)
        voltage, _ = spectra.noisy(clean, snr, rng)
        fits += fit_branches(field, voltage)
    return fits


def test_dh_from_every_spectrum_has_one_over_sqrt_n_the_error_and_so_does_the_efficiency(rng):
    fits = branch_fits([30, 45, 60, 120, 135, 150, 210, 225], rng)  # equal |signal| at each: 16 branch fits
    pairs = [spectrum_ufloats(f) for f in fits]
    one = pairs[0][1]
    dh, scale = combined_linewidth([w for _, w in pairs])
    n = len(pairs)
    assert n == 16
    errors = np.array([w.std_dev for _, w in pairs])
    assert dh.std_dev == pytest.approx(scale / math.sqrt(np.sum(errors ** -2.0)), rel=1e-9)
    assert dh.std_dev == pytest.approx(one.std_dev / math.sqrt(n), rel=0.35)
    assert abs(dh.nominal_value - spectra.linewidth_mT()) < 4 * dh.std_dev + 0.01
    # the efficiency from dH alone (every other input exact): its error falls in the same ratio
    kw = dict(V_S0=12e-6, V_A0=9e-6, H_r_mT=110.0, mu0_Meff_T=0.85, I0_A=7e-3, delta_R_Ohm=0.55, R_Ohm=230.0,
              sample=SampleMetadata(**(SAMPLE.to_dict() | {"Ms_t_stderr_A": 0.0})))
    single = absolute_efficiencies(dH_mT=one, **kw)
    combined = absolute_efficiencies(dH_mT=dh, **kw)
    ratio = (combined.stderr("xi_DL_E") / combined.value("xi_DL_E")) / (single.stderr("xi_DL_E") / single.value("xi_DL_E"))
    assert ratio == pytest.approx((dh.std_dev / dh.nominal_value) / (one.std_dev / one.nominal_value), rel=1e-6)
    assert ratio < 0.4


def test_a_linewidth_scatter_beyond_the_errors_widens_the_mean():
    half_widths = [uncertainties.ufloat(v, 0.01) for v in (4.0, 4.1, 3.9, 4.05)]
    dh, scale = combined_linewidth(half_widths)
    assert scale > 5 and dh.std_dev == pytest.approx(scale * 0.01 / 2, rel=1e-9)
    dh, scale = combined_linewidth([uncertainties.ufloat(v, 0.1) for v in (4.0, 4.01)])
    assert scale == 1.0 and dh.std_dev == pytest.approx(0.1 / math.sqrt(2))
