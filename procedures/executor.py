"""The one executor: every task of a sequence into a run folder, for the command line and the GUI alike.

For each task the executor

1. places a centred window on the resonance that a Kittel fit of the spectra
   measured so far predicts (at run time, not when the task was queued);
2. builds the task's pymeasure Procedure through ``set_parameters`` (the
   Parameters are the one home of defaults and ranges) and records the entry
   (``running``) in the run folder's journal;
3. runs it in a :class:`~stfmr.procedures.recording.RecordingWorker`, which
   writes and flushes each row itself; the procedure's own safe ending verifies
   the bench by read-back;
4. records the outcome: ``complete`` only when every row reached the disk and
   the task ended without error or abort.

The run stops (no further task starts) when a task fails, is aborted, meets a
supply trip, or ends with a safe state that could not be verified; the
manifest's state then says ``failed``, ``aborted`` or ``unsafe`` (with the
instruments to switch off by hand). ``finished`` means every task of the
sequence is complete and every ending was verified safe, or the sequence's
``target`` was reached (the manifest's ``target`` record says so; see
:mod:`stfmr.procedures.target`: at each step boundary the run so far is
analysed, and when every task is done short of the target the marked steps
are appended again). ``stfmr run`` and the GUI's queue, which hands the
executor one task at a time, share that logic: :meth:`Executor.after_task`
(stop here?) and :meth:`Executor.next_round`.

Ctrl-C and SIGTERM (on the main thread) only set the stop event: the running
spectrum stops at its next point and the bench is made safe, whenever they
arrive, between tasks included. ``stfmr run --resume`` continues the folder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pymeasure.experiment import Procedure, Results

from stfmr.analysis.resonance import ResonanceFitError, fit_kittel, resonance_field_mT
from stfmr.instruments.roles import BenchLike
from stfmr.analysis.run_manifest import (
    ABORTED,
    COMPLETE,
    FAILED,
    FINISHED,
    LOG,
    RUNNING,
    UNSAFE,
    RunFolderError,
)
from stfmr.procedures.base import BenchProcedure
from stfmr.procedures.recording import RecordingWorker
from stfmr.procedures.registry import build_procedure, recorded_parameters
from stfmr.procedures.run_folder import RunFolder, now_iso
from stfmr.procedures.safety import SafeEnd
from stfmr.procedures import target as run_target
from stfmr.procedures.sequence import Sequence, SequenceError, Task, load_sequence, window_range

log = logging.getLogger(__name__)

#: the error recorded for a task or run the operator stopped (Abort, Ctrl-C, SIGTERM)
ABORTED_BY_OPERATOR = "aborted by the operator"


class ExecutorObserver:
    """What the executor tells its front end (the progress bar, the GUI). Every method may be overridden.

    The methods are called from the executor's thread (``fit``, ``status`` and
    ``progress`` from the measuring thread): a GUI must hand them to its own
    thread (queued Qt signals).
    """

    def run_started(self, folder: RunFolder, total: int, done: int) -> None:
        """The run folder is open; ``done`` of ``total`` tasks are complete already."""

    def task_started(self, task: Task, entry: dict[str, Any], procedure: BenchProcedure, results: Results) -> None:
        """A task's Results file exists (header written) and its worker is about to start."""

    def task_finished(self, task: Task, outcome: TaskOutcome) -> None:
        """A task ended (its entry recorded)."""

    def progress(self, percent: float) -> None:
        """Progress of the running task (0-100)."""

    def fit(self, fits: list) -> None:
        """A live fit of the running spectrum (list of SpectrumFit)."""

    @property
    def wants_fits(self) -> bool:
        """True when :meth:`fit` does something: only then are spectra fitted live as they arrive."""
        return "fit" in vars(self) or type(self).fit is not ExecutorObserver.fit

    def status(self, text: str) -> None:
        """A one-line safety state ("ramping magnet to zero", "magnet at zero")."""

    def run_ended(self, outcome: RunOutcome) -> None:
        """The run stopped or finished (the manifest's state written)."""


