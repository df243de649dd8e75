"""From a run folder's measurements to the sample's efficiencies, with uncertainties.

The chain (docs/physics.md §2 to §5): fit every spectrum, both branches (in
parallel over processes); Kittel and damping fits of H_r(f), dH(f); the
angular fit of V_S(phi), V_A(phi) at the frequency of the angle sweep (the
negative branch enters at phi + 180 deg); AMR; the rf current at that
frequency and power, every repeat of the AMR and the rf calibration pooled
(:mod:`stfmr.analysis.pooling`); then the absolute method. Every formula lives in the
modules imported here; this one only routes data between them. The records
(:class:`FitSettings`, :class:`SampleAnalysis`) live in :mod:`stfmr.analysis.records`
and are importable from here too.
"""

from __future__ import annotations

import dataclasses
import math
import re
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from stfmr.analysis.angular import fit_angular
from stfmr.analysis.calibration import fit_amr, fit_dc_heating, fit_rf_heating, pool_amr, pool_rf_calibrations
from stfmr.analysis.constants import DEFAULT_G
from stfmr.analysis.dc_bias import analyze_dc_bias, inverse_variance_mean
from stfmr.analysis.efficiency import branch_ufloats, efficiencies_from_fits
from stfmr.analysis.field_axis import field_axis
from stfmr.analysis.fit_common import FitInputError
from stfmr.analysis.frequency_scan import FrequencyScanFitError, fit_frequency_scan
from stfmr.analysis.modes import fit_modes
from stfmr.analysis.records import FitSettings, SampleAnalysis
from stfmr.analysis.resonance import meff_from_resonance_T
from stfmr.analysis.resonance_series import fit_resonance_series
from stfmr.analysis.run_reader import RunData, Spectrum
from stfmr.analysis.skip_reasons import FailedFit
from stfmr.analysis.spectrum_fit import (
    SpectrumFit,
    SpectrumFitError,
    branch_name,
    fit_each_branch,
    fit_spectrum,
    split_branches,
)

__all__ = ["FitSettings", "SampleAnalysis", "analyze_run", "combined_linewidth", "fit_all", "fit_one",
           "sink_thickness_nm", "spectrum_inputs", "strongest_branch"]


def fit_one(spectrum: Spectrum, settings: FitSettings) -> tuple[list[SpectrumFit], list[FailedFit]]:
    """Fit one spectrum file, each branch on its own: (the branches that fit, why the others did not).

    A branch that cannot be fitted is a :class:`FailedFit` with its polarity, naming
    the branch in its reason; the other branch is still used. A file of which no
    branch fits is one FailedFit without polarity.
    """
    kw = {"slope": settings.slope, "derivative": settings.derivative}
    try:
        field_mT = field_axis(spectrum.set_field_mT, spectrum.field_mT)
        result = fit_each_branch(field_mT, spectrum.voltage_V, **kw)
    except (SpectrumFitError, ValueError) as exc:
        return [], [FailedFit(spectrum.file, str(exc))]
    fits: list[SpectrumFit] = []
    failed = [FailedFit(spectrum.file, f.message, f.polarity) for f in result.failures]
    for fit in result.fits:
        try:
            if settings.window_mT:
                fit = _refit_in_window(field_mT, spectrum.voltage_V, fit, settings.window_mT, kw)
            if settings.modes == "auto":
                fit = _two_modes_where_needed(field_mT, spectrum.voltage_V, fit, kw)
            fits.append(fit)
        except (SpectrumFitError, ValueError) as exc:
            failed.append(FailedFit(spectrum.file, f"{branch_name(fit.polarity)} field branch: {exc}", fit.polarity))
    if not fits:  # nothing of the file is used: one entry for the file, every branch's reason
        return [], [FailedFit(spectrum.file, "; ".join(f.reason for f in failed))]
    return fits, failed


