"""Lock-in autophase: finds the detection phase the virtual setup adds, within 1 degree."""

import math

import numpy as np
import pytest

from stfmr.analysis.lockin import detection_phase_deg
from stfmr.instruments.bench import open_simulated_bench
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.analysis.run_manifest import read_manifest
from stfmr.procedures.executor import run_sequence
from stfmr.procedures.sequence import parse_sequence

from support import runs as helpers

STEP = """
[[step]]
kind = "autophase"
frequency_GHz = 10.0
power_dBm = 15.0
angle_deg = 45.0
window_mT = 60.0
mu0_Meff_T = 0.65
field_points = 61
"""


@pytest.mark.parametrize("angle", [12.0, -35.0, 80.0, 0.0])
def test_the_principal_axis_of_a_rotated_spectrum_is_its_phase(angle):
    v = np.sin(np.linspace(-3, 3, 50)) + 0.3
    x, y = v * math.cos(math.radians(angle)) + 1e-3, v * math.sin(math.radians(angle)) - 2e-3
    assert detection_phase_deg(x, y) == pytest.approx(angle, abs=1e-9)


def test_no_signal_is_refused():
    with pytest.raises(ValueError, match="needs a signal"):
        detection_phase_deg([1.0, 1.0, 1.0], [0.0, 0.0, 0.0])


@pytest.mark.parametrize("setup_phase", [12.0, -35.0, 61.0])
def test_autophase_finds_the_simulated_phase_offset(tmp_path, setup_phase):
    sample = VirtualSample.preset("type-A")
    sample = type(sample).from_dict({**sample.to_dict(), "detection_phase_deg": setup_phase})
    bench = open_simulated_bench(sample)
    seq = parse_sequence(helpers.SAMPLE + STEP, "autophase.toml", bench.limits)
    assert run_sequence(seq, bench, tmp_path / "run", progress=None).state == "finished"
    found = read_manifest(tmp_path / "run")["entries"][0]["lockin_phase_deg"]
    assert found == pytest.approx(setup_phase, abs=1.0)
    assert bench.detector.phase() == pytest.approx(found, abs=0.01)
    # afterwards the signal is in X: Y at resonance is a small fraction of X
    lockin = bench.virtual.instrument("SR830")
    assert lockin.phase_deg == pytest.approx(setup_phase, abs=1.0)
    helpers.assert_safe_end(bench)
