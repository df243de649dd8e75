"""Kittel and damping: the formulas, recovery of synthetic truth within stderr, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from stfmr.analysis.resonance import (
    ResonanceFitError,
    fit_damping,
    fit_kittel,
    kittel_frequency_GHz,
    linewidth_mT,
    resonance_field_mT,
)

FREQS = np.array([4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0])


def test_kittel_inverse_and_gyromagnetic_ratio():
    h = resonance_field_mT(FREQS, 0.9, 2.1)
    assert np.all(h > 0)
    assert kittel_frequency_GHz(h, 0.9, 2.1) == pytest.approx(FREQS, rel=1e-12)
    # gamma/2pi = (g/2)*27.99 GHz/T: with M_eff = 0 the resonance is f/(gamma/2pi)
    assert resonance_field_mT(10.0, 0.0, 2.0) == pytest.approx(1e3 * 10.0 / 27.9925, rel=1e-4)
    assert isinstance(resonance_field_mT(10.0, 0.9, 2.1), float)


def test_kittel_fit_recovers_meff_and_g(rng):
    sigma = 0.3
    h = resonance_field_mT(FREQS, 0.82, 2.12) + rng.normal(0, sigma, FREQS.size)
    fit = fit_kittel(FREQS, h)
    assert abs(fit.values["mu0_Meff_T"] - 0.82) < 4 * fit.stderr["mu0_Meff_T"]
    assert abs(fit.values["g"] - 2.12) < 4 * fit.stderr["g"]
    assert fit.correlation.shape == (2, 2)
    assert fit.resonance_field_mT(10.0) == pytest.approx(resonance_field_mT(10.0, 0.82, 2.12), abs=1.0)
    fixed = fit_kittel(FREQS, h, fit_g=False, g=2.12, sigma_mT=sigma)
    assert fixed.names == ("mu0_Meff_T",) and fixed.stderr["g"] == 0.0
    assert abs(fixed.values["mu0_Meff_T"] - 0.82) < 4 * fixed.stderr["mu0_Meff_T"]


def test_damping_fit_recovers_alpha_and_dh0(rng):
    dh = linewidth_mT(FREQS, 0.013, 0.7, 2.1) + rng.normal(0, 0.05, FREQS.size)
    fit = fit_damping(FREQS, dh, g=2.1)
    assert abs(fit.values["alpha"] - 0.013) < 4 * fit.stderr["alpha"]
    assert abs(fit.values["dH0_mT"] - 0.7) < 4 * fit.stderr["dH0_mT"]
    assert fit.linewidth_mT(10.0) == pytest.approx(linewidth_mT(10.0, 0.013, 0.7, 2.1), abs=0.1)
    # alpha*omega/gamma at 10 GHz, g = 2.1: 0.013 * 10/(1.05*27.99) T
    assert linewidth_mT(10.0, 0.013, 0.0, 2.1) == pytest.approx(0.013 * 1e4 / (1.05 * 27.9925), rel=1e-4)


@pytest.mark.parametrize(
    "f, h, match",
    [
        ([8.0, 10.0], [90.0, 110.0], "too few points"),
        ([8.0, 10.0, np.nan], [90.0, 110.0, 130.0], "NaN"),
        ([8.0, 10.0, 12.0], [90.0, -110.0, 130.0], "positive"),
        ([8.0, -10.0, 12.0], [90.0, 110.0, 130.0], "frequency"),
        ([10.0, 10.0, 10.0], [90.0, 91.0, 92.0], "distinct frequencies"),
    ],
)
def test_kittel_refusals(f, h, match):
    with pytest.raises(ResonanceFitError, match=match):
        fit_kittel(f, h)


@pytest.mark.parametrize(
    "f, dh, kw, match",
    [
        ([8.0, 10.0], [3.0, 4.0], {}, "too few points"),
        ([8.0, 10.0, 12.0], [3.0, 0.0, 5.0], {}, "positive"),
        ([8.0, 10.0, 12.0], [3.0, np.inf, 5.0], {}, "NaN or infinite"),
        ([8.0, 10.0, 12.0], [3.0, 4.0, 5.0], {"sigma_mT": 0.0}, "positive"),
    ],
)
def test_damping_refusals(f, dh, kw, match):
    with pytest.raises(ResonanceFitError, match=match):
        fit_damping(f, dh, g=2.1, **kw)
    with pytest.raises(ResonanceFitError, match="g must be positive"):
        fit_damping([8.0, 10.0, 12.0], [3.0, 4.0, 5.0], g=-2.0)


def test_sigma_length_must_match():
    with pytest.raises(ResonanceFitError, match="give one value or 3"):
        fit_damping([8.0, 10.0, 12.0], [3.0, 4.0, 5.0], g=2.1, sigma_mT=[0.1, 0.1])
