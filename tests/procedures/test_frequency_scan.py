"""Frequency scans on the virtual bench: the Kittel frequency, the field-sweep line, limits, safe ends."""

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest

from stfmr.analysis.datafile import read_datafile
from stfmr.analysis.resonance import kittel_frequency_GHz
from stfmr.instruments.bench import default_simulated_config, open_simulated_bench
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.procedures.frequency_scan import FrequencyScan
from stfmr.analysis.run_manifest import read_manifest
from stfmr.procedures.executor import run_sequence
from stfmr.procedures.safety import LimitError, SafetyGuard
from stfmr.procedures.sequence import SequenceError, load_sequence, parse_sequence

from support import runs as helpers

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sequences" / "frequency-scan.toml"
LIMITS = default_simulated_config().limits

STEP = """
[[step]]
kind = "frequency_scan"
field_mT = 150.0
frequencies_GHz = {start = 8.0, stop = 12.4, points = 221}
angle_deg = 45.0
power_dBm = 15.0
"""


def test_the_example_loads_as_one_scan_with_both_branches():
    seq = load_sequence(EXAMPLE, LIMITS)
    [task] = seq.tasks
    assert (task.kind, task.procedure, task.label) == ("frequency_scan", "FrequencyScan", "150mT_45deg")
    p = task.parameters
    assert (p["field_mT"], p["frequency_start_GHz"], p["frequency_stop_GHz"]) == (150.0, 8.0, 12.4)
    assert p["frequency_points"] == 221
    assert p["both_branches"] is True and p["g"] == 2.1


def test_a_field_grid_gives_one_scan_per_field():
    seq = parse_sequence(helpers.SAMPLE + STEP.replace("field_mT = 150.0", "field_mT = [100.0, 150.0, 200.0]"),
                         "grid.toml", LIMITS)
    assert [t.parameters["field_mT"] for t in seq.tasks] == [100.0, 150.0, 200.0]
    assert len({t.key for t in seq.tasks}) == 3


@pytest.mark.parametrize("change, words", [
    (("field_mT = 150.0", "field_mT = 450.0"), ["step 1 (frequency_scan)", "field 450 mT", "limit of +-400 mT"]),
    (("field_mT = 150.0", "field_mT = [150.0, 420.0]"), ["field 420 mT", "limit of +-400 mT"]),
    (("power_dBm = 15.0", "power_dBm = 25.0"), ["rf power 25 dBm", "limit of 20 dBm"]),
    (("angle_deg = 45.0", "angle_deg = 400.0"), ["angle 400 deg", "stage range"]),
    (("angle_deg = 45.0", "angle_deg = 45.0\ndc_current_mA = 20.0"), ["dc current 20 mA", "limit of +-10 mA"]),
    (("start = 8.0", "start = -1.0"), ["frequencies_GHz", "positive"]),
    (("{start = 8.0, stop = 12.4, points = 221}", "[10.0, 10.0, 10.0]"), ["frequencies_GHz", "evenly spaced"]),
    (("{start = 8.0, stop = 12.4, points = 221}", "[8.0, 9.0, 11.0]"), ["frequencies_GHz", "evenly spaced"]),
    (("field_mT = 150.0", "field_mT = -150.0"), ["field_mT", "positive fields"]),
    (("field_mT = 150.0\n", ""), ["field_mT is missing"]),
    (("angle_deg = 45.0", "angles_deg = 45.0"), ["unknown key 'angles_deg'"]),
])
def test_bad_scans_are_refused_at_load_time(change, words):
    with pytest.raises(SequenceError) as exc:
        parse_sequence(helpers.SAMPLE + STEP.replace(*change), "bad.toml", LIMITS)
    for word in words:
        assert word in str(exc.value)


def test_the_plan_is_checked_before_anything_moves():
    bench = open_simulated_bench("type-A")
    procedure = FrequencyScan()
    procedure.bench = bench
    procedure.field_mT, procedure.both_branches = 390.0, True
    procedure.check_plan(SafetyGuard(bench))  # 390 mT is within 400 mT and within 10 A at 40 mT/A
    procedure.field_mT = 410.0
    with pytest.raises(LimitError, match="field 410 mT"):
        procedure.check_plan(SafetyGuard(bench))
    procedure.field_mT, procedure.power_dBm = 150.0, 21.0
    with pytest.raises(LimitError, match="rf power 21 dBm"):
        procedure.check_plan(SafetyGuard(bench))
    assert bench.virtual.history_arrays()["setpoint_A"].max(initial=0.0) == 0.0
    assert not bench.virtual.rf.output_on


def _field_sweep(f_GHz: float) -> str:
    return f"""
[[step]]
kind = "field_sweep"
frequency_GHz = {f_GHz!r}
power_dBm = 15.0
angle_deg = 45.0
field_start_mT = 110.0
field_stop_mT = 190.0
field_points = 321
both_branches = true
"""


