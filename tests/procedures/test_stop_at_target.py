"""A sequence that stops at a target error of xi_DL^E, and repeats the steps the uncertainty budget picks."""

from __future__ import annotations

import json
import threading

import pytest

from stfmr.analysis.characterize import analyze_run
from stfmr.analysis.run_manifest import COMPLETE, read_manifest
from stfmr.analysis.run_reader import read_run
from stfmr.app import cli
from stfmr.instruments.bench import open_simulated_bench
from stfmr.procedures.executor import ExecutorObserver, run_sequence
from stfmr.procedures.sequence import SequenceError, parse_sequence
from stfmr.procedures.target import check_run
from tests.support import runs as helpers

#: AMR, rf calibration, two frequencies, a 4-angle sweep (marked), then a last spectrum at 12 GHz
STEPS = helpers.TARGET_STEPS + helpers.TARGET_LAST_SPECTRUM
#: the step kind whose measurement each input of xi_DL^E comes from (as the README says)
KIND_OF_INPUT = {"I_0": "rf_calibration", "Delta_R_AMR": "amr", "R": "amr", "V_S0": "angle_sweep",
                 "V_A0": "angle_sweep", "H_r": "angle_sweep", "dH": "angle_sweep", "M_eff": "frequency_sweep",
                 "g": "frequency_sweep"}


def sequence_text(target: str, design: str = "precision") -> str:
    steps = STEPS.replace("DESIGN", design)
    if design == "grid":  # R(P) read once at each of 5 powers through 0.1 mA
        steps = steps.replace("powers_dBm = [0.0, 20.0]", "powers_dBm = [0.0, 5.0, 10.0, 15.0, 20.0]")
    return f"target = {{{target}}}\n" + helpers.SAMPLE + steps


def xi_rel(folder) -> float:
    eff = analyze_run(read_run(folder)).efficiencies
    return eff.xi_DL_E.std_dev / abs(eff.xi_DL_E.nominal_value)


def test_a_loose_target_stops_the_run_at_the_step_that_reaches_it(tmp_path):
    measured = helpers.measure(sequence_text("xi_DL_E_rel = 0.5"), tmp_path / "run")
    try:
        helpers.assert_safe_end(measured.bench)
    finally:
        measured.bench.close()
    assert measured.outcome.state == "finished"
    assert measured.outcome.stopped == "target reached"
    manifest = read_manifest(tmp_path / "run")
    record = manifest["target"]
    assert manifest["state"] == "finished" and "error" not in manifest
    assert record["stopped"] == "target reached" and record["target"] == 0.5 and record["after_step"] == 4
    assert record["rounds"] == []
    # the angle sweep (step 4) gave xi_DL^E well inside 50 %: the 12 GHz spectrum (step 5) never started
    assert {e["step"] for e in manifest["entries"]} == {1, 2, 3, 4}
    assert all(e["status"] == COMPLETE for e in manifest["entries"])
    assert record["xi_DL_E_rel"] == pytest.approx(xi_rel(tmp_path / "run"), rel=1e-9)
    assert record["xi_DL_E_rel"] <= 0.5
    assert "target reached after step 4" in (tmp_path / "run" / "run.log").read_text()

    # a resume of a run that reached its target measures nothing more
    bench = open_simulated_bench("type-A")
    try:
        again = run_sequence(parse_sequence(sequence_text("xi_DL_E_rel = 0.5"), "seq.toml"), bench,
                             tmp_path / "run", resume=True)
    finally:
        bench.close()
    assert again.state == "finished" and again.stopped == "target reached"
    assert len(read_manifest(tmp_path / "run")["entries"]) == len(manifest["entries"])


def budget_kinds(check) -> list[str]:
    """The marked kinds (rf_calibration, angle_sweep) by their share of xi_DL^E's variance, largest first."""
    return sorted(("rf_calibration", "angle_sweep"), key=lambda k: -check.shares.get(k, 0.0))


