"""The one TOML reader: files, keys and typed values, every refusal naming where, key and value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stfmr.analysis.toml_schema import TableReader


class PlanError(ValueError):
    pass


#: two wordings in use: "[t] key: problem" (bench, sequence) and "where: key problem" (stack, faults)
COLON = TableReader(PlanError)
PLAIN = TableReader(PlanError, label="{where}: {key}", sep=" ", missing="{where}: missing key {key!r}",
                    unknown="{where}: unknown key(s) {keys}; allowed: {allowed}")


def refusal(fn, *args, **kwargs) -> str:
    with pytest.raises(PlanError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_bad_toml_names_the_file_and_a_missing_file_is_an_oserror(tmp_path):
    bad = tmp_path / "plan.toml"
    bad.write_text("[step\n", encoding="utf-8")
    assert refusal(COLON.load, bad).startswith(f"{bad}: not valid TOML: ")
    assert refusal(COLON.load, bad, "plan file p.toml").startswith("plan file p.toml: not valid TOML")
    assert refusal(COLON.loads, "a = ", "plan x").startswith("plan x: not valid TOML")
    with pytest.raises(OSError):
        COLON.load(tmp_path / "absent.toml")
    good = tmp_path / "good.toml"
    good.write_text("[t]\na = 1\n", encoding="utf-8")
    assert COLON.load(good) == {"t": {"a": 1}}


def test_keys_unknown_first_then_missing_in_the_formats_wording():
    table = COLON.table({"a": 1, "zz": 2, "yy": 3}, "step 1")
    assert refusal(table.check_keys, ["a", "b"]) == "step 1: unknown key 'yy'"
    table = COLON.table({"a": 1}, "step 1")
    assert refusal(table.check_keys, ["a", "b", "c"], required={"c", "b"}) == "step 1: b is missing"  # sets: sorted
    table.check_keys(["a", "b"], required=["a"])  # nothing to refuse
    plain = PLAIN.table({"x": 1, "w": 2}, "fault 2")
    assert refusal(plain.check_keys, ["kind", "count"]) == "fault 2: unknown key(s) 'w', 'x'; allowed: kind, count"
    hinted = TableReader(PlanError, missing="{where} {key}: missing{hint}").table({}, "[rf]")
    assert refusal(hinted.check_keys, required={"driver": " (one of A, B)"}) == "[rf] driver: missing (one of A, B)"
    assert refusal(COLON.table, [1, 2], "[rf]") == "[rf]: must be a table"


@pytest.mark.parametrize("getter, value, args, expected", [
    ("number", "fast", {}, "[d] k: must be a number, got 'fast'"),
    ("number", True, {}, "[d] k: must be a number, got True"),
    ("number", math.nan, {}, "[d] k: must be finite, got nan"),
    ("positive", 0, {}, "[d] k: must be positive, got 0"),
    ("non_negative", -0.5, {}, "[d] k: must not be negative, got -0.5"),
    ("integer", 2.0, {"minimum": 3}, "[d] k: must be an integer >= 3, got 2.0"),
    ("integer", 0, {"minimum": 1}, "[d] k: must be a positive integer, got 0"),
    ("integer", -1, {"minimum": 0}, "[d] k: must be a non-negative integer, got -1"),
    ("integer", True, {"within": range(1, 4)}, "[d] k: must be an integer in 1..3, got True"),
    ("boolean", 1, {}, "[d] k: must be true or false, got 1"),
    ("string", "  ", {}, "[d] k: must be a non-empty string, got '  '"),
    ("one_of", "chirp", {"choices": ("off", "pulse", "am")}, "[d] k: must be off, pulse or am, got 'chirp'"),
    ("one_of", True, {"choices": (1, -1), "shown": "+1 or -1"}, "[d] k: must be +1 or -1, got True"),
])
def test_typed_getters_name_where_key_and_value(getter, value, args, expected):
    table = COLON.table({"k": value}, "[d]")
    assert refusal(getattr(table, getter), "k", **args) == expected


def test_the_plain_wording_puts_the_key_after_the_colon():
    assert refusal(PLAIN.table({"mu0Ms_T": "big"}, "layer 2 ('Ni')").positive, "mu0Ms_T") \
        == "layer 2 ('Ni'): mu0Ms_T must be a number, got 'big'"


def test_values_defaults_and_required_keys():
    table = COLON.table({"n": 3, "f": 2, "s": " GPIB0::8::INSTR ", "b": False}, "[t]", {"tau": 0.1, "phase": None})
    assert table.integer("n", minimum=1) == 3
    assert table.number("f") == 2.0 and isinstance(table.number("f"), float)
    assert table.string("s") == "GPIB0::8::INSTR"
    assert table.boolean("b") is False
    assert table.positive("tau") == 0.1  # from the table's defaults
    assert table.number("phase") is None  # optional without a default
    assert table.number("other", 7.5) == 7.5  # a default given at the call
    assert refusal(table.number, "other") == "[t]: other is missing"
    assert table.one_of("n", (1, 3)) == 3


def test_grids():
    reader = COLON
    assert np.allclose(reader.grid({"start": 0, "stop": 90, "step": 30}, "g"), [0, 30, 60, 90])
    assert np.allclose(reader.grid({"start": 90, "stop": 0, "step": 45}, "g"), [90, 45, 0])
    assert np.allclose(reader.grid({"start": 1, "stop": 2, "points": 3}, "g"), [1, 1.5, 2])
    assert np.allclose(reader.grid([6, 8], "g"), [6, 8]) and np.allclose(reader.grid(5, "g"), [5])
    assert refusal(reader.grid, [], "step 1 angles_deg") == "step 1 angles_deg: empty grid"
    assert refusal(reader.grid, {"start": 0, "stop": 9, "step": -1}, "a").startswith("a.step: must be positive")
    assert refusal(reader.grid, {"start": 0, "stop": 9, "points": 0}, "a") \
        == "a.points: must be a positive integer, got 0"
    assert refusal(reader.grid, {"start": 0, "stop": "x", "points": 2}, "a") == "a.stop: must be a number, got 'x'"
    assert "start, stop and one of step or points" in refusal(reader.grid, {"start": 0, "stop": 1}, "a")
    assert refusal(COLON.table({"g": ["x"]}, "[t]").grid, "g").startswith("[t] g: a grid list must hold numbers")
