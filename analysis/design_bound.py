"""The Cramer-Rao bound of the torque efficiencies for a measured design: the least error its spectra allow.

A design is what was measured: the fields of every spectrum branch and the noise of
each point (independent Gaussian, its standard deviation given in V). The bound is on
the spectrum part of xi_DL^E and xi_FL+Oe^E: the inputs the spectra give (V_S0, V_A0,
H_r, dH and, through the Kittel fit, M_eff and g) take the least errors the Fisher
information of the measured points allows; the others (I_0, Delta_R_AMR, R, M_s t, the
length) keep the errors the analysis reported. Two bounds:

- **chain**: the analysis's own propagation (:func:`stfmr.analysis.characterize.analyze_run`)
  with every spectrum fit's covariance replaced by its Cramer-Rao covariance
  (:func:`~stfmr.analysis.measurement_design.cramer_rao_covariance`, at the fit's values):
  the angular fit weighted by those V_S and V_A errors, dH their inverse-variance mean (not
  scaled by the scatter, as the analysis may scale it), H_r from the strongest branch, the
  Kittel fit on those H_r errors (not scaled either), then the efficiency formulas
  (:func:`~stfmr.analysis.efficiency.efficiencies_from_fits`). Like the analysis it keeps
  each fit's (H_r, dH) correlation and drops its others (V_S with dH, V_S with V_A), so the
  reported error over this bound says how close the fits come to efficient.
- **joint**: the Cramer-Rao bound of the spectra at the angular frequency under the
  analysis's model, all correlations kept: one V_S0 and V_A0 (V_S = V_S0 cos^2(phi) sin(phi),
  likewise V_A) and one dH for all of them, each branch its own H_r and background. No
  unbiased estimate from these spectra does better; the reported error over it says what
  the fits and the way the analysis combines them leave. It is below the chain's where a
  spectrum's V_S and dH are correlated (xi^E goes as V_S0*dH), a correlation the analysis's
  error leaves out. M_eff and g as in the chain.

Every branch is bounded over all its measured points, on the field axis its fit used
(:func:`~stfmr.analysis.field_axis.field_axis`): an analysis that fits a window of the
branch (``--window``) reports more than the bound.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import uncertainties

from stfmr.analysis.angular import AngularFit, angular_voltage, fit_angular
from stfmr.analysis.budget import UncertaintyBudget, efficiency_budgets
from stfmr.analysis.calibration import AmrFit, RfCurrentCalibration
from stfmr.analysis.characterize import spectrum_inputs, strongest_branch
from stfmr.analysis.efficiency import Efficiencies, efficiencies_from_fits
from stfmr.analysis.field_axis import field_axis
from stfmr.analysis.fit_common import FitInputError
from stfmr.analysis.measurement_design import (
    GRADIENT_NAMES,
    cramer_rao_covariance,
    fisher_information,
    inverse_information,
)
from stfmr.analysis.records import SampleAnalysis
from stfmr.analysis.resonance import KittelFit, fit_kittel
from stfmr.analysis.resonance_series import GChoice
from stfmr.analysis.run_reader import Spectrum
from stfmr.analysis.sample import SampleMetadata
from stfmr.analysis.spectrum_fit import SpectrumFit

#: the noise of the points (V): one value for every point, or a function of a spectrum giving
#: one value or one per row of its file
NoiseModel = Union[float, Callable[[Spectrum], Any]]

#: the efficiency inputs that come from spectra (their shares make the spectrum part)
SPECTRUM_INPUTS = ("V_S0", "V_A0", "H_r", "dH", "M_eff", "g")
#: the bounds :func:`design_bound` gives
BOUNDS = ("chain", "joint")

#: a spectrum fit's own parameters that stay per branch in the joint bound (beside V_S, V_A where
#: the angle is unknown)
_BRANCH_OWN = ("H_r", "V_0", "V_1")


class DesignBoundError(ValueError):
    """The bound cannot be computed for this analysis; the message says why."""


@dataclass(frozen=True)
class MeasuredBranch:
    """One field branch of a spectrum file: its fit and the points it was measured at."""

    spectrum: Spectrum
    fit: SpectrumFit
    field_mT: np.ndarray  #: every point of the branch, on the fit's field axis (mT)
    noise_V: np.ndarray  #: each point's noise standard deviation (V)


def measured_branch(spectrum: Spectrum, fit: SpectrumFit, noise_V: NoiseModel) -> MeasuredBranch:
    """The points of ``fit``'s branch in ``spectrum`` and their noise (``noise_V``: :data:`NoiseModel`)."""
    if fit.derivative:
        raise DesignBoundError(f"{spectrum.file}: a derivative-mode fit; the bound is for the lineshape itself")
    if fit.modes is not None:
        raise DesignBoundError(f"{spectrum.file}: a two-mode fit; the bound is for one resonance a branch")
    axis = field_axis(spectrum.set_field_mT, spectrum.field_mT)
    sigma = np.asarray(noise_V(spectrum) if callable(noise_V) else noise_V, dtype=float)
    if sigma.ndim and sigma.shape != axis.shape:
        raise DesignBoundError(f"{spectrum.file}: {sigma.size} noise values for {axis.size} points")
    sigma = np.broadcast_to(sigma, axis.shape)
    if not np.all(np.isfinite(sigma) & (sigma > 0)):
        raise DesignBoundError(f"{spectrum.file}: the noise (V) must be positive and finite at every point")
    keep = np.sign(axis) == fit.polarity
    return MeasuredBranch(spectrum, fit, axis[keep], sigma[keep])


