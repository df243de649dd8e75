"""The GUI's queue on stfmr's one executor: every GUI measurement is a task of a run folder.

pymeasure's ManagedWindow expects a Manager (queue, browser, curves, the
Abort/Resume button). :class:`ExecutorManager` keeps that interface but runs
nothing itself: it hands each queued task to the run's
:class:`~stfmr.procedures.executor.Executor` in a worker thread, exactly as
``stfmr run`` does. So a GUI run is a run folder like any other: manifest and
journal, windows centred when the task starts, the same file names, the same
verified safe endings, resumable with ``stfmr run --resume`` or from the GUI.
A sequence's ``target`` holds as it does for ``stfmr run``: after each task
the executor's :meth:`~stfmr.procedures.executor.Executor.after_task` says
whether the run stops at its target (its queued tasks are then not run), and
when a targeted run's queue is done short of the target,
:meth:`~stfmr.procedures.executor.Executor.next_round` appends the next round,
which is queued.

The Results file of a task exists only once it starts; the browser and the
plots show it from then on.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from pathlib import Path
from typing import Any

from pymeasure.display.manager import ExperimentQueue, Manager
from pymeasure.experiment import Procedure, Results
from PyQt6 import QtCore

from stfmr.analysis.run_manifest import ABORTED, COMPLETE, FAILED, RUNNING
from stfmr.analysis.sample import SampleMetadata
from stfmr.procedures.base import BenchProcedure
from stfmr.procedures.executor import Executor, ExecutorObserver, RunOutcome, TaskOutcome, configure_run_log
from stfmr.procedures.run_folder import RunFolder
from stfmr.procedures.sequence import Sequence, Task, load_sequence, parse_sequence

log = logging.getLogger(__name__)

#: a manifest entry's status -> the status pymeasure's browser shows for its task
PROCEDURE_STATUS = {COMPLETE: Procedure.FINISHED, FAILED: Procedure.FAILED, ABORTED: Procedure.ABORTED}


class GuiRun:
    """One run folder the GUI measures into: its sequence (which grows as steps are queued) and executor."""

    def __init__(self, bench: Any, folder: RunFolder, sequence: Sequence, stop: threading.Event,
                 observer: ExecutorObserver) -> None:
        self.bench = bench
        self.folder = folder
        self.executor = Executor(bench, folder, sequence, stop=stop, observer=observer)
        self._undo_log = configure_run_log(folder.path)
        self.closed = False

    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def sequence(self) -> Sequence:
        """The run's sequence as it stands (steps queued from the GUI and a target's rounds appended)."""
        return self.executor.sequence

    @classmethod
    def create(cls, bench: Any, parent: Path, name: str, sequence: Sequence, stop: threading.Event,
               observer: ExecutorObserver) -> GuiRun:
        """A new run folder ``parent/name`` (``name-2``, ``name-3``, ... if taken) for ``sequence``."""
        path = unique_folder(parent, name)
        return cls(bench, RunFolder.create(path, sequence, bench.header()), sequence, stop, observer)

    @classmethod
    def resume(cls, bench: Any, path: Path, stop: threading.Event, observer: ExecutorObserver) -> GuiRun:
        """Continue a run folder with its own copy of the sequence (as ``stfmr run --resume`` would)."""
        from stfmr.analysis.run_manifest import SEQUENCE_COPY

        sequence = load_sequence(path / SEQUENCE_COPY, bench.config)
        return cls(bench, RunFolder.reopen(path, sequence, bench.header()), sequence, stop, observer)

    def append(self, steps: list[dict[str, Any]]) -> list[Task]:
        """Add steps (as a sequence file holds them) to this run; return their tasks (checked in full first)."""
        known = {t.key for t in self.sequence.tasks}
        sequence = self.sequence.with_steps(steps, self.bench.config)
        self.folder.extend(sequence)
        self.executor.sequence = sequence
        return [t for t in sequence.tasks if t.key not in known]

    def pending(self) -> list[Task]:
        return self.executor.pending()

    def conclude(self, state: str = RUNNING, error: str | None = None,
                 unsafe: dict[str, Any] | None = None) -> RunOutcome:
        """Record the run's state (see :meth:`Executor.conclude`)."""
        outcome = RunOutcome(state, 0, len(self.sequence.tasks), error, unsafe)
        return self.executor.conclude(outcome)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._undo_log()
            self.folder.close()


def session_sequence(sample: SampleMetadata) -> Sequence:
    """The (so far empty) sequence of a GUI session: the sample record, steps to follow."""
    import tomli_w

    text = "# measured from the stfmr GUI: each queued measurement is a [[step]] below\n\n"
    text += tomli_w.dumps({"sample": sample.to_dict()})
    return parse_sequence(text, "GUI session", allow_empty=True)


