"""Field-branch combination: the parts of V_S and V_A that reverse with the field, and those that do not.

Reversing the field turns the magnetization from phi to phi + 180 deg. Every
spin-torque term of the mixing voltage changes sign with it (docs/physics.md
§3: dR/dphi keeps its sign, the torques' projections flip), so at the
same |H|, frequency and angle

    V(+H) = V_torque + V_nr,    V(-H) = -V_torque + V_nr,

where V_nr collects what does not reverse: thermoelectric voltages of resonant
heating, for instance, which have the symmetric lineshape and one sign on both
branches. Hence

    V_torque = (V(+H) - V(-H)) / 2,    V_nr = (V(+H) + V(-H)) / 2,

for V_S and V_A alike (both fitted with lineshapes in |H|, as
:mod:`stfmr.analysis.spectrum_fit` does). The angular fit, which takes the
negative branch at phi + 180 deg, makes the same cancellation implicitly; this
module reports it spectrum by spectrum, beside the single-branch values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stfmr.analysis.efficiency import as_quantity
from stfmr.analysis.spectrum_fit import SpectrumFit


@dataclass(frozen=True)
class BranchCombination:
    """V_S and V_A (V) of both branches of one spectrum, and their reversing and non-reversing parts."""

    positive: SpectrumFit
    negative: SpectrumFit

    def _u(self, fit: SpectrumFit, name: str) -> Any:
        return as_quantity((fit.values[name], fit.stderr[name]), name)

    def reversing(self, name: str) -> Any:
        """The spin-torque part of ``name`` ("V_S" or "V_A"), as on the +H branch (V, with stderr)."""
        return (self._u(self.positive, name) - self._u(self.negative, name)) / 2.0

    def non_reversing(self, name: str) -> Any:
        """The part of ``name`` with one sign on both branches (V, with stderr)."""
        return (self._u(self.positive, name) + self._u(self.negative, name)) / 2.0

    def to_dict(self) -> dict[str, Any]:
        def q(x) -> dict[str, float]:
            return {"value": float(getattr(x, "nominal_value", x)), "stderr": float(getattr(x, "std_dev", 0.0))}

        out: dict[str, Any] = {}
        for name in ("V_S", "V_A"):
            out[f"{name}_plus_H"] = q(self._u(self.positive, name))
            out[f"{name}_minus_H"] = q(self._u(self.negative, name))
            out[f"{name}_reversing"] = q(self.reversing(name))
            out[f"{name}_non_reversing"] = q(self.non_reversing(name))
        return out


def combine_branches(fits: list[SpectrumFit]) -> BranchCombination | None:
    """Combine the +H and -H fits of one spectrum file; None unless both branches were fitted."""
    positive = next((f for f in fits if f.polarity == 1), None)
    negative = next((f for f in fits if f.polarity == -1), None)
    if positive is None or negative is None:
        return None
    return BranchCombination(positive, negative)
