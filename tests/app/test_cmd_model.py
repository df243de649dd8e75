"""``stfmr model`` on the command line."""

import json
from pathlib import Path

import pytest

from stfmr.app import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_json(capsys, *argv):
    assert cli.main(["model", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_stack_json_follows_the_contract(capsys):
    out = run_json(capsys, "--stack", str(EXAMPLES / "stacks" / "pt_py_check.toml"))
    (case,) = out["cases"]
    for key in ("name", "weighting", "T_DL_per_E", "T_FL_per_E", "xi_DL_E", "xi_FL_E", "xi_Oe_E"):
        assert key in case
    assert case["weighting"] == "macrospin"  # the stack file's setting
    assert 3.5e5 < case["xi_DL_E"] < 4.3e5 and case["xi_Oe_E"] > 0
    profile = case["profile"]
    assert len(profile["z_nm"]) == 10  # 5 nm of ferromagnet on 0.5 nm slices
    for key in ("u_y", "u_z", "tau_DL_per_E", "tau_FL_per_E"):
        assert len(profile[key]) == 10


def test_weighting_option_overrides_the_stack(capsys):
    path = str(EXAMPLES / "stacks" / "graded_NiFe_typeA.toml")
    local = run_json(capsys, "--stack", path)["cases"][0]
    macro = run_json(capsys, "--stack", path, "--weighting", "macrospin")["cases"][0]
    assert local["weighting"] == "local-average" and macro["weighting"] == "macrospin"
    assert local["xi_DL_E"] != pytest.approx(macro["xi_DL_E"], rel=0.1)


def test_all_cases_text_and_json(capsys):
    out = run_json(capsys, "--case", "all")
    assert [c["name"] for c in out["cases"]] == [
        "I-A", "I-B", "II-A", "II-B", "III-A", "III-B", "IV-A", "IV-B", "II+III-A", "II+III-B"
    ]
    assert cli.main(["model", "--case", "II-A,II-B"]) == 0
    text = capsys.readouterr().out
    assert "II-A" in text and "xi_DL^E" in text and "IV-A" not in text


def test_plot_and_measured_comparison_with_fit(capsys, tmp_path):
    png = tmp_path / "fig.png"
    out = run_json(
        capsys,
        "--case", "II-A,II-B",
        "--measured", str(EXAMPLES / "measured_paper_t3nm.toml"),
        "--fit", "theta_Ni,sink_theta_SH",
        "--plot", str(png),
    )
    assert png.stat().st_size > 10_000
    assert [r["name"] for r in out["comparison"]] == ["type A", "type B"]
    assert set(out["fit"]["parameters"]) == {"theta_Ni", "sink_theta_SH"}
    assert out["fit"]["chisqr"] <= sum(
        ((r[q]["model"] - r[q]["measured"]) / r[q]["stderr"]) ** 2 for r in out["comparison"] for q in ("xi_DL_E", "xi_FL_Oe_E")
    )


def test_custom_compositions_file(capsys, tmp_path):
    default = Path(cli.__file__).resolve().parents[1] / "analysis" / "gradient" / "data" / "compositions.toml"
    path = tmp_path / "comp.toml"
    path.write_text(default.read_text().replace("thickness_nm = 3.0", "thickness_nm = 1.0"), encoding="utf-8")
    thin = run_json(capsys, "--case", "I-A", "--compositions", str(path))["cases"][0]
    thick = run_json(capsys, "--case", "I-A")["cases"][0]
    assert thin["xi_DL_E"] != pytest.approx(thick["xi_DL_E"], rel=1e-3)


@pytest.mark.parametrize(
    "argv, words",
    [
        ([], ["--stack", "--case"]),
        (["--case", "V-A"], ["'V-A'"]),
        (["--case", "I-A", "--fit", "theta_Ni"], ["--fit needs --measured"]),
        (["--stack", "missing.toml"], ["missing.toml"]),
    ],
)
def test_bad_input_exits_2_naming_the_problem(capsys, argv, words):
    assert cli.main(["model", *argv]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    for word in words:
        assert word in err


def test_bad_stack_names_layer_and_key(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        '[[layer]]\nname = "Py"\nrole = "ferromagnet"\nthickness_nm = 5.0\nrho_uOhm_cm = 30.0\n'
        "theta_SH = 0.0\nl_sf_nm = 5.0\nl_J_nm = 1.0\nl_phi_nm = 1.0\n",
        encoding="utf-8",
    )
    assert cli.main(["model", "--stack", str(path)]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "'Py'" in err and "mu0Ms_T" in err


def test_kind_option_for_analyze_json(capsys, tmp_path):
    path = tmp_path / "analysis.json"
    path.write_text(json.dumps({"samples": [{"name": "S7", "xi_DL_E": {"value": -2e4, "stderr": 500}}]}))
    assert cli.main(["model", "--measured", str(path)]) == cli.EXIT_BAD_INPUT
    assert "--kind" in capsys.readouterr().err
    out = run_json(capsys, "--measured", str(path), "--kind", "S7=A")
    assert out["comparison"][0]["kind"] == "A" and out["comparison"][0]["xi_FL_Oe_E"]["measured"] is None


def test_fit_help_lists_every_parameter():
    from stfmr.analysis.gradient.compositions import PARAMETERS

    help_text = cli.build_parser()._subparsers._group_actions[0].choices["model"].format_help()
    for name in PARAMETERS:
        assert name in help_text.replace("\n", " ").replace("  ", " ")


def test_measured_shows_the_convention_the_conclusions_and_an_honest_fit(capsys):
    measured = str(EXAMPLES / "measured_paper_t3nm.toml")
    assert cli.main(["model", "--measured", measured, "--fit", "theta_Ni,theta_Fe"]) == 0
    text = capsys.readouterr().out
    assert "measured_sign_convention = stfmr" in text and "Pt/Py positive" in text
    assert "opposite-sigma  type A agrees, type B agrees" in text
    assert "convention-free conclusions" in text and "FAILS" not in text
    assert "CANNOT describe the data" in text and "OUTSIDE THE PHYSICAL RANGE" in text
    assert "converged" not in text  # the optimizer's word alone says nothing about the model
    out = run_json(capsys, "--measured", measured, "--fit", "theta_Ni,theta_Fe")
    assert out["measured_sign_convention"] == "stfmr"
    assert [c["key"] for c in out["conclusions"]] == ["I", "II", "III", "II+III", "IV"]
    assert all(c["holds"] for c in out["conclusions"])
    fit = out["fit"]
    assert fit["redchi"] > 10 and fit["describes_data"] is False and fit["trustworthy"] is False
    assert fit["parameters"]["theta_Fe"]["flags"] == ["outside the physical range"]
    assert fit["parameters"]["theta_Fe"]["stderr"] == pytest.approx(
        fit["parameters"]["theta_Fe"]["stderr_unscaled"] * fit["redchi"] ** 0.5)
    other = run_json(capsys, "--measured", measured, "--measured-sign-convention", "opposite-sigma")
    a = other["comparison"][0]["xi_DL_E"]
    assert other["measured_sign_convention"] == "opposite-sigma" and a["measured_stfmr"] == -a["measured"] == -32700.0
    assert other["sign_agreement"]["opposite-sigma"] == {"type A": True, "type B": True}


def test_thickness_series_with_measured_points_and_figure(capsys, tmp_path):
    measured = tmp_path / "analysis.json"
    samples = [{"name": f"type-{k}", "xi_DL_E": {"value": v, "stderr": 500.0},
                "sample": {"stack": f"Ta-B({t})/Ni-Fe(5)/MgO"}}
               for k, t, v in (("A", 3, 32700.0), ("B", 3, -46800.0))]
    measured.write_text(json.dumps({"samples": samples}))
    png = tmp_path / "fig5.png"
    out = run_json(capsys, "--thickness-series", "1,2,3,4,6,8", "--measured", str(measured), "--plot", str(png))
    series = out["thickness_series"]
    assert [r["thickness_nm"] for r in series["model"]] == [1, 2, 3, 4, 6, 8]
    assert "comparison" not in out  # the samples are compared at their own thickness, in the series
    (row,) = series["measured"]
    assert row["thickness_nm"] == 3 and row["A-B"]["xi_DL_E"]["measured"] == 32700.0 + 46800.0
    assert row["A-B"]["xi_DL_E"]["model"] == series["model"][2]["A-B"]["xi_DL_E"]
    assert png.stat().st_size > 10_000
    assert cli.main(["model", "--thickness-series", "1,3"]) == 0
    assert "xi_DL A-B" in capsys.readouterr().out


def test_thickness_series_refuses_a_fit_and_bad_thicknesses(capsys):
    assert cli.main(["model", "--thickness-series", "1,3", "--measured",
                     str(EXAMPLES / "measured_paper_t3nm.toml"), "--fit", "theta_Ni"]) != 0
    assert "--fit applies to samples of one sink thickness" in capsys.readouterr().err
    assert cli.main(["model", "--thickness-series", "1,nm"]) != 0
    assert "'nm' is not a number" in capsys.readouterr().err


def test_thickness_series_reads_measured_values_in_the_chosen_convention(capsys, tmp_path):
    measured = tmp_path / "analysis.json"
    samples = [{"name": "type-A", "xi_DL_E": {"value": 32700.0, "stderr": 500.0},
                "sample": {"stack": "Ta-B(3)/Ni-Fe(5)/MgO"}}]
    measured.write_text(json.dumps({"samples": samples}))
    base = run_json(capsys, "--thickness-series", "3", "--measured", str(measured))["thickness_series"]
    flipped = run_json(capsys, "--thickness-series", "3", "--measured", str(measured),
                       "--measured-sign-convention", "opposite-sigma")["thickness_series"]
    assert base["measured_sign_convention"] == "stfmr" and flipped["measured_sign_convention"] == "opposite-sigma"
    assert flipped["measured"][0]["A"]["xi_DL_E"]["measured"] == -base["measured"][0]["A"]["xi_DL_E"]["measured"]
