"""Frequency-scan fits: the Kittel mapping onto the field-swept line, refusals, files, `stfmr fit`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from stfmr.analysis import lineshape
from stfmr.analysis.frequency_scan import (
    FrequencyScanFitError,
    fit_frequency_line,
    fit_frequency_scan,
    kittel_slope_GHz_per_mT,
)
from stfmr.analysis.resonance import kittel_frequency_GHz, meff_from_resonance_T, resonance_field_mT
from stfmr.analysis.run_reader import read_run
from stfmr.analysis.skip_reasons import SkipKind, Skipped
from stfmr.analysis.spectrum_fit import fit_spectrum
from stfmr.app.cli import EXIT_BAD_INPUT, main
from stfmr.instruments.bench import open_simulated_bench
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.procedures.executor import run_sequence
from stfmr.procedures.sequence import parse_sequence

from support import runs as helpers

MEFF, G, H0 = 0.65, 2.1, 150.0


def test_the_kittel_slope_is_the_derivative_of_the_kittel_law():
    for h in (20.0, 150.0, 600.0):
        f = kittel_frequency_GHz(h, MEFF, G)
        numeric = (kittel_frequency_GHz(h + 1e-3, MEFF, G) - kittel_frequency_GHz(h - 1e-3, MEFF, G)) / 2e-3
        assert kittel_slope_GHz_per_mT(h, f, G) == pytest.approx(numeric, rel=1e-7)
        assert kittel_slope_GHz_per_mT(-h, f, G) == pytest.approx(numeric, rel=1e-7)  # the field's magnitude
        assert meff_from_resonance_T(h, f, G) == pytest.approx(MEFF, rel=1e-12)


def _field_line_seen_in_frequency(freqs, h, dH, V_S, V_A):
    """The field-swept line at each frequency f, evaluated at the fixed field h: x = |h| - H_r(f) exactly.

    Built from the field lineshape and the exact inverse Kittel law, not from the linear mapping
    under test. A negative field reverses m, hence the voltage.
    """
    h_r = resonance_field_mT(freqs, MEFF, G)
    p = np.sign(h)
    return p * (V_S * lineshape.symmetric(abs(h), h_r, dH) + V_A * lineshape.antisymmetric(abs(h), h_r, dH))


@pytest.mark.parametrize("dH", [1.5, 7.5])
@pytest.mark.parametrize("V_S, V_A", [(2.0e-5, 6.0e-5), (-3.0e-5, 1.0e-5), (4.0e-5, -2.0e-5)])
def test_a_field_line_seen_in_frequency_maps_back_to_itself(rng, V_S, V_A, dH):
    f_k = kittel_frequency_GHz(H0, MEFF, G)
    df = dH * (kittel_frequency_GHz(H0 + 1e-3, MEFF, G) - kittel_frequency_GHz(H0 - 1e-3, MEFF, G)) / 2e-3
    f = np.linspace(f_k - 7 * df, f_k + 7 * df, 221)
    v = np.concatenate([_field_line_seen_in_frequency(f, s * H0, dH, V_S, V_A) for s in (1, -1)])
    v = v + 1e-6 + rng.normal(0.0, 2e-7, v.size)
    fields = np.repeat([H0, -H0], f.size)
    pos, neg = fit_frequency_scan(np.tile(f, 2), v, fields, g=G)
    assert (pos.polarity, neg.polarity) == (1, -1)
    # the mapping is first order in dH: the Kittel curvature mixes (d2f/dH2)/(df/dH)*dH = -0.19 %/mT
    # of each amplitude into the other (see analysis.frequency_scan)
    mixing = 0.0025 * dH * max(abs(V_S), abs(V_A))
    for fit, sign in ((pos, 1), (neg, -1)):
        q, e = fit.equivalent, fit.equivalent_stderr
        assert fit.values["f_r"] == pytest.approx(f_k, abs=max(4 * fit.stderr["f_r"], 0.02 * df))  # 2nd order
        assert fit.values["df"] == pytest.approx(df, rel=0.005)
        assert q["H_r"] == sign * H0 and q["mu0_Meff_T"] == pytest.approx(MEFF, abs=2e-3)
        assert q["dH"] == pytest.approx(dH, rel=0.005) and 0 < e["dH"] < 0.01 * dH
        assert q["V_S"] == pytest.approx(sign * V_S, abs=mixing + 4 * e["V_S"])
        assert q["V_A"] == pytest.approx(sign * V_A, abs=mixing + 4 * e["V_A"])  # sign-corrected ...
        assert fit.values["V_A"] == pytest.approx(-q["V_A"])  # ... from the frequency fit's
        assert np.all(np.isfinite(list(fit.stderr.values())))
    record = pos.to_dict()
    assert list(record)[:7] == ["polarity", "f_r", "df", "V_S", "V_A", "V_0", "V_1"]
    assert set(record["field_equivalent"]) == {"H_r", "dH", "V_S", "V_A", "df_dH_GHz_per_mT", "mu0_Meff_T"}


def test_a_given_meff_and_the_fitted_f_r_give_the_same_slope(rng):
    f = np.linspace(8.0, 12.4, 221)
    v = _field_line_seen_in_frequency(f, H0, 7.5, 2e-5, 6e-5) + rng.normal(0.0, 2e-7, f.size)
    free = fit_frequency_line(f, v, H0, g=G)
    given = fit_frequency_line(f, v, H0, g=G, mu0_Meff_T=MEFF)
    assert given.meff_given and not free.meff_given
    assert given.equivalent["dH"] == pytest.approx(free.equivalent["dH"], rel=2e-3)
    assert given.equivalent["df_dH_GHz_per_mT"] == pytest.approx(free.equivalent["df_dH_GHz_per_mT"], rel=2e-3)


def test_the_exact_llg_line_in_frequency_agrees_with_the_field_sweep():
    sample = VirtualSample.preset("type-A")
    f = np.linspace(8.5, 12.0, 351)
    v = np.array([sample.mixing_voltage(H0, fi, 15.0, 45.0) for fi in f])  # noise-free, thermal offsets included
    scan = fit_frequency_line(f, v, H0, g=sample.g)
    f_k = kittel_frequency_GHz(H0, sample.mu0_Meff_T, sample.g)
    assert scan.values["f_r"] == pytest.approx(f_k, abs=0.05 * scan.values["df"])
    h = np.linspace(H0 - 40.0, H0 + 40.0, 321)
    sweep = fit_spectrum(h, sample.mixing_voltage(h, scan.values["f_r"], 15.0, 45.0))
    q, s = scan.equivalent, sweep.values
    assert q["dH"] == pytest.approx(s["dH"], rel=0.01)
    assert q["V_S"] / q["V_A"] == pytest.approx(s["V_S"] / s["V_A"], rel=0.02)
    assert q["V_S"] == pytest.approx(s["V_S"], rel=0.02) and q["V_A"] == pytest.approx(s["V_A"], rel=0.02)
    assert H0 == pytest.approx(s["H_r"], abs=0.05 * s["dH"])


def test_scans_without_a_line_or_with_bad_axes_are_refused(rng):
    f = np.linspace(8.0, 12.0, 101)
    with pytest.raises(FrequencyScanFitError, match="no resonance in the window 8 to 12 GHz"):
        fit_frequency_line(f, rng.normal(0.0, 1e-7, f.size), H0)
    v = _field_line_seen_in_frequency(f, H0, 7.5, 2e-5, 6e-5)
    with pytest.raises(FrequencyScanFitError, match="repeated frequency"):
        fit_frequency_line(np.r_[f[:-1], f[-2]], v, H0)
    with pytest.raises(FrequencyScanFitError, match="saturating field"):
        fit_frequency_scan(f, v, np.zeros_like(f))
    with pytest.raises(FrequencyScanFitError, match="g must be positive"):
        fit_frequency_line(f, v, H0, g=0.0)


SCAN = """
[[step]]
kind = "frequency_scan"
field_mT = 150.0
frequencies_GHz = {start = 9.0, stop = 11.4, points = 81}
angle_deg = 45.0
power_dBm = 15.0
"""


@pytest.fixture(scope="module")
def scan_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scan") / "run"
    bench = open_simulated_bench("type-A")
    seq = parse_sequence(helpers.SAMPLE + SCAN, "scan.toml", bench.limits)
    assert run_sequence(seq, bench, folder, progress=None).state == "finished"
    return folder


def test_run_folders_read_scans_as_scans_with_or_without_a_manifest(scan_run, tmp_path):
    run = read_run(scan_run)
    assert (len(run.spectra), len(run.frequency_scans), run.skipped) == (0, 1, [])
    scan = run.frequency_scans[0]
    assert scan.kind == "frequency_scan" and scan.angle_deg == 45.0 and scan.power_dBm == 15.0
    assert scan.frequency_GHz.size == 81 and np.all(scan.set_field_mT == 150.0)
    [fit] = fit_frequency_scan(scan.frequency_GHz, scan.voltage_V, scan.field_mT, set_field_mT=scan.set_field_mT)
    assert fit.equivalent["dH"] == pytest.approx(7.5, rel=0.03)

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    path = next(scan_run.glob("*.csv"))
    shutil.copy(path, foreign / path.name)
    lines = path.read_text().splitlines(keepends=True)
    (foreign / "cut.csv").write_text("".join(lines[:-10]))
    run = read_run(foreign)
    assert [s.file for s in run.frequency_scans] == [path.name] and run.spectra == []
    assert run.skipped == [Skipped("cut.csv", SkipKind.TRUNCATED, "truncated: 71 of 81 rows")]


def test_stfmr_fit_detects_the_frequency_column(scan_run, capsys):
    path = str(next(scan_run.glob("*.csv")))
    assert main(["fit", path, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sweep"] == "frequency"
    [branch] = out["branches"]
    assert branch["polarity"] == 1 and branch["g"] == 2.1  # from the file's "Lande g"
    assert 10.0 < branch["f_r"]["value"] < 10.4 and branch["V_A"]["value"] < 0
    q = branch["field_equivalent"]
    assert q["V_S"]["value"] > 0 and q["V_A"]["value"] > 0 and 7.0 < q["dH"]["value"] < 8.0
    assert main(["fit", path, "--meff", "0.65"]) == 0
    text = capsys.readouterr().out
    assert "frequency scan" in text and "as a field sweep at f_r" in text and "mu0*M_eff = 0.6500 T given" in text
    assert main(["fit", path, "--derivative"]) == EXIT_BAD_INPUT
    assert "not frequency scans" in capsys.readouterr().err


def test_stfmr_analyze_fits_the_scans_of_a_run_and_exports_them(example_run, tmp_path, capsys):
    import xarray as xr

    measured = example_run("frequency-scan")  # the example as shipped
    out = measured.folder
    assert measured.outcome.state == "finished"
    assert main(["analyze", str(out), "--json", "--export", str(tmp_path / "scan.nc")]) == 0
    sample = json.loads(capsys.readouterr().out)["samples"][0]
    (scan,) = sample["frequency_scans"]
    assert scan["branches"][0]["f_r"]["value"] == pytest.approx(10.18, abs=0.05)
    ds = xr.open_dataset(tmp_path / "scan.nc")
    assert ds.sizes["scan"] == 1 and int(ds.scan_V_FMR_V.notnull().sum()) == len(ds.scan_point)


def test_a_fixed_magnet_run_of_scans_gives_kittel_and_damping(tmp_path, capsys):
    steps = """
[[step]]
kind = "frequency_scan"
field_mT = [80.0, 150.0, 250.0]
frequencies_GHz = {start = 5.0, stop = 16.0, points = 551}
angle_deg = 45.0
power_dBm = 15.0
"""
    bench = open_simulated_bench("type-A")
    out = tmp_path / "fixed"
    assert run_sequence(parse_sequence(helpers.SAMPLE + steps, "fixed.toml", bench.limits), bench, out,
                        progress=None).state == "finished"
    assert main(["analyze", str(out), "--json"]) == 0
    sample = json.loads(capsys.readouterr().out)["samples"][0]
    truth = VirtualSample.preset("type-A")
    # the frequency-swept peak sits ~2 % of a linewidth below the Kittel frequency (damping): 1 %
    assert sample["mu0_M_eff_T"]["value"] == pytest.approx(truth.mu0_Meff_T, rel=0.01)
    assert sample["alpha"]["value"] == pytest.approx(truth.alpha, rel=0.01)
    assert any("from 3 frequency scans" in m for m in sample["notes"])
    assert not any("frequency scans" in m for m in sample["missing"])  # made, so not missing
    assert len(sample["frequency_scans"]) == 3
