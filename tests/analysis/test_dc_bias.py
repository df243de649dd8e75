"""docs/physics.md §9 [derived]: the linewidth-vs-dc-current closed form against the exact LLG.

The spectra come from ``instruments/sim/llg.py`` with a dc damping-like torque in
the linearised equations (never from the closed form); fitting their linewidths
and inverting the closed form of ``analysis/dc_bias.py`` must give back the xi_DL^E
that made them, with the sign of stfmr's convention.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from stfmr.analysis.constants import TWO_E_OVER_HBAR
from stfmr.analysis.dc_bias import (
    DcBiasError,
    analyze_dc_bias,
    damping_slope_per_A,
    fit_linewidth_vs_current,
    xi_from_damping_slope,
)
from stfmr.analysis.resonance import resonance_field_mT
from stfmr.analysis.spectrum_fit import fit_spectrum
from stfmr.instruments.sim.llg import MagnetParams, mixing_voltage

MAGNET = MagnetParams(mu0_Meff_T=0.65, g=2.1, alpha=0.02, mu0_dH0_T=0.6e-3)
R_OHM, LENGTH_M, MS_T_A, XI = 837.0, 100e-6, 4.0e-3, 32700.0
B_PER_A = XI * R_OHM / (LENGTH_M * TWO_E_OVER_HBAR * MS_T_A)  # T/A
FREQ_GHZ = 9.0


def _fit(polarity: int, phi_deg: float, i_dc_A: float):
    b_r = resonance_field_mT(FREQ_GHZ, MAGNET.mu0_Meff_T, MAGNET.g)
    h = polarity * np.linspace(b_r - 40, b_r + 40, 801)
    v = mixing_voltage(h * 1e-3, FREQ_GHZ * 1e9, math.radians(phi_deg), 4e-3, 6.0, B_PER_A, B_PER_A, MAGNET,
                       I_dc_A=i_dc_A)
    return fit_spectrum(h, v)


@pytest.mark.parametrize("phi_deg", [45.0, 120.0, 250.0])
def test_exact_llg_linewidth_slope_gives_back_xi_with_the_convention_sign(phi_deg):
    currents = np.array([-8e-3, -4e-3, 0.0, 4e-3, 8e-3])
    points = []
    for polarity in (1, -1):
        for i in currents:
            f = _fit(polarity, phi_deg, i)
            points.append((i * 1e3, polarity, f.values["H_r"], f.stderr["H_r"] + 1e-9, f.values["dH"],
                           f.stderr["dH"] + 1e-9))
    result = analyze_dc_bias(FREQ_GHZ, phi_deg, 10.0, points, g=MAGNET.g, mu0_Meff_T=MAGNET.mu0_Meff_T,
                             R_Ohm=R_OHM, length_m=LENGTH_M, Ms_t_A=MS_T_A)
    for branch in result.branches:
        assert branch.xi_DL_E.nominal_value == pytest.approx(XI, rel=2e-5)
        # a positive current anti-damps where sin(angle of m) > 0 (sigma = -y, xi > 0)
        slope = branch.fit.values["slope_mT_per_mA"]
        assert np.sign(slope) == -np.sign(math.sin(math.radians(branch.angle_deg)))
    assert result.xi_DL_E.nominal_value == pytest.approx(XI, rel=2e-5)


def test_closed_form_and_inverse_agree():
    b_r = resonance_field_mT(FREQ_GHZ, 0.65, 2.1) * 1e-3
    slope = damping_slope_per_A(XI, R_OHM, LENGTH_M, MS_T_A, b_r, 0.65, 45.0)
    assert slope == pytest.approx(-math.sin(math.radians(45)) * B_PER_A / (b_r + 0.325))
    assert xi_from_damping_slope(slope, R_OHM, LENGTH_M, MS_T_A, b_r, 0.65, 45.0) == pytest.approx(XI)


def test_heating_curvature_does_not_bias_the_odd_slope():
    i = np.linspace(-6, 6, 9)
    dh = 6.0 + 0.011 * i + 0.004 * i**2
    fit = fit_linewidth_vs_current(i, dh, np.full(i.size, 1e-3))
    assert fit.values["slope_mT_per_mA"] == pytest.approx(0.011, rel=1e-6)
    assert fit.values["curvature_mT_per_mA2"] == pytest.approx(0.004, rel=1e-6)


def test_one_polarity_or_phi_zero_is_refused_with_the_reason():
    with pytest.raises(DcBiasError, match="both polarities"):
        fit_linewidth_vs_current([0.0, 2.0, 4.0], [6.0, 6.1, 6.2])
    with pytest.raises(DcBiasError, match="sin"):
        xi_from_damping_slope(1.0, R_OHM, LENGTH_M, MS_T_A, 0.1, 0.65, 0.0)
