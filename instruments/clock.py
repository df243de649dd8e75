"""Clocks: the wall clock for hardware, a virtual clock for the simulated bench.

Procedures and the safety layer wait through ``bench.clock`` so that on the
virtual bench an overnight sweep replays in seconds, while every simulated
instrument still sees time pass (a lock-in read too early is not settled).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Time source used by procedures and simulated instruments (seconds)."""

    def now(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class WallClock:
    """Real time."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """Simulated time that advances only when someone waits.

    ``sleep`` returns at once after moving simulated time forward; ``advance``
    lets instruments charge the time a real exchange would take (a GPIB round
    trip, a stage move). Thread-safe: the GUI polls while a worker measures.
    """

    #: least wall time (s) between two yields of the thread that waits (headless default)
    YIELD_S = 0.002

    def __init__(self, start: float = 0.0) -> None:
        self._t = float(start)
        self._lock = threading.Lock()
        self._yielded = 0.0
        #: this clock's yield interval (s); a GUI sets 0 so its event loop never waits behind a replay
        self.yield_s = self.YIELD_S

    def now(self) -> float:
        with self._lock:
            return self._t

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        # A real wait lets other threads run; so does a virtual one, at most every YIELD_S of
        # wall time. Without it a zero-dwell sweep holds the GIL for whole switch intervals and
        # the GUI stutters; yielding at every virtual wait hands the CPU away thousands of
        # times a second, which on a busy machine costs a replay most of its speed.
        now = time.perf_counter()
        if now - self._yielded >= self.yield_s:
            self._yielded = now
            time.sleep(0)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards by {seconds} s")
        with self._lock:
            self._t += seconds
