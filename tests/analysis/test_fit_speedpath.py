"""The fast fit's shortcuts give what the plain computations give.

Each shortcut of the 401-point speed path (issue 14) is checked against the
straightforward computation it replaces: the coefficient table of the complex
shapes, the one-subtraction complex kernel, the one-polarity candidate shapes,
the exact chi-square drop of a candidate, the selection of the scan's maxima,
the covariance from the normal matrix, and the bit-for-bit np.median, np.std
and np.linspace replacements.
"""

from __future__ import annotations

import numpy as np
import pytest

from stfmr.analysis import lineshape
from stfmr.analysis.spectrum_fit import (
    _NORMAL_COND,
    SpectrumFitError,
    _median,
    _prepare_branch,
    _spread,
    _unit_inverse,
    fit_spectrum,
)
from stfmr.analysis.spectrum_fit_core import _Background, _exact_gain, _highest_maxima, _Point

from support import spectra

U = spectra.CORE_AXIS


@pytest.mark.parametrize("hr", [0.5, -0.5, 0.0])
def test_complex_kernel_is_one_over_x_minus_i_dh_on_either_branch(hr):
    h = U if hr >= 0 else -U
    p = -1 if hr < 0 else 1
    expected = 1.0 / (p * (h - hr) - 1j * 0.03)
    np.testing.assert_array_equal(lineshape.complex_kernel(h, hr, 0.03), expected)


@pytest.mark.parametrize("derivative", [False, True])
@pytest.mark.parametrize("hr", [0.5, -0.5])
def test_complex_shape_is_the_first_row_of_the_coefficient_table_and_gives_s_and_a(derivative, hr):
    h = U * np.sign(hr)
    q = lineshape.complex_kernel(h, hr, 0.03)
    z = lineshape.complex_shape(q, hr, 0.03, derivative)
    table = lineshape.complex_shape_coefficients(hr, 0.03, derivative)
    powers = lineshape.complex_kernel_powers(q, table.shape[1])
    np.testing.assert_allclose(table[0] @ powers, z, rtol=1e-13)
    np.testing.assert_allclose(powers[-1], q ** table.shape[1], rtol=1e-13)
    s, a = lineshape.shape_terms(h, hr, 0.03, derivative)
    scale = np.max(np.abs(z))
    np.testing.assert_allclose(z.imag, s, atol=1e-13 * scale)
    np.testing.assert_allclose(z.real, a, atol=1e-13 * scale)


@pytest.mark.parametrize("derivative", [False, True])
def test_shape_terms_with_a_known_polarity_equal_the_elementwise_polarity(derivative):
    hr = -np.array([[0.3], [0.5], [0.9]])
    w = np.array([[0.01], [0.05], [0.2]])
    fast = lineshape.shape_terms(-U, hr, w, derivative, polarity=-1)
    plain = lineshape.shape_terms(-U, hr, w, derivative)
    for f, p in zip(fast, plain):
        np.testing.assert_array_equal(f, p)


def _data(polarity: int, derivative: bool = False):
    return spectra.core_spectrum(polarity, derivative, seed=11)


@pytest.mark.parametrize("derivative", [False, True])
@pytest.mark.parametrize("polarity", [1, -1])
@pytest.mark.parametrize("slope", [True, False])
def test_exact_gain_is_the_chi_square_drop_of_a_full_least_squares_fit(derivative, polarity, slope):
    u, y = _data(polarity, derivative)
    bg = _Background(u, y, slope)
    hr = polarity * np.array([0.3, 0.5, 0.52, 0.8, 0.99])
    w = np.array([0.01, 0.03, 0.05, 0.1, 0.02])
    gains = _exact_gain(u, bg, hr, w, derivative)
    background = [np.ones(u.size)] + ([u] if slope else [])
    for g, h0, w0 in zip(gains, hr, w):
        s, a = lineshape.shape_terms(u, h0, w0, derivative)
        basis = np.column_stack([s, a] + background)
        coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
        chi2 = float(np.sum((y - basis @ coef) ** 2))
        assert g == pytest.approx(bg.chi2 - chi2, rel=1e-9, abs=1e-9 * bg.chi2)


def test_exact_gain_of_a_candidate_at_zero_field_on_the_negative_branch_uses_the_positive_shapes():
    # a window ending at 0 mT: a candidate exactly at zero takes p = +1, as lineshape does for H_r = 0
    u = np.linspace(-1.0, 0.0, 201)
    y = lineshape.spectrum_voltage(u, -0.4, 0.05, 1.0, 0.3, 0.0, 0.0) + np.random.default_rng(2).normal(0, 0.01, 201)
    bg = _Background(u, y, True)
    hr, w = np.array([-0.4, 0.0]), np.array([0.05, 0.05])
    together = _exact_gain(u, bg, hr, w, False)
    apart = np.concatenate([_exact_gain(u, bg, hr[i:i + 1], w[i:i + 1], False) for i in range(2)])
    np.testing.assert_allclose(together, apart, rtol=1e-12)


