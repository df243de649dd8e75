"""The rf-calibration step's designs: what the keys expand to, the limits, and the precision design's I_0."""

from __future__ import annotations

import pytest

from benchmarks.bench_rf_calibration import DESIGNS, SAMPLE, STEP, calibrate
from stfmr.instruments.bench import default_simulated_config
from stfmr.procedures.registry import build_procedure
from stfmr.procedures.rf_calibration import PRECISION_DC_POINTS, PRECISION_REPEATS, PRECISION_SENSE_CURRENT_MA
from stfmr.procedures.sequence import SequenceError, parse_sequence

LIMITS = default_simulated_config().limits


def parameters(extra: str) -> dict:
    (task,) = parse_sequence(SAMPLE + STEP.format(extra=extra), "seq.toml", LIMITS).tasks
    return task.parameters


def test_the_precision_design_is_the_default_and_reads_both_ends_of_the_power_range():
    p = parameters("")
    assert p == parameters('design = "precision"')
    assert (p["power_design"], p["power_start_dBm"], p["power_stop_dBm"]) == ("ends", 0.0, 15.0)
    assert p["power_points"] == 2 * PRECISION_REPEATS
    assert (p["sense_current_mA"], p["dc_points"]) == (PRECISION_SENSE_CURRENT_MA, PRECISION_DC_POINTS)
    procedure = build_procedure("RfCalibration", p)
    # low, high, high, low, ...: a linear drift cancels from the slope in each group of four
    assert procedure.powers_dBm().tolist() == [0.0, 15.0, 15.0, 0.0, 0.0, 15.0]


def test_explicit_keys_are_honoured_in_either_design():
    p = parameters('design = "precision"\nrepeats = 4\nsense_current_mA = 0.5\ndc_points = 7')
    assert (p["power_points"], p["sense_current_mA"], p["dc_points"]) == (8, 0.5, 7)
    grid = parameters('design = "grid"')
    assert (grid["power_design"], grid["power_points"], grid["sense_current_mA"], grid["dc_points"]) == \
        ("grid", 6, 0.1, 9)  # the procedures' own defaults, as before the designs
    assert build_procedure("RfCalibration", grid).powers_dBm().tolist() == [0.0, 3.0, 6.0, 9.0, 12.0, 15.0]


@pytest.mark.parametrize("extra, words", [
    ('design = "grid"\nrepeats = 3', ["repeats", 'design = "precision"']),
    ('design = "best"', ["design", "precision", "grid", "'best'"]),
    ("repeats = 0", ["repeats", "positive"]),
    ("sense_current_mA = 20.0", ["step 1 (rf_calibration)", "dc current 20 mA", "limit"]),
])
def test_bad_design_keys_and_a_sense_current_beyond_the_bench_limit_are_refused(extra, words):
    with pytest.raises(SequenceError) as err:
        parameters(extra)
    for word in words:
        assert word in str(err.value)


def test_the_precision_design_refuses_a_single_power():
    text = SAMPLE + STEP.format(extra="").replace("{start = 0, stop = 15, points = 6}", "[15, 15]")
    with pytest.raises(SequenceError, match="two different powers"):
        parse_sequence(text, "seq.toml", LIMITS)


def test_the_precision_design_gives_an_unbiased_i0_with_a_smaller_error_in_no_more_bench_time():
    (t_grid, _, err_grid, _), (t_new, i0, err_new, truth) = (calibrate(extra, seed=3) for extra in DESIGNS.values())
    assert abs(i0 - truth) < 3 * err_new  # the preset's I_0 within 3 sigma
    assert err_new < err_grid / 5  # about 11x on average over seeds (the benchmark); any one seed well over 5x
    assert t_new <= t_grid
