"""Stop at a target: analyse the run so far, decide whether to stop, and which marked steps to repeat.

A sequence with ``target = {xi_DL_E_rel = 0.01, max_rounds = 2}`` is analysed at
every step boundary (``stfmr analyze``'s chain on the run folder so far). When
xi_DL^E's standard error over its magnitude is at or below the target, the run
stops: no further task, state ``finished``. When every task is done and the
target is not reached, the steps marked ``repeat_until_target = true`` are
appended again, those whose inputs carry the largest share of xi_DL^E's
variance (:mod:`stfmr.analysis.budget`), at most ``max_rounds`` times. Every
repeat enters the analysis: the spectra of an angle or frequency sweep as more
points, a repeated rf calibration (I_0) or AMR sweep (Delta_R_AMR, R) pooled with
the earlier ones (:mod:`stfmr.analysis.pooling`).

The manifest's ``target`` record holds the target, every round (the steps
repeated and why) and, once the run ends, why it stopped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stfmr.analysis.fit_common import FitInputError
from stfmr.analysis.run_manifest import RunFolderError
from stfmr.procedures.sequence import Sequence

log = logging.getLogger(__name__)

#: the manifest's key for the target record
MANIFEST_KEY = "target"
#: the step kind that measures each input of xi_DL^E (analysis.efficiency.INPUT_NAMES)
STEP_OF_INPUT = {"I_0": "rf_calibration", "Delta_R_AMR": "amr", "R": "amr", "V_S0": "angle_sweep",
                 "V_A0": "angle_sweep", "H_r": "angle_sweep", "dH": "angle_sweep", "M_eff": "frequency_sweep",
                 "g": "frequency_sweep"}
#: a marked kind is repeated with the dominant one when its share is at least this part of the dominant's
COMPANION_SHARE = 0.5
REACHED = "target reached"


@dataclass
class TargetCheck:
    """xi_DL^E's relative error in the run so far, with the variance share of each step kind, or why not known."""

    rel: float | None  #: stderr / |xi_DL^E| (None: not derived yet)
    shares: dict[str, float] = field(default_factory=dict)  #: step kind -> share of xi_DL^E's variance
    #: input (analysis.efficiency.INPUT_NAMES) -> its share, for the inputs a step kind measures
    input_shares: dict[str, float] = field(default_factory=dict)
    why_not: str = ""  #: why rel is None

    def reached(self, target: float) -> bool:
        return self.rel is not None and self.rel <= target


def check_run(folder: Path) -> TargetCheck:
    """Analyse the run folder as it stands; a run that cannot give xi_DL^E yet says why (no error raised)."""
    from stfmr.analysis.budget import uncertainty_budget
    from stfmr.analysis.characterize import analyze_run
    from stfmr.analysis.run_reader import read_run

    try:
        result = analyze_run(read_run(folder))
    except (FitInputError, RunFolderError, ValueError, ArithmeticError, LookupError, OSError) as exc:
        return TargetCheck(None, why_not=f"analysis failed ({type(exc).__name__}: {exc})")
    eff = result.efficiencies
    if eff is None or eff.inputs is None:
        return TargetCheck(None, why_not="; ".join(result.missing[-2:]) or "xi_DL^E not derived yet")
    budget = uncertainty_budget(eff.inputs, "xi_DL_E")
    if budget.value == 0:
        return TargetCheck(None, why_not="xi_DL^E is zero")
    shares: dict[str, float] = {}
    inputs: dict[str, float] = {}
    for part in budget.inputs:
        kind = STEP_OF_INPUT.get(part.name)
        if kind is not None:
            shares[kind] = shares.get(kind, 0.0) + part.share
            inputs[part.name] = part.share
    return TargetCheck(budget.stderr / abs(budget.value), shares, inputs)


def choose_steps(sequence: Sequence, check: TargetCheck) -> tuple[list[dict[str, Any]], str]:
    """The marked steps to repeat (tables as a sequence file holds them, the mark removed) and why.

    The marked kind whose inputs carry the largest share of xi_DL^E's variance is repeated,
    with every other marked kind carrying at least :data:`COMPANION_SHARE` of that share.
    Without a budget (xi_DL^E not derived) every marked step is repeated.
    """
    marked_kinds = list(dict.fromkeys(raw["kind"] for _, raw in sequence.marked_steps))
    if not marked_kinds:
        return [], "no step is marked repeat_until_target"
    if check.rel is None:
        kinds, why = marked_kinds, f"no uncertainty budget ({check.why_not}): every marked step"
    else:
        ranked = sorted(marked_kinds, key=lambda k: -check.shares.get(k, 0.0))
        top = check.shares.get(ranked[0], 0.0)
        kinds = [k for k in ranked if k == ranked[0] or (top > 0 and check.shares.get(k, 0.0) >= COMPANION_SHARE * top)]
        parts = ", ".join(f"{k} {100 * check.shares.get(k, 0.0):.1f} %{_measured(k, check)}" for k in ranked)
        why = f"share of xi_DL^E's variance by marked step: {parts}"
        largest = max(check.shares, key=lambda k: check.shares[k]) if check.shares else None
        if largest is not None and largest not in marked_kinds:
            why += f" (the largest, {largest} {100 * check.shares[largest]:.1f} %, has no marked step)"
    steps = []
    for _, raw in sequence.marked_steps:
        if raw["kind"] in kinds:
            steps.append({k: v for k, v in raw.items() if k != "repeat_until_target"})
    return steps, why


def _measured(kind: str, check: TargetCheck) -> str:
    """ " (I_0)": the inputs of xi_DL^E that steps of ``kind`` measure, largest share first."""
    names = sorted((n for n, k in STEP_OF_INPUT.items() if k == kind and n in check.input_shares),
                   key=lambda n: -abs(check.input_shares[n]))
    return f" ({', '.join(names)})" if names else ""


def record(header: dict[str, Any], sequence: Sequence) -> dict[str, Any]:
    """The manifest's target record (created on first use): target, max_rounds, rounds."""
    assert sequence.target is not None
    entry = header.setdefault(MANIFEST_KEY, {})
    entry["target"] = sequence.target.xi_DL_E_rel
    entry["max_rounds"] = sequence.target.max_rounds
    entry.setdefault("rounds", [])
    return entry


__all__ = ["MANIFEST_KEY", "REACHED", "STEP_OF_INPUT", "TargetCheck", "check_run", "choose_steps", "record"]
