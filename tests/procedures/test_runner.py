"""The headless runner on the virtual bench: whole runs, aborts, faults, Ctrl-C, SIGKILL and resume."""

import _thread
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from stfmr.instruments.bench import open_simulated_bench
from stfmr.analysis.run_manifest import RunFolderError, read_manifest
from stfmr.procedures import field_sweep as fs
from stfmr.procedures.executor import ExecutorObserver, run_sequence
from stfmr.procedures.sequence import load_sequence

from support import runs as helpers


@pytest.mark.slow
def test_full_characterization_of_a_preset_runs_safely_and_completely(example_run):
    measured = example_run("full-characterization")  # the example as shipped, 32 tasks
    bench, seq, outcome, run_dir = measured.bench, measured.sequence, measured.outcome, measured.folder
    assert measured.cpu_s < 60  # the virtual clock runs it in CPU seconds, which a busy machine does not inflate
    assert outcome.state == "finished" and outcome.completed == len(seq.tasks) == 32
    manifest = read_manifest(run_dir)
    assert manifest["SIMULATED"] is True and manifest["state"] == "finished"
    assert [e["key"] for e in manifest["entries"]] == [t.key for t in seq.tasks]
    for entry in manifest["entries"]:
        path = run_dir / entry["file"]
        header = path.read_text().split("#Data:")[0]
        assert "SIMULATED: True" in header and '"Ms_t_A":0.004' in header
        p = entry["parameters"]
        spectrum_rows = p.get("field_points", 0) * (2 if p.get("both_branches") else 1)
        expected = {"FieldSweep": spectrum_rows, "Autophase": spectrum_rows,
                    "AmrSweep": p.get("angle_points"), "RfCalibration": 2 * (p.get("dc_points", 1) - 1)
                    + p.get("power_points", 0)}[entry["procedure"]]
        assert helpers.data_rows(path) == expected, entry["file"]
    # the 45 deg spectrum of the angle sweep is fitted, both branches, with opposite V_S
    fits = next(e["fits"] for e in manifest["entries"] if e["kind"] == "angle_sweep" and e["label"] == "10GHz_45deg")
    assert [f["polarity"] for f in fits] == [1, -1]
    assert fits[0]["V_S"]["value"] > 0 > fits[1]["V_S"]["value"]
    helpers.assert_safe_end(bench)
    assert bench.virtual.protocol_errors == []


def test_live_fits_change_no_file_and_no_recorded_fit(tmp_path, monkeypatch):
    """Why the shared runs of the tests may skip live fits (support.runs.measure): they only show."""
    text = helpers.SAMPLE + """
[[step]]
kind = "autophase"
frequency_GHz = 10.0
power_dBm = 15.0
angle_deg = 45.0
window_mT = 60.0
mu0_Meff_T = 0.65
field_points = 31
[[step]]
kind = "angle_sweep"
frequency_GHz = 10.0
power_dBm = 15.0
angles_deg = [45]
window_mT = 60.0
mu0_Meff_T = 0.65
field_points = 41
both_branches = true
"""
    monkeypatch.setattr(fs, "LIVE_FIT_INTERVAL_S", 0.0)  # when live fits are on: one after every point
    monkeypatch.setattr(fs, "LIVE_FIT_COST_FACTOR", 0.0)
    runs = {live: helpers.measure(text, tmp_path / str(live), live_fits=live) for live in (True, False)}
    entries = {live: read_manifest(m.folder)["entries"] for live, m in runs.items()}
    assert [e["status"] for e in entries[True]] == ["complete"] * 2
    for with_fits, without in zip(entries[True], entries[False]):
        assert with_fits["fits"] == without["fits"] and with_fits["fits"]
        assert with_fits.get("lockin_phase_deg") == without.get("lockin_phase_deg")
        data = [(m.folder / e["file"]).read_text().split("#Data:")[1] for m, e in ((runs[True], with_fits),
                                                                                   (runs[False], without))]
        assert data[0] == data[1], with_fits["file"]


def test_abort_mid_spectrum_keeps_the_data_and_leaves_the_bench_safe(tmp_path, monkeypatch):
    bench = open_simulated_bench("type-A")
    seq = load_sequence(helpers.write(tmp_path, helpers.ANGLES), bench.limits)
    stop = threading.Event()
    calls = []

    def on_fit(fits):  # runs in the worker thread, like the GUI's Abort button during a sweep
        calls.append(1)
        if len(calls) == 3:
            stop.set()

    monkeypatch.setattr(fs, "LIVE_FIT_INTERVAL_S", 0.0)  # a live fit after every point: the stop lands mid-spectrum
    monkeypatch.setattr(fs, "LIVE_FIT_COST_FACTOR", 0.0)
    outcome = run_sequence(seq, bench, tmp_path / "run", progress=None, stop=stop, on_fit=on_fit)
    assert outcome.state == "aborted"
    entry = read_manifest(tmp_path / "run")["entries"][-1]
    assert entry["status"] == "aborted"
    rows = helpers.data_rows(tmp_path / "run" / entry["file"])
    assert 0 < rows < 2 * 61
    helpers.assert_safe_end(bench)


