"""The operator window on the virtual bench, driven with pytest-qt (offscreen)."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PyQt6 import QtCore, QtGui  # noqa: E402

from stfmr.analysis.characterize import analyze_run  # noqa: E402
from stfmr.analysis.run_reader import read_run  # noqa: E402
from stfmr.app.gui.window import StfmrWindow  # noqa: E402
from stfmr.instruments.bench import open_simulated_bench  # noqa: E402

from support import runs as helpers

SEQUENCE = helpers.SAMPLE + """
[[step]]
kind = "amr"
field_mT = 300.0
angles_deg = {start = 0, stop = 360, step = 20}
[[step]]
kind = "rf_calibration"
frequencies_GHz = [10.0]
field_mT = 350.0
powers_dBm = {start = 0, stop = 15, points = 4}
[[step]]
kind = "frequency_sweep"
frequencies_GHz = [8, 10, 12]
power_dBm = 15.0
window_mT = 80.0
mu0_Meff_T = 0.65
field_points = 81
[[step]]
kind = "angle_sweep"
frequency_GHz = 10.0
power_dBm = 15.0
angles_deg = {start = 15, stop = 165, step = 30}
window_mT = 60.0
mu0_Meff_T = 0.65
field_points = 81
both_branches = true
"""


@pytest.fixture
def window(qtbot, tmp_path):
    bench = open_simulated_bench("type-A")
    win = StfmrWindow(bench, tmp_path / "data", bench.virtual.sample.metadata(), poll_ms=200)
    win.resize(1400, 900)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    bench.close()


def shown_rows(curve) -> int:
    """Rows the panel has drawn. Never read ``results.data`` of a running file from a test: pymeasure
    rewrites the header (Metadata) after startup, and a read torn by that rewrite poisons its cache."""
    return getattr(curve, "_shown_rows", 0)


def idle(win) -> bool:
    return not win.manager.is_running() and not win.manager.experiments.has_next()


def not_blank(path: Path) -> bool:
    image = QtGui.QImage(str(path))
    pixels = np.array([image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)])
    return image.width() > 200 and len(np.unique(pixels)) > 20


def test_a_whole_characterization_through_the_gui_matches_the_analysis_core(window, qtbot, tmp_path):
    seq = helpers.write(tmp_path, SEQUENCE)
    assert window.queue_sequence(seq) == 11
    shots = tmp_path / "shots"
    shots.mkdir()
    qtbot.waitUntil(lambda: any(shown_rows(c) > 10 for c in window.spectra_panel.curves), timeout=60000)
    window.grab().save(str(shots / "during.png"))
    qtbot.waitUntil(lambda: idle(window), timeout=120000)
    qtbot.waitUntil(lambda: window.analysis is not None and len(window.analysis.run.spectra) == 9
                    and "ξ_DL^E" in window.angular_panel.efficiencies.text(), timeout=20000)
    window.grab().save(str(shots / "after.png"))
    assert not_blank(shots / "during.png") and not_blank(shots / "after.png")

    # one curve per spectrum, the live fit read out for both branches of the last one
    assert len(window.spectra_panel.curves) == 3 + 6
    assert "V_S =" in window.spectra_panel.readout.text() and "− branch" in window.spectra_panel.readout.text()
    # the GUI's numbers are the analysis core's for the same files
    reference = analyze_run(read_run(window.run_folder)).to_dict()
    shown = window.analysis.to_dict()
    assert shown["xi_DL_E"] == pytest.approx(reference["xi_DL_E"])
    assert shown["xi_FL_Oe_E"] == pytest.approx(reference["xi_FL_Oe_E"])
    assert f"{reference['xi_DL_E']['value']:.5g}" in window.angular_panel.efficiencies.text()
    assert reference["xi_DL_E"]["value"] == pytest.approx(32700, rel=0.05)
    branches = window.angular_panel.plots["S"]["branches"]
    # 6 angles, both branches, and the 10 GHz, 45 deg spectrum of the frequency sweep (+H only)
    assert [len(branches[polarity]["points"].getData()[0]) for polarity in (1, -1)] == [7, 6]
    # measured live, each spectrum of the angle sweep shows its -H branch in a colour of its own
    curve = window.spectra_panel.curves[-1]
    assert len(curve.negative.getData()[0]) > 0 and (curve.getData()[0] > 0).all()
    assert curve.negative.opts["pen"].color() != curve.opts["pen"].color()
    assert window.frequency_panel.items["hr_fit"].getData()[0] is not None
    helpers.assert_safe_end(window.bench)


def test_abort_mid_sweep_leaves_rf_off_magnet_at_zero_and_keeps_the_data(window, qtbot):
    procedure_points = 2001
    for angle in (30.0, 60.0):
        p = window.make_procedure()
        p.angle_deg, p.field_points, p.field_start_mT, p.field_stop_mT = angle, procedure_points, 100.0, 200.0
        window.queue(p)
    qtbot.waitUntil(lambda: window.manager.is_running() and len(window.spectra_panel.curves) > 0
                    and shown_rows(window.spectra_panel.curves[0]) > 20, timeout=30000)
    qtbot.mouseClick(window.abort_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.manager.is_running(), timeout=30000)
    helpers.assert_safe_end(window.bench)
    qtbot.waitUntil(lambda: "magnet at zero" in window.status_panel.labels["safety"].text(), timeout=5000)
    curve = window.spectra_panel.curves[0]
    rows = len(curve.results.data)
    assert 0 < rows < procedure_points
    assert helpers.data_rows(Path(curve.results.data_filename)) == rows  # partial data kept on disk
    window.spectra_panel.refresh()
    assert len(curve.getData()[0]) == rows  # and shown
    assert window.abort_button.text() == "Resume"  # the queue is paused, not lost


def test_a_fault_is_a_message_in_the_window_not_a_traceback(qtbot, tmp_path):
    bench = open_simulated_bench("type-A", faults={"fault": [{"kind": "timeout", "instrument": "SR830",
                                                              "after_queries": 40}]})
    win = StfmrWindow(bench, tmp_path / "data", bench.virtual.sample.metadata(), poll_ms=0)
    qtbot.addWidget(win)
    win.queue()
    qtbot.waitUntil(lambda: "failed" in win.message.text(), timeout=30000)
    assert "SR830" in win.message.text() and "Traceback" not in win.message.text()
    helpers.assert_safe_end(bench)
    win.close()
    bench.close()


def test_a_past_run_folder_is_shown_as_it_was(window, qtbot, tmp_path):
    assert helpers.measure(SEQUENCE, tmp_path / "run", name="s.toml").outcome.state == "finished"
    assert window.open_run_folder(tmp_path / "run") == 11
    assert len(window.spectra_panel.curves) == 9
    reference = analyze_run(read_run(tmp_path / "run")).to_dict()
    assert window.analysis.to_dict()["xi_DL_E"] == pytest.approx(reference["xi_DL_E"])
    paths = window.export_plots(tmp_path / "export")
    assert {p.suffix for p in paths} == {".png", ".svg"} and all(p.stat().st_size > 1000 for p in paths)


def test_bad_input_is_refused_in_the_window(window, tmp_path):
    bad = helpers.write(tmp_path, helpers.SAMPLE + '[[step]]\nkind = "field_sweep"\nfrequency_GHz = 10.0\n'
                        'power_dBm = 30.0\nfield_start_mT = 50.0\nfield_stop_mT = 100.0\n')
    assert window.queue_sequence(bad) == 0
    assert "rf power 30 dBm" in window.message.text()
    assert not window.manager.experiments.has_next()


def test_the_sweep_buttons_queue_a_centred_spectrum_per_value(window, qtbot):
    window.window_edit.setText("60")
    window.meff_edit.setText("0.65")
    assert window.queue_angle_sweep([30.0, 60.0]) == 2
    window.freqs_edit.setText("8:12:2")
    assert window.queue_frequency_sweep() == 3
    qtbot.waitUntil(lambda: idle(window), timeout=60000)
    qtbot.waitUntil(lambda: window.analysis is not None and len(window.analysis.fits) == 5, timeout=20000)
    procedures = [e.procedure for e in window.manager.experiments.queue]
    assert [p.angle_deg for p in procedures] == [30.0, 60.0, 45.0, 45.0, 45.0]
    assert [p.frequency_GHz for p in procedures] == [10.0, 10.0, 8.0, 10.0, 12.0]
    for p, fit in ((p, window.analysis.fits[Path(e.results.data_filename).name][0])
                   for p, e in zip(procedures, window.manager.experiments.queue)):
        assert p.field_stop_mT - p.field_start_mT == pytest.approx(60.0)
        assert p.field_start_mT < fit.values["H_r"] < p.field_stop_mT  # no spectrum wasted off resonance
    window.angles_edit.setText("0:90:-15")
    assert window.queue_angle_sweep() == 0 and "must be positive" in window.message.text()


def test_frequency_scans_plot_against_frequency_and_a_magnet_calibration_writes_its_table(window, qtbot, tmp_path):
    examples = Path(__file__).resolve().parents[2] / "examples" / "sequences"
    assert window.queue_sequence(examples / "frequency-scan.toml") == 1
    assert window.queue_sequence(examples / "magnet-calibration.toml") == 1
    qtbot.waitUntil(lambda: idle(window), timeout=120000)
    qtbot.waitUntil(lambda: all(getattr(c, "_settled", False) for c in window.spectra_panel.curves), timeout=20000)
    (curve,) = window.spectra_panel.curves  # the calibration has no V_FMR: no spectrum curve
    # GHz; both branches over the same frequencies, each its own item (+H on the curve, -H in a darker shade)
    for item in (curve, curve.negative):
        x, _ = item.getData()
        assert x.min() == pytest.approx(8.0) and x.max() == pytest.approx(12.4) and np.isfinite(x).all()
    assert curve.negative.opts["pen"].color() != curve.opts["pen"].color()
    table = window.run_folder / "coil_calibration.csv"
    qtbot.waitUntil(table.exists, timeout=10000)
    assert "Branch" in table.read_text()


def test_a_dc_bias_sweep_is_queued_interleaved_checked_and_shown(window, qtbot):
    assert window.queue_dc_bias_sweep([0.0, 2.0, 4.0]) == 0  # one polarity
    assert "both polarities" in window.message.text()
    assert window.queue_dc_bias_sweep([-12.0, 0.0, 12.0]) == 0  # beyond the 10 mA bench limit
    assert "limit of +-10 mA" in window.message.text() and not window.manager.experiments.has_next()
    window.window_edit.setText("60")
    window.meff_edit.setText("0.65")
    assert window.queue_dc_bias_sweep([-8.0, 0.0, 8.0]) == 3
    qtbot.waitUntil(lambda: idle(window), timeout=60000)
    procedures = [e.procedure for e in window.manager.experiments.queue]
    assert [p.dc_current_mA for p in procedures] == [0.0, 8.0, -8.0]
    qtbot.waitUntil(lambda: window.analysis is not None and len(window.analysis.fits) == 3, timeout=20000)
    # without an AMR there is no R for xi, which the panel says; the linewidths are fitted and shown
    (group,) = window.analysis.dc_bias
    assert group.xi_DL_E is None and [b.polarity for b in group.branches] == [1]
    assert group.branches[0].fit.values["slope_mT_per_mA"] < 0  # anti-damped at +I on +H, phi = 45 deg
    x, _ = window.dc_bias_panel.items[1][0].getData()
    assert sorted(x) == [-8.0, 0.0, 8.0]
    assert "needs R" in window.dc_bias_panel.result.text() and "dα/dI" in window.dc_bias_panel.result.text()


def test_a_gui_run_is_a_run_folder_that_stfmr_run_resumes(qtbot, tmp_path):
    from stfmr.analysis.run_manifest import read_manifest
    from stfmr.app import cli

    bench = open_simulated_bench("type-A")
    win = StfmrWindow(bench, tmp_path / "data", bench.virtual.sample.metadata(), poll_ms=0)
    qtbot.addWidget(win)
    win.show()
    step = {"kind": "angle_sweep", "frequency_GHz": 10.0, "power_dBm": 15.0, "angles_deg": [30.0, 60.0, 120.0],
            "window_mT": 60.0, "mu0_Meff_T": 0.65, "field_points": 1001}
    assert len(win.submit_steps([step])) == 3  # what the angle-sweep button queues, with many points
    qtbot.waitUntil(lambda: len(win.spectra_panel.curves) > 0 and shown_rows(win.spectra_panel.curves[0]) > 5,
                    timeout=30000)
    qtbot.mouseClick(win.abort_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not win.manager.is_running(), timeout=30000)
    folder = win.run_folder
    win.close()  # records the run's state and releases the folder
    bench.close()
    manifest = read_manifest(folder)
    assert manifest["state"] == "aborted" and manifest["SIMULATED"] is True
    assert (folder / "sequence.toml").read_text().count("\n[[step]]") == 1  # the sweep, as a sequence step
    assert cli.main(["run", str(folder / "sequence.toml"), "--sim", "type-A", "--out", str(folder), "--resume",
                     "--quiet"]) == 0
    complete = [e for e in read_manifest(folder)["entries"] if e["status"] == "complete"]
    assert sorted(e["parameters"]["angle_deg"] for e in complete) == [30.0, 60.0, 120.0]
    assert analyze_run(read_run(folder)).fits  # and it analyses like any run folder
