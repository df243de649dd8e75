"""``stfmr fit`` and ``stfmr analyze`` on other labs' files: units from column names, formats, repeats, metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import other_labs as labs

from stfmr.analysis.resonance import resonance_field_mT
from stfmr.app.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "spectra" / "type-A_10GHz_45deg.csv"


def _fit_json(capsys, *argv):
    assert main(["fit", *map(str, argv), "--json"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_lvm_in_oersted_is_fitted_in_mT(tmp_path, capsys):
    path = labs.write_lvm(tmp_path / "s.lvm")
    out, err = _fit_json(capsys, path, "--field-column", "Field (Oe)", "--voltage-column", "Voltage (V)")
    (branch,) = out["branches"]
    assert branch["H_r"]["value"] == pytest.approx(labs.H_R_MT, abs=5 * branch["H_r"]["stderr"])
    assert branch["dH"]["value"] == pytest.approx(labs.DH_MT, abs=5 * branch["dH"]["stderr"])
    assert branch["V_S"]["value"] == pytest.approx(labs.V_S, rel=0.02)
    assert out["warnings"] == [] and "warning" not in err


def test_dat_in_tesla_with_both_branches(tmp_path, capsys):
    path = labs.write_dat_tesla(tmp_path / "s.dat")
    out, _ = _fit_json(capsys, path, "--field-column", "Field (T)", "--voltage-column", "Vmix (V)")
    pos, neg = out["branches"]
    assert (pos["polarity"], neg["polarity"]) == (1, -1)
    for branch, sign in ((pos, 1), (neg, -1)):
        assert branch["H_r"]["value"] == pytest.approx(sign * labs.H_R_MT, abs=5 * branch["H_r"]["stderr"])
        assert branch["dH"]["value"] == pytest.approx(labs.DH_MT, abs=5 * branch["dH"]["stderr"])


def test_a_wrong_unit_gives_warnings_in_text_and_json(tmp_path, capsys):
    path = labs.write_dat_tesla(tmp_path / "s.dat")
    # T read as mT: H_r 0.12 "mT", dH 0.004 "mT"
    out, err = _fit_json(capsys, path, "--field-column", "Field (T)", "--field-unit", "mT",
                         "--voltage-column", "Vmix (V)")
    assert out["branches"][0]["H_r"]["value"] == pytest.approx(0.12, rel=1e-3)
    assert len(out["warnings"]) == 4  # H_r and dH of both branches
    assert all("--field-unit" in w and "(mT)" in w for w in out["warnings"])
    assert err.count("stfmr fit: warning: ") == 4 and "H_r 0.12 mT is outside 1 to 5000 mT" in err
    modes, _ = _fit_json(capsys, path, "--field-column", "Field (T)", "--field-unit", "mT",
                         "--voltage-column", "Vmix (V)", "--modes", "auto")
    assert len(modes["warnings"]) >= 4 and all("mode 1" in w or "mode 2" in w for w in modes["warnings"])


def test_magnet_current_with_repeats_is_averaged_and_fitted(tmp_path, capsys):
    path = labs.write_current_csv(tmp_path / "i.csv")
    common = ["--field-column", "Current (A)", "--field-unit", f"{labs.COIL_MT_PER_A} mT/A",
              "--voltage-column", "Vlockin (uV)"]
    for how in ("mean", "median"):
        out, err = _fit_json(capsys, path, *common, "--repeats", how)
        (branch,) = out["branches"]
        assert branch["H_r"]["value"] == pytest.approx(labs.H_R_MT, abs=5 * branch["H_r"]["stderr"])
        assert branch["V_S"]["value"] == pytest.approx(labs.V_S, rel=0.02)  # uV -> V
        assert f"322 repeated reading(s) combined by their {how}" in err


@pytest.mark.parametrize("drop, words", [
    ("--repeats", ["161 field value(s)", "--repeats mean or --repeats median"]),
    ("--field-unit", ["'Current (A)'", "coil constant", "--field-unit"]),
])
def test_refusals_name_the_option(tmp_path, capsys, drop, words):
    path = labs.write_current_csv(tmp_path / "i.csv")
    argv = {"--field-column": "Current (A)", "--field-unit": "25 mT/A", "--voltage-column": "Vlockin (uV)",
            "--repeats": "mean"}
    del argv[drop]
    assert main(["fit", str(path), *[x for kv in argv.items() for x in kv]]) == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err


def _folder(tmp_path, frequencies, with_frequency: bool):
    """Four .lvm spectra at the Kittel fields of mu0*M_eff = 1 T, g = 2.1; no angle recorded."""
    folder = tmp_path / "lab"
    folder.mkdir()
    for f in frequencies:
        h_r = float(resonance_field_mT(f, 1.0, 2.1))
        labs.write_lvm(folder / f"{f}GHz.lvm", frequency_GHz=f if with_frequency else None, H_r_mT=h_r)
    return folder


FREQS = (8.0, 10.0, 12.0, 14.0)
COLUMNS = ["--field-column", "Field (Oe)", "--voltage-column", "Voltage (V)", "--jobs", "1", "--quiet", "--json"]


def test_analyze_a_folder_of_lvm_files_without_angles(tmp_path, capsys):
    folder = _folder(tmp_path, FREQS, with_frequency=True)
    assert main(["analyze", str(folder), *COLUMNS]) == 0
    (sample,) = json.loads(capsys.readouterr().out)["samples"]
    assert sample["spectra"] == 4 and sample["failed_fits"] == [] and sample["skipped_files"] == []
    assert sample["mu0_M_eff_T"]["value"] == pytest.approx(1.0, rel=0.02)  # frequencies from the lvm headers
    angle = [m for m in sample["missing"] if "angle" in m]
    assert any("no angle recorded in 4 spectra" in m and "--metadata" in m for m in angle), angle
    assert not any("NaN" in m for m in sample["missing"]), sample["missing"]


def test_analyze_takes_frequencies_from_a_metadata_table(tmp_path, capsys):
    folder = _folder(tmp_path, FREQS, with_frequency=False)
    assert main(["analyze", str(folder), *COLUMNS]) == 0
    (sample,) = json.loads(capsys.readouterr().out)["samples"]
    assert sample["mu0_M_eff_T"] is None
    assert any("no frequency recorded in 4 spectra" in m for m in sample["missing"]), sample["missing"]
    table = folder / "metadata.csv"  # in the folder it describes: not read as a data file
    table.write_text("file,Frequency (GHz),Angle (deg)\n"
                     + "".join(f"{f}GHz.lvm,{f},{30 * k}\n" for k, f in enumerate(FREQS)), encoding="utf-8")
    assert main(["analyze", str(folder), *COLUMNS, "--metadata", str(table)]) == 0
    (sample,) = json.loads(capsys.readouterr().out)["samples"]
    assert sample["skipped_files"] == []
    assert sample["mu0_M_eff_T"]["value"] == pytest.approx(1.0, rel=0.02)
    assert not any("recorded" in m for m in sample["missing"]), sample["missing"]


def test_analyze_refuses_a_unitless_column_and_a_table_naming_absent_files(tmp_path, capsys):
    folder = _folder(tmp_path, FREQS[:1], with_frequency=True)
    assert main(["analyze", str(folder), "--field-column", "Field", "--quiet"]) == 2
    assert "--field-unit" in capsys.readouterr().err
    table = tmp_path / "meta.csv"
    table.write_text("file,Frequency (GHz)\nother.lvm,8\n", encoding="utf-8")
    assert main(["analyze", str(folder), *COLUMNS, "--metadata", str(table)]) == 2
    assert "other.lvm" in capsys.readouterr().err


def test_analyze_skips_repeats_naming_the_option_and_combines_them_on_request(tmp_path, capsys):
    folder = tmp_path / "lab"
    folder.mkdir()
    labs.write_current_csv(folder / "i.csv")
    argv = ["analyze", str(folder), "--field-column", "Current (A)", "--field-unit", "25 mT/A",
            "--voltage-column", "Vlockin (uV)", "--quiet", "--json", "--jobs", "1"]
    assert main(argv) == 0
    (sample,) = json.loads(capsys.readouterr().out)["samples"]
    (skipped,) = sample["skipped_files"]
    assert skipped["kind"] == "repeated_fields" and "--repeats" in skipped["reason"]
    assert main([*argv, "--repeats", "median"]) == 0
    (sample,) = json.loads(capsys.readouterr().out)["samples"]
    assert sample["spectra"] == 1 and sample["skipped_files"] == [] and sample["failed_fits"] == []


def test_analyze_reads_stfmr_files_beside_another_labs(tmp_path, capsys):
    folder = _folder(tmp_path, FREQS[:1], with_frequency=True)
    (folder / "ours.csv").write_bytes(EXAMPLE.read_bytes())  # Field (mT), V_FMR (V): the default columns
    assert main(["analyze", str(folder), *COLUMNS]) == 0
    (sample,) = json.loads(capsys.readouterr().out)["samples"]
    assert sample["spectra"] == 2 and sample["skipped_files"] == [] and sample["failed_fits"] == []
