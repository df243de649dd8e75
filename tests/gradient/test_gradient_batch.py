"""The batched solve (analysis/gradient/batch.py) against the single-stack solver, stack by stack."""

import numpy as np
import pytest
from stfmr.analysis.gradient.batch import (
    FIELDS,
    _groups,
    evaluate_many,
    solve_group,
    solve_tridiagonal_batch,
)
from stfmr.analysis.gradient.cases import CASE_NAMES, case_stack, sample_stack
from stfmr.analysis.gradient.compositions import load_compositions
from stfmr.analysis.gradient.solver import solve
from stfmr.analysis.gradient.stack import Layer, Stack, StackError, stack_from_dict
from stfmr.analysis.gradient.torques import evaluate
from support.stacks import layer

RTOL = 1e-12


def random_stack(rng):
    """A random stack: with or without a sink, 1-4 ferromagnets, sometimes an interface conductance."""
    layers = []
    if rng.random() < 0.8:
        layers.append(layer("sink", "N", rng.uniform(0.2, 8), rng.uniform(20, 250), rng.uniform(-0.2, 0.2),
                            rng.uniform(0.5, 3)))
    for i in range(int(rng.integers(1, 5))):
        layers.append(layer("ferromagnet", f"F{i}", rng.uniform(0.2, 3), rng.uniform(15, 90),
                            rng.uniform(-0.06, 0.06), rng.uniform(1, 6), rng.uniform(0.8, 2.5),
                            rng.uniform(0.8, 4), rng.uniform(0.4, 2.0)))
    if layers[0]["role"] == "sink" and rng.random() < 0.4:
        layers[1]["G_mix_S_per_m2"] = 10 ** rng.uniform(13, 16)
        layers[1]["G_mix_imag_S_per_m2"] = rng.uniform(-0.3, 0.3) * layers[1]["G_mix_S_per_m2"]
    model = {"slice_nm": float(rng.choice([0.1, 0.25, 0.5, 0.7])), "lambda_J_sign": int(rng.choice([-1, 1])),
             "g": float(rng.choice([2.0, 2.1]))}
    return stack_from_dict({"model": model, "layer": layers})


def edge_stacks():
    """Stacks at the edges: no sink, thick sinks (exp(-kappa*h) underflows), tiny slices, extreme G, theta = 0."""
    fm = dict(lj=1.5, lphi=2.0, ms=1.0)
    mk = lambda layers, **m: stack_from_dict({"model": m, "layer": layers})  # noqa: E731
    return [
        mk([layer("ferromagnet", "F", 3.0, 30, 0.04, 3.0, **fm)]),
        mk([layer("sink", "N", 400.0, 200, 0.1, 0.3), layer("ferromagnet", "F", 2.0, 30, 0.0, 3.0, **fm)],
           slice_nm=1000.0),
        mk([layer("sink", "N", 0.01, 200, 0.1, 1.0), layer("ferromagnet", "F", 0.01, 30, 0.02, 3.0, **fm)],
           slice_nm=0.001),
        mk([layer("sink", "N", 3.0, 200, -0.1, 1.5),
            layer("ferromagnet", "F", 2.0, 30, 0.0, 3.0, **fm, G_mix_S_per_m2=1e9)]),
        mk([layer("sink", "N", 3.0, 200, -0.1, 1.5),
            layer("ferromagnet", "F", 2.0, 30, 0.0, 3.0, **fm, G_mix_S_per_m2=1e20, G_mix_imag_S_per_m2=-1e19)]),
        mk([layer("sink", "N", 3.0, 200, 0.0, 1.5), layer("ferromagnet", "F", 2.0, 30, 0.0, 3.0, **fm)]),
        mk([layer("sink", "N", 3.0, 200, 0.1, 1.5), layer("ferromagnet", "F", 60.0, 30, 0.02, 3.0, **fm)],
           weighting="macrospin", lambda_J_sign=-1),
    ]


def assert_same_totals(stacks, batch):
    # components that vanish by symmetry (one slice without a sink, theta = 0) come out exactly 0 from
    # one solver and ~1e-16 of the typical value from the other: those are compared on the typical scale
    typical = {w: max(np.median(np.abs(batch.values[w][k])) for k in FIELDS) for w in batch.values}
    for i, s in enumerate(stacks):
        single = evaluate(s)
        for w, one in single.totals.items():
            two = batch.totals(i, w)
            scale = max(max(abs(getattr(one, k)) for k in FIELDS), typical[w])
            for k in FIELDS:
                assert getattr(two, k) == pytest.approx(getattr(one, k), rel=RTOL, abs=RTOL * scale), (i, w, k)
        assert batch.weightings[i] == s.weighting


def test_random_and_edge_stacks_equal_the_single_stack_solver():
    rng = np.random.default_rng(16)
    stacks = [random_stack(rng) for _ in range(150)] + edge_stacks()
    batch = evaluate_many(stacks)
    assert len(batch) == len(stacks)
    assert len(_groups(stacks)) > 10  # many structures, solved group by group, results back in order
    assert_same_totals(stacks, batch)


