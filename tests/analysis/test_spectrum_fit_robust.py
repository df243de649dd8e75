"""Robust spectrum fits (issue 13): branches fitted independently, the global search and its warnings,
the noise-normalised chi-square, and no second "mode" in a smooth background bump."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from stfmr.analysis import lineshape
from stfmr.analysis.characterize import fit_one
from stfmr.analysis.modes import DELTA_BIC_THRESHOLD, MIN_MODE_SIGNIFICANCE, fit_modes
from stfmr.analysis.records import FitSettings
from stfmr.analysis.run_reader import Spectrum
from stfmr.analysis.spectrum_fit import (
    CLOSE_MINIMA,
    SpectrumFitError,
    fit_branches,
    fit_each_branch,
    fit_spectrum,
)
from stfmr.analysis.spectrum_fit_core import grid_start, refine

README = Path(__file__).resolve().parents[2] / "README.md"


def _both_branches(rng, negative_flat: bool):
    """A file's columns: +H with a clear line; -H the mirror line, or noise only."""
    h = np.linspace(40.0, 200.0, 201)
    pos = lineshape.spectrum_voltage(h, 110.0, 4.0, 2e-6, 3e-6, 0.0, 0.0) + rng.normal(0, 2e-8, h.size)
    neg = (rng.normal(0, 2e-8, h.size) if negative_flat
           else lineshape.spectrum_voltage(-h, -110.0, 4.0, -2e-6, -3e-6, 0.0, 0.0) + rng.normal(0, 2e-8, h.size))
    return np.concatenate((-h[::-1], h)), np.concatenate((neg[::-1], pos))


# ---------------------------------------------------------------- (1) branches on their own


def test_a_branch_without_resonance_is_reported_and_the_other_kept():
    field, v = _both_branches(np.random.default_rng(1), negative_flat=True)
    result = fit_each_branch(field, v)
    (fit,) = result.fits
    (failure,) = result.failures
    assert fit.polarity == 1 and fit.values["H_r"] == pytest.approx(110.0, abs=0.1)
    assert failure.polarity == -1 and failure.npoints == 201 and failure.field_range_mT == (-200.0, -40.0)
    assert failure.message.startswith("negative field branch: no resonance in the window")
    assert failure.to_dict()["reason"].startswith("no resonance")
    with pytest.raises(SpectrumFitError, match="^negative field branch"):  # the strict form stays strict
        fit_branches(field, v)


def test_analyze_uses_the_branch_that_fits_and_names_the_other():
    field, v = _both_branches(np.random.default_rng(2), negative_flat=True)
    spectrum = Spectrum("one_bad_branch.csv", "spectrum", 10.0, 45.0, 10.0, 0.0, field, field, v)
    fits, failed = fit_one(spectrum, FitSettings())
    assert [f.polarity for f in fits] == [1]
    (entry,) = failed
    assert entry.polarity == -1 and entry.reason.startswith("negative field branch: no resonance")
    assert entry.to_dict() == {"file": "one_bad_branch.csv", "reason": entry.reason, "polarity": -1}
    # nothing fits: one entry for the file, without a polarity
    noise = np.random.default_rng(3).normal(0, 2e-8, field.size)
    fits, failed = fit_one(Spectrum("noise.csv", "spectrum", 10.0, 45.0, 10.0, 0.0, field, field, noise),
                           FitSettings())
    assert fits == [] and len(failed) == 1 and failed[0].polarity is None
    assert failed[0].reason.count("no resonance") == 2


# ---------------------------------------------------------------- (5) global search


H = np.linspace(20.0, 120.0, 201)


def _line_on_a_bump() -> np.ndarray:
    """A 3.5 mT line at 60 mT and a broader (8 mT) one at 100 mT of similar chi-square weight, with noise."""
    noise = np.random.default_rng(0).normal(0, 2e-7, H.size)
    return (lineshape.spectrum_voltage(H, 60.0, 3.5, 6e-6, -8e-6, 0.0, 0.0)
            + lineshape.spectrum_voltage(H, 100.0, 8.0, 1e-5, 1e-6, 0.0, 0.0) + noise)


