"""Magnet calibration on the virtual bench: the measured loop recovers the simulated coil's curve.

The loop is compared with the simulated magnet (``Magnet.field_for_current`` with
either remanence sign), the written file drives FieldControl onto its targets,
bad inputs are refused before anything moves, and every ending leaves the magnet
at zero.
"""

import re
import threading
import time
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from stfmr.analysis.datafile import read_datafile
from stfmr.instruments.bench import default_simulated_config, open_bench, open_simulated_bench, parse_bench_config
from stfmr.instruments.calibration import (
    DOWN,
    MEAN,
    UP,
    CalibrationError,
    TableCoilCalibration,
    write_loop_calibration,
)
from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.procedures.magnet_calibration import MagnetCalibration
from stfmr.analysis.run_manifest import read_manifest
from stfmr.procedures.executor import ExecutorObserver, run_sequence
from stfmr.procedures.safety import LimitError, SafetyGuard
from stfmr.procedures.sequence import SequenceError, load_sequence, parse_sequence

from support import runs as helpers

ROOT = Path(__file__).resolve().parents[2]
SIM_BENCH = ROOT / "examples" / "benches" / "sim.toml"
LIMITS = default_simulated_config().limits
POINTS = 41
STEP = f"""
[[step]]
kind = "magnet_calibration"
max_current_A = 10.0
points_per_branch = {POINTS}
settle_s = 1.0
"""


def lakeshore421_resolution_mT(field_mT: float) -> float:
    """Display resolution of the simulated 421 on its auto-selected range (mT)."""
    b = abs(field_mT)
    return 1.0 if b >= 300 else 0.1 if b >= 30 else 0.01 if b >= 3 else 0.001


def reference_fields(currents: np.ndarray) -> dict[int, np.ndarray]:
    """The simulated coil's true field at each current for remanence +1 and -1 (a separate virtual magnet)."""
    virtual = VirtualBench(VirtualSample.preset("type-A"))
    magnet = virtual.magnet
    magnet.set_output(True)
    fields = {}
    for sign in (1, -1):
        magnet.set_setpoint(2.0 * sign)  # an excursion beyond remanence_switch_A sets the remanence sign
        virtual.clock.sleep(5.0)
        magnet.field_mT()
        fields[sign] = np.array([magnet.field_for_current(float(i)) for i in currents])
    assert fields[1][0] - fields[-1][0] == pytest.approx(2 * magnet.params.remanence_mT)
    return fields


def bench_with_calibration(folder: Path, name: str = "coil_calibration.csv") -> Path:
    """The example simulated bench file, with ``calibration_file`` (relative to it) instead of mT_per_A."""
    text, count = re.subn(r"(?m)^mT_per_A\s*=.*$", f'calibration_file = "{name}"', SIM_BENCH.read_text())
    assert count == 1
    path = folder / "bench.toml"
    path.write_text(text)
    return path


def sim_bench_data(**field_changes) -> dict:
    data = tomllib.loads(SIM_BENCH.read_text())
    for key, value in field_changes.items():
        if value is None:
            data["field"].pop(key)
        else:
            data["field"][key] = value
    return data


def nothing_moved(bench) -> bool:
    h = bench.virtual.history_arrays()
    return bool(np.all(h["setpoint_A"] == 0.0) and np.all(h["coil_A"] == 0.0))


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """One full calibration run on the virtual bench (the example's loop: +-10 A, 41 points per branch)."""
    bench = open_simulated_bench("type-A")
    seq = parse_sequence(helpers.SAMPLE + STEP, "magnet.toml", bench.limits)
    out = tmp_path_factory.mktemp("magnet") / "run"
    outcome = run_sequence(seq, bench, out, progress=None)
    yield bench, out, outcome
    bench.close()


