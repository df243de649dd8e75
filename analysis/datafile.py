"""Read measurement files: pymeasure Results files, CSV and text tables, LabVIEW .lvm files.

A pymeasure Results file is '#'-prefixed header lines (``#Procedure: <...>``,
``#Parameters:``, ``#\\tName: value`` ..., ``#Data:``) followed by a CSV table
whose first line names the columns, pymeasure style with units:
``Field (mT)``, ``V_FMR (V)``. A plain CSV file is the same without the
header (comment lines ``# key: value`` are read as header entries too); a
``.dat``/``.txt`` table is the same with tabs or spaces between its columns.
A LabVIEW ``.lvm`` file has ``***End_of_Header***`` blocks (:func:`read_lvm`).
Units in the names are converted by the readers of columns
(:mod:`stfmr.analysis.spectrum_columns`), not here.

The table is read as pymeasure's ``Results`` reads it (pandas, comment
character ``Results.COMMENT``, encoding ``Results.ENCODING``; held here as
COMMENT and ENCODING, since importing pymeasure costs a one-file fit much of its
start-up), but without ``Results.load``, which imports the procedure class
named in the header: a file must be readable on a machine that does not have
that class.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
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
    names_in_file: tuple[str, ...] = ()

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
                + ", ".join(repr(n) for n in (self.names_in_file or self.columns))
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


#: a column name in a whitespace-separated table: a word, with its unit in parentheses if one follows
_SPACED_NAME = re.compile(r"[^\s(]+(?:\s*\([^()]*\))?|\([^()]*\)")


def _split_names(line: str, sep: str | None, first_row: str | None) -> list[str]:
    """The column names of a names line; with whitespace as the delimiter, ``Field (T) Vmix (V)`` is 2 names."""
    if sep is not None:
        return [n.strip() for n in next(csv.reader([line.rstrip("\r\n")], delimiter=sep, skipinitialspace=True))]
    plain = line.split()
    grouped = [n.strip() for n in _SPACED_NAME.findall(line)]
    n_values = len(first_row.split()) if first_row is not None else len(plain)
    return grouped if len(grouped) == n_values and len(plain) != n_values else plain


def _wanted(names: list[str], columns: Iterable[str] | None) -> list[int]:
    """Indices of the columns to read: every column, or those named in ``columns`` (others are ignored)."""
    if columns is None:
        return list(range(len(names)))
    want = set(columns)
    return [i for i, n in enumerate(names) if n in want]


def read_datafile(path: str | Path, columns: Iterable[str] | None = None) -> DataFile:
    """Read a measurement file: a pymeasure Results file, a CSV or text table, or a LabVIEW .lvm file.

    A table has one line of column names; its delimiter is a comma, tab or
    semicolon, else whitespace (``Field (T) Vmix (V)`` then names two columns).
    A ``.lvm`` file is read by :func:`read_lvm`. ``columns``: read only these
    columns (names absent from the file are ignored; :meth:`DataFile.column`
    names what is missing), which keeps the memory of a large file to what is
    used. Every column read must be numeric (``nan`` allowed). Raises OSError
    if the file cannot be opened and DataFileError if it holds no readable table.
    """
    path = Path(path)
    if path.suffix.lower() == ".lvm":
        return read_lvm(path, columns)
    header_lines: list[str] = []
    names_line = None
    names_lineno = 0
    first_row = None
    with open(path, encoding=ENCODING) as f:
        for names_lineno, raw in enumerate(f, start=1):
            if raw.startswith(COMMENT):
                header_lines.append(raw[len(COMMENT):].rstrip("\r\n"))
            elif raw.strip():
                names_line = raw
                break
        for raw in f:
            if raw.strip() and not raw.startswith(COMMENT):
                first_row = raw
                break
    if names_line is None:
        raise DataFileError(f"{path}: no data table (only a header, or an empty file)")
    sep = _delimiter(names_line)
    names = _split_names(names_line, sep, first_row)
    table = _read_table(path, names, _wanted(names, columns), skip=names_lineno, nrows=None,
                        sep=sep, names_lineno=names_lineno, comment=COMMENT)
    header, procedure = _parse_header(header_lines)
    return DataFile(path=path, columns=table, header=header, procedure=procedure, names_line=names_lineno,
                    names_in_file=tuple(names))


def _read_table(path: Path, names: list[str], keep: list[int], *, skip: int, nrows: int | None,
                sep: str | None, names_lineno: int, comment: str | None = None,
                decimal: str = ".") -> dict[str, np.ndarray]:
    """Read the columns ``keep`` (indices into ``names``) of the rows after line ``skip``, as floats."""
    import pandas as pd
    try:
        frame = pd.read_csv(
            path, comment=comment, encoding=ENCODING, sep=sep if sep else r"\s+",
            skipinitialspace=True, header=None, skiprows=skip, nrows=nrows, usecols=keep,
            names=list(range(len(names))), index_col=False, decimal=decimal,
        )
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: not a readable table: {exc}") from exc
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=keep)
    if frame.shape[0] == 0:
        raise DataFileError(f"{path}: the table has column names but no rows")
    columns: dict[str, np.ndarray] = {}
    for i in keep:
        raw = frame[i]
        if raw.dtype.kind in "fiub":  # parsed as numbers already: nothing to check
            columns[names[i]] = raw.to_numpy(dtype=float)
            continue
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        blank = raw.isna().to_numpy() | raw.astype(str).str.strip().str.lower().isin(["nan", ""]).to_numpy()
        bad = np.isnan(values) & ~blank
        if bad.any():
            # named by line and column number, not quoted: the text may be anything (a file that is no table)
            row = int(np.flatnonzero(bad)[0])
            raise DataFileError(
                f"{path}: {_row_place(path, skip, row, comment)}, column {i + 1}: "
                f"expected a number under the column names of line {names_lineno}"
            )
        columns[names[i]] = values
    return columns


# -- LabVIEW measurement files --------------------------------------------------------------

#: the line that ends each header block of a .lvm file
LVM_END_OF_HEADER = "***End_of_Header***"


def read_lvm(path: str | Path, columns: Iterable[str] | None = None) -> DataFile:
    """Read a LabVIEW measurement (.lvm) file: its header entries and its table.

    The file header and every segment header end with ``***End_of_Header***``;
    their lines (``Key<tab>value`` or ``Key:value``, e.g. ``Frequency(GHz):8.0``)
    become :attr:`DataFile.header` entries (the first of each key is kept).
    Each segment's table starts with its column-name line (``X_Value<tab>Field
    (Oe)<tab>...``); segments with the same names are joined in file order. The
    ``Separator`` (Tab or Comma) and ``Decimal_Separator`` of the file header are
    honoured; a trailing ``Comment`` column is not read.
    """
    path = Path(path)
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    ends = [i for i, line in enumerate(lines) if line.strip().startswith(LVM_END_OF_HEADER)]
    if not ends:
        raise DataFileError(f"{path}: not a LabVIEW measurement file: no {LVM_END_OF_HEADER} line")
    header: dict[str, str] = {}
    for line in lines[: ends[0]]:
        _lvm_entry(line, header)
    sep = "," if header.get("Separator", "Tab").strip().lower() == "comma" else "\t"
    decimal = header.get("Decimal_Separator", ".").strip() or "."
    segments: list[tuple[int, int, int]] = []  # (names line index, first row index, rows)
    i = ends[0] + 1
    text_run: list[int] = []
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.strip().startswith(LVM_END_OF_HEADER):
            i += 1
            continue
        if _is_number(line.split(sep)[0], decimal):
            if not text_run:
                raise DataFileError(f"{path}: line {i + 1}: a table without a column-name line")
            start = i
            while i < len(lines) and lines[i].strip() and _is_number(lines[i].split(sep)[0], decimal):
                i += 1
            segments.append((text_run[-1], start, i - start))
            for k in text_run[:-1]:
                _lvm_entry(lines[k], header)
            text_run = []
            continue
        text_run.append(i)
        i += 1
    for k in text_run:
        _lvm_entry(lines[k], header)
    if not segments:
        raise DataFileError(f"{path}: no data table after the {LVM_END_OF_HEADER} line")
    names_idx = segments[0][0]
    names = [n.strip() for n in lines[names_idx].split(sep)]
    while names and names[-1] in ("", "Comment"):
        names.pop()
    keep = _wanted(names, columns)
    parts: list[dict[str, np.ndarray]] = []
    for n_idx, start, nrows in segments:
        these = [n.strip() for n in lines[n_idx].split(sep)][: len(names)]
        if these != names:
            raise DataFileError(f"{path}: the column names on line {n_idx + 1} differ from those on line "
                                f"{names_idx + 1}: segments with other columns cannot be joined")
        parts.append(_read_table(path, names, keep, skip=start, nrows=nrows, sep=sep,
                                 names_lineno=n_idx + 1, decimal=decimal))
    table = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    return DataFile(path=path, columns=table, header=header, procedure=None, names_line=names_idx + 1,
                    names_in_file=tuple(names))


def _lvm_entry(line: str, header: dict[str, str]) -> None:
    """Add one .lvm header line (``Key<tab>value...`` or ``Key:value``) to ``header`` unless the key is there."""
    if "\t" in line:
        key, *values = line.split("\t")
        value = next((v.strip() for v in values if v.strip()), "")
    else:
        key, _, value = line.partition(":")
    key, value = key.strip(), value.strip()
    if key and value:
        header.setdefault(key, value)


def _is_number(text: str, decimal: str = ".") -> bool:
    try:
        float(text.strip().replace(decimal, "."))
    except ValueError:
        return False
    return True


# -- header quantities ----------------------------------------------------------------------

_NUMBER_UNIT = re.compile(r"^\s*(?P<x>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>\S+)?")


def header_quantity(header: dict[str, str], name: str, table: dict[str, float]) -> float:
    """A number of the header converted to the base unit of ``table`` (see :mod:`stfmr.analysis.units`).

    The entry is ``name`` (case-insensitive), its unit in the key's parentheses
    (``Frequency(GHz): 8.0``, a .lvm style) or after the number (``Frequency:
    10 GHz``, pymeasure's), else taken as the base unit. NaN if there is no such
    entry or its unit is not in ``table``.
    """
    from stfmr.analysis.units import quantity_factor, unit_in_name

    for key, text in header.items():
        unit = unit_in_name(key)
        bare = key[: key.rfind("(")].strip() if unit else key.strip()
        if bare.lower() != name.lower():
            continue
        m = _NUMBER_UNIT.match(text)
        if not m:
            continue
        factor = quantity_factor(unit or m.group("unit"), table)
        if factor is not None:
            return float(m.group("x")) * factor
    return float("nan")


def _row_place(path: Path, skip: int, row: int, comment: str | None) -> str:
    """Where table row ``row`` (from 0, after line ``skip``) is in the file: "line N", else "row k of the table"."""
    seen = -1
    with open(path, encoding=ENCODING) as f:
        for lineno, raw in enumerate(f, start=1):
            if lineno <= skip or (comment and raw.startswith(comment)) or not raw.strip():
                continue
            seen += 1
            if seen == row:
                return f"line {lineno}"
    return f"row {row + 1} of the table"
