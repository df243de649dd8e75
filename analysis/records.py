"""The records of a run's analysis: how spectra are fitted, and every result derived from them.

:class:`FitSettings` is the input of :func:`stfmr.analysis.characterize.analyze_run`,
:class:`SampleAnalysis` its output (with the JSON entry of ``stfmr analyze --json``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from stfmr.analysis.angular import AngularFit
from stfmr.analysis.branches import BranchCombination
from stfmr.analysis.budget import UncertaintyBudget, efficiency_budgets
from stfmr.analysis.calibration import AmrFit, RfCurrentCalibration
from stfmr.analysis.dc_bias import DcBiasResult, inverse_variance_mean
from stfmr.analysis.efficiency import Efficiencies
from stfmr.analysis.frequency_scan import FrequencyScanFit
from stfmr.analysis.modes import CRITERION
from stfmr.analysis.resonance import DampingFit, KittelFit
from stfmr.analysis.resonance_series import GChoice
from stfmr.analysis.run_reader import RunData
from stfmr.analysis.skip_reasons import FailedFit
from stfmr.analysis.spectrum_fit import SpectrumFit


@dataclass(frozen=True)
class FitSettings:
    """How spectra are fitted; re-analysis with other settings never touches the raw files.

    window_mT: fit only H_r +- window/2 (after a first fit over the whole sweep);
    slope: fit the background slope V_1; derivative: field-modulated lineshapes;
    modes: "one", or "auto" to let the BIC criterion of :mod:`stfmr.analysis.modes`
    fit two resonances where the data ask for it (the stronger one then enters the
    analysis, and the window is not applied to that branch).
    g: the Lande g-factor where the Kittel fit cannot determine it (``--g``); None: the
    sample record's ``g``, else :data:`~stfmr.analysis.constants.DEFAULT_G`.
    """

    window_mT: float | None = None
    slope: bool = True
    derivative: bool = False
    modes: str = "one"
    g: float | None = None


@dataclass
class SampleAnalysis:
    """Every fit of one run folder and the efficiencies derived from them."""

    run: RunData
    fits: dict[str, list[SpectrumFit]] = field(default_factory=dict)  #: file -> branch fits
    failed_fits: list[FailedFit] = field(default_factory=list)
    kittel: KittelFit | None = None
    damping: DampingFit | None = None
    g_choice: GChoice | None = None  #: the g of the Kittel and damping fits, and why
    resonance_frequencies: int = 0  #: distinct frequencies of the Kittel and damping fits
    angular: AngularFit | None = None
    angular_frequency_GHz: float | None = None
    #: the angular fit's points: (magnetization angle deg, branch fit), in its order
    angular_branches: list[tuple[float, SpectrumFit]] = field(default_factory=list)
    amr: AmrFit | None = None
    rf: RfCurrentCalibration | None = None
    rf_power_dBm: float | None = None
    efficiencies: Efficiencies | None = None
    #: the half width dH (mT) at the angular frequency that the efficiencies use: the inverse-variance
    #: mean over that many branch fits, its error scaled by linewidth_error_scale (sqrt of the
    #: reduced chi-square where the fits scatter more than their errors say, else 1)
    linewidth: Any = None
    linewidth_fits: int = 0
    linewidth_error_scale: float = 1.0
    dc_bias: list[DcBiasResult] = field(default_factory=list)  #: linewidth-vs-I_dc groups
    frequency_scans: dict[str, list[FrequencyScanFit]] = field(default_factory=dict)  #: file -> branch fits
    missing: list[str] = field(default_factory=list)  #: what could not be derived, and why
    #: results that were derived but are suspect: a parameter at a bound, a non-physical value,
    #: a reduced chi-square far from 1
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  #: how a result was derived where it differs from the usual way

    def to_dict(self) -> dict[str, Any]:
        """The sample entry of ``stfmr analyze --json``."""

        def q(value: float | None, stderr: float | None) -> dict[str, float] | None:
            # _param gives both or neither
            return None if value is None or stderr is None else {"value": float(value), "stderr": float(stderr)}

        eff = self.efficiencies.to_dict() if self.efficiencies else {}
        i0 = self.rf.I0_A(self.rf_power_dBm) if self.rf is not None and self.rf_power_dBm is not None else None
        out = {
            "name": self.run.name,
            "folder": str(self.run.folder),
            "xi_DL_E": eff.get("xi_DL_E"),
            "xi_FL_Oe_E": eff.get("xi_FL_Oe_E"),
            "xi_DL_j": eff.get("xi_DL_j"),
            "T_DL_per_E": eff.get("T_DL_per_E"),
            "T_FL_per_E": eff.get("T_FL_per_E"),
            "mu0_M_eff_T": q(*_param(self.kittel, "mu0_Meff_T")),
            "g": q(self.g_choice.value, self.g_choice.stderr) if self.g_choice and self.kittel else None,
            "alpha": q(*_param(self.damping, "alpha")),
            "dH0_mT": q(*_param(self.damping, "dH0_mT")),
            "kittel": self._kittel_record(),
            "damping": self._damping_record(),
            "I_rf_peak_mA": None if i0 is None else {"value": i0[0] * 1e3, "stderr": i0[1] * 1e3},
            "rf_calibration_pooling": {k: v.to_dict() for k, v in self.rf.pooling.items()} or None
            if self.rf is not None else None,
            "Delta_R_AMR_Ohm": q(*_param(self.amr, "delta_R_Ohm")),
            "R_perp_Ohm": q(*_param(self.amr, "R_perp_Ohm")),
            "amr_pooling": self.amr.pooling.to_dict() if self.amr is not None and self.amr.pooling else None,
            "V_S0_V": q(*_param(self.angular, "V_S0")) if self.angular else None,
            "V_A0_V": q(*_param(self.angular, "V_A0")) if self.angular else None,
            "angular_frequency_GHz": self.angular_frequency_GHz,
            "dH_at_angular_frequency_mT": self._linewidth_record(),
            "uncertainty_budget": {key: b.to_dict() for key, b in self.uncertainty_budgets().items()} or None,
            "xi_DL_E_dc_bias": self.dc_bias_xi(),
            "dc_bias": [d.to_dict(*self._dH0_and_g()) for d in self.dc_bias],
            "branch_combination": self.branch_combinations(),
            "frequency_scans": [{"file": file, "branches": [f.to_dict() for f in fits]}
                                for file, fits in self.frequency_scans.items()],
            "two_mode_fits": [{"file": file, **fit.modes} for file, fits in self.fits.items()
                              for fit in fits if fit.modes is not None],
            "mode_criterion": CRITERION,
            "spectra": len(self.run.spectra),
            "frequency_scan_files": len(self.run.frequency_scans),
            "failed_fits": [f.to_dict() for f in self.failed_fits],
            "skipped_files": [s.to_dict() for s in self.run.skipped],
            "missing": self.missing,
            "warnings": self.warnings,
            "notes": self.notes,
            "sample": self.run.sample.to_dict() if self.run.sample else None,
        }
        return out

    def uncertainty_budgets(self) -> dict[str, UncertaintyBudget]:
        """Each input's share of the variance of xi_DL^E and xi_FL+Oe^E (empty without efficiencies)."""
        return efficiency_budgets(self.efficiencies) if self.efficiencies is not None else {}

    def _linewidth_record(self) -> dict[str, Any] | None:
        """The dH the efficiencies use: value, stderr, how many branch fits it averages, the error scale."""
        if self.linewidth is None:
            return None
        return {"value": float(self.linewidth.nominal_value), "stderr": float(self.linewidth.std_dev),
                "fits": self.linewidth_fits, "error_scale": self.linewidth_error_scale}

    def _kittel_record(self) -> dict[str, Any] | None:
        """How the Kittel fit was made: its g (fitted or fixed, and why), points, reduced chi-square."""
        k = self.kittel
        if k is None:
            return None
        return {"g": self.g_choice.to_dict() if self.g_choice else None, "points": k.npoints,
                "frequencies": self.resonance_frequencies,
                "redchi": _finite(k.redchi), "error_scale": k.error_scale}

    def _damping_record(self) -> dict[str, Any] | None:
        """The damping fit's points, reduced chi-square, error scale, and whether alpha's error includes g's."""
        d = self.damping
        if d is None:
            return None
        return {"g": d.g, "points": d.npoints, "redchi": _finite(d.redchi), "error_scale": d.error_scale,
                "alpha_stderr_includes_g": d.g_stderr > 0}

    def branch_combinations(self) -> list[dict[str, Any]]:
        """Per spectrum on both branches: V_S, V_A of each and their (non-)reversing parts.

        Under a dc current the +H branch at +I_dc pairs with the -H branch at -I_dc:
        reversing both keeps the dc torque's action on the damping, so only what does
        not reverse with the field is left in the non-reversing part.
        """
        negative = {}
        for s in self.run.spectra:
            for fit in self.fits.get(s.file, []):
                if fit.polarity == -1:
                    negative[(round(s.frequency_GHz, 9), round(s.angle_deg, 6), round(s.power_dBm, 6),
                              round(-s.dc_current_mA, 6))] = (s.file, fit)
        out = []
        for s in self.run.spectra:
            positive = next((f for f in self.fits.get(s.file, []) if f.polarity == 1), None)
            key = (round(s.frequency_GHz, 9), round(s.angle_deg, 6), round(s.power_dBm, 6), round(s.dc_current_mA, 6))
            if positive is None or key not in negative:
                continue
            partner, fit = negative[key]
            out.append({"file": s.file, "minus_H_file": partner, "frequency_GHz": s.frequency_GHz,
                        "angle_deg": s.angle_deg, "power_dBm": s.power_dBm, "dc_current_mA": s.dc_current_mA,
                        **BranchCombination(positive, fit).to_dict()})
        return out

    def dc_bias_xi(self) -> dict[str, float] | None:
        """xi_DL^E (Ohm^-1 m^-1) of the dc-bias method: inverse-variance mean over its groups."""
        xis = [d.xi_DL_E for d in self.dc_bias if d.xi_DL_E is not None]
        if not xis:
            return None
        mean = inverse_variance_mean(xis)
        return {"value": float(getattr(mean, "nominal_value", mean)), "stderr": float(getattr(mean, "std_dev", 0.0))}

    def _dH0_and_g(self) -> tuple[Any, float | None]:
        if self.damping is None:
            return None, None
        return self.damping.ufloats()["dH0_mT"], self.damping.g


def _finite(x: float) -> float | None:
    """x, or None (JSON null) where it is NaN (a fit with as many parameters as points)."""
    return float(x) if math.isfinite(x) else None


def _param(fit: Any, name: str) -> tuple[float | None, float | None]:
    if fit is None or name not in fit.names:
        return None, None
    return fit.values[name], fit.stderr[name]
