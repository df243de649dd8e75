"""The checks folded into the field reading: trip (LiveFollower), the 421's cached multiplier, reconnects.

Exact transcripts with pymeasure's expected_protocol: which queries a reading
sends, and which it leaves out because the reading itself answers them.
"""

from __future__ import annotations

import itertools

import pytest
from pymeasure.instruments.kepco import KepcoBOP3612
from pymeasure.instruments.lakeshore import LakeShore421
from pymeasure.test import expected_protocol

from stfmr.instruments.bench import open_simulated_bench
from stfmr.instruments.calibration import LinearCoilCalibration
from stfmr.instruments.errors import InstrumentReplyError, SupplyTrip
from stfmr.instruments.role_field import (
    CURRENT_FOLLOW,
    FIELD_FOLLOW,
    GaussmeterRole,
    KepcoFieldControl,
    LiveFollower,
)
from stfmr.procedures.safety import SafetyGuard

SETUP = [("FUNCtion:MODE CURR", None), ("VOLTage 20", None)]


def _follower(expected: float, measured: float) -> LiveFollower:
    follower = LiveFollower(FIELD_FOLLOW)
    follower.verified(expected, measured)
    return follower


def test_without_a_reference_nothing_is_judged():
    follower = LiveFollower(FIELD_FOLLOW)
    assert follower.agrees(100.0, 100.0) is None and not follower.is_live(100.0, 100.0)
    follower.verified(None, 100.0)  # a reading whose setpoint is unknown is no reference ...
    assert follower.reference is None
    follower.verified(100.0, 100.4)
    follower.verified(None, 3.0)  # ... and does not replace one
    assert follower.reference == (100.0, 100.4)


def test_a_live_reading_agrees_from_a_reference_with_offset_and_scale_error():
    follower = _follower(100.0, 101.3)  # 1.3 mT of remanence and calibration error at the reference
    assert follower.is_live(110.0, 111.35)  # the same offset, 0.5 % scale error on the 10 mT step
    assert not follower.is_live(110.0, 109.0)  # 2.3 mT off the prediction: the output is read


@pytest.mark.parametrize("reference", [25.0, 100.0, 300.0, 1000.0])
def test_a_collapsed_field_is_never_live_where_the_trip_check_relies_on_it(reference):
    """A tripped magnet keeps up to a few mT of remanence: every such reading above 20 mT must be refused."""
    follower = _follower(reference, reference + 2.0)
    for expected, remanence in itertools.product([20.0, 30.0, 60.0, 150.0, 400.0, 1500.0], [-8, -3, 0.0, 3, 8]):
        assert not follower.is_live(expected, remanence), (expected, remanence)


def test_a_reading_1000_times_off_never_agrees_where_agreement_is_judged():
    follower = _follower(40.0, 40.4)
    for expected in (0.5, 1.0, 2.0, 5.0, 30.0, 100.0, 400.0):
        for wrong in (1e3, 1e-3):
            measured = (expected + 0.4) * wrong
            assert follower.agrees(expected, measured) is not True, (expected, wrong)


def test_below_the_minimum_a_reading_agrees_but_is_not_taken_as_live():
    follower = _follower(10.0, 10.4)
    assert follower.agrees(12.0, 12.4) is True  # the multiplier may be trusted ...
    assert not follower.is_live(12.0, 12.4)  # ... but a trip is not told from remanence: the output is read


def test_the_current_follower_tells_a_decaying_coil_from_a_live_one():
    follower = LiveFollower(CURRENT_FOLLOW)
    follower.verified(2.5, 2.4995)
    assert follower.is_live(2.5125, 2.512)
    assert not follower.is_live(2.5125, 2.5125 * 0.95)  # 5 % decayed: a trip under way


