"""Field-branch combination on the virtual bench: a resonant thermal voltage that does not reverse with H."""

import dataclasses
import math

import numpy as np
import pytest

from stfmr.analysis.characterize import analyze_run
from stfmr.analysis.resonance import resonance_field_mT
from stfmr.analysis.run_reader import read_run
from stfmr.instruments.sim.llg import transverse_response
from stfmr.instruments.sim.sample import VirtualSample

from support import runs as helpers

SEQUENCE = helpers.SAMPLE + """
[[step]]
kind = "angle_sweep"
frequency_GHz = 10.0
power_dBm = 15.0
angles_deg = [30, 45, 60]
window_mT = 80.0
mu0_Meff_T = 0.65
field_points = 151
both_branches = true
"""
K_THERMAL = 0.1  # V/rad^2: about 5 uV next to V_S of about 24 uV at 45 deg


def _measure(sample: VirtualSample, out):
    measured = helpers.measure(SEQUENCE, out, sample, "thermal.toml")
    measured.bench.close()
    assert measured.outcome.state == "finished"
    return {row["angle_deg"]: row for row in analyze_run(read_run(out)).branch_combinations()}


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    base = tmp_path_factory.mktemp("branches")
    plain = dataclasses.replace(VirtualSample.preset("type-A"), detection_phase_deg=0.0)
    hot = dataclasses.replace(plain, resonant_thermal_V_per_rad2=K_THERMAL)
    return plain, _measure(plain, base / "plain"), _measure(hot, base / "hot")


def _thermal_truth(sample: VirtualSample, angle_deg: float) -> float:
    """Peak resonant thermal voltage (V), cw-equivalent: k*|m2|^2 at resonance."""
    b_r = resonance_field_mT(10.0, sample.mu0_Meff_T, sample.g) * 1e-3
    b_dl, b_fl = sample.field_per_ampere_T()
    i0 = sample.I0_A(10.0, 15.0)
    m2 = transverse_response(b_r, 10e9, math.radians(angle_deg), b_dl * i0, b_fl * i0, sample.magnet_params())
    return K_THERMAL * abs(complex(m2)) ** 2


@pytest.mark.parametrize("angle", [30.0, 45.0, 60.0])
def test_branch_combination_removes_a_resonant_thermal_voltage(pairs, angle):
    sample, plain, hot = pairs
    p, h = plain[angle], hot[angle]
    # without thermal voltage the two branches are mirror images: nothing is left non-reversing
    assert abs(p["V_S_non_reversing"]["value"]) < 4 * p["V_S_non_reversing"]["stderr"]
    # with it, each single branch is off by the thermal voltage ...
    offset = h["V_S_plus_H"]["value"] - p["V_S_plus_H"]["value"]
    assert abs(offset) > 10 * h["V_S_plus_H"]["stderr"]
    assert h["V_S_minus_H"]["value"] - p["V_S_minus_H"]["value"] == pytest.approx(offset, rel=0.05)
    # ... which the combination removes, and reports on its own
    for name in ("V_S_reversing", "V_A_reversing"):
        stderr = math.hypot(h[name]["stderr"], p[name]["stderr"])
        assert abs(h[name]["value"] - p[name]["value"]) < 4 * stderr
    ratio = h["V_S_non_reversing"]["value"] / offset
    assert ratio == pytest.approx(1.0, abs=0.05)
    # V_FMR is recorded as the cw-equivalent voltage (the lock-in factor divided out)
    truth = _thermal_truth(sample, angle)
    assert h["V_S_non_reversing"]["value"] == pytest.approx(truth, rel=0.05)
    assert np.sign(h["V_S_plus_H"]["value"]) == -np.sign(h["V_S_minus_H"]["value"])
