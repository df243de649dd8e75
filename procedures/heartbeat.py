"""The runner's heartbeat: a small JSON file promising the next sign of progress by a deadline.

A :class:`Heartbeat` writes ``{"pid", "hostname", "run", "state", "beat",
"deadline", ...}`` atomically (temporary file, then ``os.replace``), so a
reader never sees half a file. ``beat`` and ``deadline`` are wall times
(seconds since the epoch, as ``time.time()``), so a watchdog on another
machine can judge them too (keep both clocks synchronised).

The beat comes from the measurement's own progress, never from a background
thread: a thread would keep beating while the runner hangs in a blocked VISA
call, and the watchdog would never act. :class:`BeatingClock` wraps
``bench.clock``; procedures and the safety layer wait through it (every
settle, dwell and ramp step), and each wait first promises the next beat
within the wait plus a grace (:data:`DEFAULT_GRACE_S`).

States: ``running`` (a measurement may hold the rf on and the magnet
energised), ``idle`` (the GUI between measurements: the bench is safe),
``ended`` (the runner finished and made the bench safe itself), and the
watchdog's outcomes ``made safe by watchdog`` or ``UNSAFE: ...``. A heartbeat
is stale (:func:`stale_reason`) when it is ``running`` past its deadline, or
``running``/``idle`` while its process (on this machine) is gone.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HEARTBEAT_FORMAT = "stfmr-heartbeat/1"
#: seconds a runner may spend between two waits (fits, file writes, instrument queries)
DEFAULT_GRACE_S = 30.0
#: least wall time (s) between two writes, unless the deadline must move later
MIN_WRITE_INTERVAL_S = 1.0

RUNNING = "running"
IDLE = "idle"
ENDED = "ended"
#: the runner ended but could not verify its safe ending: the watchdog tries again at once
ENDED_UNSAFE = "ended, safe state NOT verified"
MADE_SAFE = "made safe by watchdog"
UNSAFE = "UNSAFE"
#: states in which the runner's process is alive and owns the bench
LIVE_STATES = (RUNNING, IDLE)


class HeartbeatError(ValueError):
    """A heartbeat file that cannot be read or does not hold a heartbeat."""


class WatchdogTookOver(RuntimeError):
    """The watchdog made the bench safe while this runner was silent: it must not carry on."""


@dataclass(frozen=True)
class HeartbeatRecord:
    """One heartbeat as written: wall times in seconds since the epoch."""

    pid: int
    hostname: str
    run: str
    state: str
    beat: float
    deadline: float
    #: anything else in the file (the watchdog's outcome, for one)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def taken_over(self) -> bool:
        """True once the watchdog has written its outcome."""
        return self.state == MADE_SAFE or self.state.startswith(UNSAFE)

    def to_dict(self) -> dict[str, Any]:
        return {**self.extra, "format": HEARTBEAT_FORMAT, "pid": self.pid, "hostname": self.hostname,
                "run": self.run, "state": self.state, "beat": self.beat, "beat_utc": _utc(self.beat),
                "deadline": self.deadline, "deadline_utc": _utc(self.deadline)}

    @classmethod
    def from_dict(cls, data: Any, source: str = "heartbeat") -> HeartbeatRecord:
        if not isinstance(data, dict) or data.get("format") != HEARTBEAT_FORMAT:
            raise HeartbeatError(f"{source}: not an stfmr heartbeat (format {HEARTBEAT_FORMAT} expected)")
        try:
            known: dict[str, Any] = {
                "pid": int(data["pid"]), "hostname": str(data["hostname"]), "run": str(data["run"]),
                "state": str(data["state"]), "beat": float(data["beat"]), "deadline": float(data["deadline"])}
        except (KeyError, TypeError, ValueError) as exc:
            raise HeartbeatError(f"{source}: missing or bad key {exc}") from exc
        extra = {k: v for k, v in data.items()
                 if k not in known and k not in ("format", "beat_utc", "deadline_utc")}
        return cls(**known, extra=extra)


def read_heartbeat(path: str | Path) -> HeartbeatRecord | None:
    """Return the heartbeat in ``path``, or None if there is no file (yet)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise HeartbeatError(f"{path}: unreadable heartbeat: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HeartbeatError(f"{path}: unreadable heartbeat: {exc}") from exc
    return HeartbeatRecord.from_dict(data, str(path))


def write_heartbeat(path: str | Path, record: HeartbeatRecord) -> None:
    """Write ``record`` atomically (a reader sees the old file or the new one, never half)."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(record.to_dict(), fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def pid_alive(pid: int) -> bool:
    """True if process ``pid`` exists on this machine and is not a zombie (killed, not yet reaped)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): existence is all we can tell
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def stale_reason(record: HeartbeatRecord, now: float, *, grace_s: float = 0.0, host: str | None = None,
                 alive: Callable[[int], bool] = pid_alive) -> str | None:
    """Why the runner behind ``record`` can no longer be trusted with the bench, or None.

    ``now``: wall time (s since the epoch). ``grace_s``: extra seconds allowed
    past the promised deadline (clock differences, slow network file systems).
    The pid is checked only when the heartbeat comes from this machine (``host``,
    by default this machine's name); a runner elsewhere is judged by its deadline alone.
    """
    if record.state == ENDED_UNSAFE:
        return f"the runner (pid {record.pid}) ended without verifying that the bench is safe"
    if not record.live:
        return None
    if record.state == RUNNING and now > record.deadline + grace_s:
        return (f"no heartbeat from pid {record.pid} on {record.hostname} since {_utc(record.beat)}: "
                f"the next was promised by {_utc(record.deadline)}, {now - record.deadline:.0f} s ago")
    if record.hostname == (host or socket.gethostname()) and not alive(record.pid):
        return f"the runner (pid {record.pid}) is gone while its heartbeat still says {record.state!r}"
    return None


