"""The formats stfmr writes and reads back have one home each.

Column names and the header parameters the analysis reads live in
:mod:`stfmr.analysis.columns`; why a file was left out is a typed record of
:mod:`stfmr.analysis.skip_reasons`. These tests pin producers and readers to them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stfmr.analysis import columns as col
from stfmr.analysis.datafile import read_datafile
from stfmr.analysis.run_manifest import JOURNAL, read_journal
from stfmr.analysis.run_reader import KIND_COLUMNS, classify, read_run
from stfmr.analysis.skip_reasons import SkipKind, Skipped
from stfmr.app import cli
from stfmr.instruments.bench import open_simulated_bench
from stfmr.procedures.amr import AmrSweep
from stfmr.procedures.autophase import Autophase
from stfmr.procedures.base import BenchProcedure
from stfmr.procedures.executor import ABORTED_BY_OPERATOR, RunOutcome, run_sequence
from stfmr.procedures.field_sweep import FieldSweep
from stfmr.procedures.frequency_scan import FrequencyScan
from stfmr.procedures.magnet_calibration import MagnetCalibration
from stfmr.procedures.registry import PROCEDURES
from stfmr.procedures.rf_calibration import RfCalibration
from stfmr.procedures.sequence import parse_sequence

from support import runs as helpers

#: one small step of every kind of measurement stfmr makes
EVERY_KIND = helpers.SAMPLE + """
[[step]]
kind = "autophase"
frequency_GHz = 10.0
power_dBm = 15.0
angle_deg = 45.0
window_mT = 80.0
mu0_Meff_T = 0.6
field_points = 21

[[step]]
kind = "amr"
field_mT = 300.0
angles_deg = {start = 0, stop = 90, step = 45}

[[step]]
kind = "rf_calibration"
frequencies_GHz = [10.0]
field_mT = 350.0
dc_points = 3
powers_dBm = {start = 0, stop = 10, points = 2}

[[step]]
kind = "field_sweep"
frequency_GHz = 10.0
power_dBm = 15.0
angle_deg = 45.0
window_mT = 80.0
mu0_Meff_T = 0.6
field_points = 21
both_branches = true

[[step]]
kind = "frequency_scan"
field_mT = 150.0
frequencies_GHz = {start = 8, stop = 12, points = 21}
power_dBm = 15.0