@pytest.mark.parametrize("fault, instrument", [
    ({"kind": "timeout", "instrument": "SR830", "after_queries": 150}, "SR830"),
    ({"kind": "drop", "instrument": "SR830", "after_queries": 150}, "SR830"),
    ({"kind": "overload", "instrument": "SR830", "after_queries": 150}, "SR830"),
    ({"kind": "supply_trip", "instrument": "KepcoBOP3612", "after_queries": 200}, "KepcoBOP3612"),  # mid-spectrum
])
def test_an_injected_fault_stops_cleanly_naming_the_instrument(tmp_path, fault, instrument):
    bench = open_simulated_bench("type-A", faults={"fault": [fault]})
    seq = load_sequence(helpers.write(tmp_path, helpers.ANGLES), bench.limits)
    outcome = run_sequence(seq, bench, tmp_path / "run", progress=None)
    assert outcome.state == "failed"
    assert instrument in outcome.error
    manifest = read_manifest(tmp_path / "run")
    failed = manifest["entries"][-1]
    assert failed["status"] == "failed" and instrument in failed["error"]
    assert helpers.data_rows(tmp_path / "run" / failed["file"]) > 0  # data up to the fault kept
    for entry in manifest["entries"][:-1]:
        assert entry["status"] == "complete"
    helpers.assert_safe_end(bench)


def test_ctrl_c_aborts_safely(tmp_path):
    bench = open_simulated_bench("type-A")
    seq = load_sequence(helpers.write(tmp_path, helpers.ANGLES), bench.limits)
    first_done = threading.Event()

    class FirstTaskDone(ExecutorObserver):
        def task_finished(self, task, outcome):
            first_done.set()

    def interrupt_when_running():  # Ctrl-C from the terminal: while the next task is measuring
        if first_done.wait(timeout=600):
            _thread.interrupt_main()

    threading.Thread(target=interrupt_when_running, daemon=True).start()
    outcome = run_sequence(seq, bench, tmp_path / "run", observer=FirstTaskDone())
    assert first_done.is_set()
    assert outcome.state == "aborted"
    helpers.assert_safe_end(bench)


def test_a_finished_run_folder_is_not_overwritten(tmp_path):
    bench = open_simulated_bench("type-A")
    seq = load_sequence(helpers.write(tmp_path, helpers.ANGLES), bench.limits)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "old.csv").write_text("data")
    with pytest.raises(RunFolderError, match="--resume"):
        run_sequence(seq, bench, tmp_path / "run", progress=None)


def rows_measured_after(run_dir: Path, complete: int) -> int:
    """Rows in the file of the spectrum running after ``complete`` finished ones (0 before it has any)."""
    try:
        entries = read_manifest(run_dir)["entries"]
        if sum(e["status"] == "complete" for e in entries) < complete or entries[-1]["status"] != "running":
            return 0
        return helpers.data_rows(run_dir / entries[-1]["file"])
    except (RunFolderError, KeyError, IndexError, OSError):
        return 0  # the folder, the manifest or the file is not written yet


def test_sigkill_then_resume_measures_every_spectrum_exactly_once(tmp_path):
    points = 151
    text = helpers.SAMPLE + f"""
[[step]]
kind = "frequency_sweep"
frequencies_GHz = {{start = 6, stop = 12, step = 1}}
power_dBm = 15.0
window_mT = 80.0
mu0_Meff_T = 0.65
field_points = {points}
"""
    seq_path = helpers.write(tmp_path, text)
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "stfmr.app", "run", str(seq_path), "--sim", "type-A", "--out", str(run_dir), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300  # a backstop only: the kill comes as soon as the 4th spectrum has rows
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        if rows_measured_after(run_dir, complete=3) >= 10:  # mid-spectrum: 141 of its points to go
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.02)  # a few rows at most between two looks: 141 are left
    proc.wait(30)
    assert killed, "the run ended before it could be killed"
    before = read_manifest(run_dir)
    complete_before = {e["key"]: e["file"] for e in before["entries"] if e["status"] == "complete"}
    unfinished = [e for e in before["entries"] if e["status"] != "complete"]
    assert unfinished, "killed mid-spectrum: its entry is unfinished"

    from stfmr.app import cli
    assert cli.main(["run", str(seq_path), "--sim", "type-A", "--out", str(run_dir), "--resume", "--quiet"]) == 0

    after = read_manifest(run_dir)
    assert after["state"] == "finished"
    complete = [e for e in after["entries"] if e["status"] == "complete"]
    keys = [e["key"] for e in complete]
    assert sorted(keys) == sorted({f"s1-{k}" for k in range(7)})  # every spectrum once
    assert len(keys) == len(set(keys))
    for key, name in complete_before.items():  # earlier spectra untouched
        assert next(e["file"] for e in complete if e["key"] == key) == name
    for entry in complete:
        assert helpers.data_rows(run_dir / entry["file"]) == points
    for entry in unfinished:  # a partly written file is kept, marked incomplete
        kept = next(e for e in after["entries"] if e["index"] == entry["index"])
        assert kept["status"] == "incomplete" and ".incomplete" in kept["file"]
        assert (run_dir / kept["file"]).exists() or not (run_dir / entry["file"]).exists()
