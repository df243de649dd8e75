"""The report of ``stfmr analyze --report``: a tidy CSV of every fit, the JSON, and the paper's figures.

Figures use matplotlib's object API (no pyplot state), so they are safe from
any thread, and are written as PNG and PDF:

- ``spectra``: V_FMR(H) at the angular frequency with fits and their S and A parts (Fig. 3b,c);
- ``angular``: V_S and V_A against phi with the cos^2(phi)*sin(phi) fits (Fig. 3d,e);
- ``amr``: R(phi) with its fit;
- ``kittel``: H_r(f) and dH(f) with the Kittel and damping fits;
- ``budget``: each input's share of the variance of xi_DL^E and xi_FL+Oe^E;
- ``model``: measured efficiencies beside the gradient model's cases (Fig. 4h);
- ``thickness`` (several run folders differing in the Ta-B thickness): xi against t
  with the A-B difference (Fig. 5c,d).
"""

from __future__ import annotations

import csv
import json
import textwrap
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from stfmr.analysis import columns as col
from stfmr.analysis.characterize import sink_thickness_nm
from stfmr.analysis.lineshape import shape_terms
from stfmr.analysis.records import SampleAnalysis


#: the report's files whatever the data (its figures depend on the data)
FIT_TABLE = "fits.csv"
SUMMARY = "analysis.json"
BRANCH_TABLE = "branches.csv"
MODEL_FIGURES = ("model.png", "model.pdf")
ALWAYS_WRITTEN = (FIT_TABLE, SUMMARY) + MODEL_FIGURES

#: a planned file: its path -> the function that writes it there
Writer = Callable[[Path], object]


def _figure_files(fig: Figure, out: Path, name: str) -> dict[Path, Writer]:
    if fig.get_layout_engine() is None:  # a figure with its own layout (room for warnings) keeps it
        fig.tight_layout()
    return {out / f"{name}.{suffix}": partial(fig.savefig, dpi=120) for suffix in ("png", "pdf")}


def write_fit_table(results: list[SampleAnalysis], path: Path) -> None:
    """One row per fitted branch: file, sample, f, phi, P, polarity, every parameter with stderr."""
    names = ["H_r", "dH", "V_S", "V_A", "V_0", "V_1"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["sample", "file", "kind", col.FREQUENCY, col.ANGLE, col.POWER, col.I_DC, "polarity"]
                   + [c for n in names for c in (n, f"{n}_stderr")] + ["redchi"])
        for r in results:
            for s in r.run.spectra:
                for fit in r.fits.get(s.file, []):
                    w.writerow([r.run.name, s.file, s.kind, s.frequency_GHz, s.angle_deg, s.power_dBm,
                                s.dc_current_mA, fit.polarity]
                               + [x for n in names for x in (fit.values[n], fit.stderr[n])] + [fit.redchi])


def write_branch_table(results: list[SampleAnalysis], path: Path) -> bool:
    """One row per spectrum on both branches: V_S, V_A of +H and -H, reversing and non-reversing parts."""
    rows = [(r.run.name, c) for r in results for c in r.branch_combinations()]
    if not rows:
        return False
    parts = [f"{n}_{k}" for n in ("V_S", "V_A") for k in ("plus_H", "minus_H", "reversing", "non_reversing")]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["sample", "file", col.FREQUENCY, col.ANGLE, col.POWER, col.I_DC]
                   + [c for p in parts for c in (f"{p} (V)", f"{p}_stderr (V)")])
        for name, c in rows:
            w.writerow([name, c["file"], c["frequency_GHz"], c["angle_deg"], c["power_dBm"], c["dc_current_mA"]]
                       + [x for p in parts for x in (c[p]["value"], c[p]["stderr"])])
    return True