def _reference_maxima(power: np.ndarray, count: int):
    """The selection as the scan made it with np.pad and a full argsort."""
    padded = np.pad(power, ((0, 0), (1, 1)), constant_values=-np.inf)
    peak = (power >= padded[:, :-2]) & (power >= padded[:, 2:])
    ranked = np.argsort(np.where(peak, power, -np.inf), axis=1)[:, ::-1][:, :count]
    keep = np.take_along_axis(peak, ranked, axis=1)
    return np.nonzero(keep)[0], ranked[keep]


def test_highest_maxima_are_the_argsort_selection_including_ends_and_rows_with_one_maximum():
    rng = np.random.default_rng(5)
    power = rng.random((7, 64))
    power[1] = np.arange(64.0)  # one maximum, at the right end
    power[2] = np.arange(64.0)[::-1]  # one maximum, at the left end
    power[3, :] = 1.0
    power[3, 10] = 5.0  # a spike on a plateau: the plateau's points are maxima too
    for count in (1, 2, 3):
        rows, at = _highest_maxima(power, count)
        ref_rows, ref_at = _reference_maxima(power, count)
        np.testing.assert_array_equal(rows, ref_rows)
        np.testing.assert_array_equal(power[rows, at], power[ref_rows, ref_at])  # equal values (ties may swap)
    rows, at = _highest_maxima(power, 2)
    assert list(at[rows == 1]) == [63] and list(at[rows == 2]) == [0]


def _svd_inverse(jac_unit: np.ndarray) -> np.ndarray:
    _, sv, vt = np.linalg.svd(jac_unit, full_matrices=False)
    return (vt.T / sv**2) @ vt


def test_covariance_from_the_normal_matrix_equals_the_svd_one():
    u, y = _data(1)
    pt = _Point(u, y, 0.5, 0.03, False, True)
    jac = pt.jacobian()
    norms = np.sqrt(np.sum(jac * jac, axis=0))
    gram = (jac.T @ jac) / np.outer(norms, norms)
    inv = _unit_inverse(jac, gram, norms)
    assert inv.diagonal().max() < _NORMAL_COND  # the fast path was taken
    np.testing.assert_allclose(inv, _svd_inverse(jac / norms), rtol=1e-10, atol=1e-12)


def test_ill_conditioned_covariance_falls_back_to_the_svd_and_a_degenerate_one_is_refused():
    rng = np.random.default_rng(3)
    jac = rng.normal(size=(200, 4))
    jac[:, 3] = jac[:, 2] + 1e-4 * rng.normal(size=200)  # condition about 1e8 in the normal matrix
    norms = np.sqrt(np.sum(jac * jac, axis=0))
    gram = (jac.T @ jac) / np.outer(norms, norms)
    assert np.linalg.inv(gram).diagonal().max() >= _NORMAL_COND
    np.testing.assert_allclose(_unit_inverse(jac, gram, norms), _svd_inverse(jac / norms), rtol=1e-12)
    jac[:, 3] = jac[:, 2]
    norms = np.sqrt(np.sum(jac * jac, axis=0))
    with pytest.raises(SpectrumFitError, match="degenerate"):
        _unit_inverse(jac, (jac.T @ jac) / np.outer(norms, norms), norms)


def test_median_and_spread_are_numpys_bit_for_bit():
    rng = np.random.default_rng(4)
    for n in (1, 2, 3, 4, 399, 400, 401):
        x = np.abs(rng.normal(size=n)) * 1e-7
        assert _median(x) == np.median(x)
        assert _spread(x) == np.std(x)
    x = np.abs(rng.normal(size=11))
    x[4] = np.nan
    assert np.isnan(_median(x))


def test_branch_checks_keep_their_messages_and_order():
    h = np.linspace(-10.0, 10.0, 41)  # strictly monotonic through zero
    with pytest.raises(SpectrumFitError, match="both signs"):
        _prepare_branch(h, np.zeros(41))
    with pytest.raises(SpectrumFitError, match="zero everywhere"):
        _prepare_branch(np.zeros(20), np.zeros(20))
    down = np.linspace(200.0, 40.0, 41)
    v = np.arange(41.0)
    h2, v2 = _prepare_branch(down, v)
    np.testing.assert_array_equal(h2, down[::-1])
    np.testing.assert_array_equal(v2, v[::-1])
    with pytest.raises(SpectrumFitError, match="voltage holds 1 NaN or infinite value.*index 7"):
        _prepare_branch(down, np.where(np.arange(41) == 7, np.inf, 0.0))


def test_a_window_ending_at_zero_field_fits_on_the_negative_branch():
    h = np.linspace(-160.0, 0.0, 321)
    v = lineshape.spectrum_voltage(h, -90.0, 4.0, -2e-6, 1e-6, 1e-8, 0.0)
    v = v + np.random.default_rng(6).normal(0, 2e-8, h.size)
    fit = fit_spectrum(h, v)
    assert fit.polarity == -1
    assert abs(fit.values["H_r"] + 90.0) < 5 * fit.stderr["H_r"]
    assert abs(fit.values["dH"] - 4.0) < 5 * fit.stderr["dH"]
