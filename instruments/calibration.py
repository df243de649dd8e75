"""Coil calibration of the electromagnet: field (mT) <-> supply current (A).

Two forms, one interface (``field_for_current``, ``current_for_field``, ``follow``, ``describe``):

- :class:`LinearCoilCalibration`: mu0*H = mT_per_A * I + offset_mT.
- :class:`TableCoilCalibration`: a measured table (CSV with columns
  ``Current (A)`` and ``Field (mT)``, and optionally ``Branch``), interpolated
  linearly and extrapolated from the end slopes; within a branch the field must
  increase strictly with current. A magnet-calibration run
  (:mod:`stfmr.procedures.magnet_calibration`) writes such a file with
  :func:`write_loop_calibration`.

Hysteresis. A table with a ``Branch`` column holds both branches of the loop:
``down`` (measured from +I_max to -I_max) and ``up`` (from -I_max to +I_max).
They differ near zero current by the yoke's remanence (2 B_r at I = 0). The
*hysteresis band* is the range of currents around zero where the branches
differ by at least half their difference at zero current (resolved to the
table's point spacing); outside it they agree. Which branch applies depends on
the magnet's history, which the calibration follows through :meth:`follow`
(the safety layer calls it with every supply setpoint it programs, and every
magnet move goes through the safety layer):

- after a setpoint beyond the band on the positive side the yoke is magnetised
  positive: the *down* branch applies, on the way back into the band too;
- after one beyond the band on the negative side: the *up* branch;
- a reversal inside the band stays on the branch it was on (the yoke does not
  remagnetise), so a field is set on the branch of its direction of approach
  from the last excursion out of the band;
- before the first excursion out of the band (a freshly opened bench: history
  unknown) the mean of the two branches is used; its residual is at most half
  the branch difference, i.e. the remanence B_r near zero current.

Fields inside the small jump where the branch being followed leaves the band
(e.g. 19.6..20.4 mT on the virtual magnet's up branch) cannot be reached on that
branch without passing the band edge; they land on the other branch. A table
without a ``Branch`` column is one curve for both directions (no hysteresis).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import numpy as np

from stfmr.analysis import columns as col

#: branch labels: up (current increasing, after negative saturation), down (after positive saturation)
UP = 1
DOWN = -1
#: branch argument asking for the mean of the two branches
MEAN = 0
BRANCH_NAMES = {UP: "up", DOWN: "down"}
_BRANCH_WORDS = {"up": UP, "+1": UP, "1": UP, "down": DOWN, "-1": DOWN}
#: the hysteresis band ends where the branch difference falls below this fraction of its value at zero current
BAND_FRACTION = 0.5


class CalibrationError(ValueError):
    """A coil calibration is unusable (bad number, bad file, not monotonic)."""


class CoilCalibration(Protocol):
    """Maps supply current (A) to field (mT) and back."""

    def field_for_current(self, amps: float) -> float: ...
    def current_for_field(self, field_mT: float) -> float: ...
    def follow(self, amps: float) -> None: ...
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

    def follow(self, amps: float) -> None:
        """No history to follow: a linear coil has no hysteresis."""

    def describe(self) -> dict[str, object]:
        return {"kind": "linear", "mT_per_A": self.mT_per_A, "offset_mT": self.offset_mT}


def _curve(current: np.ndarray, field: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Sort one curve by current and check it is usable: >= 2 rows, unique currents, increasing field."""
    if current.size < 2:
        raise CalibrationError(f"{what} needs at least two (current, field) rows")
    order = np.argsort(current, kind="stable")
    current, field = current[order], field[order]
    repeated = np.flatnonzero(np.diff(current) <= 0)
    if repeated.size:
        raise CalibrationError(f"{what} repeats a current value ({current[repeated[0]]:g} A)")
    falling = np.flatnonzero(np.diff(field) <= 0)
    if falling.size:
        k = falling[0]
        raise CalibrationError(f"{what}: field must increase strictly with current "
                               f"({field[k]:g} mT at {current[k]:g} A, {field[k + 1]:g} mT at {current[k + 1]:g} A)")
    return current, field


def _interp(x: float, xs: np.ndarray, ys: np.ndarray) -> float:
    """Linear interpolation, extrapolated from the end slopes."""
    if x < xs[0]:
        slope = (ys[1] - ys[0]) / (xs[1] - xs[0])
        return float(ys[0] + slope * (x - xs[0]))
    if x > xs[-1]:
        slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        return float(ys[-1] + slope * (x - xs[-1]))
    return float(np.interp(x, xs, ys))