def dc_bias_figure(r: SampleAnalysis) -> Figure | None:
    """dH against I_dc of each dc-bias group and branch, with the fitted dH(0) + s*I + c*I^2."""
    if not r.dc_bias:
        return None
    fig = Figure(figsize=(5 * len(r.dc_bias), 3.6))
    for k, group in enumerate(r.dc_bias):
        ax = fig.add_subplot(1, len(r.dc_bias), k + 1)
        for branch, colour in zip(group.branches, ("C0", "C3")):
            ax.errorbar(branch.I_dc_mA, branch.dH_mT, branch.dH_stderr_mT, fmt="o", color=colour, ms=4,
                        label=f"{'+' if branch.polarity > 0 else '-'}H (phi = {branch.angle_deg:g} deg)")
            i = np.linspace(branch.I_dc_mA.min(), branch.I_dc_mA.max(), 100)
            v = branch.fit.values
            ax.plot(i, v["dH_at_0_mT"] + v["slope_mT_per_mA"] * i + v["curvature_mT_per_mA2"] * i**2, color=colour)
        xi = group.xi_DL_E
        text = f"xi_DL^E = {xi.nominal_value:.4g} +- {xi.std_dev:.2g}" if xi is not None else "xi_DL^E: needs R (AMR)"
        ax.set_title(f"{group.frequency_GHz:g} GHz: {text}", fontsize=9)
        ax.set_xlabel("I_dc (mA)")
        ax.set_ylabel("dH (mT)")
        ax.legend(fontsize=8)
    return fig


def spectra_figure(r: SampleAnalysis) -> Figure | None:
    f = r.angular_frequency_GHz
    chosen = [s for s in r.run.spectra if s.file in r.fits and (f is None or abs(s.frequency_GHz - f) < 1e-6)]
    chosen = sorted(chosen, key=lambda s: abs(s.angle_deg - 45.0))[:2]
    if not chosen:
        return None
    fig = Figure(figsize=(5 * len(chosen), 3.6))
    for k, s in enumerate(chosen):
        ax = fig.add_subplot(1, len(chosen), k + 1)
        ax.plot(s.field_mT, s.voltage_V * 1e6, ".", ms=3, color="0.4", label="data")
        for fit in r.fits[s.file]:
            branch = np.sign(s.field_mT) == fit.polarity
            h = np.sort(s.field_mT[branch])
            S, A = shape_terms(h, fit.values["H_r"], fit.values["dH"])
            ax.plot(h, fit.evaluate(h) * 1e6, "k-", lw=1)
            ax.plot(h, fit.values["V_S"] * S * 1e6, "r-", lw=1, label="V_S" if fit.polarity == 1 else None)
            ax.plot(h, fit.values["V_A"] * A * 1e6, "b-", lw=1, label="V_A" if fit.polarity == 1 else None)
        ax.set_xlabel(col.FIELD)
        ax.set_ylabel("V_FMR (uV)")
        ax.set_title(f"{r.run.name}: {s.frequency_GHz:g} GHz, {s.angle_deg:g} deg")
        ax.legend(fontsize=8)
    return fig


def angular_figure(r: SampleAnalysis) -> Figure | None:
    f = r.angular_frequency_GHz
    if r.angular is None or f is None:  # set together
        return None
    fig = Figure(figsize=(9, 3.6))
    phi_fine = np.linspace(0, 360, 361)
    for k, comp in enumerate(("S", "A")):
        ax = fig.add_subplot(1, 2, k + 1)
        for s in r.run.spectra:
            if s.file in r.fits and abs(s.frequency_GHz - f) < 1e-6:
                for fit in r.fits[s.file]:
                    phi = (s.angle_deg if fit.polarity == 1 else s.angle_deg + 180.0) % 360
                    ax.errorbar(phi, fit.values[f"V_{comp}"] * 1e6, fit.stderr[f"V_{comp}"] * 1e6, fmt="o",
                                ms=3, color="C0" if fit.polarity == 1 else "C1")
        ax.plot(phi_fine, r.angular.evaluate(phi_fine, comp) * 1e6, "k-", lw=1)
        ax.set_xlabel("phi (deg)")
        ax.set_ylabel(f"V_{comp} (uV)")
        ax.set_title(f"{r.run.name}: V_{comp}(phi) at {f:g} GHz")
    return fig