def bounded_fit(branch: MeasuredBranch) -> SpectrumFit:
    """The branch's fit with its errors and correlations those of the Cramer-Rao covariance at its values."""
    fit = branch.fit
    try:
        cov = cramer_rao_covariance(branch.field_mT, fit.values, branch.noise_V, fit.names)
    except ValueError as exc:
        raise DesignBoundError(f"{branch.spectrum.file}: {exc}") from None
    err = np.sqrt(np.diag(cov))
    return dataclasses.replace(fit, stderr=dict(fit.stderr) | dict(zip(fit.names, err.tolist())),
                               correlation=cov / np.outer(err, err))


@dataclass(frozen=True)
class _Results:
    """The analysis's efficiencies and the results they came from (all present)."""

    efficiencies: Efficiencies
    frequency_GHz: float  #: of the angular fit
    angular: AngularFit
    linewidth: Any  #: dH (mT) at that frequency
    kittel: KittelFit
    g_choice: GChoice
    rf: RfCurrentCalibration
    power_dBm: float
    amr: AmrFit
    sample: SampleMetadata


def _results(analysis: SampleAnalysis) -> _Results:
    """The results of ``analysis`` the bound needs; DesignBoundError when it computed no efficiencies."""
    a = analysis
    eff, f, angular, kittel, g, rf, power, amr, sample = (a.efficiencies, a.angular_frequency_GHz, a.angular, a.kittel,
                                                          a.g_choice, a.rf, a.rf_power_dBm, a.amr, a.run.sample)
    if eff is None or f is None or angular is None or kittel is None or g is None or rf is None \
            or power is None or amr is None or sample is None:
        raise DesignBoundError("the analysis computed no efficiencies: " + ("; ".join(a.missing) or "nothing to bound"))
    return _Results(eff, f, angular, a.linewidth, kittel, g, rf, power, amr, sample)


# The spectra each step of the analysis uses, as stfmr.analysis.characterize selects them
# (_resonance, _angular, _efficiencies); tests/analysis/test_design_bound.py checks that the
# chain below, given the analysis's own fits, reproduces its errors.

def _resonance_branches(analysis: SampleAnalysis) -> list[tuple[Spectrum, SpectrumFit]]:
    return [(s, fit) for s in analysis.run.spectra
            if s.kind in ("frequency_sweep", "field_sweep", "spectrum", "angle_sweep") and s.dc_current_mA == 0
            and not math.isnan(s.frequency_GHz) for fit in analysis.fits.get(s.file, [])]


