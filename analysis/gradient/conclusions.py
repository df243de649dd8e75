"""The paper's conclusions that do not depend on a sign convention, computed from a composition table.

Each conclusion compares cases with each other (a sign reversal between A and B,
a ratio of A-B differences), so it holds or fails whatever sign the measured
xi_DL was reported in. The damping-like statements use xi_DL^E under the paper's
"local-average" weighting; case II is also evaluated under "macrospin".

| key    | the paper's statement                                   | computed as |
| I      | no gradient: small                                      | |I| < 0.5 * smaller |II| |
| II     | reverses under local-average, vanishes under macrospin  | signs of II-A, II-B; macrospin A-B difference / local-average one < 1e-6 |
| III    | no reversal, about 0.1 of II's A-B difference           | signs of III-A, III-B; |III-A - III-B| / |II-A - II-B| < 0.2 |
| II+III | within 10 % of II                                       | max over A, B of |II+III - II| / |II| < 0.1 |
| IV     | reverses only in xi_FL+Oe                               | xi_DL signs equal, xi_FL+Oe signs opposite |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stfmr.analysis.gradient.cases import CASE_NAMES, run_cases
from stfmr.analysis.gradient.compositions import CompositionTable

#: thresholds of the words "small", "about ten times smaller", "within 10 %", "vanishes"
I_SMALL = 0.5
III_SMALLER = 0.2
II_III_WITHIN = 0.10
VANISHES = 1e-6


@dataclass(frozen=True)
class Conclusion:
    """One convention-free conclusion: the statement, whether the model bears it out, and the numbers."""

    key: str
    statement: str
    holds: bool
    detail: str
    values: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary."""
        return {"key": self.key, "statement": self.statement, "holds": self.holds, "detail": self.detail,
                "values": self.values}


def _opposite(a: float, b: float) -> bool:
    return bool(np.sign(a) * np.sign(b) < 0)


def robust_conclusions(table: CompositionTable) -> list[Conclusion]:
    """Evaluate the paper's cases with ``table`` and return the convention-free conclusions."""
    local = {r.name: r.selected for r in run_cases(CASE_NAMES, table, weighting="local-average")}
    macro = {r.name: r.selected for r in run_cases(["II-A", "II-B"], table, weighting="macrospin")}
    dl = {k: v.xi_DL_E for k, v in local.items()}
    fl_oe = {k: v.xi_FL_Oe_E for k, v in local.items()}
    d_ii = dl["II-A"] - dl["II-B"]
    d_ii_macro = macro["II-A"].xi_DL_E - macro["II-B"].xi_DL_E
    out = []

    smaller_ii = min(abs(dl["II-A"]), abs(dl["II-B"]))
    ratio_i = abs(dl["I-A"]) / smaller_ii if smaller_ii else float("inf")
    out.append(Conclusion(
        "I", "case I (no gradient) is small",
        ratio_i < I_SMALL,
        f"|xi_DL(I)| = {abs(dl['I-A']):.3g} = {ratio_i:.2f} of the smaller |xi_DL(II)|",
        {"xi_DL_I": dl["I-A"], "ratio_to_smaller_II": ratio_i},
    ))

    reverses = _opposite(dl["II-A"], dl["II-B"])
    macro_ratio = abs(d_ii_macro) / abs(d_ii) if d_ii else float("inf")
    out.append(Conclusion(
        "II", "case II (M_s gradient) reverses between A and B under local-average and vanishes under macrospin",
        reverses and macro_ratio < VANISHES,
        f"local-average A {dl['II-A']:.3g}, B {dl['II-B']:.3g} ({'reverses' if reverses else 'no reversal'}); "
        f"macrospin A-B difference {abs(d_ii_macro):.2g} (ratio to local-average {macro_ratio:.1g})",
        {"xi_DL_A": dl["II-A"], "xi_DL_B": dl["II-B"], "A_minus_B": d_ii, "macrospin_A_minus_B": d_ii_macro},
    ))

    d_iii = dl["III-A"] - dl["III-B"]
    iii_reverses = _opposite(dl["III-A"], dl["III-B"])
    ratio_iii = abs(d_iii) / abs(d_ii) if d_ii else float("inf")
    out.append(Conclusion(
        "III", "case III (theta gradient) does not reverse; its A-B difference is about a tenth of II's",
        not iii_reverses and ratio_iii < III_SMALLER,
        f"A {dl['III-A']:.3g}, B {dl['III-B']:.3g} ({'reverses' if iii_reverses else 'no reversal'}); "
        f"A-B difference {ratio_iii:.2f} of II's",
        {"xi_DL_A": dl["III-A"], "xi_DL_B": dl["III-B"], "ratio_to_II": ratio_iii},
    ))

    rel = {d: abs(dl[f"II+III-{d}"] - dl[f"II-{d}"]) / abs(dl[f"II-{d}"]) for d in "AB"}
    worst = max(rel.values())
    out.append(Conclusion(
        "II+III", "M_s and theta gradients together stay within 10 % of II alone",
        worst < II_III_WITHIN,
        f"A differs from II by {100 * rel['A']:.1f} %, B by {100 * rel['B']:.1f} %",
        {"relative_A": rel["A"], "relative_B": rel["B"]},
    ))

    dl_rev = _opposite(dl["IV-A"], dl["IV-B"])
    fl_rev = _opposite(fl_oe["IV-A"], fl_oe["IV-B"])
    out.append(Conclusion(
        "IV", "case IV (rho gradient) reverses only in xi_FL+Oe (its self-Oersted field), not in xi_DL",
        fl_rev and not dl_rev,
        f"xi_DL A {dl['IV-A']:.3g}, B {dl['IV-B']:.3g} ({'reverses' if dl_rev else 'no reversal'}); "
        f"xi_FL+Oe A {fl_oe['IV-A']:.3g}, B {fl_oe['IV-B']:.3g} ({'reverses' if fl_rev else 'no reversal'})",
        {"xi_DL_A": dl["IV-A"], "xi_DL_B": dl["IV-B"], "xi_FL_Oe_A": fl_oe["IV-A"], "xi_FL_Oe_B": fl_oe["IV-B"]},
    ))
    return out


def format_conclusions(conclusions: list[Conclusion]) -> str:
    """Return the conclusions as text lines: holds/FAILS, statement, computed numbers."""
    lines = ["convention-free conclusions (computed from the composition table, local-average unless stated):"]
    for c in conclusions:
        lines.append(f"  {'holds' if c.holds else 'FAILS':<5}  {c.key:<6} {c.statement}")
        lines.append(f"  {'':<5}  {'':<6} {c.detail}")
    return "\n".join(lines)
