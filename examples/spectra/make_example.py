"""Write the bundled example spectrum examples/spectra/type-A_10GHz_45deg.csv.

A synthetic ST-FMR field sweep of the virtual type-A sample (the simulator's
``type-A`` preset, the same sample as ``stfmr run --sim type-A``) at 10 GHz,
15 dBm and 45 degrees, both field branches, in the format stfmr's spectrum
procedure writes (a pymeasure Results file). The mixing voltage is the preset's
exact LLG linear response (``VirtualSample.mixing_voltage``: not the Lorentzian
closed forms the fit uses, thermal offset included), plus Gaussian noise with a
fixed seed, so the file is reproducible:

    python examples/spectra/make_example.py [OUT.csv]    # default: the bundled file

H_r is then the preset's Kittel field at 10 GHz (about 146 mT for mu0*M_eff = 0.65 T,
g = 2.1); tests/app/test_readme_examples.py checks that the file still agrees with
the preset.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from stfmr.instruments.sim.sample import VirtualSample

OUT = Path(__file__).with_name("type-A_10GHz_45deg.csv")

PRESET = "type-A"
FREQ_GHZ = 10.0
ANGLE_DEG = 45.0
POWER_DBM = 15.0
NOISE_V = 0.25e-6  # rms of the mixing voltage's noise (V)
FIELD_NOISE_MT = 0.02  # gaussmeter scatter (mT)
LOCKIN_FACTOR = np.sqrt(2.0) / np.pi  # on/off pulse modulation: X = (sqrt(2)/pi) V_mix


def main(out: Path = OUT) -> None:
    sample = VirtualSample.preset(PRESET)
    rng = np.random.default_rng(20240510)
    # two sweeps, each away from zero field: -250 -> -20 mT, then 20 -> 250 mT
    branch = np.linspace(20.0, 250.0, 231)
    field_set = np.concatenate((-branch[::-1], branch))
    field = field_set + rng.normal(0.0, FIELD_NOISE_MT, field_set.size)
    v_mix = sample.mixing_voltage(field, FREQ_GHZ, POWER_DBM, ANGLE_DEG)
    v_fmr = v_mix + rng.normal(0.0, NOISE_V, field.size)
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
        f"\tSample: {PRESET} preset (synthetic: exact LLG response plus noise)",
        "Data:",
    ]
    columns = ["Field set (mT)", "Field (mT)", "X (V)", "Y (V)", "V_FMR (V)",
               "Frequency (GHz)", "Power (dBm)", "Angle (deg)", "Time (s)"]
    with open(out, "w", encoding="utf-8") as f:
        f.write("".join(f"#{line}\n" for line in header))
        f.write(",".join(columns) + "\n")
        for row in zip(field_set, field, x, y, v_fmr, time_s):
            fs, fm, xv, yv, vv, t = row
            f.write(f"{fs:.3f},{fm:.4f},{xv:.6e},{yv:.6e},{vv:.6e},"
                    f"{FREQ_GHZ},{POWER_DBM},{ANGLE_DEG},{t:.2f}\n")
    print(f"wrote {out} ({field.size} points)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
