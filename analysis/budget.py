"""Uncertainty budget of the torque efficiencies: what share of a result's variance each input carries.

First-order propagation, as for the efficiencies' own errors (the same partial
derivatives, :meth:`~stfmr.analysis.efficiency.EfficiencyInputs.linearized`):
with d the derivatives of a result by its inputs and C the inputs' covariance,
the variance is d.C.d and input i's share is d_i (C d)_i / (d.C.d). The shares
add up to 1. Inputs from one fit are correlated (V_S0 and V_A0, H_r and dH,
R and Delta_R_AMR, M_eff and g): each such pair's covariance term is split
evenly between the two, so a share can be slightly negative where a correlation
lowers the variance. The sensitivity d ln(result)/d ln(input) says how a
relative error of the input becomes one of the result (xi^E goes as 1/I_0^2: -2).
The inputs' errors are the analysis's own: I_0, Delta_R_AMR and R pooled over every
repeated rf calibration and AMR sweep (:mod:`stfmr.analysis.pooling`), so a repeat
lowers its input's share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stfmr.analysis.efficiency import INPUT_NAMES, Efficiencies, EfficiencyInputs

#: the results whose budgets ``stfmr analyze`` reports, with their printed names
BUDGET_RESULTS = {"xi_DL_E": "xi_DL^E", "xi_FL_Oe_E": "xi_FL+Oe^E"}


@dataclass(frozen=True)
class InputShare:
    """One input's part of a result's variance."""

    name: str  #: an :data:`~stfmr.analysis.efficiency.INPUT_NAMES` entry
    value: float  #: the input's value (its own unit: A, Ohm, V, mT, T, A, Ohm, m)
    stderr: float  #: its standard error (0: exact, no error given)
    sensitivity: float  #: d ln(result) / d ln(input)
    share: float  #: part of the result's variance (0 for an exact input)

    def to_dict(self) -> dict[str, Any]:
        rel = self.stderr / abs(self.value) if self.value else None
        return {"input": self.name, "value": self.value, "stderr": self.stderr, "relative_stderr": rel,
                "sensitivity": self.sensitivity, "share": self.share}


@dataclass(frozen=True)
class UncertaintyBudget:
    """A result's value, its variance and every input's share of it (largest first)."""

    result: str
    value: float
    variance: float
    inputs: list[InputShare]

    @property
    def stderr(self) -> float:
        return float(np.sqrt(self.variance))

    def share(self, name: str) -> float:
        """The share of input ``name`` (0 for an exact one)."""
        return next(s.share for s in self.inputs if s.name == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: value, stderr, relative_stderr and the inputs largest share first."""
        return {"value": self.value, "stderr": self.stderr,
                "relative_stderr": self.stderr / abs(self.value) if self.value else None,
                "inputs": [s.to_dict() for s in self.inputs]}


def uncertainty_budget(inputs: EfficiencyInputs, result: str) -> UncertaintyBudget:
    """The budget of ``result`` (an :class:`~stfmr.analysis.efficiency.Efficiencies` field such as "xi_DL_E")."""
    d, cov = inputs.linearized(result)
    nominal = inputs.evaluate()[result]
    value = float(getattr(nominal, "nominal_value", nominal))
    c_d = cov @ d
    variance = float(d @ c_d)
    parts = d * c_d / variance if variance > 0 else np.zeros_like(d)
    shares = []
    for name, slope, part in zip(INPUT_NAMES, d, parts):
        x = inputs.value(name)
        stderr = float(getattr(inputs.quantities[name], "std_dev", 0.0))
        shares.append(InputShare(name, x, stderr, float(slope * x / value) if value else 0.0, float(part)))
    shares.sort(key=lambda s: -abs(s.share))
    return UncertaintyBudget(result, value, variance, shares)


def efficiency_budgets(efficiencies: Efficiencies) -> dict[str, UncertaintyBudget]:
    """The budgets of xi_DL^E and xi_FL+Oe^E (:data:`BUDGET_RESULTS`); empty without recorded inputs."""
    if efficiencies.inputs is None:
        return {}
    return {key: uncertainty_budget(efficiencies.inputs, key) for key in BUDGET_RESULTS}
