"""Synthetic ST-FMR spectra for the spectrum-fit tests, from the exact LLG linear response.

The voltage comes from ``stfmr.instruments.sim.llg.mixing_voltage`` (the 2x2
susceptibility), never from the Lorentzian closed forms the fit uses. The
"truth" of the lineshape parameters is the least-squares fit of the noiseless
spectrum (the LLG response is Lorentzian to high accuracy; the tests check
how closely).

Tests import it as ``from support import spectra`` (``tests`` is on pytest's pythonpath).
"""

from __future__ import annotations

import numpy as np

from stfmr.analysis.constants import gyromagnetic_ratio
from stfmr.instruments.sim.llg import MagnetParams, mixing_voltage

#: a Ni-Fe-like film at 10 GHz: H_r about 114 mT, dH about 4.2 mT
MAGNET = MagnetParams(mu0_Meff_T=0.90, g=2.1, alpha=0.010, mu0_dH0_T=0.8e-3)
FREQ_HZ = 10e9


def llg_spectrum(
    field_mT,
    *,
    b_dl_per_A: float = 5e-3,
    b_fl_per_A: float = 5e-3,
    phi_deg: float = 45.0,
    I0_A: float = 10e-3,
    delta_R_Ohm: float = 1.0,
    magnet: MagnetParams = MAGNET,
    freq_Hz: float = FREQ_HZ,
) -> np.ndarray:
    """Return the exact mixing voltage (V) at the fields (mT), either branch."""
    return mixing_voltage(
        np.asarray(field_mT, dtype=float) * 1e-3,
        freq_Hz,
        np.radians(phi_deg),
        I0_A,
        delta_R_Ohm,
        b_dl_per_A,
        b_fl_per_A,
        magnet,
    )


def kittel_field_mT(magnet: MagnetParams = MAGNET, freq_Hz: float = FREQ_HZ) -> float:
    """Return the in-plane Kittel resonance field (mT), an independent check of the fitted H_r."""
    b = 2.0 * np.pi * freq_Hz / gyromagnetic_ratio(magnet.g)
    meff = magnet.mu0_Meff_T
    return 1e3 * 0.5 * (-meff + np.sqrt(meff * meff + 4.0 * b * b))


def linewidth_mT(magnet: MagnetParams = MAGNET, freq_Hz: float = FREQ_HZ) -> float:
    """Return mu0*dH = mu0*dH0 + alpha*omega/gamma (mT)."""
    return 1e3 * (magnet.mu0_dH0_T + magnet.alpha * 2.0 * np.pi * freq_Hz / gyromagnetic_ratio(magnet.g))


def noisy(voltage_V, snr: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Return (voltage + Gaussian noise, sigma) with sigma = peak |voltage| / snr."""
    v = np.asarray(voltage_V, dtype=float)
    sigma = float(np.max(np.abs(v))) / snr
    return v + rng.normal(0.0, sigma, v.size), sigma


#: the fit core's scaled field axis (401 points) for the core-level tests
CORE_AXIS = np.linspace(0.08, 1.0, 401)


def core_spectrum(polarity: int, derivative: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(u, y) in the fit core's scaled units: the model lineshape on ``polarity * CORE_AXIS`` with noise 0.05.

    H_r 0.5, dH 0.03, V_S 1.2, V_A -0.7, background 0.2 + 0.4 u; for tests of the core's
    algebra, which needs the model itself (not the LLG response above).
    """
    from stfmr.analysis import lineshape

    u = polarity * CORE_AXIS
    y = lineshape.spectrum_voltage(u, polarity * 0.5, 0.03, 1.2, -0.7, 0.2, 0.4, derivative)
    return u, y + np.random.default_rng(seed).normal(0.0, 0.05, u.size)
