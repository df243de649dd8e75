"""The paper's model cases I-IV (A and B) and M_s+theta, built from a composition table.

| case   | varies across the sublayers | the rest                 |
| I      | nothing                     | averages of the table    |
| II     | M_s                         | average theta, rho       |
| III    | theta_SH                    | average M_s, rho         |
| IV     | rho                         | average M_s, theta       |
| II+III | M_s and theta_SH            | average rho              |

Averages are plain means over the sublayers (they are equally thick). "A" puts
the table's first composition next to the sink, "B" reverses the sublayers.
Sample stacks for comparison with measurements (:func:`sample_stack`) vary
M_s, theta and rho together; the reference is the table's uniform reference
composition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from statistics import fmean

from stfmr.analysis.gradient.compositions import CompositionTable
from stfmr.analysis.gradient.stack import Layer, Stack, StackError
from stfmr.analysis.gradient.torques import ModelResult, evaluate

#: case -> the properties that vary across the sublayers
CASES: dict[str, tuple[str, ...]] = {
    "I": (),
    "II": ("Ms",),
    "III": ("theta",),
    "IV": ("rho",),
    "II+III": ("Ms", "theta"),
}
CASE_NAMES: tuple[str, ...] = tuple(f"{c}-{d}" for c in CASES for d in ("A", "B"))
SAMPLE_KINDS: tuple[str, ...] = ("A", "B", "reference")


class CaseError(StackError):
    """An unknown case name or sample kind."""


def parse_cases(spec: str) -> list[str]:
    """Return the case names of ``spec``: "all", or comma-separated names like "II-A,IV-B"."""
    if spec.strip().lower() == "all":
        return list(CASE_NAMES)
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise CaseError("no case given; use e.g. II-A, IV-B or all")
    for name in names:
        if name not in CASE_NAMES:
            raise CaseError(f"unknown case {name!r}; use one of {', '.join(CASE_NAMES)} or all")
    return names


def _sink_layer(table: CompositionTable) -> Layer:
    s = table.sink
    return Layer(
        name=s["name"],
        role="sink",
        thickness_nm=s["thickness_nm"],
        rho_uOhm_cm=s["rho_uOhm_cm"],
        theta_SH=s["theta_SH"],
        l_sf_nm=s["l_sf_nm"],
    )


def _stack(table: CompositionTable, rows: Sequence[tuple[str, float, float, float]], name: str) -> Stack:
    """Sink plus ferromagnetic sublayers; rows are (name, mu0Ms_T, theta, rho)."""
    layers = [_sink_layer(table)] if table.sink["thickness_nm"] > 0 else []
    for label, ms, theta, rho in rows:
        layers.append(
            Layer(
                name=label,
                role="ferromagnet",
                thickness_nm=table.sublayer_nm,
                rho_uOhm_cm=rho,
                theta_SH=theta,
                l_sf_nm=table.l_sf_nm,
                l_J_nm=table.l_J_nm,
                l_phi_nm=table.l_phi_nm,
                mu0Ms_T=ms,
            )
        )
    return Stack(
        layers=tuple(layers),
        slice_nm=table.slice_nm,
        lambda_J_sign=table.lambda_J_sign,
        g=table.g,
        name=name,
    )


def _sublayers(table: CompositionTable, direction: str, vary: Iterable[str]) -> list[tuple[str, float, float, float]]:
    vary = set(vary)
    comps = list(table.compositions)
    if direction == "B":
        comps = comps[::-1]
    elif direction != "A":
        raise CaseError(f"unknown gradient direction {direction!r}; use A or B")
    ms_avg = fmean(c.mu0Ms_T for c in comps)
    theta_avg = fmean(c.theta_SH for c in comps)
    rho_avg = fmean(c.rho_uOhm_cm for c in comps)
    return [
        (
            c.name if vary else f"average {i + 1}",
            c.mu0Ms_T if "Ms" in vary else ms_avg,
            c.theta_SH if "theta" in vary else theta_avg,
            c.rho_uOhm_cm if "rho" in vary else rho_avg,
        )
        for i, c in enumerate(comps)
    ]


def case_stack(name: str, table: CompositionTable) -> Stack:
    """Return the stack of case ``name`` (e.g. "II-A")."""
    if name not in CASE_NAMES:
        raise CaseError(f"unknown case {name!r}; use one of {', '.join(CASE_NAMES)}")
    case, direction = name.rsplit("-", 1)
    return _stack(table, _sublayers(table, direction, CASES[case]), name)


def sample_stack(kind: str, table: CompositionTable) -> Stack:
    """Return the model of a measured sample: "A", "B" (all gradients) or "reference" (uniform)."""
    if kind == "reference":
        c = table.find(table.reference)
        n = len(table.compositions)
        rows = [(c.name, c.mu0Ms_T, c.theta_SH, c.rho_uOhm_cm)] * n
        return _stack(table, rows, "reference")
    if kind not in ("A", "B"):
        raise CaseError(f"unknown sample kind {kind!r}; use one of {', '.join(SAMPLE_KINDS)}")
    return _stack(table, _sublayers(table, kind, ("Ms", "theta", "rho")), f"type {kind}")


def run_cases(names: Iterable[str], table: CompositionTable, *, weighting: str = "local-average") -> list[ModelResult]:
    """Evaluate the named cases under ``weighting``."""
    return [evaluate(case_stack(n, table), weighting=weighting, name=n) for n in names]
