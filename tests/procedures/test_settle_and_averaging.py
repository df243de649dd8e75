"""Lock-in settling to the noise and averaged readings: the role's formulas against the simulated filter.

The detector role computes its waits from the filter's step response and its reading
spacing from the noise correlation time; the simulated lock-in integrates the n-stage
filter exactly and propagates its noise state (instruments/sim/filter_noise.py). Each
checks the other here; the adaptive sweep's step-aware settle is then shown to remove
the misfit that a plain 99 % settle leaves on the large steps between its clusters.
"""

import dataclasses
import math

import numpy as np
import pytest
from scipy.integrate import quad

from stfmr.analysis.characterize import fit_one
from stfmr.analysis.records import FitSettings
from stfmr.analysis.run_reader import read_run
from stfmr.instruments.bench import open_simulated_bench
from stfmr.instruments.modulation import lockin_factor
from stfmr.instruments.role_detector import NOISE_CORRELATION_TAUS, settle_taus
from stfmr.instruments.sim import filter_noise
from stfmr.instruments.sim.lockins import ENBW_TAU
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.procedures import field_sweep
from stfmr.procedures.executor import run_sequence
from stfmr.procedures.field_sweep import FieldSweep
from stfmr.procedures.sequence import parse_sequence

from support import runs as helpers

#: the SR830/SR860 manuals' settling times to 99 %, in time constants, per slope (dB/oct)
MANUAL_99 = {6: 4.6, 12: 6.6, 18: 8.4, 24: 10.0}


@pytest.mark.parametrize("slope", [6, 12, 18, 24])
def test_settle_times_solve_the_step_response_and_give_the_manuals_figures(slope):
    n = slope // 6
    assert settle_taus(slope) == pytest.approx(MANUAL_99[slope], rel=0.01)
    for residual in (1e-2, 1e-4, 1e-7):
        x = settle_taus(slope, residual)
        left = math.exp(-x) * sum(x**k / math.factorial(k) for k in range(n))  # hand-written Erlang tail
        assert left == pytest.approx(residual, rel=1e-6)


@pytest.mark.parametrize("slope", [6, 12, 18, 24])
def test_the_reading_interval_is_the_simulated_filters_noise_correlation_time(slope):
    n = slope // 6
    integral, _ = quad(lambda s: float(filter_noise.autocorrelation(n, s)[0]), 0.0, 60.0)
    assert NOISE_CORRELATION_TAUS[slope] == pytest.approx(integral, rel=1e-4)
    assert NOISE_CORRELATION_TAUS[slope] == pytest.approx(1.0 / (4.0 * ENBW_TAU[slope]), rel=1e-12)


def _quiet_sample(noise: float = 0.0) -> VirtualSample:
    base = VirtualSample.preset("type-A")
    return dataclasses.replace(base, noise_density_V_per_rtHz=noise * base.noise_density_V_per_rtHz)


def test_a_step_at_the_simulated_lockin_is_left_the_residual_the_role_predicts():
    """rf switched on at resonance: the signal steps from 0; after settle_time(r) a fraction r is left."""
    bench = open_simulated_bench(_quiet_sample(), seed=0)
    try:
        virtual = bench.virtual
        magnet = virtual.magnet
        magnet.set_output(True)
        magnet.set_setpoint(140.0 / magnet.calibration_mT_per_A)
        bench.rf.set_frequency_GHz(10.0)
        bench.rf.set_power_dBm(15.0)
        bench.rotator.move_to(35.26)
        bench.clock.sleep(30.0)  # the coil and the stage settled
        bench.rf.set_output(True)
        start = bench.clock.now()
        for residual in (1e-2, 1e-3, 1e-4):
            bench.clock.sleep(start + bench.detector.settle_time(residual) - bench.clock.now())
            x_now, _ = bench.detector.read_xy()
            bench.clock.sleep(100 * bench.detector.settle_time())
            x_end, _ = bench.detector.read_xy()
            assert abs(x_end) > 0
            assert (x_end - x_now) / x_end == pytest.approx(residual, rel=0.05)
            bench.rf.set_output(False)
            bench.clock.sleep(100 * bench.detector.settle_time())
            bench.rf.set_output(True)
            start = bench.clock.now()
    finally:
        bench.close()


def test_averaged_readings_scatter_as_the_filters_correlation_predicts():
    """Point means of 4 readings 2 tau apart (12 dB/oct): variance 0.43 of one reading's, not 1/4."""
    bench = open_simulated_bench(_quiet_sample(30.0), seed=3)
    try:
        sweep = FieldSweep()
        sweep.bench = bench
        n = sweep.readings_per_point = 4
        spacing = bench.detector.reading_interval() / bench.detector.time_constant()
        assert spacing == pytest.approx(2.0)
        singles, means = [], []
        for _ in range(600):
            bench.clock.sleep(20 * bench.detector.time_constant())  # points independent of each other
            singles.append(bench.detector.read_xy()[0])
            bench.clock.sleep(20 * bench.detector.time_constant())
            means.append(sweep.read_detector()[0])
        predicted = filter_noise.mean_noise_factor(2, n, spacing) ** 2
        assert predicted == pytest.approx(0.427, abs=0.001)
        ratio = np.var(means) / np.var(singles)
        assert ratio == pytest.approx(predicted, rel=0.2)  # 600 points: about 8 % rms each
        assert ratio > 1.3 / n  # correlated: clearly worse than n independent readings
    finally:
        bench.close()


ADAPTIVE = helpers.SAMPLE + """
[[step]]
kind = "field_sweep"
frequency_GHz = 10.0
power_dBm = 20.0
angle_deg = 35.26
window_mT = 80.0
mu0_Meff_T = 0.6
both_branches = true
field_grid = "adaptive"
field_points = 15
target_rel_error = 0.0
point_budget = 40
"""


def _misfit(folder, seed: int) -> float:
    """sqrt(reduced chi-square) of an adaptive sweep's branch fits over the lock-in's true point noise."""
    bench = open_simulated_bench(_quiet_sample(30.0), seed=seed)
    try:
        outcome = run_sequence(parse_sequence(ADAPTIVE, "seq.toml", bench.limits), bench, folder, progress=None)
        assert outcome.state == "finished"
        sigma = bench.virtual.instrument("SR830").noise_rms() / lockin_factor("pulse")
    finally:
        bench.close()
    [spectrum] = read_run(folder).spectra
    fits, failed = fit_one(spectrum, FitSettings())
    assert not failed and len(fits) == 2
    return float(np.mean([math.sqrt(f.redchi) for f in fits])) / sigma


def test_the_step_aware_settle_removes_the_misfit_of_the_large_steps(tmp_path, monkeypatch):
    aware = [_misfit(tmp_path / f"aware{seed}", seed) for seed in (0, 1)]
    monkeypatch.setattr(field_sweep, "SETTLE_NOISE_FRACTION", math.inf)  # the plain 99 % settle everywhere
    plain = [_misfit(tmp_path / f"plain{seed}", seed) for seed in (0, 1)]
    print(f"residual rms / true noise: step-aware {aware}, plain 99 % {plain}")
    assert np.mean(aware) < 1.15
    assert np.mean(plain) > np.mean(aware) + 0.15
