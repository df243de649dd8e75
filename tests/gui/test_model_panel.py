"""The GUI's model panel: measured values beside the model, the labelled sign convention, the conclusions."""

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from stfmr.analysis.gradient.compare import model_values  # noqa: E402
from stfmr.analysis.gradient.compositions import load_compositions  # noqa: E402
from stfmr.app.gui.panels import ModelPanel  # noqa: E402


def test_model_panel_shows_the_convention_the_sample_model_and_the_conclusions(qtbot):
    panel = ModelPanel()
    qtbot.addWidget(panel)
    assert panel.convention == "stfmr"
    panel.set_measured([("type A", 32700.0, 600.0), ("sample 7", 1000.0, 50.0)])
    text = panel.summary.toPlainText()
    assert "measured_sign_convention = stfmr" in text and "Pt/Py positive" in text
    assert "type A: model" in text and "OPPOSITE sign" in text
    assert "sample 7: kind unknown" in text
    assert "convention-free conclusions" in text and "FAILS" not in text
    model_a = model_values("A", load_compositions(), "local-average").xi_DL_E
    bars = panel.sample_bars.opts
    assert list(bars["x"]) == [10.0] and bars["height"] == [pytest.approx(model_a)]
    x, y = panel.measured.getData()
    assert list(x) == [10.0, 11.0] and list(y) == [32700.0, 1000.0]
    assert panel.names[-2:] == ["type A", "sample 7"]

    panel.sign_convention.setCurrentIndex(panel.sign_convention.findData("opposite-sigma"))
    assert panel.convention == "opposite-sigma"
    _, y = panel.measured.getData()
    assert np.array_equal(y, [-32700.0, -1000.0])  # drawn in stfmr's convention
    text = panel.summary.toPlainText()
    assert "measured_sign_convention = opposite-sigma" in text and "type A: model" in text and "same sign" in text
