"""The figure of ``stfmr fit --plot``: every field branch with its fit, S and A parts and residuals.

Same style as the report's spectra figure (:mod:`stfmr.analysis.figures`):
data as grey dots, the fit in black, V_S*S in red, V_A*A in blue, voltages in
uV; below each branch its residuals. A branch that could not be fitted is
drawn as data with the reason in its title. matplotlib's object API (no
pyplot state).
"""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.figure import Figure

from stfmr.analysis import columns as col
from stfmr.analysis.lineshape import shape_terms
from stfmr.analysis.spectrum_fit import BranchFailure, BranchFits, branch_name


def spectrum_fit_figure(field_mT, voltage_V, result: BranchFits, title: str = "",
                        derivative: bool = False) -> Figure:
    """One column per branch (positive first): data, fit and its S and A parts above, residuals below.

    field_mT, voltage_V: the file's columns (mT, V; V/mT in derivative mode) as fitted.
    """
    h_all = np.asarray(field_mT, dtype=float)
    v_all = np.asarray(voltage_V, dtype=float)
    branches = sorted([(f.polarity, f) for f in result.fits] + [(f.polarity, f) for f in result.failures],
                      key=lambda e: -e[0])
    unit = "uV/mT" if derivative else "uV"
    fig = Figure(figsize=(5 * len(branches), 5.2))
    grid = fig.add_gridspec(2, len(branches), height_ratios=(3, 1))
    for k, (polarity, fit) in enumerate(branches):
        top = fig.add_subplot(grid[0, k])
        bottom = fig.add_subplot(grid[1, k], sharex=top)
        lo, hi = fit.field_range_mT
        keep = (np.sign(h_all) == polarity) & (h_all >= lo) & (h_all <= hi)
        order = np.argsort(h_all[keep])
        h, v = h_all[keep][order], v_all[keep][order]
        top.plot(h, v * 1e6, ".", ms=3, color="0.4", label="data")
        name = f"{branch_name(polarity)} field branch"
        if isinstance(fit, BranchFailure):
            top.set_title("\n".join(textwrap.wrap(f"{name}: not fitted: {fit.reason}", 60)), fontsize=8)
            bottom.set_visible(False)
            top.set_xlabel(col.FIELD)
            top.set_ylabel(f"V ({unit})")
            continue
        fine = np.linspace(h[0], h[-1], max(400, 4 * h.size))
        s, a = shape_terms(fine, fit.values["H_r"], fit.values["dH"], derivative)
        top.plot(fine, fit.evaluate(fine) * 1e6, "k-", lw=1, label="fit")
        top.plot(fine, fit.values["V_S"] * s * 1e6, "r-", lw=1, label="V_S S")
        top.plot(fine, fit.values["V_A"] * a * 1e6, "b-", lw=1, label="V_A A")
        top.set_title(f"{name}: H_r = {fit.values['H_r']:.4g} mT, dH = {fit.values['dH']:.3g} mT"
                      + ("\n" + "warning: " + fit.warnings[0][:70] + "..." if fit.warnings else ""), fontsize=8)
        top.set_ylabel(f"V ({unit})")
        top.legend(fontsize=7)
        top.tick_params(labelbottom=False)
        residual = (v - fit.evaluate(h)) * 1e6
        bottom.plot(h, residual, ".", ms=3, color="0.4")
        bottom.axhline(0.0, color="k", lw=0.8)
        bottom.set_xlabel(col.FIELD)
        bottom.set_ylabel(f"residual ({unit})")
        bottom.set_title(f"reduced chi-square {fit.chi2_noise:.3g} x the point-to-point noise", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
