"""One or two resonances in a spectrum branch, chosen by the Bayesian information criterion.

Graded films and thicker layers can show a second mode. A branch is fitted
with one S + A Lorentzian pair (plus offset and slope) and with two pairs (one
offset and slope); the two-mode model is chosen when

    Delta BIC = BIC(1 mode) - BIC(2 modes) > 10,    BIC = n*ln(chi2/n) + k*ln(n)

("very strong" evidence on the scale of Kass and Raftery, J. Am. Stat. Assoc.
90, 773, 1995), and each mode is a resolved resonance: its amplitude
sqrt(V_S^2 + V_A^2) is at least 20 standard errors, its half width spans at
least 2 field steps, it lies inside the sweep, and the two half widths differ
by at most a factor MAX_WIDTH_RATIO (3). The last condition keeps a smooth
background bump from passing as a mode: a broad bump beside a line lowers the
BIC by hundreds and its amplitude is many standard errors, but it is many
linewidths wide, while two magnon modes of one film have similar damping. The
amplitude bound of 20 (not 5) is there because real spectra carry structure
the noise model lacks (a gaussmeter's rounding, lock-in drift): a narrow
"mode" of up to 10 standard errors fits such structure. The BIC assumes independent
noise, so the field axis matters: fitted against raw gaussmeter readings
(0.1 mT steps), the rounding leaves a dispersive step that a narrow "mode" of
up to 10 standard errors could fit, with Delta BIC up to about 100. stfmr
fits against the readings smoothed against the set field
(:mod:`stfmr.analysis.field_axis`), where no such mode appears.
The data decide; no threshold is set per spectrum by hand.

The second mode starts from a one-mode fit of what the first leaves over, so no
human start is needed either. Modes are ordered by amplitude sqrt(V_S^2 + V_A^2),
largest first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from stfmr.analysis.spectrum_fit import (
    PARAM_NAMES,
    BranchFailure,
    SpectrumFit,
    SpectrumFitError,
    _prepare_branch,
    fit_spectrum,
    lmfit_result,
    spectrum_model,
)

#: Delta BIC above which the two-mode model is chosen
DELTA_BIC_THRESHOLD = 10.0
#: least amplitude of a mode, in standard errors of that amplitude
MIN_MODE_SIGNIFICANCE = 20.0
#: least half width of a mode, in field steps
MIN_MODE_WIDTH_STEPS = 2.0
#: most ratio of the two modes' half widths (a broader "mode" is a background bump)
MAX_WIDTH_RATIO = 3.0
MODE_PARAMS = ("H_r", "dH", "V_S", "V_A")
CRITERION = (f"two modes if BIC(1) - BIC(2) > {DELTA_BIC_THRESHOLD:g} and each mode has an amplitude of at least "
             f"{MIN_MODE_SIGNIFICANCE:g} standard errors, a half width of at least {MIN_MODE_WIDTH_STEPS:g} field "
             f"steps and its resonance inside the sweep, and neither is more than {MAX_WIDTH_RATIO:g} times "
             "as wide as the other")


@dataclass(frozen=True)
class Mode:
    """One resonance: H_r, dH (mT) and V_S, V_A (V), each with its standard error."""

    values: dict[str, float]
    stderr: dict[str, float]

    @property
    def amplitude_V(self) -> float:
        return math.hypot(self.values["V_S"], self.values["V_A"])

    @property
    def significance(self) -> float:
        """Amplitude in units of its standard error (from V_S, V_A and their errors)."""
        v_s, v_a, e_s, e_a = self.values["V_S"], self.values["V_A"], self.stderr["V_S"], self.stderr["V_A"]
        amp = self.amplitude_V
        err = math.hypot(v_s * e_s, v_a * e_a) / amp if amp > 0 else float("inf")
        return amp / err if err > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {n: {"value": self.values[n], "stderr": self.stderr[n]} for n in MODE_PARAMS}


@dataclass(frozen=True)
class ModeSelection:
    """The chosen number of modes of one branch, the modes, and the evidence."""

    polarity: int
    n_modes: int
    modes: list[Mode]  #: the chosen model's modes, largest amplitude first
    bic: dict[int, float]  #: BIC of the one- and two-mode fits (the latter absent if it could not be made)
    reason: str  #: why this number of modes
    background: dict[str, float] = field(default_factory=dict)  #: V_0 (V), V_1 (V/mT) of the chosen fit
    main_fit: SpectrumFit | None = None  #: the largest mode with the background, as a one-mode record

    @property
    def delta_bic(self) -> float | None:
        return self.bic[1] - self.bic[2] if 2 in self.bic else None

    def to_dict(self) -> dict[str, Any]:
        return {"polarity": self.polarity, "n_modes": self.n_modes, "modes": [m.to_dict() for m in self.modes],
                "bic": {str(k): v for k, v in self.bic.items()}, "delta_bic": self.delta_bic,
                "criterion": CRITERION, "reason": self.reason,
                "background": self.background}


def _mode(params, prefix: str) -> Mode:
    values = {n: float(params[prefix + n].value) for n in MODE_PARAMS}
    stderr = {n: float(params[prefix + n].stderr or 0.0) for n in MODE_PARAMS}
    if values["dH"] < 0:  # the lineshapes are invariant under dH -> -dH with V_A -> -V_A
        values["dH"], values["V_A"] = -values["dH"], -values["V_A"]
    return Mode(values, stderr)


def fit_modes(field_mT, voltage_V, *, slope: bool = True, derivative: bool = False,
              max_modes: int = 2) -> ModeSelection:
    """Fit one branch (mT, V) with one and two resonances and keep the one the BIC prefers.

    max_modes: 1 forces one mode, 2 lets the data choose. Raises SpectrumFitError
    when not even one resonance can be fitted.
    """
    if max_modes not in (1, 2):
        raise ValueError(f"max_modes must be 1 or 2, got {max_modes!r}")
    h, y = _prepare_branch(field_mT, voltage_V)
    polarity = -1 if h[0] < 0 else 1
    one = lmfit_result(h, y, slope=slope, derivative=derivative)
    first = _mode(one.params, "")
    one_fit = fit_spectrum(h, y, slope=slope, derivative=derivative)
    background = {"V_0": float(one.params["V_0"].value), "V_1": float(one.params["V_1"].value)}
    single = ModeSelection(polarity, 1, [first], {1: float(one.bic)}, "", background, one_fit)
    if max_modes == 1:
        return replace(single, reason="one mode requested")
    try:
        rest = lmfit_result(h, y - one.best_fit, slope=False, derivative=derivative)
    except SpectrumFitError as exc:
        return replace(single, reason=f"no second resonance in the residual of one mode ({exc})")
    model = spectrum_model(derivative, "m1_") + spectrum_model(derivative, "m2_")
    start = {f"m1_{n}": float(one.params[n].value) for n in PARAM_NAMES}
    start |= {f"m2_{n}": float(rest.params[n].value) for n in MODE_PARAMS}
    params = model.make_params(**start, m2_V_0=0.0, m2_V_1=0.0)
    params["m2_V_0"].set(vary=False)
    params["m2_V_1"].set(vary=False)
    if not slope:
        params["m1_V_1"].set(value=0.0, vary=False)
    two = model.fit(y, params, field=h)
    if not two.success or two.covar is None:
        return replace(single, reason=f"the two-mode fit did not converge: {two.message}")
    modes = sorted([_mode(two.params, "m1_"), _mode(two.params, "m2_")], key=lambda m: -m.amplitude_V)
    bic = {1: float(one.bic), 2: float(two.bic)}
    lo, hi = float(np.min(np.abs(h))), float(np.max(np.abs(h)))
    step = float(np.median(np.abs(np.diff(h))))
    delta = bic[1] - bic[2]
    kept = ModeSelection(polarity, 1, [first], bic, "", background, one_fit)
    if delta <= DELTA_BIC_THRESHOLD:
        return replace(kept, reason=f"Delta BIC = {delta:.1f} <= {DELTA_BIC_THRESHOLD:g}: one mode explains the data")
    for m in modes:
        where = f"Delta BIC = {delta:.1f}, but the resonance at {m.values['H_r']:.1f} mT"
        if not lo <= abs(m.values["H_r"]) <= hi:
            return replace(kept, reason=f"{where} is outside the sweep: one mode kept")
        if m.significance < MIN_MODE_SIGNIFICANCE:
            return replace(kept, reason=f"{where} has an amplitude of {m.significance:.1f} standard errors "
                                      f"(< {MIN_MODE_SIGNIFICANCE:g}): one mode kept")
        if m.values["dH"] < MIN_MODE_WIDTH_STEPS * step:
            return replace(kept, reason=f"{where} is {m.values['dH']:.2f} mT wide, under {MIN_MODE_WIDTH_STEPS:g} "
                                      f"field steps of {step:.2f} mT: one mode kept")
    wide, narrow = sorted(modes, key=lambda m: -m.values["dH"])
    if wide.values["dH"] > MAX_WIDTH_RATIO * narrow.values["dH"]:
        return replace(kept, reason=f"Delta BIC = {delta:.1f}, but the resonance at {wide.values['H_r']:.1f} mT is "
                                  f"{wide.values['dH']:.2f} mT wide, over {MAX_WIDTH_RATIO:g} times the "
                                  f"{narrow.values['dH']:.2f} mT of the other: a background bump, one mode kept")
    background = {"V_0": float(two.params["m1_V_0"].value), "V_1": float(two.params["m1_V_1"].value)}
    return ModeSelection(polarity, 2, modes, bic, f"Delta BIC = {delta:.1f} > {DELTA_BIC_THRESHOLD:g}: two modes",
                         background, _main_fit(two, h, polarity, derivative, one_fit.significance))


def _main_fit(result, h: np.ndarray, polarity: int, derivative: bool, significance: float) -> SpectrumFit:
    """The stronger mode of a two-mode lmfit result with the background, in the one-mode record."""
    p = result.params
    amp = {k: math.hypot(p[f"{k}V_S"].value, p[f"{k}V_A"].value) for k in ("m1_", "m2_")}
    main = max(amp, key=amp.__getitem__)
    names = [main + n for n in MODE_PARAMS] + [n for n in ("m1_V_0", "m1_V_1") if p[n].vary]
    index = [result.var_names.index(n) for n in names]
    cov = np.asarray(result.covar)[np.ix_(index, index)]
    err = np.sqrt(np.diag(cov))
    short = [n.split("_", 1)[1] for n in names]
    values = {n: float(p[main + n].value) for n in MODE_PARAMS}
    values |= {"V_0": float(p["m1_V_0"].value), "V_1": float(p["m1_V_1"].value)}
    stderr = {n: float(p[main + n].stderr or 0.0) for n in MODE_PARAMS}
    stderr |= {"V_0": float(p["m1_V_0"].stderr or 0.0), "V_1": float(p["m1_V_1"].stderr or 0.0)}
    correlation = cov / np.outer(err, err)
    if values["dH"] < 0:
        values["dH"], values["V_A"] = -values["dH"], -values["V_A"]
        flip = np.array([-1.0 if n in ("dH", "V_A") else 1.0 for n in short])
        correlation = correlation * np.outer(flip, flip)
    return SpectrumFit(polarity=polarity, values=values, stderr=stderr, names=tuple(short), correlation=correlation,
                       redchi=float(result.redchi), npoints=int(h.size), derivative=derivative,
                       significance=significance, field_range_mT=(float(h[0]), float(h[-1])))


def fit_branch_modes(field_mT, voltage_V, **kw) -> list[ModeSelection]:
    """:func:`fit_modes` on every field branch of one file (split by the field's sign)."""
    from stfmr.analysis.spectrum_fit import split_branches

    return [fit_modes(h, v, **kw) for _, h, v in split_branches(field_mT, voltage_V)]


def fit_each_branch_modes(field_mT, voltage_V, **kw) -> tuple[list[ModeSelection], list[BranchFailure]]:
    """:func:`fit_modes` on every field branch independently; a branch that cannot be fitted is kept with its reason."""
    from stfmr.analysis.spectrum_fit import split_branches

    selections, failures = [], []
    for pol, h, v in split_branches(field_mT, voltage_V):
        try:
            selections.append(fit_modes(h, v, **kw))
        except SpectrumFitError as exc:
            failures.append(BranchFailure(int(pol), str(exc), int(h.size), (float(np.min(h)), float(np.max(h)))))
    return selections, failures
