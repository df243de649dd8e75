"""The operator's main window: pymeasure's inputs, browser and log, stfmr's executor, ST-FMR panels.

Every measurement is a task of a run folder, run by the same executor as
``stfmr run`` (:mod:`stfmr.app.gui.run_queue`): a single spectrum from the
inputs, an angle, frequency or dc-bias sweep (each a sequence step appended to
the session's run folder), every task of a sequence file (a run folder of its
own), or what is left of a past run folder (Resume run folder). Each finished
task refreshes the analysis of its run folder (the same ``analyze_run`` as
``stfmr analyze``) and with it the angular, frequency and model panels.

Abort (pymeasure's button) stops the running spectrum at its next point; the
procedure then switches the rf off, ramps the magnet to zero and verifies both,
and the status line says so while it ramps. The queue pauses; Resume measures
the stopped spectrum again and continues. A safe ending that could not be
verified stops the queue and says, in red, what to switch off by hand. Errors
appear in the status line, a message bar and the log, never as a traceback in
a terminal.
"""

from __future__ import annotations

import html
import logging
import math
import threading
from pathlib import Path
from typing import Any

import numpy as np
from pymeasure.display.widgets import LogWidget
from pymeasure.display.windows import ManagedWindowBase
from pymeasure.experiment import Procedure
from PyQt6 import QtCore, QtGui, QtWidgets

from stfmr.analysis.characterize import SampleAnalysis, analyze_run
from stfmr.analysis.run_manifest import FINISHED, MANIFEST, RUNNING, UNSAFE, load_manifest
from stfmr.analysis.run_reader import RunData, read_run
from stfmr.analysis.sample import SampleMetadata
from stfmr.app.gui.panels import AngularPanel, DcBiasPanel, FrequencyPanel, ModelPanel, SpectrumPanel
from stfmr.app.gui.past_results import load_results, progress_percent
from stfmr.app.gui.run_log import read_run_log
from stfmr.app.gui.run_queue import PROCEDURE_STATUS, ExecutorManager, GuiRun, session_sequence
from stfmr.instruments.clock import VirtualClock
from stfmr.instruments.roles import BenchLike
from stfmr.procedures.executor import RunOutcome
from stfmr.procedures.field_sweep import FieldSweep
from stfmr.procedures.sequence import grid, load_sequence
from stfmr.procedures.target import MANIFEST_KEY as TARGET_KEY
from stfmr.procedures.target import REACHED as TARGET_REACHED

log = logging.getLogger(__name__)

INPUTS = ["frequency_GHz", "power_dBm", "angle_deg", "field_start_mT", "field_stop_mT", "field_points",
          "both_branches", "dc_current_mA", "dwell_s", "readings_per_point"]


class Bridge(QtCore.QObject):
    """Carries the background analysis into the GUI thread (a queued signal)."""

    analysis = QtCore.pyqtSignal(int, object)


class RunLogWidget(LogWidget):
    """pymeasure's LogWidget with its own blink timer.

    pymeasure shares one class-level QTimer among every LogWidget, so a second
    window's warning makes the first one's blink slot run with no colour set
    (a TypeError in the event loop): each window gets its own timer here.
    """

    def __init__(self, name: str, parent: Any = None) -> None:
        self._blink_qtimer = QtCore.QTimer()
        super().__init__(name, parent)


class StatusPanel(QtWidgets.QWidget):
    """Instrument state, polled from the GUI thread through the role objects.

    Each role wrapper holds a lock for every exchange, so a poll never splits
    a measurement's query; a failing poll is shown, never raised. It has no
    title of its own: the "Instruments" dock that holds it has one.
    """

    FIELDS = ("field", "current", "rf", "angle", "lock-in", "safety")

    def __init__(self, bench: BenchLike, parent=None) -> None:
        super().__init__(parent)
        self.bench = bench
        self.labels = {name: QtWidgets.QLabel("–") for name in self.FIELDS}
        form = QtWidgets.QFormLayout(self)
        for name, label in self.labels.items():
            label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{name}:", label)
        tag = "SIMULATED bench" if bench.simulated else "real instruments"
        form.addRow("bench:", QtWidgets.QLabel(tag))

    def poll(self) -> None:
        b = self.bench
        self._show("field", lambda: f"set {b.field.field_for_current(b.field.current_setpoint()):.2f} mT, "
                                    f"measured {b.field.field_mT():.2f} mT")
        self._show("current", lambda: f"{b.field.current():.4f} A")
        self._show("rf", lambda: f"{b.rf.frequency_GHz():.4g} GHz, {b.rf.power_dBm():.1f} dBm, "
                                 f"{'ON' if b.rf.output_enabled() else 'off'}")
        rotator = b.rotator
        if rotator is not None:
            self._show("angle", lambda: f"{rotator.angle():.2f} deg" + (" (moving)" if rotator.is_moving() else ""))
        self._show("lock-in", lambda: f"sensitivity {b.detector.sensitivity():.3g} V"
                                      + (", OVERLOAD" if b.detector.overloaded() else ""))

    def _show(self, name: str, text) -> None:
        try:
            self.labels[name].setText(text())
        except Exception as exc:  # a status poll must never take the window down
            self.labels[name].setText(f"not answering ({exc})")


