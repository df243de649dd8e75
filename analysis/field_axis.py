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

The points may come in any order (a non-uniform or adaptive sweep records its
rows as measured): the smoothing depends only on the pairs (set, measured), and
:func:`sweep_order` gives the order in which a branch's points are fitted.
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
        order = np.argsort(x, kind="stable")
        rising = np.diff(x[order]) > 0  # repeated set fields have one smoothed value
        if not np.all(np.diff(smooth[order])[rising] > 0):
            smooth = x  # readings that do not follow the set field at all: the set field itself
        axis[branch] = smooth
    return axis


def sweep_order(set_field_mT) -> np.ndarray:
    """Return the indices that put each field branch in order of its set field (identity for monotonic sweeps).

    Branches (by the sign of the set field) keep their order of first
    appearance; a branch already swept monotonically (up or down) keeps its
    order; any other is sorted by increasing set field. A spectrum fit wants a
    monotonic branch; the rows of the file stay in the order they were measured.
    """
    set_field = np.asarray(set_field_mT, dtype=float)
    index = np.arange(set_field.size)
    signs = np.sign(set_field)
    parts = []
    for sign in dict.fromkeys(signs.tolist()):
        part = index[signs == sign]
        step = np.diff(set_field[part])
        if not (np.all(step > 0) or np.all(step < 0)):
            part = part[np.argsort(set_field[part], kind="stable")]
        parts.append(part)
    return np.concatenate(parts) if parts else index

