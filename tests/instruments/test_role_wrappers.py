"""Role wrappers around the real pymeasure drivers: unit conversion and exact transcripts."""

from __future__ import annotations

import pytest
from pymeasure.instruments.agilent import Agilent8257D
from pymeasure.instruments.anritsu import AnritsuMG3692C
from pymeasure.instruments.keithley import Keithley2182, Keithley2400, Keithley2450
from pymeasure.instruments.kepco import KepcoBOP3612
from pymeasure.instruments.lakeshore import LakeShore421, LakeShore425
from pymeasure.instruments.newport import ESP300
from pymeasure.instruments.srs import SR830, SR860
from pymeasure.test import expected_protocol

from stfmr.instruments import roles
from stfmr.instruments.calibration import LinearCoilCalibration
from stfmr.instruments.drivers.rohde_schwarz_smb100a import RohdeSchwarzSMB100A
from stfmr.instruments.errors import InstrumentReplyError, StageError, SupplyTrip
from stfmr.instruments.role_base import RoleArgumentError
from stfmr.instruments.role_detector import Keithley2182Detector, SR830Detector, SR860Detector
from stfmr.instruments.role_field import GaussmeterRole, KepcoFieldControl
from stfmr.instruments.role_rf import Agilent8257DRf, AnritsuMG3692CRf, SMB100ARf
from stfmr.instruments.role_rotator import ESP300Rotator
from stfmr.instruments.role_sourcemeter import Keithley2400SourceMeter, Keithley2450SourceMeter

