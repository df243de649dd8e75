"""The simulated lock-in's noise decorrelates as its n-stage filter does (issue 14 item 8).

Hand-derived autocorrelations of white noise through n equal RC stages (convolve
the impulse response t^(n-1) e^(-t) / (n-1)! with itself):
n = 1: e^(-t); n = 2: (1 + t) e^(-t); n = 4: (1 + t + 2t^2/5 + t^3/15) e^(-t), t in units of tau.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymeasure.instruments.srs import SR830

from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.filter_noise import CascadeNoise, autocorrelation
from stfmr.instruments.sim.sample import VirtualSample

LAGS = np.array([0.0, 0.3, 1.0, 2.0, 4.0])


@pytest.mark.parametrize(("stages", "expected"), [
    (1, np.exp(-LAGS)),
    (2, (1 + LAGS) * np.exp(-LAGS)),
    (4, (1 + LAGS + 0.4 * LAGS**2 + LAGS**3 / 15) * np.exp(-LAGS)),
])
def test_the_filter_autocorrelation_is_the_hand_derived_one(stages, expected):
    np.testing.assert_allclose(autocorrelation(stages, LAGS), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("stages", [1, 2, 3, 4])
def test_sampled_noise_has_unit_variance_and_the_filter_correlation(stages):
    rng = np.random.default_rng(7)
    noise = CascadeNoise(stages)
    z = np.array([noise.value(0.7, rng) for _ in range(40_000)])
    for part in (z.real, z.imag):
        assert np.var(part) == pytest.approx(1.0, abs=0.06)
        lag1 = np.corrcoef(part[:-1], part[1:])[0, 1]
        assert lag1 == pytest.approx(autocorrelation(stages, 0.7)[0], abs=0.03)
    assert abs(np.corrcoef(z.real, z.imag)[0, 1]) < 0.05  # the quadratures are independent


def test_readings_one_tau_apart_through_the_sr830_driver_are_correlated_as_a_12_dB_filter():
    """A real 12 dB/oct lock-in read every tau keeps 74 % correlation, not exp(-1) = 37 %:
    averaging N such readings is worth far fewer than N independent ones."""
    bench = VirtualBench(VirtualSample.preset("type-A"), seed=3)
    bench.rf.output_on = False  # noise only
    li = SR830(bench.adapter("SR830"))
    li.time_constant = 0.1
    li.filter_slope = 12
    readings = []
    for _ in range(3000):
        bench.clock.sleep(0.1)
        readings.append(li.x)
    x = np.array(readings)
    lag1 = np.corrcoef(x[:-1], x[1:])[0, 1]
    assert lag1 == pytest.approx(2 * math.exp(-1), abs=0.04)
    assert lag1 > math.exp(-1) + 0.25
    enbw_tau = 1 / 8  # 12 dB/oct
    sigma = bench.sample.noise_density_V_per_rtHz * math.sqrt(enbw_tau / 0.1)
    assert np.std(x) == pytest.approx(sigma, rel=0.1)
