"""The thickness series (the paper's Fig. 5): model A, B and A-B against the sink thickness, measured beside it."""

import json
import math

import pytest

from stfmr.analysis.gradient.cases import sample_stack
from stfmr.analysis.gradient.compare import MeasuredDataError
from stfmr.analysis.gradient.compositions import load_compositions
from stfmr.analysis.gradient.thickness import (
    format_series,
    load_points,
    model_at,
    parse_thicknesses,
    plot_series,
    points_from_dict,
    thickness_series,
)
from stfmr.analysis.gradient.torques import evaluate


@pytest.fixture(scope="module")
def table():
    return load_compositions()


def analyze_entry(name, stack, dl, dl_err, fl=None, fl_err=None):
    """A sample entry as `stfmr analyze --json` writes it (only the keys the series reads)."""
    entry = {"name": name, "xi_DL_E": {"value": dl, "stderr": dl_err}, "sample": {"stack": stack}}
    entry["xi_FL_Oe_E"] = None if fl is None else {"value": fl, "stderr": fl_err}
    return entry


def test_model_curve_equals_the_single_stack_model_at_every_thickness(table):
    model = model_at(table, [0.0, 1.0, 3.0, 8.0], "local-average")
    assert sorted(model) == [0.0, 1.0, 3.0, 8.0]
    for t, row in model.items():
        thick = table.with_parameters(sink_thickness_nm=t)
        scale = 1e-12 * abs(row["A"]["xi_DL_E"])  # the uniform film without a sink has xi_FL+Oe = 0 (+- 1e-11)
        for kind in ("A", "B", "reference"):
            one = evaluate(sample_stack(kind, thick)).selected
            assert row[kind]["xi_DL_E"] == pytest.approx(one.xi_DL_E, rel=1e-12, abs=scale)
            assert row[kind]["xi_FL_Oe_E"] == pytest.approx(one.xi_FL_Oe_E, rel=1e-12, abs=scale)
        assert row["A-B"]["xi_DL_E"] == row["A"]["xi_DL_E"] - row["B"]["xi_DL_E"]
    # no sink: type B is type A upside down, so the damping-like torque only changes sign
    assert model[0.0]["A"]["xi_DL_E"] == pytest.approx(-model[0.0]["B"]["xi_DL_E"], rel=1e-9)
    # the sink changes the A-B difference, and less once it is many spin lengths thick
    d = {t: model[t]["A-B"]["xi_DL_E"] for t in model}
    assert abs(d[1.0] - d[0.0]) > 10 * abs(d[8.0] - d[3.0])


def test_measured_points_beside_the_model_and_their_A_minus_B(table):
    data = {"samples": [
        analyze_entry("type-A", "Ta-B(3)/Ni-Fe(5)/MgO", 32700.0, 600.0, 38600.0, 200.0),
        analyze_entry("type-B", "Ta-B(3)/Ni-Fe(5)/MgO", -46800.0, 700.0, -3500.0, 400.0),
        analyze_entry("type-A", "Ta-B(1.5)/Ni-Fe(5)/MgO", 20000.0, 900.0),
        {"name": "plain B", "kind": "B", "sink_thickness_nm": 6, "xi_DL_E": -40000.0, "xi_DL_E_stderr": 800.0},
    ]}
    points = points_from_dict(data)
    assert [(p.sample.kind, p.thickness_nm) for p in points] == [("A", 3.0), ("B", 3.0), ("A", 1.5), ("B", 6.0)]
    series = thickness_series(table, [1.0, 2.0, 4.0], points)
    assert [r["thickness_nm"] for r in series["model"]] == [1.0, 2.0, 4.0]
    rows = {r["thickness_nm"]: r for r in series["measured"]}
    assert sorted(rows) == [1.5, 3.0, 6.0]
    at3 = model_at(table, [3.0], "local-average")[3.0]
    diff = rows[3.0]["A-B"]["xi_DL_E"]
    assert diff["measured"] == 32700.0 + 46800.0 and diff["stderr"] == pytest.approx(math.hypot(600.0, 700.0))
    assert diff["model"] == pytest.approx(at3["A-B"]["xi_DL_E"], rel=1e-12)
    assert rows[3.0]["A-B"]["xi_FL_Oe_E"]["measured"] == 38600.0 + 3500.0
    assert "A-B" not in rows[1.5] and rows[1.5]["A"]["xi_FL_Oe_E"]["measured"] is None
    assert rows[6.0]["B"]["xi_DL_E"]["model"] == pytest.approx(model_at(table, [6.0], "local-average")[6.0]["B"]["xi_DL_E"])
    text = format_series(series)
    assert "measured against the model" in text and "A-B" in text and "7.95e+04" in text


def test_series_files_and_figure(table, tmp_path):
    path = tmp_path / "analysis.json"
    path.write_text(json.dumps({"samples": [analyze_entry("type-A", "Ta-B(2)/Ni-Fe(5)", 1.0, 0.1)]}))
    (point,) = load_points(path)
    assert point.thickness_nm == 2.0
    png = plot_series(thickness_series(table, [1.0, 2.0], [point]), tmp_path / "fig5.png")
    assert png.stat().st_size > 10_000


def test_bad_series_input_is_refused_with_the_problem_named(table):
    with pytest.raises(MeasuredDataError, match="'x' is not a number"):
        parse_thicknesses("1,x")
    with pytest.raises(MeasuredDataError, match="0 .no sink. or positive, got -1"):
        parse_thicknesses("1,-1")
    with pytest.raises(MeasuredDataError, match="no thickness given"):
        parse_thicknesses(" , ")
    assert parse_thicknesses("3, 1,3,0") == [0.0, 1.0, 3.0]
    with pytest.raises(MeasuredDataError, match="sample 'type-A': no sink thickness"):
        points_from_dict({"samples": [analyze_entry("type-A", "Pt(5)/Py(5)", 1.0, 0.1)]})
    two = points_from_dict({"samples": [analyze_entry("type-A", "Ta-B(3)", 1.0, 0.1),
                                        analyze_entry("type A", "Ta-B(3)", 2.0, 0.1)]})
    with pytest.raises(MeasuredDataError, match="both type A at 3 nm"):
        thickness_series(table, [3.0], two)
