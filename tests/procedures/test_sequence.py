"""Sequence files: the examples load, and every kind of bad file is refused, step and value named."""

from pathlib import Path

import numpy as np
import pytest

from stfmr.instruments.bench import default_simulated_config
from stfmr.procedures.sequence import SequenceError, grid, load_sequence, parse_sequence

from support import runs as helpers

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sequences"
LIMITS = default_simulated_config().limits


@pytest.mark.parametrize("name, tasks", [("angle-sweep.toml", 24), ("full-characterization.toml", 32),
                                         ("dc-bias.toml", 16)])
def test_the_examples_load_within_the_simulated_limits(name, tasks):
    seq = load_sequence(EXAMPLES / name, LIMITS)
    assert len(seq.tasks) == tasks
    assert len({t.key for t in seq.tasks}) == tasks  # keys identify tasks across resumes


def test_grids():
    assert np.allclose(grid({"start": 0, "stop": 90, "step": 30}, "g"), [0, 30, 60, 90])
    assert np.allclose(grid({"start": 90, "stop": 0, "step": 45}, "g"), [90, 45, 0])
    assert np.allclose(grid({"start": 1, "stop": 2, "points": 3}, "g"), [1, 1.5, 2])
    assert np.allclose(grid([6, 8], "g"), [6, 8])


STEP = """
[[step]]
kind = "field_sweep"
frequency_GHz = 10.0
power_dBm = 10.0
field_start_mT = 50.0
field_stop_mT = 200.0
"""


DC_STEP = """
[[step]]
kind = "dc_bias_sweep"
frequency_GHz = 10.0
power_dBm = 10.0
field_start_mT = 50.0
field_stop_mT = 200.0
dc_currents_mA = [-4, 0, 4]
"""


def test_a_dc_bias_step_is_one_field_sweep_per_current():
    seq = parse_sequence(helpers.SAMPLE + DC_STEP, "dc.toml", LIMITS)
    assert [t.parameters["dc_current_mA"] for t in seq.tasks] == [0.0, 4.0, -4.0]  # interleaved
    assert {t.procedure for t in seq.tasks} == {"FieldSweep"} and seq.tasks[2].label == "10GHz_45deg_-4mA"


@pytest.mark.parametrize("text, words", [
    (helpers.SAMPLE + '[[step]]\nkind = "spin_pumping"\n', ["step 1", "unknown kind 'spin_pumping'"]),
    (helpers.SAMPLE + STEP.replace("200.0", "450.0"), ["step 1", "field 450 mT", "limit of +-400 mT"]),
    (helpers.SAMPLE + STEP.replace("power_dBm = 10.0", "power_dBm = 25.0"), ["rf power 25 dBm"]),
    (helpers.SAMPLE + helpers.ANGLES.split("[sample]")[0] + helpers.ANGLES.split(helpers.SAMPLE)[1].replace("step = 30", "step = -30"),
     ["angles_deg.step", "must be positive"]),
    (helpers.SAMPLE + helpers.ANGLES.split(helpers.SAMPLE)[1].replace("angles_deg = {start = 30, stop = 150, step = 30}", "angles_deg = []"),
     ["angles_deg", "empty grid"]),
    (helpers.SAMPLE.replace("Ms_t_A = 4.0e-3\n", "") + STEP, ["[sample]", "Ms_t_A"]),
    (STEP, ["[sample] table", "missing"]),
    (helpers.SAMPLE + STEP.replace("field_stop_mT", "field_end_mT"), ["unknown key 'field_end_mT'"]),
    (helpers.SAMPLE, ["no [[step]]"]),
    (helpers.SAMPLE + STEP + "angle_deg = 400.0\n", ["angle 400 deg", "stage range"]),
    (helpers.SAMPLE + STEP.replace("field_start_mT = 50.0\nfield_stop_mT = 200.0\n", ""), ["window_mT", "field_start_mT"]),
    (helpers.SAMPLE + DC_STEP.replace("[-4, 0, 4]", "[0, 2, 4]"), ["dc_currents_mA", "both polarities"]),
    (helpers.SAMPLE + DC_STEP.replace("[-4, 0, 4]", "[-12, 0, 12]"), ["dc current 12 mA", "limit of +-10 mA"]),
    (helpers.SAMPLE + DC_STEP + "dc_current_mA = 1.0\n", ["unknown key 'dc_current_mA'"]),
])
def test_bad_sequences_are_refused_naming_step_and_value(text, words):
    with pytest.raises(SequenceError) as exc:
        parse_sequence(text, "bad.toml", LIMITS)
    for word in words:
        assert word in str(exc.value)


def test_stfmr_run_refuses_a_bad_sequence_before_opening_anything(tmp_path, capsys, monkeypatch):
    from stfmr.app import cli
    from stfmr.instruments import bench as bench_module

    opened = []
    monkeypatch.setattr(bench_module, "open_simulated_bench", lambda *a, **k: opened.append(1))
    monkeypatch.setattr(bench_module, "open_bench", lambda *a, **k: opened.append(1))
    bad = helpers.write(tmp_path, helpers.SAMPLE + STEP.replace("200.0", "450.0"))
    status = cli.main(["run", str(bad), "--sim", "type-A", "--out", str(tmp_path / "run")])
    assert status == cli.EXIT_BAD_INPUT
    assert "field 450 mT" in capsys.readouterr().err
    assert not opened and not (tmp_path / "run").exists()


def test_stfmr_run_refuses_a_bad_bench_file(tmp_path, capsys):
    from stfmr.app import cli

    bench = tmp_path / "bench.toml"
    bench.write_text((Path(__file__).resolve().parents[2] / "examples/benches/sim.toml").read_text()
                     .replace("max_ramp_rate_A_per_s = ", "max_ramp_rate_A_per_s = -"))
    seq = helpers.write(tmp_path, helpers.ANGLES)
    assert cli.main(["run", str(seq), "--bench", str(bench), "--out", str(tmp_path / "run")]) == cli.EXIT_BAD_INPUT
    assert "max_ramp_rate_A_per_s" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
