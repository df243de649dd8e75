"""The fast core's inner solve: closed-form amplitudes and the exact Newton step of the variable projection."""

import numpy as np
import pytest

from stfmr.analysis import lineshape
from stfmr.analysis.spectrum_fit_core import _linear_solve, _newton_step, _Point

from support import spectra

U = spectra.CORE_AXIS


def _data(derivative: bool, polarity: int) -> tuple[np.ndarray, np.ndarray]:
    return spectra.core_spectrum(polarity, derivative, seed=3)


@pytest.mark.parametrize("derivative", [False, True])
@pytest.mark.parametrize("polarity", [1, -1])
@pytest.mark.parametrize("slope", [True, False])
def test_closed_form_amplitudes_equal_least_squares_on_the_full_basis(derivative, polarity, slope):
    u, y = _data(derivative, polarity)
    pt = _Point(u, y, polarity * 0.52, 0.035, derivative, slope)
    coef = _linear_solve(pt.phi, y)
    np.testing.assert_allclose(pt.coef, coef, rtol=1e-9, atol=1e-12 * np.max(np.abs(coef)))
    np.testing.assert_allclose(pt.r, y - pt.phi @ coef, atol=1e-10)
    assert pt.chi2 == pytest.approx(float((y - pt.phi @ coef) @ (y - pt.phi @ coef)), rel=1e-10)


@pytest.mark.parametrize("derivative", [False, True])
@pytest.mark.parametrize("polarity", [1, -1])
def test_newton_step_is_the_newton_step_of_chi_square_with_the_amplitudes_re_solved(derivative, polarity):
    """chi2(hr, w) with the amplitudes solved exactly: its finite-difference Newton step is the analytic one."""
    u, y = _data(derivative, polarity)
    hr, w = polarity * 0.505, 0.031

    def f(a: float, b: float) -> float:
        return 0.5 * _Point(u, y, a, b, derivative, True).chi2

    e = 1e-5
    grad = np.array(((f(hr + e, w) - f(hr - e, w)) / (2 * e), (f(hr, w + e) - f(hr, w - e)) / (2 * e)))
    h_hh = (f(hr + e, w) - 2 * f(hr, w) + f(hr - e, w)) / e**2
    h_ww = (f(hr, w + e) - 2 * f(hr, w) + f(hr, w - e)) / e**2
    h_hw = (f(hr + e, w + e) - f(hr + e, w - e) - f(hr - e, w + e) + f(hr - e, w - e)) / (4 * e * e)
    numeric = -np.linalg.solve(np.array(((h_hh, h_hw), (h_hw, h_ww))), grad)
    step = _newton_step(_Point(u, y, hr, w, derivative, True), u, derivative)
    assert step is not None
    np.testing.assert_allclose(step, numeric, rtol=2e-4)


@pytest.mark.parametrize("derivative", [False, True])
@pytest.mark.parametrize("hr", [110.0, -110.0])
def test_complex_shape_derivatives_match_the_real_gradients_and_differences(derivative, hr):
    h = np.linspace(60.0, 160.0, 801) * np.sign(hr)
    dh = 4.0
    z = lineshape.complex_shape_derivatives(h, hr, dh, derivative)
    real = lineshape.shape_gradients(h, hr, dh, derivative)
    for k in range(3):  # z, dz/dH_r, dz/d(dH): imaginary parts the S terms, real parts the A terms
        np.testing.assert_allclose(z[k].imag, real[2 * k], atol=1e-13 * np.max(np.abs(real[2 * k])))
        np.testing.assert_allclose(z[k].real, real[2 * k + 1], atol=1e-13 * np.max(np.abs(real[2 * k + 1])))
    eps = 1e-5

    def at(a: float, b: float):
        return lineshape.complex_shape_derivatives(h, a, b, derivative)

    pairs = (
        (z[3], (at(hr + eps, dh)[1] - at(hr - eps, dh)[1]) / (2 * eps)),  # d2z/dH_r2
        (z[4], (at(hr, dh + eps)[1] - at(hr, dh - eps)[1]) / (2 * eps)),  # d2z/dH_r d(dH)
        (z[4], (at(hr + eps, dh)[2] - at(hr - eps, dh)[2]) / (2 * eps)),  # the same, the other way
        (z[5], (at(hr, dh + eps)[2] - at(hr, dh - eps)[2]) / (2 * eps)),  # d2z/d(dH)2
    )
    for analytic, numeric in pairs:
        np.testing.assert_allclose(analytic, numeric, atol=1e-7 * np.max(np.abs(analytic)))
