"""The README's commands on the bundled examples run, and the bundled spectrum is the preset it names."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from stfmr.analysis.resonance import linewidth_mT, resonance_field_mT
from stfmr.app import cli
from stfmr.instruments.sim.sample import VirtualSample
from support import runs as helpers

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = ROOT / "examples" / "spectra" / "type-A_10GHz_45deg.csv"


def readme_commands(command: str) -> list[list[str]]:
    """The README's indented `stfmr COMMAND examples/...` lines, without their comments."""
    lines = re.findall(rf"^ {{4}}stfmr {command} (examples/[^#\n]*)", README, flags=re.MULTILINE)
    return [[command, *shlex.split(line)] for line in lines]


def test_the_example_spectrum_is_the_type_A_preset_at_10_GHz(capsys):
    preset = VirtualSample.preset("type-A")
    assert "\tFrequency: 10.0 GHz" in EXAMPLE.read_text(encoding="utf-8")
    assert cli.main(["fit", str(EXAMPLE), "--json"]) == 0
    branches = json.loads(capsys.readouterr().out)["branches"]
    h_r = resonance_field_mT(10.0, preset.mu0_Meff_T, preset.g)  # about 146 mT
    dh = linewidth_mT(10.0, preset.alpha, preset.mu0_dH0_mT, preset.g)
    assert {b["polarity"] for b in branches} == {1, -1}
    for b in branches:
        assert abs(b["H_r"]["value"]) == pytest.approx(h_r, abs=3 * b["H_r"]["stderr"])
        assert b["dH"]["value"] == pytest.approx(dh, abs=3 * b["dH"]["stderr"])


def test_the_readmes_fit_commands_on_the_bundled_examples_run(monkeypatch, capsys, tmp_path):
    commands = readme_commands("fit")
    assert len(commands) >= 3  # table, --json, --report
    monkeypatch.chdir(ROOT)
    for argv in commands:
        # what a command writes goes to the test's folder, never into the checkout
        argv = [str(tmp_path / a) if k and argv[k - 1] == "--plot" else a for k, a in enumerate(argv)]
        assert cli.main(argv) == 0, argv
        assert "H_r" in capsys.readouterr().out


def test_the_readmes_frequency_scan_example_runs_and_its_summary_counts_the_scan(tmp_path, capsys):
    sequence = helpers.EXAMPLES / "frequency-scan.toml"
    assert "examples/sequences/frequency-scan.toml" in README
    out = tmp_path / "fscan"
    assert cli.main(["run", str(sequence), "--sim", "type-A", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["analyze", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert f"({out}): 1 frequency scan\n" in text and "0 spectra" not in text
    assert text.count("f-scan") == 2  # both branches
    assert "not derived: xi_DL^E" in text and "n/a" not in text


def test_an_angle_sweep_alone_shows_its_angular_fit(tmp_path, capsys):
    run = helpers.measure(helpers.ANGLES, tmp_path / "angles")
    run.bench.close()
    assert cli.main(["analyze", str(run.folder), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"V_S0 +[-\d.]+ \+- [\d.e-]+ uV \(angular fit at 10 GHz\)", text)
    assert re.search(r"V_A0 +[-\d.]+ \+- [\d.e-]+ uV", text)
    assert "n/a" not in text and "not derived: xi_DL^E, xi_FL+Oe^E, xi_DL^j, mu0*M_eff, alpha" in text
    assert "missing: the angular fit" not in text


def test_kittel_fits_made_from_scans_are_a_note_not_missing(tmp_path, capsys):
    steps = """
[[step]]
kind = "frequency_scan"
field_mT = [100.0, 200.0]
frequencies_GHz = {start = 6.0, stop = 15.0, points = 181}
angle_deg = 45.0
power_dBm = 15.0
"""
    run = helpers.measure(helpers.SAMPLE + steps, tmp_path / "scans")
    run.bench.close()
    assert cli.main(["analyze", str(run.folder), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert ": 2 frequency scans\n" in text
    assert "mu0*M_eff" in text.split("not derived")[0]  # derived, so shown with its value
    assert "note: Kittel fit from 2 frequency scans" in text
    assert not re.search(r"missing: .*Kittel", text)  # it was made
    assert "missing: damping fit: too few points" in text  # that one was not
