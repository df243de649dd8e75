"""Shared test configuration: Qt offscreen, deterministic random numbers, a CPU-time limit per
test phase, and virtual runs measured once per session.

The CPU-time limit (``cpu_timeout`` in pyproject.toml, seconds) counts the CPU time of this
process, all threads, with ``ITIMER_PROF``: a busy machine makes a test slower in wall time
but does not trip it; a test stuck in a loop does. The failure is raised in the main thread at
its next Python instruction: at once when it polls (the runner's wait, qtbot.waitUntil), only
when it wakes when it blocks without a timeout. Child processes are not counted (the tests that
start one give it a timeout of their own). A test that hangs without using CPU is caught by
pytest-timeout's generous wall-clock ``timeout``, the backstop.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from support import runs

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

CPU_TIMEOUT_INI = "cpu_timeout"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(CPU_TIMEOUT_INI, "CPU seconds (this process, all threads) that each phase of a test "
                                   "(setup with its fixtures, call, teardown) may use; 0 for no limit",
                  default="60")


def _other_threads() -> str:
    """The stacks of the threads other than the main one (where a runaway measurement usually is)."""
    frames = sys._current_frames()
    lines = []
    for thread in threading.enumerate():
        frame = frames.get(thread.ident)
        if thread is threading.main_thread() or frame is None:
            continue
        lines.append(f"\n--- thread {thread.name} ---\n" + "".join(traceback.format_stack(frame)[-8:]))
    return "".join(lines)


def _cpu_limited(item: pytest.Item, phase: str):
    """Run one phase of ``item`` under the CPU-time limit (a SIGPROF when it is spent fails the phase)."""
    limit = float(item.config.getini(CPU_TIMEOUT_INI) or 0)
    if limit <= 0 or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return (yield)

    def spent(signum, frame):
        pytest.fail(f"{phase} used more than {limit:g} s of CPU time ({CPU_TIMEOUT_INI} in pyproject.toml)"
                    + _other_threads())

    previous = signal.signal(signal.SIGPROF, spent)
    signal.setitimer(signal.ITIMER_PROF, limit)
    try:
        return (yield)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _cpu_limited(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _cpu_limited(item, "the test"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    return (yield from _cpu_limited(item, "teardown"))


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator so that every noisy test is reproducible."""
    return np.random.default_rng(20240520)


@pytest.fixture(scope="session")
def example_run(tmp_path_factory):
    """``example_run(name)``: examples/sequences/<name>.toml as shipped, measured on the virtual type-A
    bench at most once per session (a :class:`support.runs.MeasuredRun`).

    Shared between tests: read the run folder and the bench, never change them (copy the folder
    first to damage or resume it).
    """
    measured: dict[str, runs.MeasuredRun] = {}
    digests: dict[str, dict[str, str]] = {}

    def run(name: str) -> runs.MeasuredRun:
        if name not in measured:
            path = runs.EXAMPLES / f"{name}.toml"
            out = tmp_path_factory.mktemp(f"example-{name}") / "run"
            measured[name] = runs.measure(path.read_text(encoding="utf-8"), out, name=str(path))
            digests[name] = runs.folder_digest(out)
        return measured[name]

    yield run
    for m in measured.values():
        m.bench.close()
    changed = [name for name, m in measured.items() if runs.folder_digest(m.folder) != digests[name]]
    assert not changed, f"a test changed the shared run folder of {', '.join(changed)}: copy it first"


@pytest.fixture(scope="session")
def one_spectrum_run(tmp_path_factory) -> Iterator[Path]:
    """A finished run folder of one 21-point spectrum (``support.runs.ONE_SPECTRUM``), measured once.

    Shared between tests: copy it before changing anything in it.
    """
    measured = runs.measure(runs.ONE_SPECTRUM, tmp_path_factory.mktemp("one-spectrum") / "run", name="tiny.toml")
    assert measured.outcome.state == "finished"
    measured.bench.close()
    digest = runs.folder_digest(measured.folder)
    yield measured.folder
    assert runs.folder_digest(measured.folder) == digest, "a test changed the shared one-spectrum run: copy it first"