def _angular_branches(analysis: SampleAnalysis, f: float) -> list[tuple[Spectrum, SpectrumFit]]:
    return [(s, fit) for s in analysis.run.spectra
            if s.file in analysis.fits and s.kind in ("angle_sweep", "spectrum") and s.dc_current_mA == 0
            and not math.isnan(s.angle_deg) and not math.isnan(s.frequency_GHz)
            and round(s.frequency_GHz, 9) == f for fit in analysis.fits[s.file]]


def _linewidth_branches(analysis: SampleAnalysis, f: float) -> list[tuple[Spectrum, SpectrumFit]]:
    return [(s, fit) for s in analysis.run.spectra
            if s.file in analysis.fits and abs(s.frequency_GHz - f) < 1e-6 and s.kind in ("angle_sweep", "spectrum")
            and s.dc_current_mA == 0 for fit in analysis.fits[s.file]]


def _magnetization_angle_deg(spectrum: Spectrum, fit: SpectrumFit) -> float:
    """The angle the angular fit places a branch at (deg): the negative branch at phi + 180."""
    return spectrum.angle_deg if fit.polarity == 1 else spectrum.angle_deg + 180.0


FitOf = Callable[[Spectrum, SpectrumFit], SpectrumFit]


@dataclass(frozen=True)
class _Amplitudes:
    """What :func:`efficiencies_from_fits` reads of an angular fit: (V_S0, V_A0) (V), here given."""

    v_s0: Any
    v_a0: Any

    def amplitudes(self) -> tuple[Any, Any]:
        return self.v_s0, self.v_a0


def _efficiencies(results: _Results, angular, h_r, dh, kittel: KittelFit, amplitudes=None) -> Efficiencies:
    """The efficiencies as the analysis computes them, from these spectrum results and its other inputs."""
    return efficiencies_from_fits(angular=angular, spectrum=(h_r, dh), amplitudes=amplitudes, kittel=kittel,
                                  I0_A=results.rf.I0(results.power_dBm), amr=results.amr,
                                  R_Ohm=results.amr.ufloats()["R_perp_Ohm"], sample=results.sample)


def chain_efficiencies(analysis: SampleAnalysis, fit_of: FitOf, kittel: KittelFit,
                       scale_by_scatter: bool = False) -> Efficiencies:
    """The analysis's propagation from its spectrum fits to the efficiencies, each fit as ``fit_of`` gives it.

    fit_of(spectrum, fit): the fit to use instead (e.g. :func:`bounded_fit`'s);
    kittel: the Kittel fit to use; scale_by_scatter: scale dH's error by the scatter of
    the branches as the analysis does (:func:`~stfmr.analysis.characterize.combined_linewidth`).
    """
    results = _results(analysis)
    angular = [(_magnetization_angle_deg(s, fit), fit_of(s, fit))
               for s, fit in _angular_branches(analysis, results.frequency_GHz)]
    try:
        fitted = fit_angular([phi for phi, _ in angular], [b.values["V_S"] for _, b in angular],
                             [b.values["V_A"] for _, b in angular], sigma_S=[b.stderr["V_S"] for _, b in angular],
                             sigma_A=[b.stderr["V_A"] for _, b in angular])
    except FitInputError as exc:
        raise DesignBoundError(f"angular fit: {exc}") from None
    fits = [fit_of(s, fit) for s, fit in _linewidth_branches(analysis, results.frequency_GHz)]
    amplitudes, h_r, dh, _ = spectrum_inputs(fitted, angular, fits, scale_by_scatter)
    return _efficiencies(results, fitted, h_r, dh, kittel, amplitudes)


