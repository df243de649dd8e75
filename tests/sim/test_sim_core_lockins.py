"""SR830/SR860 simulators through the real pymeasure drivers, in-process on the virtual clock."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymeasure.instruments.srs import SR830, SR860

from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.sample import VirtualSample

PULSE = math.sqrt(2.0) / math.pi


def _bench(seed: int = 1) -> VirtualBench:
    bench = VirtualBench(VirtualSample.preset("type-A"), seed=seed)
    bench.rf.frequency_Hz = 10e9
    bench.rf.power_dBm = 10.0
    bench.rf.modulation = "pulse"
    bench.rf.output_on = True
    bench.stage.move_to(45.0)
    bench.magnet.set_output(True)
    bench.clock.advance(5.0)
    return bench


def _set_field(bench: VirtualBench, field_mT: float) -> None:
    bench.magnet.set_setpoint(field_mT / bench.magnet.calibration_mT_per_A)


def _noise_rms(bench: VirtualBench, tau: float, slope_dB: int) -> float:
    enbw_tau = {6: 1 / 4, 12: 1 / 8, 18: 3 / 32, 24: 5 / 64}[slope_dB]
    return bench.sample.noise_density_V_per_rtHz * math.sqrt(enbw_tau / tau)


def test_sr830_settings_round_trip_through_the_driver():
    bench = _bench()
    li = SR830(bench.adapter("SR830"))
    assert li.id.startswith("Stanford_Research_Systems,SR830")
    li.time_constant = 0.3
    li.sensitivity = 1e-3
    li.filter_slope = 24
    li.phase = 12.5
    assert li.time_constant == 0.3
    assert li.sensitivity == 1e-3
    assert li.filter_slope == 24
    assert li.phase == pytest.approx(12.5)
    assert li.frequency == pytest.approx(bench.rf.modulation_rate_Hz)
    assert li.harmonic == 1
    assert int(li.lia_status) == 0
    assert li.status == "2"
    assert li.ask("ERRS?").strip() == "0"
    assert bench.protocol_errors == []


def test_sr860_settings_round_trip_through_the_driver():
    bench = _bench()
    li = SR860(bench.adapter("SR860"))
    assert li.ask("*IDN?").startswith("Stanford_Research_Systems,SR860")
    li.time_constant = 0.1
    li.sensitivity = 0.01
    li.filter_slope = 3
    li.phase = -30.0
    assert li.time_constant == 0.1
    assert li.sensitivity == 0.01
    assert li.filter_slope == 3
    assert li.phase == pytest.approx(-30.0)
    assert int(li.ask("CUROVLDSTAT?")) == 0
    x, y = li.snap("X", "Y")
    assert li.x == pytest.approx(x, abs=1e-6) and li.y == pytest.approx(y, abs=1e-6)
    assert len(li.snap_all()) == 4
    assert bench.protocol_errors == []


@pytest.mark.parametrize("model", ["SR830", "SR860"])
def test_field_sweep_reproduces_the_sample_spectrum(model):
    bench = _bench(seed=3)
    li = (SR830 if model == "SR830" else SR860)(bench.adapter(model))
    li.time_constant = 0.1
    li.filter_slope = 1 if model == "SR860" else 12
    li.sensitivity = 20e-6
    li.phase = bench.sample.detection_phase_deg  # rotates all signal into X
    fields, xs, ys = [], [], []
    for field in np.linspace(100.0, 180.0, 21):
        _set_field(bench, field)
        bench.clock.sleep(1.5)
        x, y = li.snap("X", "Y")
        fields.append(bench.field_mT())
        xs.append(x)
        ys.append(y)
    truth = PULSE * bench.sample.mixing_voltage(np.array(fields), 10.0, 10.0, 45.0)
    sigma = _noise_rms(bench, 0.1, 12)
    assert np.max(np.abs(np.array(xs) - truth)) < 5 * sigma
    assert np.max(np.abs(ys)) < 5 * sigma
    assert np.ptp(truth) > 200 * sigma  # the spectrum is far above the noise
    assert bench.protocol_errors == []


def test_detection_phase_splits_x_and_y():
    bench = _bench()
    li = SR830(bench.adapter("SR830"))
    _set_field(bench, 140.0)
    bench.clock.sleep(2.0)
    li.phase = 0.0
    bench.clock.sleep(1.0)
    x0, y0 = li.xy
    li.phase = bench.sample.detection_phase_deg
    bench.clock.sleep(1.0)
    x1, y1 = li.xy
    r = math.hypot(x1, y1)
    sign = math.copysign(1.0, x1)  # the mixing voltage may be negative at this field
    assert math.degrees(math.atan2(sign * y0, sign * x0)) == pytest.approx(bench.sample.detection_phase_deg, abs=1.0)
    assert abs(y1) < 0.01 * r


def test_reading_right_after_a_field_step_is_unsettled_and_settles_after_5_tau():
    bench = _bench(seed=5)
    li = SR830(bench.adapter("SR830"))
    li.time_constant = 0.3
    li.filter_slope = 6
    li.sensitivity = 20e-6
    li.phase = bench.sample.detection_phase_deg
    _set_field(bench, 300.0)  # far off resonance: small signal
    bench.clock.sleep(5.0)
    _set_field(bench, 140.0)  # near resonance
    bench.clock.sleep(0.05)
    early = li.x
    bench.clock.sleep(5 * 0.3)
    settled = li.x
    truth = PULSE * float(bench.sample.mixing_voltage(bench.field_mT(), 10.0, 10.0, 45.0))
    sigma = _noise_rms(bench, 0.3, 6)
    assert abs(settled - truth) < 0.01 * abs(truth) + 5 * sigma
    assert abs(early - truth) > 0.5 * abs(truth)


def test_rf_off_or_unmodulated_gives_nothing_at_the_reference():
    bench = _bench()
    li = SR830(bench.adapter("SR830"))
    _set_field(bench, 140.0)
    bench.clock.sleep(2.0)
    on = abs(li.x)
    bench.rf.modulation = "off"
    bench.clock.sleep(2.0)
    sigma = _noise_rms(bench, 0.1, 12)
    assert on > 100 * sigma
    assert abs(li.x) < 5 * sigma


def test_overload_sets_the_status_bits_and_clips():
    bench = _bench()
    li = SR830(bench.adapter("SR830"))
    _set_field(bench, 140.0)
    bench.clock.sleep(2.0)
    li.sensitivity = 100e-9
    x = li.x
    assert abs(x) <= 1.1 * 100e-9 + 1e-15
    assert int(li.lia_status) & 0b100  # output overload
    li6 = SR860(bench.adapter("SR860"))
    li6.sensitivity = 1e-9
    li6.snap()
    assert int(li6.ask("CUROVLDSTAT?")) & 0b11


def test_noise_falls_with_the_time_constant_and_is_correlated_within_it():
    def readings(tau: float, spacing: float) -> np.ndarray:
        bench = _bench(seed=11)
        bench.rf.output_on = False
        li = SR830(bench.adapter("SR830"))
        li.sensitivity = 1e-6
        li.time_constant = tau
        out = []
        for _ in range(200):
            bench.clock.sleep(spacing)
            out.append(li.x)
        return np.array(out)

    bench = _bench()
    fast = readings(0.01, 0.05)
    slow = readings(1.0, 5.0)
    assert np.std(fast) == pytest.approx(_noise_rms(bench, 0.01, 12), rel=0.2)
    assert np.std(slow) == pytest.approx(_noise_rms(bench, 1.0, 12), rel=0.2)
    # readings 1 ms apart with tau = 1 s are nearly the same sample of the noise
    close = readings(1.0, 0.001)
    assert np.std(np.diff(close)) < 0.2 * _noise_rms(bench, 1.0, 12)


@pytest.mark.parametrize("model,error_query,expected", [("SR830", "ERRS?", "32"), ("SR860", "*ESR?", "32")])
def test_unknown_command_is_recorded(model, error_query, expected):
    bench = _bench()
    li = (SR830 if model == "SR830" else SR860)(bench.adapter(model))
    li.write("BOGUS 12")
    assert bench.protocol_errors == [f"{model}: 'BOGUS 12'"]
    assert li.ask(error_query).strip() == expected
    assert li.ask(error_query).strip() == "0"  # reading clears it


def test_sensitivity_out_of_table_is_an_error_not_ignored():
    bench = _bench()
    li = SR830(bench.adapter("SR830"))
    li.write("SENS 40")
    assert bench.protocol_errors and "SENS 40" in bench.protocol_errors[0]
    assert li.sensitivity == 0.05  # unchanged


def test_driver_helpers_beyond_the_roles_are_understood():
    bench = _bench()
    li = SR830(bench.adapter("SR830"))
    li.sensitivity = 1e-3
    assert li.is_out_of_range() is False
    li.auto_phase()
    li.set_scaling("X", 10.0, 0)
    assert li.get_scaling("X")[0] == pytest.approx(10.0)
    li.auto_offset("X")
    li.clear()
    assert bench.protocol_errors == []


def test_input_beyond_the_dynamic_reserve_sets_input_overload():
    bench = _bench()
    li = SR830(bench.adapter("SR830"))
    _set_field(bench, 140.0)
    bench.clock.sleep(2.0)
    li.sensitivity = 2e-9  # signal ~1 uV > 100 x 2 nV
    li.x
    assert int(li.lia_status) & 0b001


@pytest.mark.parametrize("slope,index", [(6, 0), (12, 1), (18, 2), (24, 3)])
def test_filter_step_response_is_the_exact_cascade(slope, index):
    """n = slope/6 identical RC stages: y(t) = 1 - exp(-s) * sum_{j<n} s^j/j!, s = t/tau."""
    import dataclasses

    quiet = dataclasses.replace(VirtualSample.preset("type-A"), noise_density_V_per_rtHz=0.0)
    bench = VirtualBench(quiet)
    bench.rf.frequency_Hz = 10e9
    bench.rf.power_dBm = 10.0
    bench.rf.modulation = "pulse"
    bench.stage.move_to(45.0)
    bench.magnet.set_output(True)
    bench.magnet.set_setpoint(140.0 / bench.magnet.calibration_mT_per_A)
    bench.clock.advance(10.0)
    li = SR860(bench.adapter("SR860"))
    li.time_constant = 0.1
    li.filter_slope = index
    li.phase = quiet.detection_phase_deg
    final = PULSE * float(quiet.mixing_voltage(bench.field_mT(), 10.0, 10.0, 45.0))
    bench.rf.output_on = True  # the step
    t_on = bench.clock.now()
    n = slope // 6
    for _ in range(6):
        bench.clock.sleep(0.04)
        t_read = bench.clock.now()
        x = li.x  # intermediate reads must not disturb the integration
        s = (t_read - t_on) / 0.1
        expected = 1 - math.exp(-s) * sum(s**j / math.factorial(j) for j in range(n))
        assert x / final == pytest.approx(expected, abs=2e-3)
