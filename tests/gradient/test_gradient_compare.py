"""Model against measurement: reading values, the table, the parameter fit, the figure."""

import json
from pathlib import Path

import numpy as np
import pytest

from stfmr.analysis.gradient.cases import CASE_NAMES, run_cases
from stfmr.analysis.gradient.compare import (
    MeasuredDataError,
    MeasuredSample,
    comparison_table,
    fit_parameters,
    load_measured,
    measured_from_dict,
    model_values,
)
from stfmr.analysis.gradient.compositions import load_compositions

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def table():
    return load_compositions()


def test_reads_the_json_of_stfmr_analyze(tmp_path):
    data = {
        "samples": [
            {"name": "type A t=3nm", "xi_DL_E": {"value": 32700, "stderr": 600}, "xi_FL_Oe_E": {"value": 38600, "stderr": 200}},
            {"name": "reference", "xi_DL_E": {"value": 5000, "stderr": 900}, "V_S": {"value": 1e-6, "stderr": 1e-8}},
        ]
    }
    path = tmp_path / "analysis.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    a, ref = load_measured(path)
    assert (a.kind, a.xi_DL_E, a.xi_DL_E_stderr, a.xi_FL_Oe_E) == ("A", 32700.0, 600.0, 38600.0)
    assert ref.kind == "reference" and ref.xi_FL_Oe_E is None


def test_reads_the_typed_in_toml_example():
    a, b = load_measured(EXAMPLES / "measured_paper_t3nm.toml")
    assert (a.kind, b.kind) == ("A", "B")
    assert b.xi_DL_E == -46800.0 and b.xi_FL_Oe_E_stderr == 400.0


@pytest.mark.parametrize(
    "entry, words",
    [
        ({"name": "sample 7", "xi_DL_E": {"value": 1, "stderr": 1}}, ["'sample 7'", "kind"]),
        ({"name": "type A", "xi_DL_E": {"value": 1, "stderr": 0}}, ["'type A'", "xi_DL_E", "stderr"]),
        ({"name": "type B", "xi_DL_E": 1.0}, ["'type B'", "xi_DL_E", "stderr"]),
        ({"name": "type B"}, ["'type B'", "neither"]),
        ({"xi_DL_E": {"value": 1, "stderr": 1}}, ["sample 1", "'name'"]),
    ],
)
def test_bad_measured_values_are_refused(entry, words):
    with pytest.raises(MeasuredDataError) as exc:
        measured_from_dict({"samples": [entry]})
    for word in words:
        assert word in str(exc.value)
    with pytest.raises(MeasuredDataError, match="no samples"):
        measured_from_dict({"samples": []})


def test_comparison_table_holds_model_and_measurement(table):
    measured = load_measured(EXAMPLES / "measured_paper_t3nm.toml")
    rows = comparison_table(measured, table)
    model_a = model_values("A", table, "local-average")
    assert rows[0]["xi_DL_E"] == {"measured": 32700.0, "stderr": 600.0, "measured_stfmr": 32700.0,
                                  "model": model_a.xi_DL_E}
    assert rows[0]["measured_sign_convention"] == "stfmr"
    assert rows[0]["xi_FL_Oe_E"]["model"] == pytest.approx(model_a.xi_FL_E + model_a.xi_Oe_E)


def test_fit_recovers_parameters_of_synthetic_measurements(table, rng):
    truth = table.with_parameters(theta_Ni=0.05, theta_Fe=-0.02, sink_rho_uOhm_cm=170.0)
    measured = []
    for kind in ("A", "B", "reference"):
        t = model_values(kind, truth, "local-average")
        err_dl, err_fl = 0.01 * abs(t.xi_DL_E), 0.01 * abs(t.xi_FL_Oe_E)
        measured.append(
            MeasuredSample(
                kind,
                kind,
                t.xi_DL_E + err_dl * rng.standard_normal(),
                err_dl,
                t.xi_FL_Oe_E + err_fl * rng.standard_normal(),
                err_fl,
            )
        )
    fit = fit_parameters(measured, table, ["theta_Ni", "theta_Fe", "sink_rho_uOhm_cm"])
    assert fit.success and fit.ndata == 6
    for name, true in (("theta_Ni", 0.05), ("theta_Fe", -0.02), ("sink_rho_uOhm_cm", 170.0)):
        assert fit.stderr[name] is not None and fit.stderr[name] > 0
        assert abs(fit.values[name] - true) < 4 * fit.stderr[name], name
    assert fit.correlation.shape == (3, 3) and np.allclose(np.diag(fit.correlation), 1)
    assert fit.redchi < 5
    after = comparison_table(measured, fit.table)
    assert all(abs(r["xi_DL_E"]["model"] - r["xi_DL_E"]["measured"]) < 4 * r["xi_DL_E"]["stderr"] for r in after)


def test_fit_refuses_bad_requests(table):
    measured = load_measured(EXAMPLES / "measured_paper_t3nm.toml")
    with pytest.raises(MeasuredDataError, match="'?theta_Co'?"):
        fit_parameters(measured, table, ["theta_Co"])
    with pytest.raises(MeasuredDataError, match="cannot be fitted to 4"):
        fit_parameters(measured, table, ["theta_Ni", "theta_Fe", "l_sf_nm", "l_J_nm", "l_phi_nm"])


def test_figure_is_written(table, tmp_path):
    from stfmr.analysis.gradient.plot import plot_model

    results = run_cases(CASE_NAMES, table)
    out = plot_model(results, tmp_path / "fig4.png", measured=load_measured(EXAMPLES / "measured_paper_t3nm.toml"))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    with pytest.raises(ValueError, match="'X-A'"):
        plot_model(results, tmp_path / "bad.png", profile="X-A")


def test_kinds_given_by_name_override_the_file():
    data = {"samples": [{"name": "S7", "xi_DL_E": {"value": 1.0, "stderr": 1.0}}]}
    (s,) = measured_from_dict(data, kinds={"S7": "B"})
    assert s.kind == "B"
    with pytest.raises(MeasuredDataError, match="'S8'"):
        measured_from_dict(data, kinds={"S7": "A", "S8": "A"})
    with pytest.raises(MeasuredDataError, match="'C'"):
        measured_from_dict(data, kinds={"S7": "C"})
