"""Simulated Keithley 2400 and 2450 SourceMeters forcing I_dc through the device.

Both source a dc current into ``bench.dc`` (so the lock-in sees the dc-current
torques and the device heats up) and measure the voltage I*R with R from
``bench.resistance()``: AMR at the stage angle, Joule heating by I_dc and the rf
current. With the voltage at the compliance limit the output clamps there (the
current falls to V_comp/R) and the instrument flags it: the 2400 in bit 3 of
the reading's status word, the 2450 in ``:SOUR:CURR:VLIM:TRIP?``. Readings
carry Gaussian noise that falls as 1/sqrt(NPLC), and each takes NPLC/50 s of
(virtual) integration time.

Keithley 2400 (pymeasure ``Keithley2400``): ``:MEASure:VOLTage?`` and ``:READ?``
answer the elements set by ``:FORMat:ELEMents`` (the driver sets VOLT, CURR,
RES, TIME, STAT), as ``+1.234567E-01,...``; ``:MEASure`` switches the output on
as the real one does. Keithley 2450 (pymeasure ``Keithley2450``): ``:READ?``
answers the one reading of the selected ``:SENSe:FUNCtion``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from stfmr.instruments.sim.base import SimInstrument, rx
from stfmr.instruments.sim.scpi import ScpiValueError, header, number_with_unit, on_off

if TYPE_CHECKING:
    from stfmr.instruments.sim.bench import VirtualBench

ARG = r"\s+(.+?)"
Table = list[tuple[re.Pattern[str], Callable[..., "str | None"]]]
NAN_READING = 9.91e37  # Keithley's "not a number" element value
DATA_OUT_OF_RANGE = '-222,"Data out of range"'
ELEMENT_NAMES = {"VOLT": "VOLT", "VOLTAGE": "VOLT", "CURR": "CURR", "CURRENT": "CURR",
                 "RES": "RES", "RESISTANCE": "RES", "TIME": "TIME", "STAT": "STAT", "STATUS": "STAT"}


class _KeithleySmu(SimInstrument):
    """Common part: source settings, compliance, the physics of one reading."""

    IDN = ""
    I_MAX = 1.05
    V_MAX = 210.0
    #: rms voltage noise at 1 NPLC (V)
    NOISE_V_AT_1NPLC = 1e-6
    #: power-line frequency (Hz) for the integration time of one reading
    LINE_HZ = 50.0

    def __init__(self, bench: VirtualBench) -> None:
        super().__init__(bench)
        self._defaults()
        self._table = self._build_table()

    def _defaults(self) -> None:
        """Power-on settings (also what *RST restores)."""
        self.source_function = "VOLT"
        self.source_current_A = 0.0
        self.source_voltage_V = 0.0
        self.compliance_V = 21.0
        self.compliance_A = 1.05e-4
        self.sense_function = "VOLT"
        self.nplc = 1.0
        self.auto_range = True
        self.in_compliance = False
        self._push()

    # -- physics ------------------------------------------------------------
    def _push(self) -> None:
        """Hand the sourced current and compliance to the bench."""
        dc = self.bench.dc
        dc.compliance_V = self.compliance_V
        dc.current_A = self.source_current_A if self.source_function == "CURR" else 0.0

    def _set_output(self, on: bool) -> None:
        self.bench.dc.output_on = on
        self._push()

    def reading(self) -> tuple[float, float, float]:
        """One (voltage V, current A, time s) reading at the present state; charges NPLC/50 s."""
        self.bench.charge(self.nplc / self.LINE_HZ)
        noise = float(self.bench.rng.normal(0.0, self.NOISE_V_AT_1NPLC / self.nplc**0.5))
        if not self.bench.dc.output_on or self.source_function != "CURR":
            self.in_compliance = False
            return noise, 0.0, self.bench.clock.now()
        resistance = self.bench.resistance()
        amps = self.source_current_A
        volts = amps * resistance
        self.in_compliance = abs(volts) > self.compliance_V
        if self.in_compliance:
            volts = self.compliance_V if volts > 0 else -self.compliance_V
            amps = volts / resistance
        return volts + noise, amps, self.bench.clock.now()

    # -- shared setters -------------------------------------------------------
    def _set_source_function(self, arg: str) -> None:
        word = arg.strip().upper()
        names = {"CURR": "CURR", "CURRENT": "CURR", "VOLT": "VOLT", "VOLTAGE": "VOLT"}
        if word not in names:
            raise ScpiValueError(arg)
        self.source_function = names[word]
        self._push()

    def _set_sense_function(self, arg: str) -> None:
        word = arg.strip().strip("'\"").split(":")[0].upper()
        names = {"CURR": "CURR", "CURRENT": "CURR", "VOLT": "VOLT", "VOLTAGE": "VOLT",
                 "RES": "RES", "RESISTANCE": "RES"}
        if word not in names:
            raise ScpiValueError(arg)
        self.sense_function = names[word]

    def _set_current(self, arg: str) -> None:
        value = number_with_unit(arg, {"A": 1.0, "MA": 1e-3, "UA": 1e-6})
        if abs(value) > self.I_MAX:
            self._refuse(arg)
            return
        self.source_current_A = value
        self._push()

    def _set_compliance_V(self, arg: str) -> None:
        value = number_with_unit(arg, {"V": 1.0, "MV": 1e-3})
        if abs(value) > self.V_MAX:
            self._refuse(arg)
            return
        self.compliance_V = abs(value)
        self._push()

    def _set_nplc(self, arg: str) -> None:
        value = float(arg)
        if not 0.01 <= value <= 10.0:
            self._refuse(arg)
            return
        self.nplc = value

    def _refuse(self, arg: str) -> None:
        self.errors.append(DATA_OUT_OF_RANGE)
        self.bench.log.append(f"{self.MODEL}: refused value {arg!r}")

    def _reset(self) -> None:
        self.bench.dc.output_on = False
        self._defaults()

    def _common(self) -> Table:
        return [
            (rx(r"\*IDN\?"), lambda: self.IDN),
            (rx(r"\*RST"), self._reset),
            (rx(r"\*CLS"), lambda: self.errors.clear()),
            (rx(r"\*OPC\?"), lambda: "1"),
            (rx(r"\*WAI"), lambda: None),
            (rx(header("SYSTem:ERRor[:NEXT]?")), self.next_error),
            (rx(header("OUTPut[1][:STATe]?")), lambda: "1" if self.bench.dc.output_on else "0"),
            (rx(header("OUTPut[1][:STATe]") + ARG), lambda a: self._set_output(on_off(a))),
        ]

    def handle(self, command: str) -> str | None:
        return self.dispatch(command, self._table)

    def _build_table(self) -> Table:
        raise NotImplementedError


class SimKeithley2400(_KeithleySmu):
    """Keithley 2400 SourceMeter (SCPI, reading elements set by :FORMat:ELEMents)."""

    MODEL = "Keithley2400"
    IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,SIM2400,C30   Mar 17 2006 09:29:29/A02  /K/J"
    #: status word bit of a reading taken in compliance
    STATUS_COMPLIANCE = 8

    def _defaults(self) -> None:
        super()._defaults()
        self.elements = ["VOLT", "CURR", "RES", "TIME", "STAT"]

    def _set_elements(self, arg: str) -> None:
        names = [w.strip().upper() for w in arg.split(",") if w.strip()]
        if not names or any(n not in ELEMENT_NAMES for n in names):
            raise ScpiValueError(arg)
        self.elements = [ELEMENT_NAMES[n] for n in names]

    def _formatted_reading(self, measure: bool) -> str:
        if measure and not self.bench.dc.output_on:
            self._set_output(True)  # :MEASure turns the output on by itself
        volts, amps, seconds = self.reading()
        values = {
            "VOLT": volts,
            "CURR": amps,
            "RES": NAN_READING,
            "TIME": seconds,
            "STAT": float(self.STATUS_COMPLIANCE if self.in_compliance else 0),
        }
        return ",".join(f"{values[name]:+.6E}" for name in self.elements)

    def _measure(self, function: str) -> str:
        self._set_sense_function(function)
        return self._formatted_reading(measure=True)

    def _build_table(self) -> Table:
        s = "[SOURce[1]:]"
        return self._common() + [
            (rx(header("FORMat[:SENSe[1]]:ELEMents[:SENSe[1]]") + ARG), self._set_elements),
            (rx(header("FORMat[:SENSe[1]]:ELEMents[:SENSe[1]]?")), lambda: ",".join(self.elements)),
            (rx(header(f"{s}FUNCtion[:MODE]?")), lambda: self.source_function),
            (rx(header(f"{s}FUNCtion[:MODE]") + ARG), self._set_source_function),
            (rx(header(f"{s}CURRent[:LEVel][:IMMediate][:AMPLitude]?")),
             lambda: f"{self.source_current_A:+.6E}"),
            (rx(header(f"{s}CURRent[:LEVel][:IMMediate][:AMPLitude]") + ARG), self._set_current),
            (rx(header("[SENSe[1]:]VOLTage[:DC]:PROTection[:LEVel]?")), lambda: f"{self.compliance_V:+.6E}"),
            (rx(header("[SENSe[1]:]VOLTage[:DC]:PROTection[:LEVel]") + ARG), self._set_compliance_V),
            (rx(header("[SENSe[1]:]FUNCtion[:ON]") + ARG), self._set_sense_function),
            (rx(header("[SENSe[1]:]VOLTage[:DC]:NPLCycles?")), lambda: f"{self.nplc:+.6E}"),
            (rx(header("[SENSe[1]:]VOLTage[:DC]:NPLCycles") + ARG), self._set_nplc),
            (rx(header("[SENSe[1]:]VOLTage[:DC]:RANGe:AUTO") + ARG),
             lambda a: setattr(self, "auto_range", on_off(a))),
            (rx(header("MEASure:VOLTage[:DC]?")), lambda: self._measure("VOLT")),
            (rx(header("MEASure:CURRent[:DC]?")), lambda: self._measure("CURR")),
            (rx(header("READ?")), lambda: self._formatted_reading(measure=False)),
        ]


class SimKeithley2450(_KeithleySmu):
    """Keithley 2450 SourceMeter (SCPI command set): :READ? answers the sense function's reading."""

    MODEL = "Keithley2450"
    IDN = "KEITHLEY INSTRUMENTS,MODEL 2450,SIM2450,1.7.12b"
    NO_ERROR = '0,"No error;0;0 0"'

    def _read(self) -> str:
        volts, amps, _ = self.reading()
        if self.sense_function == "CURR":
            return f"{amps:+.6E}"
        if self.sense_function == "RES":
            return f"{volts / amps:+.6E}" if amps else f"{NAN_READING:+.6E}"
        return f"{volts:+.6E}"

    def _build_table(self) -> Table:
        s = "[SOURce[1]:]"
        return self._common() + [
            (rx(header(f"{s}FUNCtion[:MODE]?")), lambda: self.source_function),
            (rx(header(f"{s}FUNCtion[:MODE]") + ARG), self._set_source_function),
            (rx(header(f"{s}CURRent[:LEVel][:IMMediate][:AMPLitude]?")),
             lambda: f"{self.source_current_A:+.6E}"),
            (rx(header(f"{s}CURRent[:LEVel][:IMMediate][:AMPLitude]") + ARG), self._set_current),
            (rx(header(f"{s}CURRent:VLIMit[:LEVel]?")), lambda: f"{self.compliance_V:+.6E}"),
            (rx(header(f"{s}CURRent:VLIMit[:LEVel]") + ARG), self._set_compliance_V),
            (rx(header(f"{s}CURRent:VLIMit[:LEVel]:TRIPped?")), lambda: "1" if self.in_compliance else "0"),
            (rx(header("[SENSe[1]:]FUNCtion[:ON]") + ARG), self._set_sense_function),
            (rx(header("[SENSe[1]:]FUNCtion[:ON]?")), lambda: f'"{self.sense_function}:DC"'),
            (rx(header("[SENSe[1]:]VOLTage[:DC]:NPLCycles?")), lambda: f"{self.nplc:+.6E}"),
            (rx(header("[SENSe[1]:]VOLTage[:DC]:NPLCycles") + ARG), self._set_nplc),
            (rx(header("[SENSe[1]:]VOLTage[:DC]:RANGe:AUTO") + ARG),
             lambda a: setattr(self, "auto_range", on_off(a))),
            (rx(header("READ?")), self._read),
        ]
