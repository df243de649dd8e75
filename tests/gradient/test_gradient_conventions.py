"""The measured sign convention made explicit, the convention-free conclusions, and fits that say what they mean."""

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from stfmr.analysis.gradient.cases import run_cases
from stfmr.analysis.gradient.compare import (
    MeasuredDataError,
    MeasuredSample,
    comparison_table,
    fit_parameters,
    in_stfmr_convention,
    load_measured,
    model_values,
    sign_agreement,
)
from stfmr.analysis.gradient.compositions import load_compositions
from stfmr.analysis.gradient.conclusions import robust_conclusions

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def table():
    return load_compositions()


@pytest.fixture(scope="module")
def paper():
    return load_measured(EXAMPLES / "measured_paper_t3nm.toml")


def test_opposite_sigma_flips_only_the_measured_xi_DL(table, paper):
    given = comparison_table(paper, table)
    flipped = comparison_table(paper, table, measured_sign_convention="opposite-sigma")
    for g, f in zip(given, flipped):
        assert f["measured_sign_convention"] == "opposite-sigma"
        assert f["xi_DL_E"]["measured"] == g["xi_DL_E"]["measured"]  # as reported
        assert f["xi_DL_E"]["measured_stfmr"] == -g["xi_DL_E"]["measured_stfmr"]
        assert f["xi_FL_Oe_E"]["measured_stfmr"] == g["xi_FL_Oe_E"]["measured_stfmr"]
        assert f["xi_DL_E"]["model"] == g["xi_DL_E"]["model"]  # the model never changes
    with pytest.raises(MeasuredDataError, match="'paper'"):
        comparison_table(paper, table, measured_sign_convention="paper")


def test_with_theta_NiFe_positive_only_the_opposite_sigma_reading_matches_the_measured_signs(table, paper):
    """Case II-A < 0 < II-B with theta_Ni > 0: opposite to the paper's type A > 0 > type B."""
    assert table.theta_end_members()[0] > 0
    agreement = sign_agreement(comparison_table(paper, table))
    assert agreement == {"stfmr": {"type A": False, "type B": False},
                         "opposite-sigma": {"type A": True, "type B": True}}


def test_the_convention_reaches_the_fit(table, paper):
    by_name = fit_parameters(paper, table, ["theta_Ni", "theta_Fe"], measured_sign_convention="opposite-sigma")
    by_hand = fit_parameters(in_stfmr_convention(paper, "opposite-sigma"), table, ["theta_Ni", "theta_Fe"])
    assert by_name.measured_sign_convention == "opposite-sigma"
    for n in ("theta_Ni", "theta_Fe"):
        assert by_name.values[n] == pytest.approx(by_hand.values[n], rel=1e-6)


def test_the_paper_fit_says_the_model_cannot_describe_the_data(table, paper):
    fit = fit_parameters(paper, table, ["theta_Ni", "theta_Fe"])
    assert fit.dof == 2 and fit.redchi == pytest.approx(fit.chisqr / 2)
    assert fit.redchi > 10 and fit.p_value < 1e-6 and fit.describes_data is False
    assert fit.error_scale == pytest.approx(np.sqrt(fit.redchi))
    for n in fit.names:
        assert fit.stderr[n] == pytest.approx(fit.stderr_unscaled[n] * np.sqrt(fit.redchi))
    flagged = {(f.name, f.problem) for f in fit.flags}
    assert ("theta_Fe", "outside the physical range") in flagged and fit.values["theta_Fe"] < -0.1
    assert not fit.trustworthy
    assert "CANNOT describe" in fit.verdict and "theta_Fe" in fit.verdict
    d = fit.to_dict()
    assert d["describes_data"] is False and d["trustworthy"] is False
    assert d["parameters"]["theta_Fe"]["flags"] == ["outside the physical range"]
    assert d["parameters"]["theta_Fe"]["physical_range"] == [-0.1, 0.1]


def _synthetic(truth, scale=0.01, rng=None):
    out = []
    for kind in ("A", "B", "reference"):
        t = model_values(kind, truth, "local-average")
        e_dl, e_fl = scale * abs(t.xi_DL_E), scale * abs(t.xi_FL_Oe_E)
        n = rng.standard_normal(2) if rng is not None else np.zeros(2)
        out.append(MeasuredSample(kind, kind, t.xi_DL_E + e_dl * n[0], e_dl, t.xi_FL_Oe_E + e_fl * n[1], e_fl))
    return out


