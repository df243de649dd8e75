"""I_0 error of the rf-current calibration: the precision design against the old grid, on the virtual bench.

Each design is a real sequence step (``rf_calibration``), parsed and dry-run against the
bench limits, measured by the RfCalibration procedure on a fresh virtual type-A bench
(virtual clock) and analysed as ``stfmr analyze`` does. Printed per design: the bench time
of the step, the mean reported relative error of I_0 at 15 dBm, the rms of the true
relative error (the preset's I_0 is known) and each seed's deviation in reported sigmas.
Run: python tests/benchmarks/bench_rf_calibration.py [SEEDS]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from stfmr.analysis import columns as col
from stfmr.analysis.calibration import calibrate_rf_current
from stfmr.instruments.bench import open_simulated_bench
from stfmr.procedures.registry import build_procedure
from stfmr.procedures.sequence import parse_sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared test sequences
from support.runs import SAMPLE  # noqa: E402  (the type-A sample record of the tests)
STEP = """
[[step]]
kind = "rf_calibration"
frequencies_GHz = [10.0]
field_mT = 350.0
dc_max_mA = 4.0
powers_dBm = {{start = 0, stop = 15, points = 6}}
{extra}
"""
#: the old default (grid of six powers, nine dc points, 0.1 mA) and the new one
DESIGNS = {"grid (old)": 'design = "grid"\ndc_points = 9', "precision (new)": 'design = "precision"'}
POWER_DBM = 15.0


def calibrate(extra: str, seed: int) -> tuple[float, float, float, float]:
    """(bench time s, I_0 A, its stderr A, the preset's I_0 A) of one calibration at 10 GHz."""
    bench = open_simulated_bench("type-A", seed=seed)
    try:
        task = parse_sequence(SAMPLE + STEP.format(extra=extra), "bench.toml", bench.limits).tasks[0]
        procedure = build_procedure(task.procedure, task.parameters)
        procedure.bench = bench
        rows: list[dict] = []
        procedure.should_stop = lambda: False
        procedure.emit = lambda topic, record: rows.append(record) if topic == "results" else None
        t0 = bench.clock.now()
        procedure.startup()
        procedure.execute()
        elapsed = bench.clock.now() - t0
        dc = [r for r in rows if r[col.RF_ON] == 0]
        rf = [r for r in rows if r[col.RF_ON] == 1]
        cal = calibrate_rf_current([r[col.I_DC] for r in dc], [r[col.RESISTANCE] for r in dc],
                                   [r[col.POWER] for r in rf], [r[col.RESISTANCE] for r in rf], freq_GHz=10.0)
        value, stderr = cal.I0_A(POWER_DBM)
        return elapsed, value, stderr, bench.virtual.sample.I0_A(10.0, POWER_DBM)
    finally:
        bench.close()


def main(seeds: int = 10) -> None:
    summary = {}
    for name, extra in DESIGNS.items():
        runs = [calibrate(extra, seed) for seed in range(seeds)]
        times = [r[0] for r in runs]
        reported = float(np.mean([s / v for _, v, s, _ in runs]))
        true_rms = float(np.sqrt(np.mean([((v - t) / t) ** 2 for _, v, _, t in runs])))
        pulls = [(v - t) / s for _, v, s, t in runs]
        summary[name] = (max(times), reported, true_rms)
        print(f"{name:16s} bench time {max(times):6.3f} s   I_0 relative error: reported {reported:.2e}, "
              f"true rms {true_rms:.2e}   (I_0 - preset)/sigma: {' '.join(f'{p:+.1f}' for p in pulls)}")
    (t_old, rep_old, rms_old), (t_new, rep_new, rms_new) = summary.values()
    print(f"precision/grid: bench time x{t_new / t_old:.3f}, reported error {rep_old / rep_new:.1f}x smaller, "
          f"true rms error {rms_old / rms_new:.1f}x smaller (target 10x in the same time)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
