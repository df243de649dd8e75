"""A sequence's target in the GUI: the same executor stops the queue at it, or queues its rounds, as ``stfmr run`` does."""

import pytest

pytest.importorskip("pytestqt")

from stfmr.analysis.run_manifest import COMPLETE, read_manifest  # noqa: E402
from stfmr.app import cli  # noqa: E402
from stfmr.app.gui.window import StfmrWindow  # noqa: E402
from stfmr.instruments.bench import open_simulated_bench  # noqa: E402
from stfmr.procedures.sequence import parse_sequence  # noqa: E402

from support import runs as helpers

#: AMR, a precise rf calibration, two frequencies, a 4-angle sweep marked for the target's rounds
STEPS = helpers.TARGET_STEPS.replace("DESIGN", "precision")

LAST_SPECTRUM = helpers.TARGET_LAST_SPECTRUM


@pytest.fixture
def window(qtbot, tmp_path):
    bench = open_simulated_bench("type-A")
    win = StfmrWindow(bench, tmp_path / "data", bench.virtual.sample.metadata(), poll_ms=0)
    qtbot.addWidget(win)
    yield win
    win.close()
    bench.close()


def idle(win) -> bool:
    return not win.manager.is_running() and not win.manager.experiments.has_next()


def run_state(win) -> str | None:
    return win.runs[-1].folder.header.get("state") if win.runs else None


def test_a_gui_run_stops_at_its_target_and_leaves_the_queued_tasks_unmeasured(window, qtbot, tmp_path):
    seq = helpers.write(tmp_path, "target = {xi_DL_E_rel = 0.5}\n" + helpers.SAMPLE + STEPS + LAST_SPECTRUM)
    assert window.queue_sequence(seq) == 1 + 1 + 2 + 4 + 1  # AMR, calibration, 2 frequencies, 4 angles, 1 spectrum
    qtbot.waitUntil(lambda: idle(window) and run_state(window) == "finished", timeout=120000)
    folder = window.run_folder
    manifest = read_manifest(folder)
    record = manifest["target"]
    assert record["stopped"] == "target reached" and record["after_step"] == 4 and record["rounds"] == []
    assert record["xi_DL_E_rel"] <= 0.5
    assert "error" not in manifest
    # the angle sweep (step 4) reached the target: the queued 12 GHz spectrum (step 5) never started
    assert {e["step"] for e in manifest["entries"]} == {1, 2, 3, 4}
    assert all(e["status"] == COMPLETE for e in manifest["entries"])
    assert not window.manager.experiments.has_next() and window.abort_button.text() == "Abort"
    said = f"target reached: xi_DL^E relative error {record['xi_DL_E_rel']:.3g} <= 0.5"
    assert said in window.statusBar().currentMessage()
    log_text = window.log_widget.view.toPlainText()
    assert "target reached after step 4" in log_text and "1 queued task not run" in log_text
    assert window.message.text() == ""  # a run that reached its target is no fault
    helpers.assert_safe_end(window.bench)

    # resumed in another window, as `stfmr run --resume` would: nothing more to measure
    window.close()  # releases the folder
    other = StfmrWindow(window.bench, tmp_path / "data", poll_ms=0)
    qtbot.addWidget(other)
    try:
        assert other.resume_run_folder(folder) == 0
        assert not other.manager.experiments.has_next() and not other.manager.is_running()
        assert said in other.statusBar().currentMessage()
    finally:
        other.close()
    again = read_manifest(folder)
    assert again["state"] == "finished" and len(again["entries"]) == len(manifest["entries"])
    assert again["target"]["stopped"] == "target reached"


def test_a_gui_run_short_of_its_target_queues_a_round_that_stfmr_run_resumes(window, qtbot, tmp_path):
    text = "target = {xi_DL_E_rel = 1e-6, max_rounds = 1}\n" + helpers.SAMPLE + STEPS
    seq = helpers.write(tmp_path, text)
    assert window.queue_sequence(seq) == 1 + 1 + 2 + 4
    qtbot.waitUntil(lambda: idle(window) and run_state(window) == "finished", timeout=120000)
    folder = window.run_folder
    manifest = read_manifest(folder)
    record = manifest["target"]
    assert record["stopped"].startswith("target not reached (") and record["stopped"].endswith("> 1e-06) after 1 rounds")
    assert [(r["round"], r["steps"], r["kinds"]) for r in record["rounds"]] == [(1, [5], ["angle_sweep"])]
    # the round's angle sweep was queued and measured: 4 more spectra, every task complete
    round_entries = [e for e in manifest["entries"] if e["step"] == 5]
    assert len(round_entries) == 4 and {e["kind"] for e in manifest["entries"] if e["step"] == 5} == {"angle_sweep"}
    assert all(e["status"] == COMPLETE for e in manifest["entries"]) and len(manifest["entries"]) == 12
    # the round went into the folder's sequence, as `stfmr run` appends it
    stored = parse_sequence((folder / "sequence.toml").read_text(), "stored")
    assert stored.sha256 == manifest["sequence_sha256"] and manifest["tasks"] == len(stored.tasks) == 12
    assert record["stopped"] in window.statusBar().currentMessage()
    window.close()  # releases the folder
    # `stfmr run --resume` with the original file takes the GUI's round as its own: nothing left to measure
    assert cli.main(["run", str(seq), "--sim", "type-A", "--out", str(folder), "--resume", "--quiet"]) == 0
    again = read_manifest(folder)
    assert again["state"] == "finished" and len(again["entries"]) == 12
    assert again["target"]["stopped"].endswith("after 1 rounds") and len(again["target"]["rounds"]) == 1
