"""The lean example sequence (examples/sequences/fast-characterization.toml): it loads, runs and is unbiased."""

import json

import numpy as np
import pytest

from stfmr.app import cli
from stfmr.instruments.bench import default_simulated_config
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.procedures.sequence import load_sequence

from support import runs as helpers

EXAMPLE = helpers.EXAMPLES / "fast-characterization.toml"
FULL = helpers.EXAMPLES / "full-characterization.toml"


def test_the_lean_example_passes_the_plan_check_with_ten_spectra_and_calibrations():
    limits = default_simulated_config().limits
    tasks = load_sequence(EXAMPLE, limits).tasks
    assert [t.kind for t in tasks] == ["autophase"] + ["frequency_sweep"] * 2 + ["angle_sweep"] * 5 \
        + ["amr", "rf_calibration"]
    angles = [t.parameters for t in tasks if t.kind == "angle_sweep"]
    assert all(p["field_grid"] == "adaptive" and p["both_branches"] and p["readings_per_point"] > 1
               for p in angles)
    assert len(tasks) < len(load_sequence(FULL, limits).tasks) / 3


def test_the_lean_example_runs_to_the_same_outputs_and_recovers_the_preset(tmp_path, capsys):
    measured = helpers.measure(EXAMPLE.read_text(), tmp_path / "run", "type-A", EXAMPLE.name)
    try:
        assert measured.outcome.state == "finished"
        bench_time_s = measured.bench.clock.now()
        helpers.assert_safe_end(measured.bench)
    finally:
        measured.bench.close()
    assert bench_time_s < 600.0  # the full example takes about 1.6 h of virtual bench time
    assert cli.main(["analyze", str(tmp_path / "run"), "--json", "--jobs", "1"]) == 0
    sample = json.loads(capsys.readouterr().out)["samples"][0]
    for key in ("xi_DL_E", "xi_FL_Oe_E", "mu0_M_eff_T", "alpha"):
        assert sample[key]["stderr"] > 0, key
    truth = VirtualSample.preset("type-A")
    value, stderr = sample["xi_DL_E"]["value"], sample["xi_DL_E"]["stderr"]
    # at the preset noise the lean design's error (0.04 %) is below the agreement of the analysis's
    # closed forms with the simulator's exact LLG response: a noise-free run of this file reads
    # +0.16 % (a 40 mT window: +0.31 %), all of it (0.13 % at 40 mT) dH: the symmetric Lorentzian
    # fitted to the LLG line, whose denominator (H - H_r)(H + H_r + M_eff) skews it by
    # (H - H_r)/(2 H_r + M_eff), about 0.8 % a linewidth here; that floor is added to the 3 sigma
    tolerance = 3 * np.hypot(stderr, helpers.MODEL_AGREEMENT * truth.xi_DL_E)
    assert abs(value - truth.xi_DL_E) < tolerance, f"xi_DL^E = {value} +- {stderr}, preset {truth.xi_DL_E}"
    assert sample["mu0_M_eff_T"]["value"] == pytest.approx(truth.mu0_Meff_T, rel=0.01)
    assert sample["alpha"]["value"] == pytest.approx(truth.alpha, rel=0.05)
    assert not sample["failed_fits"]