@dataclass
class TaskOutcome:
    """How one task ended."""

    task: Task
    entry: dict[str, Any]
    status: str  #: complete, failed or aborted
    error: str | None = None
    safe_end: SafeEnd | None = None

    @property
    def unsafe(self) -> bool:
        return self.safe_end is not None and not self.safe_end.safe

    @property
    def trips(self) -> list[str]:
        return self.safe_end.trips if self.safe_end is not None else []


@dataclass
class RunOutcome:
    """How a run ended: ``finished`` (every task complete, every ending verified), aborted, failed or unsafe."""

    state: str
    completed: int  #: tasks complete in the folder (this run and earlier ones)
    total: int
    error: str | None = None
    #: the unverified safe state: instruments, last known states, what to switch off by hand
    unsafe: dict[str, Any] | None = None
    #: problems met on the way to a safe state that was still verified (retries, reconnects)
    safety_problems: tuple[str, ...] = ()
    #: why a run with a target stopped ("target reached", "target not reached (...) after N rounds")
    stopped: str | None = None

    @property
    def instructions(self) -> str:
        return (self.unsafe or {}).get("instructions") or ""

    @property
    def by_operator(self) -> bool:
        """True when the operator stopped the run (Abort, Ctrl-C, SIGTERM): an end, not a fault to report."""
        return self.state == ABORTED and self.error == ABORTED_BY_OPERATOR


class TargetRoundError(Exception):
    """The steps a target's round would append were refused (the run stops, failed)."""


def predicted_resonance_mT(task: Task, resonances: list[tuple[float, float]]) -> tuple[float, str]:
    """Centre of a task's window: a Kittel fit (g fixed) of the run's spectra, or the configured M_eff."""
    assert task.window is not None
    width, meff, g = task.window
    f = task.parameters["frequency_GHz"]
    if len({round(fr, 9) for fr, _ in resonances}) >= 2:
        freqs, fields = zip(*resonances)
        try:
            kittel = fit_kittel(list(freqs), list(fields), fit_g=False, g=g)
            return float(kittel.resonance_field_mT(f)), f"Kittel fit of {len(resonances)} spectra"
        except (ResonanceFitError, ValueError) as exc:
            log.warning("Kittel prediction failed (%s); using mu0*M_eff = %g T", exc, meff)
    return float(resonance_field_mT(f, meff, g)), f"mu0*M_eff = {meff:g} T"


def resolve_parameters(task: Task, folder: RunFolder) -> dict[str, Any]:
    """The task's parameters with its window (if any) centred on the predicted resonance."""
    params = dict(task.parameters)
    if task.window is not None:
        center, source = predicted_resonance_mT(task, folder.resonances())
        params["field_start_mT"], params["field_stop_mT"] = window_range(task.window[0], center)
        log.info("%s %s: window centred on %.2f mT (%s)", task.kind, task.label, center, source)
    return params


