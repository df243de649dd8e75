"""The field axis: gaussmeter readings smoothed against the set field."""

import numpy as np

from stfmr.analysis.field_axis import field_axis


def test_rounded_readings_lose_their_steps_and_stay_as_close_to_the_true_field():
    set_field = np.concatenate([np.linspace(100, 180, 161), -np.linspace(100, 180, 161)])
    true = set_field * (1 - 2e-4 * (set_field / 100) ** 2) + 0.4 * np.sign(set_field)  # nonlinear coil, remanence
    readings = np.round(true, 1)  # a 0.1 mT gaussmeter
    axis = field_axis(set_field, readings)
    for sign in (1, -1):
        branch = np.sign(set_field) == sign
        error, rounding = axis[branch] - true[branch], readings[branch] - true[branch]
        # the 0.1 mT steps of the rounding (what biases a linewidth) are gone ...
        assert np.max(np.abs(np.diff(error))) < 0.05 * np.max(np.abs(np.diff(rounding)))
        # ... and the axis is no farther from the true field than the readings were
        assert np.max(np.abs(error)) <= np.max(np.abs(rounding))
        assert np.all(np.diff(axis[branch]) * sign > 0)


def test_a_fixed_field_a_short_branch_and_missing_readings_keep_the_readings():
    readings = np.array([150.1, 150.2, 150.1, 150.0, 150.2, 150.1, 150.1])
    assert np.array_equal(field_axis(np.full(7, 150.0), readings), readings)  # a frequency scan
    short = np.array([100.0, 101.0, 102.0])
    assert np.array_equal(field_axis(short, short + 0.3), short + 0.3)
    set_field = np.linspace(100, 110, 11)
    with_gap = set_field + 0.2
    with_gap[4] = np.nan
    assert np.array_equal(field_axis(set_field, with_gap), with_gap, equal_nan=True)


def test_readings_unrelated_to_the_set_field_fall_back_to_the_set_field():
    set_field = np.linspace(100, 110, 11)
    readings = 105 + 5 * np.cos(np.linspace(0, 2 * np.pi, 11))  # a stuck or wandering probe
    assert np.array_equal(field_axis(set_field, readings), set_field)