def test_the_run_finishes_safely_and_writes_the_coil_calibration(calibrated):
    bench, out, outcome = calibrated
    assert outcome.state == "finished" and outcome.completed == 1
    entry = read_manifest(out)["entries"][0]
    assert entry["procedure"] == "MagnetCalibration" and entry["status"] == "complete"
    assert entry["outputs"] == ["coil_calibration.csv"] and (out / "coil_calibration.csv").is_file()
    data = read_datafile(out / entry["file"])
    assert data.names[:4] == ["Set current (A)", "Current (A)", "Field (mT)", "Branch"]
    assert len(data) == 2 * POINTS and "SIMULATED: True" in (out / entry["file"]).read_text()
    branch, set_A = data.columns["Branch"], data.columns["Set current (A)"]
    assert np.all(branch[:POINTS] == -1) and np.all(branch[POINTS:] == 1)
    assert np.allclose(set_A[:POINTS], np.linspace(10, -10, POINTS))
    assert np.allclose(set_A[POINTS:], np.linspace(-10, 10, POINTS))
    # the supply was ramped (never stepped) and the run ended with the magnet at zero
    helpers.assert_safe_end(bench)
    assert helpers.max_setpoint_rate(bench.virtual.history_arrays()) > 0.5 * bench.limits.max_ramp_rate_A_per_s
    assert bench.virtual.protocol_errors == []


def test_the_measured_loop_recovers_the_simulated_coil_for_both_remanence_signs(calibrated):
    bench, out, _ = calibrated
    data = read_datafile(out / read_manifest(out)["entries"][0]["file"])
    current, field, branch = (data.columns[c] for c in ("Current (A)", "Field (mT)", "Branch"))
    params = bench.virtual.magnet.params
    # the sign of the remanence at each point: the last excursion beyond remanence_switch_A
    sign = np.where(branch == 1, np.where(current >= params.remanence_switch_A, 1, -1),
                    np.where(current <= -params.remanence_switch_A, -1, 1))
    clear = np.abs(np.abs(current) - params.remanence_switch_A) > 5e-3  # points on the switch itself are skipped
    assert clear.sum() >= 2 * POINTS - 4
    expected = reference_fields(current)
    true = np.where(sign == 1, expected[1], expected[-1])
    tolerance = np.array([0.04 + 0.5 * lakeshore421_resolution_mT(b) for b in true])
    error = np.abs(field - true)
    assert np.all(error[clear] <= tolerance[clear]), f"worst {error[clear].max():.3g} mT"
    # both signs were seen, and they are not interchangeable near zero current
    near_zero = clear & (np.abs(current) < params.remanence_switch_A)
    assert set(sign[near_zero]) == {1, -1}
    wrong = np.where(sign == 1, expected[-1], expected[1])
    assert np.all(np.abs(field - wrong)[near_zero] > 1.5 * params.remanence_mT)
    # over the whole range within a fraction of a mT (the 421 reads 1 mT steps above 300 mT)
    assert error[clear].max() < 0.6


def test_the_branches_differ_by_twice_the_remanence_near_zero_current(calibrated):
    bench, out, _ = calibrated
    data = read_datafile(out / read_manifest(out)["entries"][0]["file"])
    c = data.columns
    remanence = bench.virtual.magnet.params.remanence_mT

    def at(amps: float, branch: int) -> float:
        rows = (c["Branch"] == branch) & np.isclose(c["Set current (A)"], amps)
        return float(c["Field (mT)"][rows][0])

    def offset_at_zero(branch: int) -> float:
        """Field at zero set current, less the coil's share of what the coil still carries (its L/R residual)."""
        row = (c["Branch"] == branch) & (c["Set current (A)"] == 0.0)
        return float(c["Field (mT)"][row][0] - bench.virtual.magnet.calibration_mT_per_A * c["Current (A)"][row][0])

    assert at(0.0, -1) - at(0.0, 1) == pytest.approx(2 * remanence, abs=0.05)
    # within the readback noise (0.2 mA rms, 0.008 mT)
    assert offset_at_zero(-1) - offset_at_zero(1) == pytest.approx(2 * remanence, abs=0.04)
    assert offset_at_zero(-1) == pytest.approx(remanence, abs=0.03)  # the remanent field itself, either sign
    for amps in (-6.0, -2.0, 1.0, 4.0, 7.0):  # outside the hysteresis band the branches agree
        assert abs(at(amps, -1) - at(amps, 1)) <= lakeshore421_resolution_mT(at(amps, 1)) + 0.02


