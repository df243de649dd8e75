"""The efficiencies keep each spectrum's V_S-dH correlation: V_S0 as the angular fit's combination of the V_S."""

import numpy as np
import pytest
import uncertainties

from stfmr.analysis.angular import amplitude_weights, angular_voltage, fit_angular
from stfmr.analysis.characterize import combined_linewidth

ANGLES = np.array([15.0, 35.26, 144.74, 215.26, 324.74, 195.0, 215.26 + 180.0, 35.26 + 180.0])


def _points(rng):
    sigma = rng.uniform(0.5e-6, 2e-6, ANGLES.size)
    v_s = angular_voltage(ANGLES, {"V_S0": 20e-6}, "S") + rng.normal(0.0, sigma)
    v_a = angular_voltage(ANGLES, {"V_A0": 30e-6}, "A") + rng.normal(0.0, sigma)
    return sigma, v_s, v_a


def test_the_weights_are_the_weighted_least_squares_solution(rng):
    sigma, v_s, _ = _points(rng)
    w = amplitude_weights(ANGLES, sigma)
    basis = angular_voltage(ANGLES, {"V_S0": 1.0}, "S")
    # the normal equation by hand: sum b y / s^2 / sum b^2 / s^2
    assert float(w[0] @ v_s) == pytest.approx(float(np.sum(basis * v_s / sigma**2) / np.sum(basis**2 / sigma**2)))


def test_independent_voltages_give_the_fits_own_amplitudes_and_errors(rng):
    sigma, v_s, v_a = _points(rng)
    fit = fit_angular(ANGLES, v_s, v_a, sigma_S=sigma, sigma_A=sigma)
    s_u = [uncertainties.ufloat(v, e) for v, e in zip(v_s, sigma)]
    a_u = [uncertainties.ufloat(v, e) for v, e in zip(v_a, sigma)]
    v_s0, v_a0 = fit.amplitudes_of(ANGLES, s_u, a_u)
    ref_s, ref_a = fit.amplitudes()
    for mine, ref in ((v_s0, ref_s), (v_a0, ref_a)):
        assert mine.nominal_value == pytest.approx(ref.nominal_value, rel=1e-6)
        assert mine.std_dev == pytest.approx(ref.std_dev, rel=1e-6)


def test_the_correlation_of_each_v_s_with_its_dh_reaches_the_product(rng):
    """xi goes as V_S0*dH: with V_S and dH of each spectrum anti-correlated, the product's error is smaller."""
    sigma, v_s, v_a = _points(rng)
    fit = fit_angular(ANGLES, v_s, v_a, sigma_S=sigma, sigma_A=sigma)
    rho, widths, s_u, a_u = -0.6, [], [], []
    for v, a, e in zip(v_s, v_a, sigma):
        cov = [[e**2, rho * e * 0.01], [rho * e * 0.01, 0.01**2]]
        vs_u, dh_u = uncertainties.correlated_values([v, 4.0], cov)
        s_u.append(vs_u)
        widths.append(dh_u)
        a_u.append(uncertainties.ufloat(a, e))
    v_s0, _ = fit.amplitudes_of(ANGLES, s_u, a_u)
    dh, _ = combined_linewidth(widths)
    product = v_s0 * dh
    independent = fit.amplitudes()[0] * uncertainties.ufloat(dh.nominal_value, dh.std_dev)
    # by hand: var(V_S0 dH) = dH^2 var V_S0 + V_S0^2 var dH + 2 V_S0 dH cov(V_S0, dH),
    # cov = sum_i a_i w_i rho s_i 0.01 with a the angular weights and w the dH means' (equal errors: 1/n)
    a = amplitude_weights(ANGLES, sigma)[0]
    cov = float(np.sum(a * rho * sigma * 0.01) / ANGLES.size)
    var = (dh.nominal_value * v_s0.std_dev) ** 2 + (v_s0.nominal_value * dh.std_dev) ** 2 \
        + 2 * v_s0.nominal_value * dh.nominal_value * cov
    assert product.std_dev == pytest.approx(np.sqrt(var), rel=1e-6)
    assert product.std_dev < independent.std_dev
