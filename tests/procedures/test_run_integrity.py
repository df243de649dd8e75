"""Run integrity: resume re-applies what steps set, refuses another bench, one process per folder,
a failed write fails the spectrum, interrupts between tasks, kills at every point, linear manifests,
and no way out of the run folder through its manifest."""

from __future__ import annotations

import _thread
import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stfmr.analysis.datafile import read_datafile
from stfmr.analysis.run_manifest import JOURNAL, MANIFEST, RunFolderError, read_manifest
from stfmr.app import cli
from stfmr.instruments.bench import open_simulated_bench
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.procedures import recording, run_folder
from stfmr.procedures.executor import ExecutorObserver, run_sequence
from stfmr.procedures.run_folder import RunFolder
from stfmr.procedures.sequence import parse_sequence
from support import runs as helpers

FOUR = helpers.FOUR_SPECTRA

PHASED = helpers.SAMPLE + """
[[step]]
kind = "autophase"
frequency_GHz = 10.0
power_dBm = 15.0
angle_deg = 45.0
window_mT = 40.0
mu0_Meff_T = 0.65
field_points = 41
""" + FOUR.split(helpers.SAMPLE)[1]


def sequence(text: str, bench):
    return parse_sequence(text, "night.toml", bench.limits)


class StopAfter(ExecutorObserver):
    """Sets the stop event when ``n`` tasks have ended (an abort between tasks)."""

    def __init__(self, n: int, stop) -> None:
        self.n, self.stop, self.ended = n, stop, 0

    def task_finished(self, task, outcome) -> None:
        self.ended += 1
        if self.ended == self.n:
            self.stop.set()


def phased_sample(phase: float) -> VirtualSample:
    sample = VirtualSample.preset("type-A")
    return type(sample).from_dict({**sample.to_dict(), "detection_phase_deg": phase})


# -- resume -------------------------------------------------------------------------------------


def test_resume_applies_the_autophase_again_and_every_header_carries_the_phase(tmp_path):
    import threading

    bench = open_simulated_bench(phased_sample(35.0))
    stop = threading.Event()
    out = tmp_path / "run"
    first = run_sequence(sequence(PHASED, bench), bench, out, stop=stop, observer=StopAfter(2, stop))
    assert first.state == "aborted"
    found = read_manifest(out)["entries"][0]["lockin_phase_deg"]
    assert found == pytest.approx(35.0, abs=1.0)
    bench.close()

    fresh = open_simulated_bench(phased_sample(35.0))  # a new process: the lock-in back at its bench phase
    assert fresh.detector.phase() != pytest.approx(found, abs=0.5)
    assert run_sequence(sequence(PHASED, fresh), fresh, out, resume=True).state == "finished"
    assert fresh.detector.phase() == pytest.approx(found, abs=0.01)
    for entry in read_manifest(out)["entries"]:
        if entry["status"] == "complete" and entry["kind"] != "autophase":
            header = read_datafile(out / entry["file"]).header
            assert float(header["Lock-in phase (deg)"]) == pytest.approx(found, abs=0.01), entry["file"]
    fresh.close()


@pytest.mark.parametrize("other", [{"sample": "type-B"}, {"seed": 3}])
def test_resume_on_another_sample_or_seed_is_refused_unless_allowed(tmp_path, other):
    import threading

    bench = open_simulated_bench("type-A")
    stop = threading.Event()
    out = tmp_path / "run"
    run_sequence(sequence(FOUR, bench), bench, out, stop=stop, observer=StopAfter(1, stop))
    kind = open_simulated_bench(other.get("sample", "type-A"), seed=other.get("seed", 0))
    with pytest.raises(RunFolderError, match="another bench or sample.*--allow-bench-change"):
        run_sequence(sequence(FOUR, kind), kind, out, resume=True)
    assert run_sequence(sequence(FOUR, kind), kind, out, resume=True, allow_bench_change=True).state == "finished"
    changed = read_manifest(out)["resumed"][-1]["bench_changed"]
    assert changed and any(key in changed[0] for key in ("sample", "seed"))


