"""An unattended night on the virtual bench: faults in the safe endings, and runs that stop honestly.

Every scenario of the overnight-trust issue, end to end through the executor
and ``stfmr run``: a run whose safe state cannot be verified never ends as a
clean "finished", no further task starts, the manifest says ``unsafe`` and the
exit status and message tell the operator what to switch off by hand.
"""

from __future__ import annotations

import pytest

from stfmr.analysis.run_manifest import read_manifest
from stfmr.app import cli
from stfmr.instruments.bench import open_simulated_bench
from stfmr.procedures import safety
from stfmr.procedures.executor import run_sequence
from stfmr.procedures.sequence import parse_sequence
from support import runs as helpers

SUPPLY, RF, SOURCEMETER = "KepcoBOP3612", "Agilent8257D", "Keithley2400"

#: four short spectra; after an unsafe end no further task may start
THREE = helpers.FOUR_SPECTRA
DC = helpers.SAMPLE + helpers.DC_BIAS_STEP


@pytest.fixture(autouse=True)
def short_retries(monkeypatch):
    """A gone instrument is retried for 5 s of bench time (virtual clock), not a minute."""
    monkeypatch.setattr(safety, "SAFE_END_RETRY_S", 5.0)


def shutdown_queries(text: str) -> list[dict[str, int]]:
    """Queries sent to each instrument before each safe ending, on a fault-free run of ``text``."""
    counts: list[dict[str, int]] = []
    original = safety.SafetyGuard.make_safe
    bench = open_simulated_bench("type-A")

    def counting(guard, reason):
        plan = bench.virtual.faults
        counts.append({m: plan.queries(m) for m in (SUPPLY, RF, SOURCEMETER)})
        return original(guard, reason)

    safety.SafetyGuard.make_safe = counting
    try:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            assert run_sequence(parse_sequence(text, "count.toml", bench.limits), bench, f"{tmp}/run").state == "finished"
    finally:
        safety.SafetyGuard.make_safe = original
        bench.close()
    return counts


QUERIES = shutdown_queries(THREE)


def run_with(tmp_path, fault: dict, text: str = THREE):
    bench = open_simulated_bench("type-A", faults={"fault": [fault]})
    outcome = run_sequence(parse_sequence(text, "night.toml", bench.limits), bench, tmp_path / "run")
    return bench, outcome, read_manifest(tmp_path / "run")


def truly_safe(bench) -> bool:
    v = bench.virtual
    return (not v.rf.output_on and not v.dc.output_on and v.magnet.setpoint() == 0.0
            and (abs(v.magnet.coil_current()) < 5e-3 or not v.magnet.output_enabled))


def test_two_timeouts_in_the_last_ramp_down_are_retried_and_the_end_verified(tmp_path):
    start = QUERIES[-1][SUPPLY]
    bench, outcome, manifest = run_with(tmp_path, {"kind": "timeout", "instrument": SUPPLY,
                                                   "after_queries": start + 4, "count": 2})
    assert bench.virtual.faults.faults[0].fired == 2
    assert outcome.state == "finished" and manifest["state"] == "finished" and truly_safe(bench)
    assert any("timed out" in p for p in outcome.safety_problems)  # said, though recovered
    assert manifest["entries"][-1]["safe_end"]["safe"] is True


def test_a_supply_gone_in_the_last_ramp_down_ends_unsafe_never_finished(tmp_path, capsys):
    start = QUERIES[-1][SUPPLY]
    bench, outcome, manifest = run_with(tmp_path, {"kind": "drop", "instrument": SUPPLY,
                                                   "after_queries": start + 4, "count": 10**6})
    assert outcome.state == "unsafe" and manifest["state"] == "unsafe"
    unsafe = manifest["unsafe"]
    (part,) = [p for p in unsafe["parts"] if not p["verified"]]
    assert part["part"] == "magnet" and SUPPLY in part["instrument"] and "setpoint" in part["state"]
    assert "ramp the magnet supply to zero by hand" in unsafe["instructions"]
    assert bench.virtual.magnet.setpoint() != 0.0  # and indeed it is not at zero
    assert not bench.virtual.rf.output_on  # the rf was still switched off


def test_an_unsafe_end_mid_run_stops_the_run_with_no_further_task(tmp_path):
    start = QUERIES[1][RF]  # the second spectrum's ending
    bench, outcome, manifest = run_with(tmp_path, {"kind": "drop", "instrument": RF,
                                                   "after_queries": start, "count": 10**6})
    assert outcome.state == "unsafe"
    assert [e["status"] for e in manifest["entries"]] == ["complete", "complete"]  # nothing after it started
    assert "switch the rf output off by hand" in outcome.instructions
    assert bench.virtual.rf.output_on  # really on: the message is true


def test_an_rf_link_that_drops_once_is_reopened_and_rf_verified_off(tmp_path):
    bench, outcome, manifest = run_with(tmp_path, {"kind": "drop", "instrument": RF,
                                                   "after_queries": QUERIES[-1][RF], "count": 1})
    assert outcome.state == "finished" and not bench.virtual.rf.output_on


