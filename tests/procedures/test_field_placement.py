"""Non-uniform and adaptive field grids: header round trip, placement, fewer points, ramps, unbiased fits."""

import dataclasses
import json

import numpy as np
import pytest

from stfmr.analysis import lineshape
from stfmr.analysis.characterize import fit_one
from stfmr.analysis.datafile import read_datafile
from stfmr.analysis.field_axis import field_axis, sweep_order
from stfmr.analysis.measurement_design import GRADIENT_NAMES, model_gradient, place_points
from stfmr.analysis.records import FitSettings
from stfmr.app.cli import main
from stfmr.analysis.run_reader import read_run
from stfmr.instruments.bench import default_simulated_config, open_simulated_bench
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.procedures.executor import run_sequence
from stfmr.procedures.field_sweep import parse_field_list
from stfmr.procedures.safety import RAMP_MARGIN, RAMP_STEP_S
from stfmr.procedures.sequence import SequenceError, parse_sequence

from support import runs as helpers

LIMITS = default_simulated_config().limits

STEP = helpers.SAMPLE + """
[[step]]
kind = "field_sweep"
frequency_GHz = 10.0
power_dBm = 15.0
angle_deg = 45.0
"""
WINDOW = STEP + "window_mT = 60.0\nmu0_Meff_T = 0.65\n"
#: the issue's estimate of where V_S is best measured, in linewidths from H_r
ISSUE_ESTIMATE = (-5.4, -1.2, 0.75, 4.4)


def c_optimal_support(ratio: float, lo: float, hi: float) -> list[float]:
    """Support (in linewidths from H_r) of the design minimising Var(V_S), by the multiplicative algorithm.

    Model: the lineshape's gradient for V_S = 1, V_A = ratio, H_r = 0, dH = 1, background V_0 + V_1*x.
    """
    x = np.linspace(lo, hi, 3001)
    s, a, s_hr, a_hr, s_w, a_w = lineshape.shape_gradients(x, 0.0, 1.0)
    g = np.column_stack([s_hr + ratio * a_hr, s_w + ratio * a_w, s, a, np.ones_like(x), x])
    c = np.zeros(6)
    c[2] = 1.0
    w = np.full(x.size, 1.0 / x.size)
    for _ in range(4000):
        w *= np.abs(g @ np.linalg.solve(g.T @ (w[:, None] * g), c))
        w /= w.sum()
    support, weight, place = [], [], []
    for xi, wi in zip(x, w):
        if wi < 1e-3:
            continue
        if place and xi - place[-1][-1] < 0.1:
            place[-1].append(xi)
            weight[-1].append(wi)
        else:
            place.append([xi])
            weight.append([wi])
    support = [float(np.average(p, weights=q)) for p, q in zip(place, weight) if sum(q) > 0.05]
    return support


def test_the_model_gradient_is_the_derivative_of_the_lineshape():
    values = {"H_r": 120.0, "dH": 4.0, "V_S": 2e-6, "V_A": 5e-6, "V_0": 1e-7, "V_1": 3e-9}
    h = np.linspace(90.0, 150.0, 41)
    grad = model_gradient(h, values)
    for k, name in enumerate(GRADIENT_NAMES):
        step = 1e-6 * max(abs(values[name]), 1e-12)
        up, down = dict(values), dict(values)
        up[name] += step
        down[name] -= step
        numeric = (lineshape.spectrum_voltage(h, **up) - lineshape.spectrum_voltage(h, **down)) / (2 * step)
        assert np.allclose(grad[:, k], numeric, rtol=1e-5, atol=1e-6 * np.max(np.abs(numeric))), name


def test_the_best_fields_for_V_S_derived_from_the_lineshape():
    """Where V_S is best measured with (V_A, H_r, dH) and the background free, for the type-A line
    (V_A/V_S about 2.8) in a window from -5.4 linewidths: four places, near the issue's estimate.
    The sequential placement the adaptive sweep uses finds the same places."""
    ratio = 2.8
    support = c_optimal_support(ratio, -5.4, 10.0)
    assert len(support) == 4
    assert np.allclose(support, ISSUE_ESTIMATE, atol=0.35), support
    # sequential placement from a coarse uniform scan (21 points) collects there
    values = {"H_r": 0.0, "dH": 1.0, "V_S": 1.0, "V_A": ratio, "V_0": 0.0, "V_1": 0.0}
    coarse = np.linspace(-5.4, 10.0, 21)
    g = model_gradient(coarse, values)
    cov = np.linalg.inv(g.T @ g)  # noise 1
    candidates = np.linspace(-5.4, 10.0, 1541)
    chosen = np.array(place_points(candidates, cov, values, 1.0, 300))
    near = np.min(np.abs(chosen[:, None] - np.array(support)[None, :]), axis=1)
    assert np.mean(near < 0.75) > 0.95, np.histogram(chosen, bins=20)  # distinct fields: clusters, not repeats
    # and the placed points beat the same number spread uniformly
    gc = model_gradient(np.concatenate([coarse, chosen]), values)
    gu = model_gradient(np.linspace(-5.4, 10.0, 21 + 300), values)
    assert np.linalg.inv(gc.T @ gc)[2, 2] < 0.6 * np.linalg.inv(gu.T @ gu)[2, 2]


