"""A run folder being measured into: created atomically, locked while in use, journalled task by task.

- :meth:`RunFolder.create` builds the folder's first contents (``sequence.toml``,
  ``manifest.json``, an empty journal) in a hidden sibling folder and renames it
  into place, so a kill at any moment leaves either no run folder (start again,
  nothing was measured) or a complete, resumable one.
- An OS-level lock (``filelock``: flock on POSIX, msvcrt on Windows) is held on
  ``.stfmr.lock`` for as long as the folder is open, so two processes can never
  measure into one folder (on a real bench: drive one magnet).
- :meth:`RunFolder.reopen` (``--resume``) refuses another sequence, and another
  bench or simulated sample unless told otherwise, sets every unfinished file
  aside as ``*.incomplete*.csv`` (with any output its task may have written),
  and reports the bench settings earlier steps made (the lock-in phase found by
  ``autophase``) so that they are applied again before anything is measured.

The format itself (what the manifest and journal hold, how they are read) is
:mod:`stfmr.analysis.run_manifest`.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from stfmr import __version__
from stfmr.analysis.run_manifest import (
    COMPLETE,
    FORMAT,
    INCOMPLETE,
    JOURNAL,
    MANIFEST,
    SEQUENCE_COPY,
    RunFolderError,
    confined,
    load_manifest,
)
from stfmr.procedures.sequence import Sequence

log = logging.getLogger(__name__)

LOCK = ".stfmr.lock"
#: bench settings a step can change, and the manifest key that records the new value
STEP_SETTINGS = ("lockin_phase_deg",)


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temporary file, fsync it, then rename it over ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def bench_identity(bench_header: dict[str, Any]) -> dict[str, Any]:
    """What makes two benches the same for a resume: simulated or not, each role's driver and *IDN?,
    and for a virtual bench its sample and noise seed (addresses may change, instruments may not)."""
    roles = {name: {"driver": role.get("driver"), "identity": role.get("identity")}
             for name, role in sorted(bench_header.get("roles", {}).items())}
    identity: dict[str, Any] = {"SIMULATED": bool(bench_header.get("SIMULATED")), "roles": roles}
    sim = bench_header.get("simulation")
    if sim:
        identity["simulation"] = {"sample": sim.get("sample"), "seed": sim.get("seed")}
    return identity


def identity_differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Human-readable differences between two bench identities."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += identity_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} then, {b!r} now")
    return out


class RunFolder:
    """An open, locked run folder: its manifest header, its entries, and the journal they are appended to."""

    def __init__(self, path: Path, header: dict[str, Any], entries: list[dict[str, Any]], lock: FileLock) -> None:
        self.path = path
        self.header = header
        self.entries = entries
        self._lock = lock

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | Path, sequence: Sequence, bench_header: dict[str, Any]) -> RunFolder:
        """Create a new run folder for ``sequence`` (refused if ``path`` holds anything)."""
        path = Path(path)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise RunFolderError(f"run folder {path} exists and is not empty: use --resume to continue it, "
                                 "or choose another --out")
        header = {
            "format": FORMAT,
            "stfmr_version": __version__,
            "created": now_iso(),
            "sequence_file": sequence.source,
            "sequence_sha256": sequence.sha256,
            "SIMULATED": bool(bench_header.get("SIMULATED")),
            "bench": bench_header,
            "bench_identity": bench_identity(bench_header),
            "sample": sequence.sample.to_dict() if sequence.sample is not None else None,
            "state": "running",
            "tasks": len(sequence.tasks),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_drafts(path)
        draft = path.with_name(f".{path.name}.creating-{os.getpid()}")
        shutil.rmtree(draft, ignore_errors=True)
        draft.mkdir()
        try:
            (draft / SEQUENCE_COPY).write_text(sequence.text, encoding="utf-8")
            (draft / JOURNAL).write_text(json.dumps({"journal": FORMAT, "SIMULATED": header["SIMULATED"]}) + "\n",
                                         encoding="utf-8")
            write_json_atomic(draft / MANIFEST, header)
            if path.exists():
                path.rmdir()  # empty (checked above): the draft takes its place
            os.rename(draft, path)
        except BaseException:
            shutil.rmtree(draft, ignore_errors=True)
            raise
        return cls(path, header, [], _take_lock(path))

    @classmethod
    def reopen(cls, path: str | Path, sequence: Sequence, bench_header: dict[str, Any], *,
               allow_bench_change: bool = False) -> RunFolder:
        """Open a run folder to continue it with ``sequence`` on the bench described by ``bench_header``."""
        path = Path(path)
        if not (path / MANIFEST).exists():
            raise RunFolderError(f"{path} holds no {MANIFEST} to continue: nothing was recorded there, "
                                 "so start the run again without --resume")
        lock = _take_lock(path)
        try:
            manifest = load_manifest(path)
            header = manifest.header
            if header.get("sequence_sha256") != sequence.sha256:
                raise RunFolderError(f"run folder {path} was started with a different sequence "
                                     f"({header.get('sequence_file')}); resume with the same file "
                                     f"({path / SEQUENCE_COPY} is a copy of it)")
            old = header.get("bench_identity") or bench_identity(header.get("bench", {}))
            differences = identity_differences(old, bench_identity(bench_header))
            if differences and not allow_bench_change:
                raise RunFolderError(f"run folder {path} was measured on another bench or sample ("
                                     + "; ".join(differences[:4]) + "): resume it on the same bench, or pass "
                                     "--allow-bench-change to mix the two knowingly")
            folder = cls(path, header, manifest.entries, lock)
            if header.get("format") != FORMAT:
                folder._migrate()
            folder._set_aside_unfinished()
            resumed: dict[str, Any] = {"at": now_iso()}
            if differences:
                resumed["bench_changed"] = differences
                log.warning("resuming %s on a different bench (allowed): %s", path, "; ".join(differences))
            header.setdefault("resumed", []).append(resumed)
            header["state"] = "running"
            for key in ("error", "unsafe"):
                header.pop(key, None)
            folder.save_header()
            return folder
        except BaseException:
            lock.release()
            raise

    def _migrate(self) -> None:
        """Rewrite an older (stfmr-run/1) folder in the journal format before continuing it."""
        for entry in self.entries:
            self._append(entry)
        self.header["format"] = FORMAT
        self.header.pop("entries", None)

    def _set_aside_unfinished(self) -> None:
        """Keep every unfinished file (and any output its task wrote) under a name marking it incomplete."""
        kept = {name for e in self.entries if e["status"] == COMPLETE for name in e.get("outputs", [])}
        for entry in self.entries:
            if entry["status"] == COMPLETE or entry.get("set_aside"):
                continue
            new_name = _set_aside(self.path, entry["file"])
            if new_name is not None:
                entry["file"] = new_name
            for output in entry.get("planned_outputs", []):
                if output not in kept:
                    _set_aside(self.path, output)
            entry["status"] = INCOMPLETE
            entry["set_aside"] = True
            self.record(entry)
            log.info("resume: %s kept as %s (incomplete), will be measured again", entry.get("label"), entry["file"])

    # -- recording -------------------------------------------------------------------------

    def record(self, entry: dict[str, Any]) -> None:
        """Append the entry's present record to the journal (flushed and fsynced)."""
        if entry not in self.entries:
            self.entries.append(entry)
        self._append(entry)

    def _append(self, entry: dict[str, Any]) -> None:
        line = json.dumps({"entry": entry}, default=str, separators=(",", ":")) + "\n"
        with open(self.path / JOURNAL, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def save_header(self) -> None:
        write_json_atomic(self.path / MANIFEST, self.header)

    def set_state(self, state: str, error: str | None = None, unsafe: dict[str, Any] | None = None) -> None:
        """Record the run's state (running, finished, aborted, failed, unsafe) in the manifest."""
        self.header["state"] = state
        for key, value in (("error", error), ("unsafe", unsafe)):
            if value:
                self.header[key] = value
            else:
                self.header.pop(key, None)
        self.save_header()

    def extend(self, sequence: Sequence) -> None:
        """The sequence grew (the GUI queued more steps): store its new text and identity; the run is running again."""
        tmp = self.path / (SEQUENCE_COPY + ".tmp")
        tmp.write_text(sequence.text, encoding="utf-8")
        os.replace(tmp, self.path / SEQUENCE_COPY)
        self.header["sequence_sha256"] = sequence.sha256
        self.header["tasks"] = len(sequence.tasks)
        self.header["state"] = "running"
        for key in ("error", "unsafe"):
            self.header.pop(key, None)
        self.save_header()

    def close(self) -> None:
        """Release the lock (the folder stays as it is)."""
        self._lock.release()

    # -- reading ---------------------------------------------------------------------------

    def completed_keys(self) -> set[str]:
        return {e["key"] for e in self.entries if e["status"] == COMPLETE}

    def file_path(self, name: str) -> Path:
        return confined(self.path, name, "file")

    def resonances(self) -> list[tuple[float, float]]:
        """(f in GHz, positive-branch H_r in mT) of every fitted spectrum so far."""
        out = []
        for e in self.entries:
            if e["status"] == COMPLETE and e["procedure"] == "FieldSweep":
                for fit in e.get("fits", []):
                    if fit["polarity"] == 1:
                        out.append((e["parameters"]["frequency_GHz"], fit["H_r"]["value"]))
        return out

    def step_settings(self) -> dict[str, Any]:
        """Bench settings that completed steps changed, the latest of each (e.g. ``lockin_phase_deg``)."""
        out: dict[str, Any] = {}
        for e in self.entries:
            if e["status"] == COMPLETE:
                for key in STEP_SETTINGS:
                    if e.get(key) is not None:
                        out[key] = e[key]
        return out


def _take_lock(path: Path) -> FileLock:
    lock = FileLock(str(path / LOCK), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RunFolderError(f"run folder {path} is in use by another stfmr process (its lock {LOCK} is held): "
                             "one run folder, one process") from None
    return lock


def _set_aside(folder: Path, name: str) -> str | None:
    """Rename ``name`` to ``<stem>.incomplete[-n].csv``; return the new name (None if the file is absent)."""
    old = confined(folder, name, "file")
    if not old.exists():
        return None
    stem, suffix = old.name.rsplit(".", 1) if "." in old.name else (old.name, "")
    dot = f".{suffix}" if suffix else ""
    n = 1
    new = old.with_name(f"{stem}.incomplete{dot}")
    while new.exists():
        n += 1
        new = old.with_name(f"{stem}.incomplete-{n}{dot}")
    os.replace(old, new)
    return new.name


def _remove_stale_drafts(path: Path) -> None:
    """Remove drafts of this folder left by a creation that was killed (their process is gone)."""
    for draft in path.parent.glob(f".{path.name}.creating-*"):
        try:
            pid = int(draft.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(draft, ignore_errors=True)


def _alive(pid: int) -> bool:
    if os.name == "nt":
        return True  # os.kill(pid, 0) would terminate the process on Windows: keep the draft
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


__all__ = ["LOCK", "RunFolder", "RunFolderError", "bench_identity", "now_iso", "write_json_atomic"]