def test_the_written_file_sets_fields_through_field_control_within_0p3_mT(calibrated):
    _, out, _ = calibrated
    cal = TableCoilCalibration.from_file(out / "coil_calibration.csv")
    assert cal.hysteretic and cal.describe()["points"] == 2 * POINTS
    assert cal.band_A == pytest.approx((-0.5, 0.5))  # the simulated switch at +-0.5 A, to the 0.5 A spacing
    bench = open_bench(bench_with_calibration(out))  # the bench file points at the written file
    try:
        assert bench.header()["roles"]["field"]["applied"]["calibration"]["kind"] == "table"
        guard = SafetyGuard(bench)
        magnet = bench.virtual.magnet
        remanence = magnet.params.remanence_mT

        def landed(target: float) -> float:
            guard.ramp_field(target)
            bench.clock.sleep(2.0)  # the coil's L/R lag
            return magnet.field_mT()

        # a freshly opened bench has no known history: the mean of the branches, off by at most B_r
        assert abs(landed(3.0) - 3.0) <= remanence + 0.05
        # once the magnet has left the hysteresis band, the branch of the approach applies
        for target in (150.0, 10.0, 0.0, -3.0, -120.0, -10.0, 0.0, 5.0, 250.0, 60.0, -250.0, -1.0, 35.0):
            assert landed(target) == pytest.approx(target, abs=0.3), f"target {target} mT"
        # the nominal linear coil constant would miss by the nonlinearity at high field
        nominal = 250.0 / magnet.calibration_mT_per_A
        assert abs(magnet.field_for_current(nominal) - 250.0) > 0.5
        guard.make_safe("test")
        helpers.assert_safe_end(bench)
    finally:
        bench.close()


def test_the_example_sequence_loads_within_the_simulated_limits():
    seq = load_sequence(ROOT / "examples" / "sequences" / "magnet-calibration.toml", LIMITS)
    (task,) = seq.tasks
    assert task.procedure == "MagnetCalibration" and task.parameters == {
        "max_current_A": 10.0, "points_per_branch": 41, "settle_s": 1.0, "calibration_file": "coil_calibration.csv"}


@pytest.mark.parametrize("step, words", [
    ("max_current_A = 11.0", ["supply current 11 A", "10 A"]),
    ("max_current_A = -2.0", ["max_current_A", "positive"]),
    ("max_current_A = 2.0\npoints_per_branch = 2", ["points_per_branch"]),
    ("max_current_A = 2.0\nsettle_s = -1.0", ["settle_s"]),
    ('max_current_A = 2.0\ncalibration_file = "../coil.csv"', ["calibration_file", "plain"]),
    ('max_current_A = 2.0\ncalibration_file = "coil.txt"', ["calibration_file", ".csv"]),
    ("points_per_branch = 21", ["max_current_A is missing"]),
])
def test_bad_sequence_steps_are_refused_naming_the_key(step, words):
    text = helpers.SAMPLE + '\n[[step]]\nkind = "magnet_calibration"\n' + step + "\n"
    with pytest.raises(SequenceError) as info:
        parse_sequence(text, "bad.toml", LIMITS)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("max_current, max_field, words", [
    (11.0, None, ["supply current 11 A", "limit of +-10 A"]),
    (9.0, 300.0, ["supply current 9 A", "360 mT", "field limit of +-300 mT"]),
])
def test_a_loop_beyond_the_limits_is_refused_before_anything_moves(max_current, max_field, words):
    bench = open_simulated_bench("type-A")
    if max_field is not None:
        bench.limits = replace(bench.limits, max_field_mT=max_field)
    procedure = MagnetCalibration(max_current_A=max_current)
    procedure.bench = bench
    procedure.should_stop = lambda: False  # what a pymeasure Worker provides
    with pytest.raises(LimitError) as info:
        procedure.startup()
    for word in words:
        assert word in str(info.value)
    procedure.shutdown()
    assert nothing_moved(bench)


