"""Physical constants and unit conversions: the one home for each.

SI inside the code; user-facing units (mT, GHz, dBm, degrees) are converted at
the edges with the helpers below.
"""

from __future__ import annotations

import math

import numpy as np

# CODATA 2022 (the values scipy.constants holds since scipy 1.15), written out rather than
# imported: scipy.constants costs a third of a second of start-up for four numbers
E_CHARGE: float = 1.602176634e-19  #: elementary charge (C), exact in the SI
HBAR: float = 6.62607015e-34 / (2.0 * math.pi)  #: reduced Planck constant (J s), exact in the SI
MU0: float = 1.25663706127e-06  #: vacuum permeability (T m / A)
MU_B: float = 9.2740100657e-24  #: Bohr magneton (J / T)
TWO_E_OVER_HBAR: float = 2.0 * E_CHARGE / HBAR  #: 2e/hbar = 3.0385e15 (V^-1 s^-1)

DEFAULT_G: float = 2.1
"""Lande g-factor (dimensionless) assumed where none is fitted or given: the usual Ni-Fe value.

The default of every ``g`` argument and setting that has one: the Kittel fit's g
when it is held fixed, the damping, frequency-scan and efficiency formulas, the
dc-bias method without a Kittel fit, a sequence step's and a FrequencyScan's
"Lande g", the gradient model's stacks and composition table, and the
simulated magnet (``MagnetParams``).
"""


def gyromagnetic_ratio(g: float) -> float:
    """Return gamma = g*mu_B/hbar in rad s^-1 T^-1 (gamma/2pi = (g/2)*27.99 GHz/T)."""
    return g * MU_B / HBAR


def dBm_to_W(power_dBm):
    """Convert an rf power from dBm to W."""
    return 1e-3 * 10.0 ** (np.asarray(power_dBm, dtype=float) / 10.0)
