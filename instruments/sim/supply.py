"""Simulated Kepco BOP 36-12 bipolar supply (BIT 4886 interface) driving the magnet coil.

Speaks the SCPI the pymeasure ``KepcoBOP3612`` driver sends: ``FUNCtion:MODE
VOLT|CURR`` (query answers 0/1), ``CURRent``/``VOLTage`` setpoints (in current
mode the voltage setpoint is the compliance), ``MEASure:CURRent?`` /
``MEASure:VOLTage?``, ``OUTPut 0|1``, ``*IDN?``, ``*TST?``, ``DIAG:TST?``,
``SYSTem:ERRor?`` and the questionable-status register.

Physics: the supply programs ``bench.magnet`` (held at V_compliance/R_coil when
the coil needs more voltage than the compliance allows); the measured current is the
coil current that lags the setpoint with the coil's L/R time constant, plus a
little readback noise. A ``supply_trip`` fault (checked at every command)
switches the output off through :meth:`Magnet.trip`: ``OUTPut?`` then answers
0, ``STATus:QUEStionable:CONDition?`` has bit 0 set and the error queue holds
an execution error, as on the real supply after an over-temperature or
over-voltage shutdown. ``OUTPut 1`` clears the trip.
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
OPERATING_MODES = ("VOLT", "CURR")


class SimKepcoBOP3612(SimInstrument):
    """Kepco BOP 36-12 (+/-36 V, +/-12 A) in front of the electromagnet."""

    MODEL = "KepcoBOP3612"
    IDN = "KEPCO,BOP 36-12 BIT4886,SIM036012,1.73"
    V_MAX = 36.0
    I_MAX = 12.0
    #: dc resistance of the magnet coil (Ohm); L = tau * R from the magnet's time constant
    COIL_RESISTANCE_OHM = 1.8
    #: rms noise of the current readback (A)
    CURRENT_NOISE_A = 2e-4
    DATA_OUT_OF_RANGE = '-222,"Data out of range"'
    TRIP_ERROR = '-200,"Execution error; output shut down"'

    def __init__(self, bench: VirtualBench) -> None:
        super().__init__(bench)
        self.mode = "VOLT"
        self.current_setpoint_A = 0.0
        self.voltage_setpoint_V = 0.0
        self._table = self._build_table()

    # -- physics ----------------------------------------------------------
    def _program_magnet(self) -> None:
        """Send the present setpoint to the magnet: current mode directly, voltage mode via V/R.

        In current mode the voltage setpoint is the compliance: a current the
        coil cannot carry within it (|I|*R_coil > V) is held at V/R_coil, the
        steady state of a real supply sitting in its voltage limit.
        """
        if self.mode == "CURR":
            limit = abs(self.voltage_setpoint_V) / self.COIL_RESISTANCE_OHM
            amps = max(-limit, min(limit, self.current_setpoint_A))
        else:
            limit = abs(self.current_setpoint_A)
            amps = max(-limit, min(limit, self.voltage_setpoint_V / self.COIL_RESISTANCE_OHM))
        self.bench.magnet.set_setpoint(amps)

    def _check_trip(self) -> None:
        magnet = self.bench.magnet
        if magnet.output_enabled and self.bench.faults.due("supply_trip", self.MODEL):
            magnet.trip(f"{self.MODEL}: output shut down (simulated supply trip)")
            self.errors.append(self.TRIP_ERROR)

    def measured_current(self) -> float:
        """Readback of the output current (A): lagged coil current plus noise."""
        return self.bench.magnet.coil_current() + float(self.bench.rng.normal(0.0, self.CURRENT_NOISE_A))

    def measured_voltage(self) -> float:
        """Output voltage (V): R*I + L*dI/dt of the coil, limited to the supply's +/-36 V."""
        magnet = self.bench.magnet
        current = magnet.coil_current()
        tau = magnet.params.time_constant_s
        target = magnet.setpoint() if (magnet.output_enabled and not magnet.tripped) else 0.0
        # first-order lag: dI/dt = (target - I) / tau, L = tau * R
        inductive = (target - current) * self.COIL_RESISTANCE_OHM if tau > 0 else 0.0
        volts = self.COIL_RESISTANCE_OHM * current + inductive
        return max(-self.V_MAX, min(self.V_MAX, volts))

    # -- commands ---------------------------------------------------------
    @staticmethod
    def _num(value: float) -> str:
        return f"{value:.5E}"

    def _set_mode(self, arg: str) -> None:
        words = {"VOLT": "VOLT", "VOLTAGE": "VOLT", "CURR": "CURR", "CURRENT": "CURR"}
        word = arg.strip().upper()
        if word not in words:
            raise ScpiValueError(arg)
        self.mode = words[word]
        self._program_magnet()

    def _set_current(self, arg: str) -> None:
        value = number_with_unit(arg, {"A": 1.0, "MA": 1e-3})
        if abs(value) > self.I_MAX:
            self.errors.append(self.DATA_OUT_OF_RANGE)
            self.bench.log.append(f"{self.MODEL}: refused current {value} A")
            return
        self.current_setpoint_A = value
        self._program_magnet()

    def _set_voltage(self, arg: str) -> None:
        value = number_with_unit(arg, {"V": 1.0, "MV": 1e-3})
        if abs(value) > self.V_MAX:
            self.errors.append(self.DATA_OUT_OF_RANGE)
            self.bench.log.append(f"{self.MODEL}: refused voltage {value} V")
            return
        self.voltage_setpoint_V = value
        self._program_magnet()

    def _set_output(self, arg: str) -> None:
        self.bench.magnet.set_output(on_off(arg))
        self._program_magnet()

    def _reset(self) -> None:
        self.mode = "VOLT"
        self.current_setpoint_A = 0.0
        self.voltage_setpoint_V = 0.0
        self.bench.magnet.set_output(False)
        self._program_magnet()

    def _questionable(self) -> str:
        return "1" if self.bench.magnet.tripped else "0"

    def _build_table(self) -> list[tuple[re.Pattern[str], Callable[..., str | None]]]:
        magnet = self.bench.magnet
        return [
            (rx(r"\*IDN\?"), lambda: self.IDN),
            (rx(r"\*RST"), self._reset),
            (rx(r"\*CLS"), lambda: self.errors.clear()),
            (rx(r"\*OPC\?"), lambda: "1"),
            (rx(r"\*WAI"), lambda: None),
            (rx(r"\*TST\?"), lambda: "0"),
            (rx(header("DIAGnostic:TST?")), lambda: "0"),
            (rx(header("SYSTem:BEEP")), lambda: None),
            (rx(header("SYSTem:ERRor[:NEXT]?")), self.next_error),
            (rx(header("STATus:QUEStionable[:EVENt]?")), self._questionable),
            (rx(header("STATus:QUEStionable:CONDition?")), self._questionable),
            (rx(header("FUNCtion:MODE?")), lambda: str(OPERATING_MODES.index(self.mode))),
            (rx(header("FUNCtion:MODE") + ARG), self._set_mode),
            (rx(header("[SOURce:]CURRent[:LEVel][:IMMediate][:AMPLitude]?")),
             lambda: self._num(self.current_setpoint_A)),
            (rx(header("[SOURce:]CURRent[:LEVel][:IMMediate][:AMPLitude]") + ARG), self._set_current),
            (rx(header("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]?")),
             lambda: self._num(self.voltage_setpoint_V)),
            (rx(header("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]") + ARG), self._set_voltage),
            (rx(header("MEASure[:SCALar]:CURRent[:DC]?")), lambda: self._num(self.measured_current())),
            (rx(header("MEASure[:SCALar]:VOLTage[:DC]?")), lambda: self._num(self.measured_voltage())),
            (rx(header("OUTPut[:STATe]?")), lambda: "1" if magnet.output_enabled else "0"),
            (rx(header("OUTPut[:STATe]") + ARG), self._set_output),
        ]

    def handle(self, command: str) -> str | None:
        self._check_trip()
        return self.dispatch(command, self._table)
