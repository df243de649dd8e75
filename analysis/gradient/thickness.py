"""The A-B difference against the spin-sink thickness (the paper's Fig. 5): model curve and measured points.

The model of each thickness is the composition table's type-A and type-B
sample (:func:`cases.sample_stack`) with the sink at that thickness (0: no
sink); all thicknesses are solved in one batch (:mod:`batch`). Measured points
come from the files ``stfmr model --measured`` reads; a sample's sink
thickness is its ``sink_thickness_nm`` key, else the Ta-B thickness in its
sample record's stack string (``"sample": {"stack": "Ta-B(3)/Ni-Fe(5)/MgO"}``,
as ``stfmr analyze --json`` writes it, the same source as analyze's
``thickness`` figure). Measured values are shown as measured (stfmr's sign
convention). Efficiencies in Ohm^-1 m^-1, thicknesses in nm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stfmr.analysis.gradient.batch import evaluate_many
from stfmr.analysis.gradient.cases import sample_stack
from stfmr.analysis.gradient.compare import (
    QUANTITIES,
    MeasuredDataError,
    MeasuredSample,
    measured_from_dict,
    read_measured_file,
)
from stfmr.analysis.gradient.compositions import CompositionTable

#: sample kinds of the series: the A-B difference needs both
KINDS: tuple[str, ...] = ("A", "B", "reference")


def parse_thicknesses(spec: str) -> list[float]:
    """Return the sorted distinct thicknesses (nm) of ``spec``, e.g. "1,2,3,4,6,8"; 0 means no sink."""
    values = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        try:
            t = float(item)
        except ValueError:
            raise MeasuredDataError(f"--thickness-series: {item!r} is not a number (nm); use e.g. 1,2,3,4,6,8") from None
        if not math.isfinite(t) or t < 0:
            raise MeasuredDataError(f"--thickness-series: thickness must be 0 (no sink) or positive, got {item}")
        values.append(t)
    if not values:
        raise MeasuredDataError("--thickness-series: no thickness given; use e.g. 1,2,3,4,6,8 (nm)")
    return sorted(set(values))


@dataclass(frozen=True)
class MeasuredPoint:
    """A measured sample and its sink thickness (nm)."""

    sample: MeasuredSample
    thickness_nm: float


def points_from_dict(data: dict[str, Any], *, source: str = "measured values",
                     kinds: dict[str, str] | None = None) -> list[MeasuredPoint]:
    """Return the measured samples of ``data`` with their sink thicknesses (see the module docstring)."""
    from stfmr.analysis.characterize import sink_thickness_nm  # analyze's reading of the stack string (heavy import)

    samples = measured_from_dict(data, source=source, kinds=kinds)
    entries: list[dict[str, Any]] = data.get("samples", data.get("sample")) or []  # checked above: one per sample
    points = []
    for sample, entry in zip(samples, entries):
        t = entry.get("sink_thickness_nm")
        if t is None:
            record = entry.get("sample")
            stack = record.get("stack") if isinstance(record, dict) else None
            t = sink_thickness_nm(stack) if isinstance(stack, str) else None
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
            raise MeasuredDataError(
                f"{source}: sample {sample.name!r}: no sink thickness; add sink_thickness_nm = ... (nm), "
                "or a sample record whose stack names it, e.g. 'Ta-B(3)/Ni-Fe(5)/MgO'"
            )
        points.append(MeasuredPoint(sample, float(t)))
    return points


def load_points(path: str | Path, *, kinds: dict[str, str] | None = None) -> list[MeasuredPoint]:
    """Read measured samples with their sink thicknesses from a ``--measured`` file."""
    return points_from_dict(read_measured_file(path), source=str(path), kinds=kinds)


def model_at(table: CompositionTable, thicknesses: Sequence[float], weighting: str) -> dict[float, dict[str, dict]]:
    """Return thickness -> kind -> quantity -> model value, plus "A-B", all in one batch."""
    ts = sorted(set(thicknesses))
    stacks = [sample_stack(k, table.with_parameters(sink_thickness_nm=t)) for t in ts for k in KINDS]
    batch = evaluate_many(stacks, weighting=weighting)
    cols = {q: batch.column(q, weighting).reshape(len(ts), len(KINDS)) for q in QUANTITIES}
    out = {}
    for i, t in enumerate(ts):
        row = {k: {q: float(cols[q][i, j]) for q in QUANTITIES} for j, k in enumerate(KINDS)}
        row["A-B"] = {q: row["A"][q] - row["B"][q] for q in QUANTITIES}
        out[t] = row
    return out


def _measured_cell(point: MeasuredPoint | None, q: str) -> tuple[float, float] | None:
    return None if point is None else point.sample.value(q)


def thickness_series(table: CompositionTable, thicknesses: Sequence[float], measured: Sequence[MeasuredPoint] = (),
                     *, weighting: str = "local-average") -> dict[str, Any]:
    """Return the series: the model curve at ``thicknesses`` and every measured thickness beside its model.

    ``{"weighting", "sink", "model": [{"thickness_nm", "A", "B", "reference", "A-B"}],
    "measured": [{"thickness_nm", "A", "B", "reference", "A-B"}]}``; a model
    entry maps quantity -> value, a measured entry maps quantity ->
    {"measured", "stderr", "model"} (None where not measured); the measured
    A-B exists where both A and B were measured at that thickness (stderr
    added in quadrature). Two samples of one kind at one thickness are refused.
    """
    by_t: dict[float, dict[str, MeasuredPoint]] = {}
    for p in measured:
        kinds = by_t.setdefault(p.thickness_nm, {})
        if p.sample.kind in kinds:
            raise MeasuredDataError(f"samples {kinds[p.sample.kind].sample.name!r} and {p.sample.name!r}: "
                                    f"both type {p.sample.kind} at {p.thickness_nm:g} nm; give one per thickness")
        kinds[p.sample.kind] = p
    model = model_at(table, list(thicknesses) + list(by_t), weighting)
    rows = []
    for t in sorted(by_t):
        pts = by_t[t]
        row: dict[str, Any] = {"thickness_nm": t}
        for kind in KINDS:
            if kind in pts:
                row[kind] = {q: _cell(_measured_cell(pts[kind], q), model[t][kind][q]) for q in QUANTITIES}
        if "A" in pts and "B" in pts:
            diff = {}
            for q in QUANTITIES:
                a, b = _measured_cell(pts["A"], q), _measured_cell(pts["B"], q)
                both = None if a is None or b is None else (a[0] - b[0], math.hypot(a[1], b[1]))
                diff[q] = _cell(both, model[t]["A-B"][q])
            row["A-B"] = diff
        rows.append(row)
    return {
        "weighting": weighting,
        "sink": table.sink["name"],
        "model": [{"thickness_nm": t, **model[t]} for t in sorted(set(thicknesses))],
        "measured": rows,
    }


def _cell(measured: tuple[float, float] | None, model: float) -> dict[str, float | None]:
    return {"measured": None if measured is None else measured[0],
            "stderr": None if measured is None else measured[1], "model": model}


_SHORT = {"xi_DL_E": "xi_DL", "xi_FL_Oe_E": "xi_FL+Oe"}


def format_series(series: dict[str, Any]) -> str:
    """Return the series as text tables (model curve, then measured beside model)."""
    lines = [f"thickness series of {series['sink']} ({series['weighting']}), xi^E in Ohm^-1 m^-1:",
             f"{'t (nm)':>7} " + " ".join(f"{_SHORT[q] + ' ' + k:>14}" for q in QUANTITIES for k in ("A", "B", "A-B"))]
    for row in series["model"]:
        lines.append(f"{row['thickness_nm']:7.3g} "
                     + " ".join(f"{row[k][q]:14.4g}" for q in QUANTITIES for k in ("A", "B", "A-B")))
    if series["measured"]:
        lines += ["", "measured against the model at each measured thickness:",
                  f"{'t (nm)':>7} {'kind':<10} {'quantity':<11} {'measured':>12} {'stderr':>9} {'model':>12}"]
        for row in series["measured"]:
            for kind in (*KINDS, "A-B"):
                for q in QUANTITIES:
                    cell = row.get(kind, {}).get(q)
                    if cell is None or cell["measured"] is None:
                        continue
                    lines.append(f"{row['thickness_nm']:7.3g} {kind:<10} {q:<11} {cell['measured']:12.4g} "
                                 f"{cell['stderr']:9.2g} {cell['model']:12.4g}")
    return "\n".join(lines)


def plot_series(series: dict[str, Any], out: str | Path) -> Path:
    """Write xi_DL^E and xi_FL+Oe^E against the sink thickness: model lines (A, B, A-B), measured points."""
    from matplotlib.figure import Figure  # no pyplot: leaves any GUI backend alone

    fig = Figure(figsize=(10, 4), layout="constrained")
    styles = {"A": ("tab:red", "o"), "B": ("tab:blue", "s"), "A-B": ("k", "D")}
    for ax, q, label in zip(fig.subplots(1, 2), QUANTITIES, (r"$\xi_{DL}^E$", r"$\xi_{FL+Oe}^E$")):
        ts = np.array([r["thickness_nm"] for r in series["model"]])
        for kind, (color, marker) in styles.items():
            ax.plot(ts, [r[kind][q] for r in series["model"]], "-" if kind != "A-B" else "--", color=color,
                    label=f"model {kind}")
            pts = [(r["thickness_nm"], r[kind][q]) for r in series["measured"]
                   if kind in r and r[kind][q]["measured"] is not None]
            if pts:
                ax.errorbar([p[0] for p in pts], [p[1]["measured"] for p in pts], [p[1]["stderr"] for p in pts],
                            fmt=marker, color=color, mfc="white", label=f"measured {kind}")
        ax.axhline(0, color="0.6", lw=0.5)
        ax.set_xlabel(f"{series['sink']} thickness (nm)")
        ax.set_ylabel(label + r" ($\Omega^{-1}$ m$^{-1}$)")
        ax.set_title(f"{label} ({series['weighting']})")
        ax.legend(fontsize="small")
    out = Path(out)
    fig.savefig(out, dpi=120)
    return out
