"""The operator's main window: pymeasure's queue, inputs, browser and log, plus ST-FMR panels.

Every measurement is a pymeasure experiment in the Manager's queue: a single
spectrum from the inputs, an angle or frequency sweep (one FieldSweep per
angle or frequency), or every task of a sequence file (AMR, rf calibration,
sweeps). Files go to the data folder as they are measured; each finished
experiment refreshes the analysis (the same ``analyze_run`` as ``stfmr
analyze``) and with it the angular, frequency and model panels.

Abort (pymeasure's button) stops the running spectrum at its next point; the
procedure then switches the rf off and ramps the magnet to zero, and the
status line says so while it ramps. The queue pauses; Resume continues it.
Errors appear in the status line, a message bar and the log, never as a
traceback in a terminal.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from pymeasure.display.widgets import LogWidget
from pymeasure.display.windows import ManagedWindowBase
from pymeasure.experiment import Procedure, Results
from PyQt6 import QtCore, QtGui, QtWidgets

from stfmr.analysis.characterize import SampleAnalysis, analyze_run
from stfmr.analysis.resonance import resonance_field_mT
from stfmr.analysis.run_reader import RunData, add_measurement, load_file, read_run
from stfmr.analysis.sample import SampleMetadata
from stfmr.app.gui.panels import AngularPanel, DcBiasPanel, FrequencyPanel, ModelPanel, SpectrumPanel
from stfmr.procedures.amr import AmrSweep
from stfmr.procedures.autophase import Autophase
from stfmr.procedures.field_sweep import FieldSweep
from stfmr.procedures.frequency_scan import FrequencyScan
from stfmr.procedures.rf_calibration import RfCalibration
from stfmr.procedures.registry import PROCEDURES
from stfmr.procedures.sequence import dc_bias_order, grid, load_sequence, window_range

log = logging.getLogger(__name__)

INPUTS = ["frequency_GHz", "power_dBm", "angle_deg", "field_start_mT", "field_stop_mT", "field_points",
          "both_branches", "dc_current_mA", "dwell_s"]


class Bridge(QtCore.QObject):
    """Carries callbacks from the worker thread into the GUI thread (queued signals)."""

    fit = QtCore.pyqtSignal(object)
    status = QtCore.pyqtSignal(str)
    analysis = QtCore.pyqtSignal(int, object)


class StatusPanel(QtWidgets.QGroupBox):
    """Instrument state, polled from the GUI thread through the role objects.

    Each role wrapper holds a lock for every exchange, so a poll never splits
    a measurement's query; a failing poll is shown, never raised.
    """

    FIELDS = ("field", "current", "rf", "angle", "lock-in", "safety")

    def __init__(self, bench: Any, parent=None) -> None:
        super().__init__("Instruments", parent)
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
        if b.rotator is not None:
            self._show("angle", lambda: f"{b.rotator.angle():.2f} deg" + (" (moving)" if b.rotator.is_moving() else ""))
        self._show("lock-in", lambda: f"sensitivity {b.detector.sensitivity():.3g} V"
                                      + (", OVERLOAD" if b.detector.overloaded() else ""))

    def _show(self, name: str, text) -> None:
        try:
            self.labels[name].setText(text())
        except Exception as exc:  # a status poll must never take the window down
            self.labels[name].setText(f"not answering ({exc})")


class StfmrWindow(ManagedWindowBase):
    """ST-FMR operator window on a bench (real or virtual)."""

    def __init__(self, bench: Any, data_dir: str | Path, sample: SampleMetadata | None = None,
                 poll_ms: int = 1000) -> None:
        self.bench = bench
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.sample = sample
        self.spectra_panel = SpectrumPanel()
        self.angular_panel = AngularPanel()
        self.frequency_panel = FrequencyPanel()
        self.dc_bias_panel = DcBiasPanel()
        self.model_panel = ModelPanel()
        self.log_widget = LogWidget("Log")
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
        self.bridge = Bridge()
        self.bridge.fit.connect(self.spectra_panel.show_fits)
        self.bridge.status.connect(self.show_status)
        self.bridge.analysis.connect(self._show_analysis)
        self._generation = 0
        self.manager.finished.connect(self.on_finished)
        self.manager.failed.connect(self.on_failed)
        self.manager.aborted.connect(lambda experiment: self.show_status("aborted: making the bench safe"))
        for signal in (self.manager.finished, self.manager.failed, self.manager.abort_returned):
            # show the safe end (rf off, magnet at zero) at once, not at the next poll
            signal.connect(lambda experiment: self.status_panel.poll())
        self.analysis: SampleAnalysis | None = None
        self.counter = 0
        self._add_controls()
        self.status_panel = StatusPanel(bench)
        dock = QtWidgets.QDockWidget("Instruments", self)
        dock.setWidget(self.status_panel)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.message = QtWidgets.QLabel("")
        self.message.setStyleSheet("color: #a00000; font-weight: bold")
        self.statusBar().addPermanentWidget(self.message, 1)
        self.refresh_timer = QtCore.QTimer(self)
        self.refresh_timer.timeout.connect(self.spectra_panel.refresh)
        self.refresh_timer.start(100)
        self.poll_timer = QtCore.QTimer(self)
        self.poll_timer.timeout.connect(self.status_panel.poll)
        if poll_ms > 0:
            self.poll_timer.start(poll_ms)

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
                   ("Run sequence file…", self._choose_sequence), ("Open run folder…", self._choose_run_folder),
                   ("Export plots…", self._choose_export)]
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

    def prepare(self, procedure: Procedure) -> Procedure:
        procedure.bench = self.bench
        procedure.on_fit = self.bridge.fit.emit
        procedure.on_status = self.bridge.status.emit
        if self.sample is not None:
            procedure.sample_record = json.dumps(self.sample.to_dict(), separators=(",", ":"))
        return procedure

    def queue(self, procedure: Procedure | None = None) -> None:
        """Queue one experiment (pymeasure's Queue button: a spectrum from the inputs)."""
        try:
            procedure = self.prepare(procedure or self.make_procedure())
            self.counter += 1
            label = _label(procedure)
            path = self.data_dir / f"{self.counter:04d}_{label}.csv"
            while path.exists():
                self.counter += 1
                path = self.data_dir / f"{self.counter:04d}_{label}.csv"
            results = Results(procedure, str(path))
            self.manager.queue(self.new_experiment(results))
        except Exception as exc:  # bad input: say so in the window, queue nothing
            self.show_error(f"not queued: {exc}")

    def queue_angle_sweep(self, angles: list[float] | None = None) -> int:
        """Queue one spectrum per angle (deg), the other inputs as set; return how many."""
        return self._queue_sweep("angle sweep", "angle_deg", angles, self.angles_edit)

    def queue_frequency_sweep(self, freqs: list[float] | None = None) -> int:
        """Queue one spectrum per frequency (GHz), the other inputs as set; return how many."""
        return self._queue_sweep("frequency sweep", "frequency_GHz", freqs, self.freqs_edit)

    def queue_dc_bias_sweep(self, currents: list[float] | None = None) -> int:
        """Queue one spectrum per dc current (mA), interleaved (0, +I1, -I1, ...); return how many.

        The currents must include both polarities and stay within the bench's dc limit:
        checked here, before anything is queued.
        """
        try:
            values = currents if currents is not None else list(_parse_range(self.dc_edit.text()))
            order = dc_bias_order(values, "dc currents")
            limit_mA = self.bench.limits.max_dc_current_A * 1e3
            if max(abs(i) for i in order) > limit_mA:
                raise ValueError(f"a current of {max(abs(i) for i in order):g} mA exceeds the bench limit of "
                                 f"{limit_mA:g} mA")
        except Exception as exc:
            self.show_error(f"dc-bias sweep not queued: {exc}")
            return 0
        return self._queue_sweep("dc-bias sweep", "dc_current_mA", order, self.dc_edit)

    def _queue_sweep(self, what: str, parameter: str, values: list[float] | None,
                     edit: QtWidgets.QLineEdit) -> int:
        """Queue a spectrum per value, each window centred on the predicted resonance."""
        try:
            values = values if values is not None else list(_parse_range(edit.text()))
            width = float(self.window_edit.text())
            meff = float(self.meff_edit.text())
        except Exception as exc:
            self.show_error(f"{what} not queued: {exc}")
            return 0
        for value in values:
            procedure = self.make_procedure()
            setattr(procedure, parameter, float(value))
            centre = self._predicted_resonance(procedure.frequency_GHz, meff, 2.1)
            procedure.field_start_mT, procedure.field_stop_mT = window_range(width, centre)
            self.queue(procedure)
        return len(values)

    def _predicted_resonance(self, f_GHz: float, mu0_Meff_T: float, g: float) -> float:
        """H_r (mT) from the Kittel fit of what was measured, or from mu0*M_eff and g."""
        if self.analysis is not None and self.analysis.kittel is not None:
            return float(self.analysis.kittel.resonance_field_mT(f_GHz))
        return float(resonance_field_mT(f_GHz, mu0_Meff_T, g))

    def queue_sequence(self, path: str | Path) -> int:
        """Queue every task of a sequence file (validated against the bench limits first)."""
        try:
            sequence = load_sequence(path, self.bench.limits)
        except Exception as exc:
            self.show_error(f"sequence not queued: {exc}")
            return 0
        self.sample = sequence.sample
        for task in sequence.tasks:
            procedure = PROCEDURES[task.procedure]()
            for name, value in task.parameters.items():
                setattr(procedure, name, value)
            if task.window is not None:
                width, meff, g = task.window
                centre = self._predicted_resonance(task.parameters["frequency_GHz"], meff, g)
                procedure.field_start_mT, procedure.field_stop_mT = window_range(width, centre)
            self.queue(procedure)
        return len(sequence.tasks)

    # -- results -------------------------------------------------------------------------------

    def on_finished(self, experiment) -> None:
        if experiment.procedure.status == Procedure.FINISHED:
            write_outputs = getattr(experiment.procedure, "write_outputs", None)
            if write_outputs is not None:  # e.g. the coil calibration of a magnet calibration
                try:
                    for name in write_outputs(Path(experiment.results.data_filename).parent):
                        log.info("wrote %s", name)
                except (ValueError, OSError) as exc:
                    self.show_error(f"{type(experiment.procedure).__name__}: {exc}")
            self.update_analysis(background=True)


    def on_failed(self, experiment) -> None:
        error = getattr(experiment.procedure, "error", None)
        self.show_error(f"{type(experiment.procedure).__name__} failed: {error}" if error
                        else f"{type(experiment.procedure).__name__} failed (see the log)")
        self.update_analysis(background=True)

    def finished_files(self) -> list[Path]:
        """Files of every experiment in the browser that finished."""
        out = []
        for experiment in self.manager.experiments.queue:
            if experiment.procedure.status == Procedure.FINISHED:
                out.append(Path(experiment.results.data_filename))
        return out

    def update_analysis(self, run: RunData | None = None, background: bool = False) -> None:
        """Re-run the analysis core and redraw the panels.

        ``run``: a run folder's data (opened from disk); default: every
        experiment of this session that finished, read back from its file.
        ``background``: read and fit in a worker thread (after each spectrum),
        so the event loop and the Abort button never wait for it; only the
        newest analysis is drawn.
        """
        self._generation += 1
        generation = self._generation
        files = self.finished_files() if run is None else []

        def work() -> None:
            try:
                result = analyze_run(run if run is not None else self._session_run(files))
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

    def _session_run(self, files: list[Path]) -> RunData:
        run = RunData(self.data_dir, self.sample.name if self.sample else "this session", self.sample)
        for path in files:
            loaded = load_file(path, None)
            for _ in range(40):
                # pymeasure signals 'finished' before its Recorder has flushed the last
                # lines: a finished file holds every row its header promises, so wait for them
                if not (isinstance(loaded, str) and loaded.startswith("truncated")):
                    break
                time.sleep(0.05)
                loaded = load_file(path, None)
            add_measurement(run, path, loaded)
        return run

    def open_run_folder(self, folder: str | Path) -> int:
        """Load a past run folder into the browser and panels, as it was shown live."""
        paths = sorted(Path(folder).glob("*.csv"))
        loaded = 0
        for path in paths:
            if ".incomplete" in path.name:
                continue
            try:
                results = Results.load(str(path))
            except Exception as exc:
                self.show_error(f"{path.name} not opened: {exc}")
                continue
            results.procedure.status = Procedure.FINISHED
            experiment = self.new_experiment(results)
            self.manager.load(experiment)
            loaded += 1
        run = read_run(folder)  # the manifest's grouping, exactly as `stfmr analyze` sees the folder
        self.sample = run.sample or self.sample
        self.update_analysis(run)
        return loaded

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

    def _choose_run_folder(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Run folder")
        if folder:
            self.open_run_folder(folder)

    def _choose_export(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Export plots to")
        if folder:
            self.export_plots(folder)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.manager.is_running():
            self.manager.abort()
        self.poll_timer.stop()
        self.refresh_timer.stop()
        super().closeEvent(event)


def _label(procedure: Procedure) -> str:
    if isinstance(procedure, Autophase):  # before FieldSweep: it is one
        return f"autophase_{procedure.frequency_GHz:g}GHz_{procedure.angle_deg:g}deg"
    if isinstance(procedure, FieldSweep):
        dc = f"_{procedure.dc_current_mA:+g}mA" if procedure.dc_current_mA else ""
        return f"spectrum_{procedure.frequency_GHz:g}GHz_{procedure.angle_deg:g}deg{dc}"
    if isinstance(procedure, RfCalibration):
        return f"rf_calibration_{procedure.frequency_GHz:g}GHz"
    if isinstance(procedure, AmrSweep):
        return "amr"
    if isinstance(procedure, FrequencyScan):
        return f"frequency_scan_{procedure.field_mT:g}mT_{procedure.angle_deg:g}deg"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(procedure).__name__).lower()  # MagnetCalibration -> magnet_calibration


def _parse_range(text: str) -> np.ndarray:
    """'start:stop:step' or a comma list -> values."""
    text = text.strip()
    if ":" in text:
        start, stop, step = (float(v) for v in text.split(":"))
        return grid({"start": start, "stop": stop, "step": step}, "range")
    return grid([float(v) for v in text.split(",") if v.strip()], "list")


__all__ = ["StfmrWindow"]