def test_spin_accumulation_at_every_node_equals_the_solver():
    rng = np.random.default_rng(5)
    stacks = [random_stack(rng) for _ in range(40)] + edge_stacks()
    for group in _groups(stacks):
        u_nodes, u_slice = solve_group(group)
        for row, i in enumerate(group.members):
            single = solve(stacks[i])
            scale = np.abs(single.u_nodes).max()
            # 0.001 nm slices (kappa*h ~ 1e-5) make the system's condition number ~1e10: there two
            # exact-arithmetic-equal solvers differ by a few 1e-12 (the totals still agree to 1e-12)
            tol = 1e-11 if stacks[i].slice_nm < 0.01 else RTOL
            np.testing.assert_allclose(u_nodes[row], single.u_nodes, rtol=tol, atol=tol * scale)
            np.testing.assert_allclose(u_slice[row], single.u_slice, rtol=tol, atol=tol * scale)


def test_paper_cases_and_samples_in_one_batch():
    table = load_compositions()
    stacks = [case_stack(n, table) for n in CASE_NAMES] + [sample_stack(k, table) for k in ("A", "B", "reference")]
    batch = evaluate_many(stacks, weighting="macrospin")
    assert set(batch.weightings) == {"macrospin"}
    for i, s in enumerate(stacks):
        one = evaluate(s, weighting="macrospin").selected
        assert batch.totals(i).xi_DL_E == pytest.approx(one.xi_DL_E, rel=RTOL)
        assert batch.column("xi_FL_Oe_E", "macrospin")[i] == pytest.approx(one.xi_FL_Oe_E, rel=RTOL)
    assert [t.xi_DL_E for t in batch.selected()] == list(batch.column("xi_DL_E", "macrospin"))


def test_tridiagonal_batch_matches_a_dense_solve():
    rng = np.random.default_rng(1)
    n, batch = 9, 4
    off = rng.normal(size=(batch, n - 1)) + 1j * rng.normal(size=(batch, n - 1))
    diag = 4.0 + rng.normal(size=(batch, n)) + 1j * rng.normal(size=(batch, n))
    rhs = rng.normal(size=(batch, n)) + 1j * rng.normal(size=(batch, n))
    x = solve_tridiagonal_batch(diag, off, rhs)
    for k in range(batch):
        dense = np.diag(diag[k]) + np.diag(off[k], 1) + np.diag(off[k], -1)
        np.testing.assert_allclose(dense @ x[k], rhs[k], rtol=1e-12, atol=1e-12)


def test_bad_input_is_refused_with_a_named_problem():
    table = load_compositions()
    with pytest.raises(StackError, match="unknown weighting 'rigid'"):
        evaluate_many([sample_stack("A", table)], weighting="rigid")
    bare = Stack(layers=(Layer(name="F", role="ferromagnet", thickness_nm=1.0, rho_uOhm_cm=30.0, theta_SH=0.0,
                               l_sf_nm=3.0),))
    with pytest.raises(StackError, match="'F': a ferromagnet needs l_J_nm"):
        evaluate_many([sample_stack("A", table), bare])
    assert len(evaluate_many([])) == 0


def test_fit_residuals_and_jacobian_in_one_batch_match_the_one_by_one_model():
    import lmfit
    from stfmr.analysis.gradient.compare import (
        forward_jacobian,
        model_values,
        residuals_many,
    )

    table = load_compositions()
    names = ["theta_Ni", "sink_rho_uOhm_cm"]
    data = [("A", "xi_DL_E", 30000.0, 600.0), ("B", "xi_FL_Oe_E", -3500.0, 400.0),
            ("reference", "xi_DL_E", 5000.0, 100.0)]
    points = np.array([[0.03, 200.0], [0.05, 170.0], [-0.02, 250.0]])

    def one_by_one(x):
        t = table.with_parameters(**dict(zip(names, x)))
        return np.array([(getattr(model_values(k, t, "local-average"), q) - v) / e for k, q, v, e in data])

    r = residuals_many(table, names, points, data, "local-average")
    for row, x in zip(r, points):
        np.testing.assert_allclose(row, one_by_one(x), rtol=1e-12)
    bounds = lmfit.Parameters()
    bounds.add("theta_Ni", value=0.05, min=-1.0, max=1.0)
    bounds.add("sink_rho_uOhm_cm", value=170.0, min=1.0, max=170.0)  # at its upper bound
    x = np.array([0.05, 170.0])
    jac = forward_jacobian(table, names, bounds, x, data, "local-average")
    assert jac.shape == (3, 2)
    for j, h in enumerate((1e-4, 1e-2)):  # central differences of the one-by-one model
        step = np.zeros(2)
        step[j] = h
        np.testing.assert_allclose(jac[:, j], (one_by_one(x + step) - one_by_one(x - step)) / (2 * h),
                                   rtol=1e-4, atol=1e-6)


def test_a_change_of_the_torque_formula_reaches_both_paths(monkeypatch):
    """The batch calls torques' own functions: change the formula there and both paths follow it."""
    from stfmr.analysis.gradient import torques

    table = load_compositions()
    stacks = [sample_stack(k, table) for k in ("A", "B", "reference")]
    before = evaluate_many(stacks)
    original = torques.torque_on_magnetization
    monkeypatch.setattr(torques, "torque_on_magnetization", lambda n, ms, g: np.conj(original(n, ms, g)))
    after = evaluate_many(stacks)
    for i, s in enumerate(stacks):
        single = evaluate(s).selected
        assert after.totals(i).xi_FL_E == pytest.approx(-before.totals(i).xi_FL_E, rel=1e-12)
        assert after.totals(i).xi_FL_E == pytest.approx(single.xi_FL_E, rel=1e-12)
        assert after.totals(i).xi_DL_E == pytest.approx(single.xi_DL_E, rel=1e-12)
