"""Angular fits: recovery of synthetic truth within stderr, both branches, pulls, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from stfmr.analysis.angular import AngularFitError, angular_voltage, fit_angular


def paper(angle_deg, v0, offset=0.0):
    phi = np.radians(angle_deg - offset)
    return v0 * np.cos(phi) ** 2 * np.sin(phi)


def test_paper_form_joint_fit_recovers_truth_within_stderr(rng):
    angles = np.arange(-170.0, 190.0, 10.0)
    noise = 4e-8
    v_s = paper(angles, 12e-6) + rng.normal(0, noise, angles.size)
    v_a = paper(angles, -3e-6) + rng.normal(0, noise, angles.size)
    fit = fit_angular(angles, v_s, v_a)
    for name, truth in (("V_S0", 12e-6), ("V_A0", -3e-6)):
        assert abs(fit.values[name] - truth) < 4 * fit.stderr[name]
        assert fit.stderr[name] < 3e-7
    v_s0, v_a0 = fit.amplitudes()
    assert v_s0.nominal_value == fit.values["V_S0"] and v_s0.std_dev == pytest.approx(fit.stderr["V_S0"])
    assert fit.evaluate(45.0, "S") == pytest.approx(paper(45.0, fit.values["V_S0"]))
    assert fit.to_dict()["V_S0"]["stderr"] == fit.stderr["V_S0"]


def test_negative_branch_as_phi_plus_180_gives_same_amplitude(rng):
    """The negative-field branch reverses V_S; given as phi + 180 it fits to the same V_S0."""
    phi = np.arange(0.0, 360.0, 15.0)
    v_pos = paper(phi, 8e-6) + rng.normal(0, 3e-8, phi.size)
    v_neg = -paper(phi, 8e-6) + rng.normal(0, 3e-8, phi.size)  # measured at the same stage angle
    both = fit_angular(np.concatenate([phi, phi + 180.0]), np.concatenate([v_pos, v_neg]))
    assert abs(both.values["V_S0"] - 8e-6) < 4 * both.stderr["V_S0"]
    assert both.npoints == 2 * phi.size


def test_general_form_with_offset_recovers_all_terms(rng):
    angles = np.arange(0.0, 360.0, 7.5)
    truth = {"S_y": 5e-6, "S_x": 0.4e-6, "S_z": -0.3e-6, "A_y": -2e-6, "A_x": 0.0, "A_z": 0.2e-6}
    off = 3.5
    v_s = angular_voltage(angles, truth, "S", "general", off) + rng.normal(0, 3e-8, angles.size)
    v_a = angular_voltage(angles, truth, "A", "general", off) + rng.normal(0, 3e-8, angles.size)
    fit = fit_angular(angles, v_s, v_a, form="general", fit_offset=True)
    for name, value in truth.items():
        assert abs(fit.values[name] - value) < 4 * fit.stderr[name], name
    assert abs(fit.values["phi_0_deg"] - off) < 4 * fit.stderr["phi_0_deg"]
    assert fit.amplitude("S").nominal_value == pytest.approx(2 * fit.values["S_y"])
    # the paper form is the general form's y term: V_S0 = 2*S_y
    assert angular_voltage(30.0, {"S_y": 1.0, "S_x": 0.0, "S_z": 0.0}, "S", "general") == pytest.approx(
        angular_voltage(30.0, {"V_S0": 2.0}, "S", "paper")
    )


def test_pulls_have_unit_width(rng):
    """200 noisy single-component fits: pulls (fit - truth)/stderr have mean 0 +- 0.2 and std 1 +- 0.15."""
    angles = np.arange(0.0, 360.0, 20.0)
    pulls = []
    for _ in range(200):
        fit = fit_angular(angles, paper(angles, 5e-6, 1.0) + rng.normal(0, 1e-7, angles.size), fit_offset=True)
        pulls.append((fit.values["V_S0"] - 5e-6) / fit.stderr["V_S0"])
    pulls = np.array(pulls)
    assert abs(pulls.mean()) < 0.2
    assert 0.85 < pulls.std() < 1.15


def test_weighted_fit_uses_given_sigma_without_rescaling(rng):
    angles = np.arange(0.0, 360.0, 15.0)
    sigma = np.full(angles.size, 1e-7)
    v = paper(angles, 5e-6)  # noiseless: an unweighted fit would report stderr ~ 0
    fit = fit_angular(angles, v, sigma_S=sigma)
    expected = 1e-7 / np.sqrt(np.sum((np.cos(np.radians(angles)) ** 2 * np.sin(np.radians(angles))) ** 2))
    assert fit.stderr["V_S0"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(angle_deg=[10.0], V_S=[1.0]), "too few points"),
        (dict(angle_deg=[10.0, 20.0, 30.0], V_S=[1.0, np.nan, 2.0]), "NaN"),
        (dict(angle_deg=[10.0, 20.0, 30.0], V_S=[1.0, 2.0]), "has 3 values"),
        (dict(angle_deg=[10.0, 20.0, 30.0]), "give V_S, V_A or both"),
        (dict(angle_deg=[10.0, 20.0, 30.0], V_S=[1.0, 2.0, 3.0], form="fancy"), "unknown angular form"),
        (dict(angle_deg=[0.0, 90.0, 180.0, 270.0], V_S=[1.0, 0.0, 2.0, 0.0]), "do not determine"),
        (dict(angle_deg=[10.0, 20.0, 30.0], V_S=[1.0, 2.0, 3.0], sigma_S=[1.0, -1.0, 1.0]), "positive"),
        (dict(angle_deg=[10.0, 20.0, 30.0], V_S=[1, 2, 3], V_A=[1, 2, 3], sigma_S=[1, 1, 1]), "both components"),
        (dict(angle_deg=[10.0, 20.0, 30.0], V_S=[1.0, 2.0, 3.0], form="general"), "too few points"),
    ],
)
def test_refusals(kwargs, match):
    with pytest.raises(AngularFitError, match=match):
        fit_angular(**kwargs)
    assert issubclass(AngularFitError, ValueError)


def test_amplitudes_need_both_components(rng):
    angles = np.arange(0.0, 360.0, 30.0)
    fit = fit_angular(angles, V_S=paper(angles, 1e-6) + rng.normal(0, 1e-9, angles.size))
    with pytest.raises(AngularFitError, match="'A' was not fitted"):
        fit.amplitudes()
