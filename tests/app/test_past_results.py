"""Opening a past results file in the GUI imports nothing its header names (load_results)."""

import sys
from pathlib import Path

import pytest
from pymeasure.experiment import Results

from stfmr.app.gui.past_results import load_results, procedure_class, stfmr_procedures
from stfmr.procedures.field_sweep import FieldSweep
from stfmr.procedures.registry import PROCEDURES

#: a module that must never be imported: importing it leaves a mark
PROBE = """
from pathlib import Path
Path(__file__).with_name("imported.mark").write_text("imported")

class FieldSweep:
    pass
"""


@pytest.fixture(scope="module")
def measured(one_spectrum_run) -> Path:
    """A spectrum file written by the runner on the virtual bench (shared: read only)."""
    (path,) = one_spectrum_run.glob("*.csv")
    return path


def with_procedure(source: Path, target: Path, *names: str) -> Path:
    """A copy of ``source`` whose '#Procedure:' line names ``names`` (one line each)."""
    lines = source.read_text().splitlines(keepends=True)
    assert lines[0].startswith("#Procedure: <stfmr.procedures.field_sweep.FieldSweep>")
    target.write_text("".join(f"#Procedure: <{n}>\n" for n in names) + "".join(lines[1:]))
    return target


@pytest.fixture
def probe(tmp_path, monkeypatch) -> Path:
    """An importable module ``stfmr_probe_never_import`` that marks its import; returns the mark's path."""
    (tmp_path / "stfmr_probe_never_import.py").write_text(PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path / "imported.mark"
    sys.modules.pop("stfmr_probe_never_import", None)


def test_a_real_stfmr_file_loads_with_its_parameters_and_data(measured):
    results = load_results(measured)
    assert type(results.procedure) is FieldSweep
    assert results.procedure.field_points == 21 and results.procedure.power_dBm == pytest.approx(15.0)  # not defaults
    assert len(results.data) == 21 and "V_FMR (V)" in results.data.columns
    assert results.data_filename == str(measured)


def test_os_abort_in_the_header_is_refused_and_the_process_survives(measured, tmp_path):
    path = with_procedure(measured, tmp_path / "abort.csv", "os.abort")
    with pytest.raises(ValueError) as info:
        load_results(path)
    message = str(info.value)
    assert str(path) in message and "'os.abort'" in message and "not imported" in message


@pytest.mark.parametrize("names", [
    ["stfmr_probe_never_import.FieldSweep"],
    ["stfmr.procedures.field_sweep.FieldSweep", "stfmr_probe_never_import.FieldSweep"],  # pymeasure takes the last
    ["stfmr_probe_never_import.FieldSweep", "stfmr.procedures.field_sweep.FieldSweep"],
])
def test_no_module_the_header_names_is_imported(measured, tmp_path, probe, names):
    path = with_procedure(measured, tmp_path / "probe.csv", *names)
    with pytest.raises(ValueError, match=str(path).replace("\\", "\\\\")):
        load_results(path)
    assert not probe.exists() and "stfmr_probe_never_import" not in sys.modules


@pytest.mark.parametrize("name", [
    "stfmr.procedures.evil.FieldSweep",  # a class name of stfmr in another module
    "stfmr.procedures.field_sweep.os",   # something else reachable from stfmr's module
    "FieldSweep",                        # no module
    "stfmr.procedures.registry.PROCEDURES",
])
def test_only_stfmr_procedures_by_their_full_name_are_accepted(measured, tmp_path, name):
    path = with_procedure(measured, tmp_path / "other.csv", name)
    with pytest.raises(ValueError, match="refused the procedure"):
        procedure_class(path)


def test_pymeasure_imports_nothing_when_given_the_procedure_class(measured, tmp_path, probe):
    """The premise of load_results: Results.load(path, procedure_class=...) only reads the header's name."""
    path = with_procedure(measured, tmp_path / "probe.csv", "stfmr_probe_never_import.FieldSweep")
    results = Results.load(str(path), procedure_class=FieldSweep)
    assert type(results.procedure) is FieldSweep and len(results.data) == 21
    assert not probe.exists()


@pytest.mark.parametrize("name", sorted(PROCEDURES))
def test_every_stfmr_procedure_round_trips(tmp_path, name):
    cls = PROCEDURES[name]
    path = tmp_path / f"{name}.csv"
    Results(cls(), str(path))  # writes the header as the runner and the GUI do
    assert "#Procedure: <stfmr.procedures." in path.read_text().splitlines()[0]
    assert type(load_results(path).procedure) is cls
    assert stfmr_procedures()[f"{cls.__module__}.{cls.__qualname__}"] is cls


@pytest.mark.parametrize("text, problem", [
    ("Field (mT)\n1\n", "found 0"),
    ("#Procedure: stfmr.procedures.field_sweep.FieldSweep\n#Data:\nField (mT)\n1\n", "line 1: expected"),
    ("#Procedure: <stfmr.procedures.field_sweep.FieldSweep>\n#Parameters:\n#\tAngle=3\n", "line 3: expected a header"),
])
def test_malformed_headers_are_refused_by_line(tmp_path, text, problem):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=problem):
        load_results(path)


def test_a_binary_or_missing_file(tmp_path):
    path = tmp_path / "bin.csv"
    path.write_bytes(b"#\xff\xfe\x00")
    with pytest.raises(ValueError, match="not a text file"):
        load_results(path)
    with pytest.raises(OSError):
        load_results(tmp_path / "nope.csv")
