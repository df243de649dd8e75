"""Every transport failure becomes a typed stfmr error naming role, instrument and address."""

from __future__ import annotations

import pytest
from pymeasure.adapters import Adapter
from pymeasure.instruments.kepco import KepcoBOP3612
from pymeasure.instruments.srs import SR830
from pyvisa import constants
from pyvisa.errors import VisaIOError

from stfmr.instruments.calibration import LinearCoilCalibration
from stfmr.instruments.errors import (
    InstrumentConnectionLost,
    InstrumentError,
    InstrumentReplyError,
    InstrumentTimeout,
)
from stfmr.instruments.role_detector import SR830Detector
from stfmr.instruments.role_field import KepcoFieldControl
from stfmr.instruments.role_rotator import ESP300Rotator
from stfmr.instruments.role_sourcemeter import Keithley2400SourceMeter


class FailingAdapter(Adapter):
    """Accepts writes; every read raises `exc` (or returns `reply` when exc is None)."""

    def __init__(self, exc: BaseException | None = None, reply: str = "", fail_writes: bool = False):
        super().__init__()
        self.exc = exc
        self.reply = reply
        self.fail_writes = fail_writes

    def _write(self, command, **kwargs):
        if self.fail_writes and self.exc is not None:
            raise self.exc

    def _write_bytes(self, content, **kwargs):
        self._write(content)

    def _read(self, **kwargs):
        if self.exc is not None:
            raise self.exc
        return self.reply

    def _read_bytes(self, count, break_on_termchar=False, **kwargs):
        return self._read().encode()


ADDRESS = "GPIB0::8::INSTR"


@pytest.mark.parametrize(
    "exc, expected",
    [
        (VisaIOError(constants.StatusCode.error_timeout), InstrumentTimeout),
        (TimeoutError("timed out"), InstrumentTimeout),
        (VisaIOError(constants.StatusCode.error_connection_lost), InstrumentConnectionLost),
        (ConnectionResetError("reset by peer"), InstrumentConnectionLost),
        (BrokenPipeError("broken pipe"), InstrumentConnectionLost),
        (OSError("device gone"), InstrumentConnectionLost),
    ],
)
def test_transport_failures_are_typed_and_named(exc, expected):
    det = SR830Detector(SR830(FailingAdapter(exc)), ADDRESS)
    for call in (det.read_xy, det.time_constant, det.overloaded, det.identity):
        with pytest.raises(expected) as info:
            call()
        err = info.value
        assert (err.role, err.instrument, err.address) == ("detector", "SR830", ADDRESS)
        assert str(err).startswith(f"detector (SR830 at {ADDRESS}): ")


def test_write_failures_are_typed_too():
    adapter = FailingAdapter(BrokenPipeError("pipe"), fail_writes=True)
    fc = KepcoFieldControl(KepcoBOP3612(adapter), "TCPIP::127.0.0.1::5025::SOCKET", LinearCoilCalibration(40))
    with pytest.raises(InstrumentConnectionLost, match="set current"):
        fc.set_current(1.0)


@pytest.mark.parametrize("garbage", ["#!?", "1.0e-6,abc", "", "nan"])
def test_garbled_replies_are_reply_errors(garbage):
    det = SR830Detector(SR830(FailingAdapter(reply=garbage)), ADDRESS)
    with pytest.raises(InstrumentReplyError) as info:
        det.read_xy()
    assert info.value.role == "detector"
    with pytest.raises(InstrumentReplyError):
        det.sensitivity()


def test_garbled_numbers_elsewhere():
    from pymeasure.instruments.keithley import Keithley2400
    from pymeasure.instruments.newport import ESP300

    sm = Keithley2400SourceMeter(Keithley2400(FailingAdapter(reply="volts!")), "GPIB0::24::INSTR")
    with pytest.raises(InstrumentReplyError, match="sourcemeter"):
        sm.measure_voltage()
    rot = ESP300Rotator(ESP300(FailingAdapter(reply="maybe")), "GPIB0::1::INSTR")
    with pytest.raises(InstrumentReplyError, match="rotator"):
        rot.is_moving()
    fc = KepcoFieldControl(KepcoBOP3612(FailingAdapter(reply="2")), "GPIB0::6::INSTR", LinearCoilCalibration(40))
    with pytest.raises(InstrumentReplyError):
        fc.output_enabled()


def test_empty_identity_is_a_reply_error():
    det = SR830Detector(SR830(FailingAdapter(reply="")), ADDRESS)
    with pytest.raises(InstrumentReplyError, match="identity"):
        det.identity()


def test_instrument_errors_are_runtime_errors_for_the_cli():
    err = InstrumentTimeout("rf", "Agilent8257D", "GPIB0::19::INSTR", "reply timed out")
    assert isinstance(err, InstrumentError) and isinstance(err, RuntimeError)
