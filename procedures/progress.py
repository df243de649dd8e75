"""A one-line progress bar with ETA on a text stream, for headless runs."""

from __future__ import annotations

import datetime as _dt
import time
from typing import Any, TextIO

from stfmr.analysis.run_manifest import COMPLETE
from stfmr.procedures.executor import ExecutorObserver, RunOutcome, TaskOutcome
from stfmr.procedures.sequence import Task


class TextProgress(ExecutorObserver):
    """Tasks done of the total, elapsed time and an ETA from this run's own pace, rewritten on one line."""

    WIDTH = 24

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.done = 0
        self.start_done = 0
        self.t0 = time.monotonic()

    def run_started(self, folder: Any, total: int, done: int) -> None:
        self.total, self.done, self.start_done = total, done, done
        self.t0 = time.monotonic()

    def task_finished(self, task: Task, outcome: TaskOutcome) -> None:
        if outcome.status == COMPLETE:
            self.done += 1
            self._draw(f"{task.kind} {task.label}")

    def run_ended(self, outcome: RunOutcome) -> None:
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self, text: str) -> None:
        new = self.done - self.start_done
        elapsed = time.monotonic() - self.t0
        eta = elapsed / new * (self.total - self.done) if new > 0 else float("nan")
        filled = int(self.WIDTH * self.done / max(self.total, 1))
        eta_text = "--" if eta != eta else str(_dt.timedelta(seconds=round(eta)))
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} "
                          f"elapsed {_dt.timedelta(seconds=round(elapsed))} ETA {eta_text}  {text[:50]:<50}")
        self.stream.flush()


__all__ = ["TextProgress"]