def _single_start(v):
    """The fit as it was: refined from the scan's single best start only. Returns (H_r, redchi)."""
    scale, yscale = H.max(), np.std(v)
    hr, w, _ = grid_start(H / scale, v / yscale, False, True, 1)
    pt, converged = refine(H / scale, v / yscale, hr, w, False, True)
    assert converged
    return pt.hr * scale, pt.chi2 * yscale**2 / (H.size - 6)


def test_the_global_search_finds_the_lower_of_two_minima_and_warns_that_they_are_close():
    v = _line_on_a_bump()
    hr_single, redchi_single = _single_start(v)
    assert hr_single == pytest.approx(61.7, abs=0.5)  # the single start stays in the narrow line's basin
    fit = fit_spectrum(H, v)
    assert fit.values["H_r"] == pytest.approx(98.6, abs=0.5)  # the lower minimum, on the broader line
    assert fit.redchi < redchi_single / 1.01
    excess = redchi_single / fit.redchi - 1.0
    assert excess < CLOSE_MINIMA
    (warning,) = [w for w in fit.warnings if w.startswith("another minimum")]
    assert "H_r = 61.67 mT" in warning and f"{100 * excess:.1f} % higher" in warning
    # lmfit, started from the fast core's optimum, keeps that word
    assert any(w.startswith("another minimum") for w in fit_spectrum(H, v, engine="lmfit").warnings)


def test_one_clear_line_gives_no_warning_and_chi_square_near_the_noise():
    rng = np.random.default_rng(5)
    v = lineshape.spectrum_voltage(H, 70.0, 3.0, 4e-6, 2e-6, 1e-7, 1e-9) + rng.normal(0, 5e-8, H.size)
    fit = fit_spectrum(H, v)
    assert fit.warnings == ()
    assert fit.noise_V == pytest.approx(5e-8, rel=0.2)
    assert 0.7 < fit.chi2_noise < 1.4


def test_a_structure_the_model_lacks_shows_in_the_noise_normalised_chi_square():
    rng = np.random.default_rng(6)
    v = (lineshape.spectrum_voltage(H, 70.0, 3.0, 4e-6, 2e-6, 0.0, 0.0)
         + lineshape.spectrum_voltage(H, 90.0, 3.0, 1e-6, 0.0, 0.0, 0.0) + rng.normal(0, 5e-8, H.size))
    assert fit_spectrum(H, v).chi2_noise > 5.0


@pytest.mark.parametrize("hr, flagged", [(26.0, True), (113.0, True), (70.0, False), (29.5, False)])
def test_a_resonance_within_two_linewidths_of_an_edge_is_flagged(hr, flagged):
    rng = np.random.default_rng(7)
    v = lineshape.spectrum_voltage(H, hr, 4.0, 4e-6, 2e-6, 0.0, 0.0) + rng.normal(0, 2e-8, H.size)
    fit = fit_spectrum(H, v)
    edge = [w for w in fit.warnings if "from the sweep edge" in w]
    assert bool(edge) == flagged
    if flagged:
        assert f"edge at {20 if hr < 70 else 120:g} mT" in edge[0]


# ---------------------------------------------------------------- (6) two modes


@pytest.mark.parametrize("bump_mT, width_mT, amplitude", [(120.0, 30.0, 0.3), (170.0, 25.0, 0.2)])
def test_a_broad_background_bump_is_not_a_second_mode(bump_mT, width_mT, amplitude):
    h = np.linspace(60, 220, 321)
    rng = np.random.default_rng(4)
    v = (lineshape.spectrum_voltage(h, 140.0, 6.0, 2e-5, 3e-5, 1e-7, 0.0)
         + lineshape.spectrum_voltage(h, bump_mT, width_mT, amplitude * 2e-5, amplitude * 1e-5, 0.0, 0.0)
         + rng.normal(0, 5e-8, h.size))
    sel = fit_modes(h, v)
    # the BIC and the amplitude alone would take the bump for a mode; its width does not
    assert sel.delta_bic > DELTA_BIC_THRESHOLD
    assert sel.n_modes == 1 and "background bump" in sel.reason, sel.reason


def test_readme_and_code_state_the_same_amplitude_criterion():
    text = " ".join(README.read_text(encoding="utf-8").split())
    found = re.search(r"amplitude sqrt\(V_S\^2 \+ V_A\^2\) of at least (\d+) standard errors", text)
    assert found and float(found.group(1)) == MIN_MODE_SIGNIFICANCE
