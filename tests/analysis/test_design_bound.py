"""The Cramer-Rao bound of a measured design: per spectrum fit, and propagated to xi_DL^E and xi_FL+Oe^E."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from stfmr.analysis import lineshape
from stfmr.analysis.angular import angular_voltage
from stfmr.analysis.characterize import analyze_run
from stfmr.analysis.design_bound import DesignBoundError, chain_efficiencies, design_bound
from stfmr.analysis.measurement_design import GRADIENT_NAMES, cramer_rao_covariance, optimal_angles_deg
from stfmr.analysis.records import FitSettings
from stfmr.analysis.resonance import resonance_field_mT
from stfmr.analysis.run_reader import AmrData, RfCalibrationData, RunData, Spectrum
from stfmr.analysis.sample import SampleMetadata
from stfmr.analysis.spectrum_fit import fit_spectrum
from stfmr.instruments.modulation import lockin_factor
from stfmr.instruments.sim import filter_noise

#: one branch: H_r 120 mT, dH 4 mT, V_A/V_S = 1.5, a small background and slope (V, mT)
VALUES = {"H_r": 120.0, "dH": 4.0, "V_S": 2e-6, "V_A": 3e-6, "V_0": 0.3e-6, "V_1": 1e-9}
FIELDS = np.linspace(95.0, 145.0, 101)
SIGMA = 0.1e-6

SAMPLE = SampleMetadata(name="synthetic", Ms_t_A=4.0e-3, resistivity_uOhm_cm=67.0, length_um=100.0, width_um=10.0,
                        stack="Ta-B(3)/Ni-Fe(5)/MgO", setup_polarity=1)
#: the synthetic run: M_eff and g of its Kittel curve, the angular amplitudes at 10 GHz (V), dH(f) (mT)
MEFF_T, G, V_S0, V_A0 = 0.6, 2.1, 20e-6, 30e-6


def linewidth_mT(f_GHz: float) -> float:
    return 1.0 + 0.3 * f_GHz


def spectrum_of(f_GHz: float, angle_deg: float, branches: tuple[int, ...], rng, sigma: float, kind: str) -> Spectrum:
    """A file of the lineshape model at each branch (41 points over +-25 mT), V_S and V_A of the paper form."""
    h_r = resonance_field_mT(f_GHz, MEFF_T, G)
    fields, volts = [], []
    for p in branches:
        h = p * np.linspace(h_r - 25.0, h_r + 25.0, 41)
        c = float(angular_voltage(angle_deg + (0.0 if p == 1 else 180.0), {"V_S0": 1.0}, "S"))
        volts.append(lineshape.spectrum_voltage(h, p * h_r, linewidth_mT(f_GHz), V_S0 * c, V_A0 * c, 0.2e-6, 0.0)
                     + rng.normal(0.0, sigma, h.size))
        fields.append(h)
    h, v = np.concatenate(fields), np.concatenate(volts)
    return Spectrum(f"{kind}_{f_GHz:g}GHz_{angle_deg:.4g}deg.csv", kind, f_GHz, angle_deg, 20.0, 0.0, h, h.copy(), v)


def synthetic_run(rng, sigma: float = 0.5e-6) -> RunData:
    """An angle sweep at the optimal angles (both branches, 10 GHz), field sweeps at 6 and 14 GHz, AMR and rf
    calibration as good as exact: every spectrum drawn from the lineshape model with noise ``sigma`` (V)."""
    spectra = [spectrum_of(f, 35.26, (1,), rng, sigma, "frequency_sweep") for f in (6.0, 14.0)]
    spectra += [spectrum_of(10.0, phi, (1, -1), rng, sigma, "angle_sweep") for phi in optimal_angles_deg()]
    phi = np.arange(0.0, 360.0, 10.0)
    amr = AmrData("amr.csv", phi, 230.0 + 0.55 * np.cos(np.radians(phi)) ** 2 + rng.normal(0, 1e-6, phi.size))
    i_dc, power = np.linspace(-4.0, 4.0, 9), np.linspace(0.0, 20.0, 6)
    rf = RfCalibrationData("rf.csv", 10.0, i_dc, 230.0 + 2000.0 * (i_dc * 1e-3) ** 2 + rng.normal(0, 1e-7, i_dc.size),
                           power, 230.0 + 5.0 * 1e-3 * 10 ** (power / 10) + rng.normal(0, 1e-7, power.size))
    return RunData(Path("synthetic"), "synthetic", SAMPLE, spectra=spectra, amr=[amr], rf_calibrations=[rf])


# ---------------------------------------------------------------- one spectrum


def test_the_bound_of_v_s_alone_is_the_closed_form_of_a_linear_fit():
    # V_S the only free parameter: V = V_S*S(H) + known terms, so Var(V_S) = 1 / sum(S_i^2 / sigma_i^2)
    s = VALUES["dH"] ** 2 / ((FIELDS - VALUES["H_r"]) ** 2 + VALUES["dH"] ** 2)
    assert cramer_rao_covariance(FIELDS, VALUES, SIGMA, ["V_S"])[0, 0] == pytest.approx(
        SIGMA**2 / np.sum(s**2), rel=1e-12)
    sigma = SIGMA * (1.0 + np.arange(FIELDS.size) % 3)  # per-point noise
    assert cramer_rao_covariance(FIELDS, VALUES, sigma, ["V_S"])[0, 0] == pytest.approx(
        1.0 / np.sum(s**2 / sigma**2), rel=1e-12)
    # V_S and V_A on a window centred on H_r: S even, A odd about H_r, so independent, each its closed form
    centred = np.linspace(VALUES["H_r"] - 25.0, VALUES["H_r"] + 25.0, 101)
    x = centred - VALUES["H_r"]
    s, a = 16.0 / (x**2 + 16.0), 4.0 * x / (x**2 + 16.0)
    cov = cramer_rao_covariance(centred, VALUES, SIGMA, ["V_S", "V_A"])
    assert np.diag(cov) == pytest.approx([SIGMA**2 / np.sum(s**2), SIGMA**2 / np.sum(a**2)], rel=1e-12)
    assert abs(cov[0, 1]) < 1e-12 * math.sqrt(cov[0, 0] * cov[1, 1])


def test_points_that_do_not_determine_the_parameters_are_refused():
    with pytest.raises(ValueError, match="do not determine"):
        cramer_rao_covariance(FIELDS[:3], VALUES, SIGMA)  # 3 points, 6 parameters
    with pytest.raises(ValueError, match="noise_V must be positive"):
        cramer_rao_covariance(FIELDS, VALUES, 0.0)


def draws(rng, n: int, sigma: float) -> list:
    clean = lineshape.spectrum_voltage(FIELDS, *(VALUES[k] for k in GRADIENT_NAMES))
    return [fit_spectrum(FIELDS, clean + rng.normal(0.0, sigma, FIELDS.size)) for _ in range(n)]


def test_the_bound_is_the_error_of_an_efficient_fit(rng):
    fits = draws(rng, 300, SIGMA)
    bound = np.sqrt(np.diag(cramer_rao_covariance(FIELDS, VALUES, SIGMA)))
    for k, name in enumerate(GRADIENT_NAMES):
        scatter = np.std([f.values[name] for f in fits], ddof=1)
        reported = np.mean([f.stderr[name] for f in fits])
        # 300 draws: the scatter is known to 4 %, the mean reported error to well under 1 %
        assert scatter / bound[k] == pytest.approx(1.0, abs=0.12), name
        assert reported / bound[k] == pytest.approx(1.0, abs=0.03), name


def test_the_bound_is_below_the_error_of_an_inefficient_fit(rng):
    # the data are twice as noisy as the design says (e.g. an analysis that adds noise): 2x the bound
    bound = math.sqrt(cramer_rao_covariance(FIELDS, VALUES, SIGMA)[2, 2])
    reported = np.mean([f.stderr["V_S"] for f in draws(rng, 40, 2 * SIGMA)])
    assert reported / bound == pytest.approx(2.0, abs=0.1)
    # a fit on every third point only: sqrt(3)x
    sub = cramer_rao_covariance(FIELDS[::3], VALUES, SIGMA)[2, 2]
    assert math.sqrt(sub) / bound == pytest.approx(math.sqrt(3.0), rel=0.05)


# ---------------------------------------------------------------- the efficiencies


def test_the_chain_given_the_analysis_s_own_fits_reproduces_its_errors(rng):
    analysis = analyze_run(synthetic_run(rng))
    same = chain_efficiencies(analysis, lambda spectrum, fit: fit, analysis.kittel, scale_by_scatter=True)
    for result in ("xi_DL_E", "xi_FL_Oe_E"):
        assert same.value(result) == pytest.approx(analysis.efficiencies.value(result), rel=1e-12)
        assert same.stderr(result) == pytest.approx(analysis.efficiencies.stderr(result), rel=1e-9)


def test_the_reported_error_of_xi_meets_its_bound_when_the_fits_are_efficient(rng):
    sigma, runs = 0.5e-6, 25
    values, ratios, joint, over_joint = [], [], [], []
    for _ in range(runs):
        analysis = analyze_run(synthetic_run(rng, sigma))
        bound = design_bound(analysis, sigma)
        values.append(analysis.efficiencies.value("xi_DL_E"))
        ratios.append([bound.ratio(r, "chain") for r in ("xi_DL_E", "xi_FL_Oe_E")])
        joint.append(bound.joint["xi_DL_E"].stderr)
        over_joint.append(analysis.efficiencies.stderr("xi_DL_E") / bound.joint["xi_DL_E"].stderr)
        assert bound.kittel_bounded and bound.branches == 10
        # the spectrum inputs carry nearly all of it: the calibrations here are nearly exact
        assert bound.spectrum_stderr("xi_DL_E") == pytest.approx(bound.chain["xi_DL_E"].stderr, rel=0.01)
    mean = np.mean(ratios, axis=0)
    # the fits are efficient: reported = bound but for the analysis's scaling of errors by the scatter
    # (each fit's sqrt(reduced chi-square), dH's mean where it exceeds 1: a few % over)
    assert 0.97 < mean[0] < 1.08 and 0.97 < mean[1] < 1.08, mean
    # the analysis keeps each spectrum's V_S-dH correlation (xi_DL^E goes as V_S0*dH, and they are
    # anti-correlated): its error is the joint bound's; taken as independent they gave about 1.17x
    assert 0.93 < np.mean(over_joint) < 1.07, np.mean(over_joint)
    # the values scatter as much as the joint bound says, no less (25 runs: the scatter to 15 %)
    assert np.std(values, ddof=1) / np.mean(joint) == pytest.approx(1.0, abs=0.35)


def test_an_analysis_that_leaves_points_out_reports_more_than_the_bound(rng):
    run = synthetic_run(rng)
    whole = design_bound(analyze_run(run), 0.5e-6)
    # fitting only +-10 mT (2.5 linewidths at 10 GHz) about H_r of every branch: the bound still counts all 41 points
    window = design_bound(analyze_run(run, FitSettings(window_mT=20.0)), 0.5e-6)
    # (at each analysis's own fitted values, which the window moves a little)
    assert window.chain["xi_DL_E"].stderr == pytest.approx(whole.chain["xi_DL_E"].stderr, rel=0.03)
    assert window.ratio("xi_DL_E") > 1.3 * whole.ratio("xi_DL_E")


def test_bad_noise_and_an_analysis_without_efficiencies_are_refused(rng):
    run = synthetic_run(rng)
    analysis = analyze_run(run)
    with pytest.raises(DesignBoundError, match="positive and finite"):
        design_bound(analysis, -1e-6)
    with pytest.raises(DesignBoundError, match="3 noise values for 41 points"):
        design_bound(analysis, lambda spectrum: np.ones(3) * 1e-6)
    no_amr = analyze_run(dataclasses.replace(run, amr=[]))
    with pytest.raises(DesignBoundError, match="no efficiencies.*no AMR measurement"):
        design_bound(no_amr, 0.5e-6)


def test_the_bound_of_a_run_measured_on_the_virtual_bench(example_run):
    from stfmr.analysis.run_reader import read_run

    measured = example_run("fast-characterization")  # the example as shipped
    analysis = analyze_run(read_run(measured.folder))
    same = chain_efficiencies(analysis, lambda spectrum, fit: fit, analysis.kittel, scale_by_scatter=True)
    assert same.stderr("xi_DL_E") == pytest.approx(analysis.efficiencies.stderr("xi_DL_E"), rel=1e-9)
    lockin = measured.bench.virtual.instrument("SR830")
    reading = lockin.noise_rms() / lockin_factor("pulse")
    readings = {t.kind: int(t.parameters.get("readings_per_point", 1)) for t in measured.sequence.tasks}
    bound = design_bound(analysis, lambda spectrum: reading * filter_noise.mean_noise_factor(
        lockin.slope_dB // 6, readings[spectrum.kind], 2.0))  # readings 2 tau apart at 12 dB/oct
    assert bound.branches == 10 and bound.kittel_bounded
    # at the preset's noise the spectra scatter more than the lock-in's noise alone: reported > bound
    for which in ("chain", "joint"):
        assert bound.ratio("xi_DL_E", which) > 1.0
        assert bound.bound(which)["xi_DL_E"].value == pytest.approx(analysis.efficiencies.value("xi_DL_E"), rel=0.01)
