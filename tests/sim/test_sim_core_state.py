"""Shared physical state: magnet lag, remanence, history, stage speed, rf factors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.faults import FaultPlan
from stfmr.instruments.sim.sample import VirtualSample


@pytest.fixture
def bench() -> VirtualBench:
    return VirtualBench(VirtualSample.preset("reference"))


def test_coil_current_lags_the_setpoint_and_history_records_both(bench):
    m = bench.magnet
    tau = m.params.time_constant_s
    m.set_output(True)
    m.set_setpoint(2.0)
    assert m.coil_current() == pytest.approx(0.0)
    bench.clock.advance(tau)
    assert m.coil_current() == pytest.approx(2.0 * (1 - math.exp(-1)), rel=1e-9)
    m.set_setpoint(-1.0)
    bench.clock.advance(20 * tau)
    assert m.coil_current() == pytest.approx(-1.0, abs=1e-6)
    h = bench.history_arrays()
    assert set(h) == {"time_s", "setpoint_A", "coil_A", "field_mT", "rf_on", "rf_power_dBm"}
    assert list(h["setpoint_A"][-2:]) == [2.0, -1.0]
    assert h["coil_A"][-1] == pytest.approx(2.0 * (1 - math.exp(-1)), rel=1e-9)
    assert np.all(np.diff(h["time_s"]) >= 0)


def test_field_is_slightly_nonlinear_with_remanence_memory(bench):
    m = bench.magnet
    m.set_output(True)
    m.set_setpoint(10.0)
    bench.clock.advance(5.0)
    c = m.calibration_mT_per_A
    high = m.field_mT()
    assert high < c * 10.0 + m.params.remanence_mT  # the coil falls short at high current
    assert high == pytest.approx(c * 10.0, rel=0.02)
    m.set_setpoint(0.0)
    bench.clock.advance(5.0)
    assert m.field_mT() == pytest.approx(+m.params.remanence_mT)
    m.set_setpoint(-5.0)
    bench.clock.advance(5.0)
    m.set_setpoint(0.0)
    bench.clock.advance(5.0)
    assert m.field_mT() == pytest.approx(-m.params.remanence_mT)


def test_output_off_and_trip_let_the_current_decay(bench):
    m = bench.magnet
    m.set_output(True)
    m.set_setpoint(3.0)
    bench.clock.advance(5.0)
    m.trip("over-temperature")
    assert m.tripped and not m.output_enabled
    bench.clock.advance(5.0)
    assert m.coil_current() == pytest.approx(0.0, abs=1e-9)
    assert m.setpoint() == 3.0
    assert any("tripped" in line for line in bench.log)


def test_rf_changes_are_recorded(bench):
    bench.rf.power_dBm = 5.0
    bench.rf.output_on = True
    h = bench.history_arrays()
    assert h["rf_power_dBm"][-1] == 5.0 and bool(h["rf_on"][-1])
    with pytest.raises(ValueError, match="modulation"):
        bench.rf.modulation = "fm"


def test_lockin_factor_follows_the_modulation(bench):
    rf = bench.rf
    rf.output_on = True
    assert rf.lockin_factor() == 0.0
    rf.modulation = "pulse"
    assert rf.lockin_factor() == pytest.approx(math.sqrt(2) / math.pi)
    rf.modulation = "am"
    rf.am_depth = 0.5
    assert rf.lockin_factor() == pytest.approx(math.sqrt(2) * 0.5)
    rf.output_on = False
    assert rf.lockin_factor() == 0.0


def test_stage_turns_at_finite_speed(bench):
    st = bench.stage
    st.move_to(90.0)
    assert st.is_moving()
    bench.clock.advance(1.0)
    assert st.angle() == pytest.approx(st.speed_deg_per_s * 1.0)
    bench.clock.advance(10.0)
    assert not st.is_moving() and st.angle() == 90.0


def test_stage_short_fault_stops_before_the_target():
    plan = FaultPlan.from_dict({"fault": [{"kind": "stage_short", "instrument": "ESP300"}]})
    bench = VirtualBench(VirtualSample.preset("reference"), faults=plan)
    bench.stage.move_to(50.0)
    bench.clock.advance(30.0)
    assert bench.stage.stopped_short
    assert bench.stage.angle() == pytest.approx(45.0)
    bench.stage.move_to(50.0)  # the fault fired once
    bench.clock.advance(30.0)
    assert bench.stage.angle() == 50.0


def test_resistance_has_amr_and_heating(bench):
    s = bench.sample
    bench.stage.define_position(0.0)
    r0 = bench.resistance()
    assert r0 == pytest.approx(s.R_perp_Ohm + s.delta_R_amr_Ohm)
    bench.dc.current_A = 2e-3
    bench.dc.output_on = True
    assert bench.resistance() - r0 == pytest.approx(s.heating_k_Ohm_per_A2 * 4e-6)


@pytest.mark.parametrize("mode,depth", [("pulse", 1.0), ("am", 1.0), ("am", 0.3)])
def test_lockin_factor_matches_the_fourier_fundamental(mode, depth):
    """Independent check: rms of the fundamental of the mixing-voltage waveform."""
    from stfmr.instruments.modulation import lockin_factor

    t = np.linspace(0.0, 1.0, 20000, endpoint=False)
    if mode == "pulse":
        v = (t < 0.5).astype(float)  # rf on for half a period: V_mix then 0
    else:
        v = (1 + depth * np.sin(2 * np.pi * t)) ** 2  # power ~ amplitude squared
    fundamental = 2 * abs(np.mean(v * np.exp(-2j * np.pi * t)))
    assert lockin_factor(mode, depth) == pytest.approx(fundamental / math.sqrt(2), rel=1e-6)
