"""Read measurement files: pymeasure Results files and plain CSV files with a header.

A pymeasure Results file is '#'-prefixed header lines (``#Procedure: <...>``,
``#Parameters:``, ``#\\tName: value`` ..., ``#Data:``) followed by a CSV table
whose first line names the columns, pymeasure style with units:
``Field (mT)``, ``V_FMR (V)``. A plain CSV file is the same without the
header (comment lines ``# key: value`` are read as header entries too).

The table is read as pymeasure's ``Results`` reads it (pandas, comment
character ``Results.COMMENT``, encoding ``Results.ENCODING``; held here as
COMMENT and ENCODING, since importing pymeasure costs a one-file fit much of its
start-up), but without ``Results.load``, which imports the procedure class
named in the header: a file must be readable on a machine that does not have
that class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: pymeasure's ``Results.COMMENT`` and ``Results.ENCODING`` (a test checks they agree)
COMMENT = "#"
ENCODING = "utf-8"

#: the header line that names the procedure, as pymeasure writes it
_PROCEDURE = re.compile(r"^Procedure:\s*<(?P<name>[^>]*)>")


class DataFileError(ValueError):
    """A file cannot be read as a data table, or lacks a column; the message names both."""


@dataclass(frozen=True)
class DataFile:
    """Columns and header of one measurement file.

    path: the file. columns: column name -> float array, in file order.
    header: "Name: value" entries of the '#' header (values as text).
    procedure: the procedure named in a pymeasure header, else None.
    names_line: the line of the file (from 1) that names the columns.
    """

    path: Path
    columns: dict[str, np.ndarray]
    header: dict[str, str] = field(default_factory=dict)
    procedure: str | None = None
    names_line: int = 0

    @property
    def names(self) -> list[str]:
        """Return the column names in file order."""
        return list(self.columns)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def column(self, name: str) -> np.ndarray:
        """Return one column as floats; DataFileError lists the columns there are."""
        try:
            return self.columns[name]
        except KeyError:
            raise DataFileError(
                f"{self.path}: no column {name!r}; the column names on line {self.names_line} are "
                + ", ".join(repr(n) for n in self.columns)
            ) from None


def _parse_header(lines: list[str]) -> tuple[dict[str, str], str | None]:
    """Return (entries, procedure) from header lines with the comment mark removed."""
    entries: dict[str, str] = {}
    procedure = None
    for line in lines:
        m = _PROCEDURE.match(line.strip())
        if m:
            procedure = m.group("name")
            continue
        key, sep, value = line.strip().partition(":")
        if sep and key and value.strip():
            entries[key.strip()] = value.strip()
    return entries, procedure


def _delimiter(line: str) -> str | None:
    """Guess the column delimiter from the column-name line (None: whitespace)."""
    counts = {d: line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else None


def read_datafile(path: str | Path) -> DataFile:
    """Read a pymeasure Results file or a plain CSV file with a header line.

    Every column must be numeric (``nan`` allowed). Raises OSError if the file
    cannot be opened and DataFileError if it holds no readable table.
    """
    import pandas as pd

    path = Path(path)
    header_lines: list[str] = []
    names_line = None
    names_lineno = 0
    with open(path, encoding=ENCODING) as f:
        for names_lineno, raw in enumerate(f, start=1):
            if raw.startswith(COMMENT):
                header_lines.append(raw[len(COMMENT):].rstrip("\r\n"))
            elif raw.strip():
                names_line = raw
                break
    if names_line is None:
        raise DataFileError(f"{path}: no data table (only a header, or an empty file)")
    sep = _delimiter(names_line)
    try:
        frame = pd.read_csv(
            path,
            comment=COMMENT,
            encoding=ENCODING,
            sep=sep if sep else r"\s+",
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: not a readable table: {exc}") from exc
    if frame.shape[0] == 0:
        raise DataFileError(f"{path}: the table has column names but no rows")
    columns: dict[str, np.ndarray] = {}
    for name in frame.columns:
        raw = frame[name]
        if raw.dtype.kind in "fiub":  # parsed as numbers already: nothing to check
            columns[str(name).strip()] = raw.to_numpy(dtype=float)
            continue
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        blank = raw.isna().to_numpy() | raw.astype(str).str.strip().str.lower().isin(["nan", ""]).to_numpy()
        bad = np.isnan(values) & ~blank
        if bad.any():
            # named by line and column number, not quoted: the text may be anything (a file that is no table)
            row = int(np.flatnonzero(bad)[0])
            raise DataFileError(
                f"{path}: {_row_place(path, names_lineno, row)}, column {frame.columns.get_loc(name) + 1}: "
                f"expected a number under the column names of line {names_lineno}"
            )
        columns[str(name).strip()] = values
    header, procedure = _parse_header(header_lines)
    return DataFile(path=path, columns=columns, header=header, procedure=procedure, names_line=names_lineno)


def _row_place(path: Path, names_lineno: int, row: int) -> str:
    """Where table row ``row`` (from 0) is in the file: "line N", else "row k of the table"."""
    seen = -1
    with open(path, encoding=ENCODING) as f:
        for lineno, raw in enumerate(f, start=1):
            if lineno <= names_lineno or raw.startswith(COMMENT) or not raw.strip():
                continue
            seen += 1
            if seen == row:
                return f"line {lineno}"
    return f"row {row + 1} of the table"
