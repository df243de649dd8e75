"""Simulated rf signal generators: Agilent 8257D, Anritsu MG3692C, Rohde & Schwarz SMB100A.

Each speaks the SCPI subset its driver (and stfmr's rf role) sends, in long or
short form, and drives the bench's shared :class:`RfState`: carrier frequency
(Hz), level (dBm), output switch and the modulation the lock-in sees ("pulse"
for internal on/off square-wave pulse modulation, "am" for internal AM, "off"
otherwise). Settings outside the instrument's range are refused with SCPI
error -222 in its error queue (the value is not applied), as the real
generators do; commands it does not know are -113 and a protocol error.

Reply formats follow the vendors: Agilent answers numbers as ``+1.00000000000000E+10``,
Anritsu as ``1.0000000000E+10``, Rohde & Schwarz as plain decimals (``10000000000``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from stfmr.instruments.sim.base import SimInstrument, rx
from stfmr.instruments.sim.scpi import FREQUENCY_UNITS, ScpiValueError, header, number_with_unit, on_off

if TYPE_CHECKING:
    from stfmr.instruments.sim.bench import VirtualBench

Handler = Callable[..., "str | None"]
ARG = r"\s+(.+?)"

DATA_OUT_OF_RANGE = '-222,"Data out of range"'
ILLEGAL_PARAMETER = '-224,"Illegal parameter value"'
#: SCPI long forms of the Agilent's choice parameters -> the short form it answers with
LONG_FORMS: dict[str, str] = {
    "INTERNAL": "INT", "INTERNAL2": "INT2", "EXTERNAL": "EXT", "EXTERNAL2": "EXT2", "SCALAR": "SCAL",
    "SQUARE": "SQU", "FREERUN": "FRUN", "TRIGGERED": "TRIG", "DOUBLET": "DOUB", "GATED": "GATE",
    "TRIANGLE": "TRI", "NOISE": "NOIS", "DUALSINE": "DUAL", "SWEPTSINE": "SWEP",
    "FUNCTION": "FUNC", "FUNCTION2": "FUNC2",
}


class _RfGenerator(SimInstrument):
    """Shared state and behaviour of the three generators.

    Subclasses set the ranges, the reply formats and the command table. The
    carrier settings live in ``bench.rf``; the modulation sub-settings live here
    and are turned into ``bench.rf.modulation`` by :meth:`_push_modulation`.
    """

    IDN: str = ""
    FREQUENCY_RANGE_HZ: tuple[float, float] = (250e3, 20e9)
    POWER_RANGE_DBM: tuple[float, float] = (-135.0, 25.0)

    def __init__(self, bench: VirtualBench) -> None:
        super().__init__(bench)
        self.mod_master = True
        self.pulse_on = False
        self.pulse_source = "INT"
        self.pulse_input = "SQU"
        self.pulse_rate_Hz = 1e3
        self.pulse_width_s = 0.5e-3
        self.am_on = False
        self.am_source = "INT"
        self.am_rate_Hz = 1e3
        self.am_depth_percent = 100.0
        self.am_shape = "SINE"
        self.lfo_on = False
        self.lfo_source = "INT"
        self.lfo_amplitude_V = 0.0
        self.lfo_frequency_Hz = 1e3
        self._table = self.table()

    # -- settings shared with the bench ---------------------------------
    def reset(self) -> None:
        """*RST: CW, output off, modulation off (frequency and level kept from the bench)."""
        self.mod_master = True
        self.pulse_on = False
        self.am_on = False
        self.lfo_on = False
        rf = self.bench.rf
        rf.output_on = False
        self._push_modulation()

    def _refuse(self, error: str, command: str) -> None:
        self.errors.append(error)
        self.bench.log.append(f"{self.MODEL}: refused {command!r}: {error}")

    def set_frequency(self, hz: float, command: str) -> None:
        lo, hi = self.FREQUENCY_RANGE_HZ
        if not lo <= hz <= hi:
            self._refuse(DATA_OUT_OF_RANGE, command)
            return
        self.bench.rf.frequency_Hz = hz

    def set_power(self, dbm: float, command: str) -> None:
        lo, hi = self.POWER_RANGE_DBM
        if not lo <= dbm <= hi:
            self._refuse(DATA_OUT_OF_RANGE, command)
            return
        self.bench.rf.power_dBm = dbm

    def set_output(self, on: bool) -> None:
        self.bench.rf.output_on = on

    def _push_modulation(self) -> None:
        """Translate the modulation sub-settings into what reaches the sample."""
        rf = self.bench.rf
        pulse = self.mod_master and self.pulse_on and self.pulse_source == "INT"
        am = self.mod_master and self.am_on and self.am_source.startswith("INT")
        if pulse:
            rf.modulation_rate_Hz = self.pulse_rate_Hz
            rf.modulation = "pulse"
        elif am:
            rf.modulation_rate_Hz = self.am_rate_Hz
            rf.am_depth = self.am_depth_percent / 100.0
            rf.modulation = "am"
        else:
            rf.modulation = "off"

    # -- command handling -------------------------------------------------
    def table(self) -> list[tuple[re.Pattern[str], Handler]]:
        """The (pattern, handler) dispatch table of the model's commands."""
        raise NotImplementedError

    def handle(self, command: str) -> str | None:
        return self.dispatch(command, self._table)

    def common_table(self) -> list[tuple[re.Pattern[str], Handler]]:
        """IEEE 488.2 commands and the SCPI error queue."""
        return [
            (rx(r"\*IDN\?"), lambda: self.IDN),
            (rx(r"\*RST"), lambda: self.reset()),
            (rx(r"\*CLS"), lambda: self.errors.clear()),
            (rx(r"\*OPC\?"), lambda: "1"),
            (rx(r"\*WAI"), lambda: None),
            (rx(header("SYSTem:ERRor[:NEXT]?")), self.next_error),
        ]


