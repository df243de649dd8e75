"""Simulated Newport ESP300 motion controller with a rotation stage on one axis.

Speaks the ESP300 command set as pymeasure's ``ESP300``/``Axis`` send it:
``nMO``/``nMF``/``nMO?`` (motor power), ``nPA<x>``/``nPR<x>`` (absolute and
relative moves), ``nTP`` (position, answered without a '?'), ``nMD?`` (motion
done: 0 moving, 1 done), ``nOR[t]`` (home search), ``nST`` (stop),
``nDH[x]`` (define home), ``nSN?``/``nSN<u>`` (units, 7 = degree),
``nSL``/``nSR`` (software limits), ``nVA`` (velocity), ``nWS[ms]`` (wait for
stop), ``TE?`` (next error code, 0 when none), ``TB?`` (code, time, message),
``*IDN?``/``VE?``. Commands may be chained with ';'.

The axis ``STAGE_AXIS`` (1 by default) turns ``bench.stage``, the rotation the
sample sees; the other two axes are idle stages of their own. Moves take
|delta|/velocity of (virtual) time. Error codes are those of the ESP300: axis
errors are 100*axis + code (13 motor not enabled, 6/7 positive/negative
software limit, 3 following error), general ones bare (6 command does not
exist, 7 parameter out of range, 9 axis number out of range). A
``stage_short`` fault makes the stage stop short of the target and queues a
following-error code, as a stalled real stage does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from stfmr.instruments.sim.base import SimInstrument, rx
from stfmr.instruments.sim.state import Stage

if TYPE_CHECKING:
    from stfmr.instruments.sim.bench import VirtualBench

NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"

ERROR_MESSAGES: dict[int, str] = {
    0: "NO ERROR DETECTED",
    3: "FOLLOWING ERROR THRESHOLD EXCEEDED",
    6: "POSITIVE SOFTWARE LIMIT DETECTED",
    7: "NEGATIVE SOFTWARE LIMIT DETECTED",
    13: "MOTOR NOT ENABLED",
}
GENERAL_MESSAGES: dict[int, str] = {
    6: "COMMAND DOES NOT EXIST",
    7: "PARAMETER OUT OF RANGE",
    9: "AXIS NUMBER OUT OF RANGE",
    38: "COMMAND PARAMETER MISSING",
}


class _Axis:
    """State of one ESP300 axis: motor power, units, limits, and its Stage."""

    def __init__(self, number: int, stage: Stage) -> None:
        self.number = number
        self.stage = stage
        self.defaults()

    def defaults(self) -> None:
        """Power-on settings: motor off, degrees, wide software limits."""
        self.enabled = False
        self.units = 7  # degree
        self.left_limit = -360.0
        self.right_limit = 360.0


class SimESP300(SimInstrument):
    """Newport ESP300 with a rotation stage on ``STAGE_AXIS``."""

    MODEL = "ESP300"
    IDN = "ESP300 Version 3.08 09/09/02"
    SEPARATOR = ";"
    UNKNOWN_ERROR = "6"
    NO_ERROR = "0"
    STAGE_AXIS = 1
    AXES = (1, 2, 3)

    def __init__(self, bench: VirtualBench) -> None:
        super().__init__(bench)
        self.axes: dict[int, _Axis] = {}
        for n in self.AXES:
            stage = bench.stage if n == self.STAGE_AXIS else Stage(bench, model=f"{self.MODEL}-axis{n}")
            self.axes[n] = _Axis(n, stage)
        self._table = self._build_table()

    # -- helpers ------------------------------------------------------------
    def _error(self, code: int, axis: int | None = None) -> None:
        full = code if axis is None else 100 * axis + code
        self.errors.append(str(full))
        self.bench.log.append(f"{self.MODEL}: error {full}")

    def _axis(self, text: str) -> _Axis | None:
        n = int(text)
        if n not in self.axes:
            self._error(9)
            return None
        return self.axes[n]

    def _move(self, axis: _Axis, target: float) -> None:
        if not axis.enabled:
            self._error(13, axis.number)
            return
        if target > axis.right_limit:
            self._error(6, axis.number)
            return
        if target < axis.left_limit:
            self._error(7, axis.number)
            return
        axis.stage.move_to(target)
        if axis.stage.stopped_short:
            self._error(3, axis.number)

    # -- command handlers (n = axis number as text) -----------------------
    def _motor_on(self, n: str) -> None:
        if (axis := self._axis(n)) is not None:
            axis.enabled = True

    def _motor_off(self, n: str) -> None:
        if (axis := self._axis(n)) is not None:
            axis.stage.stop()
            axis.enabled = False

    def _motor_q(self, n: str) -> str | None:
        axis = self._axis(n)
        return None if axis is None else ("1" if axis.enabled else "0")

    def _pa(self, n: str, value: str) -> None:
        if (axis := self._axis(n)) is not None:
            self._move(axis, float(value))

    def _pr(self, n: str, value: str) -> None:
        if (axis := self._axis(n)) is not None:
            self._move(axis, axis.stage.target + float(value))

    def _tp(self, n: str) -> str | None:
        axis = self._axis(n)
        return None if axis is None else f"{axis.stage.angle():.5f}"

    def _md(self, n: str) -> str | None:
        axis = self._axis(n)
        return None if axis is None else ("0" if axis.stage.is_moving() else "1")

    def _home(self, n: str, kind: str | None) -> None:
        axis = self._axis(n)
        if axis is None:
            return
        if kind is not None and int(kind) not in range(7):
            self._error(7)
            return
        if not axis.enabled:
            self._error(13, axis.number)
            return
        axis.stage.home()

    def _stop(self, n: str) -> None:
        if (axis := self._axis(n)) is not None:
            axis.stage.stop()

    def _define_home(self, n: str, value: str | None) -> None:
        if (axis := self._axis(n)) is not None:
            axis.stage.define_position(float(value) if value else 0.0)

    def _units_q(self, n: str) -> str | None:
        axis = self._axis(n)
        return None if axis is None else str(axis.units)

    def _units(self, n: str, value: str) -> None:
        axis = self._axis(n)
        if axis is None:
            return
        if int(value) not in range(12):
            self._error(7)
            return
        axis.units = int(value)

    def _limit_q(self, n: str, side: str) -> str | None:
        axis = self._axis(n)
        if axis is None:
            return None
        return f"{axis.left_limit if side.upper() == 'L' else axis.right_limit:.5f}"

    def _limit(self, n: str, side: str, value: str) -> None:
        axis = self._axis(n)
        if axis is None:
            return
        if side.upper() == "L":
            axis.left_limit = float(value)
        else:
            axis.right_limit = float(value)

    def _velocity_q(self, n: str) -> str | None:
        axis = self._axis(n)
        return None if axis is None else f"{axis.stage.speed_deg_per_s:.5f}"

    def _velocity(self, n: str, value: str) -> None:
        axis = self._axis(n)
        if axis is None:
            return
        speed = float(value)
        if speed <= 0:
            self._error(7)
            return
        axis.stage.speed_deg_per_s = speed

    def _wait_stop(self, n: str, delay_ms: str | None) -> None:
        """WS: the controller holds further commands until the axis stopped (virtual time passes)."""
        axis = self._axis(n)
        if axis is None:
            return
        clock = self.bench.clock
        for _ in range(100000):
            if not axis.stage.is_moving():
                break
            self.bench.charge(0.01)
            if not hasattr(clock, "advance"):
                break  # a wall clock cannot be hurried; the driver polls MD? instead
        if delay_ms:
            self.bench.charge(float(delay_ms) * 1e-3)

    def _reset(self) -> None:
        """*RST: every axis stops where it is and returns to its power-on settings."""
        for axis in self.axes.values():
            axis.stage.stop()
            axis.defaults()

    def _error_q(self) -> str:
        return self.next_error()

    def _error_buffer(self) -> str:
        code = int(self.next_error())
        if code >= 100:
            message = ERROR_MESSAGES.get(code % 100, "AXIS ERROR")
        else:
            message = GENERAL_MESSAGES.get(code, ERROR_MESSAGES.get(code, "ERROR"))
        return f"{code}, {int(self.bench.clock.now() * 1000) % 4294967296}, {message}"

    def _build_table(self) -> list[tuple[re.Pattern[str], Callable[..., str | None]]]:
        return [
            (rx(r"\*IDN\?"), lambda: self.IDN),
            (rx(r"VE\?"), lambda: self.IDN),
            (rx(r"\*RST"), self._reset),
            (rx(r"TE\?"), self._error_q),
            (rx(r"TB\?"), self._error_buffer),
            (rx(r"(\d)MO"), self._motor_on),
            (rx(r"(\d)MF"), self._motor_off),
            (rx(r"(\d)MO\?"), self._motor_q),
            (rx(r"(\d)PA\s*" + NUMBER), self._pa),
            (rx(r"(\d)PR\s*" + NUMBER), self._pr),
            (rx(r"(\d)TP\??"), self._tp),
            (rx(r"(\d)MD\?"), self._md),
            (rx(r"(\d)OR\s*(\d)?"), self._home),
            (rx(r"(\d)ST"), self._stop),
            (rx(r"(\d)DH\s*" + NUMBER + "?"), self._define_home),
            (rx(r"(\d)SN\?"), self._units_q),
            (rx(r"(\d)SN\s*(\d+)"), self._units),
            (rx(r"(\d)S([LR])\?"), self._limit_q),
            (rx(r"(\d)S([LR])\s*" + NUMBER), self._limit),
            (rx(r"(\d)VA\?"), self._velocity_q),
            (rx(r"(\d)VA\s*" + NUMBER), self._velocity),
            (rx(r"(\d)WS\s*(\d+)?"), self._wait_stop),
        ]

    def handle(self, command: str) -> str | None:
        return self.dispatch(command, self._table)
