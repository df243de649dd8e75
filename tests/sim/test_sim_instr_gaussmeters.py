"""Simulated Lake Shore 421/425 through the real drivers and stfmr's gaussmeter role."""

from __future__ import annotations

import math

import pytest
from pymeasure.instruments.lakeshore import LakeShore421, LakeShore425

from stfmr.instruments.errors import InstrumentReplyError
from stfmr.instruments.role_field import GaussmeterRole
from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.sample import VirtualSample


@pytest.fixture
def bench() -> VirtualBench:
    b = VirtualBench(VirtualSample.preset("type-A"))
    b.magnet.set_setpoint(2.5)  # about 100 mT
    b.magnet.set_output(True)
    b.clock.advance(3.0)
    return b


def _ls421(bench: VirtualBench) -> LakeShore421:
    driver = LakeShore421(bench.adapter("LakeShore421"))
    driver.WRITE_DELAY = None  # the driver's 50 ms wall-clock pause between writes; virtual bench needs none
    return driver


def test_ls421_role_reads_the_true_field_in_gauss_and_tesla(bench):
    true_mT = bench.magnet.field_mT()
    driver = _ls421(bench)
    role = GaussmeterRole(driver, "SIM::LS421")
    assert role.identity().startswith("LSCI,MODEL421")
    assert role.unit() == "G"
    assert role.field_mT() == pytest.approx(true_mT, abs=0.1)  # 3 kG range: 1 G = 0.1 mT resolution
    assert driver.field_multiplier == 1e3  # answered in kG on the 3 kG range
    assert driver.field_range_raw == 1
    driver.unit = "T"
    role = GaussmeterRole(driver, "SIM::LS421")
    assert role.unit() == "T"
    assert role.field_mT() == pytest.approx(true_mT, abs=0.1)
    assert bench.protocol_errors == []


def test_ls421_fixed_range_over_range_reads_ol(bench):
    driver = _ls421(bench)
    driver.field_range_raw = 3  # 30 G full scale, the field is ~1 kG
    assert driver.auto_range is False
    assert math.isnan(driver.field)
    with pytest.raises(InstrumentReplyError, match="over range"):
        GaussmeterRole(driver, "SIM::LS421").field_mT()
    driver.auto_range = True
    assert driver.field == pytest.approx(bench.magnet.field_mT() * 10, abs=1.5)  # G, 1 G digits
    assert bench.protocol_errors == []


def test_ls421_remanence_seen_at_zero_current(bench):
    bench.magnet.set_setpoint(0.0)
    bench.clock.advance(5.0)
    driver = _ls421(bench)
    remanence_G = bench.magnet.params.remanence_mT * 10
    assert driver.field == pytest.approx(remanence_G, abs=0.1)  # 30 G range, 0.01 G digits


def test_ls425_role_in_every_unit(bench):
    true_mT = bench.magnet.field_mT()
    driver = LakeShore425(bench.adapter("LakeShore425"))
    role = GaussmeterRole(driver, "SIM::LS425")
    assert role.identity().startswith("LSCI,MODEL425")
    for unit in ("G", "T", "Oe", "A/m"):
        driver.unit = unit
        role = GaussmeterRole(driver, "SIM::LS425")
        assert role.unit() == unit
        assert role.field_mT() == pytest.approx(true_mT, abs=0.02)
    driver.range = 35
    assert driver.field == "OL"  # fixed 35 G range, ~1 kG field
    driver.auto_range()
    assert driver.range == 3500
    driver.dc_mode()
    assert driver.mode == (1, 0, 1)
    assert bench.protocol_errors == []


def test_unknown_gaussmeter_command_sets_the_event_register(bench):
    driver = LakeShore425(bench.adapter("LakeShore425"))
    driver.write("BOGUS 3")
    assert bench.protocol_errors == ["LakeShore425: 'BOGUS 3'"]
    assert driver.ask("*ESR?") == "32"
    assert driver.ask("*ESR?") == "0"