def test_sweep_order_sorts_only_branches_that_are_not_monotonic():
    down = np.array([5.0, 4.0, 3.0, -3.0, -4.0, -5.0])
    assert sweep_order(down).tolist() == list(range(6))
    shuffled = np.array([3.0, 1.0, 2.0, -1.0, -3.0, -2.0])
    assert shuffled[sweep_order(shuffled)].tolist() == [1.0, 2.0, 3.0, -3.0, -2.0, -1.0]


def test_the_field_axis_does_not_depend_on_the_order_of_the_points():
    rng = np.random.default_rng(0)
    set_field = np.linspace(100.0, 160.0, 61)
    readings = np.round(set_field * 1.002 + 0.4 + rng.normal(0, 0.03, 61), 1)
    perm = rng.permutation(61)
    assert np.allclose(field_axis(set_field[perm], readings[perm]), field_axis(set_field, readings)[perm])
    assert not np.array_equal(field_axis(set_field[perm], readings[perm]), set_field[perm])  # smoothed


# -- sequences ------------------------------------------------------------------------------------------


def test_fields_mT_gives_a_listed_grid_and_refuses_mixtures():
    seq = parse_sequence(STEP + "fields_mT = [150, 110, 130, 140, 120]\n", "list.toml", LIMITS)
    p = seq.tasks[0].parameters
    assert p["field_grid"] == "list" and p["field_points"] == 5
    assert parse_field_list(p["field_list_mT"]).tolist() == [150, 110, 130, 140, 120]
    with pytest.raises(SequenceError, match="fields_mT.*distinct"):
        parse_sequence(STEP + "fields_mT = [150, 110, 150]\n", "list.toml", LIMITS)
    with pytest.raises(SequenceError, match="fields_mT.*no window_mT"):
        parse_sequence(WINDOW + "fields_mT = [150, 110, 130]\n", "list.toml", LIMITS)
    with pytest.raises(SequenceError, match="field 450 mT"):
        parse_sequence(STEP + "fields_mT = [150, 450, 130]\n", "list.toml", LIMITS)
    with pytest.raises(SequenceError, match="target_rel_error.*adaptive"):
        parse_sequence(WINDOW + "target_rel_error = 0.01\n", "a.toml", LIMITS)


def test_an_adaptive_plan_needs_room_in_its_budget():
    with pytest.raises(SequenceError, match="point budget"):
        parse_sequence(WINDOW + 'field_grid = "adaptive"\nfield_points = 41\npoint_budget = 41\n', "a.toml", LIMITS)


# -- on the virtual bench ---------------------------------------------------------------------------------


def _noisy_sample(factor: float = 30.0) -> VirtualSample:
    base = VirtualSample.preset("type-A")
    return dataclasses.replace(base, noise_density_V_per_rtHz=factor * base.noise_density_V_per_rtHz)


def _run(text: str, folder, sample, seed: int = 0):
    """Measure ``text`` on a fresh virtual bench; return (bench, spectrum, its fits)."""
    bench = open_simulated_bench(sample, seed=seed)
    try:
        outcome = run_sequence(parse_sequence(text, "seq.toml", bench.limits), bench, folder, progress=None)
        assert outcome.state == "finished"
        [spectrum] = read_run(folder).spectra
        spectrum.rows = read_datafile(next(folder.glob("*10GHz*.csv")))  # the file as written
        fits, failed = fit_one(spectrum, FitSettings())
        assert not failed, failed
        return bench, spectrum, fits
    finally:
        bench.close()


def _assert_ramped(bench):
    """The guard's record of the supply setpoint: never faster than the rate, never a step."""
    history = bench.virtual.history_arrays()
    helpers.assert_safe_end(bench)
    max_step = bench.limits.max_ramp_rate_A_per_s * RAMP_MARGIN * RAMP_STEP_S
    assert np.max(np.abs(np.diff(history["setpoint_A"]))) <= max_step * (1 + 1e-6)