@pytest.mark.parametrize("design", ["precision", "grid"])
def test_an_unreachable_target_repeats_the_step_the_budget_picks_max_rounds_times(tmp_path, design):
    """The precision rf calibration leaves the angle sweep dominant; the 0.1 mA grid design leaves I_0 dominant,
    which no marked step can lower: the angle sweep is repeated and the reason names the rf calibration."""
    text = sequence_text("xi_DL_E_rel = 1e-6, max_rounds = 2" if design == "precision"
                         else "xi_DL_E_rel = 1e-6, max_rounds = 1", design)
    measured = helpers.measure(text, tmp_path / "run")
    measured.bench.close()
    rounds = 2 if design == "precision" else 1
    manifest = read_manifest(tmp_path / "run")
    record = manifest["target"]
    assert measured.outcome.state == manifest["state"] == "finished"
    assert record["stopped"].startswith("target not reached (") and f"> 1e-06) after {rounds} rounds" in record["stopped"]
    assert [r["round"] for r in record["rounds"]] == list(range(1, rounds + 1))
    assert [r["steps"] for r in record["rounds"]] == [[6 + k] for k in range(rounds)]
    folder = tmp_path / "run"
    shares_then = record["rounds"][0]["why"]
    expected = "angle_sweep"
    assert record["rounds"][0]["kinds"] == [expected], shares_then
    if design == "grid":
        assert "the largest, rf_calibration" in shares_then and "has no marked step" in shares_then
    for r in record["rounds"]:
        assert r["kinds"] == [expected] and "share of xi_DL^E's variance" in r["why"]
    repeated = [e for e in manifest["entries"] if e["step"] >= 6]
    assert repeated and {e["kind"] for e in repeated} == {expected}
    assert all(e["status"] == COMPLETE for e in manifest["entries"])
    # independent of the executor: the final budget ranks the same kind first among the marked ones
    final = check_run(folder)
    assert budget_kinds(final)[0] == ("angle_sweep" if design == "precision" else "rf_calibration")
    assert record["xi_DL_E_rel"] == pytest.approx(final.rel, rel=1e-9)
    if expected == "angle_sweep":  # every spectrum at the sweep's frequency enters the angular fit
        assert final.rel < record["rounds"][0]["xi_DL_E_rel"]
    # the stored sequence holds the appended steps, unmarked, and is the one the manifest names
    stored = parse_sequence((folder / "sequence.toml").read_text(), "stored")
    assert stored.sha256 == manifest["sequence_sha256"] and manifest["tasks"] == len(stored.tasks)
    assert [n for n, _ in stored.marked_steps] == [4]


def test_a_run_dominated_by_i0_repeats_its_rf_calibration_and_pools_it(tmp_path):
    """The 0.1 mA grid calibration leaves I_0 dominant: the marked rf calibration is repeated, the analysis
    pools both calibrations, and xi_DL^E's error and I_0's share fall."""
    text = sequence_text("xi_DL_E_rel = 1e-6, max_rounds = 1", "grid")
    text = text.replace('design = "grid"\n', 'design = "grid"\nrepeat_until_target = true\n')
    measured = helpers.measure(text, tmp_path / "run")
    measured.bench.close()
    folder = tmp_path / "run"
    manifest = read_manifest(folder)
    record = manifest["target"]
    assert manifest["state"] == "finished" and record["stopped"].endswith("after 1 rounds")
    (first,) = record["rounds"]
    assert first["kinds"] == ["rf_calibration"] and first["steps"] == [6]
    assert first["why"].startswith("share of xi_DL^E's variance by marked step: rf_calibration ")
    assert "% (I_0), angle_sweep " in first["why"] and "has no marked step" not in first["why"]
    assert [e["kind"] for e in manifest["entries"] if e["step"] == 6] == ["rf_calibration"]
    result = analyze_run(read_run(folder))
    pooling = result.to_dict()["rf_calibration_pooling"]
    files = sorted(c.file for c in result.run.rf_calibrations)
    assert len(files) == 2
    for slope in ("k_Ohm_per_A2", "c_Ohm_per_W"):
        assert pooling[slope]["repeats"] == 2 and sorted(pooling[slope]["files"]) == files
    assert any(n.startswith("rf heating slope c at 10 GHz: inverse-variance mean of 2 repeats") for n in result.notes)
    final = check_run(folder)
    assert final.rel is not None and final.rel < 0.85 * first["xi_DL_E_rel"]
    assert record["xi_DL_E_rel"] == pytest.approx(final.rel, rel=1e-9)
    # the budget holds the pooled I_0 error, smaller than the single calibration's of the first check
    budget = result.uncertainty_budgets()["xi_DL_E"]
    i0 = next(x for x in budget.inputs if x.name == "I_0")
    assert i0.stderr == pytest.approx(result.rf.I0_A(result.rf_power_dBm)[1], rel=1e-9)
    assert final.shares["rf_calibration"] < check_shares_in(first["why"])["rf_calibration"]


