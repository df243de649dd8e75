"""Simulated Newport ESP300: rotator role through the real driver, finite speed, errors, stage_short."""

from __future__ import annotations

import warnings

import pytest
from pymeasure.instruments.newport.esp300 import ESP300

from stfmr.instruments.errors import StageError
from stfmr.instruments.role_rotator import ESP300Rotator
from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.faults import FaultPlan
from stfmr.instruments.sim.sample import VirtualSample


def _rotator(bench: VirtualBench) -> ESP300Rotator:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        driver = ESP300(bench.adapter("ESP300"))
    return ESP300Rotator(driver, "SIM::ESP300", axis=1)


def _wait(bench: VirtualBench, rot: ESP300Rotator, step_s: float = 0.05) -> float:
    """Poll motion-done like a procedure does; return the virtual time it took."""
    t0 = bench.clock.now()
    while rot.is_moving():
        bench.clock.sleep(step_s)
    return bench.clock.now() - t0


@pytest.fixture
def bench() -> VirtualBench:
    return VirtualBench(VirtualSample.preset("type-A"))


def test_move_takes_angle_over_speed_of_virtual_time(bench):
    rot = _rotator(bench)
    assert "ESP300" in rot.identity()
    rot.configure()
    speed = bench.stage.speed_deg_per_s
    assert float(rot.axis.ask("VA?")) == pytest.approx(speed)
    rot.move_to(90.0)
    assert rot.is_moving()
    bench.clock.advance(45.0 / speed)
    assert rot.angle() == pytest.approx(45.0, abs=0.5)  # halfway after half the time
    took = _wait(bench, rot)
    assert took == pytest.approx(45.0 / speed, abs=0.1)
    assert rot.check_reached() == pytest.approx(90.0)
    assert bench.stage.angle() == pytest.approx(90.0)  # the sample turned with it
    rot.check_errors()
    assert bench.protocol_errors == []


def test_home_returns_to_zero_at_finite_speed(bench):
    rot = _rotator(bench)
    rot.configure()
    rot.move_to(-60.0)
    _wait(bench, rot)
    rot.home()
    assert rot.is_moving()
    took = _wait(bench, rot)
    assert took == pytest.approx(60.0 / bench.stage.speed_deg_per_s, abs=0.1)
    assert rot.angle() == pytest.approx(0.0)
    assert bench.protocol_errors == []


def test_move_with_motor_off_is_refused_with_error_113(bench):
    rot = _rotator(bench)
    rot.move_to(30.0)  # configure() (motor on) skipped
    assert not rot.is_moving() and rot.angle() == 0.0
    with pytest.raises(StageError, match=r"\[113\]"):
        rot.check_errors()
    rot.check_errors()  # the queue is empty after reading it


def test_software_limit_refuses_the_move(bench):
    rot = _rotator(bench)
    rot.configure()
    rot.axis.right_limit = 100.0
    assert rot.axis.right_limit == pytest.approx(100.0)
    rot.move_to(120.0)
    assert not rot.is_moving()
    with pytest.raises(StageError, match=r"\[106\]"):
        rot.check_errors()


def test_stage_short_fault_is_a_stage_error():
    plan = FaultPlan.from_dict([{"kind": "stage_short", "instrument": "ESP300", "after_queries": 0}])
    bench = VirtualBench(VirtualSample.preset("type-A"), faults=plan)
    rot = _rotator(bench)
    rot.configure()
    rot.move_to(50.0)
    _wait(bench, rot)
    with pytest.raises(StageError, match="short of the target") as info:
        rot.check_reached()
    assert "ESP300" in str(info.value) and "rotator" in str(info.value)
    with pytest.raises(StageError, match=r"\[103\]"):
        rot.check_errors()


def test_other_axes_do_not_turn_the_sample(bench):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        driver = ESP300(bench.adapter("ESP300"))
    driver.y.enable()
    driver.y.position = 10.0
    bench.clock.advance(5.0)
    assert driver.y.position == pytest.approx(10.0)
    assert bench.stage.angle() == 0.0
    driver.write("7PA1")
    assert driver.error == 9  # axis number out of range
    driver.write("1XX")
    assert bench.protocol_errors == ["ESP300: '1XX'"]
    assert driver.error == 6  # command does not exist
