"""A dc nanovoltmeter as detector: V_FMR is the cw-equivalent mixing voltage whatever the modulation.

Under on/off pulse modulation a dc meter reads the time average, half the cw
mixing voltage; the procedure divides by that factor (instruments.modulation.dc_factor),
as it divides a lock-in's X by the lock-in factor. The simulated 2182 averages
the sampled waveform itself, so the two checks are independent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stfmr.analysis.run_manifest import read_manifest
from stfmr.instruments.bench import open_bench
from stfmr.instruments.modulation import dc_factor
from stfmr.procedures.executor import run_sequence
from stfmr.procedures.sequence import parse_sequence
from support import runs as helpers

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "benches"
SPECTRUM = helpers.SAMPLE + """
[[step]]
kind = "field_sweep"
frequency_GHz = 10.0
power_dBm = 15.0
angle_deg = 45.0
window_mT = 60.0
mu0_Meff_T = 0.65
field_points = 81
"""


def fitted_V_S(tmp_path: Path, detector: str, modulation: str) -> float:
    text = (EXAMPLES / "sim.toml").read_text().replace('driver = "SR830"', f'driver = "{detector}"')
    text = text.replace('modulation = "pulse"', f'modulation = "{modulation}"')
    path = tmp_path / f"{detector}-{modulation}.toml"
    path.write_text(text)
    with open_bench(path) as bench:
        out = tmp_path / f"run-{detector}-{modulation}"
        assert run_sequence(parse_sequence(SPECTRUM, "s.toml", bench.config), bench, out).state == "finished"
    (entry,) = read_manifest(out)["entries"]
    return entry["fits"][0]["V_S"]["value"]


def test_the_dc_factor_is_the_time_average_of_the_drive():
    assert dc_factor("pulse") == 0.5 and dc_factor("off") == 1.0 and dc_factor("am", 1.0) == 1.5


@pytest.mark.parametrize("modulation", ["pulse", "off"])
def test_a_dc_meter_records_the_same_V_FMR_as_a_lock_in(tmp_path, modulation):
    assert 'modulation = "pulse"' in (EXAMPLES / "sim.toml").read_text()
    lockin = fitted_V_S(tmp_path, "SR830", "pulse")
    dc = fitted_V_S(tmp_path, "Keithley2182", modulation)
    assert dc == pytest.approx(lockin, rel=0.05)
