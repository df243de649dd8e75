"""``stfmr analyze --export/--report``: never over a run folder's files, never over a file without --force."""

import hashlib
import shutil
from pathlib import Path

import pytest

import stfmr.analysis.run_reader as run_reader
from stfmr.app import cli


@pytest.fixture(scope="module")
def measured(one_spectrum_run) -> Path:
    """A finished run folder of one spectrum, measured by the runner on the virtual bench (shared: read only)."""
    return one_spectrum_run


@pytest.fixture
def run(measured, tmp_path) -> Path:
    """A private copy of the run folder, so that a test may try to damage it."""
    return Path(shutil.copytree(measured, tmp_path / "run"))


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def analyze(*argv: str) -> int:
    return cli.main(["analyze", *map(str, argv), "--jobs", "1", "--quiet"])


@pytest.mark.parametrize("victim", ["manifest.json", "0000_angle_sweep_10GHz_45deg.csv", "run.log", "sequence.toml"])
def test_export_over_a_file_of_the_input_run_folder_is_refused_even_with_force(run, capsys, monkeypatch, victim):
    before = digest(run)
    assert victim in before
    read = []
    monkeypatch.setattr(run_reader, "read_run", lambda *a, **k: read.append(a))
    assert analyze(run, "--export", run / victim, "--force") == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"--export: {run / victim} is an input of this command" in err
    assert "even with --force" in err
    assert read == []  # refused before any file was read or fitted
    assert digest(run) == before


def test_export_over_an_existing_file_needs_force(run, tmp_path, capsys):
    xr = pytest.importorskip("xarray")
    out = tmp_path / "run.nc"
    out.write_text("an older export")
    assert analyze(run, "--export", out) == cli.EXIT_BAD_INPUT
    assert f"--export: {out} exists already; give --force to replace it" in capsys.readouterr().err
    assert out.read_text() == "an older export"
    assert analyze(run, "--export", out, "--force") == 0
    with xr.open_dataset(out) as ds:
        assert ds.sizes["spectrum"] == 1


def test_report_refuses_an_out_dir_holding_its_files_unless_forced(run, tmp_path, capsys):
    out = tmp_path / "report"
    assert analyze(run, "--report", out) == 0
    written = digest(out)
    assert {"fits.csv", "analysis.json", "model.png", "spectra_type-A.png"} <= set(written)
    capsys.readouterr()
    assert analyze(run, "--report", out) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "--report:" in err and str(out / "fits.csv") in err and "--force" in err
    assert digest(out) == written
    assert analyze(run, "--report", out, "--force") == 0


def test_report_refuses_when_only_a_data_dependent_figure_exists(run, tmp_path, capsys):
    """spectra_<sample>.png is known only after the fits: the refusal comes before anything is written."""
    out = tmp_path / "report"
    out.mkdir()
    (out / "spectra_type-A.png").write_text("someone's figure")
    assert analyze(run, "--report", out) == cli.EXIT_BAD_INPUT
    assert str(out / "spectra_type-A.png") in capsys.readouterr().err
    assert digest(out) == {"spectra_type-A.png": hashlib.sha256(b"someone's figure").hexdigest()}


def test_a_report_into_a_run_folder_never_replaces_its_files(tmp_path, run, capsys):
    """A folder of measured files (no manifest) that holds a file named like a report file."""
    folder = tmp_path / "foreign"
    folder.mkdir()
    shutil.copy(run / "0000_angle_sweep_10GHz_45deg.csv", folder / "fits.csv")
    before = digest(folder)
    assert analyze(folder, "--report", folder, "--force") == cli.EXIT_BAD_INPUT
    assert f"--report: {folder / 'fits.csv'} is an input of this command" in capsys.readouterr().err
    assert digest(folder) == before
    # a run folder's own files are kept when a report is written beside them
    run_files = digest(run)
    assert analyze(run, "--report", run) == 0
    assert {k: v for k, v in digest(run).items() if k in run_files} == run_files


def test_two_runs_of_one_sample_get_figures_of_their_own(run, tmp_path):
    twin = Path(shutil.copytree(run, tmp_path / "twin"))
    out = tmp_path / "report"
    assert analyze(run, twin, "--report", out) == 0
    assert (out / "spectra_type-A.png").is_file() and (out / "spectra_type-A_2.png").is_file()


def test_report_and_export_may_not_name_one_file(run, tmp_path, capsys):
    out = tmp_path / "report"
    assert analyze(run, "--report", out, "--export", out / "fits.csv") == cli.EXIT_BAD_INPUT
    assert "is also a file of --report" in capsys.readouterr().err
    assert not out.exists() or list(out.iterdir()) == []


def test_report_into_a_file_is_refused(run, tmp_path, capsys):
    target = tmp_path / "report"
    target.write_text("not a folder")
    assert analyze(run, "--report", target) == cli.EXIT_BAD_INPUT
    assert "is a file, not a folder" in capsys.readouterr().err
