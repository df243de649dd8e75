"""Repeated rf calibrations and AMR sweeps pooled: half the variance from two, honest errors, disagreement warned."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from stfmr.analysis.calibration import (
    CalibrationError,
    calibrate_rf_current,
    fit_amr,
    fit_dc_heating,
    fit_rf_heating,
    pool_amr,
    pool_rf_calibrations,
)
from stfmr.analysis.constants import dBm_to_W
from stfmr.analysis.pooling import DISAGREE_P, NOISE_KNOWN, NOISE_OWN, NOISE_POOLED
from stfmr.app import cli
from stfmr.instruments.bench import open_simulated_bench
from stfmr.procedures.executor import ExecutorObserver, run_sequence
from stfmr.procedures.sequence import parse_sequence
from tests.support import runs as helpers

#: the precision design: +-1/4 .. 4/4 of 4 mA, and R(P) at the two ends, three times each
I_DC_MA = np.array([-4.0, -3.0, -2.0, -1.0, 1.0, 2.0, 3.0, 4.0])
P_DBM = np.array([0.0, 20.0, 20.0, 0.0, 0.0, 20.0])
K = 1.8e3  # Ohm/A^2
T = 0.05  # A per sqrt(W): I_0 = T*sqrt(P)
SIGMA = 2e-3  # Ohm


def calibration(rng, c_factor: float = 1.0, sigma: float = SIGMA, offset: float = 0.0):
    """(R(I_dc), R(P)) of one calibration; ``offset`` a baseline drift (Ohm), ``c_factor`` a changed transmission."""
    r_dc = 230.0 + offset + K * (I_DC_MA * 1e-3) ** 2 + rng.normal(0, sigma, I_DC_MA.size)
    r_rf = 230.4 + offset + c_factor * K * T**2 * dBm_to_W(P_DBM) / 2 + rng.normal(0, sigma, P_DBM.size)
    return r_dc, r_rf


def fitted(data: dict, sigma=None):
    """({label: dc fit}, {label: rf fit}) of {label: (R(I_dc), R(P))}."""
    dc = {k: fit_dc_heating(I_DC_MA, r[0], sigma_Ohm=sigma, positive=False) for k, r in data.items()}
    rf = {k: fit_rf_heating(P_DBM, r[1], sigma_Ohm=sigma, positive=False) for k, r in data.items()}
    return dc, rf


def test_two_calibrations_with_known_errors_pool_to_half_the_variance(rng):
    data = {"a.csv": calibration(rng), "b.csv": calibration(rng, offset=0.3)}  # R_0 drifted by 0.3 Ohm
    dc, rf = fitted(data, SIGMA)
    pooled = pool_rf_calibrations(dc, rf, freq_GHz=10.0, weighted=True)
    for name, fits, fit in (("k_Ohm_per_A2", dc, pooled.dc_fit), ("c_Ohm_per_W", rf, pooled.rf_fit)):
        p = pooled.pooling[name]
        assert p.noise == NOISE_KNOWN and p.n == 2 and p.labels == ("a.csv", "b.csv") and p.dof == 1
        assert p.names == (name,) and p.p_value[0] >= DISAGREE_P and p.error_scale == (1.0,) and p.warning() is None
        # the same design and known errors: each repeat has the same variance, the pool half of it
        single = fits["a.csv"].stderr[name] ** 2
        assert fits["b.csv"].stderr[name] ** 2 == pytest.approx(single, rel=1e-6)
        assert fit.stderr[name] ** 2 == pytest.approx(single / 2, rel=1e-6)
        assert fit.values[name] == pytest.approx(np.mean([f.values[name] for f in fits.values()]), rel=1e-9)
    one = calibrate_rf_current(I_DC_MA, data["a.csv"][0], P_DBM, data["a.csv"][1], sigma_dc_Ohm=SIGMA,
                               sigma_rf_Ohm=SIGMA)
    (i0, s), (i1, s1) = pooled.I0_A(10.0), one.I0_A(10.0)
    # I_0's relative variance (a quarter of c's and k's) halves too, up to the change of c and k's values
    assert (s / i0) ** 2 == pytest.approx((s1 / i1) ** 2 / 2, rel=0.05)
    assert abs(i0 - T * 0.1) < 3 * s
    record = pooled.to_dict(10.0)["pooling"]["c_Ohm_per_W"]
    assert record["repeats"] == 2 and record["files"] == ["a.csv", "b.csv"] and record["noise"] == "known"


def test_pooled_unweighted_calibrations_report_the_error_they_scatter_by(rng):
    """Repeats fitted without known errors: the pool's reported variance is the true one, half a single one's.

    With each repeat's own 4-degree-of-freedom noise estimate as its weight the reported
    variance would come out about half the true one; the pooled noise level keeps it honest."""
    singles, pools, reported, noise = [], [], [], []
    for _ in range(120):
        data = {"a": calibration(rng), "b": calibration(rng)}
        cal = pool_rf_calibrations(*fitted(data))
        noise.append(cal.pooling["c_Ohm_per_W"].noise)
        v, s = cal.I0_A(10.0)
        pools.append(v)
        reported.append(s**2)
        singles.append(calibrate_rf_current(I_DC_MA, data["a"][0], P_DBM, data["a"][1]).I0_A(10.0)[0])
    assert noise.count(NOISE_POOLED) >= 110  # Bartlett's test tells alike noise apart 1 time in 100
    true_var = np.var(pools)
    assert 0.35 < true_var / np.var(singles) < 0.7
    assert 0.75 < np.mean(reported) / true_var < 1.33


def test_disagreeing_calibrations_are_warned_and_their_error_scaled_by_the_birge_ratio(rng):
    data = {"a.csv": calibration(rng), "b.csv": calibration(rng, c_factor=1.2)}  # the rf reached it 10 % better
    dc, rf = fitted(data, SIGMA)
    pooled = pool_rf_calibrations(dc, rf, freq_GHz=10.0, weighted=True)
    p = pooled.pooling["c_Ohm_per_W"]
    (birge,) = p.birge_ratios
    assert p.p_value[0] < DISAGREE_P and birge > 3 and p.error_scale == pytest.approx((birge,))
    unscaled = 1 / math.sqrt(sum(1 / f.stderr["c_Ohm_per_W"] ** 2 for f in rf.values()))
    assert pooled.rf_fit.stderr["c_Ohm_per_W"] == pytest.approx(birge * unscaled, rel=1e-9)
    warning = p.warning()
    assert warning is not None and warning.startswith("rf heating slope c at 10 GHz: the 2 repeats (a.csv, b.csv) "
                                                      "disagree beyond their errors (c_Ohm_per_W: chi-square")
    assert f"error scaled by the Birge ratio {birge:.3g}" in warning
    assert pooled.pooling["k_Ohm_per_A2"].warning() is None  # the dc heating agrees


def test_repeats_of_unlike_noise_keep_their_own_and_a_negative_pooled_slope_is_refused(rng):
    data = {"1 mA": calibration(rng), "0.1 mA": calibration(rng, sigma=10 * SIGMA)}
    cal = pool_rf_calibrations(*fitted(data))
    assert cal.pooling["c_Ohm_per_W"].noise == NOISE_OWN
    fits = fitted(data)[1]
    weights = {k: 1 / f.stderr["c_Ohm_per_W"] ** 2 for k, f in fits.items()}
    assert cal.rf_fit.stderr["c_Ohm_per_W"] == pytest.approx(1 / math.sqrt(sum(weights.values())), rel=1e-9)
    cooling = {"x": (data["1 mA"][0], 230.4 - 0.5 * dBm_to_W(P_DBM) + rng.normal(0, SIGMA, P_DBM.size))}
    with pytest.raises(CalibrationError, match="rf heating coefficient c = .* is not positive"):
        pool_rf_calibrations(fitted(data)[0], fitted(cooling)[1])


ANGLES = np.arange(0.0, 360.0, 30.0)


def amr_sweep(rng, r_perp=230.0, phi0=89.0):
    return fit_amr(ANGLES, r_perp + 0.6 * np.cos(np.radians(ANGLES - phi0)) ** 2 + rng.normal(0, 2e-3, ANGLES.size))


def test_amr_sweeps_pool_their_correlated_parameters_across_the_phi0_fold(rng):
    """phi_0 near 90 deg folds to -89 in one sweep and 89 in another: pooled next to each other, not to 0."""
    a, b = amr_sweep(rng, phi0=89.9), amr_sweep(rng, phi0=90.1)
    assert a.values["phi_0_deg"] > 80 and b.values["phi_0_deg"] < -80
    pooled = pool_amr({"a": a, "b": b})
    assert abs(abs(pooled.values["phi_0_deg"]) - 90.0) < 0.5
    assert pooled.pooling is not None and pooled.pooling.n == 2 and pooled.pooling.dof == 1
    assert pooled.pooling.names == ("R_perp_Ohm", "delta_R_Ohm", "phi_0_deg") and not pooled.pooling.disagrees
    assert pooled.stderr["delta_R_Ohm"] < min(a.stderr["delta_R_Ohm"], b.stderr["delta_R_Ohm"])
    assert pool_amr({"a": a}).pooling.n == 1 and pool_amr({"a": a}).values == a.values


#: two AMR sweeps at 30 deg steps through 1 mA
TWO_AMR = helpers.SAMPLE + """
[[step]]
kind = "amr"
field_mT = 300.0
angles_deg = {start = 0, stop = 360, step = 30}
sense_current_mA = 1.0