def test_without_a_gaussmeter_the_run_is_refused_before_anything_moves(tmp_path):
    bench = open_bench(parse_bench_config(sim_bench_data(gaussmeter=None)))
    assert not bench.field.has_gaussmeter()
    seq = parse_sequence(helpers.SAMPLE + STEP, "magnet.toml", bench.limits)
    # the dry run of the plan on this bench refuses it before a run folder exists
    with pytest.raises(SequenceError, match=r"no gaussmeter.*\[field.gaussmeter\]"):
        run_sequence(seq, bench, tmp_path / "run", progress=None)
    assert not (tmp_path / "run").exists()
    with pytest.raises(SequenceError, match="no gaussmeter"):
        parse_sequence(helpers.SAMPLE + STEP, "magnet.toml", bench.config)  # and so does loading against the bench
    assert nothing_moved(bench) and not bench.virtual.magnet.output_enabled


def test_a_measured_field_beyond_the_limit_stops_the_loop_and_ramps_to_zero(tmp_path):
    # the bench file underrates the coil (30 mT/A, truly ~40): the planned 10 A passes as 300 mT,
    # but the field measured on the way up extrapolates beyond the 350 mT limit: stopped before it
    data = sim_bench_data(mT_per_A=30.0)
    data["limits"]["max_field_mT"] = 350.0
    bench = open_bench(parse_bench_config(data))
    seq = parse_sequence(helpers.SAMPLE + STEP, "magnet.toml", bench.limits)
    outcome = run_sequence(seq, bench, tmp_path / "run", progress=None)
    assert outcome.state == "failed" and "measured field would reach" in outcome.error and "350 mT" in outcome.error
    assert not (tmp_path / "run" / "coil_calibration.csv").exists()
    helpers.assert_safe_end(bench)
    assert np.max(np.abs(bench.virtual.history_arrays()["field_mT"])) <= 350.0


def test_abort_mid_loop_keeps_the_data_and_leaves_the_magnet_at_zero(tmp_path, monkeypatch):
    bench = open_simulated_bench("type-A")
    seq = parse_sequence(helpers.SAMPLE + STEP, "magnet.toml", bench.limits)
    stop = threading.Event()
    reads = []
    read_field = bench.field.field_mT

    excursion = int(np.count_nonzero(np.linspace(-10.0, 10.0, POINTS) > 0))  # reads before the loop

    procedures = []

    class Running(ExecutorObserver):
        def task_started(self, task, entry, procedure, results):
            procedures.append(procedure)

    def field_mT():  # in the worker thread, like the GUI's Abort button during the loop
        reads.append(1)
        if len(reads) == excursion + 15:
            stop.set()
            deadline = time.monotonic() + 60
            while not procedures[0].should_stop() and time.monotonic() < deadline:
                time.sleep(0.001)  # until the runner (polling its stop event every 50 ms) stops the worker
        return read_field()

    monkeypatch.setattr(bench.field, "field_mT", field_mT)
    outcome = run_sequence(seq, bench, tmp_path / "run", stop=stop, observer=Running())
    assert outcome.state == "aborted"
    entry = read_manifest(tmp_path / "run")["entries"][0]
    assert entry["status"] == "aborted" and "outputs" not in entry
    assert 15 <= helpers.data_rows(tmp_path / "run" / entry["file"]) < 2 * POINTS
    assert not (tmp_path / "run" / "coil_calibration.csv").exists()
    helpers.assert_safe_end(bench)
    assert bench.virtual.history_arrays()["setpoint_A"].max() == pytest.approx(10.0)  # it had started


# -- the hysteretic table on its own ---------------------------------------------------------


def synthetic_loop(remanence: float = 1.0, switch: float = 0.5) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """A 10 mT/A coil with a remanence that flips at +-switch: down branch, then up branch."""
    currents = np.linspace(2.0, -2.0, 9)
    down = 10 * currents + np.where(currents < -switch, -remanence, remanence)
    up_currents = currents[::-1]
    up = 10 * up_currents + np.where(up_currents > switch, remanence, -remanence)
    return (np.concatenate([currents, up_currents]), np.concatenate([down, up]),
            [DOWN] * currents.size + [UP] * currents.size)


