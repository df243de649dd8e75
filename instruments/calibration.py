"""Coil calibration of the electromagnet: field (mT) <-> supply current (A).

Two forms, one interface (``field_for_current``, ``current_for_field``):

- :class:`LinearCoilCalibration`: mu0*H = mT_per_A * I + offset_mT.
- :class:`TableCoilCalibration`: a measured table (CSV with columns
  ``Current (A)`` and ``Field (mT)``, e.g. written by a magnet-calibration
  run), interpolated linearly; the field must increase strictly with current.
  Up/down branches (hysteresis) are not modelled yet: the table is one branch.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Protocol

import numpy as np


class CalibrationError(ValueError):
    """A coil calibration is unusable (bad number, bad file, not monotonic)."""


class CoilCalibration(Protocol):
    """Maps supply current (A) to field (mT) and back."""

    def field_for_current(self, amps: float) -> float: ...
    def current_for_field(self, field_mT: float) -> float: ...
    def describe(self) -> dict[str, object]: ...


class LinearCoilCalibration:
    """Linear coil: field_mT = mT_per_A * amps + offset_mT."""

    def __init__(self, mT_per_A: float, offset_mT: float = 0.0) -> None:
        slope = float(mT_per_A)
        if not np.isfinite(slope) or slope == 0.0:
            raise CalibrationError(f"coil calibration mT_per_A must be a finite non-zero number, got {mT_per_A!r}")
        if not np.isfinite(offset_mT):
            raise CalibrationError(f"coil calibration offset_mT must be finite, got {offset_mT!r}")
        self.mT_per_A = slope
        self.offset_mT = float(offset_mT)

    def field_for_current(self, amps: float) -> float:
        """Return the field (mT) at supply current amps (A)."""
        return self.mT_per_A * float(amps) + self.offset_mT

    def current_for_field(self, field_mT: float) -> float:
        """Return the supply current (A) that gives field_mT (mT)."""
        return (float(field_mT) - self.offset_mT) / self.mT_per_A

    def describe(self) -> dict[str, object]:
        return {"kind": "linear", "mT_per_A": self.mT_per_A, "offset_mT": self.offset_mT}


class TableCoilCalibration:
    """Measured field against current, linearly interpolated (extrapolated from the end slopes)."""

    CURRENT_COLUMN = "Current (A)"
    FIELD_COLUMN = "Field (mT)"

    def __init__(self, current_A: np.ndarray, field_mT: np.ndarray, source: str = "") -> None:
        current = np.asarray(current_A, dtype=float)
        field = np.asarray(field_mT, dtype=float)
        if current.ndim != 1 or current.shape != field.shape or current.size < 2:
            raise CalibrationError("coil calibration table needs at least two (current, field) rows of equal length")
        if not (np.all(np.isfinite(current)) and np.all(np.isfinite(field))):
            raise CalibrationError("coil calibration table holds a non-finite value")
        order = np.argsort(current)
        current, field = current[order], field[order]
        if np.any(np.diff(current) <= 0):
            raise CalibrationError("coil calibration table repeats a current value")
        if np.any(np.diff(field) <= 0):
            raise CalibrationError("coil calibration table: field must increase strictly with current")
        self.current_A = current
        self.field_mT = field
        self.source = source

    @classmethod
    def from_file(cls, path: str | Path) -> TableCoilCalibration:
        """Read a CSV file with columns ``Current (A)`` and ``Field (mT)`` ('#' lines are comments)."""
        path = Path(path)
        with path.open(newline="") as fh:
            rows = [line for line in fh if line.strip() and not line.lstrip().startswith("#")]
        reader = csv.DictReader(rows)
        names = [n.strip() for n in (reader.fieldnames or [])]
        for column in (cls.CURRENT_COLUMN, cls.FIELD_COLUMN):
            if column not in names:
                raise CalibrationError(f"coil calibration file {path}: missing column {column!r} (found {names})")
        current, field = [], []
        for lineno, row in enumerate(reader, start=2):
            row = {k.strip(): v for k, v in row.items() if k is not None}
            try:
                current.append(float(row[cls.CURRENT_COLUMN]))
                field.append(float(row[cls.FIELD_COLUMN]))
            except (TypeError, ValueError):
                raise CalibrationError(f"coil calibration file {path}: row {lineno} is not numeric") from None
        try:
            return cls(np.array(current), np.array(field), source=str(path))
        except CalibrationError as exc:
            raise CalibrationError(f"coil calibration file {path}: {exc}") from None

    @staticmethod
    def _interp(x: float, xs: np.ndarray, ys: np.ndarray) -> float:
        if x < xs[0]:
            slope = (ys[1] - ys[0]) / (xs[1] - xs[0])
            return float(ys[0] + slope * (x - xs[0]))
        if x > xs[-1]:
            slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
            return float(ys[-1] + slope * (x - xs[-1]))
        return float(np.interp(x, xs, ys))

    def field_for_current(self, amps: float) -> float:
        """Return the field (mT) at supply current amps (A)."""
        return self._interp(float(amps), self.current_A, self.field_mT)

    def current_for_field(self, field_mT: float) -> float:
        """Return the supply current (A) that gives field_mT (mT)."""
        return self._interp(float(field_mT), self.field_mT, self.current_A)

    def describe(self) -> dict[str, object]:
        return {"kind": "table", "file": self.source, "points": int(self.current_A.size)}
