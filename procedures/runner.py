"""The headless runner: a sequence into a run folder, resumable after any crash.

A run folder holds one pymeasure Results file per task (one spectrum, one AMR
sweep, one rf calibration), ``manifest.json`` indexing every file with its
step, parameters, status and fits, a copy of the sequence (``sequence.toml``)
and ``run.log``. The manifest is rewritten atomically (temporary file, then
``os.replace``) before and after every task, so a kill at any moment leaves a
valid manifest. ``resume`` skips every task marked complete, keeps a partly
written file under ``*.incomplete*.csv`` (marked in the manifest) and measures
that task again: no spectrum is lost or duplicated.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pymeasure.experiment import Procedure, Results, Worker

from stfmr import __version__
from stfmr.analysis.resonance import ResonanceFitError, fit_kittel, resonance_field_mT
from stfmr.procedures.amr import AmrSweep
from stfmr.procedures.autophase import Autophase
from stfmr.procedures.field_sweep import FieldSweep
from stfmr.procedures.frequency_scan import FrequencyScan
from stfmr.procedures.magnet_calibration import MagnetCalibration
from stfmr.procedures.rf_calibration import RfCalibration
from stfmr.procedures.sequence import Sequence, SequenceError, Task, window_range

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "stfmr-run/1"
PROCEDURES: dict[str, type[Procedure]] = {"FieldSweep": FieldSweep, "Autophase": Autophase, "AmrSweep": AmrSweep,
                                          "RfCalibration": RfCalibration, "FrequencyScan": FrequencyScan}
PROCEDURES["MagnetCalibration"] = MagnetCalibration


class _Worker(Worker):
    """pymeasure's Worker with an Event that is set only when ``run`` has really returned.

    CPython 3.11's ``Thread.join`` can mark a thread stopped that is still
    running when Ctrl-C interrupts the join (bpo-45274), so after an interrupt
    ``is_alive()`` may claim the worker is gone while it is still ramping the
    magnet down. The runner waits for this Event instead.
    """

    def __init__(self, results: Results) -> None:
        super().__init__(results)
        self.done = threading.Event()

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.done.set()


class RunFolderError(ValueError):
    """A run folder that cannot be created or resumed; the message says why."""


@dataclass
class RunOutcome:
    state: str  #: "finished", "aborted" or "failed"
    completed: int  #: tasks complete in the folder (this run and earlier ones)
    total: int
    error: str | None = None
    safety_problems: tuple[str, ...] = ()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """Return the manifest of a run folder (a RunFolderError if absent or broken)."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RunFolderError(f"{folder}: no {MANIFEST}: not an stfmr run folder") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{path}: unreadable manifest: {exc}") from exc
    if manifest.get("format") != MANIFEST_FORMAT:
        raise RunFolderError(f"{path}: unknown manifest format {manifest.get('format')!r}")
    return manifest