def test_a_loop_file_round_trips_and_follows_the_branch_of_the_approach(tmp_path):
    path = tmp_path / "coil.csv"
    current, field, branch = synthetic_loop()
    write_loop_calibration(path, current, field, branch, comment=["synthetic"])
    text = path.read_text()
    assert text.startswith("# synthetic\nCurrent (A),Field (mT),Branch\n") and ",down\n" in text and ",up\n" in text
    cal = TableCoilCalibration.from_file(path)
    assert cal.band_A == (-0.5, 0.5)
    # history unknown: the mean of the branches (zero remanence in the mean)
    assert cal.branch is None and cal.current_for_field(0.0) == pytest.approx(0.0)
    assert cal.field_for_current(0.0) == pytest.approx(0.0)
    cal.follow(0.3)  # inside the band: still unknown
    assert cal.branch is None
    cal.follow(1.5)  # magnetised positive: down branch on the way back
    assert cal.branch == DOWN and cal.current_for_field(0.0) == pytest.approx(-0.1)
    assert cal.field_for_current(0.0) == pytest.approx(1.0)
    cal.follow(-0.4)  # a reversal inside the band keeps the branch
    assert cal.branch == DOWN
    cal.follow(-1.0)
    assert cal.branch == UP and cal.current_for_field(0.0) == pytest.approx(0.1)
    assert cal.field_for_current(0.0, branch=DOWN) == pytest.approx(1.0)
    assert cal.field_for_current(0.0, branch=MEAN) == pytest.approx(0.0)
    # outside the band the side's branch applies whatever the history
    assert cal.current_for_field(15.0 + 1.0) == pytest.approx(1.5)
    assert cal.current_for_field(-15.0 - 1.0) == pytest.approx(-1.5)
    for amps in np.linspace(-3, 3, 13):  # extrapolated beyond the table from the end slopes
        assert cal.current_for_field(cal.field_for_current(amps, UP), UP) == pytest.approx(amps)


def test_a_two_column_file_is_still_one_curve_for_both_directions(tmp_path):
    path = tmp_path / "coil.csv"
    path.write_text("Current (A),Field (mT)\n-2,-81\n0,0.5\n2,80\n")
    cal = TableCoilCalibration.from_file(path)
    assert not cal.hysteretic and "branches" not in cal.describe()
    cal.follow(5.0)
    assert cal.branch is None and cal.field_for_current(1.0) == pytest.approx(40.25)


@pytest.mark.parametrize("rows, problem", [
    ("0,0,up\n1,40,sideways\n", "line 3: Branch must be up or down"),
    ("0,0,up\n1,40,up\n", "only 'up' rows"),
    ("2,80,down\n1,41,down\n0,42,down\n-1,40,up\n0,41,up\n", "down branch: field must increase strictly"),
    ("0,0,down\n1,40,down\n1,42,down\n0,1,up\n1,41,up\n", "down branch repeats a current value (1 A)"),
    ("0,0,down\n1,40,down\n2,80,up\n3,120,up\n", "do not overlap"),
])
def test_bad_branch_tables_are_refused_naming_the_problem(tmp_path, rows, problem):
    path = tmp_path / "coil.csv"
    path.write_text("Current (A),Field (mT),Branch\n" + rows)
    with pytest.raises(CalibrationError) as info:
        TableCoilCalibration.from_file(path)
    assert problem in str(info.value) and str(path) in str(info.value)


def test_an_incomplete_loop_writes_no_calibration(tmp_path):
    procedure = MagnetCalibration(max_current_A=2.0, points_per_branch=5)
    procedure.loop = [(2.0, 2.0, 80.0, DOWN)]
    with pytest.raises(CalibrationError, match="incomplete"):
        procedure.write_outputs(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_two_steps_writing_one_calibration_file_are_refused_and_a_file_is_never_overwritten(tmp_path):
    with pytest.raises(SequenceError, match="coil_calibration.csv"):
        parse_sequence(helpers.SAMPLE + STEP + STEP, "twice.toml", default_simulated_config().limits)
    current, field, branch = synthetic_loop()
    write_loop_calibration(tmp_path / "coil.csv", current, field, branch)
    before = (tmp_path / "coil.csv").read_text()
    with pytest.raises(CalibrationError, match="exists already"):
        write_loop_calibration(tmp_path / "coil.csv", current, field, branch)
    assert (tmp_path / "coil.csv").read_text() == before
