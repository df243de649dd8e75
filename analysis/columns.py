"""The names stfmr's files are read by: Results columns and the header parameters read back.

Every procedure declares its ``DATA_COLUMNS`` and emits its rows with these
names, and every reader (the run reader, ``stfmr fit``, the GUI's live plots,
the coil calibration table) looks them up here, so a column is renamed in one
place. Names carry their unit, pymeasure style: ``Field (mT)``.

Use as ``from stfmr.analysis import columns as col`` and ``col.FIELD``.
"""

from __future__ import annotations

# -- Results columns ---------------------------------------------------------------------

#: the field the magnet was set to (mT)
FIELD_SET = "Field set (mT)"
#: the field measured at the sample (mT): the gaussmeter, else the coil calibration of the read-back current
FIELD = "Field (mT)"
#: the magnet supply's current as read back (A); in a coil calibration file, the programmed current
CURRENT = "Current (A)"
#: the magnet supply's programmed current (A), of a magnet calibration
SET_CURRENT = "Set current (A)"
#: the detector's in-phase and quadrature readings (V)
X = "X (V)"
Y = "Y (V)"
#: the dc-equivalent mixing voltage (V): X divided by the detector's modulation factor
V_FMR = "V_FMR (V)"
#: the rf frequency (GHz) and power (dBm)
FREQUENCY = "Frequency (GHz)"
POWER = "Power (dBm)"
#: the stage angle read back (deg), and the angle it was sent to
ANGLE = "Angle (deg)"
ANGLE_SET = "Angle set (deg)"
#: the dc (bias or sense) current through the device (mA)
I_DC = "I_dc (mA)"
#: the sample's resistance (Ohm) by current reversal
RESISTANCE = "Resistance (ohm)"
#: 1 with the rf on, 0 with it off (rf calibration)
RF_ON = "RF on"
#: the hysteresis branch: +1 up, -1 down in a Results file; "up" or "down" in a coil calibration file
BRANCH = "Branch"
#: time since the measurement started (s)
TIME = "Time (s)"

#: every column name stfmr writes
RESULTS_COLUMNS: frozenset[str] = frozenset({
    FIELD_SET, FIELD, CURRENT, SET_CURRENT, X, Y, V_FMR, FREQUENCY, POWER, ANGLE, ANGLE_SET, I_DC,
    RESISTANCE, RF_ON, BRANCH, TIME,
})

# -- header parameters read back ---------------------------------------------------------
# The names of the procedures' Parameters (``#\tName: value`` lines of a Results header)
# that the analysis reads: the procedures declare their Parameters with these constants.

FREQUENCY_PARAM = "Frequency"
POWER_PARAM = "Power"
ANGLE_PARAM = "Angle"
BOTH_BRANCHES_PARAM = "Both branches"
FIELD_POINTS_PARAM = "Field points"
FREQUENCY_POINTS_PARAM = "Frequency points"
ANGLE_POINTS_PARAM = "Angle points"
DC_CURRENT_POINTS_PARAM = "DC current points"
POWER_POINTS_PARAM = "Power points"
LANDE_G_PARAM = "Lande g"
#: detector readings averaged into one spectrum point
READINGS_PARAM = "Readings per point"
SAMPLE_PARAM = "Sample"

__all__ = [
    "ANGLE", "ANGLE_POINTS_PARAM", "ANGLE_PARAM", "ANGLE_SET", "BOTH_BRANCHES_PARAM", "BRANCH", "CURRENT",
    "DC_CURRENT_POINTS_PARAM", "FIELD", "FIELD_POINTS_PARAM", "FIELD_SET", "FREQUENCY", "FREQUENCY_PARAM",
    "FREQUENCY_POINTS_PARAM", "I_DC", "LANDE_G_PARAM", "POWER", "POWER_PARAM", "POWER_POINTS_PARAM",
    "READINGS_PARAM", "RESISTANCE", "RESULTS_COLUMNS", "RF_ON", "SAMPLE_PARAM", "SET_CURRENT", "TIME", "V_FMR", "X", "Y",
]