def bounded_kittel(analysis: SampleAnalysis, fit_of: FitOf) -> KittelFit | None:
    """The analysis's Kittel fit redone on the H_r errors of ``fit_of``'s fits, errors not scaled by the scatter.

    The same g choice (fitted or fixed at its value). None when the analysis took its
    Kittel fit from frequency scans (fewer than 2 field-sweep frequencies).
    """
    g = _results(analysis).g_choice
    points = [(s.frequency_GHz, fit_of(s, fit)) for s, fit in _resonance_branches(analysis)]
    if len({round(f, 6) for f, _ in points}) < 2:
        return None
    try:
        return fit_kittel([f for f, _ in points], [abs(b.values["H_r"]) for _, b in points],
                          fit_g=g.fitted, g=g.value,
                          sigma_mT=[b.stderr["H_r"] for _, b in points], scale_errors=False)
    except FitInputError as exc:
        raise DesignBoundError(f"Kittel fit: {exc}") from None


def joint_covariance(analysis: SampleAnalysis, branch_of: Callable[[Spectrum, SpectrumFit], MeasuredBranch]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The Cramer-Rao bound of (V_S0, V_A0, dH, H_r) from every spectrum at the angular frequency, jointly.

    V_S0, V_A0 (V) of the analysis's angular form; dH (mT) shared by every branch; H_r
    (mT) of the branch whose H_r the efficiencies use; each branch keeps its own H_r and
    background (and its own V_S, V_A where its angle is unknown). Evaluated at the
    analysis's values. Returns (those four values, their 4 x 4 covariance).
    """
    results = _results(analysis)
    angular = results.angular
    if angular.form != "paper" or angular.offset_fitted:
        raise DesignBoundError("the joint bound is for the paper-form angular fit with a fixed phi_0")
    offset = angular.values["phi_0_deg"]
    v_s0, v_a0 = angular.values["V_S0"], angular.values["V_A0"]
    dh = float(getattr(results.linewidth, "nominal_value", results.linewidth))
    tied = {(s.file, fit.polarity) for s, fit in _angular_branches(analysis, results.frequency_GHz)}
    pairs = _linewidth_branches(analysis, results.frequency_GHz)
    # each branch's spectrum parameters (GRADIENT_NAMES) as linear functions of the joint ones:
    # V_S0, V_A0, dH (columns 0-2), then every branch's own parameters
    parts = []  # (shared {name: (column, slope)}, own names, Fisher information in GRADIENT_NAMES)
    for s, fit in pairs:
        branch = branch_of(s, fit)
        values = dict(fit.values) | {"dH": dh}
        own = [n for n in _BRANCH_OWN if n in fit.names]
        shared = {"dH": (2, 1.0)}
        if (s.file, fit.polarity) in tied:
            c = float(angular_voltage(_magnetization_angle_deg(s, fit), {"V_S0": 1.0}, "S", "paper", offset))
            values |= {"V_S": v_s0 * c, "V_A": v_a0 * c}
            shared |= {"V_S": (0, c), "V_A": (1, c)}
        else:
            own += ["V_S", "V_A"]
        parts.append((shared, own, fisher_information(branch.field_mT, values, branch.noise_V)))
    total = 3 + sum(len(own) for _, own, _ in parts)
    info = np.zeros((total, total))
    h_r_column, first = [], 3
    for shared, own, branch_info in parts:
        t = np.zeros((len(GRADIENT_NAMES), total))
        for name, (col, slope) in shared.items():
            t[GRADIENT_NAMES.index(name), col] = slope
        for j, name in enumerate(own):
            t[GRADIENT_NAMES.index(name), first + j] = 1.0
        info += t.T @ branch_info @ t
        h_r_column.append(first + own.index("H_r"))
        first += len(own)
    k = strongest_branch([fit for _, fit in pairs])
    try:
        cov = inverse_information(info, f"the {len(pairs)} branches at {results.frequency_GHz:g} GHz",
                                  ("V_S0", "V_A0", "dH", "H_r of every branch", "backgrounds"))
    except ValueError as exc:
        raise DesignBoundError(str(exc)) from None
    keep = [0, 1, 2, h_r_column[k]]
    return np.array([v_s0, v_a0, dh, pairs[k][1].values["H_r"]]), cov[np.ix_(keep, keep)]


def joint_efficiencies(analysis: SampleAnalysis, branch_of: Callable[[Spectrum, SpectrumFit], MeasuredBranch],
                       kittel: KittelFit) -> Efficiencies:
    """The efficiencies with V_S0, V_A0, dH and H_r at their joint Cramer-Rao covariance (:func:`joint_covariance`)."""
    values, cov = joint_covariance(analysis, branch_of)
    v_s0, v_a0, dh, h_r = uncertainties.correlated_values(values.tolist(), cov)
    return _efficiencies(_results(analysis), _Amplitudes(v_s0, v_a0), h_r, dh, kittel)


@dataclass(frozen=True)
class DesignBound:
    """The reported uncertainty budgets of a run's efficiencies and those of its Cramer-Rao bounds.

    Each a dict of :class:`~stfmr.analysis.budget.UncertaintyBudget` keyed "xi_DL_E" and
    "xi_FL_Oe_E" (:data:`~stfmr.analysis.budget.BUDGET_RESULTS`). kittel_bounded: M_eff and g
    are bounded too (False: the analysis took them from frequency scans; reported errors kept).
    branches: the spectrum branches at the angular frequency.
    """

    reported: dict[str, UncertaintyBudget]
    chain: dict[str, UncertaintyBudget]
    joint: dict[str, UncertaintyBudget]
    kittel_bounded: bool
    branches: int

    def bound(self, which: str = "chain") -> dict[str, UncertaintyBudget]:
        """The budgets of bound ``which`` (:data:`BOUNDS`), or "reported"."""
        if which not in BOUNDS + ("reported",):
            raise ValueError(f"unknown bound {which!r}; use one of {BOUNDS + ('reported',)}")
        return getattr(self, which)

    def ratio(self, result: str = "xi_DL_E", which: str = "chain") -> float:
        """The reported standard error of ``result`` over its bound ``which``'s (>= about 1 if the bound holds)."""
        return self.reported[result].stderr / self.bound(which)[result].stderr

    def spectrum_stderr(self, result: str = "xi_DL_E", which: str = "chain") -> float:
        """The part of ``result``'s standard error that the spectrum inputs (:data:`SPECTRUM_INPUTS`) carry."""
        budget = self.bound(which)[result]
        return math.sqrt(max(budget.variance * sum(budget.share(n) for n in SPECTRUM_INPUTS), 0.0))


def design_bound(analysis: SampleAnalysis, noise_V: NoiseModel) -> DesignBound:
    """The Cramer-Rao bounds (module docstring) of an analysed run's efficiencies, for points of noise ``noise_V``.

    noise_V (V): the standard deviation of every point's noise, or a function of a
    spectrum giving it (one value or one per row). Raises DesignBoundError when the
    analysis computed no efficiencies, or a spectrum's points do not determine its fit.
    """
    results = _results(analysis)
    branches: dict[int, MeasuredBranch] = {}
    bounded: dict[int, SpectrumFit] = {}

    def branch_of(spectrum: Spectrum, fit: SpectrumFit) -> MeasuredBranch:
        if id(fit) not in branches:
            branches[id(fit)] = measured_branch(spectrum, fit, noise_V)
        return branches[id(fit)]

    def fit_of(spectrum: Spectrum, fit: SpectrumFit) -> SpectrumFit:
        if id(fit) not in bounded:
            bounded[id(fit)] = bounded_fit(branch_of(spectrum, fit))
        return bounded[id(fit)]

    kittel = bounded_kittel(analysis, fit_of)
    chain = chain_efficiencies(analysis, fit_of, kittel or results.kittel)
    joint = joint_efficiencies(analysis, branch_of, kittel or results.kittel)
    return DesignBound(efficiency_budgets(results.efficiencies), efficiency_budgets(chain), efficiency_budgets(joint),
                       kittel is not None, len(_linewidth_branches(analysis, results.frequency_GHz)))
