"""A past run folder opened in the window looks as the window looked when the run ended (pytest-qt, offscreen)."""


import numpy as np
import pytest

pytest.importorskip("pytestqt")

from pymeasure.experiment import Procedure  # noqa: E402
from PyQt6 import QtWidgets  # noqa: E402

from stfmr.analysis.run_manifest import read_manifest  # noqa: E402
from stfmr.app.gui.panels import BRANCH_COLOURS  # noqa: E402
from stfmr.app.gui.window import StfmrWindow  # noqa: E402
from stfmr.instruments.bench import open_simulated_bench  # noqa: E402
from stfmr.procedures.executor import run_sequence  # noqa: E402
from stfmr.procedures.sequence import parse_sequence  # noqa: E402

from support import runs as helpers

#: four angles, both field branches, 21 points each, then a short dc-bias sweep
SEQUENCE = helpers.FOUR_SPECTRA + "both_branches = true\n" + helpers.DC_BIAS_STEP


@pytest.fixture
def open_window(qtbot, tmp_path):
    """Makes the window once the run is measured: its Log tab hears every stfmr record of this process."""
    made = []

    def make() -> StfmrWindow:
        bench = open_simulated_bench("type-A")
        win = StfmrWindow(bench, tmp_path / "data", bench.virtual.sample.metadata(), poll_ms=0)
        win.resize(1400, 900)
        qtbot.addWidget(win)
        win.show()
        made.append((win, bench))
        return win

    yield make
    for win, bench in made:
        win.close()
        bench.close()


def browser_rows(win) -> list[tuple[str, str, int]]:
    """(file name, status text, progress %) of every row of the browser."""
    browser = win.browser
    rows = []
    for k in range(browser.topLevelItemCount()):
        item = browser.topLevelItem(k)
        rows.append((item.text(1), item.text(3), item.progressbar.value()))
    return rows


def legend_clear_of_data(plot) -> bool:
    item = plot.getPlotItem()
    return not item.legend.sceneBoundingRect().intersects(item.vb.sceneBoundingRect())


def test_an_opened_run_shows_its_fits_progress_log_branches_and_error_bars(open_window, qtbot, tmp_path):
    assert helpers.measure(SEQUENCE, tmp_path / "run").outcome.state == "finished"
    manifest = read_manifest(tmp_path / "run")
    window = open_window()
    assert window.open_run_folder(tmp_path / "run") == 7
    qtbot.wait(10)

    # the readout holds the last spectrum's fits, as recorded when it was measured
    text = window.spectra_panel.readout.text()
    assert "waiting" not in text
    for fit in manifest["entries"][-1]["fits"]:
        assert f"H_r = {fit['H_r']['value']:.3f} ± {fit['H_r']['stderr']:.3f} mT" in text
    # every task finished, at 100 %
    rows = browser_rows(window)
    assert [name for name, _, _ in rows] == [e["file"] for e in manifest["entries"]]
    assert {(status, progress) for _, status, progress in rows} == {("Finished", 100)}
    # the Log tab holds the run's own log (stfmr's records, as the tab shows them live)
    log_text = window.log_widget.view.toPlainText()
    assert "7 of 7 tasks complete" in log_text and "fit -1 branch at 10 GHz, 150 deg" in log_text
    assert "Worker thread started" not in log_text  # pymeasure's lines were never in the tab
    assert "opened run: finished, 7 of 7 tasks complete" in window.statusBar().currentMessage()
    assert window.message.text() == ""

    # each spectrum's -H branch in a colour of its own, +H on the curve itself
    curve = window.spectra_panel.curves[0]
    x_pos, x_neg = curve.getData()[0], curve.negative.getData()[0]
    assert len(x_pos) == len(x_neg) == 21 and (x_pos > 0).all() and (x_neg < 0).all()
    assert curve.negative.opts["pen"].color() != curve.opts["pen"].color()

    # the angular plot: +H and -H in their colours, each point with an error bar of +- one stderr
    analysis = window.analysis
    for comp in ("S", "A"):
        for polarity, drawn in window.angular_panel.plots[comp]["branches"].items():
            x, y = drawn["points"].getData()
            expected = {((s.angle_deg if polarity == 1 else s.angle_deg + 180) % 360): fit
                        for s in analysis.run.spectra for fit in analysis.fits[s.file]
                        if fit.polarity == polarity and s.frequency_GHz == 10.0 and s.dc_current_mA == 0}
            # four angles (+H also the 45 deg spectrum at 0 mA of the dc-bias sweep), no dc-biased spectrum
            assert sorted(x) == sorted(expected) and len(expected) == {1: 5, -1: 4}[polarity]
            bars = drawn["errors"].opts
            assert np.allclose(bars["height"], [2 * expected[a].stderr[f"V_{comp}"] for a in x])
            assert (bars["height"] > 0).all()
            assert pg_colour(drawn["points"].opts["symbolBrush"]) == pg_colour(BRANCH_COLOURS[polarity])
    # no legend over the data
    plots = [window.spectra_panel.plot, window.dc_bias_panel.plot] + \
        [window.angular_panel.plots[c]["widget"] for c in ("S", "A")]
    for plot in plots:
        assert legend_clear_of_data(plot)
    # one "Instruments" title: the dock's
    titled = [w for w in window.findChildren(QtWidgets.QGroupBox) if w.title() == "Instruments"]
    docks = [d for d in window.findChildren(QtWidgets.QDockWidget) if d.windowTitle() == "Instruments"]
    assert titled == [] and len(docks) == 1 and docks[0].widget() is window.status_panel