def test_a_sourcemeter_gone_in_a_shutdown_never_lets_spectra_be_mislabelled(tmp_path):
    counts = shutdown_queries(DC)
    # the +2 mA spectrum (the second) ends with its dc bias on: its source's link goes for good
    bench, outcome, manifest = run_with(tmp_path, {"kind": "drop", "instrument": SOURCEMETER,
                                                   "after_queries": counts[1][SOURCEMETER], "count": 10**6}, DC)
    assert outcome.state == "unsafe" and len(manifest["entries"]) == 2
    assert "sourcemeter output off by hand" in outcome.instructions and bench.virtual.dc.output_on


def test_a_sourcemeter_link_that_drops_once_is_reopened_and_the_next_spectra_are_at_their_label(tmp_path):
    counts = shutdown_queries(DC)
    bench, outcome, manifest = run_with(tmp_path, {"kind": "drop", "instrument": SOURCEMETER,
                                                   "after_queries": counts[1][SOURCEMETER], "count": 1}, DC)
    assert outcome.state == "finished" and not bench.virtual.dc.output_on
    assert [e["parameters"]["dc_current_mA"] for e in manifest["entries"]] == [0.0, 2.0, -2.0]


def test_a_dc_current_left_on_is_refused_before_a_spectrum_is_labelled_0_mA(tmp_path):
    bench = open_simulated_bench("type-A")
    bench.sourcemeter.set_dc_current(2e-3)  # left on by something outside this run
    bench.sourcemeter.set_output(True)
    outcome = run_sequence(parse_sequence(THREE, "night.toml", bench.limits), bench, tmp_path / "run")
    assert outcome.state == "failed" and "reads 2 mA, not the 0 mA" in outcome.error
    entry = read_manifest(tmp_path / "run")["entries"][0]
    assert entry["status"] == "failed" and helpers.data_rows(tmp_path / "run" / entry["file"]) == 0


def test_a_supply_trip_during_a_shutdown_ramp_is_logged_and_stops_the_run(tmp_path):
    start = QUERIES[0][SUPPLY]
    bench, outcome, manifest = run_with(tmp_path, {"kind": "supply_trip", "instrument": SUPPLY,
                                                   "after_queries": start + 3})
    assert outcome.state == "failed" and "supply trip" in outcome.error
    assert len(manifest["entries"]) == 1  # the next task did not switch the output on again
    assert "trip" in (tmp_path / "run" / "run.log").read_text()
    assert not bench.virtual.magnet.output_enabled


def test_stfmr_run_exits_4_with_what_to_switch_off_when_the_end_is_unsafe(tmp_path, capsys):
    faults = tmp_path / "faults.toml"
    faults.write_text(f'[[fault]]\nkind = "drop"\ninstrument = "{SUPPLY}"\nafter_queries = {QUERIES[-1][SUPPLY] + 4}\n'
                      "count = 1000000\n")
    seq = helpers.write(tmp_path, THREE)
    status = cli.main(["run", str(seq), "--sim", "type-A", "--faults", str(faults), "--out", str(tmp_path / "run"),
                       "--quiet"])
    err = capsys.readouterr().err
    assert status == 4
    assert "could not be verified safe" in err and "by hand" in err and SUPPLY in err


def test_ramps_over_visa_stay_under_the_rate_limit_at_every_step():
    bench = open_simulated_bench("type-A", transport="visa")
    guard = safety.SafetyGuard(bench)
    try:
        guard.ramp_current(3.0)
        guard.ramp_current(-1.0)
        assert guard.make_safe("test").safe
        h = bench.virtual.history_arrays()
        steps = int((abs(h["setpoint_A"][1:] - h["setpoint_A"][:-1]) > 0).sum())
        assert steps > 80
        assert helpers.max_setpoint_rate(h) <= bench.limits.max_ramp_rate_A_per_s
    finally:
        bench.close()


def test_a_dead_sim_server_is_never_called_safe_and_every_instrument_is_named():
    bench = open_simulated_bench("type-A", transport="visa")
    guard = safety.SafetyGuard(bench, retry_s=1.0)
    try:
        guard.set_rf(10.0, 15.0)
        guard.rf_output(True)
        guard.ramp_current(0.5)
        for role in bench.roles().values():  # a dead link shows at its first read: wait 0.3 s, not 5 s, for it
            role.driver.adapter.connection.timeout = 300
        bench._server.stop()  # the instruments' server dies: nothing can be read back
        end = guard.make_safe("test")
        assert not end.safe
        assert {p.part for p in end.unverified()} == {"rf output", "dc bias", "magnet"}
        assert "rf output off by hand" in end.instructions() and "ON (15 dBm at 10 GHz)" in end.instructions()
        assert bench.virtual.rf.output_on  # it really is still on
    finally:
        bench.close()
