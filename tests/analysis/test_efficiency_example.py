"""The example workflow (virtual type-A preset, exact LLG spectra, every fit) recovers the preset's efficiencies."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "efficiency_workflow.py"


def test_example_workflow_recovers_type_a_efficiencies():
    spec = importlib.util.spec_from_file_location("efficiency_workflow", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main("type-A")
    for key in ("xi_DL_E", "xi_FL_Oe_E"):
        got, truth = out["efficiencies"][key], out["preset"][key]
        assert abs(got["value"] - truth) < 3 * got["stderr"] + 0.005 * abs(truth), key
        assert 0 < got["stderr"] < 0.02 * abs(truth)
    assert abs(out["kittel"]["mu0_Meff_T"]["value"] - 0.65) < 0.01
    assert abs(out["damping"]["alpha"]["value"] - 0.02) < 0.001
