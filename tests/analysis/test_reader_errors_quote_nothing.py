"""Files in a run folder that are not measurements are skipped by line number, never quoted.

A skip reason goes into ``analysis.json`` of a report; a file in the folder (or a
symlink to one) may hold anything, so neither its column-name line nor a cell is echoed.
"""

import pytest

from stfmr.analysis.datafile import DataFileError, read_datafile
from stfmr.analysis.run_reader import read_run

SECRET = "SECRET-TOKEN"


@pytest.mark.parametrize("text, where", [
    (f"root:x:0:0:{SECRET}:/root:/bin/bash\ndaemon:x:1:1:{SECRET}::/bin/false\n", "line 2, column 1"),
    (f"# a comment\nField (mT),V_FMR (V)\n1,2\n2,{SECRET}\n", "line 4, column 2"),
])
def test_a_non_numeric_table_is_refused_by_line_and_column(tmp_path, text, where):
    path = tmp_path / "x.csv"
    path.write_text(text)
    with pytest.raises(DataFileError) as info:
        read_datafile(path)
    message = str(info.value)
    assert where in message and SECRET not in message and "root:x" not in message


def test_skipped_files_of_a_run_folder_are_not_quoted(tmp_path):
    (tmp_path / "passwd.csv").write_text(f"root:x:0:0:{SECRET}:/root:/bin/bash\n")
    (tmp_path / "numbers.csv").write_text(f"# notes\n{SECRET}\n1\n2\n")
    (tmp_path / "notes.csv").symlink_to(tmp_path / "passwd.csv")
    run = read_run(tmp_path)
    reasons = {s.file: s.reason for s in run.skipped}
    assert set(reasons) == {"passwd.csv", "numbers.csv", "notes.csv"}
    assert all(SECRET not in r and "root:x" not in r for r in reasons.values()), reasons
    assert "the column names on line 2 lack Field (mT) and V_FMR (V)" in reasons["numbers.csv"]
