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

The table is read with the conventions of pymeasure's ``Results`` (comment
character ``Results.COMMENT``, encoding ``Results.ENCODING``; held here as
COMMENT and ENCODING) and the cell rules of the pandas reader it uses (blank and
``NA``-style cells are NaN, a short row ends in NaN, text after ``#`` is a
comment), but by numpy and the standard library: importing pymeasure or pandas
would cost a one-file ``stfmr fit`` most of its start-up. ``Results.load`` is not
used either, since it imports the procedure class named in the header: a file
must be readable on a machine that does not have that class.
"""

from __future__ import annotations

import csv
import math
import re
import warnings
from array import array
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
    try:
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
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}: not a readable table: {exc}") from exc
    if names_line is None:
        raise DataFileError(f"{path}: no data table (only a header, or an empty file)")
    if first_row is None:
        raise DataFileError(f"{path}: the table has column names but no rows")
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
    """Read the columns ``keep`` (indices into ``names``) of the rows after line ``skip``, as floats.

    A table of plain numbers is read by numpy's C reader; any other table
    (blank or ``NA`` cells, short rows, text, a decimal comma) line by line
    (:func:`_read_rows`), which gives the same numbers and places a bad cell by
    its line. No columns wanted: no columns read.
    """
    if not keep:
        return {}
    if decimal == ".":
        try:
            with open(path, encoding=ENCODING) as f, warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "input contained no data": refused below
                block = np.loadtxt(f, dtype=float, delimiter=sep, comments=comment, skiprows=skip,
                                   max_rows=nrows, usecols=keep, quotechar='"', ndmin=2)
        except ValueError:  # a cell or row numpy does not read (UnicodeDecodeError is one): read it line by line
            pass
        else:
            if block.shape[0] == 0:
                raise DataFileError(f"{path}: the table has column names but no rows")
            block = np.ascontiguousarray(block.T)  # one contiguous row per column
            return {names[i]: block[k] for k, i in enumerate(keep)}
    return _read_rows(path, names, keep, skip=skip, nrows=nrows, sep=sep, names_lineno=names_lineno,
                      comment=comment, decimal=decimal)


#: cells read as NaN (pandas' default ``na_values`` that a comment mark does not cut short)
_NA_CELLS = frozenset({"", "NA", "N/A", "n/a", "<NA>", "NULL", "null", "NaN", "-NaN", "nan", "-nan", "None"})
#: cells of a column of truth values (read as 1 and 0 when every cell of the column is one: pandas' rule)
_TRUE_CELLS = frozenset({"True", "TRUE", "true"})
_FALSE_CELLS = frozenset({"False", "FALSE", "false"})


def _odd_cell(text: str, column: int, lineno: int, bad_line: dict[int, int],
              truth: dict[int, tuple[int, int]]) -> float:
    """The value of a cell that ``float`` did not read as it stands: NaN for a blank or ``NA`` cell,
    1 or 0 for a truth value (counted in ``truth``), else NaN with its line noted in ``bad_line``."""
    text = text.strip()
    if text in _NA_CELLS:
        return math.nan
    if text in _TRUE_CELLS or text in _FALSE_CELLS:
        count, first = truth.get(column, (0, lineno))
        truth[column] = (count + 1, first)
        return 1.0 if text in _TRUE_CELLS else 0.0
    if text.isascii() and "_" not in text:  # a number between non-ASCII spaces, as numpy reads it
        try:
            return float(text)
        except ValueError:
            pass
    bad_line.setdefault(column, lineno)
    return math.nan


def _cells(line: str, sep: str | None) -> list[str]:
    """The cells of one line: split at ``sep`` (quotes respected), or at runs of whitespace."""
    if '"' not in line:
        return line.split(sep)
    if sep is None:
        return [c[1:-1] if len(c) > 1 and c[0] == c[-1] == '"' else c for c in line.split()]
    return next(csv.reader([line], delimiter=sep, skipinitialspace=True))


def _read_rows(path: Path, names: list[str], keep: list[int], *, skip: int, nrows: int | None,
               sep: str | None, names_lineno: int, comment: str | None, decimal: str) -> dict[str, np.ndarray]:
    """Read the columns ``keep`` line by line, as :func:`_read_table` describes.

    Text after ``comment`` is dropped and blank lines are skipped; a row shorter
    than ``keep`` reads NaN in the cells it lacks. A cell that is no number
    raises DataFileError naming its line and column (never quoting it: the file
    may be anything), the first such cell of the leftmost column with one.
    """
    columns = [(i, array("d")) for i in keep]
    width = max(keep) + 1
    bad_line: dict[int, int] = {}  # column index -> line of its first cell that is no number
    truth: dict[int, tuple[int, int]] = {}  # column index -> (its True/False cells, the line of the first)
    point = decimal not in (".", sep)  # a decimal comma: read as a point
    rows = 0
    try:
        with open(path, encoding=ENCODING) as f:
            for lineno, line in enumerate(f, start=1):
                if lineno <= skip:
                    continue
                if comment and comment in line:
                    line = line[: line.index(comment)]
                if not line or line.isspace():
                    continue
                if nrows is not None and rows >= nrows:
                    break
                if point:
                    line = line.replace(decimal, ".")
                cells = _cells(line, sep)
                if len(cells) < width:
                    cells += [""] * (width - len(cells))
                for i, out in columns:
                    text = cells[i]
                    try:
                        value = float(text)
                        if "_" in text or not text.isascii():  # float() reads 1_000 and other scripts' digits
                            raise ValueError(text)
                    except ValueError:
                        value = _odd_cell(text, i, lineno, bad_line, truth)
                    out.append(value)
                rows += 1
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}: not a readable table: {exc}") from exc
    if rows == 0:
        raise DataFileError(f"{path}: the table has column names but no rows")
    for i, (count, first) in truth.items():
        if count < rows:  # truth values among numbers or blanks: the first of them is a bad cell too
            bad_line[i] = min(first, bad_line.get(i, first))
    if bad_line:
        i = min(bad_line)
        raise DataFileError(f"{path}: line {bad_line[i]}, column {i + 1}: "
                            f"expected a number under the column names of line {names_lineno}")
    return {names[i]: np.frombuffer(out, dtype=float) for i, out in columns}


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
