"""AMR and rf-current (Tshitoyan) calibrations: recovery within stderr, propagated I_0 uncertainty, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stfmr.analysis.calibration import (
    CalibrationError,
    calibrate_rf_current,
    calibrate_rf_current_per_frequency,
    fit_amr,
)
from stfmr.analysis.constants import dBm_to_W

ANGLES = np.arange(0.0, 360.0, 10.0)
I_DC_MA = np.linspace(-6.0, 6.0, 13)
P_DBM = np.arange(0.0, 16.0, 3.0)
K = 1.8e3  # Ohm/A^2
T = 0.05  # A per sqrt(W): I_0 = T*sqrt(P)


def heated(i_rms2, rng, noise=2e-4):
    return 230.0 + K * i_rms2 + rng.normal(0, noise, np.size(i_rms2))


def test_amr_fit_recovers_truth_with_offset(rng):
    r = 230.0 + 0.6 * np.cos(np.radians(ANGLES - 4.0)) ** 2 + rng.normal(0, 0.002, ANGLES.size)
    fit = fit_amr(ANGLES, r)
    for name, truth in (("R_perp_Ohm", 230.0), ("delta_R_Ohm", 0.6), ("phi_0_deg", 4.0)):
        assert abs(fit.values[name] - truth) < 4 * fit.stderr[name], name
    assert fit.resistance_Ohm(4.0) == pytest.approx(230.6, abs=0.01)
    fixed = fit_amr(ANGLES, r, fit_offset=False, offset_deg=4.0)
    assert fixed.stderr["phi_0_deg"] == 0.0 and abs(fixed.values["delta_R_Ohm"] - 0.6) < 4 * fixed.stderr["delta_R_Ohm"]


def test_amr_offset_folded_into_half_period(rng):
    r = 230.0 + 0.6 * np.cos(np.radians(ANGLES + 176.0)) ** 2 + rng.normal(0, 0.002, ANGLES.size)
    fit = fit_amr(ANGLES, r)
    assert -90.0 < fit.values["phi_0_deg"] <= 90.0
    assert fit.values["phi_0_deg"] == pytest.approx(4.0, abs=0.5)


def test_rf_current_matches_equal_heating_truth(rng):
    """R(P) heats like an rms current I_0^2/2 with I_0 = T*sqrt(P): the calibration returns T*sqrt(P)."""
    r_dc = heated((I_DC_MA * 1e-3) ** 2, rng)
    r_rf = heated((T**2 * dBm_to_W(P_DBM)) / 2.0, rng)
    cal = calibrate_rf_current(I_DC_MA, r_dc, P_DBM, r_rf, freq_GHz=10.0)
    i0, s = cal.I0_A(10.0)
    truth = T * math.sqrt(1e-2)
    assert abs(i0 - truth) < 4 * s
    assert s < 0.02 * truth
    # propagated: relative stderr = 0.5*sqrt((sc/c)^2 + (sk/k)^2) for independent fits
    k, sk = cal.dc_fit.values["k_Ohm_per_A2"], cal.dc_fit.stderr["k_Ohm_per_A2"]
    c, sc = cal.rf_fit.values["c_Ohm_per_W"], cal.rf_fit.stderr["c_Ohm_per_W"]
    assert s / i0 == pytest.approx(0.5 * math.hypot(sc / c, sk / k), rel=1e-6)
    d = cal.to_dict(10.0)
    assert d["I0_A"]["value"] == i0 and d["freq_GHz"] == 10.0


def test_per_frequency_helper_shares_dc_fit_and_keeps_correlation(rng):
    r_dc = heated((I_DC_MA * 1e-3) ** 2, rng)
    trans = {5.0: 0.06, 10.0: 0.05, 15.0: 0.035}
    sweeps = {f: (P_DBM, heated((t**2 * dBm_to_W(P_DBM)) / 2.0, rng)) for f, t in trans.items()}
    cals = calibrate_rf_current_per_frequency(I_DC_MA, r_dc, sweeps)
    assert sorted(cals) == [5.0, 10.0, 15.0]
    for f, t in trans.items():
        i0, s = cals[f].I0_A(10.0)
        assert abs(i0 - t * 0.1) < 4 * s
    a, b = cals[5.0].I0(10.0), cals[10.0].I0(10.0)
    assert (a - b).std_dev < math.hypot(a.std_dev, b.std_dev)  # shared k correlates them


@pytest.mark.parametrize(
    "args, match",
    [
        (([1.0, 2.0], [230.0, 230.1]), "too few points"),
        (([1.0, 2.0, 3.0], [230.0, np.nan, 230.2]), "NaN"),
        (([2.0, 2.0, -2.0], [230.0, 230.1, 230.2]), "two different"),
        (([1.0, 2.0, 3.0], [230.3, 230.2, 230.1]), "not positive"),
    ],
)
def test_dc_refusals(args, match, rng):
    r_rf = heated((T**2 * dBm_to_W(P_DBM)) / 2.0, rng)
    with pytest.raises(CalibrationError, match=match):
        calibrate_rf_current(*args, P_DBM, r_rf)


def test_rf_and_amr_refusals(rng):
    r_dc = heated((I_DC_MA * 1e-3) ** 2, rng)
    with pytest.raises(CalibrationError, match="not positive"):
        calibrate_rf_current(I_DC_MA, r_dc, P_DBM, 230.0 - 1e-3 * np.arange(P_DBM.size))
    with pytest.raises(CalibrationError, match="two different powers"):
        calibrate_rf_current(I_DC_MA, r_dc, [5.0, 5.0, 5.0], [230.0, 230.1, 230.2])
    with pytest.raises(CalibrationError, match="at 10 GHz"):
        calibrate_rf_current_per_frequency(I_DC_MA, r_dc, {10.0: ([0.0, 3.0], [230.0, 230.1])})
    with pytest.raises(CalibrationError, match="no R\\(P\\) sweeps"):
        calibrate_rf_current_per_frequency(I_DC_MA, r_dc, {})
    with pytest.raises(CalibrationError, match="positive"):
        fit_amr(ANGLES, -np.ones(ANGLES.size))
    with pytest.raises(CalibrationError, match="too few points"):
        fit_amr([0.0, 45.0, 90.0], [230.0, 230.3, 230.6])
    cal = calibrate_rf_current(I_DC_MA, r_dc, P_DBM, heated((T**2 * dBm_to_W(P_DBM)) / 2.0, rng))
    with pytest.raises(CalibrationError, match="finite"):
        cal.I0(float("nan"))