def amr_figure(r: SampleAnalysis) -> Figure | None:
    if r.amr is None or not r.run.amr:
        return None
    fig = Figure(figsize=(5, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    for a in r.run.amr:  # every sweep: the fit pools them
        ax.plot(a.angle_deg, a.resistance_Ohm, "o", ms=3)
    fine = np.linspace(min(a.angle_deg.min() for a in r.run.amr), max(a.angle_deg.max() for a in r.run.amr), 361)
    ax.plot(fine, r.amr.resistance_Ohm(fine), "k-", lw=1)
    ax.set_xlabel("phi (deg)")
    ax.set_ylabel("R (Ohm)")
    ax.set_title(f"{r.run.name}: AMR, Delta_R = {r.amr.values['delta_R_Ohm']:.3g} Ohm")
    return fig


def kittel_figure(r: SampleAnalysis) -> Figure | None:
    """|H_r|(f) and dH(f) of both branches with the Kittel and damping fits, the g used and every warning."""
    if r.kittel is None:
        return None
    warning_lines = [line for w in r.warnings for line in textwrap.wrap(f"WARNING: {w}", 150)]
    fig = Figure(figsize=(9, 3.6 + 0.13 * len(warning_lines)))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for s in r.run.spectra:
        if s.dc_current_mA != 0:
            continue
        for fit in r.fits.get(s.file, []):
            colour, label = ("C0", "+H") if fit.polarity == 1 else ("C1", "-H")
            ax1.errorbar(s.frequency_GHz, abs(fit.values["H_r"]), fit.stderr["H_r"], fmt="o", ms=3, color=colour,
                         label=label)
            ax2.errorbar(s.frequency_GHz, fit.values["dH"], fit.stderr["dH"], fmt="o", ms=3, color=colour)
    handles = dict(zip(*reversed(ax1.get_legend_handles_labels())))  # one entry a branch
    if handles:
        ax1.legend(handles.values(), handles.keys(), fontsize=8)
    freqs = [s.frequency_GHz for s in r.run.spectra]
    f = np.linspace(min(freqs) * 0.9, max(freqs) * 1.05, 200)
    ax1.plot(f, r.kittel.resonance_field_mT(f), "k-", lw=1)
    g = r.g_choice
    g_text = "" if g is None else (f", g = {g.value:.4g} +- {g.stderr:.2g}" if g.fitted else f", g = {g.value:g} fixed")
    ax1.set(xlabel="f (GHz)", ylabel="|H_r| (mT)")
    ax1.set_title(f"Kittel: mu0*M_eff = {r.kittel.values['mu0_Meff_T']:.4g} T{g_text}", fontsize=9)
    if r.damping is not None:
        ax2.plot(f, r.damping.linewidth_mT(f), "k-", lw=1)
        ax2.set_title(f"damping: alpha = {r.damping.values['alpha']:.4g} +- {r.damping.stderr['alpha']:.2g}",
                      fontsize=9)
    ax2.set(xlabel="f (GHz)", ylabel="dH (mT)")
    if warning_lines:
        fig.text(0.01, 0.01, "\n".join(warning_lines), color="C3", fontsize=7, va="bottom")
        fig.set_layout_engine("tight", rect=(0, (0.13 * len(warning_lines) + 0.1) / fig.get_figheight(), 1, 1))
    return fig


def budget_figure(r: SampleAnalysis) -> Figure | None:
    """Each input's share (%) of the variance of xi_DL^E and xi_FL+Oe^E, as horizontal bars."""
    from stfmr.analysis.budget import BUDGET_RESULTS

    budgets = r.uncertainty_budgets()
    if not budgets:
        return None
    fig = Figure(figsize=(4.5 * len(budgets), 3.6))
    for k, (key, b) in enumerate(budgets.items()):
        ax = fig.add_subplot(1, len(budgets), k + 1)
        shown = [x for x in b.inputs if x.stderr > 0 and x.sensitivity != 0][::-1]
        ax.barh([x.name for x in shown], [100 * x.share for x in shown], color="C0")
        for y, x in enumerate(shown):
            ax.text(max(100 * x.share, 0) + 1, y, f"{100 * x.share:.1f} %", va="center", fontsize=8)
        ax.set_xlim(min(0.0, min((100 * x.share for x in shown), default=0.0)), 115)
        ax.set_xlabel("share of the variance (%)")
        rel = b.stderr / abs(b.value) * 100 if b.value else float("nan")
        ax.set_title(f"{r.run.name}: {BUDGET_RESULTS[key]} +- {rel:.2g} %", fontsize=9)
    return fig


def model_figure(results: list[SampleAnalysis], out: Path) -> dict[Path, Writer]:
    """The gradient model's cases beside the measured efficiencies (Fig. 4h), as files to write."""
    from stfmr.analysis.gradient.cases import CASE_NAMES, run_cases
    from stfmr.analysis.gradient.compare import MeasuredDataError, measured_from_dict
    from stfmr.analysis.gradient.compositions import load_compositions
    from stfmr.analysis.gradient.plot import plot_model

    samples = [r.to_dict() for r in results if r.efficiencies is not None]
    try:
        measured = measured_from_dict({"samples": samples}) if samples else []
    except MeasuredDataError:
        measured = []  # sample names that say neither A, B nor reference: the model alone
    cases = run_cases(list(CASE_NAMES), load_compositions())
    # stfmr's own analysis measures in stfmr's sign convention (sigma = -y, Pt/Py positive)
    title = "measured: this analysis, measured_sign_convention = stfmr" if measured else None
    return {out / name: partial(plot_model, cases, measured=measured, title=title) for name in MODEL_FIGURES}


def thickness_figure(results: list[SampleAnalysis]) -> Figure | None:
    """xi_DL^E and xi_FL+Oe^E against the Ta-B thickness, type A, type B and A-B (Fig. 5c,d)."""
    rows = []
    for r in results:
        t = sink_thickness_nm(r.run.sample.stack) if r.run.sample else None
        if t is not None and r.efficiencies is not None:
            rows.append((r.run.name, t, r.efficiencies))
    if len({t for _, t, _ in rows}) < 2:
        return None
    fig = Figure(figsize=(9, 3.6))
    for k, (key, label) in enumerate((("xi_DL_E", "xi_DL^E"), ("xi_FL_Oe_E", "xi_FL+Oe^E"))):
        ax = fig.add_subplot(1, 2, k + 1)
        groups: dict[str, list[tuple[float, float, float]]] = {}
        for name, t, eff in rows:
            kind = "A" if "A" in name.split("-")[-1] else "B" if "B" in name.split("-")[-1] else name
            groups.setdefault(kind, []).append((t, eff.value(key), eff.stderr(key)))
        for kind, pts in sorted(groups.items()):
            pts.sort()
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts], fmt="o-", ms=4,
                        label=f"type {kind}")
        if "A" in groups and "B" in groups:
            a, b = dict((p[0], p) for p in groups["A"]), dict((p[0], p) for p in groups["B"])
            ts = sorted(set(a) & set(b))
            ax.errorbar(ts, [a[t][1] - b[t][1] for t in ts], [np.hypot(a[t][2], b[t][2]) for t in ts],
                        fmt="s--", ms=4, color="k", label="A - B")
        ax.axhline(0, color="0.7", lw=0.8)
        ax.set(xlabel="Ta-B thickness (nm)", ylabel=f"{label} (Ohm^-1 m^-1)")
        ax.legend(fontsize=8)
    return fig


