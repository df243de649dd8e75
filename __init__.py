"""stfmr: spin-torque ferromagnetic resonance from bench to efficiencies.

Sub-packages: :mod:`stfmr.analysis` (fits, efficiencies, gradient model),
:mod:`stfmr.instruments` (roles, drivers, bench files, simulated bench),
:mod:`stfmr.procedures` (measurements, safety, sequences), :mod:`stfmr.app`
(command line and GUI).
"""

__version__ = "0.1.0"
