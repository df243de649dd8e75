"""Query round trips per second through the real pymeasure SR830 driver.

In-process (SimAdapter, virtual clock) and over loopback VISA (stfmr's
sim-server transport, pyvisa-py SOCKET resource). Targets (issue 4): at least
2,000/s in-process and 500/s over the socket.

Run: python tests/benchmarks/bench_sim_roundtrips.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import time

from pymeasure.instruments.srs import SR830

from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.instruments.sim.server import start_server

TARGET_INPROCESS = 2000.0
TARGET_SOCKET = 500.0


def rate(lockin: SR830, seconds: float) -> tuple[float, float]:
    """Return (x queries/s, snap X,Y queries/s) over about seconds each."""
    out = []
    for query in (lambda: lockin.x, lambda: lockin.xy):
        n = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for _ in range(50):
                query()
            n += 50
        out.append(n / (time.perf_counter() - t0))
    return out[0], out[1]


def _bench() -> VirtualBench:
    bench = VirtualBench(VirtualSample.preset("type-A"))
    bench.rf.output_on = True
    bench.rf.modulation = "pulse"
    bench.rf.power_dBm = 10.0
    bench.stage.move_to(45.0)
    bench.magnet.set_output(True)
    bench.magnet.set_setpoint(3.5)
    bench.clock.advance(10.0)
    return bench


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement (s)")
    args = parser.parse_args()

    bench = _bench()
    inproc = rate(SR830(bench.adapter("SR830")), args.seconds)

    bench = _bench()
    server = start_server(bench, ["SR830"])
    try:
        li = SR830(server.resources()["SR830"], visa_library="@py", read_termination="\n",
                   write_termination="\n", timeout=2000)
        sock = rate(li, args.seconds)
        li.adapter.close()
    finally:
        server.stop()

    ok = True
    for label, (x, xy), target in (("in-process", inproc, TARGET_INPROCESS),
                                   ("loopback VISA", sock, TARGET_SOCKET)):
        verdict = "OK" if min(x, xy) >= target else "BELOW TARGET"
        ok &= verdict == "OK"
        print(f"{label:<14} SR830.x {x:8.0f}/s   SR830.xy (SNAP?) {xy:8.0f}/s   target {target:.0f}/s  {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
