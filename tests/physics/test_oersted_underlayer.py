"""docs/physics.md §4 and §6.6 [derived]: the gradient model's Oersted field against the ratio method's underlayer formula.

The model sums the field of every current sheet of the stack
(``analysis/gradient/torques.py``); the ratio method of ``analysis/efficiency.py``
uses the field mu0*J_N*t_N/2 of one underlayer. For a ferromagnet of uniform
resistivity and M_s the film's own field is odd about its centre and cancels,
so the two must agree, under both weightings.
"""

from __future__ import annotations

import pytest

from stfmr.analysis.efficiency import oersted_efficiency
from stfmr.analysis.gradient.stack import stack_from_dict
from stfmr.analysis.gradient.torques import evaluate


def _stack(ferromagnet_rho: list[float], mu0_ms: list[float]):
    layers = [{"name": "Ta-B", "role": "sink", "thickness_nm": 3.0, "rho_uOhm_cm": 180.0, "theta_SH": -0.1,
               "l_sf_nm": 1.5}]
    for i, (rho, ms) in enumerate(zip(ferromagnet_rho, mu0_ms)):
        layers.append({"name": f"F{i}", "role": "ferromagnet", "thickness_nm": 1.0, "rho_uOhm_cm": rho,
                       "theta_SH": 0.02, "l_sf_nm": 3.0, "l_J_nm": 1.5, "l_phi_nm": 2.0, "mu0Ms_T": ms})
    return stack_from_dict({"model": {"slice_nm": 0.25}, "layer": layers})


@pytest.mark.parametrize("weighting", ["macrospin", "local-average"])
def test_gradient_model_oersted_of_a_uniform_film_is_the_underlayer_formula(weighting):
    uniform = evaluate(_stack([40.0] * 5, [0.9] * 5), weighting=weighting)
    expected = oersted_efficiency(uniform.Ms_t_A, 3e-9, 180e-8)
    assert expected > 0  # current below the film: positive (docs/physics.md §1)
    assert uniform.xi_Oe_E == pytest.approx(expected, rel=1e-9)
    # a graded resistivity adds a self-Oersted field: more current at the bottom (low rho) adds to it
    graded = evaluate(_stack([25.0, 33.0, 40.0, 47.0, 60.0], [0.9] * 5), weighting=weighting)
    assert graded.xi_Oe_E > 1.01 * oersted_efficiency(graded.Ms_t_A, 3e-9, 180e-8)