def unique_folder(parent: Path, name: str) -> Path:
    """``parent/name``, or ``name-2``, ``name-3``, ... when that exists and is not empty."""
    name = re.sub(r"[^A-Za-z0-9_.+-]", "_", name) or "run"
    path = parent / name
    n = 1
    while path.exists() and (not path.is_dir() or any(path.iterdir())):
        n += 1
        path = parent / f"{name}-{n}"
    return path


class TaskQueue(ExperimentQueue):
    """pymeasure's ExperimentQueue that also counts the tasks not started yet (they have no Results file)."""

    def __init__(self, pending: deque) -> None:
        super().__init__()
        self.pending = pending

    def has_next(self) -> bool:
        return bool(self.pending)


class _Relay(ExecutorObserver):
    """Hands the executor's news (from its threads) to the GUI thread through queued signals."""

    def __init__(self, manager: ExecutorManager) -> None:
        self.manager = manager

    def task_started(self, task: Task, entry: dict[str, Any], procedure: BenchProcedure, results: Results) -> None:
        self.manager.task_started.emit(results)

    def progress(self, percent: float) -> None:
        self.manager.progressed.emit(float(percent))

    def fit(self, fits: list) -> None:
        self.manager.fitted.emit(fits)

    def status(self, text: str) -> None:
        self.manager.safety_status.emit(text)