def test_lakeshore421_reads_the_multiplier_only_when_the_reading_is_not_the_expected_one():
    with expected_protocol(
        LakeShore421,
        [("UNIT?", "G"), ("FIELD?", "1.2345"), ("FIELDM?", "k"),  # no judge: read as pymeasure reads it
         ("FIELD?", "1.2400"),  # judged right: the cached multiplier stands
         ("FIELD?", "+295.0"), ("FIELDM?", ""),  # cannot be judged: read the multiplier
         ("FIELD?", "+0.3050"), ("UNIT?", "G"), ("FIELDM?", "k"),  # judged wrong: unit and multiplier again
         ("FIELD?", "OL"), ("FIELD?", "1.0"), ("FIELDM?", "k")],  # over range forgets the multiplier
    ) as drv:
        drv.WRITE_DELAY = None
        gm = GaussmeterRole(drv, "ASRL1::INSTR", instrument="LakeShore421")
        assert gm.field_mT() == pytest.approx(123.45)
        assert gm.field_mT(lambda v: abs(v - 124.0) < 1.0) == pytest.approx(124.0)
        assert gm.field_mT(lambda v: None) == pytest.approx(29.5)
        assert gm.field_mT(lambda v: abs(v - 30.5) < 1.0) == pytest.approx(30.5)
        with pytest.raises(InstrumentReplyError, match="over range"):
            gm.field_mT(lambda v: True)
        assert gm.field_mT(lambda v: True) == pytest.approx(100.0)


def test_kepco_reads_its_output_only_when_the_current_does_not_follow():
    with expected_protocol(
        KepcoBOP3612,
        SETUP + [
            ("CURRent 1.5", None), ("CURRent?", "1.5"), ("OUTPut 1", None),
            ("MEASure:CURRent?", "1.499"), ("OUTPut?", "1"),  # the first reading: the output is read
            ("MEASure:CURRent?", "1.4992"),  # it follows: no query
            ("MEASure:CURRent?", "0.2"), ("OUTPut?", "0"),  # it collapsed: the output is read, tripped
        ],
    ) as drv:
        fc = KepcoFieldControl(drv, "GPIB0::6::INSTR", LinearCoilCalibration(40.0))
        fc.configure(20)
        fc.set_current(1.5)
        fc.current_setpoint()
        fc.set_output(True)
        assert fc.field_mT() == pytest.approx(1.499 * 40.0)
        assert fc.point_current() == pytest.approx(1.499)  # the field's reading, not a second query
        assert fc.current() == pytest.approx(1.4992)
        with pytest.raises(SupplyTrip, match="trip"):
            fc.current()


def test_kepco_without_a_read_back_setpoint_always_reads_its_output():
    with expected_protocol(
        KepcoBOP3612,
        SETUP + [("CURRent 1.5", None), ("OUTPut 1", None),
                 ("MEASure:CURRent?", "1.499"), ("OUTPut?", "1"), ("MEASure:CURRent?", "1.499"), ("OUTPut?", "1")],
    ) as drv:
        fc = KepcoFieldControl(drv, "GPIB0::6::INSTR", LinearCoilCalibration(40.0))
        fc.configure(20)
        fc.set_current(1.5)
        fc.set_output(True)
        fc.current()
        fc.current()


def test_a_supply_reconnect_keeps_the_gaussmeter_link_and_checks_again():
    with open_simulated_bench("type-A") as bench:
        SafetyGuard(bench).ramp_field(100.0)
        bench.clock.sleep(2.0)
        field = bench.field
        field.field_mT()
        field.field_mT()  # now judged from the first reading
        closed: list[str] = []
        gauss_adapter = field.gaussmeter.driver.adapter
        gauss_adapter.close = lambda: closed.append("gaussmeter")
        supply = bench.virtual.instrument("KepcoBOP3612")
        before = len(supply.commands)
        field.reconnect()
        assert closed == [] and field.gaussmeter.driver.adapter is gauss_adapter
        assert field.field_mT() == pytest.approx(100.0, abs=1.0)
        # the new link holds no remembered setpoint or reference: the setpoint and the output are read again
        field.known_setpoint()
        assert {"CURRent?", "OUTPut?"} <= {c.split()[0] for c in supply.commands[before:]}
