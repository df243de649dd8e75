"""`stfmr analyze` on run folders measured by the real runner on the virtual bench."""

import hashlib
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from stfmr.analysis.characterize import FitSettings, analyze_run
from stfmr.analysis.run_reader import read_run
from stfmr.app import cli
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.analysis.run_manifest import read_manifest

from support import runs as helpers

SEQUENCE = (helpers.EXAMPLES / "full-characterization.toml").read_text()
#: the example's angle sweep every 30 deg instead of 15 (0, 90, 180 and 270 deg, without a
#: spin-Hall signal, still among them), and 101 field points a spectrum instead of 151
ANGLES, FITTED_ANGLES, FREQUENCIES, FIELD_POINTS = 12, 8, 5, 101
SPECTRA = FREQUENCIES + ANGLES


def smaller(text: str, old: str, new: str) -> str:
    assert old in text, f"the example no longer says {old!r}"
    return text.replace(old, new)


def characterize(preset: str, out: Path) -> Path:
    """Measure a characterization of a preset with the headless runner: the example, with fewer spectra.

    The torque efficiencies' errors come mostly from the rf-current calibration, not from the
    number of spectra: the 3-sigma and 5 % checks below are as strict as on the full example.
    """
    meta = VirtualSample.preset(preset).metadata()
    text = SEQUENCE.replace('name = "type-A"', f'name = "{preset}"').replace(
        "resistivity_uOhm_cm = 67.0", f"resistivity_uOhm_cm = {meta.resistivity_uOhm_cm}")
    text = smaller(text, "angles_deg = {start = 0, stop = 345, step = 15}", "angles_deg = {start = 0, stop = 330, step = 30}")
    text = smaller(text, "field_points = 151", f"field_points = {FIELD_POINTS}")
    measured = helpers.measure(text, out, preset, f"{preset}.toml")
    assert measured.outcome.state == "finished"
    measured.bench.close()
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Both presets' run folders, shared by the tests of this module: a test that alters one copies it first."""
    base = tmp_path_factory.mktemp("runs")
    folders = {p: characterize(p, base / p) for p in ("type-A", "type-B")}
    digests = {p: helpers.folder_digest(f) for p, f in folders.items()}
    yield folders
    assert {p: helpers.folder_digest(f) for p, f in folders.items()} == digests, "a shared run folder was changed"


@pytest.mark.parametrize("preset, signs", [("type-A", (1, 1)), ("type-B", (-1, -1))])
def test_efficiencies_come_back_within_three_sigma_and_five_percent(runs, capsys, preset, signs):
    assert cli.main(["analyze", str(runs[preset]), "--json", "--jobs", "1"]) == 0
    sample = json.loads(capsys.readouterr().out)["samples"][0]
    truth = VirtualSample.preset(preset)
    for key, true, sign in (("xi_DL_E", truth.xi_DL_E, signs[0]), ("xi_FL_Oe_E", truth.xi_FL_E, signs[1])):
        value, stderr = sample[key]["value"], sample[key]["stderr"]
        assert value * sign > 0, f"{key} has the wrong sign"
        # 3 sigma, with the analysis's agreement with the simulator's LLG added (MODEL_AGREEMENT)
        tolerance = 3 * math.hypot(stderr, helpers.MODEL_AGREEMENT * true)
        assert abs(value - true) < tolerance, f"{key} = {value} +- {stderr}, preset {true}"
        assert abs(value / true - 1) < 0.05
    for key in ("xi_DL_j", "mu0_M_eff_T", "alpha", "I_rf_peak_mA", "Delta_R_AMR_Ohm"):
        assert set(sample[key]) == {"value", "stderr"} and sample[key]["stderr"] > 0
    assert sample["mu0_M_eff_T"]["value"] == pytest.approx(truth.mu0_Meff_T, rel=0.01)
    assert sample["alpha"]["value"] == pytest.approx(truth.alpha, rel=0.02)
    assert sample["spectra"] == SPECTRA
    # phi = 0, 90, 180, 270: no spin-Hall signal, so no resonance to fit, and each is named
    assert len(sample["failed_fits"]) == 4 and all("no resonance" in f["reason"] for f in sample["failed_fits"])


