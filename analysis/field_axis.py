"""The field axis a spectrum is fitted against: the gaussmeter's readings, smoothed against the set field.

The gaussmeter reads the true field, coil calibration errors included, but in
steps of its resolution (0.1 mT for the simulated Lake Shore 421, and for many
real probes in their 300 mT range). Read where the line is steepest, that
rounding leaves a dispersive step in the residual at every place the rounding
changes: it biases the linewidth by a few 0.1 % from spectrum to spectrum
(enough to scatter a dc-bias slope by 5 %) and can pass for a weak second mode.
The set field is smooth, but off by the coil's remanence and nonlinearity.

So, per field branch, the measured field is fitted as a cubic in the set
field and the fit is the axis: the gaussmeter's calibration with the set
field's smoothness. Over a sweep window the true relation (remanence offset,
coil constant, its slight cubic nonlinearity) is a smooth, nearly linear
function; what the cubic leaves out is the rounding. On the virtual bench this
shrinks the scatter of dc-bias linewidth slopes about fourfold.
"""

from __future__ import annotations

import numpy as np

#: degree of the smoothing polynomial: a coil's field is odd in its current, B = k*I*(1 - n*I^2) + B_rem
DEGREE = 3
#: fewest points of a branch for the smoothing; shorter branches keep the readings
MIN_POINTS = 8


def field_axis(set_field_mT, measured_field_mT) -> np.ndarray:
    """Return the field (mT) to fit against, one value per point.

    set_field_mT, measured_field_mT: per point, both branches (by the sign of
    the set field). A branch whose set field does not vary (a frequency scan),
    that is short, or whose readings are not all finite keeps its readings.
    """
    set_field = np.asarray(set_field_mT, dtype=float)
    measured = np.asarray(measured_field_mT, dtype=float)
    axis = measured.copy()
    for sign in (1.0, -1.0):
        branch = np.sign(set_field) == sign
        x, y = set_field[branch], measured[branch]
        if x.size < MIN_POINTS or np.ptp(x) == 0 or not np.all(np.isfinite(y)) or not np.all(np.isfinite(x)):
            continue
        centre, half = x.mean(), np.ptp(x) / 2.0
        u = (x - centre) / half  # well-conditioned abscissa
        smooth = np.polyval(np.polyfit(u, y, DEGREE), u)
        if not np.all(np.diff(smooth) * np.sign(np.diff(x)) > 0):
            smooth = x  # readings that do not follow the set field at all: the set field itself
        axis[branch] = smooth
    return axis