class SimAgilent8257D(_RfGenerator):
    """Agilent/Keysight E8257D PSG analog signal generator (pymeasure ``Agilent8257D``).

    Modulation reaches the output only with ``:OUTPut:MODulation ON`` (the PSG's
    master switch), which the driver's ``enable_modulation`` sends.
    """

    MODEL = "Agilent8257D"
    IDN = "Agilent Technologies, E8257D, SIM0008257, C.06.28"
    FREQUENCY_RANGE_HZ = (250e3, 40e9)
    POWER_RANGE_DBM = (-135.0, 25.0)
    NO_ERROR = '+0,"No error"'
    PULSE_SOURCES = ("INT", "EXT", "SCAL")
    PULSE_INPUTS = ("SQU", "FRUN", "TRIG", "DOUB", "GATE")
    AM_SOURCES = ("INT", "INT2", "EXT", "EXT2")
    AM_SHAPES = ("SINE", "TRI", "SQU", "RAMP", "NOIS", "DUAL", "SWEP")
    LFO_SOURCES = ("INT", "INT2", "FUNC", "FUNC2")

    @staticmethod
    def _num(value: float) -> str:
        return f"{value:+.14E}" if abs(value) >= 1e3 else f"{value:+.8E}"

    def _choice(self, attr: str, choices: tuple[str, ...], command: str) -> Handler:
        def run(arg: str) -> None:
            word = arg.strip().upper()
            word = LONG_FORMS.get(word, word)
            if word not in choices:
                self._refuse(ILLEGAL_PARAMETER, f"{command} {arg}")
                return
            setattr(self, attr, word)
            self._push_modulation()

        return run

    def _flag(self, attr: str) -> Handler:
        def run(arg: str) -> None:
            setattr(self, attr, on_off(arg))
            self._push_modulation()

        return run

    def _float_in(self, attr: str, lo: float, hi: float, units: dict[str, float] | None = None) -> Handler:
        def run(arg: str) -> None:
            value = number_with_unit(arg, units or {})
            if not lo <= value <= hi:
                self._refuse(DATA_OUT_OF_RANGE, arg)
                return
            setattr(self, attr, value)
            self._push_modulation()

        return run

    def table(self) -> list[tuple[re.Pattern[str], Handler]]:
        s = "[SOURce:]"
        rf = self.bench.rf

        def flag_q(attr: str) -> Handler:
            return lambda: "1" if getattr(self, attr) else "0"

        return self.common_table() + [
            (rx(header(f"{s}FREQuency[:CW]?")), lambda: self._num(rf.frequency_Hz)),
            (rx(header(f"{s}FREQuency[:CW]") + ARG),
             lambda a: self.set_frequency(number_with_unit(a, FREQUENCY_UNITS), a)),
            (rx(header(f"{s}POWer[:LEVel][:IMMediate][:AMPLitude]?")), lambda: self._num(rf.power_dBm)),
            (rx(header(f"{s}POWer[:LEVel][:IMMediate][:AMPLitude]") + ARG),
             lambda a: self.set_power(number_with_unit(a, {"DBM": 1.0}), a)),
            (rx(header("OUTPut[:STATe]?")), lambda: "1" if rf.output_on else "0"),
            (rx(header("OUTPut[:STATe]") + ARG), lambda a: self.set_output(on_off(a))),
            (rx(header("OUTPut:MODulation[:STATe]?")), flag_q("mod_master")),
            (rx(header("OUTPut:MODulation[:STATe]") + ARG), self._flag("mod_master")),
            # pulse modulation
            (rx(header(f"{s}PULM:STATe?")), flag_q("pulse_on")),
            (rx(header(f"{s}PULM:STATe") + ARG), self._flag("pulse_on")),
            (rx(header(f"{s}PULM:SOURce?")), lambda: self.pulse_source),
            (rx(header(f"{s}PULM:SOURce") + ARG), self._choice("pulse_source", self.PULSE_SOURCES, "PULM:SOUR")),
            (rx(header(f"{s}PULM:SOURce:INTernal?")), lambda: self.pulse_input),
            (rx(header(f"{s}PULM:SOURce:INTernal") + ARG),
             self._choice("pulse_input", self.PULSE_INPUTS, "PULM:SOUR:INT")),
            (rx(header(f"{s}PULM:INTernal:FREQuency?")), lambda: self._num(self.pulse_rate_Hz)),
            (rx(header(f"{s}PULM:INTernal:FREQuency") + ARG),
             self._float_in("pulse_rate_Hz", 0.1, 10e6, FREQUENCY_UNITS)),
            # amplitude modulation
            (rx(header(f"{s}AM[1]:STATe?")), flag_q("am_on")),
            (rx(header(f"{s}AM[1]:STATe") + ARG), self._flag("am_on")),
            (rx(header(f"{s}AM[1]:SOURce?")), lambda: self.am_source),
            (rx(header(f"{s}AM[1]:SOURce") + ARG), self._choice("am_source", self.AM_SOURCES, "AM:SOUR")),
            (rx(header(f"{s}AM[1]:DEPTh[:LINear]?")), lambda: self._num(self.am_depth_percent)),
            (rx(header(f"{s}AM[1]:DEPTh[:LINear]") + ARG),
             self._float_in("am_depth_percent", 0.0, 100.0, {"PCT": 1.0})),
            (rx(header(f"{s}AM[1]:INTernal[1]:FREQuency?")), lambda: self._num(self.am_rate_Hz)),
            (rx(header(f"{s}AM[1]:INTernal[1]:FREQuency") + ARG),
             self._float_in("am_rate_Hz", 0.5, 1e6, FREQUENCY_UNITS)),
            (rx(header(f"{s}AM[1]:INTernal[1]:FUNCtion:SHAPe?")), lambda: self.am_shape),
            (rx(header(f"{s}AM[1]:INTernal[1]:FUNCtion:SHAPe") + ARG),
             self._choice("am_shape", self.AM_SHAPES, "AM:INT:FUNC:SHAP")),
            # low-frequency output (sent by the driver's enable/disable_modulation)
            (rx(header(f"{s}LFOutput:STATe?")), flag_q("lfo_on")),
            (rx(header(f"{s}LFOutput:STATe") + ARG), self._flag("lfo_on")),
            (rx(header(f"{s}LFOutput:SOURce?")), lambda: self.lfo_source),
            (rx(header(f"{s}LFOutput:SOURce") + ARG), self._choice("lfo_source", self.LFO_SOURCES, "LFO:SOUR")),
            (rx(header(f"{s}LFOutput:AMPLitude?")), lambda: self._num(self.lfo_amplitude_V)),
            (rx(header(f"{s}LFOutput:AMPLitude") + ARG),
             self._float_in("lfo_amplitude_V", 0.0, 3.5, {"VP": 1.0, "V": 1.0})),
        ]