def check_shares_in(why: str) -> dict[str, float]:
    """{kind: share} from a round's reason ("...: rf_calibration 87.3 % (I_0), angle_sweep 12.6 % (...)")."""
    import re

    return {m.group(1): float(m.group(2)) / 100 for m in re.finditer(r"(\w+) (-?[\d.]+) %", why)}


class StopInRound(ExecutorObserver):
    """Stops the run when the first task of an appended step (a target round) starts."""

    def __init__(self, stop: threading.Event, first_appended_step: int) -> None:
        self.stop, self.first = stop, first_appended_step

    def task_started(self, task, entry, procedure, results) -> None:
        if task.step >= self.first:
            self.stop.set()


@pytest.mark.parametrize("marked", ["angle_sweep", "rf_calibration"])
def test_a_run_stopped_mid_round_resumes_with_its_appended_steps(tmp_path, capsys, marked):
    """Stopped in the first round's step (an angle sweep, or with I_0 dominant and the rf calibration marked,
    a repeat of the calibration), resumed: both rounds complete; a stopped calibration's file is not pooled."""
    if marked == "angle_sweep":
        text = sequence_text("xi_DL_E_rel = 1e-6, max_rounds = 2")
    else:
        text = sequence_text("xi_DL_E_rel = 1e-6, max_rounds = 2", "grid").replace(
            'design = "grid"\n', 'design = "grid"\nrepeat_until_target = true\n')
    path = helpers.write(tmp_path, text)
    out = tmp_path / "run"
    stop = threading.Event()
    bench = open_simulated_bench("type-A")
    try:
        first = run_sequence(parse_sequence(text, str(path), bench.limits), bench, out, stop=stop,
                             observer=StopInRound(stop, 6))
    finally:
        bench.close()
    assert first.state == "aborted"
    manifest = read_manifest(out)
    assert len(manifest["target"]["rounds"]) == 1 and "stopped" not in manifest["target"]
    assert [e["status"] for e in manifest["entries"] if e["step"] == 6][0] == "aborted"
    # the original file, resumed from the command line: the folder's stored sequence carries the round
    assert cli.main(["run", str(path), "--sim", "type-A", "--out", str(out), "--resume", "--quiet"]) == 0
    assert "finished" in capsys.readouterr().out
    manifest = read_manifest(out)
    record = manifest["target"]
    assert manifest["state"] == "finished"
    assert [r["round"] for r in record["rounds"]] == [1, 2]
    assert record["stopped"].endswith("after 2 rounds")
    stored = parse_sequence((out / "sequence.toml").read_text(), "stored")
    complete = {e["key"] for e in manifest["entries"] if e["status"] == COMPLETE}
    assert complete == {t.key for t in stored.tasks}
    assert {t.step for t in stored.tasks} == set(range(1, 8))
    assert len(json.loads((out / "manifest.json").read_text())["resumed"]) == 1
    assert all(r["kinds"] == [marked] for r in record["rounds"])
    if marked == "rf_calibration":  # the first, and one of each round: the stopped one is not among them
        stopped = {p.name for p in out.glob("*rf_calibration*.incomplete.csv")}
        pooled = analyze_run(read_run(out)).to_dict()["rf_calibration_pooling"]["c_Ohm_per_W"]
        assert len(stopped) == 1 and pooled["repeats"] == 3 and not stopped & set(pooled["files"])


SAMPLE_AND_SWEEP = helpers.SAMPLE + STEPS.replace("DESIGN", "precision")


