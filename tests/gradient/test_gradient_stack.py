"""The stack TOML format and its refusals (issue 3's contract)."""

from pathlib import Path

import pytest

from stfmr.analysis.gradient.stack import Stack, StackError, load_stack, stack_from_dict

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "stacks"


def sink(**kw):
    d = {"name": "Ta-B", "role": "sink", "thickness_nm": 3.0, "rho_uOhm_cm": 200.0, "theta_SH": 0.0, "l_sf_nm": 1.0}
    d.update(kw)
    return d


def fm(**kw):
    d = {
        "name": "Ni",
        "role": "ferromagnet",
        "thickness_nm": 1.0,
        "rho_uOhm_cm": 25.0,
        "theta_SH": 0.03,
        "l_sf_nm": 5.0,
        "l_J_nm": 1.0,
        "l_phi_nm": 1.0,
        "mu0Ms_T": 0.61,
    }
    d.update(kw)
    return d


def test_issue_example_parses_with_its_values():
    stack = load_stack(EXAMPLES / "issue_example.toml")
    assert isinstance(stack, Stack)
    assert [l.name for l in stack.layers] == ["Ta-B", "Ni"]
    assert stack.slice_nm == 0.5 and stack.weighting == "local-average" and stack.lambda_J_sign == 1
    ni = stack.layers[1]
    assert ni.is_ferromagnet and ni.mu0Ms_T == 0.61 and ni.l_J_nm == 1.0
    assert not stack.layers[0].is_ferromagnet


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_every_example_stack_loads(path):
    assert any(l.is_ferromagnet for l in load_stack(path).layers)


def test_round_trip_through_dict():
    stack = stack_from_dict({"model": {"slice_nm": 0.25}, "layer": [sink(), fm(G_mix_S_per_m2=5e14)]})
    again = stack_from_dict(stack.to_dict())
    assert again == stack


def test_model_table_is_optional_with_defaults():
    stack = stack_from_dict({"layer": [fm()]})
    assert (stack.slice_nm, stack.weighting, stack.lambda_J_sign, stack.g) == (0.5, "local-average", 1, 2.1)


@pytest.mark.parametrize(
    "layers, words",
    [
        ([sink(), {k: v for k, v in fm().items() if k != "l_sf_nm"}], ["layer 2", "'Ni'", "l_sf_nm"]),
        ([sink(thickness_nm=-1.0), fm()], ["layer 1", "'Ta-B'", "thickness_nm", "positive"]),
        ([sink(), fm(l_phi_nm=-0.5)], ["layer 2", "l_phi_nm"]),
        ([sink(l_sf_nm=0.0), fm()], ["layer 1", "l_sf_nm"]),
        ([sink(), {k: v for k, v in fm().items() if k != "mu0Ms_T"}], ["layer 2", "ferromagnet without", "mu0Ms_T"]),
        ([sink(role="oxide"), fm()], ["layer 1", "role", "'oxide'"]),
        ([sink()], ["no ferromagnet"]),
        ([sink(), fm(mu0Ms_T="big")], ["layer 2", "mu0Ms_T", "number"]),
        ([sink(), fm(l_J=1.0)], ["layer 2", "unknown key", "'l_J'"]),
        ([fm(G_mix_S_per_m2=1e15)], ["layer 1", "G_mix_S_per_m2", "sink directly below"]),
        ([sink(mu0Ms_T=0.5), fm()], ["layer 1", "'mu0Ms_T'", "sink"]),
    ],
)
def test_refusals_name_layer_and_key(layers, words):
    with pytest.raises(StackError) as exc:
        stack_from_dict({"layer": layers})
    for word in words:
        assert word in str(exc.value)


@pytest.mark.parametrize(
    "model, word",
    [({"weighting": "sum"}, "weighting"), ({"lambda_J_sign": 2}, "lambda_J_sign"), ({"slice": 1}, "'slice'")],
)
def test_bad_model_settings_are_refused(model, word):
    with pytest.raises(StackError, match=word):
        stack_from_dict({"model": model, "layer": [fm()]})


def test_no_layers_and_bad_toml_are_refused(tmp_path):
    with pytest.raises(StackError, match="layer"):
        stack_from_dict({"model": {}})
    bad = tmp_path / "bad.toml"
    bad.write_text("[[layer]\nname=", encoding="utf-8")
    with pytest.raises(StackError, match="bad.toml"):
        load_stack(bad)
    with pytest.raises(OSError):
        load_stack(tmp_path / "missing.toml")


def test_reversed_stack_reverses_layers():
    stack = stack_from_dict({"layer": [fm(name="a"), fm(name="b"), fm(name="c")]})
    assert [l.name for l in stack.reversed().layers] == ["c", "b", "a"]
