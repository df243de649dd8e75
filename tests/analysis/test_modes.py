"""Two-resonance spectra: the BIC criterion picks two modes for a two-mode sample, one for a one-mode sample."""

import json
from pathlib import Path

import numpy as np
import pytest

from stfmr.analysis.datafile import read_datafile
from stfmr.analysis.field_axis import field_axis
from stfmr.analysis.lineshape import spectrum_voltage
from stfmr.analysis.modes import DELTA_BIC_THRESHOLD, fit_branch_modes, fit_modes
from stfmr.analysis.resonance import resonance_field_mT
from stfmr.app import cli
from stfmr.instruments.sim.sample import VirtualSample

from support import runs as helpers

SEQUENCE = helpers.SAMPLE + """
[[step]]
kind = "angle_sweep"
frequency_GHz = 10.0
power_dBm = 15.0
angles_deg = [30, 45, 150, 225]
field_start_mT = 60.0
field_stop_mT = 220.0
field_points = 201
both_branches = true
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    out = {}
    for preset in ("two-mode", "type-A"):
        folder = tmp_path_factory.mktemp(preset)
        measured = helpers.measure(SEQUENCE, folder, preset, "modes.toml")
        measured.bench.close()
        assert measured.outcome.state == "finished"
        out[preset] = sorted(folder.glob("*angle_sweep*.csv"))
    return out


def _selections(path: Path, raw: bool = False):
    """The modes of a file's branches, against the field axis the analysis uses (or the raw readings)."""
    data = read_datafile(path)
    readings = data.column("Field (mT)")
    axis = readings if raw else field_axis(data.column("Field set (mT)"), readings)
    return fit_branch_modes(axis, data.column("V_FMR (V)"))


def test_a_two_mode_sample_is_fitted_with_two_modes_at_their_kittel_fields(files):
    truth = VirtualSample.preset("two-mode")
    expected = sorted([resonance_field_mT(10.0, truth.mu0_Meff_T, truth.g),
                       resonance_field_mT(10.0, truth.mode2_mu0_Meff_T, truth.g)])
    for path in files["two-mode"]:
        for sel in _selections(path):
            assert sel.n_modes == 2, sel.reason
            assert sel.delta_bic > DELTA_BIC_THRESHOLD
            fields = sorted(abs(m.values["H_r"]) for m in sel.modes)
            assert fields == pytest.approx(expected, abs=0.3)
            # the stronger mode is the main one (65 % of the signal)
            assert abs(sel.modes[0].values["H_r"]) == pytest.approx(expected[1], abs=0.3)
            widths = [m.values["dH"] for m in sel.modes]
            assert widths == pytest.approx([widths[0]] * 2, rel=0.02)  # same damping in both parts


def test_a_one_mode_sample_keeps_one_mode_with_the_reason(files):
    for path in files["type-A"]:
        for sel in _selections(path):
            assert sel.n_modes == 1, sel.reason
            assert "one mode" in sel.reason or "no second resonance" in sel.reason


def test_the_raw_gaussmeter_rounding_would_fake_a_weak_mode_that_the_smoothed_axis_does_not(files):
    raw = [sel for path in files["type-A"] for sel in _selections(path, raw=True)]
    faked = [sel for sel in raw if sel.delta_bic is not None and sel.delta_bic > DELTA_BIC_THRESHOLD]
    assert faked, "the raw readings should show the rounding artefact this test guards against"
    smoothed = [sel for path in files["type-A"] for sel in _selections(path)]
    assert all(sel.delta_bic is None or sel.delta_bic <= DELTA_BIC_THRESHOLD for sel in smoothed)


def test_noiseless_synthetic_pairs_and_forced_one_mode():
    h = np.linspace(60, 220, 321)
    rng = np.random.default_rng(3)
    one = spectrum_voltage(h, 140.0, 6.0, 2e-5, 3e-5, 1e-7, 0.0) + rng.normal(0, 5e-8, h.size)
    two = one + spectrum_voltage(h, 100.0, 5.0, 1e-5, -4e-6, 0.0, 0.0)
    assert fit_modes(h, one).n_modes == 1
    sel = fit_modes(h, two)
    assert sel.n_modes == 2 and abs(sel.modes[1].values["H_r"] - 100.0) < 0.1
    assert sel.modes[1].values["V_A"] == pytest.approx(-4e-6, rel=0.05)
    forced = fit_modes(h, two, max_modes=1)
    assert forced.n_modes == 1 and forced.reason == "one mode requested"


def test_stfmr_fit_modes_auto_reports_the_criterion(files, capsys):
    assert cli.main(["fit", str(files["two-mode"][0]), "--modes", "auto", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [b["n_modes"] for b in out["branches"]] == [2, 2]
    assert "BIC(1) - BIC(2) > 10" in out["branches"][0]["criterion"]
    assert cli.main(["fit", str(files["two-mode"][0]), "--modes", "auto"]) == 0
    text = capsys.readouterr().out
    assert "2 modes" in text and "Delta BIC" in text


def test_analyze_with_modes_auto_uses_the_main_mode_of_a_two_mode_sample(files, capsys):
    folder = str(files["two-mode"][0].parent)
    assert cli.main(["analyze", folder, "--json", "--jobs", "1", "--modes", "auto"]) == 0
    sample = json.loads(capsys.readouterr().out)["samples"][0]
    assert len(sample["two_mode_fits"]) == 2 * len(files["two-mode"])
    truth = VirtualSample.preset("two-mode")
    main = resonance_field_mT(10.0, truth.mu0_Meff_T, truth.g)
    for entry in sample["two_mode_fits"]:
        assert abs(abs(entry["modes"][0]["H_r"]["value"]) - main) < 0.3
    assert "BIC" in sample["mode_criterion"]
    assert cli.main(["analyze", str(files["type-A"][0].parent), "--json", "--jobs", "1", "--modes", "auto"]) == 0
    assert json.loads(capsys.readouterr().out)["samples"][0]["two_mode_fits"] == []


def test_stfmr_fit_smooths_the_field_axis_unless_asked_for_the_raw_readings(files, capsys):
    path = str(files["type-A"][0])
    out = {}
    for flag in ([], ["--raw-field"]):
        assert cli.main(["fit", path, "--json", *flag]) == 0
        out[bool(flag)] = json.loads(capsys.readouterr().out)["branches"][0]
    smoothed, raw = out[False], out[True]
    # the same line; the rounding steps only move it within its errors, and widen the residual
    assert abs(smoothed["H_r"]["value"] - raw["H_r"]["value"]) < 5 * raw["H_r"]["stderr"]
    assert smoothed["redchi"] < raw["redchi"]
