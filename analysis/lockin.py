"""Lock-in detection phase from a spectrum's X and Y.

An ST-FMR signal is one real voltage V(H) seen through the lock-in as
X + iY = V(H) * exp(i*theta), theta being the phase the setup adds (cables,
bias tee) minus the reference phase. Over a spectrum V changes sign and size,
so (X, Y) lie on a line through the origin at angle theta: its principal axis.
Like a lock-in's own auto-phase the angle is defined modulo 180 deg; the
setup polarity (from a reference sample) carries the overall sign.
"""

from __future__ import annotations

import math

import numpy as np


def detection_phase_deg(x_V, y_V) -> float:
    """Return the angle (deg, in (-90, 90]) of the line the (X, Y) readings lie on.

    Adding it to the lock-in's reference phase puts the whole signal in X.
    Offsets (a constant background in X or Y) are removed first.
    """
    x = np.asarray(x_V, dtype=float)
    y = np.asarray(y_V, dtype=float)
    if x.shape != y.shape or x.size < 3 or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("the detection phase needs at least 3 finite (X, Y) readings of equal length")
    x = x - x.mean()
    y = y - y.mean()
    sxx, syy, sxy = float(x @ x), float(y @ y), float(x @ y)
    if sxx + syy == 0.0:
        raise ValueError("the detection phase needs a signal: X and Y are constant")
    angle = 0.5 * math.degrees(math.atan2(2.0 * sxy, sxx - syy))
    return angle if angle > -90.0 else angle + 180.0
