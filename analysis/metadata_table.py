"""A per-file table of the settings another lab's files do not record (``stfmr analyze --metadata``).

A CSV with a ``file`` column (the data file's name, as in the run folder) and any
of ``Frequency (GHz)``, ``Angle (deg)``, ``Power (dBm)`` (other units of the
tables in :mod:`stfmr.analysis.units` are converted: ``Frequency (MHz)``,
``Angle (rad)``). A blank cell leaves the file's own value; a value replaces it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stfmr.analysis.units import ANGLE_TO_DEG, FREQUENCY_TO_GHZ, POWER_TO_DBM, quantity_factor, unit_in_name

#: the quantities of the table: (name before the unit, attribute of a Spectrum, unit table, base unit)
QUANTITIES = (
    ("frequency", "frequency_GHz", FREQUENCY_TO_GHZ, "GHz"),
    ("angle", "angle_deg", ANGLE_TO_DEG, "deg"),
    ("power", "power_dBm", POWER_TO_DBM, "dBm"),
)
FILE_COLUMN = "file"


class MetadataError(ValueError):
    """The metadata table cannot be read or names files that are not there; the message says which."""


@dataclass
class MetadataTable:
    """file name -> {Spectrum attribute: value in GHz, deg or dBm}, from ``path``."""

    path: Path
    rows: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: str | Path) -> MetadataTable:
        """Read the table; MetadataError for a missing ``file`` column, an unknown column or unit, or a bad cell."""
        path = Path(path)
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            names = [n.strip() for n in next(reader, [])]
            if FILE_COLUMN not in names:
                raise MetadataError(f"--metadata {path}: no {FILE_COLUMN!r} column on line 1; the columns are "
                                    f"'file', 'Frequency (GHz)', 'Angle (deg)', 'Power (dBm)'")
            columns = {i: cls._quantity(path, name) for i, name in enumerate(names) if name != FILE_COLUMN}
            table = cls(path)
            for lineno, row in enumerate(reader, start=2):
                if not any(cell.strip() for cell in row):
                    continue
                name = row[names.index(FILE_COLUMN)].strip()
                values: dict[str, float] = {}
                for i, (attr, factor) in columns.items():
                    cell = row[i].strip() if i < len(row) else ""
                    if not cell:
                        continue
                    try:
                        values[attr] = float(cell) * factor
                    except ValueError:
                        raise MetadataError(f"--metadata {path}: line {lineno}, column {i + 1}: expected a number")\
                            from None
                if name in table.rows:
                    raise MetadataError(f"--metadata {path}: line {lineno}: a second row for the same file")
                table.rows[name] = values
        return table

    @staticmethod
    def _quantity(path: Path, name: str) -> tuple[str, float]:
        """(Spectrum attribute, factor to its unit) of a column name such as ``Frequency (GHz)``."""
        unit = unit_in_name(name)
        bare = name[: name.rfind("(")].strip() if unit else name.strip()
        for quantity, attr, table, base in QUANTITIES:
            if bare.lower() == quantity:
                factor = quantity_factor(unit, table)
                if factor is None:
                    raise MetadataError(f"--metadata {path}: column {name!r}: unit {unit!r} is not one of "
                                        + ", ".join(table))
                return attr, factor
        raise MetadataError(f"--metadata {path}: column {name!r} is not one of 'file', 'Frequency (GHz)', "
                            "'Angle (deg)', 'Power (dBm)'")

    def check_files(self, present: set[str]) -> None:
        """Refuse a table naming files that none of the run folders holds (a typo would silently do nothing)."""
        absent = sorted(set(self.rows) - present)
        if absent:
            raise MetadataError(f"--metadata {self.path}: names file(s) not in the run folder(s): "
                                + ", ".join(absent[:5]) + (" ..." if len(absent) > 5 else ""))

    def apply(self, run: Any) -> None:
        """Set the table's values on the spectra and frequency scans of ``run`` (a RunData) it names.

        A frequency scan's frequency is its swept column: only its angle and power are set.
        """
        for spectrum in run.spectra:
            for attr, value in self.rows.get(spectrum.file, {}).items():
                setattr(spectrum, attr, value)
        for scan in run.frequency_scans:
            for attr, value in self.rows.get(scan.file, {}).items():
                if attr != "frequency_GHz":
                    setattr(scan, attr, value)
