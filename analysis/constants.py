"""Physical constants and unit conversions: the one home for each.

SI inside the code; user-facing units (mT, GHz, dBm, degrees) are converted at
the edges with the helpers below.
"""

from __future__ import annotations

import numpy as np
from scipy import constants as _c

E_CHARGE: float = _c.e  #: elementary charge (C)
HBAR: float = _c.hbar  #: reduced Planck constant (J s)
MU0: float = _c.mu_0  #: vacuum permeability (T m / A)
MU_B: float = _c.physical_constants["Bohr magneton"][0]  #: Bohr magneton (J / T)
TWO_E_OVER_HBAR: float = 2.0 * E_CHARGE / HBAR  #: 2e/hbar = 3.0385e15 (V^-1 s^-1)


def gyromagnetic_ratio(g: float) -> float:
    """Return gamma = g*mu_B/hbar in rad s^-1 T^-1 (gamma/2pi = (g/2)*27.99 GHz/T)."""
    return g * MU_B / HBAR


def mT_to_T(value_mT):
    """Convert mu0*H from mT to T."""
    return np.asarray(value_mT, dtype=float) * 1e-3 if np.ndim(value_mT) else float(value_mT) * 1e-3


def dBm_to_W(power_dBm):
    """Convert an rf power from dBm to W."""
    return 1e-3 * 10.0 ** (np.asarray(power_dBm, dtype=float) / 10.0)


def W_to_dBm(power_W):
    """Convert an rf power from W to dBm."""
    return 10.0 * np.log10(np.asarray(power_W, dtype=float) / 1e-3)