class SimAnritsuMG3692C(_RfGenerator):
    """Anritsu MG3692C (MG369xC SCPI): frequency, level, output, internal pulse and AM.

    pymeasure's driver covers frequency, power and output; stfmr's rf role
    writes the modulation commands itself (``:PULM:SOUR INT``, ``:PULS:FREQ <Hz> HZ``,
    ``:PULM:STAT``, ``:AM:INT:FREQ <Hz> HZ``, ``:AM:STAT``).
    """

    MODEL = "AnritsuMG3692C"
    IDN = "ANRITSU,MG3692C,SIM0003692,4.06"
    FREQUENCY_RANGE_HZ = (2e9, 20e9)
    POWER_RANGE_DBM = (-20.0, 30.0)

    @staticmethod
    def _num(value: float) -> str:
        return f"{value:.10E}"

    def _set_flag(self, attr: str, arg: str) -> None:
        setattr(self, attr, on_off(arg))
        self._push_modulation()

    def _set_rate(self, attr: str, arg: str, lo: float, hi: float) -> None:
        value = number_with_unit(arg, FREQUENCY_UNITS)
        if not lo <= value <= hi:
            self._refuse(DATA_OUT_OF_RANGE, arg)
            return
        setattr(self, attr, value)
        self._push_modulation()

    def _set_pulse_source(self, arg: str) -> None:
        word = arg.strip().upper()
        if word not in ("INT", "INTERNAL", "EXT", "EXTERNAL", "EXT1", "EXT2"):
            raise ScpiValueError(arg)
        self.pulse_source = "INT" if word.startswith("INT") else "EXT"
        self._push_modulation()

    def table(self) -> list[tuple[re.Pattern[str], Handler]]:
        s = "[SOURce:]"
        rf = self.bench.rf
        return self.common_table() + [
            (rx(header(f"{s}FREQuency[:CW]?")), lambda: self._num(rf.frequency_Hz)),
            (rx(header(f"{s}FREQuency[:CW]") + ARG),
             lambda a: self.set_frequency(number_with_unit(a, FREQUENCY_UNITS), a)),
            (rx(header(f"{s}POWer[:LEVel][:IMMediate][:AMPLitude]?")), lambda: f"{rf.power_dBm:.2f}"),
            (rx(header(f"{s}POWer[:LEVel][:IMMediate][:AMPLitude]") + ARG),
             lambda a: self.set_power(number_with_unit(a, {"DBM": 1.0}), a)),
            (rx(header("OUTPut[:STATe]?")), lambda: "1" if rf.output_on else "0"),
            (rx(header("OUTPut[:STATe]") + ARG), lambda a: self.set_output(on_off(a))),
            (rx(header(f"{s}PULM:STATe?")), lambda: "1" if self.pulse_on else "0"),
            (rx(header(f"{s}PULM:STATe") + ARG), lambda a: self._set_flag("pulse_on", a)),
            (rx(header(f"{s}PULM:SOURce?")), lambda: self.pulse_source),
            (rx(header(f"{s}PULM:SOURce") + ARG), self._set_pulse_source),
            (rx(header(f"{s}PULSe:FREQuency?")), lambda: self._num(self.pulse_rate_Hz)),
            (rx(header(f"{s}PULSe:FREQuency") + ARG),
             lambda a: self._set_rate("pulse_rate_Hz", a, 0.1, 40e6)),
            (rx(header(f"{s}AM:STATe?")), lambda: "1" if self.am_on else "0"),
            (rx(header(f"{s}AM:STATe") + ARG), lambda a: self._set_flag("am_on", a)),
            (rx(header(f"{s}AM:INTernal:FREQuency?")), lambda: self._num(self.am_rate_Hz)),
            (rx(header(f"{s}AM:INTernal:FREQuency") + ARG),
             lambda a: self._set_rate("am_rate_Hz", a, 0.1, 1e6)),
        ]