class Heartbeat:
    """The runner's side: writes its heartbeat file, at most once a second unless the deadline must move.

    ``path``: the heartbeat file. ``run``: the run (or data) folder it is
    measuring into. ``grace_s``: seconds promised on top of every wait.
    ``wall``: the wall clock (``time.time``; a test passes a fake).
    Thread-safe: the GUI marks itself idle from its own thread.
    """

    def __init__(self, path: str | Path, run: str | Path, *, grace_s: float = DEFAULT_GRACE_S,
                 min_interval_s: float = MIN_WRITE_INTERVAL_S, wall: Callable[[], float] = time.time,
                 pid: int | None = None, hostname: str | None = None) -> None:
        if not grace_s > 0:
            raise ValueError(f"heartbeat grace must be positive, got {grace_s} s")
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise OSError(f"heartbeat {self.path}: folder {self.path.parent} does not exist")
        self.run = str(run)
        self.grace_s = float(grace_s)
        self.min_interval_s = float(min_interval_s)
        self.wall = wall
        self.pid = os.getpid() if pid is None else pid
        self.hostname = hostname or socket.gethostname()
        self.writes = 0
        self._lock = threading.Lock()
        self._state: str | None = None
        self._last_write = -float("inf")
        self._deadline = -float("inf")
        self._taken_over = False

    def start(self) -> None:
        """Write the first beat (``running``, the next promised within the grace)."""
        self.beat(0.0)

    def beat(self, within_s: float, state: str = RUNNING) -> bool:
        """Promise the next beat within ``within_s`` + grace seconds; return True if the file was written.

        Raises :class:`WatchdogTookOver` (once) if the watchdog has made the
        bench safe meanwhile: a runner that wakes from a hang must not carry on
        the sweep. Later beats neither write nor raise (the runner's own safe
        shutdown still needs its waits).
        """
        with self._lock:
            if self._taken_over:
                return False
            now = self.wall()
            deadline = now + max(float(within_s), 0.0) + self.grace_s
            due = now - self._last_write >= self.min_interval_s
            if state == self._state and not due and deadline <= self._deadline + self.min_interval_s:
                return False
            self._check_taken_over()
            self._write(state, now, deadline)
            return True

    def idle(self, within_s: float = 0.0) -> bool:
        """Mark the bench idle (safe, between measurements); the deadline does not apply while idle.

        Never raises :class:`WatchdogTookOver`: no measurement is running to be stopped.
        """
        try:
            return self.beat(within_s, IDLE)
        except WatchdogTookOver as exc:
            log.error("%s; this session is no longer watched", exc)
            return False

    def end(self, safe: bool = True) -> None:
        """Write state ``ended`` (the runner left the bench safe itself), or, when it could not
        verify that (``safe`` False), a state that hands the bench to the watchdog at once."""
        with self._lock:
            if self._taken_over or self._state in (ENDED, ENDED_UNSAFE) or self._state is None:
                return
            now = self.wall()
            self._write(ENDED if safe else ENDED_UNSAFE, now, now)

    def _check_taken_over(self) -> None:
        if self._state is None:
            return  # a new run: an old outcome in the file belongs to an earlier one
        try:
            current = read_heartbeat(self.path)
        except HeartbeatError:
            return
        if current is not None and current.taken_over:
            self._taken_over = True
            raise WatchdogTookOver(f"the watchdog made the bench safe ({current.state}) while this run was "
                                   f"silent; see {self.path}")

    def _write(self, state: str, now: float, deadline: float) -> None:
        record = HeartbeatRecord(self.pid, self.hostname, self.run, state, now, deadline)
        write_heartbeat(self.path, record)
        self.writes += 1
        self._state, self._last_write, self._deadline = state, now, deadline


class BeatingClock:
    """A Clock (``now``, ``sleep``) whose every wait first beats the heartbeat.

    ``sleep(s)`` promises the next beat within ``s`` + the heartbeat's grace,
    then waits on the wrapped clock. Anything else (a VirtualClock's
    ``advance``) is passed through.
    """

    def __init__(self, clock: Any, heartbeat: Heartbeat) -> None:
        self.clock = clock
        self.heartbeat = heartbeat

    def now(self) -> float:
        return self.clock.now()

    def sleep(self, seconds: float) -> None:
        self.heartbeat.beat(seconds)
        self.clock.sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.clock, name)


def beat_with(bench: Any, heartbeat: Heartbeat) -> None:
    """Make every wait on ``bench`` beat ``heartbeat`` (wrap ``bench.clock``) and write the first beat."""
    bench.clock = BeatingClock(bench.clock, heartbeat)
    heartbeat.start()


def _utc(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).isoformat(timespec="seconds")