def _unique_tags(results: list[SampleAnalysis]) -> list[str]:
    """File-name tags of the runs: the run's name, with _2, _3... for names that repeat."""
    tags: list[str] = []
    for r in results:
        base = r.run.name.replace("/", "_").replace("\\", "_")
        tag, k = base, 1
        while tag in tags:
            k += 1
            tag = f"{base}_{k}"
        tags.append(tag)
    return tags


def plan_report(results: list[SampleAnalysis], out: Path, summary: dict[str, Any]) -> dict[Path, Writer]:
    """Every file the report writes, in order, with the function that writes it; nothing is written yet."""
    plan: dict[Path, Writer] = {
        out / FIT_TABLE: partial(write_fit_table, results),
        out / SUMMARY: lambda path: path.write_text(json.dumps(summary, indent=1), encoding="utf-8"),
    }
    if any(r.branch_combinations() for r in results):
        plan[out / BRANCH_TABLE] = partial(write_branch_table, results)
    for r, tag in zip(results, _unique_tags(results)):
        for name, fig in (("spectra", spectra_figure(r)), ("angular", angular_figure(r)),
                          ("amr", amr_figure(r)), ("kittel", kittel_figure(r)), ("dc_bias", dc_bias_figure(r)),
                          ("budget", budget_figure(r))):
            if fig is not None:
                plan.update(_figure_files(fig, out, f"{name}_{tag}"))
    plan.update(model_figure(results, out))
    fig = thickness_figure(results)
    if fig is not None:
        plan.update(_figure_files(fig, out, "thickness"))
    return plan


def write_planned(plan: dict[Path, Writer]) -> list[Path]:
    """Write the files of :func:`plan_report` (creating their folder); return their paths."""
    for path, write in plan.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
    return list(plan)