class TableCoilCalibration:
    """Measured field against current, linearly interpolated (extrapolated from the end slopes).

    ``branch``: None (one curve for both directions) or, per row, UP (+1) or
    DOWN (-1): the two branches of a hysteresis loop (see the module docstring).
    ``branch`` (the attribute) is the branch the magnet is on as followed so far:
    UP, DOWN, or None while its history is unknown.
    """

    CURRENT_COLUMN = col.CURRENT
    FIELD_COLUMN = col.FIELD
    BRANCH_COLUMN = col.BRANCH

    def __init__(self, current_A: np.ndarray, field_mT: np.ndarray, source: str = "",
                 branch: Iterable[int] | None = None) -> None:
        current = np.asarray(current_A, dtype=float)
        field = np.asarray(field_mT, dtype=float)
        if current.ndim != 1 or current.shape != field.shape or current.size < 2:
            raise CalibrationError("coil calibration table needs at least two (current, field) rows of equal length")
        if not (np.all(np.isfinite(current)) and np.all(np.isfinite(field))):
            raise CalibrationError("coil calibration table holds a non-finite value")
        self.source = source
        self.branch: int | None = None
        #: branch label (UP, DOWN, or MEAN for a one-curve table) -> (currents, fields), sorted by current
        self.curves: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if branch is None:
            self.curves[MEAN] = _curve(current, field, "coil calibration table")
            self.band_A: tuple[float, float] | None = None
            return
        labels = np.asarray(list(branch))
        if labels.shape != current.shape:
            raise CalibrationError("coil calibration table: one branch label per row is needed")
        bad = [v for v in labels.tolist() if v not in (UP, DOWN)]
        if bad:
            raise CalibrationError(f"coil calibration table: a branch is up (+1) or down (-1), got {bad[0]!r}")
        for label, name in BRANCH_NAMES.items():
            rows = labels == label
            if not rows.any():
                other = BRANCH_NAMES[-label]
                raise CalibrationError(f"coil calibration table: the Branch column holds only {other!r} rows; "
                                       f"give both up and down, or leave the column out for a single curve")
            self.curves[label] = _curve(current[rows], field[rows], f"coil calibration table, {name} branch")
        self.band_A = self._band()

    @property
    def hysteretic(self) -> bool:
        """True if the table holds an up and a down branch."""
        return self.band_A is not None

    def _band(self) -> tuple[float, float]:
        """(lowest, highest) current (A) of the hysteresis band: around zero, where the branches differ."""
        (iu, bu), (idn, bd) = self.curves[UP], self.curves[DOWN]
        lo, hi = max(iu[0], idn[0]), min(iu[-1], idn[-1])
        if not lo < hi:
            raise CalibrationError("coil calibration table: the up and down branches do not overlap in current")
        grid = np.union1d(iu, idn)
        grid = grid[(grid >= lo) & (grid <= hi)]
        gap = np.interp(grid, idn, bd) - np.interp(grid, iu, bu)
        k0 = int(np.argmin(np.abs(grid)))
        inside = gap * np.sign(gap[k0]) >= BAND_FRACTION * abs(gap[k0])
        k_lo = k_hi = k0
        while k_hi + 1 < grid.size and inside[k_hi + 1]:
            k_hi += 1
        while k_lo > 0 and inside[k_lo - 1]:
            k_lo -= 1
        return float(grid[k_lo]), float(grid[k_hi])

    @classmethod
    def from_file(cls, path: str | Path) -> TableCoilCalibration:
        """Read a CSV file with columns ``Current (A)``, ``Field (mT)`` and optionally ``Branch`` (up/down).

        Lines starting with '#' are comments. An error names the file, the line
        number and what was expected there, never the text of the file: a bench
        file may point at any file.
        """
        path = Path(path)
        where = f"coil calibration file {path}"
        columns = f"the columns {cls.CURRENT_COLUMN}, {cls.FIELD_COLUMN}[, {cls.BRANCH_COLUMN}]"
        try:
            with path.open(newline="") as fh:
                #: (line number in the file, line) of every line that is neither blank nor a comment
                numbered = [(n, line) for n, line in enumerate(fh, start=1)
                            if line.strip() and not line.lstrip().startswith("#")]
        except UnicodeDecodeError:
            raise CalibrationError(f"{where}: not a text file; expected a CSV table with {columns}") from None
        if not numbered:
            raise CalibrationError(f"{where}: no table; expected a CSV table with {columns}")
        reader = csv.DictReader(line for _, line in numbered)
        names = [n.strip() for n in (reader.fieldnames or [])]
        if cls.CURRENT_COLUMN not in names or cls.FIELD_COLUMN not in names:
            raise CalibrationError(f"{where}: line {numbered[0][0]}: expected {columns}")
        has_branch = cls.BRANCH_COLUMN in names
        current, field, branch = [], [], []
        for row in reader:
            lineno = numbered[reader.line_num - 1][0]
            row = {k.strip(): v for k, v in row.items() if k is not None}
            try:
                current.append(float(row[cls.CURRENT_COLUMN]))
                field.append(float(row[cls.FIELD_COLUMN]))
            except (TypeError, ValueError):
                raise CalibrationError(f"{where}: line {lineno}: expected numbers under {cls.CURRENT_COLUMN} "
                                       f"and {cls.FIELD_COLUMN}") from None
            if has_branch:
                word = (row.get(cls.BRANCH_COLUMN) or "").strip().lower()
                if word not in _BRANCH_WORDS:
                    raise CalibrationError(f"{where}: line {lineno}: {cls.BRANCH_COLUMN} must be up or down "
                                           "(or +1, -1)")
                branch.append(_BRANCH_WORDS[word])
        try:
            return cls(np.array(current), np.array(field), source=str(path), branch=branch if has_branch else None)
        except CalibrationError as exc:
            raise CalibrationError(f"{where}: {exc}") from None

    # -- history ------------------------------------------------------------------------

    def follow(self, amps: float) -> None:
        """Note a supply setpoint (A): beyond the hysteresis band it sets the branch the magnet is on."""
        if self.band_A is None:
            return
        lo, hi = self.band_A
        if amps > hi:
            self.branch = DOWN
        elif amps < lo:
            self.branch = UP

    def _state(self, branch: int | None) -> int:
        chosen = self.branch if branch is None else branch
        return MEAN if chosen is None else chosen

    # -- mapping -------------------------------------------------------------------------

    def field_for_current(self, amps: float, branch: int | None = None) -> float:
        """Return the field (mT) at supply current amps (A).

        branch: None for the branch followed so far (the mean while unknown),
        or UP, DOWN or MEAN. Outside the hysteresis band the side's branch applies.
        """
        amps = float(amps)
        if self.band_A is None:
            return _interp(amps, *self.curves[MEAN])
        lo, hi = self.band_A
        if amps > hi:
            return _interp(amps, *self.curves[DOWN])
        if amps < lo:
            return _interp(amps, *self.curves[UP])
        state = self._state(branch)
        if state == MEAN:
            return 0.5 * (_interp(amps, *self.curves[UP]) + _interp(amps, *self.curves[DOWN]))
        return _interp(amps, *self.curves[state])

    def current_for_field(self, field_mT: float, branch: int | None = None) -> float:
        """Return the supply current (A) that gives field_mT (mT).

        branch: None for the branch followed so far (the mean while unknown),
        or UP, DOWN or MEAN. A field beyond the hysteresis band uses the side's branch.
        """
        field_mT = float(field_mT)
        if self.band_A is None:
            current, field = self.curves[MEAN]
            return _interp(field_mT, field, current)
        lo, hi = self.band_A
        on_down = _interp(field_mT, self.curves[DOWN][1], self.curves[DOWN][0])
        if on_down > hi:
            return on_down
        on_up = _interp(field_mT, self.curves[UP][1], self.curves[UP][0])
        if on_up < lo:
            return on_up
        state = self._state(branch)
        if state == MEAN:
            return 0.5 * (on_up + on_down)
        return on_down if state == DOWN else on_up

    def describe(self) -> dict[str, object]:
        info: dict[str, object] = {"kind": "table", "file": self.source,
                                   "points": int(sum(c[0].size for c in self.curves.values()))}
        if self.band_A is not None:
            info["branches"] = ["up", "down"]
            info["hysteresis_band_A"] = list(self.band_A)
        return info


