"""The GUI's sweep inputs refuse a bad entry naming the input, the forms it takes and the allowed range."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from stfmr.app.gui.window import _number, _parse_range  # noqa: E402

ALLOWED = "from -10 to 370 deg (the bench limits)"


@pytest.mark.parametrize("text, problem", [
    ("0:345", "'0:345' has 2 parts, not start:stop:step"),
    ("0:345:15:1", "has 4 parts"),
    ("0:abc:15", "expected a number, got 'abc'"),
    ("0 345 15", "expected a number, got '0 345 15'"),
    ("0:345:0", "must be positive"),
    ("", "empty"),
])
def test_a_bad_range_names_the_input_its_forms_and_the_allowed_range(text, problem):
    with pytest.raises(ValueError) as exc:
        _parse_range(text, "Angles (deg)", ALLOWED)
    message = str(exc.value)
    assert message.startswith("Angles (deg): ") and problem in message
    assert "start:stop:step (e.g. 0:345:15) or a comma list of numbers" in message and ALLOWED in message
    assert "could not convert" not in message and "unpack" not in message


def test_good_ranges_parse():
    assert list(_parse_range("0:30:15", "Angles (deg)")) == [0.0, 15.0, 30.0]
    assert list(_parse_range("6, 8,10", "Frequencies (GHz)")) == [6.0, 8.0, 10.0]


@pytest.mark.parametrize("text", ["80 mT", "-5", "0", "nan", "inf"])
def test_a_bad_window_is_refused_by_name(text):
    with pytest.raises(ValueError, match=r"^Window \(mT\): expected a positive number, got"):
        _number(text, "Window (mT)", positive=True)
