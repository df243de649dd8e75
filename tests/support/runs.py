"""Helpers for the procedure tests: small sequences, measured runs and checks of the simulator's history."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stfmr.instruments.bench import open_simulated_bench
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.procedures.executor import RunOutcome, run_sequence
from stfmr.procedures.safety import ZERO_CURRENT_A
from stfmr.procedures.sequence import Sequence, parse_sequence

#: the shipped example sequences
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sequences"
#: AMR, an rf calibration of design DESIGN, two frequencies, a 4-angle sweep marked for a target's rounds
TARGET_STEPS = """
[[step]]
kind = "amr"
field_mT = 300.0
angles_deg = {start = 0, stop = 360, step = 45}
sense_current_mA = 1.0

[[step]]
kind = "rf_calibration"
frequencies_GHz = [10.0]
field_mT = 350.0
dc_max_mA = 4.0
powers_dBm = [0.0, 20.0]
design = "DESIGN"

[[step]]
kind = "frequency_sweep"
frequencies_GHz = [6.0, 14.0]
power_dBm = 20.0
angle_deg = 35.26
window_mT = 50.0
mu0_Meff_T = 0.6
field_points = 41

[[step]]
kind = "angle_sweep"
frequency_GHz = 10.0
power_dBm = 20.0
angles_deg = [30, 60, 120, 150]
window_mT = 40.0
mu0_Meff_T = 0.6
field_points = 41
repeat_until_target = true
"""

#: a spectrum to follow TARGET_STEPS: never measured when the angle sweep reaches the target
TARGET_LAST_SPECTRUM = """
[[step]]
kind = "field_sweep"
frequency_GHz = 12.0
power_dBm = 20.0
angle_deg = 45
window_mT = 40.0
mu0_Meff_T = 0.6
field_points = 41
"""

#: relative agreement (1 sigma) of the efficiencies between the analysis's closed forms and the
#: simulator's exact LLG response: the symmetric Lorentzian ignores the LLG line's skew, and a
#: noise-free run reads xi_DL^E up to +0.16 % and xi_FL+Oe^E -0.08 % off (docs/physics.md §2,
#: "Where the Lorentzian ends"); at the preset noise the errors (0.04-0.06 %) are below it
MODEL_AGREEMENT = 0.002

SAMPLE = """
[sample]
name = "type-A"
Ms_t_A = 4.0e-3
resistivity_uOhm_cm = 67.0
length_um = 100.0
width_um = 10.0
stack = "Ta-B(3)/Ni-Fe(5)/MgO"
setup_polarity = 1
"""

ANGLES = SAMPLE + """
[[step]]
kind = "angle_sweep"
frequency_GHz = 10.0
power_dBm = 15.0
angles_deg = {start = 30, stop = 150, step = 30}
window_mT = 60.0
mu0_Meff_T = 0.65
field_points = 61
both_branches = true
"""

#: four short spectra (21 points, 40 mT windows): a night in miniature, for fault and kill tests
FOUR_SPECTRA = SAMPLE + """
[[step]]
kind = "angle_sweep"
frequency_GHz = 10.0
power_dBm = 15.0
angles_deg = [30, 60, 120, 150]
window_mT = 40.0
mu0_Meff_T = 0.65
field_points = 21
"""

#: a short dc-bias sweep: 0, +2 and -2 mA through the bias tee
DC_BIAS_STEP = """
[[step]]
kind = "dc_bias_sweep"
frequency_GHz = 10.0
power_dBm = 15.0
angle_deg = 45.0
dc_currents_mA = [-2, 0, 2]
window_mT = 40.0
mu0_Meff_T = 0.65
field_points = 21
"""

#: one 21-point spectrum at 10 GHz and 45 deg: the smallest finished run folder
ONE_SPECTRUM = SAMPLE + """
[[step]]
kind = "angle_sweep"
frequency_GHz = 10.0
power_dBm = 15.0
angles_deg = [45]
window_mT = 60.0
mu0_Meff_T = 0.65
field_points = 21
"""


@dataclass(frozen=True)
class MeasuredRun:
    """A sequence measured by the headless runner on a virtual bench, and the bench as the run left it."""

    bench: Any
    folder: Path
    outcome: RunOutcome
    sequence: Sequence
    #: CPU time the run took in this process (s): all threads, not wall time
    cpu_s: float


def measure(text: str, out: Path, preset: str | VirtualSample = "type-A", name: str = "seq.toml",
            live_fits: bool = False) -> MeasuredRun:
    """Run the sequence ``text`` headless on a fresh virtual bench of ``preset`` (a preset's name or
    a sample) into the run folder ``out``.

    A headless run fits each spectrum once, at its end; with ``live_fits`` a listener is
    attached, so it also refits as the points arrive, as for the GUI. The files and the
    manifest (its fits are the final ones) are the same either way (tests/procedures/
    test_runner.py checks it).
    """
    bench = open_simulated_bench(preset)
    sequence = parse_sequence(text, name, bench.limits)
    start = time.process_time()
    outcome = run_sequence(sequence, bench, out, progress=None,
                           on_fit=(lambda fits: None) if live_fits else None)
    cpu_s = time.process_time() - start
    return MeasuredRun(bench, Path(out), outcome, sequence, cpu_s)


def folder_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file in ``folder`` and below, by relative path: to check a shared run is unchanged."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def write(tmp_path: Path, text: str, name: str = "seq.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def max_setpoint_rate(history: dict[str, np.ndarray]) -> float:
    """Largest |dI/dt| (A/s) of the supply setpoint between consecutive setpoint changes."""
    t, s = history["time_s"], history["setpoint_A"]
    changed = np.flatnonzero(np.diff(s) != 0) + 1
    if changed.size == 0:
        return 0.0
    previous = np.concatenate([[0], changed[:-1]])
    # the setpoint held its old value from the previous change until this one
    dt = t[changed] - t[previous]
    ds = np.abs(s[changed] - s[changed - 1])
    return float(np.max(ds / dt))


def assert_safe_end(bench, rate_limit: float | None = None) -> None:
    """rf off, setpoint and coil current at zero, and the ramp rate never above the limit."""
    h = bench.virtual.history_arrays()
    limit = rate_limit or bench.limits.max_ramp_rate_A_per_s
    assert max_setpoint_rate(h) <= limit * (1 + 1e-9), f"ramp rate {max_setpoint_rate(h)} A/s above {limit}"
    assert not bench.virtual.rf.output_on, "rf left on"
    assert h["setpoint_A"][-1] == 0.0, f"supply setpoint left at {h['setpoint_A'][-1]} A"
    magnet = bench.virtual.magnet
    assert abs(magnet.coil_current()) <= ZERO_CURRENT_A or not magnet.output_enabled, "coil still energised"


def data_rows(path: Path) -> int:
    lines = path.read_text().splitlines()
    return sum(1 for line in lines if line and not line.startswith("#")) - 1  # minus the column line