def test_a_good_fit_keeps_its_errors_and_has_no_flags(table):
    truth = table.with_parameters(theta_Ni=0.04, theta_Fe=-0.02)
    fit = fit_parameters(_synthetic(truth), table, ["theta_Ni", "theta_Fe"])  # noise-free: redchi ~ 0
    assert fit.redchi < 1e-6 and fit.describes_data is True and fit.flags == () and fit.trustworthy
    assert fit.error_scale == 1.0  # never shrunk below the measured errors' propagation
    assert all(fit.stderr[n] == fit.stderr_unscaled[n] > 0 for n in fit.names)
    assert "describes the data" in fit.verdict


def test_a_parameter_driven_to_its_bound_is_flagged(table):
    truth = table.with_parameters(theta_Ni=0.04, theta_Fe=-0.02)
    data = [replace(s, xi_DL_E=s.xi_DL_E * 1e3, xi_FL_Oe_E=None, xi_FL_Oe_E_stderr=None)
            for s in _synthetic(truth)]
    fit = fit_parameters(data, table, ["theta_Ni"])
    problems = {f.problem for f in fit.flags if f.name == "theta_Ni"}
    assert problems == {"at a fit bound", "outside the physical range"}
    assert abs(fit.values["theta_Ni"]) == pytest.approx(1.0)


def test_as_many_parameters_as_data_says_nothing_tests_the_model(table, paper):
    only_dl = [replace(s, xi_FL_Oe_E=None, xi_FL_Oe_E_stderr=None) for s in paper]
    fit = fit_parameters(only_dl, table, ["theta_Ni", "theta_Fe"])
    assert fit.dof == 0 and fit.p_value is None and fit.describes_data is None
    assert "nothing left to test" in fit.verdict


def test_the_convention_free_conclusions_of_the_shipped_table(table):
    c = {x.key: x for x in robust_conclusions(table)}
    assert list(c) == ["I", "II", "III", "II+III", "IV"]
    assert all(x.holds for x in c.values()), [x.detail for x in c.values() if not x.holds]
    assert c["I"].values["ratio_to_smaller_II"] < 0.5
    assert c["II"].values["xi_DL_A"] * c["II"].values["xi_DL_B"] < 0
    assert abs(c["II"].values["macrospin_A_minus_B"]) < 1e-9 * abs(c["II"].values["A_minus_B"])
    assert c["III"].values["ratio_to_II"] == pytest.approx(0.09, abs=0.01)
    assert max(c["II+III"].values.values()) < 0.10
    v = c["IV"].values
    assert v["xi_DL_A"] * v["xi_DL_B"] > 0 and v["xi_FL_Oe_A"] * v["xi_FL_Oe_B"] < 0
    # the same numbers as the cases themselves
    local = {r.name: r.selected for r in run_cases(["III-A", "III-B"], table)}
    assert c["III"].values["xi_DL_A"] == local["III-A"].xi_DL_E


def test_conclusions_are_computed_and_can_fail(table):
    """Without an M_s difference across the sublayers, case II is case I: it cannot reverse."""
    flat = replace(table, compositions=tuple(replace(x, mu0Ms_T=1.0) for x in table.compositions))
    c = {x.key: x for x in robust_conclusions(flat)}
    assert not c["II"].holds and "no reversal" in c["II"].detail


def test_case_IV_DL_reversal_scan_stated_in_the_readme(table):
    """432 parameter sets: l_sf 1.5/3/5, l_J 1/1.5/2, l_phi 1/2/4 nm, sink rho 150/250, l_N 1/2.5 nm,
    theta_N 0/-0.1, t_N 1/3 nm. With t_N = 3 nm (the paper's devices) case IV's xi_DL never reverses;
    with t_N = 1 nm and theta_N = -0.1 the sink's spin current nearly cancels the film's own in a
    few sets (one of A, B within 10 % of zero relative to the other), and one of those reverses."""
    grid = dict(l_sf_nm=(1.5, 3.0, 5.0), l_J_nm=(1.0, 1.5, 2.0), l_phi_nm=(1.0, 2.0, 4.0),
                sink_rho_uOhm_cm=(150.0, 250.0), sink_l_sf_nm=(1.0, 2.5), sink_theta_SH=(0.0, -0.1),
                sink_thickness_nm=(1.0, 3.0))
    reversed_sets, near_zero = [], []
    for values in itertools.product(*grid.values()):
        p = dict(zip(grid, values))
        a, b = (r.xi_DL_E for r in run_cases(["IV-A", "IV-B"], table.with_parameters(**p)))
        if a * b < 0:
            reversed_sets.append(p)
        if min(abs(a), abs(b)) < 0.1 * max(abs(a), abs(b)):
            near_zero.append(p)
    assert len(reversed_sets) == 1 and len(near_zero) == 4
    for p in near_zero:
        assert p["sink_thickness_nm"] == 1.0 and p["sink_theta_SH"] == -0.1