[[step]]
kind = "amr"
field_mT = 300.0
angles_deg = {start = 0, stop = 360, step = 30}
sense_current_mA = 1.0
"""


class WarmUp(ExecutorObserver):
    """Raises the device's resistance by ``ohms`` before step 2 (the room warmed up between the sweeps)."""

    def __init__(self, bench, ohms: float) -> None:
        self.bench, self.ohms = bench, ohms

    def task_started(self, task, entry, procedure, results) -> None:
        if task.step == 2 and self.ohms:
            virtual = self.bench.virtual
            virtual.sample = dataclasses.replace(virtual.sample, R_perp_Ohm=virtual.sample.R_perp_Ohm + self.ohms)


@pytest.mark.parametrize("drift_Ohm", [0.0, 0.05])
def test_stfmr_analyze_pools_two_amr_sweeps_and_warns_when_the_device_drifted(tmp_path, capsys, drift_Ohm):
    bench = open_simulated_bench("type-A")
    try:
        outcome = run_sequence(parse_sequence(TWO_AMR, "seq.toml", bench.limits), bench, tmp_path / "run",
                               observer=WarmUp(bench, drift_Ohm))
    finally:
        bench.close()
    assert outcome.state == "finished"
    assert cli.main(["analyze", str(tmp_path / "run"), "--json"]) == 0
    sample = json.loads(capsys.readouterr().out)["samples"][0]
    pooling = sample["amr_pooling"]
    assert pooling["repeats"] == 2 and len(pooling["files"]) == 2
    drifted = [w for w in sample["warnings"] if w.startswith("AMR: the 2 repeats")]
    r_perp, delta_r = pooling["parameters"]["R_perp_Ohm"], pooling["parameters"]["delta_R_Ohm"]
    assert delta_r["error_scale"] == 1.0 and delta_r["dof"] == 1  # Delta_R_AMR did not move
    if drift_Ohm:
        assert r_perp["p_value"] < DISAGREE_P / 3 and r_perp["error_scale"] == r_perp["birge_ratio"] > 10
        assert len(drifted) == 1 and "disagree beyond their errors (R_perp_Ohm: chi-square" in drifted[0]
        assert "delta_R_Ohm" not in drifted[0]
        assert sample["R_perp_Ohm"]["stderr"] > 0.3 * drift_Ohm / 2  # the scaled error covers the drift
    else:
        assert r_perp["error_scale"] == 1.0 and not drifted
        assert any(n.startswith("AMR: inverse-variance mean of 2 repeats")
                   for n in sample["notes"])
    assert cli.main(["analyze", str(tmp_path / "run")]) == 0
    text = capsys.readouterr().out
    assert ("WARNING: AMR: the 2 repeats" in text) == bool(drift_Ohm)
    assert "note: AMR: inverse-variance mean of 2 repeats" in text