def _two_modes_where_needed(field_mT, voltage_V, fit: SpectrumFit, kw) -> SpectrumFit:
    """The branch's fit, or the stronger of two modes where the BIC criterion picks two."""
    h, v = _branch(field_mT, voltage_V, fit.polarity)
    sel = fit_modes(h, v, **kw)
    if sel.n_modes == 2 and sel.main_fit is not None:
        return dataclasses.replace(sel.main_fit, modes=sel.to_dict())
    return fit


def _branch(field_mT, voltage_V, polarity: int):
    """The points of one branch, as split_branches gives them."""
    return next((h, v) for pol, h, v in split_branches(field_mT, voltage_V) if pol == polarity)


def _refit_in_window(field_mT, voltage_V, fit: SpectrumFit, window_mT: float, kw) -> SpectrumFit:
    h_r = fit.values["H_r"]
    keep = (np.abs(field_mT - h_r) <= window_mT / 2) & (np.sign(field_mT) == fit.polarity)
    return fit_spectrum(field_mT[keep], voltage_V[keep], **kw)


FileFits = tuple[list[SpectrumFit], list[FailedFit]]


def _fit_chunk(args: tuple[list[Spectrum], FitSettings]) -> list[FileFits]:
    spectra, settings = args
    return [fit_one(s, settings) for s in spectra]