class StfmrWindow(ManagedWindowBase):
    """ST-FMR operator window on a bench (real or virtual).

    ``data_dir``: the folder that holds the GUI's run folders (one per session
    of queued measurements, one per sequence file).
    """

    def __init__(self, bench: BenchLike, data_dir: str | Path, sample: SampleMetadata | None = None,
                 poll_ms: int = 1000) -> None:
        self.bench = bench
        clock = getattr(getattr(bench, "virtual", None), "clock", None)
        if isinstance(clock, VirtualClock):
            clock.yield_s = 0.0  # a replay hands the GIL over at every virtual wait: Abort always answers
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.sample = sample
        self.runs: list[GuiRun] = []
        self._session: GuiRun | None = None
        self._closing = False
        self.spectra_panel = SpectrumPanel()
        self.angular_panel = AngularPanel()
        self.frequency_panel = FrequencyPanel()
        self.dc_bias_panel = DcBiasPanel()
        self.model_panel = ModelPanel()
        self.log_widget = RunLogWidget("Log")
        super().__init__(
            procedure_class=FieldSweep,
            inputs=INPUTS,
            displays=["frequency_GHz", "angle_deg", "power_dBm"],
            widget_list=(self.spectra_panel, self.angular_panel, self.frequency_panel, self.dc_bias_panel,
                         self.model_panel,
                         self.log_widget),
            enable_file_input=False,
        )
        self.setWindowTitle("stfmr" + (" — SIMULATED bench" if bench.simulated else ""))
        self._install_manager()
        self.bridge = Bridge()
        self.bridge.analysis.connect(self._show_analysis)
        self._generation = 0
        self.analysis: SampleAnalysis | None = None
        self._add_controls()
        self.status_panel = StatusPanel(bench)
        dock = QtWidgets.QDockWidget("Instruments", self)
        dock.setWidget(self.status_panel)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.message = QtWidgets.QLabel("")
        self.message.setStyleSheet("color: #a00000; font-weight: bold")
        self.message.setWordWrap(True)
        self.statusBar().addPermanentWidget(self.message, 1)
        self._log_handler = self.log_widget.handler
        logging.getLogger("stfmr").addHandler(self._log_handler)
        self.refresh_timer = QtCore.QTimer(self)
        self.refresh_timer.timeout.connect(self.spectra_panel.refresh)
        self.refresh_timer.start(100)
        self.poll_timer = QtCore.QTimer(self)
        self.poll_timer.timeout.connect(self.status_panel.poll)
        if poll_ms > 0:
            self.poll_timer.start(poll_ms)

    def _install_manager(self) -> None:
        """Put the executor-backed Manager in place of pymeasure's own (which would run workers itself)."""
        manager = ExecutorManager(self, self.widget_list, self.browser, log_level=self.log_level, parent=self)
        manager.abort_returned.connect(self.abort_returned)
        manager.queued.connect(self.queued)
        manager.running.connect(self.running)
        manager.finished.connect(self.finished)
        manager.finished.connect(self.on_finished)
        manager.failed.connect(self.on_failed)
        manager.aborted.connect(lambda experiment: self.show_status("aborted: making the bench safe"))
        manager.fitted.connect(self.spectra_panel.show_fits)
        manager.safety_status.connect(self.show_status)
        manager.run_ended.connect(self.on_run_ended)
        for signal in (manager.finished, manager.failed, manager.abort_returned):
            # show the safe end (rf off, magnet at zero) at once, not at the next poll
            signal.connect(lambda experiment: self.status_panel.poll())
        self.manager = manager

    # -- controls ----------------------------------------------------------------------------

    def _add_controls(self) -> None:
        box = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(box)
        self.angles_edit = QtWidgets.QLineEdit("0:345:15")
        self.freqs_edit = QtWidgets.QLineEdit("6:14:2")
        self.dc_edit = QtWidgets.QLineEdit("-8:8:2")
        self.window_edit = QtWidgets.QLineEdit("80")
        self.meff_edit = QtWidgets.QLineEdit("0.6")
        form.addRow("Angles start:stop:step (deg)", self.angles_edit)
        form.addRow("Frequencies start:stop:step (GHz)", self.freqs_edit)
        form.addRow("DC currents start:stop:step (mA)", self.dc_edit)
        form.addRow("Window (mT), centred on H_r", self.window_edit)
        form.addRow("μ0M_eff guess (T)", self.meff_edit)
        buttons = [("Queue angle sweep", self.queue_angle_sweep), ("Queue frequency sweep", self.queue_frequency_sweep),
                   ("Queue dc-bias sweep", self.queue_dc_bias_sweep),
                   ("Run sequence file…", self._choose_sequence), ("Resume run folder…", self._choose_resume),
                   ("Open run folder…", self._choose_run_folder), ("Export plots…", self._choose_export)]
        for text, slot in buttons:
            button = QtWidgets.QPushButton(text)
            button.clicked.connect(lambda checked=False, s=slot: s())
            form.addRow(button)
        dock = QtWidgets.QDockWidget("Sweeps and files", self)
        dock.setWidget(box)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, dock)

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text)
        self.status_panel.labels["safety"].setText(text)

    def show_error(self, text: str) -> None:
        self.message.setText(text)
        log.error(text)

    # -- queueing ------------------------------------------------------------------------------

    @property
    def run_folder(self) -> Path | None:
        """The run folder measured into last (None before anything was queued)."""
        return self.runs[-1].path if self.runs else None

    def queue(self, procedure: Procedure | None = None) -> None:
        """Queue one spectrum (pymeasure's Queue button: a field sweep from the inputs) in the session's run."""
        try:
            p = procedure or self.make_procedure()
            step = {"kind": "field_sweep", **{name: _plain(getattr(p, name)) for name in INPUTS}}
            self.submit_steps([step])
        except Exception as exc:  # bad input: say so in the window, queue nothing
            self.show_error(f"not queued: {exc}")

    def queue_angle_sweep(self, angles: list[float] | None = None) -> int:
        """Queue one spectrum per angle (deg), the other inputs as set; return how many."""
        return self._queue_sweep("angle sweep", "angle_sweep", "angles_deg", angles, self.angles_edit)

    def _allowed(self, key: str) -> str:
        """The bench's allowed range of a swept quantity, as the input's error message gives it."""
        limits = self.bench.config.limits
        if key == "angles_deg":
            return f"from {limits.angle_min_deg:g} to {limits.angle_max_deg:g} deg (the bench limits)"
        if key == "dc_currents_mA":
            return f"from {-limits.max_dc_current_A * 1e3:g} to {limits.max_dc_current_A * 1e3:g} mA (the bench limit)"
        return "in GHz, within the rf source's range"

    def queue_frequency_sweep(self, freqs: list[float] | None = None) -> int:
        """Queue one spectrum per frequency (GHz), the other inputs as set; return how many."""
        return self._queue_sweep("frequency sweep", "frequency_sweep", "frequencies_GHz", freqs, self.freqs_edit)

    def queue_dc_bias_sweep(self, currents: list[float] | None = None) -> int:
        """Queue one spectrum per dc current (mA), interleaved (0, +I1, -I1, ...); return how many.

        The currents must include both polarities and stay within the bench's dc limit:
        checked (by the sequence step and the safety layer) before anything is queued.
        """
        return self._queue_sweep("dc-bias sweep", "dc_bias_sweep", "dc_currents_mA", currents, self.dc_edit)

    def _queue_sweep(self, what: str, kind: str, key: str, values: list[float] | None,
                     edit: QtWidgets.QLineEdit) -> int:
        """Queue a sweep step: a spectrum per value, each window centred when it starts on the predicted resonance."""
        try:
            if values is None:
                label = {"angles_deg": "Angles (deg)", "frequencies_GHz": "Frequencies (GHz)",
                         "dc_currents_mA": "DC currents (mA)"}[key]
                values = list(_parse_range(edit.text(), label, self._allowed(key)))
            p = self.make_procedure()
            fixed = {name: _plain(getattr(p, name)) for name in INPUTS
                     if name not in ("field_start_mT", "field_stop_mT")}
            step: dict[str, Any] = {"kind": kind, key: [float(v) for v in values],
                                    "window_mT": _number(self.window_edit.text(), "Window (mT)", positive=True),
                                    "mu0_Meff_T": _number(self.meff_edit.text(), "μ0M_eff guess (T)", positive=True),
                                    **fixed}
            swept = {"angles_deg": "angle_deg", "frequencies_GHz": "frequency_GHz", "dc_currents_mA": "dc_current_mA"}
            step.pop(swept[key])
            return len(self.submit_steps([step]))
        except Exception as exc:
            self.show_error(f"{what} not queued: {exc}")
            return 0

    def submit_steps(self, steps: list[dict[str, Any]]) -> list:
        """Append steps to the session's run folder (created on first use) and queue their tasks.

        Everything is checked first (the steps, and every value against the
        bench limits by a dry run of each task's plan): a refused step creates
        no folder and queues nothing.
        """
        run = self._session
        if run is None or run.closed:
            if self.sample is None:
                raise ValueError("no sample record: start the GUI with --sequence SEQUENCE_FILE (its [sample] table), "
                                 "or run a sequence file first")
            session_sequence(self.sample).with_steps(steps, self.bench.config)  # refused before a folder exists
            run = self._add_run(GuiRun.create(self.bench, self.data_dir, f"session-{_stamp()}",
                                              session_sequence(self.sample), self.manager.stop_event,
                                              self.manager.relay))
            self._session = run
        tasks = run.append(steps)
        self.manager.submit(run, tasks)
        return tasks

    def queue_sequence(self, path: str | Path) -> int:
        """Run every task of a sequence file in a run folder of its own (validated against the bench first)."""
        try:
            sequence = load_sequence(path, self.bench.config)
            run = self._add_run(GuiRun.create(self.bench, self.data_dir, Path(path).stem, sequence,
                                              self.manager.stop_event, self.manager.relay))
        except Exception as exc:
            self.show_error(f"sequence not queued: {exc}")
            return 0
        self.sample = sequence.sample
        self._session = run  # sweeps queued next continue this run
        self.manager.submit(run, run.pending())
        return len(sequence.tasks)

    def resume_run_folder(self, folder: str | Path) -> int:
        """Continue a run folder (stopped, aborted, or measured by ``stfmr run``); return the tasks queued."""
        try:
            run = self._add_run(GuiRun.resume(self.bench, Path(folder), self.manager.stop_event, self.manager.relay))
            # as `stfmr run --resume`: a run that reached its target measures nothing more, one whose tasks are
            # all done short of it continues with its target's next round
            executor = run.executor
            tasks = [] if executor.reached_before() else run.pending() or executor.next_round()
        except Exception as exc:
            self.show_error(f"run folder not resumed: {exc}")
            return 0
        self.sample = run.sequence.sample
        self._session = run
        if not tasks and run.executor.stopped is not None:
            self.on_run_ended(run, run.conclude())
        self.manager.submit(run, tasks)
        return len(tasks)

    def _add_run(self, run: GuiRun) -> GuiRun:
        self.runs.append(run)
        return run

    # -- results -------------------------------------------------------------------------------

    def on_finished(self, experiment) -> None:
        self.update_analysis(background=True)

    def on_failed(self, experiment) -> None:
        self.update_analysis(background=True)

    def on_run_ended(self, run: GuiRun, outcome: Any) -> None:
        """Say why a run stopped; an unverified safe state in red with what to switch off by hand."""
        text = run_end_message(run.path.name, outcome)
        if text:
            self.show_error(text)
        target = target_message(run.folder.header.get(TARGET_KEY)) if outcome.stopped else None
        if target:
            self.show_status(f"{run.path.name}: {target}")
        if outcome.state == UNSAFE:
            self.show_status("NOT verified safe")

    def update_analysis(self, run: RunData | None = None, background: bool = False) -> None:
        """Re-run the analysis core and redraw the panels.

        ``run``: a run folder's data (opened from disk); default: the run
        folder measured into last, read back as ``stfmr analyze`` reads it.
        ``background``: read and fit in a worker thread (after each spectrum),
        so the event loop and the Abort button never wait for it; only the
        newest analysis is drawn.
        """
        self._generation += 1
        generation = self._generation
        folder = self.run_folder
        source: RunData | Path
        if run is not None:
            source = run
        elif folder is not None:
            source = folder
        else:
            return

        def work() -> None:
            try:
                result: Any = analyze_run(source if isinstance(source, RunData) else read_run(source))
            except Exception as exc:  # shown, never a traceback in a terminal
                result = exc
            try:
                self.bridge.analysis.emit(generation, result)
            except RuntimeError:
                pass  # the window closed while the analysis ran

        if background:
            threading.Thread(target=work, name="stfmr-analysis", daemon=True).start()
        else:
            work()
            QtCore.QCoreApplication.processEvents()

    def _show_analysis(self, generation: int, result: Any) -> None:
        if generation != self._generation:
            return  # a newer analysis is on its way
        if isinstance(result, Exception):
            self.show_error(f"analysis failed: {result}")
            return
        self.analysis = result
        self.angular_panel.show_analysis(result)
        self.frequency_panel.show_analysis(result)
        self.dc_bias_panel.show_analysis(result)
        if result.efficiencies is not None:
            eff = result.efficiencies
            self.model_panel.set_measured([(result.run.name, eff.value("xi_DL_E"), eff.stderr("xi_DL_E"))])

    def open_run_folder(self, folder: str | Path) -> int:
        """Show a past run folder as the window showed it when the run ended (nothing is measured).

        Each task's file in the browser with its end state (Finished at 100 %, or
        Failed/Aborted where the manifest says so, at the share of points written),
        the panels and the last spectrum's fit read out, the run's log in the Log
        tab, and why the run stopped in the message bar. Return the files opened.
        """
        folder = Path(folder)
        self.message.setText("")  # what the window said before is not part of this run
        manifest = load_manifest(folder) if (folder / MANIFEST).exists() else None
        shown: list[tuple[Path, int]]  # (file, the procedure's status)
        if manifest is not None:
            shown = [(folder / e["file"], PROCEDURE_STATUS[e["status"]]) for e in manifest.entries
                     if e["status"] in PROCEDURE_STATUS and (folder / e["file"]).exists()]
        else:
            shown = [(p, Procedure.FINISHED) for p in sorted(folder.glob("*.csv")) if ".incomplete" not in p.name]
        loaded = 0
        for path, status in shown:
            try:
                results = load_results(path)  # imports nothing the file's header names
            except Exception as exc:
                self.show_error(f"{path.name} not opened: {exc}")
                continue
            results.procedure.status = status
            experiment = self.new_experiment(results)
            self.manager.load(experiment)
            progress = 100.0 if status == Procedure.FINISHED else progress_percent(results)
            if progress is not None:
                experiment.browser_item.setProgress(progress)
            loaded += 1
        self._show_run_log(folder)
        run = read_run(folder)  # the manifest's grouping, exactly as `stfmr analyze` sees the folder
        self.sample = run.sample or self.sample
        self.update_analysis(run)
        if self.analysis is not None and self.analysis.run is run:
            self.spectra_panel.show_fits(last_fits(self.analysis))
        if manifest is not None:
            self._show_run_end(folder.name, manifest)
        return loaded

    def _show_run_log(self, folder: Path) -> None:
        """Append the run's stfmr log records to the Log tab, formatted as the tab formatted them live."""
        run_log = read_run_log(folder)
        if run_log is None:
            return
        view, formatter = self.log_widget.view, self.log_widget.handler.formatter
        lines = []
        if view.document().characterCount() > 1:  # the window has a log of its own: say where the run's starts
            lines.append(f"<b>{html.escape(str(run_log.path))}</b>")
        if run_log.bytes_left_out or run_log.records_left_out:
            lines.append(f"<i>({run_log.records_left_out} older records and {run_log.bytes_left_out} bytes at the "
                         f"start of {run_log.path.name} not shown)</i>")
        lines += [formatter.format(record) for record in run_log.records]
        if not lines:
            return
        # one fragment of a paragraph per record (as appendHtml makes them live), ~15x faster than appending each
        cursor = QtGui.QTextCursor(view.document())
        cursor.movePosition(QtGui.QTextCursor.MoveOperation.End)
        if view.document().characterCount() > 1:
            cursor.insertBlock()
        cursor.insertFragment(QtGui.QTextDocumentFragment.fromHtml("".join(f"<p>{line}</p>" for line in lines)))
        view.verticalScrollBar().setValue(view.verticalScrollBar().maximum())

    def _show_run_end(self, name: str, manifest: Any) -> None:
        """Say how an opened run ended, as the window said it when the run ended."""
        header = manifest.header
        outcome = RunOutcome(manifest.state, len(manifest.complete_keys()), int(header.get("tasks", 0)),
                             header.get("error"), header.get("unsafe"))
        target = target_message(header.get(TARGET_KEY))
        self.statusBar().showMessage(f"opened {name}: {outcome.state}, {outcome.completed} of {outcome.total} "
                                     "tasks complete" + (f"; {target}" if target else ""))
        text = run_end_message(name, outcome)
        if text:
            self.show_error(text)

    def export_plots(self, folder: str | Path) -> list[Path]:
        from stfmr.app.gui.panels import export_plot

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        return (export_plot(self.spectra_panel.plot, folder / "spectra") + self.angular_panel.export(folder)
                + self.frequency_panel.export(folder) + self.dc_bias_panel.export(folder)
                + self.model_panel.export(folder))

    def _choose_sequence(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Sequence file", "", "TOML (*.toml)")
        if path:
            self.queue_sequence(path)

    def _choose_resume(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Run folder to continue", str(self.data_dir))
        if folder:
            self.resume_run_folder(folder)

    def _choose_run_folder(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Run folder")
        if folder:
            self.open_run_folder(folder)

    def _choose_export(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Export plots to")
        if folder:
            self.export_plots(folder)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """Abort what runs, wait for its safe ending, record every run's state and release the folders."""
        if not self._closing:
            self._closing = True
            if self.manager.is_running():
                self.manager.abort()
            self.manager.wait_idle()
            QtCore.QCoreApplication.processEvents()  # the running task's end, recorded by the manager
            for run in self.runs:
                if not run.closed:
                    try:
                        if run.folder.header.get("state") == RUNNING:  # a stopped run keeps why it stopped
                            run.conclude()
                    finally:
                        run.close()
            self.poll_timer.stop()
            self.refresh_timer.stop()
            logging.getLogger("stfmr").removeHandler(self._log_handler)
        super().closeEvent(event)


def run_end_message(name: str, outcome: RunOutcome) -> str | None:
    """What the message bar says when the run ``name`` ends this way (None: nothing to report)."""
    if outcome.state == UNSAFE:
        return (f"DANGER: the bench could not be verified safe at the end of {name}. "
                f"Switch off by hand: {outcome.instructions}")
    if outcome.state != FINISHED and outcome.error and not outcome.by_operator:
        return f"{name} {outcome.state}: {outcome.error}"
    return None


def target_message(record: dict[str, Any] | None) -> str | None:
    """Why a run stopped at its target, from the manifest's target record (None: it has not stopped at one)."""
    stopped = (record or {}).get("stopped")
    if not stopped:
        return None
    if stopped == TARGET_REACHED and record is not None and record.get("xi_DL_E_rel") is not None:
        return f"{TARGET_REACHED}: xi_DL^E relative error {record['xi_DL_E_rel']:.3g} <= {record['target']:g}"
    return str(stopped)


def last_fits(analysis: SampleAnalysis) -> list:
    """The fits of the run's last fitted field sweep: what the spectrum readout showed when the run ended."""
    for spectrum in reversed(analysis.run.spectra):
        fits = analysis.fits.get(spectrum.file)
        if fits:
            return fits
    return []


def _plain(value: Any) -> Any:
    """A Parameter value as a TOML value (numpy scalars to Python numbers)."""
    return value.item() if isinstance(value, np.generic) else value


def _number(text: str, what: str, positive: bool = False) -> float:
    """A number typed into the input named what; refused naming the input and what it takes."""
    kind = "a positive number" if positive else "a number"
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what}: expected {kind}, got {text!r}") from None
    if not math.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"{what}: expected {kind}, got {text!r}")
    return value


def _stamp() -> str:
    import datetime as _dt

    return _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def _parse_range(text: str, what: str = "range", allowed: str = "") -> np.ndarray:
    """'start:stop:step' or a comma list -> values.

    A bad entry is refused naming the input (what), the problem, the forms it takes
    and the allowed values (allowed, e.g. the bench limits).
    """
    text = text.strip()
    forms = "enter start:stop:step (e.g. 0:345:15) or a comma list of numbers" + (f", {allowed}" if allowed else "")
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError(f"{text!r} has {len(parts)} parts, not start:stop:step")
            start, stop, step = (_number(v, "start:stop:step") for v in parts)
            return grid({"start": start, "stop": stop, "step": step}, "range")
        return grid([_number(v, "list") for v in text.split(",") if v.strip()], "list")
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}; {forms}") from None


__all__ = ["StfmrWindow"]
