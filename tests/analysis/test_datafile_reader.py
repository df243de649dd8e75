"""The table reader without pandas: the cells read as the pandas reader read them, numpy's and the line reader agree.

``read_datafile`` reads a table of plain numbers with numpy's C reader and any
other table line by line; pandas (pymeasure's reader) is no longer imported,
for the start-up of ``stfmr fit``. These tests hold the reader to the cell rules
of ``pandas.read_csv`` as the former reader called it.
"""

from __future__ import annotations

import numpy as np
import pytest

from stfmr.analysis import datafile
from stfmr.analysis.datafile import DataFileError, read_datafile
from support import other_labs as labs

#: tables the former pandas reader read: NA cells, blanks, short and long rows, comments, quotes, spaces
TABLES = {
    "numbers": "A,B\n1,2e-6\n-3.5,+.5\n1e300,-0\n",
    "na_cells": "A,B\n1,NA\n2,N/A\n3,null\n4,None\n5,-nan\n6,<NA>\n7,n/a\n8,NULL\n9,NaN\n10,\n",
    "infinities": "A,B\n1,inf\n2,-inf\n3,Infinity\n4,+inf\n",
    "short_rows": "A,B,C\n1,2\n3,4,5\n,,\n",
    "long_rows": "A,B\n1,2,3\n4,5,6,7\n",
    "trailing_delimiter": "A,B\n1,2,\n4,5,\n",
    "comments_and_blanks": "# a: 1\nA,B\n\n1,2 # a note\n   \n# another\n3,4\n",
    "quoted": 'A,B\n"1.5","2"\n3,""\n',
    "spaces_around": "A,B\n 1 , 2\n3,  4\n",
    "semicolons": "A;B\n1;2\n3;4\n",
    "tabs": "A\tB\n1\t2\n3\t4\n",
    "whitespace": "A B\n  1   2\n3\t4\n5 nan\n6\n",
    "truth_column": "A,B\n1,True\n2,false\n",
    "crlf": "A,B\r\n1,2\r\n3,4\r\n",
}


def _pandas_reference(path, sep: str | None, names: list[str], skip: int) -> dict[str, np.ndarray]:
    """The former reader: ``pandas.read_csv`` with its arguments, text cells through ``pandas.to_numeric``."""
    import pandas as pd

    frame = pd.read_csv(path, comment="#", encoding="utf-8", sep=sep if sep else r"\s+", skipinitialspace=True,
                        header=None, skiprows=skip, usecols=list(range(len(names))), names=list(range(len(names))),
                        index_col=False)
    return {name: pd.to_numeric(frame[i], errors="raise").to_numpy(dtype=float) for i, name in enumerate(names)}


@pytest.mark.parametrize("name", TABLES)
def test_cells_read_as_the_pandas_reader_read_them(tmp_path, name):
    path = tmp_path / f"{name}.csv"
    path.write_bytes(TABLES[name].encode())
    data = read_datafile(path)
    names_line = path.read_text(encoding="utf-8").splitlines()[data.names_line - 1]
    expected = _pandas_reference(path, datafile._delimiter(names_line), data.names, data.names_line)
    assert list(data.columns) == list(expected)
    for column, values in expected.items():
        np.testing.assert_array_equal(data.column(column), values, err_msg=column)


def test_numpy_and_the_line_reader_give_the_same_floats(tmp_path):
    """A plain table goes to numpy's reader, any other line by line: both must give identical numbers."""
    rng = np.random.default_rng(7)
    table = rng.normal(0.0, 1.0, (400, 3)) * 10.0 ** rng.integers(-12, 12, (400, 3))
    table[rng.random(table.shape) < 0.02] = np.nan
    path = tmp_path / "t.csv"
    rows = "\n".join(",".join(f"{x:.{rng.integers(1, 18)}g}" for x in row) for row in table)
    path.write_text("A,B,C\n" + rows + "\n", encoding="utf-8")
    names, keep = ["A", "B", "C"], [0, 2]
    fast = datafile._read_table(path, names, keep, skip=1, nrows=None, sep=",", names_lineno=1, comment="#")
    slow = datafile._read_rows(path, names, keep, skip=1, nrows=None, sep=",", names_lineno=1, comment="#",
                               decimal=".")
    assert list(fast) == list(slow) == ["A", "C"]
    for name in fast:
        np.testing.assert_array_equal(fast[name], slow[name])


@pytest.mark.parametrize("text, where", [
    ("A,B\n1,True\n2,3\n", "line 2, column 2"),  # truth values among numbers
    ("A,B\n1,2\n2,1_000\n", "line 3, column 2"),  # float() reads it; numpy and pandas do not
    ("A,B,C\n1,2,x\n2,y,3\n", "line 3, column 2"),  # the leftmost column with a bad cell
])
def test_a_cell_that_is_no_number_is_placed_by_line_and_column(tmp_path, text, where):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        read_datafile(path)
    assert str(info.value) == f"{path}: {where}: expected a number under the column names of line 1"


def test_undecodable_bytes_are_refused_as_no_readable_table(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"A,B\n1,2\n3,\xff\xfe\n")
    with pytest.raises(DataFileError, match="binary.csv: not a readable table"):
        read_datafile(path)


def test_a_file_without_any_wanted_column_names_the_missing_one(tmp_path):
    """Reading only absent columns is no 'table without rows': the missing column is named."""
    path = tmp_path / "other.csv"
    path.write_text("B (mT),Signal (V)\n1,2\n", encoding="utf-8")
    data = read_datafile(path, columns=["Field (mT)", "V_FMR (V)"])
    with pytest.raises(DataFileError, match="no column 'Field \\(mT\\)'; the column names on line 1 are "
                                            "'B \\(mT\\)', 'Signal \\(V\\)'"):
        data.column("Field (mT)")


def test_an_lvm_with_a_decimal_comma_reads_the_same_numbers(tmp_path):
    point = labs.write_lvm(tmp_path / "point.lvm", segments=2)
    comma = tmp_path / "comma.lvm"
    lines = point.read_text(encoding="utf-8").splitlines()
    # every cell of a table line (a line of numbers) gets a decimal comma, and the header says so
    lines = [line.replace(".", ",") if line[:1].isdigit() else line for line in lines]
    comma.write_text("\n".join(lines).replace("Decimal_Separator\t.", "Decimal_Separator\t,") + "\n",
                     encoding="utf-8")
    a, b = read_datafile(point), read_datafile(comma)
    assert b.names == a.names and len(b) == len(a) == 241
    for name in a.names:
        np.testing.assert_array_equal(b.column(name), a.column(name))
