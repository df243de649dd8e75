"""A coil calibration file is refused by file, line and what was expected: its text is never quoted.

A bench file may name any file as ``calibration_file`` (``../../etc/passwd``);
the error must not carry that file's content into a terminal, a log or a report.
"""

from pathlib import Path

import pytest

from stfmr.app import cli
from stfmr.instruments.calibration import CalibrationError, TableCoilCalibration

SIM_BENCH = Path(__file__).resolve().parents[2] / "examples" / "benches" / "sim.toml"
SECRET = "SECRET-TOKEN"
PASSWD = f"root:x:0:0:{SECRET}:/root:/bin/bash\ndaemon:x:1:1::/:/bin/false\n"
COLUMNS = "expected the columns Current (A), Field (mT)[, Branch]"
NUMBERS = "expected numbers under Current (A) and Field (mT)"


def test_a_bench_file_pointing_at_a_system_file_gets_the_line_number_not_the_line(tmp_path, capsys):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text(PASSWD)
    bench_dir = tmp_path / "lab" / "benches"
    bench_dir.mkdir(parents=True)
    bench = bench_dir / "bench.toml"
    text = SIM_BENCH.read_text()
    assert "mT_per_A = 40.0" in text
    bench.write_text(text.replace("mT_per_A = 40.0", 'calibration_file = "../../etc/passwd"'))
    assert cli.main(["instruments", "--bench", str(bench)]) == cli.EXIT_INSTRUMENT
    out = capsys.readouterr()
    field = next(line for line in out.out.splitlines() if line.startswith("field"))
    assert f"coil calibration file {bench_dir / '../../etc/passwd'}: line 1: {COLUMNS}" in field
    assert SECRET not in out.out + out.err and "root:" not in out.out + out.err


@pytest.mark.parametrize("text, problem", [
    (PASSWD, f"line 1: {COLUMNS}"),
    (f"# {SECRET}\n\n{SECRET},Field (mT)\n0,0\n", f"line 3: {COLUMNS}"),
    (f"Current (A),Field (mT)\n0,0\n# a comment\n\n1,{SECRET}\n", f"line 5: {NUMBERS}"),
    ("Current (A),Field (mT)\n0,0\n1\n", f"line 3: {NUMBERS}"),
    (f"Current (A),Field (mT),Branch\n0,0,up\n1,40,{SECRET}\n", "line 3: Branch must be up or down (or +1, -1)"),
    (f"# {SECRET}\n# only comments\n", "no table; expected a CSV table with the columns"),
])
def test_calibration_table_errors_name_file_line_and_expectation_only(tmp_path, text, problem):
    path = tmp_path / "coil.csv"
    path.write_text(text)
    with pytest.raises(CalibrationError) as info:
        TableCoilCalibration.from_file(path)
    message = str(info.value)
    assert message.startswith(f"coil calibration file {path}: ") and problem in message
    assert SECRET not in message and "root:x" not in message


def test_a_binary_file_is_no_table(tmp_path):
    path = tmp_path / "coil.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe" + SECRET.encode())
    with pytest.raises(CalibrationError, match="not a text file; expected a CSV table") as info:
        TableCoilCalibration.from_file(path)
    assert SECRET not in str(info.value)


def test_a_good_table_with_comments_reads_as_before(tmp_path):
    path = tmp_path / "coil.csv"
    path.write_text("# measured 2026-11-24\n\nCurrent (A),Field (mT),Branch\n0,0.5,up\n2,80,up\n# down\n"
                    "2,81,down\n0,1.5,down\n")
    cal = TableCoilCalibration.from_file(path)
    assert cal.hysteretic and cal.describe()["points"] == 4
