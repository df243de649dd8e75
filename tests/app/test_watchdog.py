"""Heartbeat and ``stfmr watchdog``: staleness rules, a normal end, and a SIGKILLed runner on the sim-server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from stfmr.app import cli
from stfmr.app.cmd_sim_server import write_bench_file
from stfmr.instruments.clock import WallClock
from stfmr.instruments.sim.virtual_bench import DEFAULT_SIM_DRIVERS
from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.instruments.sim.server import start_server
from stfmr.procedures.heartbeat import (
    ENDED_UNSAFE,
    ENDED,
    IDLE,
    MADE_SAFE,
    RUNNING,
    BeatingClock,
    Heartbeat,
    HeartbeatRecord,
    WatchdogTookOver,
    pid_alive,
    read_heartbeat,
    stale_reason,
    write_heartbeat,
)
from stfmr.procedures.safety import RAMP_STEP_S, ZERO_CURRENT_A
from support import runs as helpers

#: one short spectrum with a dc bias: on the served bench each point waits the lock-in's settling (~0.5 s)
SPECTRUM = helpers.SAMPLE + """
[[step]]
kind = "field_sweep"
frequency_GHz = 10.0
power_dBm = 10.0
angle_deg = 0.0
field_start_mT = 40.0
field_stop_mT = 70.0
field_points = 30
dwell_s = 0.0
dc_current_mA = 1.0
"""

#: wall-clock bound on each wait of the integration tests (they finish in a few seconds)
PATIENCE_S = 120.0


class FakeWall:
    """A wall clock the test moves by hand (seconds since the epoch)."""

    def __init__(self, t: float = 1.7e9) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class RecordingClock:
    """An inner clock that only records the waits asked of it."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def now(self) -> float:
        return sum(self.waits)

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


# -- the heartbeat's rules, on a fake wall clock ------------------------------------------------


def test_beats_come_from_waits_at_most_once_a_second_unless_the_deadline_must_move(tmp_path):
    wall = FakeWall()
    hb = Heartbeat(tmp_path / "hb.json", tmp_path / "run", grace_s=30.0, wall=wall, pid=4242, hostname="lab-pc")
    inner = RecordingClock()
    clock = BeatingClock(inner, hb)
    hb.start()
    first = read_heartbeat(hb.path)
    assert (first.state, first.pid, first.hostname, first.run) == (RUNNING, 4242, "lab-pc", str(tmp_path / "run"))
    assert first.deadline == pytest.approx(wall.t + 30.0)

    for _ in range(5):  # ramp steps within the same second: one promise covers them
        wall.t += 0.1
        clock.sleep(RAMP_STEP_S)
    assert hb.writes == 1
    assert inner.waits == [RAMP_STEP_S] * 5  # the waits still happen, on the wrapped clock

    wall.t += 0.6  # a second after the last write: the promise is renewed
    clock.sleep(RAMP_STEP_S)
    assert hb.writes == 2
    assert read_heartbeat(hb.path).deadline == pytest.approx(wall.t + RAMP_STEP_S + 30.0)

    wall.t += 0.1  # a long dwell must move the deadline at once, even within the second
    clock.sleep(120.0)
    assert hb.writes == 3
    assert read_heartbeat(hb.path).deadline == pytest.approx(wall.t + 150.0)

    hb.end()
    assert read_heartbeat(hb.path).state == ENDED


def test_staleness_rules():
    beat = 1.7e9
    rec = HeartbeatRecord(pid=4242, hostname="lab-pc", run="runs/x", state=RUNNING, beat=beat, deadline=beat + 40)
    alive, dead = (lambda pid: True), (lambda pid: False)

    assert stale_reason(rec, beat + 39, host="lab-pc", alive=alive) is None
    late = stale_reason(rec, beat + 41, host="lab-pc", alive=alive)
    assert late is not None and "promised" in late and "pid 4242" in late
    assert stale_reason(rec, beat + 41, grace_s=5, host="lab-pc", alive=alive) is None  # the watchdog's grace
    gone = stale_reason(rec, beat + 1, host="lab-pc", alive=dead)
    assert gone is not None and "gone" in gone
    # a runner on another machine: its pid means nothing here, only the deadline counts
    assert stale_reason(rec, beat + 1, host="watch-pc", alive=dead) is None
    assert stale_reason(rec, beat + 41, host="watch-pc", alive=dead) is not None
    # idle (the GUI between measurements, bench safe): no deadline, but a vanished process is stale
    idle = HeartbeatRecord(4242, "lab-pc", "runs/x", IDLE, beat, beat + 5)
    assert stale_reason(idle, beat + 3600, host="lab-pc", alive=alive) is None
    assert stale_reason(idle, beat + 1, host="lab-pc", alive=dead) is not None
    # a normal end is never stale
    ended = HeartbeatRecord(4242, "lab-pc", "runs/x", ENDED, beat, beat)
    assert stale_reason(ended, beat + 3600, host="lab-pc", alive=dead) is None


