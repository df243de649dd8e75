"""Rotator role: one axis of a Newport ESP300 (pymeasure ``ESP300`` and its ``Axis``).

Commands (what the simulator must speak), for axis n: ``nMO`` (enable) and
``nSN?`` (units must be degree, 7) at open, ``nPA<deg>``, ``nTP``, ``nMD?``,
``nOR<type>`` (home), ``TE?`` (error code, 0 = none), ``*IDN?``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pymeasure.instruments.newport.esp300 import Axis

from stfmr.analysis.toml_schema import Table
from stfmr.instruments.errors import StageError
from stfmr.instruments.role_base import DriverRole, RoleArgumentError, check_finite
from stfmr.instruments.role_settings import RoleSettings


class ESP300Rotator(RoleSettings, DriverRole):
    """One rotation axis of an ESP300 motion controller, in degrees."""

    AXES = range(1, 4)
    HOME_TYPES = range(0, 7)  #: the controller's OR search modes
    SETTINGS = {"axis": 1, "home_type": 1}

    def __init__(self, driver: Any, address: str, axis: int = 1, home_type: int = 1,
                 role: str = "rotator", instrument: str | None = None) -> None:
        super().__init__(role, driver, address, instrument)
        if axis not in self.AXES:
            raise RoleArgumentError(f"ESP300 axis must be 1, 2 or 3, got {axis!r}")
        if home_type not in self.HOME_TYPES:
            raise RoleArgumentError(f"ESP300 home_type must be 0..6, got {home_type!r}")
        self.axis_number = axis
        self.home_type = home_type
        self.axis = Axis(axis, driver)
        self._target: float | None = None

    @classmethod
    def read_settings(cls, table: Table, spec: Any, base_dir: Path | None) -> dict[str, Any]:
        """axis 1..3, home_type 0..6."""
        return {"axis": table.integer("axis", within=cls.AXES),
                "home_type": table.integer("home_type", within=cls.HOME_TYPES)}

    @classmethod
    def from_config(cls, driver: Any, address: str, settings: dict[str, Any], *, role: str, instrument: str,
                    companion: Any = None) -> ESP300Rotator:
        return cls(driver, address, axis=settings["axis"], home_type=settings["home_type"], role=role,
                   instrument=instrument)

    def apply_settings(self, settings: dict[str, Any]) -> None:
        self.configure()

    def configure(self) -> None:
        """Enable the axis and check that it counts in degrees (a linear stage here is a wiring error)."""
        self._io("enable axis", self.axis.enable, parsing=False)
        units = self._io("units query", lambda: self.axis.units)
        if units != "degree":
            raise self._error(StageError, f"axis {self.axis_number} counts in {units!r}, not degrees: wrong axis?")
        self.check_errors()

    def move_to(self, degrees: float) -> None:
        """Start a move to the absolute angle (deg); returns at once."""
        target = check_finite("angle", degrees)
        self._io("move", lambda: setattr(self.axis, "position", target), parsing=False)
        self._target = target

    def angle(self) -> float:
        """Return the present angle (deg)."""
        return self._query_float("position query", lambda: self.axis.position)

    def is_moving(self) -> bool:
        """Return True while the axis is moving."""
        return not self._as_bool("motion-done query", self._io("motion-done query", self._motion_done_raw))

    def _motion_done_raw(self) -> str:
        return self.axis.ask("MD?")

    def home(self) -> None:
        """Start the homing search (the axis' home type); returns at once."""
        self._io("home", lambda: self.axis.home(self.home_type), parsing=False)
        self._target = 0.0

    def check_errors(self) -> None:
        """Raise StageError with the controller's codes if its error queue is not empty."""
        codes = []
        for _ in range(10):  # the ESP300 queue holds at most 10 entries
            code = int(self._query_float("error query", lambda: self.driver.error))
            if code == 0:
                break
            codes.append(code)
        if codes:
            raise self._error(StageError, f"controller error code(s) {codes}")

    def check_reached(self, tolerance_deg: float = 0.05) -> float:
        """After a move has ended, return the angle (deg); StageError if it stopped short of the target."""
        angle = self.angle()
        if self._target is not None and abs(angle - self._target) > tolerance_deg:
            raise self._error(StageError, f"stopped at {angle:.3f} deg, short of the target {self._target:.3f} deg")
        return angle

    def describe(self) -> str:
        moving = "moving" if self.is_moving() else "still"
        return f"axis {self.axis_number} at {self.angle():.3f} deg, {moving}"

    def settings(self) -> dict[str, Any]:
        return {"axis": self.axis_number, "home_type": self.home_type}