class ExecutorManager(Manager):
    """pymeasure's Manager interface over stfmr's executor (see the module docstring).

    ``submit(run, tasks)`` queues tasks of a :class:`GuiRun`; ``abort`` stops the
    running task at its next point (its safe ending runs) and pauses the
    queue; ``resume`` measures the stopped task again and continues. A task
    that fails or ends unverified pauses the queue the same way, and its run's
    manifest records why.
    """

    task_started = QtCore.pyqtSignal(object)
    #: (GuiRun, Task, TaskOutcome or the exception that ended it, the exception of its target check or None)
    task_ended = QtCore.pyqtSignal(object, object, object, object)
    progressed = QtCore.pyqtSignal(float)
    fitted = QtCore.pyqtSignal(object)
    safety_status = QtCore.pyqtSignal(str)
    #: a run stopped (failed, aborted, unsafe) or finished: (GuiRun, RunOutcome)
    run_ended = QtCore.pyqtSignal(object, object)

    def __init__(self, window: Any, widget_list: Any, browser: Any, log_level: int = logging.INFO,
                 parent: Any = None) -> None:
        super().__init__(widget_list, browser, port=None, log_level=log_level, parent=parent)
        self.window = window
        self.pending: deque[tuple[GuiRun, Task]] = deque()
        self.experiments = TaskQueue(self.pending)
        self.stop_event = threading.Event()
        self.relay = _Relay(self)
        self._thread: threading.Thread | None = None
        self._current: tuple[GuiRun, Task] | None = None
        self.task_started.connect(self._on_started)
        self.task_ended.connect(self._on_ended)
        self.progressed.connect(self._update_progress)

    # -- queueing ----------------------------------------------------------------------------

    def submit(self, run: GuiRun, tasks: list[Task]) -> None:
        """Queue tasks of ``run``; start at once unless the queue is paused or busy."""
        for task in tasks:
            self.pending.append((run, task))
        self.queued.emit(None)
        if self._start_on_add and not self.is_running():
            self.next()

    def is_running(self) -> bool:
        return self._current is not None

    def next(self) -> None:
        if self.is_running() or not self.pending:
            return
        run, task = self.pending.popleft()
        if run.closed:
            return self.next()
        self.stop_event.clear()
        self._current = (run, task)
        self._thread = threading.Thread(target=self._work, args=(run, task), name="stfmr-executor", daemon=True)
        self._thread.start()

    def _work(self, run: GuiRun, task: Task) -> None:
        check_error: Exception | None = None
        try:
            outcome: Any = run.executor.run_task(task)
        except Exception as exc:  # noqa: BLE001 - e.g. the journal could not be written: shown, run stopped
            log.error("%s: %s", task.where(), exc)
            outcome = exc
        else:
            if run.executor.stop_state(outcome) is None:
                try:  # the target's analysis at a step boundary runs here, not in the GUI thread
                    run.executor.check_target(outcome)
                except Exception as exc:  # noqa: BLE001 - shown, run stopped
                    log.error("%s: target check: %s", task.where(), exc)
                    check_error = exc
        try:
            self.task_ended.emit(run, task, outcome, check_error)
        except RuntimeError:
            pass  # the window closed meanwhile

    # -- the GUI thread's side --------------------------------------------------------------------

    def _on_started(self, results: Results) -> None:
        experiment = self.window.new_experiment(results)
        self.load(experiment)
        self._running_experiment = experiment
        experiment.browser_item.setStatus(Procedure.RUNNING)
        self.running.emit(experiment)

    def _on_ended(self, run: GuiRun, task: Task, outcome: TaskOutcome | Exception,
                  check_error: Exception | None = None) -> None:
        if self._thread is not None:
            self._thread.join()
        self._thread, self._current = None, None
        experiment, self._running_experiment = self._running_experiment, None
        if isinstance(outcome, Exception):
            self._stop(run, task, FAILED, f"{task.where()}: {outcome}", None)
            if experiment is not None:
                self.failed.emit(experiment)
            return
        if experiment is not None:
            experiment.procedure.status = PROCEDURE_STATUS[outcome.status]
            experiment.browser_item.setStatus(experiment.procedure.status)
            if outcome.status == COMPLETE:
                experiment.browser_item.setProgress(100)
            for curve in experiment.curve_list:
                if curve:
                    curve.update_data()
        stop_state = run.executor.stop_state(outcome)
        if stop_state is not None:
            unsafe = None
            if outcome.unsafe:
                unsafe = outcome.safe_end.to_dict() | {"task": task.where()}  # type: ignore[union-attr]
            self._stop(run, task, stop_state, outcome.error, unsafe)
        if experiment is not None:
            if outcome.status == COMPLETE:
                self.finished.emit(experiment)
            elif outcome.status == ABORTED:
                self.abort_returned.emit(experiment)
            else:
                self.failed.emit(experiment)
        if stop_state is None:
            if check_error is not None:
                self._stop(run, task, FAILED, f"target check after {task.where()}: {check_error}", None)
                return
            if run.executor.after_task(outcome):  # the same step boundary as `stfmr run`'s, analysed already
                self._drop(run)
                self.run_ended.emit(run, run.conclude())
            elif not any(r is run for r, _ in self.pending) and not self._queue_round(run, task):
                self.run_ended.emit(run, run.conclude())
            if self._is_continuous:
                self.next()

    def _drop(self, run: GuiRun) -> None:
        """The run stopped at its target: its queued tasks are not run (they stay in its sequence, never measured)."""
        left = [task for r, task in self.pending if r is run]
        if not left:
            return
        kept = [(r, task) for r, task in self.pending if r is not run]
        self.pending.clear()
        self.pending.extend(kept)
        log.info("%s: target reached: %d queued task%s not run (%s)", run.path.name, len(left),
                 "" if len(left) == 1 else "s",
                 ", ".join(task.where() for task in left[:4]) + (", ..." if len(left) > 4 else ""))
        self.queued.emit(None)

    def _queue_round(self, run: GuiRun, task: Task) -> bool:
        """The run's queue is done: queue the next round of its target, if any; True when one was queued."""
        try:
            tasks = run.executor.next_round()
        except Exception as exc:  # noqa: BLE001 - the round's steps refused, or the folder not written: run stopped
            self._stop(run, task, FAILED, str(exc), None)
            return True  # the run's end is recorded
        if not tasks:
            return False
        for queued in tasks:
            self.pending.append((run, queued))
        self.queued.emit(None)
        return True

    def _stop(self, run: GuiRun, task: Task, state: str, error: str | None, unsafe: dict[str, Any] | None) -> None:
        """Pause the queue, keep the stopped task first in it, and record why the run stopped."""
        self._start_on_add = False
        self._is_continuous = False
        if task.key not in run.folder.completed_keys():
            self.pending.appendleft((run, task))
        self.run_ended.emit(run, run.conclude(state, error, unsafe))

    def abort(self) -> None:
        """Stop the running task at its next point (its bench is made safe) and pause the queue."""
        if not self.is_running():
            raise RuntimeError("Attempting to abort when no experiment is running")
        self._start_on_add = False
        self._is_continuous = False
        self.stop_event.set()
        self.aborted.emit(self._running_experiment)

    def resume(self) -> None:
        """Continue the queue, the stopped task first."""
        self._start_on_add = True
        self._is_continuous = True
        self.stop_event.clear()
        self.next()

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Block until the running task (with its safe ending) has returned; True if it has."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
            return not thread.is_alive()
        return True


__all__ = ["PROCEDURE_STATUS", "ExecutorManager", "GuiRun", "TaskQueue", "session_sequence", "unique_folder"]