def test_a_scan_finds_the_kittel_frequency_and_the_field_sweep_line(example_run, tmp_path):
    preset = VirtualSample.preset("type-A")
    measured = example_run("frequency-scan")  # the example as shipped
    bench = measured.bench
    assert measured.outcome.state == "finished"
    [entry] = read_manifest(measured.folder)["entries"]
    assert entry["procedure"] == "FrequencyScan" and entry["status"] == "complete"
    path = measured.folder / entry["file"]
    header, table = path.read_text().split("#Data:")
    assert "SIMULATED: True" in header and "Frequency points: 221" in header and "Lande g: 2.1" in header
    assert table.strip().splitlines()[0].startswith("Frequency (GHz),Field set (mT),Field (mT),Current (A)")
    assert helpers.data_rows(path) == 2 * 221
    helpers.assert_safe_end(bench)

    pos, neg = entry["fits"]
    assert (pos["polarity"], neg["polarity"]) == (1, -1)
    for fit in (pos, neg):
        q = fit["field_equivalent"]
        h = abs(q["H_r"]["value"])
        assert h == pytest.approx(150.0, abs=0.5)  # measured: the yoke's remanence adds a few tenths
        # f_r on the preset's Kittel curve at the measured field: within 5 % of the half width
        # (the damped line sits ~6 MHz below f_K, see analysis.frequency_scan)
        f_kittel = kittel_frequency_GHz(h, preset.mu0_Meff_T, preset.g)
        assert fit["f_r"]["value"] == pytest.approx(f_kittel, abs=0.05 * fit["df"]["value"])
        assert q["mu0_Meff_T"]["value"] == pytest.approx(preset.mu0_Meff_T, abs=0.005)
    # both branches see the same line, with V_S and V_A reversed by m (field-sweep signs)
    assert pos["field_equivalent"]["V_S"]["value"] > 0 > neg["field_equivalent"]["V_S"]["value"]
    assert pos["field_equivalent"]["V_A"]["value"] > 0 > neg["field_equivalent"]["V_A"]["value"]
    assert pos["V_A"]["value"] < 0  # as fitted in frequency: the antisymmetric part is reversed

    # a field sweep at the scan's f_r and the same angle sees the same line
    f_r = round(pos["f_r"]["value"], 4)
    sweep_run = helpers.measure(helpers.SAMPLE + _field_sweep(f_r), tmp_path / "sweep", preset, "sweep.toml")
    assert sweep_run.outcome.state == "finished"
    sweeps = read_manifest(sweep_run.folder)["entries"][0]["fits"]
    for scan, sweep in zip((pos, neg), sweeps):
        q = {k: v["value"] for k, v in scan["field_equivalent"].items()}
        s = {k: sweep[k]["value"] for k in ("H_r", "dH", "V_S", "V_A")}
        assert q["dH"] == pytest.approx(s["dH"], rel=0.02)
        assert q["V_S"] / q["V_A"] == pytest.approx(s["V_S"] / s["V_A"], rel=0.03)
        assert q["V_S"] == pytest.approx(s["V_S"], rel=0.03)
        assert q["V_A"] == pytest.approx(s["V_A"], rel=0.03)
        assert abs(q["H_r"]) == pytest.approx(abs(s["H_r"]), abs=0.05 * s["dH"])


@pytest.mark.parametrize("coil_tau_s", [0.15, 2.0])
def test_the_field_stays_put_while_the_frequency_steps(tmp_path, coil_tau_s):
    bench = open_simulated_bench("type-A")
    magnet = bench.virtual.magnet  # a slow magnet: the scan waits for the coil to follow the ramp
    magnet.params = dataclasses.replace(magnet.params, time_constant_s=coil_tau_s)
    seq = parse_sequence(helpers.SAMPLE + STEP.replace("points = 221", "points = 41"), "one.toml", bench.limits)
    assert run_sequence(seq, bench, tmp_path / "run", progress=None).state == "finished"
    entry = read_manifest(tmp_path / "run")["entries"][0]
    rows = read_datafile(tmp_path / "run" / entry["file"]).columns
    assert np.allclose(rows["Frequency (GHz)"], np.linspace(8.0, 12.4, 41))
    assert np.ptp(rows["Current (A)"]) < 3e-3  # the coil had followed before the first point
    assert np.ptp(rows["Field (mT)"]) <= 0.1 + 1e-9  # one digit of the gaussmeter
    helpers.assert_safe_end(bench)


def test_abort_mid_scan_keeps_the_data_and_leaves_rf_off_and_the_magnet_at_zero(tmp_path):
    bench = open_simulated_bench("type-A")
    seq = load_sequence(EXAMPLE, bench.limits)
    stop = threading.Event()
    read_xy, reads = bench.detector.read_xy, []

    def counting_read_xy():  # the operator's Abort, at a known point of the scan
        reads.append(1)
        if len(reads) == 60:
            stop.set()
        return read_xy()

    bench.detector.read_xy = counting_read_xy
    outcome = run_sequence(seq, bench, tmp_path / "run", progress=None, stop=stop)
    assert outcome.state == "aborted"
    entry = read_manifest(tmp_path / "run")["entries"][-1]
    assert entry["status"] == "aborted"
    assert 0 < helpers.data_rows(tmp_path / "run" / entry["file"]) < 2 * 221
    helpers.assert_safe_end(bench)
    assert bench.virtual.protocol_errors == []