class RunFolder:
    """The manifest of one run folder and the rules for creating and resuming it."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = path
        self.manifest = manifest

    @classmethod
    def create(cls, path: Path, sequence: Sequence, bench: Any) -> RunFolder:
        if path.exists() and any(path.iterdir()):
            raise RunFolderError(f"run folder {path} exists and is not empty: use --resume to continue it, "
                                 "or choose another --out")
        path.mkdir(parents=True, exist_ok=True)
        (path / "sequence.toml").write_text(sequence.text, encoding="utf-8")
        manifest = {
            "format": MANIFEST_FORMAT,
            "stfmr_version": __version__,
            "created": _now(),
            "sequence_file": sequence.source,
            "sequence_sha256": sequence.sha256,
            "SIMULATED": bool(bench.simulated),
            "bench": bench.header(),
            "sample": sequence.sample.to_dict(),
            "state": "running",
            "tasks": len(sequence.tasks),
            "entries": [],
        }
        folder = cls(path, manifest)
        folder.save()
        return folder

    @classmethod
    def reopen(cls, path: Path, sequence: Sequence) -> RunFolder:
        folder = cls(path, read_manifest(path))
        if folder.manifest["sequence_sha256"] != sequence.sha256:
            raise RunFolderError(f"run folder {path} was started with a different sequence "
                                 f"({folder.manifest['sequence_file']}); resume with the same file")
        folder._set_aside_unfinished()
        folder.manifest["state"] = "running"
        folder.manifest.setdefault("resumed", []).append(_now())
        folder.save()
        return folder

    def _set_aside_unfinished(self) -> None:
        """Keep every unfinished file under a name marking it incomplete; it will be measured again."""
        for entry in self.manifest["entries"]:
            if entry["status"] == "complete" or entry.get("set_aside"):
                continue
            old = self.path / entry["file"]
            stem = old.name.removesuffix(".csv")
            n = 1
            new = old.with_name(f"{stem}.incomplete.csv")
            while new.exists():
                n += 1
                new = old.with_name(f"{stem}.incomplete-{n}.csv")
            if old.exists():
                os.replace(old, new)
                entry["file"] = new.name
            entry["status"] = "incomplete"
            entry["set_aside"] = True
            log.info("resume: %s kept as %s (incomplete), will be measured again", old.name, new.name)

    def save(self) -> None:
        write_json_atomic(self.path / MANIFEST, self.manifest)

    def completed_keys(self) -> set[str]:
        return {e["key"] for e in self.manifest["entries"] if e["status"] == "complete"}

    def resonances(self) -> list[tuple[float, float]]:
        """(f in GHz, positive-branch H_r in mT) of every fitted spectrum so far."""
        out = []
        for e in self.manifest["entries"]:
            if e["status"] == "complete" and e["procedure"] == "FieldSweep":
                for fit in e.get("fits", []):
                    if fit["polarity"] == 1:
                        out.append((e["parameters"]["frequency_GHz"], fit["H_r"]["value"]))
        return out


def predicted_resonance_mT(task: Task, resonances: list[tuple[float, float]]) -> tuple[float, str]:
    """Centre of a task's window: a Kittel fit (g fixed) of the run's spectra, or the configured M_eff."""
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
    params = dict(task.parameters)
    if task.window is not None:
        center, source = predicted_resonance_mT(task, folder.resonances())
        params["field_start_mT"], params["field_stop_mT"] = window_range(task.window[0], center)
        log.info("%s %s: window centred on %.2f mT (%s)", task.kind, task.label, center, source)
    return params


def _file_name(index: int, task: Task) -> str:
    return f"{index:04d}_{task.kind}_{task.label}.csv"


def _configure_logging(folder: Path) -> logging.Handler:
    handler = logging.FileHandler(folder / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("stfmr", "pymeasure"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)
    return handler


class Progress:
    """A one-line progress bar with ETA on a text stream."""

    def __init__(self, stream: TextIO | None, total: int, done: int) -> None:
        self.stream, self.total, self.start_done = stream, total, done
        self.t0 = time.monotonic()

    def update(self, done: int, text: str) -> None:
        if self.stream is None:
            return
        new = done - self.start_done
        elapsed = time.monotonic() - self.t0
        eta = elapsed / new * (self.total - done) if new > 0 else float("nan")
        width = 24
        filled = int(width * done / max(self.total, 1))
        eta_text = "--" if eta != eta else str(_dt.timedelta(seconds=round(eta)))
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} "
                          f"elapsed {_dt.timedelta(seconds=round(elapsed))} ETA {eta_text}  {text[:50]:<50}")
        self.stream.flush()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()


def run_sequence(
    sequence: Sequence,
    bench: Any,
    out: str | Path,
    *,
    resume: bool = False,
    progress: TextIO | None = sys.stderr,
    stop: threading.Event | None = None,
    on_fit: Callable[[list], None] | None = None,
) -> RunOutcome:
    """Run every task of ``sequence`` on ``bench`` into the run folder ``out``.

    ``stop`` (set from a signal handler or the GUI) aborts after the current
    point: the running procedure ends safely and the run is marked aborted.
    """
    out = Path(out)
    if sequence.tasks and bench.limits is not None:
        from stfmr.procedures.sequence import check_limits

        check_limits(sequence.tasks, bench.limits)
    folder = RunFolder.reopen(out, sequence) if resume else RunFolder.create(out, sequence, bench)
    handler = _configure_logging(out)
    stop = stop or threading.Event()
    done_keys = folder.completed_keys()
    bar = Progress(progress, len(sequence.tasks), len(done_keys))
    outcome = RunOutcome("finished", len(done_keys), len(sequence.tasks))
    try:
        log.info("run %s: %d tasks, %d already complete%s", out, len(sequence.tasks), len(done_keys),
                 " (SIMULATED bench)" if bench.simulated else "")
        for task in sequence.tasks:
            if task.key in done_keys:
                continue
            if stop.is_set():
                outcome.state = "aborted"
                break
            try:
                status, error, problems = _run_task(task, folder, bench, sequence, stop, on_fit)
            except KeyboardInterrupt:
                stop.set()
                _finish_worker(folder)
                outcome.state, outcome.error = "aborted", "interrupted"
                break
            outcome.safety_problems += tuple(problems)
            if status == "complete":
                outcome.completed += 1
                bar.update(outcome.completed, f"{task.kind} {task.label}")
                continue
            outcome.state = "aborted" if status == "aborted" else "failed"
            outcome.error = error
            break
    finally:
        folder.manifest["state"] = outcome.state
        if outcome.error:
            folder.manifest["error"] = outcome.error
        folder.save()
        bar.close()
        log.info("run %s %s: %d of %d tasks complete%s", out, outcome.state, outcome.completed, outcome.total,
                 f" ({outcome.error})" if outcome.error else "")
        for name in ("stfmr", "pymeasure"):
            logging.getLogger(name).removeHandler(handler)
        handler.close()
    return outcome


def _finish_worker(folder: RunFolder) -> None:
    """After an interrupt outside the join loop: stop the running procedure and wait for its safe end."""
    worker = getattr(folder, "worker", None)
    if worker is not None and not worker.done.is_set():
        worker.stop()
        while not worker.done.is_set():
            try:
                worker.done.wait(0.1)
            except KeyboardInterrupt:
                log.warning("interrupted again: still waiting for the magnet to ramp down")


def _run_task(task: Task, folder: RunFolder, bench: Any, sequence: Sequence, stop: threading.Event,
              on_fit: Callable[[list], None] | None) -> tuple[str, str | None, list[str]]:
    """Measure one task into its Results file; return (status, error message, safety problems)."""
    index = len(folder.manifest["entries"])
    params = resolve_parameters(task, folder)
    entry: dict[str, Any] = {"index": index, "key": task.key, "step": task.step, "kind": task.kind,
                             "procedure": task.procedure, "label": task.label, "file": _file_name(index, task),
                             "parameters": params, "status": "running", "started": _now()}
    folder.manifest["entries"].append(entry)
    folder.save()
    procedure = PROCEDURES[task.procedure]()
    for name, value in params.items():
        setattr(procedure, name, value)
    procedure.sample_record = json.dumps(sequence.sample.to_dict(), separators=(",", ":"))
    procedure.bench = bench
    procedure.on_fit = on_fit
    results = Results(procedure, str(folder.path / entry["file"]))
    worker = _Worker(results)
    folder.worker = worker
    worker.start()
    while not worker.done.is_set():
        try:
            # not worker.join(t): pymeasure's StoppableThread.join stops the worker after t,
            # and Thread.join itself is unreliable under Ctrl-C (see _Worker)
            worker.done.wait(0.05)
            if stop.is_set() and not worker.should_stop():
                log.warning("abort requested: stopping %s %s", task.kind, task.label)
                worker.stop()
        except KeyboardInterrupt:
            log.warning("interrupted: stopping %s %s and making the bench safe", task.kind, task.label)
            stop.set()
            worker.stop()
    error = getattr(procedure, "error", None)
    problems = list(getattr(procedure, "safety_problems", []))
    if error is not None or procedure.status == Procedure.FAILED:
        entry["status"] = "failed"
        message = f"{task.kind} {task.label}: {error}" if error else f"{task.kind} {task.label} failed"
    elif stop.is_set() or procedure.status == Procedure.ABORTED:
        entry["status"] = "aborted"
        message = "aborted by the operator"
    else:
        entry["status"] = "complete"
        message = None
    write_outputs = getattr(procedure, "write_outputs", None)
    if entry["status"] == "complete" and write_outputs is not None:
        try:  # files a procedure derives from its data (e.g. coil_calibration.csv), into the run folder
            entry["outputs"] = write_outputs(folder.path)
        except (ValueError, OSError) as exc:
            entry["status"], message = "failed", f"{task.kind} {task.label}: {exc}"
    entry["finished"] = _now()
    entry["fits"] = [fit.to_dict() for fit in getattr(procedure, "final_fits", [])]
    if getattr(procedure, "phase_set_deg", None) is not None:
        entry["lockin_phase_deg"] = procedure.phase_set_deg
    if getattr(procedure, "fit_error", None):
        entry["fit_error"] = procedure.fit_error
    if message and entry["status"] == "failed":
        entry["error"] = message
    if problems:
        entry["safety_problems"] = problems
    folder.save()
    return entry["status"], message, problems


__all__ = ["RunFolder", "RunFolderError", "RunOutcome", "SequenceError", "read_manifest", "run_sequence"]
