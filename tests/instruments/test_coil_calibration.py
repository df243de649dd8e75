"""Coil calibration: linear and tabulated, both directions."""

from __future__ import annotations

import numpy as np
import pytest

from stfmr.instruments.calibration import CalibrationError, LinearCoilCalibration, TableCoilCalibration


def test_linear_round_trip():
    cal = LinearCoilCalibration(40.0, offset_mT=0.8)
    assert cal.field_for_current(2.0) == pytest.approx(80.8)
    for field in (-300.0, 0.0, 12.3, 250.0):
        assert cal.field_for_current(cal.current_for_field(field)) == pytest.approx(field)


@pytest.mark.parametrize("slope", [0.0, float("nan"), float("inf")])
def test_linear_refuses_bad_slope(slope):
    with pytest.raises(CalibrationError, match="mT_per_A"):
        LinearCoilCalibration(slope)


def test_table_interpolates_and_extrapolates(tmp_path):
    path = tmp_path / "coil.csv"
    path.write_text("# magnet calibration, 2026-11-24\nCurrent (A),Field (mT)\n-2,-81\n0,0.5\n1,41\n2,80\n")
    cal = TableCoilCalibration.from_file(path)
    assert cal.field_for_current(0.5) == pytest.approx(20.75)
    assert cal.current_for_field(20.75) == pytest.approx(0.5)
    # beyond the table: the end slope continues
    assert cal.field_for_current(3.0) == pytest.approx(119.0)
    assert cal.current_for_field(-121.75) == pytest.approx(-3.0)  # end slope 40.75 mT/A
    for amps in np.linspace(-3, 3, 13):
        assert cal.current_for_field(cal.field_for_current(amps)) == pytest.approx(amps)
    assert cal.describe()["points"] == 4


@pytest.mark.parametrize(
    "text, problem",
    [
        ("Amps,Field (mT)\n0,0\n1,40\n", "Current (A)"),
        ("Current (A),Field (mT)\n0,0\n1,x\n", "line 3: expected numbers"),
        ("Current (A),Field (mT)\n0,0\n1,40\n2,30\n", "increase"),
        ("Current (A),Field (mT)\n0,0\n", "two"),
        ("Current (A),Field (mT)\n0,0\n0,10\n", "repeats"),
    ],
)
def test_table_errors_name_the_problem(tmp_path, text, problem):
    path = tmp_path / "coil.csv"
    path.write_text(text)
    with pytest.raises(CalibrationError, match=problem.replace("(", r"\(").replace(")", r"\)")) as info:
        TableCoilCalibration.from_file(path)
    assert str(path) in str(info.value)