def test_a_second_process_cannot_resume_a_folder_in_use(tmp_path):
    bench = open_simulated_bench("type-A")
    seq_path = helpers.write(tmp_path, FOUR)
    folder = RunFolder.create(tmp_path / "run", sequence(FOUR, bench), bench.header())  # held by this process
    try:
        proc = subprocess.run([sys.executable, "-m", "stfmr.app", "run", str(seq_path), "--sim", "type-A",
                               "--out", str(tmp_path / "run"), "--resume", "--quiet"],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and "in use by another stfmr process" in proc.stderr
        assert read_manifest(tmp_path / "run")["entries"] == []
    finally:
        folder.close()
    assert run_sequence(sequence(FOUR, bench), bench, tmp_path / "run", resume=True).state == "finished"


# -- writing ---------------------------------------------------------------------------------------


def test_a_full_disk_fails_the_spectrum_stops_the_run_and_resume_measures_it_again(tmp_path, monkeypatch):
    bench = open_simulated_bench("type-A")
    out = tmp_path / "run"
    written = {"rows": 0}
    real = recording.write_row

    def filling(fh, line):
        written["rows"] += 1
        if 30 <= written["rows"] < 40:  # the disk is full for a while, during the second spectrum
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fh, line)

    monkeypatch.setattr(recording, "write_row", filling)
    outcome = run_sequence(sequence(FOUR, bench), bench, out)
    assert outcome.state == "failed" and "No space left on device" in outcome.error
    entries = read_manifest(out)["entries"]
    assert [e["status"] for e in entries] == ["complete", "failed"]
    assert helpers.data_rows(out / entries[1]["file"]) == 8  # rows 22-29 reached the disk and stay on it
    helpers.assert_safe_end(bench)
    monkeypatch.setattr(recording, "write_row", real)  # space was freed
    assert run_sequence(sequence(FOUR, bench), bench, out, resume=True).state == "finished"
    entries = read_manifest(out)["entries"]
    complete = [e for e in entries if e["status"] == "complete"]
    assert sorted(e["key"] for e in complete) == [f"s1-{k}" for k in range(4)]
    assert all(helpers.data_rows(out / e["file"]) == 21 for e in complete)
    assert entries[1]["status"] == "incomplete" and ".incomplete" in entries[1]["file"]


def test_a_ctrl_c_between_two_tasks_is_an_abort_not_a_finish(tmp_path):
    bench = open_simulated_bench("type-A")

    class InterruptBetween(ExecutorObserver):
        def task_finished(self, task, outcome):
            if task.key == "s1-1":
                _thread.interrupt_main()  # lands between this task and the next

    outcome = run_sequence(sequence(FOUR, bench), bench, tmp_path / "run", observer=InterruptBetween())
    manifest = read_manifest(tmp_path / "run")
    assert outcome.state == "aborted" and manifest["state"] == "aborted"
    assert [e["status"] for e in manifest["entries"]] == ["complete", "complete"]
    helpers.assert_safe_end(bench)


def test_the_manifest_grows_linearly_with_the_run(tmp_path, monkeypatch):
    writes = {"manifest": 0}
    real = run_folder.write_json_atomic

    def counting(path, data):
        writes["manifest"] += 1
        real(path, data)

    monkeypatch.setattr(run_folder, "write_json_atomic", counting)
    text = FOUR.replace("angles_deg = [30, 60, 120, 150]", "angles_deg = {start = 15, stop = 165, step = 10}")
    bench = open_simulated_bench("type-A")
    assert run_sequence(sequence(text, bench), bench, tmp_path / "run").state == "finished"
    journal = (tmp_path / "run" / JOURNAL).read_text().splitlines()
    assert json.loads(journal[0]) == {"journal": "stfmr-run/2", "SIMULATED": True}  # says so, like every file
    journal = journal[1:]
    assert len(journal) == 2 * 16  # a line when each task starts and one when it ends
    assert writes["manifest"] == 2  # created, then the final state: never once per task
    sizes = [len(line) for line in journal[1::2]]
    assert max(sizes) < 2 * min(sizes)  # each line holds one entry, not the run so far