K2400_INIT = [(":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)]


# -- rf -----------------------------------------------------------------------


def test_agilent_units_and_output():
    with expected_protocol(
        Agilent8257D,
        [
            (":FREQ 1.234500e+10 Hz;", None),
            (":FREQ?;", "1.2345E+10"),
            (":POW -5.5 dBm;", None),
            (":POW?;", "-5.5"),
            (":OUTPUT ON;", None),
            (":OUTPUT?", "1"),
            (":OUTPUT OFF;", None),
            (":OUTPUT?", "0"),
        ],
    ) as drv:
        rf = Agilent8257DRf(drv, "GPIB0::19::INSTR")
        assert isinstance(rf, roles.RfSource)
        rf.set_frequency_GHz(12.345)
        assert rf.frequency_GHz() == pytest.approx(12.345)
        rf.set_power_dBm(-5.5)
        assert rf.power_dBm() == pytest.approx(-5.5)
        rf.set_output(True)
        assert rf.output_enabled() is True
        rf.set_output(False)
        assert rf.output_enabled() is False


def test_agilent_pulse_modulation_transcript():
    with expected_protocol(
        Agilent8257D,
        [
            (":SOUR:AM:STAT OFF", None),
            (":SOUR:PULM:STAT ON", None),
            (":SOUR:PULM:SOUR INT", None),
            (":SOUR:PULM:SOUR:INT SQU", None),
            (":SOUR:PULM:INT:FREQ 1234", None),
            (":OUTPUT:MOD ON;", None),
            (":lfo:sour int; :lfo:ampl 2.0vp; :lfo:stat on;", None),
            (":SOUR:PULM:STAT OFF", None),
            (":SOUR:AM:STAT OFF", None),
            (":OUTPUT:MOD OFF;", None),
            (":lfo:stat off;", None),
        ],
    ) as drv:
        rf = Agilent8257DRf(drv, "GPIB0::19::INSTR")
        rf.set_modulation("pulse", 1234)
        assert rf.modulation() == ("pulse", 1234.0)
        rf.set_modulation("off")
        assert rf.modulation() == ("off", 0.0)


@pytest.mark.parametrize("mode, rate", [("square", 1e3), ("pulse", 0.0), ("am", 2e6), ("pulse", float("nan"))])
def test_rf_bad_modulation_refused_before_any_command(mode, rate):
    with expected_protocol(Agilent8257D, []) as drv:
        with pytest.raises(RoleArgumentError):
            Agilent8257DRf(drv, "GPIB0::19::INSTR").set_modulation(mode, rate)


def test_anritsu_modulation_and_output():
    with expected_protocol(
        AnritsuMG3692C,
        [
            (":AM:STAT OFF", None),
            (":PULM:SOUR INT", None),
            (":PULS:FREQ 1000 HZ", None),
            (":PULM:STAT ON", None),
            (":OUTPUT ON;", None),
            (":OUTPUT?", "1"),
            (":FREQUENCY?;", "1.0E+10"),
        ],
    ) as drv:
        rf = AnritsuMG3692CRf(drv, "GPIB0::5::INSTR")
        rf.set_modulation("pulse", 1000)
        rf.set_output(True)
        assert rf.output_enabled() is True
        assert rf.frequency_GHz() == pytest.approx(10.0)


def test_smb100a_role():
    with expected_protocol(
        RohdeSchwarzSMB100A,
        [
            ("SOUR:FREQ 8000000000.000", None),
            ("OUTP 1", None),
            ("OUTP?", "1"),
            ("SOUR:PULM:STAT 0", None),
            ("SOUR:AM:STAT 0", None),
        ],
    ) as drv:
        rf = SMB100ARf(drv, "TCPIP::10.0.0.2::INSTR")
        rf.set_frequency_GHz(8)
        rf.set_output(True)
        assert rf.output_enabled()
        rf.set_modulation("off")


def test_rf_out_of_range_stays_a_value_error():
    with expected_protocol(RohdeSchwarzSMB100A, []) as drv:
        with pytest.raises(ValueError) as info:
            SMB100ARf(drv, "TCPIP::10.0.0.2::INSTR").set_frequency_GHz(45.0)
        assert not isinstance(info.value, RuntimeError)


# -- detectors -------------------------------------------------------------------


def test_sr830_time_constant_rounds_up_and_settle_time():
    with expected_protocol(
        SR830,
        [
            ("OFLT8", None),  # 0.05 s -> next step 0.1 s (index 8)
            ("OFSL1", None),  # 12 dB/oct
            ("OFLT?", "8"),
        ],
    ) as drv:
        det = SR830Detector(drv, "GPIB0::8::INSTR")
        assert isinstance(det, roles.Detector)
        det.set_time_constant(0.05)
        det.set_filter_slope(12)
        assert det.settle_time() == pytest.approx(6.6 * 0.1, rel=0.01)  # the manual's 99 % figure
        assert det.time_constant() == pytest.approx(0.1)


def test_sr830_read_xy_sensitivity_and_overload():
    with expected_protocol(
        SR830,
        [
            ("SNAP? 1,2", "1.5e-06,-2.5e-07"),
            ("SENS17", None),  # 1 mV
            ("SENS?", "17"),
            ("LIAS?", "4"),  # output overload
            ("LIAS?", "8"),  # reference unlock only: not an overload
        ],
    ) as drv:
        det = SR830Detector(drv, "GPIB0::8::INSTR")
        assert det.read_xy() == (pytest.approx(1.5e-6), pytest.approx(-2.5e-7))
        det.set_sensitivity(0.8e-3)
        assert det.sensitivity() == pytest.approx(1e-3)
        assert det.overloaded() is True
        assert det.overloaded() is False


def test_sr830_refuses_impossible_settings():
    with expected_protocol(SR830, []) as drv:
        det = SR830Detector(drv, "GPIB0::8::INSTR")
        with pytest.raises(RoleArgumentError, match="time constant"):
            det.set_time_constant(1e5)
        with pytest.raises(RoleArgumentError, match="sensitivity"):
            det.set_sensitivity(-1)
        with pytest.raises(RoleArgumentError, match="slope"):
            det.set_filter_slope(10)


def test_sr860_slope_index_and_overload():
    with expected_protocol(
        SR860,
        [
            ("OFSL 3", None),
            ("OFLT 10", None),  # 0.1 s in the SR860 table
            ("CUROVLDSTAT?", "16"),  # input range overload
            ("CUROVLDSTAT?", "32"),  # reference unlock: not an overload
            ("SNAP? X, Y", "1e-06,2e-06"),
        ],
    ) as drv:
        det = SR860Detector(drv, "GPIB0::4::INSTR")
        det.set_filter_slope(24)
        det.set_time_constant(0.1)
        assert det.settle_time() == pytest.approx(1.0, rel=0.01)  # 24 dB/oct: the manual's 10 tau
        assert det.overloaded() is True
        assert det.overloaded() is False
        assert det.read_xy() == (pytest.approx(1e-6), pytest.approx(2e-6))


def test_keithley2182_as_detector():
    with expected_protocol(
        Keithley2182,
        [
            (":SENS:VOLT:NPLC 5", None),
            (":SENS:VOLT:CHAN1:RANG 0.1", None),
            (":READ?", "1.25E-06"),
            (":READ?", "+9.9E37"),
        ],
    ) as drv:
        det = Keithley2182Detector(drv, "GPIB0::7::INSTR", line_frequency_Hz=50)
        assert isinstance(det, roles.Detector)
        det.set_time_constant(0.1)
        assert det.settle_time() == pytest.approx(0.2)
        det.set_sensitivity(0.05)
        assert det.read_xy() == (pytest.approx(1.25e-6), 0.0)
        assert det.overloaded() is False
        det.read_xy()
        assert det.overloaded() is True
        with pytest.raises(RoleArgumentError):
            det.set_phase(10)


# -- field -----------------------------------------------------------------------


def test_kepco_current_mode_calibration_and_trip():
    with expected_protocol(
        KepcoBOP3612,
        [
            ("FUNCtion:MODE CURR", None),
            ("VOLTage 20", None),
            ("CURRent 1.5", None),
            ("OUTPut 1", None),
            ("MEASure:CURRent?", "1.499"),
            ("OUTPut?", "1"),
            ("MEASure:CURRent?", "0.2"),
            ("OUTPut?", "0"),
        ],
    ) as drv:
        fc = KepcoFieldControl(drv, "GPIB0::6::INSTR", LinearCoilCalibration(40.0))
        assert isinstance(fc, roles.FieldControl)
        fc.configure(20)
        assert fc.current_for_field(60.0) == pytest.approx(1.5)
        fc.set_current(fc.current_for_field(60.0))
        fc.set_output(True)
        assert fc.field_mT() == pytest.approx(1.499 * 40.0)
        assert not fc.has_gaussmeter()
        with pytest.raises(SupplyTrip) as info:
            fc.current()
        assert "field (KepcoBOP3612 at GPIB0::6::INSTR)" in str(info.value)


def test_kepco_refuses_current_beyond_supply_range():
    with expected_protocol(KepcoBOP3612, []) as drv:
        fc = KepcoFieldControl(drv, "GPIB0::6::INSTR", LinearCoilCalibration(40.0))
        with pytest.raises(RoleArgumentError):
            fc.set_current(12.5)


def test_lakeshore421_gauss_to_mT_and_overrange():
    with expected_protocol(
        LakeShore421,
        [("UNIT?", "G"), ("FIELD?", "1.2345"), ("FIELDM?", "k"), ("FIELD?", "OL")],
    ) as drv:
        drv.WRITE_DELAY = None
        gm = GaussmeterRole(drv, "ASRL1::INSTR", instrument="LakeShore421")
        assert gm.field_mT() == pytest.approx(123.45)  # 1.2345 kG
        with pytest.raises(InstrumentReplyError, match="over range"):
            gm.field_mT()


def test_lakeshore425_tesla_and_field_role_with_gaussmeter():
    with expected_protocol(LakeShore425, [("UNIT?", "2"), ("RDGFIELD?", "-0.0815")]) as gdrv:
        gm = GaussmeterRole(gdrv, "ASRL2::INSTR", instrument="LakeShore425")
        with expected_protocol(KepcoBOP3612, []) as drv:
            fc = KepcoFieldControl(drv, "GPIB0::6::INSTR", LinearCoilCalibration(40.0), gaussmeter=gm)
            assert fc.has_gaussmeter()
            assert fc.field_mT() == pytest.approx(-81.5)


# -- rotator -----------------------------------------------------------------------


def test_esp300_axis_transcript():
    with expected_protocol(
        ESP300,
        [
            ("2MO", None),
            ("2SN?", "7"),
            ("TE?", "0"),
            ("2PA45", None),
            ("2MD?", "0"),
            ("2TP", "44.9"),
            ("2MD?", "1"),
            ("2TP", "45"),
            ("2OR1", None),
        ],
    ) as drv:
        rot = ESP300Rotator(drv, "GPIB0::1::INSTR", axis=2)
        assert isinstance(rot, roles.Rotator)
        rot.configure()
        rot.move_to(45)
        assert rot.is_moving() is True
        assert rot.angle() == pytest.approx(44.9)
        assert rot.is_moving() is False
        assert rot.check_reached() == pytest.approx(45)
        rot.home()


def test_esp300_wrong_units_errors_and_short_stop():
    with expected_protocol(ESP300, [("1MO", None), ("1SN?", "2")]) as drv:
        with pytest.raises(StageError, match="millimeter"):
            ESP300Rotator(drv, "GPIB0::1::INSTR").configure()
    with expected_protocol(ESP300, [("TE?", "113"), ("TE?", "0")]) as drv:
        with pytest.raises(StageError, match="113"):
            ESP300Rotator(drv, "GPIB0::1::INSTR").check_errors()
    with expected_protocol(ESP300, [("1PA90", None), ("1TP", "60")]) as drv:
        rot = ESP300Rotator(drv, "GPIB0::1::INSTR")
        rot.move_to(90)
        with pytest.raises(StageError, match="short"):
            rot.check_reached()


# -- sourcemeters ------------------------------------------------------------------


def test_keithley2400_source_current_measure_resistance():
    with expected_protocol(
        Keithley2400,
        K2400_INIT
        + [
            (":SOURCE:FUNCTION CURR", None),
            (":SENSE:VOLTAGE:PROTECTION 10", None),
            (":SOURCE:CURRENT 0.001", None),
            ("OUTPUT 1", None),
            ("OUTPUT?", "1"),
            (":SOURCE:CURRENT?", "0.001"),
            (":MEASURE:VOLTAGE?", "0.1234,0.001,123.4,5.0,0"),
        ],
    ) as drv:
        sm = Keithley2400SourceMeter(drv, "GPIB0::24::INSTR")
        assert isinstance(sm, roles.SourceMeter)
        sm.configure(10)
        sm.set_dc_current(1e-3)
        sm.set_output(True)
        assert sm.output_enabled() is True
        assert sm.measure_resistance() == pytest.approx(123.4)


def test_keithley2400_zero_current_resistance_refused():
    with expected_protocol(Keithley2400, K2400_INIT + [(":SOURCE:CURRENT?", "0")]) as drv:
        with pytest.raises(RoleArgumentError, match="zero"):
            Keithley2400SourceMeter(drv, "GPIB0::24::INSTR").measure_resistance()


def test_keithley2450_configure_and_read():
    with expected_protocol(
        Keithley2450,
        [
            (":SOUR:FUNC CURR", None),
            (":SOUR:CURR:VLIM 5", None),
            (":SENS:FUNC 'VOLT';:SENS:VOLT:NPLC 1.000000;", None),
            (":SENS:VOLT:RANG:AUTO 1;", None),
            ("SYST:ERR?", '0,"No error"'),
            (":SOUR:CURR:LEV 0.002", None),
            ("OUTPUT ON", None),
            ("OUTPUT?", "1"),
            (":READ?", "0.25"),
        ],
    ) as drv:
        sm = Keithley2450SourceMeter(drv, "USB0::0x05E6::0x2450::INSTR")
        sm.configure(5, 1.0)
        sm.set_dc_current(2e-3)
        sm.set_output(True)
        assert sm.output_enabled() is True
        assert sm.measure_voltage() == pytest.approx(0.25)
