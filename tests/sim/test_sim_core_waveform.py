"""The simulated detectors derive their factors from the modulation waveform, not from the procedures' formula.

instruments/modulation.py's lockin_factor is what the procedures divide X by;
the simulator demodulates a sampled period of the modulated mixing voltage
instead. These tests pin that numerical demodulation to the closed forms and
check the simulated SR830/SR860 and Keithley 2182 end to end.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from pymeasure.instruments.keithley import Keithley2182
from pymeasure.instruments.srs import SR830, SR860

from stfmr.instruments.modulation import lockin_factor
from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.instruments.sim.waveform import demodulate, mixing_waveform, phases, time_average


@pytest.mark.parametrize("volts", [1.0, 2.5e-6, -0.8])
def test_square_wave_demodulates_to_sqrt2_over_pi(volts):
    """A 0..V square wave (on for the first half period) has X = sqrt(2)/pi * V and no Y."""
    t = phases()
    square = np.where(t < 0.5, volts, 0.0)
    z = demodulate(square)
    assert abs(z.real - math.sqrt(2.0) / math.pi * volts) <= 1e-6 * abs(volts)
    assert abs(z.imag) <= 1e-12 * abs(volts)
    assert np.array_equal(volts * mixing_waveform("pulse", 1.0, t), square)


@pytest.mark.parametrize("depth", [1.0, 0.3])
def test_sine_am_demodulates_to_the_procedures_am_factor(depth):
    """Power of a carrier AM'd by (1 + d sin wt): X equals lockin_factor("am", d)."""
    t = phases()
    power = (1.0 + depth * np.sin(2.0 * math.pi * t)) ** 2
    z = demodulate(power)
    assert z.real == pytest.approx(lockin_factor("am", depth), abs=1e-6)
    assert abs(z.imag) < 1e-12
    assert np.allclose(mixing_waveform("am", depth, t), power, rtol=0, atol=1e-15)


def test_cw_has_nothing_at_the_reference_and_full_dc():
    z = demodulate(mixing_waveform("off", 1.0, phases()))
    assert z == 0j
    assert time_average("off") == 1.0


@pytest.mark.parametrize("mode,depth,average", [("pulse", 1.0, 0.5), ("am", 1.0, 1.5), ("am", 0.4, 1.08)])
def test_time_average_is_the_mean_power(mode, depth, average):
    assert time_average(mode, depth) == pytest.approx(average, rel=1e-12)


def test_bad_modulation_is_refused():
    with pytest.raises(ValueError, match="modulation"):
        mixing_waveform("fm", 1.0, phases(8))
    with pytest.raises(ValueError, match="AM depth"):
        mixing_waveform("am", 1.5, phases(8))


def _quiet_bench(mode: str) -> VirtualBench:
    """type-A without noise, detection phase 0, rf on and modulated, settled near resonance."""
    sample = dataclasses.replace(VirtualSample.preset("type-A"), noise_density_V_per_rtHz=0.0,
                                 detection_phase_deg=0.0)
    bench = VirtualBench(sample, seed=1)
    bench.rf.frequency_Hz = 10e9
    bench.rf.power_dBm = 10.0
    bench.rf.modulation = mode
    bench.rf.am_depth = 1.0
    bench.rf.output_on = True
    bench.stage.move_to(45.0)
    bench.magnet.set_output(True)
    bench.magnet.set_setpoint(135.0 / bench.magnet.calibration_mT_per_A)
    bench.clock.advance(10.0)
    return bench


@pytest.mark.parametrize("model", [SR830, SR860])
@pytest.mark.parametrize("mode", ["pulse", "am"])
def test_simulated_lockin_x_is_the_procedures_factor_times_the_mixing_voltage(model, mode):
    bench = _quiet_bench(mode)
    li = model(bench.adapter(model.__name__))
    li.time_constant = 0.1
    li.sensitivity = 1e-3
    li.phase = 0.0
    bench.clock.sleep(3.0)  # 30 time constants: settled
    v_mix = bench.mixing_voltage()
    assert abs(v_mix) > 1e-6  # near resonance: a real signal
    x, y = li.snap("X", "Y")
    assert x == pytest.approx(lockin_factor(mode) * v_mix, rel=2e-6)  # replies carry 6 digits
    assert abs(y) <= 2e-6 * abs(x)
    assert bench.protocol_errors == []


@pytest.mark.parametrize("mode,average", [("off", 1.0), ("pulse", 0.5)])
def test_simulated_nanovoltmeter_reads_the_time_averaged_mixing_voltage(mode, average):
    bench = _quiet_bench(mode)
    nv = Keithley2182(bench.adapter("Keithley2182"))
    reading = float(nv.voltage)
    assert reading == pytest.approx(average * bench.mixing_voltage(), rel=2e-6)
