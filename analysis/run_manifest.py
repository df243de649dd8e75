"""The run folder's index, read in one place: ``manifest.json`` and ``journal.jsonl``.

Format ``stfmr-run/2`` (written since stfmr 0.1.0's executor):

- ``manifest.json`` holds the run: format, stfmr version, the sequence file and
  its SHA-256, ``SIMULATED``, the bench header, the sample record, the number of
  tasks, ``state`` (running, finished, aborted, failed or unsafe) and, when the
  run did not finish, ``error`` and for an unsafe end ``unsafe`` (each
  unverified instrument, its last known state and what to switch off by hand).
  It is rewritten atomically, and only when the run's state changes.
- ``journal.jsonl`` holds the tasks: one JSON object per line, appended and
  fsynced when a task starts and when it ends, ``{"entry": {...}}`` with the
  entry's whole record at that moment (a later line for the same ``index``
  replaces the earlier one). A run of N tasks writes O(N) bytes, not O(N^2).
  A torn last line (a kill in mid-write) is ignored. The first line is the
  journal's header, ``{"journal": FORMAT, "SIMULATED": ...}``.

Format ``stfmr-run/1`` (older runs) kept the entries inline in
``manifest.json``; it is read the same way.

Every file name an entry names (its Results file, the outputs it derived) must
be a plain name inside the run folder: a manifest that points elsewhere is
refused, so a crafted folder cannot make stfmr read, rename or overwrite a file
outside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
JOURNAL = "journal.jsonl"
SEQUENCE_COPY = "sequence.toml"
LOG = "run.log"
FORMAT = "stfmr-run/2"
OLD_FORMATS = ("stfmr-run/1",)

#: entry statuses: the task's Results file is whole only when "complete"
COMPLETE, RUNNING, FAILED, ABORTED, INCOMPLETE = "complete", "running", "failed", "aborted", "incomplete"
#: run states
FINISHED, UNSAFE = "finished", "unsafe"


class RunFolderError(ValueError):
    """A run folder that cannot be created, read or resumed; the message says why."""


def confined(folder: Path, name: Any, what: str) -> Path:
    """Return ``folder / name`` when ``name`` is a plain file name in the folder; RunFolderError otherwise."""
    ok = isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name \
        and Path(name).name == name and not Path(name).is_absolute() and ":" not in name
    if not ok:
        raise RunFolderError(f"{folder / MANIFEST}: {what} {name!r} is not a plain file name inside the run "
                             "folder; refusing to use it")
    return folder / name


@dataclass
class Manifest:
    """A run folder's manifest with its entries (one per task attempt, in order)."""

    folder: Path
    header: dict[str, Any]
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state(self) -> str:
        return str(self.header.get("state", ""))

    @property
    def format(self) -> str:
        return str(self.header.get("format", ""))

    def complete_keys(self) -> set[str]:
        return {e["key"] for e in self.entries if e["status"] == COMPLETE}

    def to_dict(self) -> dict[str, Any]:
        """The manifest as one mapping (``entries`` inline), as older tools and the tests read it."""
        out = dict(self.header)
        out["entries"] = [dict(e) for e in self.entries]
        return out


def load_manifest(folder: str | Path) -> Manifest:
    """Read and check a run folder's manifest and journal (RunFolderError if absent, broken or unsafe)."""
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RunFolderError(f"{folder}: no {MANIFEST}: not an stfmr run folder") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{path}: unreadable manifest ({type(exc).__name__})") from exc
    if not isinstance(header, dict):
        raise RunFolderError(f"{path}: not a manifest (expected a JSON object)")
    fmt = header.get("format")
    if fmt == FORMAT:
        entries = read_journal(folder / JOURNAL)
    elif fmt in OLD_FORMATS:
        entries = header.pop("entries", [])
    else:
        raise RunFolderError(f"{path}: unknown manifest format {fmt!r} (this stfmr reads {FORMAT} and "
                             f"{', '.join(OLD_FORMATS)})")
    if not isinstance(entries, list):
        raise RunFolderError(f"{path}: entries must be a list")
    for entry in entries:
        _check_entry(folder, entry)
    return Manifest(folder, header, entries)


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest as one mapping with ``entries`` inline (see :func:`load_manifest`)."""
    return load_manifest(folder).to_dict()


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Replay a journal: the newest record of every entry index, in index order (a torn last line is skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path}: unreadable journal ({type(exc).__name__})") from exc
    by_index: dict[int, dict[str, Any]] = {}
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if number == 1 and isinstance(record, dict) and "journal" in record:
                continue  # the journal's own header: its format and whether the bench was simulated
            entry = record["entry"]
            index = int(entry["index"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            if number == len(lines) or (number == len(lines) - 1 and not lines[-1]):
                break  # the last line, torn by a kill: the task it records is unfinished anyway
            raise RunFolderError(f"{path}: line {number} is not a journal record ({type(exc).__name__})") from exc
        by_index[index] = entry
    return [by_index[i] for i in sorted(by_index)]


def _check_entry(folder: Path, entry: Any) -> None:
    if not isinstance(entry, dict):
        raise RunFolderError(f"{folder / MANIFEST}: an entry is not a record")
    for key in ("index", "key", "kind", "procedure", "file", "status"):
        if key not in entry:
            raise RunFolderError(f"{folder / MANIFEST}: entry {entry.get('index', '?')} has no {key!r}")
    confined(folder, entry["file"], f"entry {entry['index']} file")
    for name in entry.get("outputs", []) + entry.get("planned_outputs", []):
        confined(folder, name, f"entry {entry['index']} output")


__all__ = ["ABORTED", "COMPLETE", "FAILED", "FINISHED", "FORMAT", "INCOMPLETE", "JOURNAL", "LOG", "MANIFEST",
           "Manifest", "RUNNING", "RunFolderError", "SEQUENCE_COPY", "UNSAFE", "confined", "load_manifest",
           "read_journal", "read_manifest"]