def test_a_truncated_file_and_a_foreign_file_are_named_and_the_rest_analysed(runs, tmp_path, capsys):
    folder = tmp_path / "damaged"
    shutil.copytree(runs["type-A"], folder)
    manifest = read_manifest(folder)
    victim = next(e["file"] for e in manifest["entries"] if e["label"] == "10GHz_30deg")
    lines = (folder / victim).read_text().splitlines(keepends=True)
    (folder / victim).write_text("".join(lines[: len(lines) // 2]))  # a crash mid-write
    foreign = "0099_frequency_sweep_12GHz_45deg.csv"
    shutil.copy(runs["type-B"] / next(e["file"] for e in read_manifest(runs["type-B"])["entries"]
                                      if e["label"] == "12GHz_45deg"), folder / foreign)
    assert cli.main(["analyze", str(folder), "--json", "--jobs", "1"]) == 0
    sample = json.loads(capsys.readouterr().out)["samples"][0]
    skipped = {s["file"]: s["reason"] for s in sample["skipped_files"]}
    assert "truncated" in skipped[victim]
    assert "not in the manifest" in skipped[foreign]
    assert sample["spectra"] == SPECTRA - 1 and sample["xi_DL_E"]["value"] > 0


def test_a_folder_without_manifest_is_grouped_by_its_files(runs, tmp_path):
    folder = tmp_path / "foreign"
    shutil.copytree(runs["type-A"], folder)
    (folder / "manifest.json").unlink()
    result = analyze_run(read_run(folder))
    assert result.run.sample is not None and result.run.sample.name == "type-A"
    assert result.efficiencies is not None
    assert result.efficiencies.value("xi_DL_E") == pytest.approx(32700, rel=0.05)


def test_parallel_jobs_give_the_same_fits_and_reanalysis_leaves_raw_files_alone(runs):
    folder = runs["type-A"]
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    one = analyze_run(read_run(folder), jobs=1).to_dict()
    two = analyze_run(read_run(folder), jobs=2).to_dict()
    assert one["xi_DL_E"] == two["xi_DL_E"] and one["alpha"] == two["alpha"]
    windowed = analyze_run(read_run(folder), FitSettings(window_mT=40.0, slope=False)).to_dict()
    assert windowed["xi_DL_E"]["value"] == pytest.approx(one["xi_DL_E"]["value"], rel=0.05)
    assert windowed["xi_DL_E"]["value"] != one["xi_DL_E"]["value"]
    assert digest == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_the_report_holds_every_figure(runs, tmp_path):
    out = tmp_path / "report"
    assert cli.main(["analyze", str(runs["type-A"]), str(runs["type-B"]), "--report", str(out), "--jobs", "1",
                     "--quiet"]) == 0
    for name in ("spectra", "angular", "amr", "kittel"):
        for preset in ("type-A", "type-B"):
            for suffix in ("png", "pdf"):
                assert (out / f"{name}_{preset}.{suffix}").stat().st_size > 5000
    for suffix in ("png", "pdf"):
        assert (out / f"model.{suffix}").stat().st_size > 5000
    rows = (out / "fits.csv").read_text().splitlines()
    # header + per sample the frequencies and the angles with a resonance, both branches
    assert len(rows) == 1 + 2 * (FREQUENCIES + 2 * FITTED_ANGLES)
    assert json.loads((out / "analysis.json").read_text())["samples"][1]["name"] == "type-B"


def test_xi_against_sink_thickness_with_the_a_minus_b_difference(runs, tmp_path):
    folders = []
    for t in (1, 3):
        for preset in ("type-A", "type-B"):
            folder = tmp_path / f"{preset}-{t}nm"
            shutil.copytree(runs[preset], folder)
            manifest = json.loads((folder / "manifest.json").read_text())
            manifest["sample"]["stack"] = f"Ta-B({t})/Ni-Fe(5)/MgO"
            (folder / "manifest.json").write_text(json.dumps(manifest))
            folders.append(str(folder))
    out = tmp_path / "report"
    assert cli.main(["analyze", *folders, "--report", str(out), "--jobs", "1", "--quiet"]) == 0
    assert (out / "thickness.png").stat().st_size > 5000 and (out / "thickness.pdf").stat().st_size > 5000


def test_a_missing_run_folder_is_bad_input(tmp_path, capsys):
    assert cli.main(["analyze", str(tmp_path / "nope")]) == cli.EXIT_BAD_INPUT
    assert "no such run folder" in capsys.readouterr().err


def test_the_run_exports_as_netcdf_with_every_spectrum(runs, tmp_path, capsys):
    xr = pytest.importorskip("xarray")
    out = tmp_path / "type-A.nc"
    assert cli.main(["analyze", str(runs["type-A"]), "--export", str(out), "--jobs", "1", "--quiet"]) == 0
    ds = xr.open_dataset(out)
    run = read_run(runs["type-A"])
    assert ds.sizes["spectrum"] == len(run.spectra) == SPECTRA
    assert set(ds["file"].values) == {s.file for s in run.spectra}
    first = run.spectra[0]
    k = list(ds["file"].values).index(first.file)
    assert np.allclose(ds["V_FMR_V"].values[k, : len(first.voltage_V)], first.voltage_V)
    assert np.allclose(ds["field_mT"].values[k, : len(first.field_mT)], first.field_mT)
    assert ds["frequency_GHz"].attrs["units"] == "GHz" and ds.attrs["SIMULATED"] == 1
    fitted = ds["V_S_V"].sel(branch=1).values
    assert np.isfinite(fitted).sum() == SPECTRA - 4  # 4 without a resonance (phi = 0, 90, 180, 270)
    assert json.loads(ds.attrs["sample"])["name"] == "type-A"
    ds.close()
    assert cli.main(["analyze", str(runs["type-A"]), str(runs["type-B"]), "--export", str(out)]) == cli.EXIT_BAD_INPUT


@pytest.fixture(scope="module")
def dc_bias_run(example_run):
    measured = example_run("dc-bias")  # the example as shipped
    assert measured.outcome.state == "finished"
    return measured.folder


def test_dc_bias_method_recovers_xi_dl_and_agrees_with_the_absolute_method(dc_bias_run, runs, tmp_path, capsys):
    assert cli.main(["analyze", str(dc_bias_run), "--json", "--jobs", "1"]) == 0
    sample = json.loads(capsys.readouterr().out)["samples"][0]
    truth = VirtualSample.preset("type-A").xi_DL_E
    xi = sample["xi_DL_E_dc_bias"]
    assert abs(xi["value"] - truth) < 3 * xi["stderr"], f"{xi} against the preset {truth}"
    assert abs(xi["value"] / truth - 1) < 0.10
    group = sample["dc_bias"][0]
    slopes = {b["polarity"]: b["dH_slope_mT_per_mA"]["value"] for b in group["branches"]}
    # sigma = -y, xi > 0: a positive current anti-damps the +H branch at 45 deg and damps the -H one
    assert slopes[1] < 0 < slopes[-1]
    assert len(group["alpha_eff"]) >= 18 and all(a["value"] > 0 for a in group["alpha_eff"])
    # the absolute method on the same virtual sample (full characterization)
    assert cli.main(["analyze", str(runs["type-A"]), "--json", "--jobs", "1"]) == 0
    absolute = json.loads(capsys.readouterr().out)["samples"][0]["xi_DL_E"]
    assert abs(xi["value"] - absolute["value"]) < 3 * np.hypot(xi["stderr"], absolute["stderr"])
    assert cli.main(["analyze", str(dc_bias_run), "--report", str(tmp_path / "report")]) == 0
    assert "xi_DL^E (dc)" in capsys.readouterr().out
    report = tmp_path / "report"
    assert (report / "dc_bias_type-A.png").stat().st_size > 1000
    rows = (report / "branches.csv").read_text().splitlines()
    # 9 dc-bias spectra (+H at +I with -H at -I) and the 10 GHz spectrum of the frequency sweep
    assert len(rows) == 1 + 10 and "V_S_non_reversing (V)" in rows[0]
    # reversing the current with the field leaves no dc-torque asymmetry in the non-reversing part
    for pair in sample["branch_combination"]:
        assert abs(pair["V_S_non_reversing"]["value"]) < 4 * pair["V_S_non_reversing"]["stderr"], pair["file"]