def pg_colour(spec) -> tuple[int, int, int]:
    import pyqtgraph as pg

    return pg.mkBrush(spec).color().getRgb()[:3]


def test_an_opened_failed_run_shows_where_it_stopped(open_window, tmp_path):
    bench = open_simulated_bench("type-A", faults={"fault": [{"kind": "timeout", "instrument": "SR830",
                                                              "after_queries": 150}]})
    sequence = parse_sequence(helpers.ANGLES, "angles.toml", bench.limits)
    assert run_sequence(sequence, bench, tmp_path / "run", progress=None).state == "failed"
    bench.close()
    entries = read_manifest(tmp_path / "run")["entries"]
    failed = entries[-1]
    assert failed["status"] == "failed"
    window = open_window()
    assert window.open_run_folder(tmp_path / "run") == len(entries)
    rows = browser_rows(window)
    assert [(status, progress) for _, status, progress in rows[:-1]] == [("Finished", 100)] * (len(entries) - 1)
    name, status, progress = rows[-1]
    written = helpers.data_rows(tmp_path / "run" / failed["file"])
    assert (name, status) == (failed["file"], "Failed")
    assert progress == 100 * written // (2 * 61) and 0 < progress < 100  # both branches of 61 points planned
    assert window.manager.experiments.queue[-1].procedure.status == Procedure.FAILED
    assert "run failed" in window.message.text() and "SR830" in window.message.text()
    assert "opened run: failed" in window.statusBar().currentMessage()
    assert "SR830" in window.log_widget.view.toPlainText()


def test_a_folder_without_a_log_opens_with_an_empty_log_tab(open_window, tmp_path):
    assert helpers.measure(helpers.ONE_SPECTRUM, tmp_path / "run").outcome.state == "finished"
    (tmp_path / "run" / "run.log").unlink()
    window = open_window()
    assert window.open_run_folder(tmp_path / "run") == 1
    assert window.log_widget.view.toPlainText() == ""
    assert "H_r = " in window.spectra_panel.readout.text()


def test_each_branch_of_a_spectrum_is_its_own_item_split_by_the_set_field(qtbot):
    import pyqtgraph as pg

    from stfmr.app.gui.panels import draw_spectrum

    curve, negative = pg.PlotDataItem(symbol="o"), pg.PlotDataItem(symbol="t")
    set_field = np.concatenate([np.linspace(0.0, 20.0, 5), -np.linspace(0.0, 20.0, 5)])  # a sweep from 0 mT
    measured = set_field + np.array([-0.02, 0, 0, 0, 0, 0.03, 0, 0, 0, 0])  # gaussmeter noise around zero
    voltage = np.arange(10.0)
    draw_spectrum(curve, negative, measured, voltage, set_field)
    assert list(curve.getData()[1]) == [0, 1, 2, 3, 4] and list(negative.getData()[1]) == [5, 6, 7, 8, 9]
    draw_spectrum(curve, negative, measured[:5], voltage[:5], set_field[:5])  # one branch: -H left empty
    assert len(curve.getData()[0]) == 5 and negative.getData()[0] is None
    # live, while the -H branch grows, the +H points already shown are not set again
    assert draw_spectrum(curve, negative, measured[:5], voltage[:5], set_field[:5]) == 5
    shown = curve.getData()[1]
    assert draw_spectrum(curve, negative, measured, voltage + 1, set_field, positive_shown=5) == 5
    assert curve.getData()[1] is shown and list(negative.getData()[1]) == [6, 7, 8, 9, 10]
