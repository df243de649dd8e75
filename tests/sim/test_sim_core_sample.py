"""Virtual sample: presets, sample files, sign convention, rf current and heating truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stfmr.analysis.constants import TWO_E_OVER_HBAR, gyromagnetic_ratio
from stfmr.instruments.sim.sample import SampleFileError, VirtualSample, preset_names


def _resonance_T(s: VirtualSample, f_GHz: float) -> float:
    w = 2 * math.pi * f_GHz * 1e9 / gyromagnetic_ratio(s.g)
    return (-s.mu0_Meff_T + math.sqrt(s.mu0_Meff_T**2 + 4 * w**2)) / 2


def _symmetric_antisymmetric(s: VirtualSample, sign: float) -> tuple[float, float]:
    """Projections of the spectrum on S and A around the (Kittel) resonance."""
    br = _resonance_T(s, 10.0) * 1e3
    dh = s.mu0_dH0_mT + s.alpha * 2 * math.pi * 10e9 / gyromagnetic_ratio(s.g) * 1e3
    h = br + np.linspace(-6, 6, 2001) * dh
    v = s.mixing_voltage(sign * h, 10.0, 10.0, 45.0) - s.thermal_offset_V_per_W * 0.01
    x = (h - br) / dh
    sym = 1 / (1 + x**2)
    anti = x / (1 + x**2)
    return float(np.sum(v * sym)), float(np.sum(v * anti))


def test_presets_exist_with_the_paper_efficiencies():
    assert {"type-A", "type-B", "reference"} <= set(preset_names())
    a, b, r = (VirtualSample.preset(n) for n in ("type-A", "type-B", "reference"))
    assert (a.xi_DL_E, a.xi_FL_E) == (32700.0, 38600.0)
    assert (b.xi_DL_E, b.xi_FL_E) == (-46800.0, -3500.0)
    assert abs(r.xi_DL_E) < abs(a.xi_DL_E)
    for s in (a, b, r):
        assert 0.5 <= s.mu0_Meff_T <= 0.8 and 0.005 <= s.delta_R_amr_Ohm / s.R_perp_Ohm <= 0.01


@pytest.mark.parametrize("name,sign_s,sign_a", [("type-A", 1, 1), ("type-B", -1, -1), ("reference", 1, 1)])
def test_signs_follow_the_convention_and_reverse_with_field(name, sign_s, sign_a):
    s = VirtualSample.preset(name)
    vs, va = _symmetric_antisymmetric(s, +1.0)
    assert math.copysign(1, vs) == sign_s and math.copysign(1, va) == sign_a
    vs_neg, va_neg = _symmetric_antisymmetric(s, -1.0)
    assert math.copysign(1, vs_neg) == -sign_s


def test_field_per_ampere_uses_the_efficiency_definition():
    s = VirtualSample.preset("type-A")
    b_dl, b_fl = s.field_per_ampere_T()
    e_per_a = s.R_perp_Ohm / (s.length_um * 1e-6)
    assert TWO_E_OVER_HBAR * s.Ms_t_A * b_dl / e_per_a == pytest.approx(s.xi_DL_E)
    assert b_fl / b_dl == pytest.approx(s.xi_FL_E / s.xi_DL_E)


def test_rf_current_rolls_off_and_heating_is_consistent():
    s = VirtualSample.preset("type-A")
    assert s.I0_A(0.0, 0.0) == pytest.approx(s.rf_I0_per_sqrtW_A * math.sqrt(1e-3))
    assert s.I0_A(s.rf_rolloff_GHz, 0.0) == pytest.approx(s.I0_A(0.0, 0.0) / math.sqrt(2))
    # equal heating (docs/physics.md §5): I_rms^2 = c*P/k
    c = s.heating_c_Ohm_per_W(10.0)
    p_w = 0.01
    assert math.sqrt(2 * c * p_w / s.heating_k_Ohm_per_A2) == pytest.approx(s.I0_A(10.0, 10.0))
    r_rf = s.resistance(90.0, 0.0, 10.0, 10.0, rf_on=True)
    assert r_rf - s.R_perp_Ohm == pytest.approx(c * p_w)


def test_dc_current_changes_the_linewidth_with_the_antidamping_sign():
    s = VirtualSample.preset("type-A")
    br = _resonance_T(s, 10.0) * 1e3
    h = np.linspace(br - 40, br + 40, 4001)

    def width(i_dc: float) -> float:
        v = np.abs(s.mixing_voltage(h, 10.0, 10.0, 45.0, I_dc_A=i_dc) - s.thermal_offset_V_per_W * 0.01)
        above = h[v > v.max() / 2]
        return above[-1] - above[0]

    # sigma = -y, m at +45 deg: a positive current anti-damps (narrower line)
    assert width(2e-3) < width(0.0) < width(-2e-3)


def test_sample_file_round_trip_and_bad_keys(tmp_path):
    s = VirtualSample.preset("reference")
    lines = [f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"' for k, v in s.to_dict().items()]
    good = tmp_path / "mine.toml"
    good.write_text("\n".join(lines))
    assert VirtualSample.from_file(good) == s
    bad = tmp_path / "bad.toml"
    bad.write_text("\n".join(lines + ["xi_DL = 3.0"]))
    with pytest.raises(SampleFileError, match="xi_DL"):
        VirtualSample.from_file(bad)
    missing = tmp_path / "missing.toml"
    missing.write_text("\n".join(line for line in lines if not line.startswith("alpha")))
    with pytest.raises(SampleFileError, match="alpha"):
        VirtualSample.from_file(missing)
    with pytest.raises(SampleFileError, match="R_perp_Ohm"):
        VirtualSample.from_dict({**s.to_dict(), "R_perp_Ohm": -5.0})
    with pytest.raises(SampleFileError, match="no sample preset"):
        VirtualSample.preset("type-Z")


def test_metadata_carries_the_sample_keys():
    md = VirtualSample.preset("type-A").metadata()
    get = md.get if isinstance(md, dict) else lambda k: getattr(md, k)
    assert get("Ms_t_A") == 4.0e-3 and get("setup_polarity") == 1 and get("length_um") == 100.0


def test_example_sample_file_loads():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "samples" / "my_device.toml"
    s = VirtualSample.from_file(path)
    assert s.stack.startswith("Pt")
    assert s.field_per_ampere_T()[0] > 0