[[step]]
kind = "magnet_calibration"
max_current_A = 2.0
points_per_branch = 5
settle_s = 0.5
"""

#: what the run reader makes of each procedure's columns (a frequency scan is told apart by its data)
EXPECTED_KIND = {FieldSweep: "spectrum", Autophase: "spectrum", FrequencyScan: "spectrum", AmrSweep: "amr",
                 RfCalibration: "rf_calibration", MagnetCalibration: None}


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("formats") / "run"
    bench = open_simulated_bench("type-A")
    try:
        outcome = run_sequence(parse_sequence(EVERY_KIND, "every.toml", bench.limits), bench, folder, progress=None)
    finally:
        bench.close()
    assert outcome.state == "finished", outcome.error
    return folder


def test_every_procedure_declares_known_column_names_and_every_name_is_written():
    assert set(EXPECTED_KIND) == set(PROCEDURES.values())
    for cls in PROCEDURES.values():
        assert set(cls.DATA_COLUMNS) <= col.RESULTS_COLUMNS, cls.__name__
        assert len(set(cls.DATA_COLUMNS)) == len(cls.DATA_COLUMNS), cls.__name__
    assert set().union(*(cls.DATA_COLUMNS for cls in PROCEDURES.values())) == col.RESULTS_COLUMNS


def test_the_reader_classifies_by_the_same_names_the_procedures_write():
    for needed in KIND_COLUMNS.values():
        assert set(needed) <= col.RESULTS_COLUMNS
    for cls, kind in EXPECTED_KIND.items():
        assert classify(list(cls.DATA_COLUMNS)) == kind, cls.__name__


def test_the_header_parameters_the_reader_reads_are_the_procedures_parameter_names():
    pairs = [
        (FieldSweep.frequency_GHz, col.FREQUENCY_PARAM), (RfCalibration.frequency_GHz, col.FREQUENCY_PARAM),
        (FieldSweep.power_dBm, col.POWER_PARAM), (FieldSweep.angle_deg, col.ANGLE_PARAM),
        (FieldSweep.both_branches, col.BOTH_BRANCHES_PARAM), (FieldSweep.field_points, col.FIELD_POINTS_PARAM),
        (FrequencyScan.frequency_points, col.FREQUENCY_POINTS_PARAM), (FrequencyScan.g, col.LANDE_G_PARAM),
        (AmrSweep.angle_points, col.ANGLE_POINTS_PARAM), (RfCalibration.dc_points, col.DC_CURRENT_POINTS_PARAM),
        (RfCalibration.power_points, col.POWER_POINTS_PARAM), (BenchProcedure.sample_record, col.SAMPLE_PARAM),
    ]
    for parameter, name in pairs:
        assert parameter.name == name


def test_every_file_a_run_writes_holds_its_procedures_columns_and_reads_back(every_kind):
    entries = read_journal(every_kind / JOURNAL)
    assert {e["procedure"] for e in entries} == {cls.__name__ for cls in PROCEDURES.values()}
    for entry in entries:
        data = read_datafile(every_kind / entry["file"])
        assert data.names == PROCEDURES[entry["procedure"]].DATA_COLUMNS, entry["file"]
        assert len(data) > 0
    run = read_run(every_kind)
    assert (len(run.spectra), len(run.frequency_scans), len(run.amr), len(run.rf_calibrations)) == (1, 1, 1, 1)
    assert run.skipped == [Skipped(next(e["file"] for e in entries if e["kind"] == "autophase"), SkipKind.AUTOPHASE,
                                   "autophase step: measured before the lock-in phase was set")]


def _manifest_less(every_kind: Path, folder: Path) -> dict[str, str]:
    """A folder without a manifest holding one file of each kind of trouble; file -> the kind expected."""
    folder.mkdir()
    entries = {e["kind"]: e["file"] for e in read_journal(every_kind / JOURNAL)}
    spectrum = (every_kind / entries["field_sweep"]).read_text().splitlines(keepends=True)
    header = [line for line in spectrum if line.startswith("#")]
    (folder / "garbage.csv").write_bytes(b"\xff\xfe\x00binary")
    (folder / "notes.csv").write_text("a,b\n1,2\n")
    (folder / "cut.csv").write_text("".join(spectrum[: len(header) + 5]))
    shutil.copy(every_kind / entries["autophase"], folder / "phase.csv")
    return {"garbage.csv": "unreadable", "notes.csv": "not_a_measurement", "cut.csv": "truncated",
            "phase.csv": "autophase"}


def test_every_skip_has_a_kind_in_the_reader_and_in_stfmr_analyze(every_kind, tmp_path, capsys):
    # without a manifest: the files' own trouble
    expected = _manifest_less(every_kind, tmp_path / "loose")
    run = read_run(tmp_path / "loose")
    assert {s.file: s.kind.value for s in run.skipped} == expected
    # with one: what the manifest says (not complete, missing) and what it does not index
    folder = tmp_path / "indexed"
    shutil.copytree(every_kind, folder)
    lines = (folder / JOURNAL).read_text().splitlines()
    last = json.loads(lines[-1])
    last["entry"]["status"] = "failed"
    (folder / JOURNAL).write_text("\n".join(lines + [json.dumps(last)]) + "\n")
    entries = read_journal(folder / JOURNAL)
    amr = next(e["file"] for e in entries if e["kind"] == "amr")
    (folder / amr).unlink()
    shutil.copy(every_kind / next(e["file"] for e in entries if e["kind"] == "field_sweep"), folder / "stray.csv")
    assert cli.main(["analyze", str(folder), "--json", "--jobs", "1"]) == 0
    sample = json.loads(capsys.readouterr().out)["samples"][0]
    kinds = {s["file"]: s["kind"] for s in sample["skipped_files"]}
    assert all(set(s) == {"file", "kind", "reason"} for s in sample["skipped_files"])
    assert kinds == {entries[-1]["file"]: "not_complete", amr: "missing", "stray.csv": "not_in_manifest",
                     next(e["file"] for e in entries if e["kind"] == "autophase"): "autophase"}
    reasons = {s["file"]: s["reason"] for s in sample["skipped_files"]}
    assert reasons[entries[-1]["file"]] == "failed in the manifest"
    assert cli.main(["analyze", str(folder), "--jobs", "1", "--quiet"]) == 0
    assert f"  skipped: {amr}: listed in the manifest but missing" in capsys.readouterr().out


def test_a_stop_by_the_operator_is_told_apart_by_the_outcome_not_by_matching_its_text():
    assert RunOutcome("aborted", 0, 1, ABORTED_BY_OPERATOR).by_operator
    assert not RunOutcome("aborted", 0, 1, "interrupted").by_operator
    assert not RunOutcome("failed", 0, 1, ABORTED_BY_OPERATOR).by_operator
