"""Write the bundled example spectrum examples/spectra/type-A_10GHz_45deg.csv.

A synthetic ST-FMR field sweep of a type-A-like Ta-B/graded Ni-Fe strip at
10 GHz and 45 degrees, both field branches, in the format stfmr's spectrum
procedure writes (a pymeasure Results file). The mixing voltage is the exact
LLG linear response of ``stfmr.instruments.sim.llg`` (not the Lorentzian
closed forms the fit uses), plus a background and Gaussian noise with a fixed
seed, so the file is reproducible:

    python examples/spectra/make_example.py

The sample values are illustrative: the paper's xi_DL^E = 32700 and
xi_FL+Oe^E = 38600 Ohm^-1 m^-1 for type A, M_s*t = 4 mA, R = 200 Ohm, L = 100 um.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stfmr.analysis.constants import TWO_E_OVER_HBAR
from stfmr.instruments.sim.llg import MagnetParams, mixing_voltage

OUT = Path(__file__).with_name("type-A_10GHz_45deg.csv")

FREQ_GHZ = 10.0
ANGLE_DEG = 45.0
POWER_DBM = 15.0
I0_A = 10e-3  # peak rf current at that power
R_OHM, L_M, MS_T_A = 200.0, 100e-6, 4.0e-3
DELTA_R_AMR_OHM = 1.0
XI_DL_E, XI_FL_E = 32700.0, 38600.0  # Ohm^-1 m^-1
MAGNET = MagnetParams(mu0_Meff_T=0.90, g=2.1, alpha=0.010, mu0_dH0_T=0.8e-3)
NOISE_V = 0.25e-6
LOCKIN_FACTOR = np.sqrt(2.0) / np.pi  # on/off pulse modulation: X = (sqrt(2)/pi) V_mix


def field_per_amp_T(xi_E: float) -> float:
    """Effective field per ampere (T/A) for an efficiency per electric field (docs/physics.md §4)."""
    return xi_E * R_OHM / (L_M * TWO_E_OVER_HBAR * MS_T_A)


def main() -> None:
    rng = np.random.default_rng(20240510)
    # two sweeps, each away from zero field: -250 -> -20 mT, then 20 -> 250 mT
    branch = np.linspace(20.0, 250.0, 231)
    field_set = np.concatenate((-branch[::-1], branch))
    field = field_set + rng.normal(0.0, 0.02, field_set.size)
    v_mix = mixing_voltage(
        field * 1e-3,
        FREQ_GHZ * 1e9,
        np.radians(ANGLE_DEG),
        I0_A,
        DELTA_R_AMR_OHM,
        field_per_amp_T(XI_DL_E),
        field_per_amp_T(XI_FL_E),
        MAGNET,
    )
    background = 0.4e-6 + 2e-9 * np.abs(field)  # thermal voltage, even in field
    v_fmr = v_mix + background + rng.normal(0.0, NOISE_V, field.size)
    x = LOCKIN_FACTOR * v_fmr
    y = rng.normal(0.0, LOCKIN_FACTOR * NOISE_V, field.size)
    time_s = 0.3 * np.arange(field.size)
    header = [
        "Procedure: <examples.spectra.make_example (synthetic, SIMULATED)>",
        "Parameters:",
        f"\tFrequency: {FREQ_GHZ} GHz",
        f"\tPower: {POWER_DBM} dBm",
        f"\tAngle: {ANGLE_DEG} deg",
        "\tModulation: on/off pulse",
        f"\tLock-in factor X/V_mix: {LOCKIN_FACTOR:.10f}",
        "\tSample: type-A (synthetic: exact LLG response plus noise)",
        "Data:",
    ]
    columns = ["Field set (mT)", "Field (mT)", "X (V)", "Y (V)", "V_FMR (V)",
               "Frequency (GHz)", "Power (dBm)", "Angle (deg)", "Time (s)"]
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("".join(f"#{line}\n" for line in header))
        f.write(",".join(columns) + "\n")
        for row in zip(field_set, field, x, y, v_fmr, time_s):
            fs, fm, xv, yv, vv, t = row
            f.write(f"{fs:.3f},{fm:.4f},{xv:.6e},{yv:.6e},{vv:.6e},"
                    f"{FREQ_GHZ},{POWER_DBM},{ANGLE_DEG},{t:.2f}\n")
    print(f"wrote {OUT} ({field.size} points)")


if __name__ == "__main__":
    main()