# -- kills -----------------------------------------------------------------------------------------


def kill_at(tmp_path, target: str, n: int) -> int:
    """Fork; the child runs FOUR and dies (as by SIGKILL: no cleanup) at the n-th call of ``target``."""
    seq_text = FOUR
    pid = os.fork()
    if pid == 0:  # the child
        try:
            bench = open_simulated_bench("type-A")
            module, name = target.rsplit(".", 1)
            owner = {"os": os, "run_folder": run_folder, "RunFolder": RunFolder}[module]
            real = getattr(owner, name)
            calls = {"n": 0}

            def dying(*args, **kwargs):
                calls["n"] += 1
                if calls["n"] == n:
                    os.kill(os.getpid(), signal.SIGKILL)
                return real(*args, **kwargs)

            setattr(owner, name, dying)
            run_sequence(parse_sequence(seq_text, "night.toml", bench.limits), bench, tmp_path / "run")
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return status


KILL_POINTS = ([("os.rename", 1), ("run_folder.write_json_atomic", 1)]
               + [("RunFolder._append", n) for n in range(1, 9)]
               + [("os.replace", n) for n in (1, 2)])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("target, n", KILL_POINTS, ids=[f"{t}#{n}" for t, n in KILL_POINTS])
def test_a_kill_at_any_point_leaves_a_folder_that_resumes_or_a_clean_start(tmp_path, target, n):
    status = kill_at(tmp_path, target, n)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "the kill point was not reached"
    bench = open_simulated_bench("type-A")
    out = tmp_path / "run"
    resume = (out / MANIFEST).exists()
    if not resume:  # killed while the folder was being created: nothing was measured, start again
        assert not out.exists() or not any(out.iterdir())
    outcome = run_sequence(sequence(FOUR, bench), bench, out, resume=resume)
    assert outcome.state == "finished"
    complete = [e for e in read_manifest(out)["entries"] if e["status"] == "complete"]
    assert sorted(e["key"] for e in complete) == [f"s1-{k}" for k in range(4)]  # each spectrum exactly once
    assert all(helpers.data_rows(out / e["file"]) == 21 for e in complete)
    assert not list(tmp_path.glob(".run.creating-*"))  # a killed creation's draft was cleaned up


# -- no way out through files -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../victim/secret.csv", "/etc/passwd", "..", "sub/file.csv"])
def test_a_manifest_naming_a_file_outside_the_folder_is_refused(tmp_path, name):
    import threading

    bench = open_simulated_bench("type-A")
    stop = threading.Event()
    out = tmp_path / "run"
    run_sequence(sequence(FOUR, bench), bench, out, stop=stop, observer=StopAfter(1, stop))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "secret.csv").write_text("secret")
    journal = out / JOURNAL
    lines = journal.read_text().splitlines()
    entry = json.loads(lines[-1])["entry"]
    entry.update(status="running", file=name)
    journal.write_text("\n".join(lines + [json.dumps({"entry": entry})]) + "\n")
    with pytest.raises(RunFolderError, match="not a plain file name inside the run folder"):
        run_sequence(sequence(FOUR, bench), bench, out, resume=True)
    assert (victim / "secret.csv").read_text() == "secret"
    assert cli.main(["analyze", str(out), "--json"]) == cli.EXIT_BAD_INPUT


def test_a_kill_as_a_task_ends_leaves_it_unfinished_in_the_journal(tmp_path):
    """The kill points above are real: the end of the second task never reached the journal."""
    status = kill_at(tmp_path, "RunFolder._append", 4)  # killed as the second task ends
    assert os.WIFSIGNALED(status)
    entries = read_manifest(tmp_path / "run")["entries"]
    assert entries[-1]["status"] == "running"  # the record of its end never reached the journal
    assert Path(tmp_path / "run" / entries[-1]["file"]).exists()
