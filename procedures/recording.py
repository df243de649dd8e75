"""The worker that runs one procedure and writes its rows itself, so that a failed write is never silent.

pymeasure's Worker hands each row to a Recorder thread whose logging
FileHandler swallows write errors (a full disk loses rows without a word).
:class:`RecordingWorker` writes each row in the measuring thread instead,
flushed at once: a write that fails raises :class:`RecordingError` inside the
procedure's ``emit``, so the measurement fails (its safe ending still runs) and
the task is marked failed, to be measured again on resume. The file is fsynced
before the task can be marked complete. It never publishes over ZMQ (no port).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, TextIO

from pymeasure.experiment import Results, Worker

log = logging.getLogger(__name__)


class RecordingError(OSError):
    """A row (or the final sync) of a Results file could not be written."""


class RecordingWorker(Worker):
    """pymeasure's Worker with synchronous, checked row writes and a reliable end Event.

    ``done`` is set only when ``run`` has really returned: CPython 3.11's
    ``Thread.join`` can mark a thread stopped that is still running when
    Ctrl-C interrupts the join (bpo-45274), so after an interrupt ``is_alive()``
    may claim the worker is gone while it is still ramping the magnet down.
    """

    def __init__(self, results: Results) -> None:
        super().__init__(results, port=None)
        self.done = threading.Event()
        self.rows = 0
        #: the first write failure (None when every row and the final sync reached the disk)
        self.write_error: RecordingError | None = None
        #: what made the run fail outside the procedure's own code (e.g. evaluating its header), or None
        self.error: BaseException | None = None
        self._file: TextIO | None = None

    def handle_record(self, record: dict[str, Any]) -> None:
        line = self.results.format(record) + Results.LINE_BREAK
        try:
            if self._file is None:
                # opened at the first row: pymeasure rewrites the header (Metadata) before execute
                self._file = open(self.results.data_filename, "a", encoding=Results.ENCODING)
            write_row(self._file, line)
        except OSError as exc:
            error = RecordingError(exc.errno, f"writing {os.path.basename(self.results.data_filename)} failed "
                                              f"after {self.rows} rows: {exc.strerror or exc}")
            self.write_error = self.write_error or error
            raise error from exc
        self.rows += 1

    def handle_error(self) -> None:
        """Keep the exception (pymeasure only logs and publishes its traceback) so the task says why it failed."""
        import sys

        self.error = sys.exc_info()[1]
        super().handle_error()

    def run(self) -> None:
        try:
            super().run()
        finally:
            self._close()
            self.done.set()

    def _close(self) -> None:
        fh, self._file = self._file, None
        if fh is None:
            return
        try:
            fh.flush()
            os.fsync(fh.fileno())
        except OSError as exc:
            self.write_error = self.write_error or RecordingError(
                exc.errno, f"syncing {os.path.basename(self.results.data_filename)} failed: {exc.strerror or exc}")
        finally:
            try:
                fh.close()
            except OSError as exc:
                self.write_error = self.write_error or RecordingError(exc.errno, f"closing failed: {exc}")


def write_row(fh: TextIO, line: str) -> None:
    """Write one row and flush it to the operating system (the tests replace this to fill the disk)."""
    fh.write(line)
    fh.flush()


__all__ = ["RecordingError", "RecordingWorker", "write_row"]
