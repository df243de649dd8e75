"""Synthetic spectra written as other labs write them: LabVIEW .lvm in Oe, .dat in T, CSV in magnet current.

Tests import it as ``from support import other_labs``.

Every file is generated here from :func:`stfmr.analysis.lineshape.spectrum_voltage` with
known parameters (in mT and V), then stored in the file's own units, so a reader and a
fit that get the units right give back the preset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stfmr.analysis.lineshape import spectrum_voltage

#: the preset line: mu0*H_r and half width in mT, amplitudes in V
H_R_MT, DH_MT, V_S, V_A = 120.0, 4.0, 12e-6, 5e-6
NOISE_V = 5e-8


def spectrum(field_mT: np.ndarray, seed: int = 1, H_r_mT: float = H_R_MT) -> np.ndarray:
    """The preset line (V) at these fields (mT); the -H branch's line at -H_r, with a small noise."""
    h_r = np.where(field_mT < 0, -H_r_mT, H_r_mT)
    clean = np.array([spectrum_voltage(h, hr, DH_MT, V_S, V_A, 1e-7, 2e-10) for h, hr in zip(field_mT, h_r)])
    return clean + np.random.default_rng(seed).normal(0.0, NOISE_V, field_mT.size)


def write_lvm(path: Path, frequency_GHz: float | None = 8.0, angle_deg: float | None = None,
              H_r_mT: float = H_R_MT, segments: int = 2) -> Path:
    """A LabVIEW .lvm file of 'Field (Oe)' and 'Voltage (V)', in ``segments`` blocks with their own headers."""
    field_mT = np.linspace(H_r_mT - 40.0, H_r_mT + 40.0, 241)
    volts = spectrum(field_mT, H_r_mT=H_r_mT)
    lines = ["LabVIEW Measurement\t", "Writer_Version\t2", "Reader_Version\t2", "Separator\tTab",
             "Decimal_Separator\t.", "Multi_Headings\tNo", "X_Columns\tOne", "Time_Pref\tRelative",
             "Operator\tsomeone", "Date\t2024/03/05", "Time\t14:03:11.5"]
    if frequency_GHz is not None:
        lines.append(f"Frequency(GHz):{frequency_GHz:.6E}")
    if angle_deg is not None:
        lines.append(f"Angle(deg):{angle_deg:.6E}")
    lines += ["Power(dBm):1.000000E+1", "***End_of_Header***\t", ""]
    for part in np.array_split(np.arange(field_mT.size), segments):
        lines += ["Channels\t2\t", f"Samples\t{part.size}\t{part.size}\t", "Date\t2024/03/05\t2024/03/05\t",
                  "X_Dimension\tTime\tTime\t", "X0\t0.0000000000000000E+0\t0.0000000000000000E+0\t",
                  "Delta_X\t1.000000\t1.000000\t", "***End_of_Header***\t",
                  "X_Value\tField (Oe)\tVoltage (V)\tComment"]
        lines += [f"{k:.6f}\t{field_mT[k] * 10.0:.6f}\t{volts[k]:.9E}\t" for k in part]  # mT -> Oe
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_dat_tesla(path: Path, seed: int = 2, H_r_mT: float = H_R_MT) -> Path:
    """A space-separated .dat of 'Field (T)' and 'Vmix (V)' with both field branches."""
    field_mT = np.concatenate((np.linspace(-180.0, -60.0, 241), np.linspace(60.0, 180.0, 241)))
    volts = spectrum(field_mT, seed, H_r_mT=H_r_mT)
    rows = "\n".join(f"{h / 1e3:.7f} {v:.9e}" for h, v in zip(field_mT, volts))
    path.write_text("Field (T) Vmix (V)\n" + rows + "\n", encoding="utf-8")
    return path


#: the coil constant of the magnet-current file (mT per A)
COIL_MT_PER_A = 25.0
#: readings per current of the magnet-current file
REPEATS = 3


def write_current_csv(path: Path, seed: int = 3) -> Path:
    """A CSV of 'Current (A)' (field = 25 mT/A times it) and 'Vlockin (uV)', 3 readings at each current."""
    current = np.repeat(np.linspace(2.4, 7.2, 161), REPEATS)
    volts = spectrum(current * COIL_MT_PER_A, seed)
    rows = "\n".join(f"{i:.5f},{v * 1e6:.6f}" for i, v in zip(current, volts))
    path.write_text("Current (A),Vlockin (uV)\n" + rows + "\n", encoding="utf-8")
    return path
