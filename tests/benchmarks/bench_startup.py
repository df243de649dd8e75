"""Start-up of a one-file ``stfmr fit``: wall and CPU time of the whole command, and its heaviest imports.

    python tests/benchmarks/bench_startup.py [--repeats 5]

Measures a fresh ``python -m stfmr.app fit FILE`` on a 121-point simulated
spectrum (target: well under 0.5 s), then ``-X importtime`` of the same
command, and names the modules whose import costs most and whether lmfit,
scipy, pint, pymeasure, pandas or matplotlib were imported at all.

Two rows: with the bytecode cache (``__pycache__``) that an installed stfmr has,
and without it (``PYTHONDONTWRITEBYTECODE`` set, as in some sandboxes and CI
runners: every stfmr module is compiled at every start). The load average is
printed with them: on a busy machine the wall time waits for a free core.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: modules a one-file fit should not need (they dominated its start-up)
HEAVY = ("lmfit", "scipy", "scipy.stats", "scipy.constants", "pint", "pymeasure", "pandas", "matplotlib")


def write_spectrum(path: Path) -> None:
    """A plain CSV spectrum (the format stfmr fit reads), from the model lineshape with noise."""
    from stfmr.analysis import lineshape

    field = np.linspace(100.0, 200.0, 121)
    rng = np.random.default_rng(1)
    volts = lineshape.spectrum_voltage(field, 148.0, 7.4, 2e-6, 1e-6, 1e-7, 0.0) + rng.normal(0, 2e-8, field.size)
    rows = "\n".join(f"{h:.4f},{v:.6e}" for h, v in zip(field, volts))
    path.write_text("Field (mT),V_FMR (V)\n" + rows + "\n")


def child_env(bytecode: bool) -> dict[str, str]:
    """The environment of the measured command: with or without writing and reading the bytecode cache."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return env if bytecode else {**env, "PYTHONDONTWRITEBYTECODE": "1"}


def run_once(file: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one ``stfmr fit FILE``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "stfmr.app", "fit", str(file)], check=True, capture_output=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_times(file: Path) -> list[tuple[float, str]]:
    """(cumulative s, module) of every import of the command, from ``python -X importtime``."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "stfmr.app", "fit", str(file)],
                          check=True, capture_output=True, text=True,
                          env={**child_env(bytecode=True), "PYTHONWARNINGS": "ignore"})
    out = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = line.split("|")
            out.append((int(cumulative) * 1e-6, name[1:].rstrip()))  # nested imports stay indented
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "spectrum.csv"
        write_spectrum(file)
        for bytecode in (True, False):
            env = child_env(bytecode)
            run_once(file, env)  # warm the file cache (and write the bytecode cache)
            walls, cpus = zip(*(run_once(file, env) for _ in range(args.repeats)))
            label = "with bytecode cache" if bytecode else "without bytecode cache"
            print(f"stfmr fit (one 121-point file), {label}, {args.repeats} runs: median wall {np.median(walls):.3f} s,"
                  f" median CPU {np.median(cpus):.3f} s (target: well under 0.5 s)")
        imports = import_times(file)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    top = [(t, n) for t, n in imports if not n.startswith(" ")]
    top.sort(reverse=True)
    print("heaviest top-level imports (cumulative s):")
    for t, name in top[:6]:
        print(f"  {t:6.3f}  {name}")
    loaded = {n.strip() for _, n in imports}  # nested imports too (lmfit imports scipy.stats)
    print("heavy modules imported: " + (", ".join(m for m in HEAVY if m in loaded) or "none"))


if __name__ == "__main__":
    main()
