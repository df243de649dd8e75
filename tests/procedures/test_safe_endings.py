"""Safe endings under faults: a fault at every query index of the shutdown, for each instrument.

The bench is left as a measurement leaves it (rf on at 15 dBm, 2 mA dc bias,
the magnet at 0.6 A) and made safe with a fault injected at the k-th query
the shutdown sends to one instrument, for every k. The rules:

- a passing fault (two timeouts, two garbled replies, one dropped link) is
  retried, with the link reopened, and the ending is verified safe;
- an instrument that is gone (its link drops again at every reconnect) is
  reported unverified, with its last known state and what to switch off by
  hand, while the others are still made safe and verified;
- an ending reported safe is always safe in the simulator, and no ramp step
  ever exceeds the rate limit.
"""

from __future__ import annotations

import pytest

from stfmr.instruments.bench import open_simulated_bench
from stfmr.procedures.safety import SafetyGuard
from support.runs import max_setpoint_rate

RF, SUPPLY, SOURCEMETER = "Agilent8257D", "KepcoBOP3612", "Keithley2400"
PARTS = {RF: "rf output", SUPPLY: "magnet", SOURCEMETER: "dc bias"}
#: a short retry budget keeps a gone instrument's trials quick (bench seconds, virtual clock)
RETRY_S = 5.0


def _energised(faults=None):
    """A bench left as a measurement leaves it, and its guard."""
    bench = open_simulated_bench("type-A", faults=faults)
    guard = SafetyGuard(bench, retry_s=RETRY_S)
    guard.set_rf(10.0, 15.0)
    guard.rf_output(True)
    guard.set_dc_current(2e-3)
    guard.ramp_current(0.6)
    return bench, guard


def _shutdown_queries() -> dict[str, tuple[int, int]]:
    """(queries before the shutdown, queries the shutdown sends) per instrument, on a fault-free bench."""
    bench, guard = _energised()
    plan = bench.virtual.faults
    before = {m: plan.queries(m) for m in PARTS}
    assert guard.make_safe("count").safe
    out = {m: (before[m], plan.queries(m) - before[m]) for m in PARTS}
    bench.close()
    return out


QUERIES = _shutdown_queries()


def _truly_safe(bench) -> dict[str, bool]:
    v = bench.virtual
    magnet = v.magnet
    return {"rf output": not v.rf.output_on,
            "dc bias": not v.dc.output_on,
            "magnet": magnet.setpoint() == 0.0 and (abs(magnet.coil_current()) < 5e-3 or not magnet.output_enabled)}


def test_the_shutdown_reads_back_every_part():
    # the count itself: without read-backs there would be nothing to inject faults into
    assert QUERIES[RF][1] >= 1 and QUERIES[SOURCEMETER][1] >= 3 and QUERIES[SUPPLY][1] >= 8


def _trials():
    for model, (_, n) in QUERIES.items():
        for k in range(n):
            for kind, count in (("timeout", 2), ("garbled", 2), ("drop", 1)):
                yield pytest.param(model, k, kind, count, id=f"{model}-q{k}-{kind}x{count}")


@pytest.mark.parametrize("model, k, kind, count", list(_trials()))
def test_a_passing_fault_anywhere_in_the_shutdown_is_retried_and_verified(model, k, kind, count):
    before = QUERIES[model][0]
    fault = {"kind": kind, "instrument": model, "after_queries": before + k, "count": count}
    bench, guard = _energised({"fault": [fault]})
    end = guard.make_safe("test")
    truth = _truly_safe(bench)
    assert end.safe, end.summary()
    assert all(truth.values()), truth
    assert bench.virtual.faults.faults[0].fired == count  # the fault did hit the shutdown
    assert max_setpoint_rate(bench.virtual.history_arrays()) <= bench.limits.max_ramp_rate_A_per_s * (1 + 1e-9)
    bench.close()


@pytest.mark.parametrize("model", list(PARTS))
@pytest.mark.parametrize("k", [0, 1, 3])
def test_an_instrument_that_is_gone_is_reported_with_what_to_do_and_the_rest_is_made_safe(model, k):
    k = min(k, QUERIES[model][1] - 1)
    fault = {"kind": "drop", "instrument": model, "after_queries": QUERIES[model][0] + k, "count": 10**6}
    bench, guard = _energised({"fault": [fault]})
    end = guard.make_safe("test")
    truth = _truly_safe(bench)
    assert not end.safe
    assert [p.part for p in end.unverified()] == [PARTS[model]]
    part = end.unverified()[0]
    assert model in part.instrument and "by hand" in end.instructions() and part.attempts > 1
    assert part.state != "not read back"  # the last known state is given
    for other, ok in truth.items():  # every other part was made safe, and really is
        if other != PARTS[model]:
            assert ok, (other, end.summary())
    assert max_setpoint_rate(bench.virtual.history_arrays()) <= bench.limits.max_ramp_rate_A_per_s * (1 + 1e-9)
    bench.close()


def test_a_supply_trip_during_the_shutdown_ramp_is_recorded():
    bench, guard = _energised({"fault": [{"kind": "supply_trip", "instrument": SUPPLY,
                                          "after_queries": QUERIES[SUPPLY][0] + 2}]})
    end = guard.make_safe("test")
    assert end.trips and "trip" in end.trips[0]
    assert end.safe  # the output is off, read back: the coil decays through the supply's protection
    assert not bench.virtual.magnet.output_enabled
    bench.close()


def test_a_source_that_ignores_rf_off_is_not_called_safe():
    bench, guard = _energised()
    rf = bench.rf
    rf.set_output = lambda enabled: None  # the command is lost: the read-back must see the rf still on
    end = guard.make_safe("test")
    assert not end.safe and end.unverified()[0].part == "rf output"
    assert "reads ON" in end.problems[0]
    bench.close()
