"""Reading pymeasure Results files and plain CSV files into columns."""

from __future__ import annotations

import numpy as np
import pytest
from pymeasure.experiment import FloatParameter, Procedure, Results

from stfmr.analysis.datafile import DataFileError, read_datafile


class _SweepProcedure(Procedure):
    """A minimal procedure, so that pymeasure itself writes the file under test."""

    frequency = FloatParameter("Frequency", units="GHz", default=10.0)
    DATA_COLUMNS = ["Field (mT)", "V_FMR (V)", "Angle (deg)"]


def _pymeasure_file(path, rows):
    procedure = _SweepProcedure()
    procedure.frequency = 12.5
    results = Results(procedure, str(path))
    with open(path, "a", encoding=Results.ENCODING) as f:
        for row in rows:
            f.write(results.format(dict(zip(_SweepProcedure.DATA_COLUMNS, row))) + Results.LINE_BREAK)
    return path


def test_reads_a_file_written_by_pymeasure_results(tmp_path):
    rows = [(10.0 + i, 1e-6 * i, 45.0) for i in range(5)] + [(15.0, float("nan"), 45.0)]
    data = read_datafile(_pymeasure_file(tmp_path / "sweep.csv", rows))
    assert data.names == _SweepProcedure.DATA_COLUMNS
    assert len(data) == 6
    np.testing.assert_allclose(data.column("Field (mT)"), [10, 11, 12, 13, 14, 15])
    assert np.isnan(data.column("V_FMR (V)")[-1])
    assert data.column("V_FMR (V)")[3] == pytest.approx(3e-6)
    assert data.header["Frequency"] == "12.5 GHz"
    assert data.procedure.endswith("_SweepProcedure")


def test_reads_a_plain_csv_with_header_and_comment_entries(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("# Sample: reference\nB (mT), signal (V)\n1.0, 2e-6\n2.0, 3e-6\n", encoding="utf-8")
    data = read_datafile(path)
    assert data.names == ["B (mT)", "signal (V)"]
    np.testing.assert_allclose(data.column("signal (V)"), [2e-6, 3e-6])
    assert data.header == {"Sample": "reference"}
    assert data.procedure is None


@pytest.mark.parametrize("sep", ["\t", ";", "  "])
def test_reads_tab_semicolon_and_space_separated_tables(tmp_path, sep):
    path = tmp_path / "table.txt"
    path.write_text(f"H{sep}V\n1{sep}5\n2{sep}6\n", encoding="utf-8")
    np.testing.assert_allclose(read_datafile(path).column("V"), [5, 6])


def test_missing_column_names_the_file_and_lists_the_columns(tmp_path):
    path = _pymeasure_file(tmp_path / "sweep.csv", [(1.0, 2.0, 3.0)])
    with pytest.raises(DataFileError) as exc:
        read_datafile(path).column("Field set (mT)")
    message = str(exc.value)
    assert "sweep.csv" in message and "'Field set (mT)'" in message
    assert "the column names on line 5 are 'Field (mT)', 'V_FMR (V)', 'Angle (deg)'" in message


def test_a_non_numeric_cell_is_placed_by_line_and_column_without_quoting_it(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("# a comment\nField (mT),V_FMR (V)\n1,2\n\n2,oops\n", encoding="utf-8")
    with pytest.raises(DataFileError) as exc:
        read_datafile(path)
    message = str(exc.value)
    assert message == f"{path}: line 5, column 2: expected a number under the column names of line 2"


@pytest.mark.parametrize("text", ["", "# only a header\n#Data:\n", "A,B\n"])
def test_files_without_a_table_are_refused(tmp_path, text):
    path = tmp_path / "empty.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError, match="empty.csv: (no data table|the table has column names but no rows)"):
        read_datafile(path)


def test_a_missing_file_is_an_oserror(tmp_path):
    with pytest.raises(OSError):
        read_datafile(tmp_path / "absent.csv")


def test_comment_and_encoding_are_pymeasures():
    """The reader keeps pymeasure's Results format without importing pymeasure (start-up time)."""
    from pymeasure.experiment.results import Results

    from stfmr.analysis import datafile

    assert (datafile.COMMENT, datafile.ENCODING) == (Results.COMMENT, Results.ENCODING)