class SimSMB100A(_RfGenerator):
    """Rohde & Schwarz SMB100A (stfmr's ``RohdeSchwarzSMB100A`` driver).

    Pulse modulation rate is 1/``SOUR:PULM:PER``; AM uses the internal LF
    generator at ``SOUR:LFO:FREQ``. Numbers are answered as plain decimals.
    """

    MODEL = "SMB100A"
    IDN = "Rohde&Schwarz,SMB100A,1406.6000k03/SIM100,3.1.19.15-3.50.124.73"
    FREQUENCY_RANGE_HZ = (9e3, 40e9)
    POWER_RANGE_DBM = (-145.0, 30.0)

    @staticmethod
    def _num(value: float) -> str:
        return f"{value:.12g}"

    def _set_flag(self, attr: str, arg: str) -> None:
        setattr(self, attr, on_off(arg))
        self._push_modulation()

    def _set_source(self, attr: str, arg: str) -> None:
        word = arg.strip().upper()
        if word not in ("INT", "INTERNAL", "EXT", "EXTERNAL"):
            raise ScpiValueError(arg)
        setattr(self, attr, "INT" if word.startswith("INT") else "EXT")
        self._push_modulation()

    def _set_value(self, attr: str, arg: str, lo: float, hi: float, units: dict[str, float]) -> None:
        value = number_with_unit(arg, units)
        if not lo <= value <= hi:
            self._refuse(DATA_OUT_OF_RANGE, arg)
            return
        setattr(self, attr, value)
        self._push_modulation()

    @property
    def pulse_period_s(self) -> float:
        return 1.0 / self.pulse_rate_Hz

    def _set_period(self, arg: str) -> None:
        period = number_with_unit(arg, {"S": 1.0, "MS": 1e-3, "US": 1e-6, "NS": 1e-9})
        if not 20e-9 <= period <= 100.0:
            self._refuse(DATA_OUT_OF_RANGE, arg)
            return
        self.pulse_rate_Hz = 1.0 / period
        self._push_modulation()

    def duty_cycle(self) -> float:
        """Pulse width / period of the internal pulse generator."""
        return self.pulse_width_s * self.pulse_rate_Hz

    def table(self) -> list[tuple[re.Pattern[str], Handler]]:
        s = "[SOURce[1]:]"
        rf = self.bench.rf
        time_units = {"S": 1.0, "MS": 1e-3, "US": 1e-6, "NS": 1e-9}

        def flag(attr: str) -> Handler:
            return lambda: "1" if getattr(self, attr) else "0"

        return self.common_table() + [
            (rx(header(f"{s}FREQuency[:CW]?")), lambda: self._num(rf.frequency_Hz)),
            (rx(header(f"{s}FREQuency[:CW]") + ARG),
             lambda a: self.set_frequency(number_with_unit(a, FREQUENCY_UNITS), a)),
            (rx(header(f"{s}POWer[:LEVel][:IMMediate][:AMPLitude]?")), lambda: self._num(rf.power_dBm)),
            (rx(header(f"{s}POWer[:LEVel][:IMMediate][:AMPLitude]") + ARG),
             lambda a: self.set_power(number_with_unit(a, {"DBM": 1.0}), a)),
            (rx(header("OUTPut[1][:STATe]?")), lambda: "1" if rf.output_on else "0"),
            (rx(header("OUTPut[1][:STATe]") + ARG), lambda a: self.set_output(on_off(a))),
            (rx(header(f"{s}PULM:STATe?")), flag("pulse_on")),
            (rx(header(f"{s}PULM:STATe") + ARG), lambda a: self._set_flag("pulse_on", a)),
            (rx(header(f"{s}PULM:SOURce?")), lambda: self.pulse_source),
            (rx(header(f"{s}PULM:SOURce") + ARG), lambda a: self._set_source("pulse_source", a)),
            (rx(header(f"{s}PULM:PERiod?")), lambda: self._num(self.pulse_period_s)),
            (rx(header(f"{s}PULM:PERiod") + ARG), self._set_period),
            (rx(header(f"{s}PULM:WIDTh?")), lambda: self._num(self.pulse_width_s)),
            (rx(header(f"{s}PULM:WIDTh") + ARG),
             lambda a: self._set_value("pulse_width_s", a, 5e-9, 100.0, time_units)),
            (rx(header(f"{s}AM[1]:STATe?")), flag("am_on")),
            (rx(header(f"{s}AM[1]:STATe") + ARG), lambda a: self._set_flag("am_on", a)),
            (rx(header(f"{s}AM[1]:SOURce?")), lambda: self.am_source),
            (rx(header(f"{s}AM[1]:SOURce") + ARG), lambda a: self._set_source("am_source", a)),
            (rx(header(f"{s}AM[1]:DEPTh?")), lambda: self._num(self.am_depth_percent)),
            (rx(header(f"{s}AM[1]:DEPTh") + ARG),
             lambda a: self._set_value("am_depth_percent", a, 0.0, 100.0, {"PCT": 1.0})),
            (rx(header(f"{s}LFOutput[1]:FREQuency?")), lambda: self._num(self.am_rate_Hz)),
            (rx(header(f"{s}LFOutput[1]:FREQuency") + ARG),
             lambda a: self._set_value("am_rate_Hz", a, 0.1, 1e6, FREQUENCY_UNITS)),
        ]
