"""SampleMetadata: round trip and every refusal naming its key."""

from __future__ import annotations

import pytest

from stfmr.analysis.sample import SampleMetadata, SampleMetadataError

GOOD = {
    "name": "A1",
    "Ms_t_A": 4.0e-3,
    "Ms_t_stderr_A": 0.1e-3,
    "resistivity_uOhm_cm": 67.0,
    "length_um": 100.0,
    "width_um": 10,
    "stack": "Ta-B(3)/Ni-Fe(5)/MgO",
    "setup_polarity": -1,
}


def test_round_trip_and_units():
    s = SampleMetadata.from_dict(GOOD)
    assert s.to_dict() == {**GOOD, "width_um": 10.0}
    assert set(s.to_dict()) == set(SampleMetadata.keys()) - {"g"}  # g only when set
    assert s.length_m == pytest.approx(1e-4) and s.width_m == pytest.approx(1e-5)
    assert s.resistivity_Ohm_m == pytest.approx(67e-8)
    no_err = {k: v for k, v in GOOD.items() if k != "Ms_t_stderr_A"}
    assert SampleMetadata.from_dict(no_err).Ms_t_stderr_A == 0.0


@pytest.mark.parametrize(
    "change, key",
    [
        ({"Ms_t_A": 0.0}, "Ms_t_A"),
        ({"Ms_t_A": -1e-3}, "Ms_t_A"),
        ({"length_um": -5.0}, "length_um"),
        ({"width_um": 0}, "width_um"),
        ({"resistivity_uOhm_cm": 0.0}, "resistivity_uOhm_cm"),
        ({"Ms_t_stderr_A": -1e-4}, "Ms_t_stderr_A"),
        ({"Ms_t_A": "4e-3"}, "Ms_t_A"),
        ({"Ms_t_A": float("nan")}, "Ms_t_A"),
        ({"length_um": True}, "length_um"),
        ({"setup_polarity": 0}, "setup_polarity"),
        ({"setup_polarity": 2}, "setup_polarity"),
        ({"setup_polarity": True}, "setup_polarity"),
        ({"name": 5}, "name"),
        ({"name": "  "}, "name"),
        ({"stack": None}, "stack"),
        ({"colour": "red"}, "colour"),
        ({"g": 0.0}, "sample key 'g'"),
        ({"g": "2.1"}, "sample key 'g'"),
    ],
)
def test_bad_values_name_the_key(change, key):
    with pytest.raises(SampleMetadataError, match=key):
        SampleMetadata.from_dict({**GOOD, **change})


def test_missing_key_is_named():
    data = {k: v for k, v in GOOD.items() if k != "length_um"}
    with pytest.raises(SampleMetadataError, match="missing sample key.*length_um"):
        SampleMetadata.from_dict(data)
    with pytest.raises(SampleMetadataError, match="table"):
        SampleMetadata.from_dict(["name"])
    assert issubclass(SampleMetadataError, ValueError)


def test_direct_construction_validates_too():
    with pytest.raises(SampleMetadataError, match="setup_polarity"):
        SampleMetadata(name="x", Ms_t_A=1e-3, resistivity_uOhm_cm=50.0, length_um=1.0, width_um=1.0, stack="", setup_polarity=3)


def test_g_is_an_optional_key_that_round_trips():
    """g: the value the analysis fixes g at; left out, the record (and its TOML) has no g."""
    assert SampleMetadata.from_dict(GOOD).g is None
    with_g = SampleMetadata.from_dict({**GOOD, "g": 2.05})
    assert with_g.g == 2.05 and with_g.to_dict()["g"] == 2.05
    assert SampleMetadata.from_dict(with_g.to_dict()) == with_g
