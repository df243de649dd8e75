"""`stfmr fit`: the bundled example fits, the JSON schema, options, and refusals with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stfmr.analysis import lineshape
from stfmr.app.cli import EXIT_BAD_INPUT, main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "spectra" / "type-A_10GHz_45deg.csv"
PARAMS = ["H_r", "dH", "V_S", "V_A", "V_0", "V_1"]


def _write(path, columns: dict[str, np.ndarray], header: str = "") -> Path:
    names = list(columns)
    rows = np.column_stack([columns[n] for n in names])
    text = header + ",".join(names) + "\n" + "\n".join(",".join(f"{x:.10g}" for x in r) for r in rows) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_fits_with_both_branches_in_the_json_schema(capsys):
    assert main(["fit", str(EXAMPLE), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["branches", "failed_branches", "warnings"] and out["failed_branches"] == []
    assert out["warnings"] == []  # H_r and dH plausible for a field in mT
    pos, neg = out["branches"]
    for branch in (pos, neg):
        assert list(branch) == ["polarity", *PARAMS, "redchi", "noise_V", "chi2_noise", "npoints", "field_range_mT",
                                "warnings"]
        for name in PARAMS:
            assert list(branch[name]) == ["value", "stderr"]
            assert branch[name]["stderr"] > 0
        assert 140.0 < abs(branch["H_r"]["value"]) < 150.0  # mT: the type-A preset's Kittel field at 10 GHz
        assert 6.0 < branch["dH"]["value"] < 9.0
    assert (pos["polarity"], neg["polarity"]) == (1, -1)
    assert pos["V_S"]["value"] > 0 > neg["V_S"]["value"]  # type A: xi_DL > 0
    assert pos["V_A"]["value"] > 0 > neg["V_A"]["value"]


def test_lmfit_engine_gives_the_same_json(capsys):
    assert main(["fit", str(EXAMPLE), "--json"]) == 0
    fast = json.loads(capsys.readouterr().out)["branches"]
    assert main(["fit", str(EXAMPLE), "--json", "--engine", "lmfit"]) == 0
    slow = json.loads(capsys.readouterr().out)["branches"]
    for a, b in zip(fast, slow):
        assert a["polarity"] == b["polarity"]
        for name in PARAMS:
            assert b[name]["value"] == pytest.approx(a[name]["value"], rel=1e-5, abs=1e-3 * a[name]["stderr"])
            assert b[name]["stderr"] == pytest.approx(a[name]["stderr"], rel=0.01)


def test_example_table_is_readable(capsys):
    assert main(["fit", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "positive field branch: 231 points" in out and "negative field branch: 231 points" in out
    assert "H_r" in out and "+-" in out and "V/mT" in out


def test_report_prints_lmfits_fit_report(capsys):
    assert main(["fit", str(EXAMPLE), "--report"]) == 0
    out = capsys.readouterr().out
    assert out.count("[[Fit Statistics]]") == 2 and "[[Correlations]]" in out


def test_other_column_names_derivative_and_no_slope(tmp_path, capsys):
    field = np.linspace(60.0, 180.0, 301)
    dv = lineshape.spectrum_voltage(field, 110.0, 4.0, 2e-6, -1e-6, 0.0, 0.0, derivative=True)
    dv = dv + np.random.default_rng(3).normal(0.0, 1e-9, field.size)
    path = _write(tmp_path / "fm.csv", {"B (mT)": field, "dV/dH (V/mT)": dv})
    argv = ["fit", str(path), "--json", "--field-column", "B (mT)", "--voltage-column", "dV/dH (V/mT)",
            "--derivative", "--no-slope"]
    assert main(argv) == 0
    (branch,) = json.loads(capsys.readouterr().out)["branches"]
    assert branch["H_r"]["value"] == pytest.approx(110.0, abs=5 * branch["H_r"]["stderr"])
    assert branch["V_S"]["value"] == pytest.approx(2e-6, abs=5 * branch["V_S"]["stderr"])
    assert branch["V_1"] == {"value": 0.0, "stderr": 0.0}


def test_missing_column_is_refused_with_the_columns_listed(capsys):
    assert main(["fit", str(EXAMPLE), "--voltage-column", "V (V)"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "no column 'V (V)'" in err and "'V_FMR (V)'" in err


def test_noise_only_file_is_refused_as_no_resonance(tmp_path, capsys):
    field = np.linspace(20.0, 200.0, 200)
    noise = np.random.default_rng(5).normal(0.0, 1e-6, field.size)
    path = _write(tmp_path / "noise.csv", {"Field (mT)": field, "V_FMR (V)": noise})
    assert main(["fit", str(path)]) == EXIT_BAD_INPUT
    assert "positive field branch: no resonance in the window" in capsys.readouterr().err


def test_unsorted_file_is_refused(tmp_path, capsys):
    field = np.linspace(60.0, 180.0, 100)
    v = lineshape.spectrum_voltage(field, 110.0, 4.0, 2e-6, 0.0, 0.0, 0.0)
    field[[10, 11]] = field[[11, 10]]
    path = _write(tmp_path / "unsorted.csv", {"Field (mT)": field, "V_FMR (V)": v})
    assert main(["fit", str(path), "--json"]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert captured.out == "" and "not monotonic" in captured.err


def test_missing_file_is_refused(tmp_path, capsys):
    assert main(["fit", str(tmp_path / "absent.csv")]) == EXIT_BAD_INPUT
    assert "absent.csv" in capsys.readouterr().err
