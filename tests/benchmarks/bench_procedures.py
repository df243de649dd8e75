"""Points per second through the whole stack: driver, simulator, procedure, Results file.

Zero simulated dwell (the lock-in's settle time is the only wait, and it costs
no wall time on the virtual clock). In-process and over the loopback VISA server
(wall clock: the detector's time constant is set to its minimum there). The
physical waits that no software removes are kept out of the figure: the stage
stays where it is, the field starts at the first point, and the steps are fine
enough (5 uT) that the ramp-rate wait per point is ~0.1 ms.
Run: python tests/benchmarks/bench_procedures.py
"""

from __future__ import annotations

import tempfile
import time
import threading
from pathlib import Path

from pymeasure.experiment import Results

from stfmr.instruments.bench import open_simulated_bench
from stfmr.procedures.field_sweep import FieldSweep
from stfmr.procedures.recording import RecordingWorker


def points_per_second(transport: str, points: int) -> float:
    bench = open_simulated_bench("type-A", transport=transport)
    try:
        if transport == "visa":
            bench.detector.set_time_constant(10e-6)  # settle time ~0.1 ms of real time
        from stfmr.procedures.safety import SafetyGuard

        SafetyGuard(bench).ramp_field(100.0)
        proc = FieldSweep()
        proc.field_start_mT, proc.field_stop_mT, proc.field_points = 100.0, 100.0 + 0.005 * points, points
        proc.move_stage = False
        proc.bench = bench
        with tempfile.TemporaryDirectory() as tmp:
            results = Results(proc, str(Path(tmp) / "bench.csv"))
            worker = RecordingWorker(results)  # the executor's worker: each row written and checked
            t0 = time.perf_counter()
            worker.start()
            while worker.is_alive():
                threading.Thread.join(worker, 0.1)  # not worker.join: that stops it
            assert proc.status == proc.FINISHED, getattr(proc, "error", None)
            wall = time.perf_counter() - t0
            times = Results.load(str(Path(tmp) / "bench.csv")).data["Time (s)"].to_numpy()
        if transport == "inprocess":
            return points / wall  # the whole run, on the virtual clock no wait costs wall time
        # over VISA the file's clock is the wall clock: the steady state, without the
        # final safe ramp-down (1 A at 2 A/s of real time, physics rather than overhead)
        return (len(times) - 1) / (times[-1] - times[0])
    finally:
        bench.close()


def main() -> None:
    for transport, points, target in (("inprocess", 2000, 1000.0), ("visa", 500, 200.0)):
        rate = points_per_second(transport, points)
        overhead = 1.0 / rate / 0.1
        print(f"{transport:>9}: {rate:7.0f} points/s (target {target:.0f}); "
              f"overhead {overhead * 100:.2f} % of a 100 ms dwell")


if __name__ == "__main__":
    main()