@pytest.mark.parametrize("target, problem", [
    ("xi_DL_E_rel = 0", "target xi_DL_E_rel: the relative standard error of xi_DL^E to reach must be between 0 and 1"),
    ("xi_DL_E_rel = 1.0", "target xi_DL_E_rel: the relative standard error"),
    ("xi_DL_E_rel = -0.01", "target xi_DL_E_rel: the relative standard error"),
    ('xi_DL_E_rel = "1 %"', "target xi_DL_E_rel: must be a number"),
    ("xi_DL_E_rel = 0.01, max_rounds = 11", "target max_rounds: must be an integer in 0..10"),
    ("xi_DL_E_rel = 0.01, max_rounds = -1", "target max_rounds: must be an integer in 0..10"),
    ("xi_DL_E_rel = 0.01, max_rounds = 1.5", "target max_rounds: must be an integer in 0..10"),
    ("max_rounds = 2", "xi_DL_E_rel"),
    ("xi_DL_E_rel = 0.01, rounds = 2", "rounds"),
])
def test_bad_target_values_are_refused_naming_the_key(target, problem):
    with pytest.raises(SequenceError) as err:
        parse_sequence(f"target = {{{target}}}\n" + SAMPLE_AND_SWEEP, "seq.toml")
    assert problem in str(err.value) and "sequence seq.toml: target" in str(err.value)


def test_repeat_until_target_is_refused_on_a_step_that_cannot_help_without_a_target_or_not_boolean():
    """A field_sweep gives no input of xi_DL^E; every marked step needs a target; the mark is a boolean."""
    marked_field_sweep = SAMPLE_AND_SWEEP.rstrip() + "\nrepeat_until_target = true\n"
    with pytest.raises(SequenceError, match=r"step 5 \(field_sweep\) repeat_until_target: a repeat of a field_sweep "
                                            r"step cannot lower the error of xi_DL\^E"):
        parse_sequence("target = {xi_DL_E_rel = 0.01}\n" + marked_field_sweep, "seq.toml")
    with pytest.raises(SequenceError, match=r"step 4 \(angle_sweep\) repeat_until_target: give the sequence a "
                                            r"target"):
        parse_sequence(SAMPLE_AND_SWEEP, "seq.toml")
    with pytest.raises(SequenceError, match=r"step 4 \(angle_sweep\) repeat_until_target: must be"):
        parse_sequence("target = {xi_DL_E_rel = 0.01}\n" + SAMPLE_AND_SWEEP.replace(
            "repeat_until_target = true", 'repeat_until_target = "yes"', 1), "seq.toml")


def test_a_target_without_an_angle_sweep_is_refused():
    no_angles = helpers.SAMPLE + STEPS.replace("DESIGN", "precision").replace('kind = "angle_sweep"',
                                                                               'kind = "field_sweep"')
    no_angles = no_angles.replace("angles_deg = [30, 60, 120, 150]", "angle_deg = 45").replace(
        "field_points = 41\nrepeat_until_target = true", "field_points = 41")
    parse_sequence(no_angles.replace("repeat_until_target = true", ""), "seq.toml")  # fine without a target
    with pytest.raises(SequenceError, match=r"sequence seq.toml: target: xi_DL\^E is derived from an angle_sweep"):
        parse_sequence("target = {xi_DL_E_rel = 0.01}\n" + no_angles, "seq.toml")


def test_a_sequence_with_a_target_records_it_and_its_marked_steps():
    sequence = parse_sequence("target = {xi_DL_E_rel = 0.02}\n" + SAMPLE_AND_SWEEP, "seq.toml")
    assert sequence.target is not None and sequence.target.to_dict() == {"xi_DL_E_rel": 0.02, "max_rounds": 2}
    assert [(n, raw["kind"]) for n, raw in sequence.marked_steps] == [(4, "angle_sweep")]
    # the analysis pools every rf calibration and AMR sweep: those steps may be marked too
    every = SAMPLE_AND_SWEEP.replace("sense_current_mA = 1.0\n", "sense_current_mA = 1.0\nrepeat_until_target = true\n")
    every = every.replace('design = "precision"\n', 'design = "precision"\nrepeat_until_target = true\n')
    sequence = parse_sequence("target = {xi_DL_E_rel = 0.02}\n" + every, "seq.toml")
    assert [(n, raw["kind"]) for n, raw in sequence.marked_steps] == [(1, "amr"), (2, "rf_calibration"),
                                                                      (4, "angle_sweep")]
    assert parse_sequence(SAMPLE_AND_SWEEP.replace("repeat_until_target = true", ""), "s").target is None
