"""A run folder's ``run.log`` read back as log records, for the Log tab of an opened past run.

``run.log`` is written by :func:`stfmr.procedures.executor.configure_run_log` in the form
``2026-12-01 12:46:29,516 INFO stfmr.procedures.executor: message``. A line that does not
start a record (a traceback, a message of several lines) continues the record before it.
Only the records of stfmr's own loggers are kept: those are what the GUI's Log tab showed
while the run was measured (pymeasure's worker lines go to the file only).

A long night's log is read from its end: at most :data:`MAX_BYTES` and :data:`MAX_RECORDS`,
the number left out is reported, so opening a run never stalls the window.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from stfmr.analysis.run_manifest import LOG

#: the newest part of ``run.log`` read (bytes)
MAX_BYTES = 4_000_000
#: the newest records kept
MAX_RECORDS = 5000
#: the loggers whose records the GUI's Log tab shows (and their children)
SHOWN_LOGGER = "stfmr"

_RECORD = re.compile(r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(?P<ms>\d{3}) (?P<level>[A-Z]+) "
                     r"(?P<name>[^\s:]+): (?P<message>.*)$")


@dataclass(frozen=True)
class RunLog:
    """The records read from a run folder's log, oldest first."""

    path: Path
    records: list[logging.LogRecord]
    #: stfmr records read but left out (older than the newest MAX_RECORDS)
    records_left_out: int
    #: bytes at the start of a log longer than MAX_BYTES, not read
    bytes_left_out: int


def read_run_log(folder: str | Path, max_bytes: int = MAX_BYTES, max_records: int = MAX_RECORDS) -> RunLog | None:
    """The stfmr records of ``folder/run.log``, the newest ``max_records`` of them; None without a log."""
    path = Path(folder) / LOG
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            start = max(0, size - max_bytes)
            fh.seek(start)
            raw = fh.read()
    except OSError:
        return None
    text = raw.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if start > 0:
        lines = lines[1:]  # the first line read is cut
    parts: list[tuple[re.Match, list[str]]] = []  # each shown record's first line and its continuation lines
    continuation: list[str] | None = None
    for line in lines:
        match = _RECORD.match(line)
        if match is None:
            if continuation is not None:
                continuation.append(line)
            continue
        name = match["name"]
        if name != SHOWN_LOGGER and not name.startswith(SHOWN_LOGGER + "."):
            continuation = None  # its continuation lines belong to a record not shown
            continue
        continuation = []
        parts.append((match, continuation))
    left_out = max(0, len(parts) - max_records)
    records = [_record(match, more) for match, more in parts[left_out:]]
    return RunLog(path, records, left_out, start)


def _record(match: re.Match, more: list[str]) -> logging.LogRecord:
    level = logging.getLevelName(match["level"])
    message = "\n".join([match["message"], *more])
    record = logging.LogRecord(match["name"], level if isinstance(level, int) else logging.INFO, "", 0,
                               message, None, None)
    record.created = _dt.datetime.fromisoformat(match["time"]).timestamp() + int(match["ms"]) / 1000
    record.msecs = int(match["ms"])
    return record


__all__ = ["MAX_BYTES", "MAX_RECORDS", "RunLog", "read_run_log"]