def file_name(index: int, task: Task) -> str:
    return f"{index:04d}_{task.kind}_{task.label}.csv"


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """While measuring on the main thread, Ctrl-C and SIGTERM set ``stop`` instead of raising anywhere."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            log.warning("interrupted again: still stopping and making the bench safe")
        else:
            log.warning("interrupted (%s): stopping at the next point and making the bench safe",
                        signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class Executor:
    """Runs tasks of one sequence into one open run folder on one bench."""

    def __init__(self, bench: BenchLike, folder: RunFolder, sequence: Sequence, *, stop: threading.Event | None = None,
                 observer: ExecutorObserver | None = None, retry_s: float | None = None) -> None:
        self.bench = bench
        self.folder = folder
        self.sequence = sequence
        self.stop = stop or threading.Event()
        self.observer = observer or ExecutorObserver()
        self.retry_s = retry_s
        self.worker: RecordingWorker | None = None
        self._settings_applied = False
        #: the latest target check (None: none since the last task)
        self._check: run_target.TargetCheck | None = None
        #: why the run stopped at its target ("target reached", "target not reached (...) after N rounds"); None: it
        #: did not (yet)
        self.stopped: str | None = None

    # -- the run --------------------------------------------------------------------------

    def pending(self) -> list[Task]:
        done = self.folder.completed_keys()
        return [t for t in self.sequence.tasks if t.key not in done]

    def run(self, tasks: list[Task] | None = None) -> RunOutcome:
        """Run ``tasks`` (default: every task not yet complete) until done or stopped; record the run's state."""
        tasks = self.pending() if tasks is None else list(tasks)
        outcome = RunOutcome(RUNNING, len(self.folder.completed_keys()), len(self.sequence.tasks))
        problems: list[str] = []
        try:
            with stop_on_signals(self.stop):
                self.observer.run_started(self.folder, outcome.total, outcome.completed)
                self.apply_step_settings()
                stopped = self.reached_before() or self._measure(tasks, outcome, problems)
                while not stopped and outcome.state == RUNNING:
                    more = self.next_round()
                    if not more:
                        break
                    outcome.total = len(self.sequence.tasks)
                    stopped = self._measure(more, outcome, problems)
        except KeyboardInterrupt:  # a signal handler could not be installed (not the main thread)
            self.stop.set()
            self._finish_worker()
            outcome.state, outcome.error = ABORTED, "interrupted"
        except TargetRoundError as exc:
            outcome.state, outcome.error = FAILED, str(exc)
        except (OSError, RunFolderError) as exc:
            outcome.state, outcome.error = FAILED, f"run folder {self.folder.path}: {exc}"
            log.error("%s", outcome.error)
        finally:
            outcome.safety_problems = tuple(problems)
            self.conclude(outcome)
        return outcome

    def _measure(self, tasks: list[Task], outcome: RunOutcome, problems: list[str]) -> bool:
        """Run ``tasks`` in order; True when the run stops (a fault, an abort, the target reached)."""
        for task in tasks:
            if task.key in self.folder.completed_keys():
                continue
            if self.stop.is_set():
                outcome.state, outcome.error = ABORTED, ABORTED_BY_OPERATOR
                return True
            result = self.run_task(task)
            if result.safe_end is not None:
                problems += result.safe_end.problems
            stop_state = self._stop_state(result)
            if result.status == COMPLETE:
                outcome.completed += 1
            if stop_state is not None:
                outcome.state, outcome.error = stop_state, result.error
                if result.unsafe:
                    outcome.unsafe = _unsafe_record(result)
                return True
            if self.after_task(result):
                return True
        return False

    # -- the target (the command line's run and the GUI's queue alike) ----------------------------

    def reached_before(self) -> bool:
        """True when an earlier run of this folder stopped at its target (a resume measures nothing more)."""
        record = self.folder.header.get(run_target.MANIFEST_KEY) or {}
        if self.sequence.target is None or record.get("stopped") != run_target.REACHED:
            return False
        self.stopped = run_target.REACHED
        log.info("the run reached its target before (xi_DL^E relative error %.3g): nothing more to measure",
                 record.get("xi_DL_E_rel", float("nan")))
        return True

    def step_ends(self, task: Task) -> bool:
        """True when no task of ``task``'s step is left to measure (the step boundary a target is checked at)."""
        done = self.folder.completed_keys()
        return not any(t.step == task.step and t.key not in done for t in self.sequence.tasks)

    def after_task(self, result: TaskOutcome) -> bool:
        """After a task that did not stop the run: stop here? True when its step ends at the target.

        At a step boundary of a sequence with a target the run folder so far is
        analysed; when xi_DL^E's relative error is at most the target, the
        manifest's target record says why the run stops (:meth:`conclude`
        writes it, the run ``finished``). Call :meth:`next_round` when every
        task is done and this never said stop.
        """
        if not self._checks_after(result):
            return False
        return self._target_reached(result.task.step)

    def check_target(self, result: TaskOutcome) -> None:
        """Run ahead, in the caller's thread, the analysis :meth:`after_task` will need for this task (if any).

        The analysis is the slow part (a second or so); the GUI runs it in its
        worker thread and calls :meth:`after_task` (then quick) in its own.
        """
        if self._checks_after(result):
            self._target_check(f"step {result.task.step}")

    def _checks_after(self, result: TaskOutcome) -> bool:
        """True when the target is checked after this task: it completed the last task of its step."""
        return self.sequence.target is not None and result.status == COMPLETE and self.step_ends(result.task)

    def _target_check(self, after: str) -> run_target.TargetCheck:
        """Analyse the run folder so far (once per task boundary) and log where xi_DL^E stands."""
        if self._check is None:
            self._check = run_target.check_run(self.folder.path)
            assert self.sequence.target is not None
            if self._check.rel is None:
                log.info("target check after %s: no xi_DL^E yet (%s)", after, self._check.why_not)
            else:
                log.info("target check after %s: xi_DL^E relative error %.3g (target %g)", after, self._check.rel,
                         self.sequence.target.xi_DL_E_rel)
        return self._check

    def _target_reached(self, step: int) -> bool:
        """At a step boundary: when the target is reached, record why the run stops."""
        assert self.sequence.target is not None
        check = self._target_check(f"step {step}")
        if not check.reached(self.sequence.target.xi_DL_E_rel):
            return False
        record = run_target.record(self.folder.header, self.sequence)
        record.update(stopped=run_target.REACHED, xi_DL_E_rel=check.rel, after_step=step, at=now_iso())
        self.stopped = run_target.REACHED
        log.info("target reached after step %d: xi_DL^E relative error %.3g <= %g: the run stops", step, check.rel,
                 self.sequence.target.xi_DL_E_rel)
        return True

    def next_round(self) -> list[Task]:
        """Every task done short of the target: append the marked steps the budget picks; return their tasks.

        The grown sequence goes into the run folder (``sequence.toml`` and the
        manifest's target record), so ``stfmr run --resume`` continues it. An
        empty list when there is no target, a task is left to measure, the
        target is reached, or no round is left (:attr:`stopped` then says why).
        Raises :class:`TargetRoundError` when the repeated steps are refused.
        """
        target = self.sequence.target
        if target is None or self.stopped is not None:
            return []
        if self.folder.completed_keys() < {t.key for t in self.sequence.tasks}:
            return []  # a task was left out (the caller's list): conclude says so
        check = self._target_check("every task")
        record = run_target.record(self.folder.header, self.sequence)
        if check.reached(target.xi_DL_E_rel):
            record.update(stopped=run_target.REACHED, xi_DL_E_rel=check.rel, at=now_iso())
            self.stopped = run_target.REACHED
            return []
        done = len(record["rounds"])
        steps, why = run_target.choose_steps(self.sequence, check) if done < target.max_rounds else ([], "")
        if not steps:
            where = f"{check.rel:.3g} > {target.xi_DL_E_rel:g}" if check.rel is not None \
                else f"xi_DL^E not derived: {check.why_not}"
            self.stopped = f"target not reached ({where}) after {done} rounds" + (f"; {why}" if why else "")
            record.update(stopped=self.stopped, xi_DL_E_rel=check.rel, at=now_iso())
            log.warning("%s", self.stopped)
            return []
        known = {t.key for t in self.sequence.tasks}
        try:
            grown = self.sequence.with_steps(steps, self.bench.config)
        except SequenceError as exc:
            raise TargetRoundError(f"target round {done + 1}: the repeated steps were refused: {exc}") from exc
        added = [t for t in grown.tasks if t.key not in known]
        record["rounds"].append({"round": done + 1, "steps": sorted({t.step for t in added}),
                                 "kinds": list(dict.fromkeys(s["kind"] for s in steps)), "why": why,
                                 "xi_DL_E_rel": check.rel, "at": now_iso()})
        self.folder.extend(grown)  # the grown sequence text and the round, in one manifest write
        self.sequence = grown
        self._check = None
        log.info("target round %d of %d: xi_DL^E relative error %s > %g: repeating %s (%d tasks); %s", done + 1,
                 target.max_rounds, f"{check.rel:.3g}" if check.rel is not None else "unknown", target.xi_DL_E_rel,
                 ", ".join(record["rounds"][-1]["kinds"]), len(added), why)
        return added

    def conclude(self, outcome: RunOutcome) -> RunOutcome:
        """Settle the run's state and record it: a run still 'running' is finished only when every task is complete.

        A run that stopped at its target (:attr:`stopped`) is finished with tasks left, and says why.
        """
        keys = {t.key for t in self.sequence.tasks}
        if self.stopped is not None and outcome.state in (RUNNING, FINISHED):
            outcome.stopped = self.stopped
            if self.stopped == run_target.REACHED:
                outcome.state = FINISHED
        if outcome.state == RUNNING:
            complete = self.folder.completed_keys() >= keys
            outcome.state = FINISHED if complete else ABORTED
            if not complete:
                outcome.error = outcome.error or "stopped before every task was complete"
        outcome.completed = len(self.folder.completed_keys() & keys)
        outcome.total = len(keys)
        self._record_state(outcome)
        self.observer.run_ended(outcome)
        return outcome

    def stop_state(self, result: TaskOutcome) -> str | None:
        """The run's state if this task's outcome stops the run (unsafe, failed, aborted), else None."""
        return self._stop_state(result)

    def _stop_state(self, result: TaskOutcome) -> str | None:
        """The run's state if this task's outcome stops the run, else None."""
        if result.unsafe:
            return UNSAFE
        if result.status == FAILED:
            return FAILED
        if result.trips:
            result.error = "supply trip during the safe ending: " + "; ".join(result.trips)
            return FAILED
        if result.status == ABORTED:
            return ABORTED
        return None

    def _record_state(self, outcome: RunOutcome) -> None:
        try:
            self.folder.set_state(outcome.state, outcome.error, outcome.unsafe)
        except OSError as exc:  # e.g. a full disk: say it, the journal already holds every entry
            log.error("could not record the run's state (%s) in %s: %s", outcome.state, self.folder.path, exc)
        log.info("run %s %s: %d of %d tasks complete%s%s", self.folder.path, outcome.state, outcome.completed,
                 outcome.total, f" ({outcome.error})" if outcome.error else "",
                 f" ({outcome.stopped})" if outcome.stopped else "")
        if outcome.unsafe:
            log.critical("bench NOT verified safe: switch off by hand: %s", outcome.instructions)

    def apply_step_settings(self) -> None:
        """Apply again the bench settings earlier steps made (the lock-in phase an autophase found)."""
        if self._settings_applied:
            return
        self._settings_applied = True
        phase = self.folder.step_settings().get("lockin_phase_deg")
        if phase is None:
            return
        detector = self.bench.detector
        detector.set_phase(float(phase))
        read = float(detector.phase())
        if abs((read - float(phase) + 180.0) % 360.0 - 180.0) > 0.01:
            raise RunFolderError(f"the lock-in phase an earlier autophase set ({phase:.2f} deg) reads back as "
                                 f"{read:.2f} deg")
        log.info("lock-in phase set to %.2f deg, as the run's autophase found", float(phase))

    # -- one task --------------------------------------------------------------------------

    def run_task(self, task: Task) -> TaskOutcome:
        """Measure one task into its Results file and record the outcome in the journal."""
        folder = self.folder
        if self.stopped is not None:  # tasks queued after the run stopped at its target: the run goes on
            self.stopped = None
            (folder.header.get(run_target.MANIFEST_KEY) or {}).pop("stopped", None)
        index = len(folder.entries)
        where = task.where()
        entry: dict[str, Any] = {"index": index, "key": task.key, "step": task.step, "kind": task.kind,
                                 "procedure": task.procedure, "label": task.label, "file": file_name(index, task),
                                 "parameters": dict(task.parameters), "status": RUNNING, "started": now_iso()}
        try:
            procedure = build_procedure(task.procedure, resolve_parameters(task, folder), where)
        except ValueError as exc:  # nothing has moved
            return self._refused(task, entry, str(exc))
        entry["parameters"] = recorded_parameters(procedure)
        planned = getattr(procedure, "planned_outputs", None)
        if planned is not None:
            entry["planned_outputs"] = list(planned())
        path = folder.file_path(entry["file"])
        if path.exists():
            return self._refused(task, entry, f"{where}: {entry['file']} exists already; not written over")
        folder.record(entry)
        procedure.sample_record = json.dumps(self.sequence.sample.to_dict(), separators=(",", ":"))
        procedure.bench = self.bench
        procedure.on_fit = self.observer.fit if self.observer.wants_fits else None
        procedure.on_status = self.observer.status
        if self.retry_s is not None:
            procedure.retry_s = self.retry_s
        try:
            results = Results(procedure, str(path))
        except OSError as exc:
            return self._finish(task, entry, procedure, FAILED, f"{where}: cannot write {entry['file']}: {exc}")
        worker = RecordingWorker(results)
        self.worker = worker
        self.observer.task_started(task, entry, procedure, results)
        worker.start()
        self._wait(worker, task)
        return self._conclude(task, entry, procedure, worker)

    def _wait(self, worker: RecordingWorker, task: Task) -> None:
        while not worker.done.is_set():
            try:
                # not worker.join(t): pymeasure's StoppableThread.join stops the worker after t,
                # and Thread.join itself is unreliable under Ctrl-C (see RecordingWorker)
                worker.done.wait(0.05)
                self._relay(worker)
                if self.stop.is_set() and not worker.should_stop():
                    log.warning("abort requested: stopping %s %s", task.kind, task.label)
                    worker.stop()
            except KeyboardInterrupt:
                log.warning("interrupted: stopping %s %s and making the bench safe", task.kind, task.label)
                self.stop.set()
                worker.stop()
        self._relay(worker)

    def _relay(self, worker: RecordingWorker) -> None:
        """Pass the worker's progress on to the observer."""
        while True:
            try:
                item = worker.monitor_queue.get_nowait()
            except queue.Empty:
                return
            if item is not None and item[0] == "progress":
                self.observer.progress(float(item[1]))

    def _conclude(self, task: Task, entry: dict[str, Any], procedure: BenchProcedure,
                  worker: RecordingWorker) -> TaskOutcome:
        where = task.where()
        error = getattr(procedure, "error", None) or worker.error
        if worker.write_error is not None:
            status, message = FAILED, f"{where}: {worker.write_error.strerror or worker.write_error}"
        elif error is not None or procedure.status == Procedure.FAILED:
            status = FAILED
            message = f"{where}: {error}" if error else f"{where} failed"
        elif self.stop.is_set() or procedure.status == Procedure.ABORTED:
            status, message = ABORTED, ABORTED_BY_OPERATOR
        else:
            status, message = COMPLETE, None
        write_outputs = getattr(procedure, "write_outputs", None)
        if status == COMPLETE and write_outputs is not None:
            try:  # files a procedure derives from its data (e.g. coil_calibration.csv), into the run folder
                entry["outputs"] = write_outputs(self.folder.path)
            except (ValueError, OSError) as exc:
                status, message = FAILED, f"{where}: {exc}"
        entry["fits"] = [fit.to_dict() for fit in getattr(procedure, "final_fits", [])]
        if getattr(procedure, "phase_set_deg", None) is not None:
            entry["lockin_phase_deg"] = procedure.phase_set_deg
        if getattr(procedure, "fit_error", None):
            entry["fit_error"] = procedure.fit_error
        return self._finish(task, entry, procedure, status, message)

    def _finish(self, task: Task, entry: dict[str, Any], procedure: BenchProcedure | None, status: str,
                message: str | None) -> TaskOutcome:
        safe_end: SafeEnd | None = getattr(procedure, "safe_end", None)
        entry["status"] = status
        entry["finished"] = now_iso()
        if message and status == FAILED:
            entry["error"] = message
        if safe_end is not None and (safe_end.problems or not safe_end.safe):
            entry["safe_end"] = safe_end.to_dict()
        self.folder.record(entry)
        self._check = None  # the run folder holds more than the last target check saw
        outcome = TaskOutcome(task, entry, status, message, safe_end)
        self.observer.task_finished(task, outcome)
        return outcome

    def _refused(self, task: Task, entry: dict[str, Any], message: str) -> TaskOutcome:
        """A task refused before anything moved: recorded as failed, the run stops."""
        log.error("%s", message)
        return self._finish(task, entry, None, FAILED, message)

    def _finish_worker(self) -> None:
        """After an interrupt outside the wait loop: stop the running procedure and wait for its safe end."""
        worker = self.worker
        if worker is not None and not worker.done.is_set():
            worker.stop()
            while not worker.done.is_set():
                try:
                    worker.done.wait(0.1)
                except KeyboardInterrupt:
                    log.warning("interrupted again: still waiting for the magnet to ramp down")


