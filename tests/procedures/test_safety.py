"""The safety layer: limits before anything moves, ramps within the rate, a safe state that survives failures."""


import pytest

from stfmr.instruments.bench import open_simulated_bench
from stfmr.procedures.safety import LimitError, SafetyGuard

from support import runs as helpers


@pytest.fixture
def bench():
    b = open_simulated_bench("type-A")
    yield b
    b.close()


@pytest.mark.parametrize("call, words", [
    (lambda g: g.check_field(450.0), ["field 450 mT", "400 mT"]),
    (lambda g: g.check_field(-450.0), ["field -450 mT"]),
    (lambda g: g.check_current(12.0), ["supply current 12 A", "10 A"]),
    (lambda g: g.check_rf_power(25.0), ["rf power 25 dBm", "20 dBm"]),
    (lambda g: g.check_angle(400.0), ["angle 400 deg", "-10 to 370"]),
    (lambda g: g.check_dc_current(0.05), ["dc current 50 mA", "10 mA"]),
    (lambda g: g.check_field(float("nan")), ["finite"]),
])
def test_limits_are_refused_with_the_value_named(bench, call, words):
    guard = SafetyGuard(bench)
    before = len(bench.virtual.history_arrays()["time_s"])
    with pytest.raises(LimitError) as exc:
        call(guard)
    for word in words:
        assert word in str(exc.value)
    assert len(bench.virtual.history_arrays()["time_s"]) == before  # nothing moved


def test_a_ramp_never_exceeds_the_rate_limit_and_reaches_its_target(bench):
    guard = SafetyGuard(bench)
    guard.ramp_field(300.0)
    assert bench.field.current_setpoint() == pytest.approx(300.0 / 40.0, rel=1e-3)
    guard.ramp_field(-200.0)
    guard.make_safe("test")
    helpers.assert_safe_end(bench)
    h = bench.virtual.history_arrays()
    assert helpers.max_setpoint_rate(h) > 0.5 * bench.limits.max_ramp_rate_A_per_s  # it did ramp at speed


def test_make_safe_carries_on_when_the_rf_source_fails(bench):
    guard = SafetyGuard(bench)
    guard.rf_output(True)
    guard.ramp_field(200.0)

    class BrokenRf:
        def set_output(self, enabled):
            raise RuntimeError("rf (Agilent8257D at SIM::rf): reply timed out")

    real_rf = bench.rf
    bench.rf = BrokenRf()
    end = guard.make_safe("test failure")
    bench.rf = real_rf
    assert not end.safe and [p.part for p in end.unverified()] == ["rf output"]
    assert "rf output" in end.problems[0] and "switch the rf output off by hand" in end.instructions()
    assert bench.virtual.history_arrays()["setpoint_A"][-1] == 0.0  # the magnet still ramped down


def test_an_interrupted_measurement_ramp_stops_but_the_safe_ramp_does_not(bench):
    stop = {"now": False}
    guard = SafetyGuard(bench, should_stop=lambda: stop["now"])
    guard.ramp_field(100.0)
    stop["now"] = True
    guard.ramp_field(300.0)  # interrupted at once
    assert bench.field.current_setpoint() == pytest.approx(2.5, rel=1e-3)
    guard.make_safe("abort")  # not interruptible
    helpers.assert_safe_end(bench)