def fit_all(spectra: list[Spectrum], settings: FitSettings, jobs: int = 1,
            progress=None) -> list[FileFits]:
    """Fit every spectrum (:func:`fit_one`), over ``jobs`` processes (chunked), in input order."""
    out: list[FileFits] = []
    if jobs <= 1 or len(spectra) < 8:
        for k, s in enumerate(spectra):
            out.append(fit_one(s, settings))
            if progress:
                progress(k + 1, len(spectra))
        return out
    n_chunks = jobs * 4
    size = math.ceil(len(spectra) / n_chunks)
    chunks = [(spectra[i:i + size], settings) for i in range(0, len(spectra), size)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for part in pool.map(_fit_chunk, chunks):
            out.extend(part)
            if progress:
                progress(len(out), len(spectra))
    return out


def analyze_run(run: RunData, settings: FitSettings = FitSettings(), jobs: int = 1, progress=None) -> SampleAnalysis:
    """Run the whole chain on one run folder's data."""
    result = SampleAnalysis(run)
    for spectrum, (fits, failed) in zip(run.spectra, fit_all(run.spectra, settings, jobs, progress)):
        result.failed_fits.extend(failed)
        if fits:
            result.fits[spectrum.file] = fits
    _resonance(result, settings)
    _frequency_scans(result, settings)  # with the Kittel fit's g and M_eff when there is one
    _angular(result)
    _calibrations(result)
    _efficiencies(result)
    _dc_bias(result, settings)
    return result


def fixed_g(settings: FitSettings, run: RunData) -> tuple[float, str]:
    """The g that fits use where they cannot determine it, and its source: --g, the sample's g, else the default."""
    if settings.g is not None:
        return settings.g, "--g"
    if run.sample is not None and run.sample.g is not None:
        return run.sample.g, "sample"
    return DEFAULT_G, "default"


def _resonance(result: SampleAnalysis, settings: FitSettings) -> None:
    """Kittel and damping fits over frequency, from field sweeps without dc bias, both field branches.

    Every fitted branch is a point (f, |H_r|, dH): a frequency measured on the -H branch
    only counts like any other. Which g, the error scaling and the warnings:
    :mod:`stfmr.analysis.resonance_series`.

    A run without field sweeps at 2 frequencies (a fixed or slow magnet) uses its frequency
    scans instead: each gives the pair (f_r, H) and the field-equivalent dH. Their errors in
    H (the field's scatter and sigma(f_r)/(df/dH)) leave out the gaussmeter's resolution and
    the frequency-swept peak's offset from the Kittel frequency (about 2 % of a linewidth),
    which the scaling of errors by sqrt(reduced chi-square) takes up.
    """
    points = []  # (f GHz, |H_r| mT, its stderr, dH mT, its stderr)
    _not_recorded(result, "frequency_GHz", "frequency", "Kittel and damping fits")
    for s in result.run.spectra:
        if s.kind in ("frequency_sweep", "field_sweep", "spectrum", "angle_sweep") and s.dc_current_mA == 0 \
                and not math.isnan(s.frequency_GHz):
            for fit in result.fits.get(s.file, []):
                points.append((s.frequency_GHz, abs(fit.values["H_r"]), fit.stderr["H_r"], fit.values["dH"],
                               fit.stderr["dH"]))
    from_scans = len({round(p[0], 6) for p in points}) < 2 and bool(result.run.frequency_scans)
    if from_scans:
        _frequency_scans(result, settings)  # with the set g and M_eff from each f_r, before any Kittel fit
        points, scans = [], set()
        for scan in result.run.frequency_scans:
            for scan_fit in result.frequency_scans.get(scan.file, []):
                if scan.dc_current_mA != 0:
                    continue
                scans.add(scan.file)
                q, e = scan_fit.equivalent, scan_fit.equivalent_stderr
                sigma_h = math.hypot(e["H_r"], scan_fit.stderr["f_r"] / q["df_dH_GHz_per_mT"])
                points.append((scan_fit.values["f_r"], abs(q["H_r"]), sigma_h, q["dH"], e["dH"]))
    freqs = sorted({round(p[0], 6) for p in points})
    if len(freqs) < 2:
        if result.run.frequency_scans:
            result.missing.append("Kittel and damping fits need field sweeps at 2 or more frequencies or frequency "
                                  f"scans at 2 or more fields, got {len(freqs)}")
        else:
            result.missing.append(f"Kittel and damping fits need spectra at 2 or more frequencies, got {len(freqs)}")
        return
    g, source = fixed_g(settings, result.run)
    try:
        series = fit_resonance_series(*zip(*points), g=g, g_source=source)
    except FitInputError as exc:
        result.missing.append(f"Kittel/damping fit: {exc}")
        return
    result.kittel, result.damping, result.g_choice = series.kittel, series.damping, series.g
    result.resonance_frequencies = series.frequencies
    result.missing.extend(series.missing)
    result.warnings.extend(series.warnings)
    if from_scans:
        fits = "Kittel and damping fits" if result.damping is not None else "Kittel fit"
        result.notes.append(f"{fits} from {len(scans)} frequency scans (no field sweeps)")


def _not_recorded(result: SampleAnalysis, attr: str, what: str, used_by: str) -> None:
    """Note the fitted spectra whose files record no ``what`` (NaN): they are left out of ``used_by``."""
    files = [s.file for s in result.run.spectra if s.file in result.fits and math.isnan(getattr(s, attr))]
    if files:
        result.missing.append(f"no {what} recorded in {len(files)} spectra ({', '.join(files[:3])}"
                              f"{' ...' if len(files) > 3 else ''}): not in the {used_by}; give it with --metadata")


def _angular(result: SampleAnalysis) -> None:
    by_freq: dict[float, list[Spectrum]] = {}
    _not_recorded(result, "angle_deg", "angle", "angular fit")
    for s in result.run.spectra:
        if s.file in result.fits and s.kind in ("angle_sweep", "spectrum") and s.dc_current_mA == 0 \
                and not math.isnan(s.angle_deg) and not math.isnan(s.frequency_GHz):
            by_freq.setdefault(round(s.frequency_GHz, 9), []).append(s)
    candidates = {f: ss for f, ss in by_freq.items() if len({round(s.angle_deg, 6) for s in ss}) >= 3}
    if not candidates:
        result.missing.append("the angular fit needs spectra at 3 or more angles at one frequency")
        return
    f, spectra = max(candidates.items(), key=lambda kv: len(kv[1]))
    branches = [(s.angle_deg if fit.polarity == 1 else s.angle_deg + 180.0, fit)
                for s in spectra for fit in result.fits[s.file]]
    try:
        result.angular = fit_angular([phi for phi, _ in branches], [fit.values["V_S"] for _, fit in branches],
                                     [fit.values["V_A"] for _, fit in branches],
                                     sigma_S=[fit.stderr["V_S"] for _, fit in branches],
                                     sigma_A=[fit.stderr["V_A"] for _, fit in branches])
        result.angular_frequency_GHz = f
        result.angular_branches = branches
    except FitInputError as exc:
        result.missing.append(f"angular fit at {f:g} GHz: {exc}")


def _calibrations(result: SampleAnalysis) -> None:
    """The AMR and the rf current at the angular fit's frequency, every repeat of each pooled."""
    _amr(result)
    f = result.angular_frequency_GHz
    if f is not None:
        _rf_current(result, f)


def _amr(result: SampleAnalysis) -> None:
    """R_perp and Delta_R_AMR from every AMR sweep (:func:`~stfmr.analysis.calibration.pool_amr`)."""
    run = result.run
    if not run.amr:
        result.missing.append("no AMR measurement: Delta_R_AMR unknown")
        return
    fits = {}
    for amr in run.amr:
        try:
            fits[amr.file] = fit_amr(amr.angle_deg, amr.resistance_Ohm)
        except FitInputError as exc:
            result.missing.append(f"AMR fit{_of(amr.file, run.amr)}: {exc}")
    if not fits:
        return
    try:
        result.amr = pool_amr(fits)
    except FitInputError as exc:
        result.missing.append(f"AMR: {exc}")
        return
    _report_pooling(result, [result.amr.pooling])


def _rf_current(result: SampleAnalysis, f: float) -> None:
    """I_0 at ``f`` GHz from every rf calibration (:func:`~stfmr.analysis.calibration.pool_rf_calibrations`).

    c (R(P)) from every calibration at ``f``; k (R(I_dc)), the device's own and the
    same at every frequency, from every calibration of the run.
    """
    run = result.run
    at_f = [c for c in run.rf_calibrations if abs(c.frequency_GHz - f) < 1e-6]
    if not at_f:
        result.missing.append(f"no rf calibration at {f:g} GHz: I_0 unknown")
        return
    dc_fits, rf_fits = {}, {}
    for cal in run.rf_calibrations:
        try:
            dc_fits[cal.file] = fit_dc_heating(cal.I_dc_mA, cal.R_dc_Ohm, positive=False)
        except FitInputError as exc:
            result.missing.append(f"rf calibration at {cal.frequency_GHz:g} GHz{_of(cal.file, run.rf_calibrations)}: "
                                  f"{exc}")
    for cal in at_f:
        try:
            rf_fits[cal.file] = fit_rf_heating(cal.power_dBm, cal.R_rf_Ohm, positive=False)
        except FitInputError as exc:
            result.missing.append(f"rf calibration at {f:g} GHz{_of(cal.file, at_f)}: {exc}")
    if not dc_fits or not rf_fits:
        return
    try:
        result.rf = pool_rf_calibrations(dc_fits, rf_fits, freq_GHz=f)
    except FitInputError as exc:
        result.missing.append(f"rf calibration at {f:g} GHz: {exc}")
        return
    _report_pooling(result, list(result.rf.pooling.values()))
    powers = {round(s.power_dBm, 6) for s in run.spectra if abs(s.frequency_GHz - f) < 1e-6 and s.file in result.fits}
    result.rf_power_dBm = max(powers) if powers else None


def _of(file: str, repeats: list) -> str:
    """ " of FILE (left out)" where repeats are pooled (the message names the one that failed), else "". """
    return f" of {file} (left out)" if len(repeats) > 1 else ""


def _report_pooling(result: SampleAnalysis, poolings: list) -> None:
    """A note for every pooled quantity, a warning where its repeats disagree beyond their errors."""
    for pooling in poolings:
        if pooling is None:
            continue
        if (note := pooling.note()) is not None:
            result.notes.append(note)
        if (warning := pooling.warning()) is not None:
            result.warnings.append(warning)


def _efficiencies(result: SampleAnalysis) -> None:
    angular, kittel, amr, rf = result.angular, result.kittel, result.amr, result.rf
    power, f = result.rf_power_dBm, result.angular_frequency_GHz
    if angular is None or kittel is None or amr is None or rf is None or power is None or f is None \
            or result.run.sample is None:
        if result.run.sample is None:
            result.missing.append("no sample metadata (M_s*t_FM, length): efficiencies not computed")
        return
    fits = [fit for s in result.run.spectra
            if s.file in result.fits and abs(s.frequency_GHz - f) < 1e-6 and s.kind in ("angle_sweep", "spectrum")
            and s.dc_current_mA == 0 for fit in result.fits[s.file]]
    amplitudes, h_r, dh, scale = spectrum_inputs(angular, result.angular_branches, fits)
    result.linewidth, result.linewidth_fits, result.linewidth_error_scale = dh, len(fits), scale
    try:
        result.efficiencies = efficiencies_from_fits(
            angular=angular, spectrum=(h_r, dh), amplitudes=amplitudes, kittel=kittel, I0_A=rf.I0(power),
            amr=amr, R_Ohm=amr.ufloats()["R_perp_Ohm"], sample=result.run.sample)
    except FitInputError as exc:
        result.missing.append(f"efficiencies: {exc}")


def strongest_branch(fits: list[SpectrumFit]) -> int:
    """Index of the branch fit with the largest |V_S| / its error (whose H_r the efficiencies use)."""
    return max(range(len(fits)), key=lambda k: abs(fits[k].values["V_S"]) / fits[k].stderr["V_S"])


def spectrum_inputs(angular, angular_branches: list[tuple[float, SpectrumFit]], linewidth_fits: list[SpectrumFit],
                    scale_by_scatter: bool = True) -> tuple[tuple[Any, Any], Any, Any, float]:
    """The spectra's part of the efficiencies' inputs: ((V_S0, V_A0) V, H_r mT, dH mT, dH's error scale).

    angular_branches: (magnetization angle deg, fit) of every point of ``angular``;
    linewidth_fits: the branch fits at its frequency. Each fit's V_S, V_A, H_r and dH
    are made once as correlated variables (:func:`branch_ufloats`); V_S0 and V_A0 are
    the angular fit's combinations of them (:meth:`AngularFit.amplitudes_of`), dH their
    inverse-variance mean (:func:`combined_linewidth`, or unscaled), H_r that of the
    strongest branch. So the anti-correlation of V_S and dH within each spectrum reaches
    xi_DL^E, which goes as V_S0*dH: taken as independent, they overstated its error.
    """
    made: dict[int, dict[str, Any]] = {}

    def of(fit: SpectrumFit) -> dict[str, Any]:
        if id(fit) not in made:
            made[id(fit)] = branch_ufloats(fit)
        return made[id(fit)]

    amplitudes = angular.amplitudes_of([phi for phi, _ in angular_branches],
                                       [of(fit)["V_S"] for _, fit in angular_branches],
                                       [of(fit)["V_A"] for _, fit in angular_branches])
    widths = [of(fit)["dH"] for fit in linewidth_fits]
    dh, scale = combined_linewidth(widths) if scale_by_scatter else (inverse_variance_mean(widths), 1.0)
    return amplitudes, of(linewidth_fits[strongest_branch(linewidth_fits)])["H_r"], dh, scale


def combined_linewidth(half_widths: list) -> tuple[Any, float]:
    """The inverse-variance mean of half widths dH (mT, ``uncertainties`` values) and its error scale.

    dH does not depend on the angle, so every spectrum at a frequency measures it:
    N spectra of equal errors give an error 1/sqrt(N) of one. Where the values scatter
    more than their errors say (reduced chi-square > 1), the mean's error is scaled by
    sqrt(reduced chi-square), the returned scale (1 otherwise); the correlation of each
    dH with its own spectrum's H_r is kept.
    """
    mean = inverse_variance_mean(half_widths)
    values = np.array([float(getattr(w, "nominal_value", w)) for w in half_widths])
    errors = np.array([float(getattr(w, "std_dev", 0.0)) for w in half_widths])
    if len(values) < 2 or np.any(errors <= 0):
        return mean, 1.0
    redchi = float(np.sum(((values - mean.nominal_value) / errors) ** 2) / (len(values) - 1))
    scale = math.sqrt(redchi) if redchi > 1 else 1.0
    return mean.nominal_value + (mean - mean.nominal_value) * scale, scale


def _frequency_scans(result: SampleAnalysis, settings: FitSettings) -> None:
    """Fit every frequency scan in frequency, with g and mu0*M_eff of the Kittel fit when there is one."""
    kw: dict[str, Any] = {"slope": settings.slope, "g": fixed_g(settings, result.run)[0]}
    if result.kittel is not None:
        kw |= {"g": result.kittel.values["g"], "mu0_Meff_T": result.kittel.values["mu0_Meff_T"]}
    for scan in result.run.frequency_scans:
        result.failed_fits = [f for f in result.failed_fits if f.file != scan.file]
        try:
            result.frequency_scans[scan.file] = fit_frequency_scan(
                scan.frequency_GHz, scan.voltage_V, scan.field_mT, set_field_mT=scan.set_field_mT, **kw)
        except (FrequencyScanFitError, ValueError) as exc:
            result.failed_fits.append(FailedFit(scan.file, str(exc)))


def _dc_bias(result: SampleAnalysis, settings: FitSettings) -> None:
    """xi_DL^E from the linewidth against dc current, wherever 3 or more currents of both signs were measured."""
    groups: dict[tuple[float, float, float], list[Spectrum]] = {}
    for s in result.run.spectra:
        if s.file in result.fits:
            groups.setdefault((round(s.frequency_GHz, 9), round(s.angle_deg, 6), round(s.power_dBm, 6)), []).append(s)
    groups = {k: ss for k, ss in groups.items()
              if len({round(s.dc_current_mA, 6) for s in ss}) >= 3
              and min(s.dc_current_mA for s in ss) < 0 < max(s.dc_current_mA for s in ss)}
    if not groups:
        return
    sample = result.run.sample
    if result.amr is None or sample is None:
        result.missing.append("dc-bias method: xi_DL^E needs the AMR fit (R_perp) and the sample record "
                              "(L, M_s*t_FM); the linewidth slopes alone are reported")
    for (f, angle, power), spectra in sorted(groups.items()):
        points = [(s.dc_current_mA, fit.polarity, fit.values["H_r"], fit.stderr["H_r"], fit.values["dH"],
                   fit.stderr["dH"]) for s in spectra for fit in result.fits[s.file]]
        if result.kittel is not None:
            g, meff = result.kittel.ufloats()["g"], result.kittel.ufloats()["mu0_Meff_T"]
        else:
            g = fixed_g(settings, result.run)[0]
            meff = meff_from_resonance_T(float(np.mean([abs(p[2]) for p in points])), f, g)
            result.missing.append(f"dc-bias method at {f:g} GHz: no Kittel fit, mu0*M_eff from H_r with g = {g:g}")
        try:
            result.dc_bias.append(analyze_dc_bias(
                f, angle, power, points, g=g, mu0_Meff_T=meff,
                R_Ohm=result.amr.ufloats()["R_perp_Ohm"] if result.amr is not None else None,
                length_m=sample.length_um * 1e-6 if sample is not None else None,
                Ms_t_A=(sample.Ms_t_A, sample.Ms_t_stderr_A) if sample is not None else None))
        except FitInputError as exc:
            result.missing.append(f"dc-bias method at {f:g} GHz, {angle:g} deg: {exc}")


_THICKNESS = re.compile(r"Ta-?B\((?P<t>[\d.]+)\)")


def sink_thickness_nm(stack: str) -> float | None:
    """The spin-sink (Ta-B) thickness in nm from a stack string like 'Ta-B(3)/Ni-Fe(5)/MgO'."""
    m = _THICKNESS.search(stack or "")
    return float(m.group("t")) if m else None