def test_a_killed_unreaped_process_counts_as_gone():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert pid_alive(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        deadline = time.monotonic() + PATIENCE_S
        while pid_alive(proc.pid) and time.monotonic() < deadline:  # a zombie until reaped
            time.sleep(0.01)
        assert not pid_alive(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def test_a_runner_that_wakes_after_the_watchdog_took_over_stops_once(tmp_path):
    wall = FakeWall()
    hb = Heartbeat(tmp_path / "hb.json", tmp_path / "run", wall=wall, pid=4242, hostname="lab-pc")
    hb.start()
    taken = read_heartbeat(hb.path)
    write_heartbeat(hb.path, HeartbeatRecord(taken.pid, taken.hostname, taken.run, MADE_SAFE, taken.beat,
                                             taken.deadline))
    wall.t += 100.0  # the runner wakes from its hang
    with pytest.raises(WatchdogTookOver, match="watchdog made the bench safe"):
        hb.beat(0.2)
    assert hb.beat(0.2) is False  # its own safe shutdown may still wait: no second raise
    hb.end()
    assert read_heartbeat(hb.path).state == MADE_SAFE  # the watchdog's outcome is kept


# -- the watchdog command ------------------------------------------------------------------------


def _watchdog_in_thread(argv: list[str]) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def target() -> None:
        result["code"] = cli.main(["watchdog", *argv])

    thread = threading.Thread(target=target, name="watchdog", daemon=True)
    thread.start()
    return thread, result


def _unreachable_bench(tmp_path: Path) -> Path:
    """A bench file whose instruments sit on loopback ports nobody listens on."""
    sockets = [socket.socket() for _ in DEFAULT_SIM_DRIVERS]
    try:
        for s in sockets:  # all bound at once: distinct ports
            s.bind(("127.0.0.1", 0))
        resources = {model: f"TCPIP::127.0.0.1::{s.getsockname()[1]}::SOCKET"
                     for model, s in zip(DEFAULT_SIM_DRIVERS.values(), sockets)}
    finally:
        for s in sockets:
            s.close()
    path = tmp_path / "nowhere.toml"
    write_bench_file(path, resources, 40.0, "type-A")
    return path


def test_a_normal_end_lets_the_watchdog_exit_0_without_touching_the_instruments(tmp_path, capsys):
    bench_file = _unreachable_bench(tmp_path)  # any attempt to open an instrument would fail (exit 3)
    seq = tmp_path / "seq.toml"
    seq.write_text(SPECTRUM, encoding="utf-8")
    hb_file = tmp_path / "hb.json"
    thread, result = _watchdog_in_thread(["--bench", str(bench_file), "--heartbeat", str(hb_file),
                                          "--poll", "0.02", "--grace", "1", "--once"])
    assert cli.main(["run", str(seq), "--sim", "type-A", "--out", str(tmp_path / "run"),
                     "--heartbeat", str(hb_file), "--quiet"]) == 0
    thread.join(PATIENCE_S)
    assert not thread.is_alive()
    assert result["code"] == 0
    assert read_heartbeat(hb_file).state == ENDED
    assert "instruments not touched" in capsys.readouterr().out
    watch_log = Path(f"{hb_file}.watchdog.log").read_text(encoding="utf-8")
    assert "opened" not in watch_log and "could not open" not in watch_log


def test_a_simulated_in_process_bench_is_refused(tmp_path, capsys):
    bench_file = Path(__file__).parents[2] / "examples" / "benches" / "sim.toml"  # SIM:: resources
    code = cli.main(["watchdog", "--bench", str(bench_file), "--heartbeat", str(tmp_path / "hb.json"), "--once"])
    assert code == cli.EXIT_BAD_INPUT
    assert "sim-server" in capsys.readouterr().err


def test_an_unreachable_bench_is_reported_unsafe(tmp_path, capsys):
    bench_file = _unreachable_bench(tmp_path)
    hb_file = tmp_path / "hb.json"
    # a runner that died (a pid that is no process) while running
    write_heartbeat(hb_file, HeartbeatRecord(pid=2**22 + 12345, hostname=socket.gethostname(), run="runs/x",
                                             state=RUNNING, beat=time.time(), deadline=time.time() + 60))
    code = cli.main(["watchdog", "--bench", str(bench_file), "--heartbeat", str(hb_file), "--poll", "0.02",
                     "--retry", "1"])
    assert code == 3
    record = read_heartbeat(hb_file)
    assert record.state.startswith("UNSAFE") and "switch off by hand" in record.state
    assert record.extra["watchdog"]["safe"] is False
    out = capsys.readouterr().out
    assert "NOT safe" in out and "rf (" in out and "connection refused by 127.0.0.1 port" in out


@pytest.fixture
def served_bench(tmp_path):
    """The default simulated instruments on loopback ports (wall clock) and a bench file for them."""
    virtual = VirtualBench(VirtualSample.preset("type-A"), clock=WallClock(), seed=3)
    server = start_server(virtual, list(dict.fromkeys(DEFAULT_SIM_DRIVERS.values())))
    bench_file = tmp_path / "served.toml"
    write_bench_file(bench_file, server.resources(), virtual.magnet.calibration_mT_per_A, "type-A")
    yield virtual, bench_file
    server.stop()


def test_sigkill_mid_spectrum_then_the_watchdog_makes_the_bench_safe(tmp_path, served_bench, capsys):
    virtual, bench_file = served_bench
    seq = tmp_path / "seq.toml"
    seq.write_text(SPECTRUM, encoding="utf-8")
    hb_file = tmp_path / "hb.json"
    thread, result = _watchdog_in_thread(["--bench", str(bench_file), "--heartbeat", str(hb_file),
                                          "--poll", "0.05", "--grace", "1", "--once"])
    runner = subprocess.Popen([sys.executable, "-m", "stfmr.app", "run", str(seq), "--bench", str(bench_file),
                               "--out", str(tmp_path / "run"), "--heartbeat", str(hb_file), "--quiet"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + PATIENCE_S
        rows = 0
        # mid-spectrum: rf on, magnet energised, dc bias on, and a point on disk
        while runner.poll() is None and time.monotonic() < deadline:
            energised = virtual.rf.output_on and virtual.magnet.setpoint() > 0.5 and virtual.dc.output_on
            rows = _data_rows(tmp_path / "run") if energised else 0
            if rows >= 1:
                break
            time.sleep(0.01)
        assert runner.poll() is None, f"the run ended before it could be killed: {runner.stderr.read()!r}"
        assert rows >= 1, "the run never reached the middle of its spectrum"
        killed_at = len(virtual.history)
        energised_A = virtual.magnet.setpoint()
        os.kill(runner.pid, signal.SIGKILL)
    finally:
        runner.kill()
        runner.wait()
        runner.stderr.close()
        thread.join(PATIENCE_S)  # whatever happened, the watchdog finishes before the server stops
    assert not thread.is_alive(), "the watchdog did not act"
    assert result["code"] == 0, Path(f"{hb_file}.watchdog.log").read_text() + "\n".join(virtual.log)
    out = capsys.readouterr().out
    assert "bench made safe" in out and "gone" in out

    # the safe state, as the simulated instruments see it
    assert not virtual.rf.output_on
    assert virtual.magnet.setpoint() == 0.0
    assert abs(virtual.magnet.coil_current()) <= ZERO_CURRENT_A
    assert not virtual.dc.output_on and virtual.dc.current_A == 0.0
    assert virtual.protocol_errors == []

    # the ramp down: small steps, never faster than the limit
    h = virtual.history_arrays()
    assert h["rf_on"][killed_at - 1], "the rf was on when the runner died"
    t, s = h["time_s"][killed_at - 1:], h["setpoint_A"][killed_at - 1:]
    steps = np.flatnonzero(np.diff(s) != 0) + 1
    limit = 2.0  # max_ramp_rate_A_per_s of the bench file
    assert s[-1] == 0.0 and len(steps) >= energised_A / (limit * RAMP_STEP_S)
    assert np.all(np.abs(np.diff(s)) <= limit * RAMP_STEP_S * (1 + 1e-9)), "a step larger than the staircase allows"
    mean_rate = energised_A / (t[steps[-1]] - t[steps[0] - 1]) if len(steps) > 1 else np.inf
    assert mean_rate <= limit, f"ramped down at {mean_rate:.3g} A/s, above the {limit} A/s limit"
    # step by step, timed where the server received them: every step read back before the next is paced
    dt = np.diff(t[np.concatenate([[steps[0] - 1], steps])])
    assert np.max(np.abs(np.diff(s[np.concatenate([[steps[0] - 1], steps])])) / dt) <= limit

    record = read_heartbeat(hb_file)
    assert record.state == MADE_SAFE
    assert record.extra["watchdog"]["safe"] is True and "gone" in record.extra["watchdog"]["reason"]
    assert json.loads(hb_file.read_text())["run"] == str(tmp_path / "run")


def test_a_hung_runner_is_killed_before_the_bench_is_made_safe(tmp_path, served_bench, capsys):
    virtual, bench_file = served_bench
    virtual.rf.output_on = True
    supply = virtual.instrument(DEFAULT_SIM_DRIVERS["field"])
    for command in ("FUNC:MODE CURR", "VOLT 20", "CURR 1.0", "OUTP 1"):  # 1 A through the magnet
        supply.write(command)
    hb_file = tmp_path / "hb.json"
    # a "runner" that beats once with a short promise, then hangs (as in a blocked VISA call)
    hung = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from stfmr.procedures.heartbeat import Heartbeat\n"
        f"Heartbeat({str(hb_file)!r}, 'runs/hung', grace_s=0.3).start()\n"
        "time.sleep(600)\n")])
    try:
        code = cli.main(["watchdog", "--bench", str(bench_file), "--heartbeat", str(hb_file),
                         "--poll", "0.05", "--grace", "0.2"])
        assert hung.wait(PATIENCE_S) == -signal.SIGKILL  # killed, so it cannot resume the sweep
    finally:
        hung.kill()
        hung.wait()
    assert code == 0
    assert "no heartbeat" in capsys.readouterr().out
    assert not virtual.rf.output_on and virtual.magnet.setpoint() == 0.0
    assert read_heartbeat(hb_file).state == MADE_SAFE


def _data_rows(run_dir: Path) -> int:
    """Data rows in the run's first Results file (0 before it exists)."""
    files = sorted(run_dir.glob("*.csv")) if run_dir.is_dir() else []
    if not files:
        return 0
    lines = files[0].read_text(encoding="utf-8", errors="replace").splitlines()
    return sum(1 for line in lines if line and not line.startswith("#") and line[0] in "-0123456789")


def test_the_gui_marks_its_heartbeat_idle_only_between_measurements(tmp_path, request, monkeypatch):
    pytest.importorskip("pytestqt")
    from types import SimpleNamespace

    from PyQt6 import QtWidgets

    from stfmr.app import cmd_gui

    qtbot = request.getfixturevalue("qtbot")
    monkeypatch.setattr(cmd_gui, "IDLE_MARK_MS", 5)
    window = QtWidgets.QWidget()
    qtbot.addWidget(window)
    measuring = [True]
    window.manager = SimpleNamespace(is_running=lambda: measuring[0])
    hb = Heartbeat(tmp_path / "hb.json", tmp_path, min_interval_s=0.0)
    hb.start()
    timer = cmd_gui._mark_idle_between_measurements(window, hb)
    ticks = []
    timer.timeout.connect(lambda: ticks.append(1))
    qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=5000)
    assert read_heartbeat(hb.path).state == RUNNING  # a measurement's own waits beat, not the GUI
    measuring[0] = False
    qtbot.waitUntil(lambda: read_heartbeat(hb.path).state == IDLE, timeout=5000)
    timer.stop()


def test_a_runner_that_ended_unverified_hands_the_bench_to_the_watchdog_at_once(tmp_path, served_bench, capsys):
    virtual, bench_file = served_bench
    virtual.rf.output_on = True
    supply = virtual.instrument(DEFAULT_SIM_DRIVERS["field"])
    for command in ("FUNC:MODE CURR", "VOLT 20", "CURR 0.5", "OUTP 1"):
        supply.write(command)
    hb_file = tmp_path / "hb.json"
    hb = Heartbeat(hb_file, tmp_path / "run", pid=2**22 + 12346)  # the runner, ended and exited
    hb.start()
    hb.end(safe=False)  # what `stfmr run` writes when its safe ending could not be verified
    assert read_heartbeat(hb_file).state == ENDED_UNSAFE
    code = cli.main(["watchdog", "--bench", str(bench_file), "--heartbeat", str(hb_file), "--poll", "0.02",
                     "--grace", "600", "--once"])  # no waiting for a deadline: the runner said so itself
    assert code == 0 and "without verifying" in capsys.readouterr().out
    assert not virtual.rf.output_on and virtual.magnet.setpoint() == 0.0
    assert read_heartbeat(hb_file).state == MADE_SAFE