def _unsafe_record(result: TaskOutcome) -> dict[str, Any]:
    assert result.safe_end is not None
    record = result.safe_end.to_dict()
    record["task"] = result.task.where()
    return record


def configure_run_log(folder: Path) -> Callable[[], None]:
    """Send stfmr's and pymeasure's log records to ``run.log`` in the folder; return the undo."""
    handler = logging.FileHandler(folder / LOG, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(name) for name in ("stfmr", "pymeasure")]
    for logger in loggers:
        logger.addHandler(handler)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)

    def undo() -> None:
        for logger in loggers:
            logger.removeHandler(handler)
        handler.close()

    return undo


def open_run_folder(sequence: Sequence, bench: BenchLike, out: str | Path, *, resume: bool = False,
                    allow_bench_change: bool = False) -> RunFolder:
    """Create the run folder (or reopen it to resume), after a dry run of every task's plan on this bench."""
    from stfmr.procedures.plan_check import check_sequence

    if sequence.tasks and sequence.checked_against is not bench.config:
        check_sequence(sequence, bench.config)
    header = bench.header()
    if resume:
        return RunFolder.reopen(out, sequence, header, allow_bench_change=allow_bench_change)
    return RunFolder.create(out, sequence, header)


def grown_sequence(sequence: Sequence, out: Path, bench: BenchLike) -> Sequence:
    """The run folder's own sequence when it is ``sequence`` grown by appended steps (a target's rounds).

    A run with a target appends steps to its stored ``sequence.toml``; to resume
    it with the original file, the stored text must begin with the file's text
    and be the one the manifest names. Otherwise ``sequence`` itself is returned
    (and the resume checks it as usual).
    """
    from stfmr.analysis.run_manifest import MANIFEST, SEQUENCE_COPY

    try:
        stored = (out / SEQUENCE_COPY).read_text(encoding="utf-8")
        header = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return sequence
    if stored == sequence.text or not stored.startswith(sequence.text.rstrip("\n") + "\n"):
        return sequence
    grown = load_sequence(out / SEQUENCE_COPY, bench.config)
    if not isinstance(header, dict) or header.get("sequence_sha256") != grown.sha256:
        return sequence
    grown.source = sequence.source
    log.info("resume: the run folder's sequence is %s with %d steps appended (its target's rounds)",
             sequence.source, len({t.step for t in grown.tasks}) - len({t.step for t in sequence.tasks}))
    return grown


