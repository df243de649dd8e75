"""stfmr: spin-torque ferromagnetic resonance from bench to efficiencies.

Sub-packages: :mod:`stfmr.analysis` (fits, efficiencies, gradient model),
:mod:`stfmr.instruments` (roles, drivers, bench files, simulated bench),
:mod:`stfmr.procedures` (measurements, safety, sequences), :mod:`stfmr.app`
(command line and GUI).
"""

__version__ = "0.1.0"

import os as _os

# stfmr's linear algebra is small (n x 6 Jacobians, 4x4 solves): a multi-threaded BLAS
# spends 8x the CPU of one thread on a 2000-point spectrum fit (45 ms against 5.4 ms) and
# takes cores from the GUI and the instruments' threads. One thread unless the user says
# otherwise; it only takes effect when numpy is not imported yet (the stfmr command, the GUI).
for _name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    _os.environ.setdefault(_name, "1")
