"""`stfmr fit` (issue 13): a bad branch does not lose the file, numbers rounded to their errors in uV,
warnings in text and JSON, and --plot."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from stfmr.analysis import lineshape
from stfmr.app.cli import EXIT_BAD_INPUT, main
from stfmr.app.cmd_fit import with_error


def _write(path, field, voltage):
    rows = "\n".join(f"{h:.10g},{v:.10g}" for h, v in zip(field, voltage))
    path.write_text("Field (mT),V_FMR (V)\n" + rows + "\n", encoding="utf-8")
    return path


def _file(tmp_path, name="spectrum.csv", negative_flat=True, positive_flat=False, hr=110.0):
    """Both branches, 201 points each; a flat branch holds noise only."""
    rng = np.random.default_rng(11)
    h = np.linspace(40.0, 200.0, 201)
    pos = rng.normal(0, 2e-8, h.size) + (0.0 if positive_flat else
                                         lineshape.spectrum_voltage(h, hr, 4.0, 2e-6, 3e-6, 1e-7, 0.0))
    neg = rng.normal(0, 2e-8, h.size) + (0.0 if negative_flat else
                                         lineshape.spectrum_voltage(-h, -hr, 4.0, -2e-6, -3e-6, 1e-7, 0.0))
    return _write(tmp_path / name, np.concatenate((-h[::-1], h)), np.concatenate((neg[::-1], pos)))


@pytest.mark.parametrize("value, err, text", [
    (32321.7, 187.0, "32320 +- 190"),
    (0.0123456, 0.000456, "0.01235 +- 0.00046"),
    (-114.1489, 0.01804, "-114.149 +- 0.018"),
    (13.8877, 0.996, "13.9 +- 1.0"),
    (5.0, 0.0, "5"),
])
def test_values_are_rounded_to_two_digits_of_their_error(value, err, text):
    assert with_error(value, err) == text


def test_a_branch_without_resonance_is_reported_and_the_file_succeeds(tmp_path, capsys):
    path = _file(tmp_path)
    assert main(["fit", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    (branch,) = out["branches"]
    assert branch["polarity"] == 1 and branch["H_r"]["value"] == pytest.approx(110.0, abs=0.1)
    (failed,) = out["failed_branches"]
    assert failed["polarity"] == -1 and failed["npoints"] == 201
    assert failed["reason"].startswith("no resonance in the window -200 to -40 mT")
    assert "negative field branch: no resonance" in captured.err

    assert main(["fit", str(path)]) == 0
    text = capsys.readouterr().out
    assert "positive field branch: 201 points" in text
    assert "negative field branch: 201 points, -200 to -40 mT: NOT FITTED: no resonance in the window" in text


def test_a_file_without_any_fitted_branch_is_refused_with_every_reason(tmp_path, capsys):
    path = _file(tmp_path, positive_flat=True)
    assert main(["fit", str(path), "--json"]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "positive field branch: no resonance" in captured.err and "negative field branch: no resonance" in captured.err


def test_modes_auto_also_keeps_the_branch_that_fits(tmp_path, capsys):
    assert main(["fit", str(_file(tmp_path)), "--modes", "auto", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [b["polarity"] for b in out["branches"]] == [1]
    assert [b["polarity"] for b in out["failed_branches"]] == [-1]


def test_table_shows_uv_rounded_values_noise_chi_square_and_edge_warning(tmp_path, capsys):
    path = _file(tmp_path, negative_flat=False, hr=45.0)  # 1.25 linewidths from the sweep's low end
    assert main(["fit", str(path)]) == 0
    text = capsys.readouterr().out
    v_s = next(line for line in text.splitlines() if line.strip().startswith("V_S"))
    value, err = re.match(r"\s*V_S\s+(\S+) \+- (\S+)\s+uV$", v_s).groups()
    assert float(value) == pytest.approx(2.0, abs=0.1) and len(err.replace("0.", "").lstrip("0")) == 2
    assert "x the point-to-point noise (0.02" in text
    assert text.count("warning: H_r = ") == 2 and "from the sweep edge at 40 mT" in text
    assert main(["fit", str(path), "--json"]) == 0
    branches = json.loads(capsys.readouterr().out)["branches"]
    for b in branches:
        assert 0.7 < b["chi2_noise"] < 1.4 and b["noise_V"] == pytest.approx(2e-8, rel=0.25)
        assert any("from the sweep edge" in w for w in b["warnings"])


def test_plot_writes_every_branch_and_refuses_an_unknown_type_before_fitting(tmp_path, capsys):
    path = _file(tmp_path)
    out = tmp_path / "fit.png"
    assert main(["fit", str(path), "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    assert f"wrote {out}" in capsys.readouterr().err
    assert main(["fit", str(path), "--plot", str(tmp_path / "fit.xyz")]) == EXIT_BAD_INPUT
    assert "unknown image type '.xyz'" in capsys.readouterr().err
    assert main(["fit", str(path), "--plot", str(tmp_path / "absent" / "fit.png")]) == EXIT_BAD_INPUT
    assert "does not exist" in capsys.readouterr().err

