"""Peak memory of ``stfmr fit`` on a 10^6-row spectrum file, against the 200 MB target.

Writes a CSV of 10^6 rows in a temporary folder, in the layout stfmr records
(eight columns: set and measured field, X, Y, V_FMR, frequency, power, angle),
with one Lorentzian line and noise. Each measurement runs in its own Python
process, which reports its peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) as it ends:

- imports: the process that imports ``stfmr fit``'s modules and reads nothing;
- read: ``read_datafile`` of the three columns ``stfmr fit`` reads;
- fit: the whole ``stfmr fit FILE`` command (read, field axis, fit, print).

The file is written by a process of its own too: a child's ru_maxrss starts at its
parent's size when it forks, so the measuring process holds no large data.

Run: python tests/benchmarks/bench_fit_memory.py [ROWS]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stfmr.analysis import columns as col

TARGET_MB = 200.0
ROWS = 10**6


def write_file(path: Path, rows: int) -> None:
    """A field sweep of ``rows`` points, 50 to 250 mT, a line at 150 mT, in stfmr's column layout."""
    import numpy as np

    from stfmr.analysis.lineshape import spectrum_voltage

    h = np.linspace(50.0, 250.0, rows)
    v = spectrum_voltage(h, 150.0, 5.0, 1e-5, 5e-6, 1e-7, 1e-9) + np.random.default_rng(0).normal(0.0, 2e-7, rows)
    names = [col.FIELD_SET, col.FIELD, col.X, col.Y, col.V_FMR, col.FREQUENCY, col.POWER, col.ANGLE]
    table = np.column_stack([h, h, v, 0.1 * v, v, np.full(rows, 10.0), np.full(rows, 10.0), np.full(rows, 45.0)])
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(names) + "\n")
        np.savetxt(f, table, delimiter=",", fmt="%.9g")


_REPORT = "\nimport resource, sys\nprint('PEAK_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"


def peak_mb(code: str) -> tuple[float, float]:
    """Run ``code`` in a fresh Python process; return (its peak RSS in MB, wall seconds)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code + _REPORT], check=True, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    kib = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK_KIB"))
    return kib / 1024.0, time.perf_counter() - start  # ru_maxrss is in KiB on Linux


def main() -> None:
    if sys.argv[1:2] == ["--write"]:
        write_file(Path(sys.argv[2]), int(sys.argv[3]))
        return
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else ROWS
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        print(f"writing {rows} rows ...", flush=True)
        subprocess.run([sys.executable, __file__, "--write", str(path), str(rows)], check=True)
        print(f"  {path.stat().st_size / 1e6:.0f} MB on disk", flush=True)
        cases = [
            ("imports", "import stfmr.app.cmd_fit, stfmr.analysis.spectrum_fit, stfmr.analysis.datafile, pandas, "
                        "pymeasure.experiment.results"),
            ("read", f"from stfmr.analysis.datafile import read_datafile; "
                     f"read_datafile({str(path)!r}, columns=['{col.FIELD}', '{col.FIELD_SET}', '{col.V_FMR}'])"),
            ("fit", f"from stfmr.app.cli import main\nassert main(['fit', {str(path)!r}]) == 0"),
        ]
        print(f"{'stage':<8} {'peak RSS':>10} {'wall':>8}   (target for 'fit': < {TARGET_MB:.0f} MB)", flush=True)
        for name, code in cases:
            mb, seconds = peak_mb(code)
            verdict = "" if name != "fit" else ("  meets the target" if mb < TARGET_MB else "  ABOVE the target")
            print(f"{name:<8} {mb:>7.0f} MB {seconds:>7.1f} s{verdict}", flush=True)


if __name__ == "__main__":
    main()
