"""``stfmr watchdog``: make the bench safe when a runner's heartbeat stops.

Beside ``stfmr run --heartbeat FILE`` (or ``stfmr gui --heartbeat FILE``),
ideally on another machine: the watchdog waits for the heartbeat file, then
reads it every ``--poll`` seconds. When the heartbeat goes stale (the runner
promised a beat by a deadline and missed it by more than ``--grace``, or its
process on this machine is gone), the watchdog

1. stops a runner on this machine that is still there but hung (SIGKILL), so
   it cannot resume the sweep after the bench was made safe;
2. opens only the roles that matter for safety (rf, field without its
   gaussmeter, sourcemeter) of the bench file, each on its own, so one
   unreachable instrument does not keep the others from being made safe;
3. runs the safety layer's safe end (rf off, dc bias and magnet ramped to
   zero at the safe rate), logs what it did into ``FILE.watchdog.log`` and
   prints one line;
4. writes its outcome into the heartbeat file (``made safe by watchdog`` or
   ``UNSAFE: ...``) and exits 0 when safe, 3 when it could not verify.

A runner that ends normally writes ``ended``: the watchdog then exits 0
without touching the instruments (with ``--once``), or waits for the next run.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from stfmr.app.cli_args import input_file

HELP = "watch a run's heartbeat; when the runner dies or hangs, switch the rf off and ramp the magnet to zero"

#: roles the safe end needs; the others (detector, rotator, gaussmeter) are left closed
SAFETY_ROLES = ("rf", "field", "sourcemeter")
#: exit status when the bench could not be made (or verified) safe
EXIT_UNSAFE = 3
#: longest wait (s) for a killed runner to disappear before the bench is opened anyway
KILL_WAIT_S = 5.0

log = logging.getLogger("stfmr.watchdog")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bench", type=Path, required=True, metavar="FILE", help="the runner's bench file (TOML)")
    parser.add_argument("--heartbeat", type=Path, required=True, metavar="FILE",
                        help="the heartbeat file given to stfmr run/gui --heartbeat")
    parser.add_argument("--grace", type=float, default=10.0, metavar="S",
                        help="seconds allowed past the runner's promised deadline before acting (default 10)")
    parser.add_argument("--poll", type=float, default=1.0, metavar="S",
                        help="seconds between reads of the heartbeat file (default 1)")
    parser.add_argument("--retry", type=float, default=None, metavar="S",
                        help="how long each part of the safe ending is retried, its link reopened (default: the "
                             "safety layer's 60 s)")
    parser.add_argument("--once", action="store_true",
                        help="exit after one run has ended (default: keep watching for the next run)")


def run(args: argparse.Namespace) -> int:
    from stfmr.instruments.bench import load_bench_config

    if not args.grace >= 0:
        raise ValueError(f"--grace must be zero or more seconds, got {args.grace}")
    if not args.poll > 0:
        raise ValueError(f"--poll must be positive, got {args.poll}")
    input_file(args.bench, "--bench")
    config = load_bench_config(args.bench)
    if config.simulated:
        raise ValueError(f"{args.bench}: SIM:: resources live inside the runner's own process, out of a "
                         "watchdog's reach; serve the simulators with `stfmr sim-server --bench-out FILE` "
                         "and give both commands that bench file")
    if not args.heartbeat.parent.is_dir():
        raise OSError(f"--heartbeat: folder {args.heartbeat.parent} does not exist")
    _preload(config)
    handler = _log_to(Path(f"{args.heartbeat}.watchdog.log"))
    try:
        return _watch(config, args.heartbeat, args.grace, args.poll, args.once, args.retry)
    finally:
        for name in ("stfmr", "pymeasure"):
            logging.getLogger(name).removeHandler(handler)
        handler.close()


def _watch(config: Any, path: Path, grace_s: float, poll_s: float, once: bool,
           retry_s: float | None = None) -> int:
    """Poll the heartbeat until a run ends (``--once``) or the bench had to be made safe."""
    from stfmr.procedures.heartbeat import ENDED_UNSAFE, HeartbeatError, read_heartbeat, stale_reason

    started = time.time()
    watching: tuple[int, str] | None = None  # (pid, host) of the live run being watched
    last_error = ""
    log.info("watchdog on %s (pid %d): watching %s for bench %s", socket.gethostname(), os.getpid(), path,
             config.source)
    while True:
        try:
            record = read_heartbeat(path)
        except HeartbeatError as exc:
            if str(exc) != last_error:
                log.warning("%s (still watching)", exc)
                last_error = str(exc)
            record = None
        if record is not None and record.state == ENDED_UNSAFE:
            # a runner gave up verifying its safe ending (even before this watchdog started: the bench
            # has been left unverified since): try again on fresh connections, at once
            return _take_over(config, path, record, stale_reason(record, time.time()) or record.state, retry_s)
        if record is not None and record.live:
            if watching != (record.pid, record.hostname):
                watching = (record.pid, record.hostname)
                log.info("watching run %s: pid %d on %s, %s", record.run, record.pid, record.hostname, record.state)
            reason = stale_reason(record, time.time(), grace_s=grace_s)
            if reason is not None:
                return _take_over(config, path, record, reason, retry_s)
        elif record is not None and (watching == (record.pid, record.hostname) or record.beat >= started):
            # the end of the run watched (or of one that ended between two polls), not an earlier run's file
            log.info("run %s (pid %d) %s; instruments not touched", record.run, record.pid, record.state)
            if once:
                print(f"stfmr watchdog: run {record.run} {record.state}; instruments not touched")
                return 0
            watching, started = None, time.time()
        time.sleep(poll_s)


def _preload(config: Any) -> None:
    """Import the safety roles' drivers and pyvisa now: a second saved when the runner dies."""
    import pyvisa  # noqa: F401

    from stfmr.instruments.registry import DRIVERS

    for name in SAFETY_ROLES:
        rc = config.roles.get(name)
        if rc is not None:
            DRIVERS[rc.driver].driver_class()
            DRIVERS[rc.driver].wrapper_class()


