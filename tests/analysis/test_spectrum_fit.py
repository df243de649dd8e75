"""Spectrum fit: lineshapes, recovery of exact-LLG spectra, pulls, lmfit agreement, refusals."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from stfmr.analysis import lineshape
from stfmr.analysis.spectrum_fit import (
    MIN_POINTS,
    PARAM_NAMES,
    SpectrumFitError,
    SpectrumFitWarning,
    fit_branches,
    fit_spectrum,
    lmfit_result,
    spectrum_model,
    split_branches,
)

from support import spectra as helpers

FIELD = np.linspace(40.0, 200.0, 401)  # mT, step 0.4 mT; H_r about 114 mT, dH about 4.2 mT
LINE = ("H_r", "dH", "V_S", "V_A")


def _truth(field, voltage, **kw):
    """The lineshape parameters of a noiseless spectrum: its least-squares fit."""
    return fit_spectrum(field, voltage, **kw).values


# ---------------------------------------------------------------- lineshapes


def test_lineshapes_have_their_defining_values():
    hr, dh = 100.0, 5.0
    assert lineshape.symmetric(hr, hr, dh) == pytest.approx(1.0)
    assert lineshape.symmetric(hr + dh, hr, dh) == pytest.approx(0.5)  # dH is the HWHM
    assert lineshape.antisymmetric(hr + dh, hr, dh) == pytest.approx(0.5)
    assert lineshape.antisymmetric(hr - dh, hr, dh) == pytest.approx(-0.5)
    s, a = lineshape.shape_terms(FIELD, hr, dh)
    np.testing.assert_allclose(s, lineshape.symmetric(FIELD, hr, dh), rtol=1e-14)
    np.testing.assert_allclose(a, lineshape.antisymmetric(FIELD, hr, dh), rtol=1e-14)


@pytest.mark.parametrize("hr", [110.0, -110.0])
def test_derivative_shapes_are_field_derivatives_and_gradients_match_differences(hr):
    h = np.linspace(60.0, 160.0, 4001) * np.sign(hr)
    dh = 4.0
    s, a = lineshape.shape_terms(h, hr, dh)
    sd, ad = lineshape.shape_terms(h, hr, dh, derivative=True)
    np.testing.assert_allclose(sd, np.gradient(s, h), atol=2e-4 * np.max(np.abs(sd)))
    np.testing.assert_allclose(ad, np.gradient(a, h), atol=2e-4 * np.max(np.abs(ad)))
    np.testing.assert_allclose(sd, lineshape.symmetric_derivative(h, hr, dh), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ad, lineshape.antisymmetric_derivative(h, hr, dh), rtol=1e-12, atol=1e-15)
    eps = 1e-6
    for derivative in (False, True):
        g = lineshape.shape_gradients(h, hr, dh, derivative)
        plus_hr = lineshape.shape_terms(h, hr + eps, dh, derivative)
        minus_hr = lineshape.shape_terms(h, hr - eps, dh, derivative)
        plus_w = lineshape.shape_terms(h, hr, dh + eps, derivative)
        minus_w = lineshape.shape_terms(h, hr, dh - eps, derivative)
        numeric = [
            (plus_hr[0] - minus_hr[0]) / (2 * eps), (plus_hr[1] - minus_hr[1]) / (2 * eps),
            (plus_w[0] - minus_w[0]) / (2 * eps), (plus_w[1] - minus_w[1]) / (2 * eps),
        ]
        for analytic, num in zip(g[2:], numeric):
            np.testing.assert_allclose(analytic, num, atol=1e-6 * np.max(np.abs(analytic)))


def test_negative_branch_model_is_the_mirror_image_in_field_magnitude():
    args = (114.0, 4.0, 2e-6, -3e-6, 1e-7, 1e-9)
    pos = lineshape.spectrum_voltage(FIELD, *args)
    neg = lineshape.spectrum_voltage(-FIELD, -args[0], *args[1:])
    np.testing.assert_allclose(neg, pos, rtol=1e-13)


def test_lmfit_model_evaluates_the_one_model_function():
    model = spectrum_model()
    assert set(model.param_names) == set(PARAM_NAMES)
    args = dict(H_r=114.0, dH=4.0, V_S=2e-6, V_A=-3e-6, V_0=1e-7, V_1=1e-9)
    np.testing.assert_array_equal(model.eval(field=FIELD, **args), lineshape.spectrum_voltage(FIELD, **args))


# ---------------------------------------------------------------- exact LLG spectra


def test_noiseless_llg_spectrum_is_lorentzian_at_the_kittel_field():
    v = helpers.llg_spectrum(FIELD)
    fit = fit_spectrum(FIELD, v)
    peak = np.max(np.abs(v))
    assert np.sqrt(fit.redchi) < 1e-3 * peak  # residual of the Lorentzian model, relative
    assert fit.values["H_r"] == pytest.approx(helpers.kittel_field_mT(), rel=2e-3)
    assert fit.values["dH"] == pytest.approx(helpers.linewidth_mT(), rel=5e-3)
    assert fit.values["V_S"] > 0 and fit.values["V_A"] > 0  # xi_DL > 0, xi_FL > 0, positive branch


def test_noisy_llg_spectrum_recovers_lineshape_within_its_uncertainties(rng):
    v = helpers.llg_spectrum(FIELD, b_dl_per_A=4e-3, b_fl_per_A=-2e-3)
    truth = _truth(FIELD, v)
    y, sigma = helpers.noisy(v, 20.0, rng)
    fit = fit_spectrum(FIELD, y)
    for name in LINE:
        assert abs(fit.values[name] - truth[name]) < 4.0 * fit.stderr[name], name
    assert np.sqrt(fit.redchi) == pytest.approx(sigma, rel=0.1)
    assert fit.values["V_A"] < 0 < fit.values["V_S"]
    assert fit.correlation.shape == (6, 6)
    np.testing.assert_allclose(np.diag(fit.correlation), 1.0)


def test_pulls_over_200_noisy_spectra_have_unit_spread(rng):
    """(fit - truth)/stderr: |mean| < 0.2 and 0.8 < std < 1.2 for H_r, dH, V_S, V_A, at SNR 10."""
    v = helpers.llg_spectrum(FIELD, b_dl_per_A=3e-3, b_fl_per_A=5e-3)
    truth = _truth(FIELD, v)
    sigma = np.max(np.abs(v)) / 10.0
    pulls = {name: [] for name in LINE}
    for _ in range(200):
        fit = fit_spectrum(FIELD, v + rng.normal(0.0, sigma, FIELD.size))
        for name in LINE:
            pulls[name].append((fit.values[name] - truth[name]) / fit.stderr[name])
    for name, p in pulls.items():
        assert abs(np.mean(p)) < 0.2, (name, np.mean(p))
        assert 0.8 < np.std(p) < 1.2, (name, np.std(p))


def test_field_branches_give_opposite_amplitudes(rng):
    field = np.concatenate((-FIELD[::-1], FIELD))
    v = helpers.llg_spectrum(field, b_dl_per_A=4e-3, b_fl_per_A=2e-3)
    y, _ = helpers.noisy(v, 30.0, rng)
    pos, neg = fit_branches(field, y)
    assert (pos.polarity, neg.polarity) == (1, -1)
    assert neg.values["H_r"] < 0 < pos.values["H_r"]
    assert pos.values["V_S"] > 0 > neg.values["V_S"]
    assert pos.values["V_A"] > 0 > neg.values["V_A"]
    for name in ("V_S", "V_A"):
        total_err = np.hypot(pos.stderr[name], neg.stderr[name])
        assert abs(pos.values[name] + neg.values[name]) < 4.0 * total_err
    assert abs(pos.values["H_r"] + neg.values["H_r"]) < 4.0 * np.hypot(pos.stderr["H_r"], neg.stderr["H_r"])


def test_derivative_mode_recovers_the_same_lineshape():
    delta = 1e-3
    v = helpers.llg_spectrum(FIELD)
    dv = (helpers.llg_spectrum(FIELD + delta) - helpers.llg_spectrum(FIELD - delta)) / (2 * delta)
    direct = fit_spectrum(FIELD, v).values
    deriv = fit_spectrum(FIELD, dv, derivative=True).values
    for name in LINE:
        assert deriv[name] == pytest.approx(direct[name], rel=2e-3), name
    # negative branch: the lock-in measures dV/dH against the signed field
    neg_field = -FIELD[::-1]
    dv_neg = (helpers.llg_spectrum(neg_field + delta) - helpers.llg_spectrum(neg_field - delta)) / (2 * delta)
    neg = fit_spectrum(neg_field, dv_neg, derivative=True).values
    assert neg["V_S"] == pytest.approx(-direct["V_S"], rel=2e-3)
    assert neg["V_A"] == pytest.approx(-direct["V_A"], rel=2e-3)


@pytest.mark.parametrize("angle_deg", [0.0, 30.0, 90.0, 150.0, 200.0, 270.0, 330.0])
def test_any_sign_and_ratio_of_the_amplitudes_converges(angle_deg, rng):
    """b_DL, b_FL on a circle: pure V_S, pure V_A, and mixed signs, at a signal-to-noise of 5."""
    a = np.radians(angle_deg)
    v = helpers.llg_spectrum(FIELD, b_dl_per_A=5e-3 * np.cos(a), b_fl_per_A=1.5e-3 * np.sin(a))
    truth = _truth(FIELD, v)
    y, _ = helpers.noisy(v, 5.0, rng)
    fit = fit_spectrum(FIELD, y)
    for name in LINE:
        assert abs(fit.values[name] - truth[name]) < 5.0 * fit.stderr[name], name


@pytest.mark.parametrize("where", ["low edge", "high edge"])
@pytest.mark.parametrize("downward", [False, True])
def test_resonance_near_an_edge_converges_either_sweep_direction(where, downward, rng):
    hr, dh = helpers.kittel_field_mT(), helpers.linewidth_mT()
    field = np.linspace(hr - 1.5 * dh, hr + 150.0, 301) if where == "low edge" else np.linspace(
        hr - 100.0, hr + 1.5 * dh, 301
    )
    v = helpers.llg_spectrum(field, b_fl_per_A=-3e-3)
    truth = _truth(field, v)
    y, _ = helpers.noisy(v, 8.0, rng)
    if downward:
        field, y = field[::-1], y[::-1]
    fit = fit_spectrum(field, y)
    for name in LINE:
        assert abs(fit.values[name] - truth[name]) < 5.0 * fit.stderr[name], name


def test_narrow_and_wide_lines_in_the_window_converge(rng):
    for alpha in (0.002, 0.06):
        magnet = helpers.MagnetParams(mu0_Meff_T=0.9, g=2.1, alpha=alpha)
        v = helpers.llg_spectrum(FIELD, magnet=magnet)
        truth = _truth(FIELD, v)
        y, _ = helpers.noisy(v, 10.0, rng)
        fit = fit_spectrum(FIELD, y)
        for name in LINE:
            assert abs(fit.values[name] - truth[name]) < 5.0 * fit.stderr[name], (alpha, name)


def test_without_slope_v1_is_zero_and_the_line_still_fits(rng):
    v = helpers.llg_spectrum(FIELD) + 3e-7
    y, _ = helpers.noisy(v, 20.0, rng)
    fit = fit_spectrum(FIELD, y, slope=False)
    assert fit.values["V_1"] == 0.0 and fit.stderr["V_1"] == 0.0
    assert fit.names == PARAM_NAMES[:-1] and fit.correlation.shape == (5, 5)
    assert abs(fit.values["V_0"] - 3e-7) < 4.0 * fit.stderr["V_0"]


# ---------------------------------------------------------------- lmfit agreement


@pytest.mark.parametrize("derivative", [False, True])
@pytest.mark.parametrize("sign", [1, -1])
def test_fast_core_matches_lmfit_values_and_standard_errors(derivative, sign, rng):
    """Same optimum to 1e-6 relative (or 1e-6 of a standard error), stderr within 1 %."""
    field = sign * FIELD
    if derivative:
        v = (helpers.llg_spectrum(field + 1e-3) - helpers.llg_spectrum(field - 1e-3)) / 2e-3
    else:
        v = helpers.llg_spectrum(field, b_fl_per_A=-2e-3)
    y, _ = helpers.noisy(v + 2e-7, 8.0, rng)
    fast = fit_spectrum(field, y, derivative=derivative)
    # lmfit from a start well away from the optimum, with tight tolerances and
    # central differences: leastsq's forward-difference Jacobian stops about
    # 1e-4 standard errors short of the optimum at this noise level
    model = spectrum_model(derivative)
    start = dict(fast.values)
    start.update(H_r=start["H_r"] + 0.5 * start["dH"], dH=1.3 * start["dH"], V_0=0.0, V_1=0.0)
    tight = {"jac": "3-point", "xtol": 1e-15, "ftol": 1e-15, "gtol": 1e-15, "x_scale": "jac"}
    result = model.fit(y, model.make_params(**start), field=field, method="least_squares", fit_kws=tight)
    assert result.success
    for name in PARAM_NAMES:
        ref, err = result.params[name].value, result.params[name].stderr
        assert abs(fast.values[name] - ref) <= 1e-6 * max(abs(ref), err), name
        assert fast.stderr[name] == pytest.approx(err, rel=0.01), name
    assert fast.redchi == pytest.approx(result.redchi, rel=1e-9)


def test_lmfit_engine_and_report_agree_with_the_fast_core(rng):
    y, _ = helpers.noisy(helpers.llg_spectrum(FIELD), 10.0, rng)
    fast = fit_spectrum(FIELD, y)
    slow = fit_spectrum(FIELD, y, engine="lmfit")
    for name in PARAM_NAMES:
        assert slow.values[name] == pytest.approx(fast.values[name], rel=1e-6, abs=1e-6 * fast.stderr[name])
        assert slow.stderr[name] == pytest.approx(fast.stderr[name], rel=0.01)
    report = lmfit_result(FIELD, y).fit_report()
    assert "H_r" in report and "Correlations" in report


def test_to_dict_has_the_documented_schema(rng):
    y, _ = helpers.noisy(helpers.llg_spectrum(FIELD), 10.0, rng)
    d = fit_spectrum(FIELD, y).to_dict()
    assert list(d) == ["polarity", *PARAM_NAMES, "redchi", "noise_V", "chi2_noise", "npoints", "field_range_mT",
                       "warnings"]
    assert d["polarity"] == 1
    for name in PARAM_NAMES:
        assert set(d[name]) == {"value", "stderr"}
        assert all(isinstance(x, float) for x in d[name].values())


# ---------------------------------------------------------------- refusals


def _good():
    return FIELD.copy(), helpers.llg_spectrum(FIELD)


def test_refuses_pure_noise_as_no_resonance(rng):
    with pytest.raises(SpectrumFitError, match="no resonance in the window"):
        fit_spectrum(FIELD, rng.normal(0.0, 1e-6, FIELD.size))


def test_refuses_a_flat_line():
    with pytest.raises(SpectrumFitError, match="no resonance"):
        fit_spectrum(FIELD, np.full(FIELD.size, 1e-6))


def test_refuses_a_resonance_outside_the_window(rng):
    field = np.linspace(140.0, 300.0, 401)  # H_r about 114 mT: only the tail is here
    y, _ = helpers.noisy(helpers.llg_spectrum(field), 20.0, rng)
    with pytest.raises(SpectrumFitError, match="no resonance in the window"):
        fit_spectrum(field, y)


def test_refuses_too_few_points():
    h, v = _good()
    idx = np.linspace(0, h.size - 1, MIN_POINTS - 1).astype(int)
    with pytest.raises(SpectrumFitError, match="too few points"):
        fit_spectrum(h[idx], v[idx])


@pytest.mark.parametrize("which", ["field", "voltage"])
def test_refuses_nans(which):
    h, v = _good()
    (h if which == "field" else v)[17] = np.nan
    with pytest.raises(SpectrumFitError, match=f"{which} holds 1 NaN.*index 17"):
        fit_spectrum(h, v)


def test_refuses_unsorted_fields():
    h, v = _good()
    h[[100, 101]] = h[[101, 100]]
    with pytest.raises(SpectrumFitError, match="not monotonic"):
        fit_spectrum(h, v)


def test_refuses_duplicated_fields():
    h, v = _good()
    h[201] = h[200]
    with pytest.raises(SpectrumFitError, match="duplicated field value"):
        fit_spectrum(h, v)


def test_refuses_both_signs_in_one_branch_and_mismatched_lengths():
    h, v = _good()
    with pytest.raises(SpectrumFitError, match="both signs"):
        fit_spectrum(h - 100.0, v)
    with pytest.raises(SpectrumFitError, match="401 points but voltage has 400"):
        fit_spectrum(h, v[:-1])


def test_refuses_an_unresolved_line():
    field = np.arange(40.0, 200.0, 2.0)  # 2 mT steps
    v = lineshape.spectrum_voltage(field, 120.0, 0.05, 1e-6, 0.0, 0.0, 0.0)
    v = v + np.random.default_rng(1).normal(0.0, 1e-12, field.size)
    with pytest.raises(SpectrumFitError, match="not resolved|no resonance"):
        fit_spectrum(field, v)


def test_refuses_an_unknown_engine():
    with pytest.raises(SpectrumFitError, match="unknown fit engine"):
        fit_spectrum(*_good(), engine="magic")


def test_a_failing_branch_is_named():
    field = np.concatenate((-FIELD[::-1], FIELD))
    v = helpers.llg_spectrum(field)
    v[field < 0] = 1e-6  # negative branch flat
    with pytest.raises(SpectrumFitError, match="^negative field branch: no resonance"):
        fit_branches(field, v)


def test_stray_points_of_the_other_branch_are_dropped_with_a_warning():
    field = np.concatenate(([-0.02, -0.01], FIELD))
    v = np.concatenate(([0.0, 0.0], helpers.llg_spectrum(FIELD)))
    with pytest.warns(SpectrumFitWarning, match="dropped 2 stray point"):
        parts = split_branches(field, v)
    assert [p[0] for p in parts] == [1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpectrumFitWarning)
        assert len(fit_branches(field, v)) == 1


def test_noise_is_never_taken_for_a_resonance():
    """100 pure-noise spectra of 51 and 401 points: every one refused."""
    rng = np.random.default_rng(99)
    for n in (51, 401):
        field = np.linspace(20.0, 250.0, n)
        for _ in range(50):
            with pytest.raises(SpectrumFitError):
                fit_spectrum(field, rng.normal(0.0, 1e-6, n))


def test_unevenly_spaced_fields_converge(rng):
    """Measured fields need not be evenly spaced: denser near the middle of the window here."""
    t = np.linspace(0.0, 1.0, 301)
    field = 40.0 + 160.0 * (t - 0.12 * np.sin(2 * np.pi * t))
    v = helpers.llg_spectrum(field, b_fl_per_A=-4e-3)
    truth = _truth(field, v)
    y, _ = helpers.noisy(v, 8.0, rng)
    fit = fit_spectrum(field, y)
    for name in LINE:
        assert abs(fit.values[name] - truth[name]) < 5.0 * fit.stderr[name], name
