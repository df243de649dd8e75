"""Re-analysis of a run of 1,000 spectra (read and fit): wall time with 1 and 2 jobs, and the speed-up.

The run folder is made once: 50 spectra (121 points, both branches) measured by
the runner on the virtual bench, each file then copied 20 times under its own
manifest entry, so the analysis sees 1,000 spectra of realistic content.
Run: python tests/benchmarks/bench_analyze.py
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.runs import SAMPLE  # noqa: E402

from stfmr.analysis.characterize import analyze_run
from stfmr.analysis.run_reader import read_run
from stfmr.instruments.bench import open_simulated_bench
from stfmr.analysis.run_manifest import JOURNAL, read_manifest
from stfmr.procedures.executor import run_sequence
from stfmr.procedures.sequence import parse_sequence

SEQUENCE = SAMPLE + """
[[step]]
kind = "angle_sweep"
frequency_GHz = 10.0
power_dBm = 15.0
angles_deg = {start = 5, stop = 250, points = 50}
window_mT = 80.0
mu0_Meff_T = 0.65
field_points = 121
both_branches = true
"""


def make_run(folder: Path, copies: int = 20) -> int:
    bench = open_simulated_bench("type-A")
    run_sequence(parse_sequence(SEQUENCE, "bench.toml", bench.limits), bench, folder, progress=None)
    manifest = read_manifest(folder)
    entries = []
    for c in range(copies):
        for e in manifest["entries"]:
            name = f"{c:02d}_{e['file']}"
            shutil.copy(folder / e["file"], folder / name)
            entries.append(dict(e, file=name, index=len(entries), key=f"{e['key']}-{c}"))
    for e in manifest["entries"]:
        (folder / e["file"]).unlink()
    (folder / JOURNAL).write_text("".join(json.dumps({"entry": e}) + "\n" for e in entries))
    return len(entries)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "run"
        n = make_run(folder)
        times = {}
        for jobs in (1, 2):
            t0 = time.perf_counter()
            result = analyze_run(read_run(folder, jobs=jobs), jobs=jobs)
            times[jobs] = time.perf_counter() - t0
            assert len(result.fits) + len(result.failed_fits) == n
            print(f"{n} spectra, {jobs} job(s): {times[jobs]:.2f} s (target < 10 s on 2 cores)")
        print(f"speed-up from 1 to 2 jobs: {times[1] / times[2]:.2f}x")


if __name__ == "__main__":
    main()