def write_loop_calibration(
    path: str | Path,
    current_A: Iterable[float],
    field_mT: Iterable[float],
    branch: Iterable[int],
    comment: Iterable[str] = (),
) -> TableCoilCalibration:
    """Write a measured loop as a coil calibration CSV and return it as a TableCoilCalibration.

    current_A: the programmed supply currents (A); field_mT: the measured fields
    (mT); branch: UP (+1) or DOWN (-1) per point. Columns ``Current (A)``,
    ``Field (mT)``, ``Branch`` (up/down), rows in the given order, after
    ``comment`` lines prefixed with '#'. The table is validated (both branches,
    each with field increasing strictly with current) before anything is
    written; the file is written to a temporary name and then renamed, so a
    failure never leaves half a calibration behind. An existing file is refused, never
    replaced: it may be the calibration a bench file points at.
    """
    path = Path(path)
    current = np.asarray(list(current_A), dtype=float)
    field = np.asarray(list(field_mT), dtype=float)
    labels = [int(b) for b in branch]
    calibration = TableCoilCalibration(current, field, source=str(path), branch=labels)
    lines = [f"# {text}" for text in comment]
    lines.append(",".join([TableCoilCalibration.CURRENT_COLUMN, TableCoilCalibration.FIELD_COLUMN,
                           TableCoilCalibration.BRANCH_COLUMN]))
    lines += [f"{i:.10g},{b:.10g},{BRANCH_NAMES[k]}" for i, b, k in zip(current, field, labels)]
    if path.exists():  # it may be the calibration a bench file points at: never replaced silently
        raise CalibrationError(f"coil calibration file {path} exists already: not overwritten "
                               "(move it away, or give the step another calibration_file)")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return calibration
