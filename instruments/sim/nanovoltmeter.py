"""Simulated Keithley 2182(A) nanovoltmeter: the dc voltage across the bias tee's dc port.

Reading = time-averaged mixing voltage (rf.dc_factor(), the mean of the
sampled modulation waveform of :mod:`stfmr.instruments.sim.waveform`: 1 for cw
rf, 1/2 under on/off pulses) + Gaussian noise of rms noise_density*sqrt(1/(2*T_int)),
T_int = NPLC/line frequency. Each :READ? takes the integration time on the
bench clock. Beyond the range the reading is the overflow marker +9.9E+37.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from stfmr.instruments.sim.base import CommandTable, SimInstrument, rx

if TYPE_CHECKING:
    from stfmr.instruments.sim.bench import VirtualBench

RANGES_V = (0.01, 0.1, 1.0, 10.0, 100.0)
OVERFLOW = 9.9e37


class SimKeithley2182(SimInstrument):
    """Keithley 2182A (SCPI, ';'-separated, replies like +1.234567E-06)."""

    MODEL = "Keithley2182"
    IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 2182A,1234567,C02  /A02"
    LINE_FREQUENCY_HZ = 50.0

    def __init__(self, bench: VirtualBench) -> None:
        super().__init__(bench)
        self.nplc = 5.0
        self.range_V = [0.1, 10.0]
        self.auto_range = [True, True]
        self.channel = 1
        self.function = '"VOLT:DC"'
        self.settings: dict[str, str] = {}
        num = r"\s+([-+.\deE]+)"
        self._table: CommandTable = [
            (rx(r"\*IDN\?"), lambda: self.IDN),
            (rx(r":?\*(CLS|RST|TRG)"), self._common),
            (rx(r":?(?:status|stat):(?:queue:clear|pres)"), lambda: None),
            (rx(r":?SYST(?:em)?:ERR(?:or)?(?::NEXT)?\?"), self.next_error),
            (rx(r":?READ\?"), self._read),
            (rx(r":?FETC(?:h)?\?"), self._read),
            (rx(r":?SENS:VOLT:NPLC\?"), lambda: f"{self.nplc:g}"),
            (rx(r":?SENS:VOLT:NPLC" + num), self._set_nplc),
            (rx(r":?SENS:VOLT:CHAN([12]):RANG\?"), lambda c: f"{self.range_V[int(c) - 1]:.6E}"),
            (rx(r":?SENS:VOLT:CHAN([12]):RANG" + num), self._set_range),
            (rx(r":?SENS:VOLT:CHAN([12]):RANG:AUTO\?"), lambda c: str(int(self.auto_range[int(c) - 1]))),
            (rx(r":?SENS:VOLT:CHAN([12]):RANG:AUTO\s+([01])"), self._set_auto),
            (rx(r":?SENS:VOLT:RANG:AUTO\s+([01])"), lambda v: self._set_auto(str(self.channel), v)),
            (rx(r":?SENS:CHAN\?"), lambda: str(self.channel)),
            (rx(r":?SENS:CHAN\s+([012])"), self._set_channel),
            (rx(r":?SENS:FUNC\?"), lambda: self.function),
            (rx(r":?SENS:FUNC\s+(.+)"), self._set_function),
            (rx(r":?SYST:LFR\?"), lambda: f"{self.LINE_FREQUENCY_HZ:g}"),
            (rx(r":?(SYST:AZER:STAT|DISP:ENAB|TRIG:COUN|TRIG:DEL|INIT:CONT)\?"),
             lambda k: self.settings.get(k.upper(), "1")),
            (rx(r":?(SYST:AZER:STAT|DISP:ENAB|TRIG:COUN|TRIG:DEL|INIT:CONT)\s+(\S+)"), self._set_generic),
            (rx(r":?TRIG:SOUR\s+(IMM|BUS|EXT|TIM)"), lambda v: None),
        ]

    def handle(self, command: str) -> str | None:
        return self.dispatch(command, self._table)

    def _common(self, which: str) -> None:
        if which.upper() == "CLS":
            self.errors.clear()
        elif which.upper() == "RST":
            self.nplc, self.range_V, self.auto_range = 5.0, [0.1, 10.0], [True, True]

    def _set_nplc(self, v: str) -> None:
        value = float(v)
        if not 0.01 <= value <= 60.0:
            self.errors.append('-222,"Data out of range"')
            return
        self.nplc = value

    def _set_range(self, ch: str, v: str) -> None:
        value = float(v)
        limit = 120.0 if ch == "1" else 12.0
        if not 0 <= value <= limit:
            self.errors.append('-222,"Data out of range"')
            return
        i = int(ch) - 1
        self.range_V[i] = next((r for r in RANGES_V if r >= value), RANGES_V[-1])
        self.auto_range[i] = False

    def _set_auto(self, ch: str, v: str) -> None:
        self.auto_range[int(ch) - 1] = v == "1"

    def _set_channel(self, v: str) -> None:
        self.channel = int(v)

    def _set_function(self, v: str) -> None:
        text = v.strip().strip("'\"").upper()
        if text in ("VOLT", "VOLT:DC"):
            self.function = '"VOLT:DC"'
        elif text == "TEMP":
            self.function = '"TEMP"'
        else:
            raise ValueError(v)

    def _set_generic(self, key: str, value: str) -> None:
        self.settings[key.upper()] = value

    def integration_time_s(self) -> float:
        return self.nplc / self.LINE_FREQUENCY_HZ

    def _read(self) -> str:
        bench = self.bench
        t_int = self.integration_time_s()
        bench.charge(t_int)
        v = bench.mixing_voltage() * bench.rf.dc_factor()
        sigma = bench.sample.noise_density_V_per_rtHz * math.sqrt(1.0 / (2.0 * t_int))
        if sigma > 0:
            v += float(bench.rng.normal(0.0, sigma))
        if bench.faults.due("overload", self.MODEL):
            return f"{OVERFLOW:+.6E}"
        rng = self.range_V[0]
        if self.auto_range[0]:
            rng = next((r for r in RANGES_V if abs(v) <= r), RANGES_V[-1])
        if abs(v) > 1.2 * rng:
            return f"{OVERFLOW:+.6E}"
        return f"{v:+.6E}"
