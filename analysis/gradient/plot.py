"""A figure in the spirit of the paper's Fig. 4: profiles of one case and all cases' efficiencies.

Panels: (a) spin accumulation mu_y/eE, mu_z/eE (nm) through the ferromagnet;
(b) local torques tau_DL/E, tau_FL/E (rad s^-1 per V m^-1); (c) xi_DL^E and
xi_FL+Oe^E (Ohm^-1 m^-1) of every result as bars, measured samples as points
with error bars. Uses matplotlib's Figure directly (no pyplot, no display needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stfmr.analysis.gradient.compare import MeasuredSample
from stfmr.analysis.gradient.torques import ModelResult


def plot_model(
    results: Sequence[ModelResult],
    out: str | Path,
    *,
    profile: str | None = None,
    measured: Sequence[MeasuredSample] = (),
    title: str | None = None,
) -> Path:
    """Write the figure to ``out`` (format from its suffix) and return the path.

    ``profile`` names the result whose profiles are drawn (default: the first
    graded case, else the first result).
    """
    from matplotlib.figure import Figure  # no pyplot: leaves any GUI backend alone

    if not results:
        raise ValueError("nothing to plot: no model results")
    by_name = {r.name: r for r in results}
    if profile is None:
        profile = next((r.name for r in results if r.name.startswith("II-")), results[0].name)
    if profile not in by_name:
        raise ValueError(f"--profile: no result named {profile!r}; have {', '.join(by_name)}")
    shown = by_name[profile]

    fig = Figure(figsize=(13, 4), layout="constrained")
    axes = fig.subplots(1, 3)
    ax = axes[0]
    ax.plot(shown.z_nm, shown.mu_y_per_eE_nm, "o-", label=r"$\mu_y/eE$")
    ax.plot(shown.z_nm, shown.mu_z_per_eE_nm, "s-", label=r"$\mu_z/eE$")
    ax.set_xlabel("z (nm)")
    ax.set_ylabel(r"$\mu/eE$ (nm)")
    ax.set_title(f"{shown.name}: spin accumulation")
    ax.axhline(0, color="0.6", lw=0.5)
    ax.legend()

    ax = axes[1]
    ax.plot(shown.z_nm, shown.tau_DL_per_E, "o-", color="tab:red", label=r"$\tau_{DL}/E$")
    ax.plot(shown.z_nm, shown.tau_FL_per_E, "s-", color="k", label=r"$\tau_{FL}/E$")
    ax.set_xlabel("z (nm)")
    ax.set_ylabel(r"$\tau/E$ (rad s$^{-1}$ per V m$^{-1}$)")
    ax.set_title(f"{shown.name}: local torques ({shown.weighting})")
    ax.axhline(0, color="0.6", lw=0.5)
    ax.legend()

    ax = axes[2]
    names = [r.name for r in results] + [s.name for s in measured]
    x = np.arange(len(names))
    width = 0.38
    dl = [r.xi_DL_E for r in results]
    fl = [r.selected.xi_FL_Oe_E for r in results]
    ax.bar(x[: len(results)] - width / 2, dl, width, color="tab:red", label=r"$\xi_{DL}^E$ model")
    ax.bar(x[: len(results)] + width / 2, fl, width, color="k", label=r"$\xi_{FL+Oe}^E$ model")
    for i, s in enumerate(measured, start=len(results)):
        if s.xi_DL_E is not None:
            ax.errorbar(i - width / 2, s.xi_DL_E, yerr=s.xi_DL_E_stderr, fmt="o", color="tab:red", mfc="white")
        if s.xi_FL_Oe_E is not None:
            ax.errorbar(i + width / 2, s.xi_FL_Oe_E, yerr=s.xi_FL_Oe_E_stderr, fmt="s", color="k", mfc="white")
    ax.set_xticks(x, names, rotation=45, ha="right")
    ax.set_ylabel(r"$\xi^E$ ($\Omega^{-1}$ m$^{-1}$)")
    ax.set_title("efficiencies" + (" (open: measured)" if measured else ""))
    ax.axhline(0, color="0.6", lw=0.5)
    ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    out = Path(out)
    fig.savefig(out, dpi=120)
    return out
