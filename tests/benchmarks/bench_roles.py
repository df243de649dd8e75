"""Benchmark: role-wrapper calls per second on the virtual bench, in-process and over loopback VISA.

Compares a bare pymeasure driver query with the same query through stfmr's role
wrapper (error translation, unit conversion, reply checks), so the wrapper's own
overhead is visible. Run: python tests/benchmarks/bench_roles.py
"""

from __future__ import annotations

import time

from stfmr.instruments.bench import open_simulated_bench


def rate(fn, seconds: float = 1.0) -> float:
    """Calls per second of fn, measured over about `seconds` of wall time."""
    n, start = 0, time.perf_counter()
    while True:
        for _ in range(20):
            fn()
        n += 20
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def main() -> None:
    for transport in ("inprocess", "visa"):
        with open_simulated_bench("type-A", transport=transport) as bench:
            det, rf = bench.detector, bench.rf
            raw = rate(lambda: det.driver.snap("X", "Y"))
            wrapped = rate(det.read_xy)
            freq = rate(rf.frequency_GHz)
            field = rate(bench.field.field_mT)
            print(f"{transport:>9}: SR830 snap raw driver {raw:8.0f}/s, via role {wrapped:8.0f}/s "
                  f"(wrapper overhead {100 * (raw / wrapped - 1):5.1f} %); "
                  f"rf frequency query {freq:8.0f}/s; field (gaussmeter) {field:8.0f}/s")
            per_dwell = 1.0 / wrapped / 0.1
            print(f"{'':>9}  one X,Y read costs {1e3 / wrapped:.3f} ms = {100 * per_dwell:.3f} % of a 100 ms dwell")


if __name__ == "__main__":
    main()
