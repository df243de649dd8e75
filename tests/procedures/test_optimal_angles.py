"""angles_deg = "optimal": phi* = 35.26 deg and its mirrors, plus the one angle the general angular fit needs."""

import dataclasses
import logging

import numpy as np
import pytest

from stfmr.analysis.angular import angular_voltage, fit_angular
from stfmr.analysis.characterize import analyze_run
from stfmr.analysis.measurement_design import OPTIMAL_ANGLES_DEG, PHI_STAR_DEG, SYMMETRY_ANGLES_DEG
from stfmr.analysis.run_reader import read_run
from stfmr.instruments.bench import default_simulated_config
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.procedures.sequence import SequenceError, parse_sequence

from support import runs as helpers

LIMITS = default_simulated_config().limits

OPTIMAL = helpers.SAMPLE + """
[[step]]
kind = "angle_sweep"
frequency_GHz = 10.0
power_dBm = 15.0
angles_deg = "optimal"
window_mT = 60.0
mu0_Meff_T = 0.65
field_points = 41
"""
#: the same number of spectra on a uniform grid: 5 angles 36 deg apart on both branches, i.e. 10
#: magnetization angles evenly over 360 deg (offset so that none sits at a zero of V_S)
UNIFORM = OPTIMAL.replace('angles_deg = "optimal"', "angles_deg = {start = 9, stop = 153, step = 36}\n"
                                                     "both_branches = true")


def test_phi_star_is_where_cos2_sin_is_largest():
    phi = np.linspace(0.0, 360.0, 360001)
    f = np.abs(np.cos(np.radians(phi)) ** 2 * np.sin(np.radians(phi)))
    peaks = phi[(f >= np.roll(f, 1)) & (f >= np.roll(f, -1)) & (f > 0.38)]
    assert np.allclose(peaks, OPTIMAL_ANGLES_DEG, atol=1e-3)
    assert PHI_STAR_DEG == pytest.approx(35.26, abs=0.005)


def test_optimal_expands_to_the_four_angles_and_the_one_extra_on_both_branches(caplog):
    with caplog.at_level(logging.INFO, logger="stfmr.procedures.sequence"):
        seq = parse_sequence(OPTIMAL, "opt.toml", LIMITS)
    angles = [t.parameters["angle_deg"] for t in seq.tasks]
    assert angles == sorted(OPTIMAL_ANGLES_DEG + SYMMETRY_ANGLES_DEG) and len(SYMMETRY_ANGLES_DEG) == 1
    assert all(t.parameters["both_branches"] for t in seq.tasks)
    assert "1 extra angle" in caplog.text and "35.26" in caplog.text


def test_optimal_angles_refuse_a_single_branch():
    with pytest.raises(SequenceError, match="both_branches.*both field branches"):
        parse_sequence(OPTIMAL + "both_branches = false\n", "opt.toml", LIMITS)


def test_the_four_optimal_angles_alone_leave_phi_0_undetermined_and_one_more_determines_it():
    """Noiseless general-form data: on the four the phi_0 error is huge (its Jacobian column vanishes);
    with the extra angle on both branches the fit returns the truth with finite, small errors."""
    truth = {"S_y": 1e-6, "S_x": 0.0, "S_z": 0.0, "A_y": 2.8e-6, "A_x": 0.0, "A_z": 0.0}

    def fit(stage_angles):
        phi = np.concatenate([stage_angles, np.asarray(stage_angles) + 180.0])
        rng = np.random.default_rng(3)
        sigma = np.full(phi.size, 1e-8)
        vs = angular_voltage(phi, truth, "S", "general") + rng.normal(0, 1e-8, phi.size)
        va = angular_voltage(phi, truth, "A", "general") + rng.normal(0, 1e-8, phi.size)
        return fit_angular(phi, vs, va, form="general", fit_offset=True, sigma_S=sigma, sigma_A=sigma)

    four = fit(list(OPTIMAL_ANGLES_DEG))
    five = fit(list(OPTIMAL_ANGLES_DEG) + list(SYMMETRY_ANGLES_DEG))
    assert not four.stderr["phi_0_deg"] < 1.0  # undetermined (huge or not finite)
    assert five.stderr["phi_0_deg"] < 0.2
    for name, value in truth.items():
        assert abs(five.values[name] - value) < 4 * five.stderr[name]


@pytest.fixture(scope="module")
def designs(tmp_path_factory):
    """The optimal and the uniform design measured on the virtual bench at 30x the preset noise."""
    base = VirtualSample.preset("type-A")
    sample = dataclasses.replace(base, noise_density_V_per_rtHz=30 * base.noise_density_V_per_rtHz)
    out = {}
    for name, text in (("optimal", OPTIMAL), ("uniform", UNIFORM)):
        folder = tmp_path_factory.mktemp(name) / "run"
        helpers.measure(text, folder, sample)
        out[name] = analyze_run(read_run(folder))
    return out


def test_an_optimal_design_determines_the_angular_fits_without_bias(designs):
    opt, uni = designs["optimal"], designs["uniform"]
    assert len(opt.fits) == len(uni.fits) == 5 and not opt.failed_fits  # 10 spectra each
    paper = opt.angular
    assert all(np.isfinite(paper.stderr[n]) and paper.stderr[n] > 0 for n in ("V_S0", "V_A0"))
    # the same sample: the two designs agree on V_S0 and V_A0 within their errors
    for name in ("V_S0", "V_A0"):
        both = np.hypot(paper.stderr[name], uni.angular.stderr[name])
        assert abs(paper.values[name] - uni.angular.values[name]) < 3 * both
    # the general (MacNeill) fit with a fitted phi_0 is determined on the optimal design
    phi, vs, va, ss, sa = [], [], [], [], []
    for s in opt.run.spectra:
        for fit in opt.fits[s.file]:
            phi.append(s.angle_deg if fit.polarity == 1 else s.angle_deg + 180.0)
            vs.append(fit.values["V_S"]), va.append(fit.values["V_A"])
            ss.append(fit.stderr["V_S"]), sa.append(fit.stderr["V_A"])
    general = fit_angular(phi, vs, va, form="general", fit_offset=True, sigma_S=ss, sigma_A=sa)
    assert all(np.isfinite(e) for e in general.stderr.values())
    assert abs(general.values["phi_0_deg"]) < 3 * general.stderr["phi_0_deg"] < 3.0  # the preset has none
    for name in ("S_x", "S_z", "A_x", "A_z"):  # nor symmetry-breaking torques
        assert abs(general.values[name]) < 3.5 * general.stderr[name]
    assert 2 * general.values["S_y"] == pytest.approx(paper.values["V_S0"], abs=3 * general.stderr["S_y"] * 2)


def test_for_the_same_number_of_spectra_the_optimal_design_gives_a_smaller_V_S0_error(designs):
    opt = designs["optimal"].angular.stderr["V_S0"]
    uni = designs["uniform"].angular.stderr["V_S0"]
    # expected ratio sqrt(sum f^2 uniform / sum f^2 optimal) = 0.69 for equal per-spectrum errors
    assert opt < 0.85 * uni, f"V_S0 error: optimal {opt:.3g} V, uniform {uni:.3g} V"