def run_sequence(
    sequence: Sequence,
    bench: BenchLike,
    out: str | Path,
    *,
    resume: bool = False,
    progress: TextIO | None = None,
    stop: threading.Event | None = None,
    on_fit: Callable[[list], None] | None = None,
    observer: ExecutorObserver | None = None,
    allow_bench_change: bool = False,
    retry_s: float | None = None,
) -> RunOutcome:
    """Run every task of ``sequence`` on ``bench`` into the run folder ``out`` (headless).

    ``stop`` (set by Ctrl-C, SIGTERM or a caller) aborts after the current point:
    the running procedure ends safely and the run is marked aborted.
    ``progress``: a text stream for a progress bar with ETA (None: none).
    """
    from stfmr.procedures.progress import TextProgress

    if observer is None:
        observer = TextProgress(progress) if progress is not None else ExecutorObserver()
    if on_fit is not None:
        # this instance's fit replaced (mypy types the attribute as the unbound method, self included)
        observer.fit = on_fit  # type: ignore[method-assign, assignment]
    if resume:
        sequence = grown_sequence(sequence, Path(out), bench)
    folder = open_run_folder(sequence, bench, out, resume=resume, allow_bench_change=allow_bench_change)
    undo_log = configure_run_log(folder.path)
    try:
        log.info("run %s: %d tasks, %d already complete%s", folder.path, len(sequence.tasks),
                 len(folder.completed_keys()), " (SIMULATED bench)" if bench.simulated else "")
        return Executor(bench, folder, sequence, stop=stop, observer=observer, retry_s=retry_s).run()
    finally:
        undo_log()
        folder.close()


__all__ = ["Executor", "ExecutorObserver", "RunOutcome", "TargetRoundError", "TaskOutcome", "grown_sequence",
           "open_run_folder",
           "run_sequence",
           "stop_on_signals"]

