"""Kittel and damping fits of a run never print nonsense with exit 0 (issue 13 item 2).

g is fitted only where the series determines it, errors follow the data's scatter, a fitted
g's uncertainty reaches alpha, suspect values are warned, and both field branches count.
The series are synthetic Lorentzian spectra (``spectrum_voltage``) on the Kittel and damping
laws of a Ni-Fe-like film, with noise, fitted by the real spectrum fit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stfmr.analysis import columns as col
from stfmr.analysis.characterize import FitSettings, analyze_run, fixed_g
from stfmr.analysis.figures import kittel_figure
from stfmr.analysis.lineshape import spectrum_voltage
from stfmr.analysis.resonance import fit_damping, fit_kittel, linewidth_mT, resonance_field_mT
from stfmr.analysis.resonance_series import fit_resonance_series, redchi_warning
from stfmr.analysis.run_reader import RunData, Spectrum
from stfmr.analysis.sample import SampleMetadata
from stfmr.app import cli

MEFF_T, G, ALPHA, DH0_MT = 1.49, 2.1, 0.0082, 0.6


def spectra(freqs, *, noise_uV: float, seed: int, branches=None, offsets_mT=None) -> list[Spectrum]:
    """One field sweep per frequency (both branches where ``branches`` says so), H_r shifted by offsets_mT."""
    rng = np.random.default_rng(seed)
    out = []
    for k, f in enumerate(freqs):
        h_r = resonance_field_mT(f, MEFF_T, G) + (0.0 if offsets_mT is None else offsets_mT[k])
        dh = linewidth_mT(f, ALPHA, DH0_MT, G)
        polarities = branches[k] if branches else (1,)
        field = np.concatenate([p * np.linspace(max(h_r - 12 * dh, 1.0), h_r + 12 * dh, 151) for p in polarities])
        v = np.zeros_like(field)
        for p in polarities:
            on = np.sign(field) == p
            v[on] = spectrum_voltage(field[on], p * h_r, dh, p * 20e-6, p * 10e-6, 0.0, 0.0)
        v += rng.normal(0.0, noise_uV * 1e-6, v.size)
        out.append(Spectrum(f"{k}_{f:g}GHz.csv", "frequency_sweep", f, 45.0, 10.0, 0.0, field, field, v))
    return out


def analyze(spectra_list, sample=None, **settings):
    return analyze_run(RunData(Path("synthetic"), "synthetic", sample, spectra=spectra_list), FitSettings(**settings))


#: 6, 8 and 10 GHz with noise on which a free g runs to its bound (seed found by search; H_r errors ~0.4 mT)
RUNAWAY = {"freqs": [6.0, 8.0, 10.0], "noise_uV": 4.0, "seed": 51}


def test_three_frequencies_where_free_g_runs_away_give_the_fixed_g_answer_without_warnings():
    result = analyze(spectra(**RUNAWAY))
    # the old analysis: a free g on these three points runs to its bound and M_eff to hundreds of T
    points = [(s.frequency_GHz, f.values["H_r"], f.stderr["H_r"]) for s in result.run.spectra
              for f in result.fits[s.file]]
    free = fit_kittel([p[0] for p in points], [p[1] for p in points], sigma_mT=[p[2] for p in points])
    assert free.at_bound == ("g",) and free.values["mu0_Meff_T"] > 100
    # now: g fixed at 2.1 (too few frequencies to fit it), a physical M_eff and alpha, no warnings
    d = result.to_dict()
    assert d["kittel"]["g"]["fitted"] is False and d["kittel"]["g"]["source"] == "default"
    assert "3 frequencies" in d["kittel"]["g"]["reason"] and d["g"] == {"value": 2.1, "stderr": 0.0}
    meff, alpha = d["mu0_M_eff_T"], d["alpha"]
    assert abs(meff["value"] - MEFF_T) < 3 * meff["stderr"] and meff["stderr"] < 0.05
    assert abs(alpha["value"] - ALPHA) < 3 * alpha["stderr"]
    assert d["damping"]["alpha_stderr_includes_g"] is False
    assert d["warnings"] == [] and result.warnings == []
    json.dumps(d)  # JSON-ready


def test_data_that_scatter_beyond_their_error_bars_get_scaled_errors_and_a_warning():
    freqs = [4.0, 6.0, 8.0, 10.0, 12.0, 14.0]
    offsets = np.random.default_rng(5).normal(0.0, 1.0, len(freqs))  # 1 mT of scatter, errors ~0.1 mT
    result = analyze(spectra(freqs, noise_uV=1.0, seed=1, offsets_mT=offsets))
    k = result.kittel
    assert k.redchi > 30 and k.error_scale == pytest.approx(np.sqrt(k.redchi))
    points = [(s.frequency_GHz, f.values["H_r"], f.stderr["H_r"]) for s in result.run.spectra
              for f in result.fits[s.file]]
    raw = fit_kittel([p[0] for p in points], [p[1] for p in points], sigma_mT=[p[2] for p in points], fit_g=False)
    assert k.stderr["mu0_Meff_T"] == pytest.approx(raw.stderr["mu0_Meff_T"] * np.sqrt(k.redchi))
    assert abs(k.values["mu0_Meff_T"] - MEFF_T) < 3 * k.stderr["mu0_Meff_T"]
    assert any("Kittel fit: reduced chi-square" in w and "scatter" in w for w in result.warnings)
    d = result.to_dict()
    assert d["kittel"]["redchi"] == pytest.approx(k.redchi) and d["kittel"]["error_scale"] > 3


def test_scaled_errors_cover_the_truth_as_often_as_they_should():
    """Error bars 10x too small: scaled errors cover the truth ~65 % of the time at 1 sigma (t, 7 dof), raw ~8 %."""
    rng = np.random.default_rng(3)
    f = np.linspace(4.0, 14.0, 8)
    truth = resonance_field_mT(f, MEFF_T, G)
    covered = {True: 0, False: 0}
    for _ in range(200):
        h = truth + rng.normal(0.0, 1.0, f.size)
        for scale in covered:
            fit = fit_kittel(f, h, fit_g=False, sigma_mT=0.1, scale_errors=scale)
            covered[scale] += abs(fit.values["mu0_Meff_T"] - MEFF_T) < fit.stderr["mu0_Meff_T"]
    assert 0.55 < covered[True] / 200 < 0.78 and covered[False] / 200 < 0.2


def test_a_reduced_chi_square_far_below_one_is_warned():
    f = np.linspace(4.0, 14.0, 10)
    h = resonance_field_mT(f, MEFF_T, G) + np.random.default_rng(0).normal(0.0, 0.01, f.size)
    fit = fit_kittel(f, h, fit_g=False, sigma_mT=1.0)  # error bars 100x the scatter
    assert "error bars look overstated" in redchi_warning(fit, "Kittel fit")
    assert redchi_warning(fit_kittel(f, h, fit_g=False, sigma_mT=0.01), "Kittel fit") is None


def test_a_long_series_fits_g_and_its_error_reaches_alpha():
    result = analyze(spectra([4.0, 6.0, 8.0, 10.0, 12.0, 14.0], noise_uV=1.0, seed=2))
    g = result.g_choice
    assert g.fitted and g.source == "fitted" and abs(g.value - G) < 3 * g.stderr
    assert g.stderr < 0.02 * g.value and result.warnings == []
    d = result.damping
    assert d.g == g.value and d.g_stderr == g.stderr
    f, dh, sdh = _damping_points(result)
    without_g = fit_damping(f, dh, sigma_mT=sdh, g=g.value, scale_errors=True)
    expected = np.hypot(without_g.stderr["alpha"], d.values["alpha"] * g.stderr / g.value)
    assert d.stderr["alpha"] == pytest.approx(expected, rel=1e-9)
    assert result.to_dict()["damping"]["alpha_stderr_includes_g"] is True


def _damping_points(result):
    pts = [(s.frequency_GHz, f.values["dH"], f.stderr["dH"]) for s in result.run.spectra for f in result.fits[s.file]]
    return [p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts]


def test_alpha_is_proportional_to_g_so_g_error_propagates_exactly():
    f = np.linspace(4.0, 14.0, 6)
    dh = linewidth_mT(f, ALPHA, DH0_MT, G) + np.random.default_rng(1).normal(0, 0.02, f.size)
    a, b = fit_damping(f, dh, g=G, sigma_mT=0.02), fit_damping(f, dh, g=1.01 * G, sigma_mT=0.02)
    assert b.values["alpha"] == pytest.approx(1.01 * a.values["alpha"], rel=1e-6)
    assert b.values["dH0_mT"] == pytest.approx(a.values["dH0_mT"], rel=1e-6)


def test_a_long_series_whose_free_g_is_not_physical_falls_back_to_the_set_g_and_warns():
    f = np.linspace(4.0, 14.0, 6)
    h = resonance_field_mT(f, 0.9, 2.9)  # a Kittel curve of g = 2.9 (e.g. frequencies read wrong)
    series = fit_resonance_series(f, h, np.full(f.size, 0.05), linewidth_mT(f, ALPHA, DH0_MT, 2.9),
                                  np.full(f.size, 0.05), g=2.05, g_source="--g")
    assert not series.g.fitted and series.g.value == 2.05 and series.g.free_g_rejected
    assert "outside 1.5-2.5" in series.g.reason
    assert any("g fixed at 2.05 instead" in w for w in series.warnings)


def test_a_free_g_at_its_bound_is_never_reported():
    f = np.linspace(4.0, 12.0, 5)
    h = 5.0 * (f / 4.0) ** 2.05  # curved beyond the limit M_eff -> infinity (H_r ~ f^2), where g -> 0
    free = fit_kittel(f, h, sigma_mT=0.01)
    assert free.at_bound == ("g",)
    series = fit_resonance_series(f, h, np.full(f.size, 0.01), np.full(f.size, 2.0) + 0.1 * f,
                                  np.full(f.size, 0.05), g=G)
    assert series.g.value == G and not series.g.fitted and "ran to its bound" in series.g.reason
    assert any("ran to its bound" in w for w in series.warnings)


def test_non_physical_values_are_warned():
    f = np.linspace(4.0, 14.0, 4)
    scatter = np.array([0.1, -0.1, -0.1, 0.1])  # as large as the error bars: no chi-square warning
    h = resonance_field_mT(f, 3.2, G) + scatter
    dh = linewidth_mT(f, 0.3, -2.0, G) + scatter
    series = fit_resonance_series(f, h, np.full(f.size, 0.1), dh, np.full(f.size, 0.1), g=G)
    text = "\n".join(series.warnings)
    for expected in ("Kittel fit: mu0*M_eff = 3.", "T is beyond +-2.5 T", "damping fit: alpha = 0.", "is above 0.2",
                     "damping fit: mu0*dH_0 = -"):
        assert expected in text
    assert len(series.warnings) == 3
    set_g = fit_resonance_series(f, resonance_field_mT(f, 0.9, 2.7), np.full(f.size, 0.1),
                                 linewidth_mT(f, ALPHA, DH0_MT, 2.7), np.full(f.size, 0.1), g=2.7, g_source="--g")
    assert any("g = 2.7 is outside 1.5-2.5" in w for w in set_g.warnings)
    negative = fit_resonance_series(f, resonance_field_mT(f, 0.9, G), np.full(f.size, 0.1),
                                    linewidth_mT(f, -0.001, 3.0, G), np.full(f.size, 0.01), g=G)
    assert any("alpha = -0.001 is not positive" in w for w in negative.warnings)


def test_frequencies_measured_on_the_negative_branch_only_count():
    """Previously refused for "1 frequency": only +H fits were used."""
    result = analyze(spectra([6.0, 8.0, 10.0], noise_uV=1.0, seed=4, branches=[(1,), (-1,), (-1, 1)]))
    assert result.kittel is not None and result.damping is not None
    assert result.resonance_frequencies == 3 and result.kittel.npoints == 4
    assert abs(result.kittel.values["mu0_Meff_T"] - MEFF_T) < 3 * result.kittel.stderr["mu0_Meff_T"]
    assert not any("frequenc" in m and "Kittel" in m for m in result.missing)


def test_the_fixed_g_comes_from_the_option_else_the_sample_else_the_default():
    sample = SampleMetadata(name="x", Ms_t_A=4e-3, resistivity_uOhm_cm=67.0, length_um=100.0, width_um=10.0,
                            stack="Ni-Fe(5)", setup_polarity=1, g=2.05)
    run = RunData(Path("x"), "x", sample)
    assert fixed_g(FitSettings(g=2.2), run) == (2.2, "--g")
    assert fixed_g(FitSettings(), run) == (2.05, "sample")
    assert fixed_g(FitSettings(), RunData(Path("x"), "x", None)) == (2.1, "default")
    result = analyze(spectra(**RUNAWAY), sample=sample)
    assert result.g_choice.value == 2.05 and result.damping.g == 2.05
    assert "the sample record's g" in result.g_choice.describe()


def test_the_kittel_figure_shows_the_g_and_every_warning():
    freqs = [4.0, 6.0, 8.0, 10.0, 12.0, 14.0]
    offsets = np.random.default_rng(5).normal(0.0, 1.0, len(freqs))
    result = analyze(spectra(freqs, noise_uV=1.0, seed=1, offsets_mT=offsets))
    fig = kittel_figure(result)
    texts = [t.get_text() for t in fig.texts]
    assert result.warnings and any(result.warnings[0][:60] in t for t in texts)
    assert "g = 2.1 fixed" in fig.axes[0].get_title()


def _write_folder(folder: Path, spectra_list) -> Path:
    folder.mkdir()
    for s in spectra_list:
        rows = "\n".join(f"{h:.17g},{v:.17g},{s.frequency_GHz},{s.angle_deg}" for h, v in zip(s.field_mT, s.voltage_V))
        (folder / s.file).write_text(f"{col.FIELD},{col.V_FMR},{col.FREQUENCY},{col.ANGLE}\n{rows}\n")
    return folder


def test_analyze_text_names_the_g_and_the_option_sets_it(tmp_path, capsys):
    folder = _write_folder(tmp_path / "run", spectra(**RUNAWAY))
    assert cli.main(["analyze", str(folder), "--jobs", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "g            2.1, fixed (default for Ni-Fe): g is fitted only on >= 5 frequencies" in out
    assert "reduced chi-square" in out and "excludes g's error: g fixed" in out and "WARNING" not in out
    meff = float(out.split("mu0*M_eff")[1].split()[0])
    assert 1.4 < meff < 1.6
    assert cli.main(["analyze", str(folder), "--jobs", "1", "--quiet", "--g", "2.0", "--json"]) == 0
    sample = json.loads(capsys.readouterr().out)["samples"][0]
    assert sample["g"]["value"] == 2.0 and sample["kittel"]["g"]["source"] == "--g"
    assert cli.main(["analyze", str(folder), "--g", "-1"]) == cli.EXIT_BAD_INPUT
    assert "--g must be a positive number" in capsys.readouterr().err