def test_a_listed_non_uniform_grid_round_trips_through_the_header_and_is_fitted(tmp_path, capsys):
    """Points in any order: the header holds each one exactly, the rows are in measured order, the
    ramps between out-of-order points stay within the rate, and the analysis fits the file."""
    rng = np.random.default_rng(1)
    fields = np.round(rng.permutation(np.concatenate([np.linspace(116, 176, 25), 140 + rng.uniform(-9, 9, 10)])), 3)
    listed = ", ".join(f"{h:g}" for h in fields)
    bench, spectrum, fits = _run(STEP + f"fields_mT = [{listed}]\nboth_branches = true\n", tmp_path / "run",
                                 _noisy_sample(1.0))
    [path] = (tmp_path / "run").glob("*10GHz*.csv")
    data = read_datafile(path)
    header_fields = parse_field_list(data.header["Field list (mT)"])
    assert header_fields.tolist() == fields.tolist()
    assert data.column("Field set (mT)").tolist() == fields.tolist() + (-fields).tolist()  # measured order
    assert [f.polarity for f in fits] == [1, -1] and fits[0].values["dH"] > 0
    _assert_ramped(bench)
    assert main(["fit", str(path), "--json"]) == 0  # stfmr fit reads it too
    branches = json.loads(capsys.readouterr().out)["branches"]
    assert branches[0]["V_S"]["value"] == pytest.approx(fits[0].values["V_S"], rel=1e-6)


@pytest.fixture(scope="module")
def adaptive_runs(tmp_path_factory):
    """Adaptive sweeps to a 2 % V_S error and uniform 121-point sweeps, at 30x the preset noise, 4 seeds,
    and a noiseless dense sweep for the truth."""
    target = 0.02
    adaptive = WINDOW + f'field_points = 21\nfield_grid = "adaptive"\ntarget_rel_error = {target}\npoint_budget = 400\n'
    uniform = WINDOW + "field_points = 121\n"
    out = {"target": target, "adaptive": [], "uniform": []}
    for seed in range(4):
        for name, text in (("adaptive", adaptive), ("uniform", uniform)):
            bench, spectrum, fits = _run(text, tmp_path_factory.mktemp(name) / "run", _noisy_sample(), seed)
            out[name].append((bench, spectrum, fits[0]))
    quiet = dataclasses.replace(_noisy_sample(), noise_density_V_per_rtHz=0.0)
    out["truth"] = _run(WINDOW + "field_points = 241\n", tmp_path_factory.mktemp("truth") / "run", quiet)[2][0]
    return out


def test_the_adaptive_sweep_reaches_its_target_with_fewer_points_than_a_uniform_sweep(adaptive_runs):
    target = adaptive_runs["target"]
    adaptive_points, uniform_points = [], []
    for (_, spectrum, fit), (_, uspectrum, ufit) in zip(adaptive_runs["adaptive"], adaptive_runs["uniform"]):
        assert fit.stderr["V_S"] / abs(fit.values["V_S"]) <= target
        adaptive_points.append(spectrum.field_mT.size)
        # a uniform sweep's error falls as 1/sqrt(points): the points it needs for the target
        rel = ufit.stderr["V_S"] / abs(ufit.values["V_S"])
        uniform_points.append(uspectrum.field_mT.size * (rel / target) ** 2)
    ratio = np.mean(uniform_points) / np.mean(adaptive_points)
    print(f"points to {target:.0%} on V_S: adaptive {np.mean(adaptive_points):.0f}, "
          f"uniform {np.mean(uniform_points):.0f}, ratio {ratio:.2f}")
    assert ratio > 1.3


def test_adaptive_sweeps_ramp_within_the_limits_and_fit_without_bias(adaptive_runs):
    truth = adaptive_runs["truth"]
    pulls = {name: [] for name in ("H_r", "dH", "V_S", "V_A")}
    for bench, spectrum, fit in adaptive_runs["adaptive"]:
        _assert_ramped(bench)
        steps = np.diff(spectrum.rows.column("Field set (mT)"))
        assert np.any(steps < 0) and np.any(steps > 0)  # rows in measured order: not a monotonic sweep
        for name in pulls:
            pulls[name].append((fit.values[name] - truth.values[name]) / fit.stderr[name])
    for name, p in pulls.items():
        assert np.all(np.abs(p) < 4), (name, p)
        assert abs(np.mean(p)) < 3 / np.sqrt(len(p)), (name, p)