def _take_over(config: Any, path: Path, record: Any, reason: str, retry_s: float | None = None) -> int:
    """Stop a hung runner, make the bench safe, record and print the outcome; return the exit status."""
    from stfmr.procedures.heartbeat import MADE_SAFE, UNSAFE, pid_alive, write_heartbeat

    log.error("heartbeat stale: %s", reason)
    if record.live and record.hostname == socket.gethostname() and pid_alive(record.pid):
        _kill(record.pid)  # silent but there: it must not wake and carry on (a runner that ended is left alone)
    bench = open_safety_bench(config)
    try:
        safe, instructions = _make_safe(bench, f"watchdog: {reason}", retry_s)
    finally:
        bench.close()
    state = MADE_SAFE if safe else f"{UNSAFE}: {instructions}"
    outcome = {"time": time.time(), "host": socket.gethostname(), "pid": os.getpid(), "reason": reason,
               "safe": safe, "instructions": instructions}
    write_heartbeat(path, replace(record, state=state, extra={**record.extra, "watchdog": outcome}))
    if safe:
        log.info("bench made safe by the watchdog: rf off, dc bias off, magnet at zero")
        print(f"stfmr watchdog: {reason}; bench made safe (rf off, dc bias off, magnet at zero)")
        return 0
    log.error("bench NOT safe: %s", instructions)
    print(f"stfmr watchdog: {reason}; bench NOT safe: {instructions}")
    return EXIT_UNSAFE


def _make_safe(bench: Any, reason: str, retry_s: float | None = None) -> tuple[bool, str]:
    """Run the safety layer's verified safe end; return (safe, what to switch off by hand).

    ``SafetyGuard.make_safe`` reads back every part (rf output off, supply
    setpoint zero and coil current decayed, dc bias output off), retrying each
    with its link reopened; a role that could not be opened is an unverified part.
    """
    from stfmr.procedures.safety import SafetyGuard

    end = SafetyGuard(bench, retry_s=retry_s).make_safe(reason)
    if end.safe:
        return True, ""
    why = "; ".join(f"{p.part}: {p.problems[-1]}" for p in end.unverified() if p.problems)
    return False, f"{end.summary()}. Last errors: {why}"


def _kill(pid: int) -> None:
    """SIGKILL a hung runner on this machine and wait (up to KILL_WAIT_S) until it is gone."""
    from stfmr.procedures.heartbeat import pid_alive

    log.warning("runner pid %d is still there but silent: killing it so it cannot resume the sweep", pid)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    except PermissionError as exc:
        log.error("could not kill runner pid %d (%s): making the bench safe beside it", pid, exc)
        return
    deadline = time.monotonic() + KILL_WAIT_S
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


class _Unreachable:
    """Stands for a role that could not be opened: every use raises the connection error."""

    def __init__(self, error: Exception) -> None:
        self._error = error
        # how the safety layer names the part it could not make safe
        self.role = getattr(error, "role", "?")
        self.instrument = getattr(error, "instrument", "?")
        self.address = getattr(error, "address", "?")

    def __getattr__(self, name: str) -> Any:
        raise self._error

    def close(self) -> None:
        pass


class SafetyBench:
    """What the safety layer needs of a bench: rf, field, sourcemeter, limits and a wall clock.

    No detector and no rotator (the safe end leaves the stage where it is).
    Roles that could not be opened are :class:`_Unreachable`; ``problems``
    names them.
    """

    detector = None
    rotator = None

    def __init__(self, config: Any, roles: dict[str, Any], problems: list[str]) -> None:
        from stfmr.instruments.clock import WallClock

        self.config = config
        self.limits = config.limits
        self.clock = WallClock()
        self.simulated = config.is_simulation
        self.problems = problems
        self.rf = roles["rf"]
        self.field = roles["field"]
        self.sourcemeter = roles.get("sourcemeter")
        self._roles = roles

    def close(self) -> None:
        for role in self._roles.values():
            try:
                role.close()
            except Exception as exc:  # noqa: BLE001 - closing must not hide the outcome
                log.warning("closing %s: %s", role, exc)


def open_safety_bench(config: Any) -> SafetyBench:
    """Open rf, field (without its gaussmeter) and sourcemeter of ``config``, each independently.

    A role that fails to open is logged and kept as :class:`_Unreachable`; it
    never falls back to a simulator.
    """
    from stfmr.instruments.bench import open_role

    roles: dict[str, Any] = {}
    problems: list[str] = []
    for name in SAFETY_ROLES:
        rc = config.roles.get(name)
        if rc is None:
            continue
        if name == "field":
            rc = replace(rc, gaussmeter=None)  # the ramp needs the supply only
        try:
            roles[name] = open_role(name, rc)
            log.info("opened %s (%s at %s)", name, rc.driver, rc.resource)
        except Exception as exc:  # noqa: BLE001 - the other roles must still be made safe
            log.error("could not open %s: %s", name, exc)
            problems.append(str(exc))
            roles[name] = _Unreachable(exc)
    return SafetyBench(config, roles, problems)


def _log_to(path: Path) -> logging.Handler:
    """Append stfmr's and pymeasure's log records (with wall-clock times) to ``path``."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    for name in ("stfmr", "pymeasure"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
    return handler


if __name__ == "__main__":  # pragma: no cover
    from stfmr.app.cli import main

    sys.exit(main(["watchdog", *sys.argv[1:]]))
