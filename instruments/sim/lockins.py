"""Simulated SR830 and SR860 lock-in amplifiers reading the virtual sample.

Signal chain (docs/physics.md §2): input = cw mixing voltage of the sample at
the present state x the lock-in response of the modulated rf, found by
demodulating one sampled period of the mixing-voltage waveform (on/off pulses:
X = sqrt(2)/pi per volt; see :mod:`stfmr.instruments.sim.waveform`), with the
phase the setup adds (``sample.detection_phase_deg``); the lock-in rotates it
back by its reference phase: X + iY = V*z*exp(i*(phi_det - PHAS)).
The output low-pass filter is a cascade of slope/6 identical first-order
stages with the time constant, integrated exactly on the bench clock between
state changes (a reading right after a field step is not settled). Gaussian
noise of rms noise_density*sqrt(ENBW) (ENBW = 1/(4 tau), 1/(8 tau),
3/(32 tau), 5/(64 tau) for 6..24 dB/oct) is added to each reading. Outputs
beyond the sensitivity overload (status bits as the real instrument) and clip.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from stfmr.instruments.sim.filter_noise import CascadeNoise
from stfmr.instruments.sim.base import CommandTable, SimInstrument, rx

if TYPE_CHECKING:
    from stfmr.instruments.sim.bench import VirtualBench

#: equivalent noise bandwidth times tau, per filter slope in dB/oct (SR830 manual)
ENBW_TAU = {6: 1 / 4, 12: 1 / 8, 18: 3 / 32, 24: 5 / 64}
CLIP = 1.1  # outputs saturate at 110 % of full scale


def _fmt(value: float) -> str:
    return f"{value:.6g}"


class LockInCore(SimInstrument):
    """Filter, noise and overload shared by both lock-in models (settings in SI)."""

    SENSITIVITIES: list[float] = []
    TIME_CONSTANTS: list[float] = []

    def __init__(self, bench: VirtualBench) -> None:
        super().__init__(bench)
        self.sens_index = 0
        self.tc_index = 0
        self.slope_dB = 12
        self.phase_deg = 0.0
        self.ref_frequency_Hz = 1000.0
        self.internal_reference = False
        self.sine_voltage = 1.0
        self.harmonic = 1
        self.settings: dict[str, str] = {}
        self._stages = [0j] * 4
        self._t_last = bench.clock.now()
        self.overload_latched = 0
        self._input = 0j
        self._filter_noise = CascadeNoise(self.slope_dB // 6)
        self._noise_t = bench.clock.now()
        bench.add_listener(self)

    # -- settings -------------------------------------------------------
    @property
    def sensitivity_V(self) -> float:
        return self.SENSITIVITIES[self.sens_index]

    @property
    def tau_s(self) -> float:
        return self.TIME_CONSTANTS[self.tc_index]

    # -- physics --------------------------------------------------------
    def input_signal(self) -> complex:
        """Complex input (V rms at the reference) before the filter, phase-rotated."""
        bench = self.bench
        response = bench.rf.lockin_response()
        if response == 0j or self.harmonic != 1:
            return 0j
        if self.internal_reference and abs(self.ref_frequency_Hz - bench.rf.modulation_rate_Hz) > 1e-6:
            return 0j  # the modulation is not at the reference: nothing survives the filter
        v = bench.mixing_voltage() * response
        angle = math.radians(bench.sample.detection_phase_deg - self.phase_deg)
        return v * cmath.exp(1j * angle)

    def sync(self) -> None:
        """Advance the filter to now with the input as it has been since the last sync."""
        now = self.bench.clock.now()
        dt = now - self._t_last
        self._t_last = now
        if dt <= 0:
            return
        u = self._input = self.input_signal()
        n = self.slope_dB // 6
        s = dt / self.tau_s
        if s > 60:
            self._stages = [u] * 4
            return
        d0 = [y - u for y in self._stages[:n]]
        decay = math.exp(-s)
        new = []
        for k in range(n):
            # exact response of stage k of a cascade to a constant input
            acc = 0j
            term = 1.0
            for j in range(k, -1, -1):
                acc += d0[j] * term
                term *= s / (k - j + 1)
            new.append(u + decay * acc)
        self._stages = new + [new[-1]] * (4 - n)

    def output(self) -> complex:
        """Filtered output now, with noise; latches overload bits."""
        with self.bench.lock:
            self.sync()
            out = self._stages[self.slope_dB // 6 - 1]
            out += self._noise()
            sens = self.sensitivity_V
            if abs(self._input) > self.RESERVE * sens:
                self.overload_latched |= self.INPUT_OVERLOAD_BITS
            if self.bench.faults.due("overload", self.MODEL):
                self.overload_latched |= self.INPUT_OVERLOAD_BITS
                out = complex(CLIP * sens, CLIP * sens)
            if abs(out.real) > sens or abs(out.imag) > sens:
                self.overload_latched |= self.OUTPUT_OVERLOAD_BITS
                out = complex(max(-CLIP * sens, min(CLIP * sens, out.real)),
                              max(-CLIP * sens, min(CLIP * sens, out.imag)))
            return out

    INPUT_OVERLOAD_BITS = 0
    OUTPUT_OVERLOAD_BITS = 0
    #: input overload when the input exceeds this multiple of the sensitivity (normal dynamic reserve)
    RESERVE = 100.0

    def noise_rms(self) -> float:
        """Output noise rms per quadrature (V): noise density x sqrt(ENBW of the filter)."""
        return self.bench.sample.noise_density_V_per_rtHz * math.sqrt(ENBW_TAU[self.slope_dB] / self.tau_s)

    def _noise(self) -> complex:
        # the input's white noise leaves the n-stage filter correlated over a few tau, as
        # (1 + t/tau) exp(-t/tau) at 12 dB/oct: readings a dwell apart do not average down
        # as independent ones would. The state is in units of the output rms, so a new time
        # constant or sensitivity rescales it at once.
        sigma = self.noise_rms()
        if sigma <= 0:
            return 0j
        now = self.bench.clock.now()
        dt = now - self._noise_t
        self._noise_t = now
        stages = self.slope_dB // 6
        if self._filter_noise.stages != stages:
            self._filter_noise = CascadeNoise(stages)
        return sigma * self._filter_noise.value(dt / self.tau_s, self.bench.rng)

    def quantity(self, index: int) -> float:
        """X, Y, R, theta for indices 0..3."""
        z = self.output()
        return (z.real, z.imag, abs(z), math.degrees(cmath.phase(z)))[index]

    def read_status(self) -> int:
        """Overload bits (latched since the last read, and present), cleared on read."""
        self.output()
        bits = self.overload_latched
        self.overload_latched = 0
        return bits

    def _change(self, attr: str, value: object) -> None:
        self.sync()
        setattr(self, attr, value)

    def _index(self, text: str, table: Sequence[float]) -> int:
        i = int(text)
        if not 0 <= i < len(table):
            raise ValueError(text)
        return i


class SimSR830(LockInCore):
    """Stanford Research SR830 DSP lock-in (GPIB command set, ';'-separated)."""

    MODEL = "SR830"
    IDN = "Stanford_Research_Systems,SR830,s/n48213,ver1.07"
    SENSITIVITIES = [
        2e-9, 5e-9, 10e-9, 20e-9, 50e-9, 100e-9, 200e-9, 500e-9, 1e-6, 2e-6, 5e-6, 10e-6, 20e-6,
        50e-6, 100e-6, 200e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 20e-3, 50e-3, 100e-3, 200e-3, 500e-3, 1,
    ]
    TIME_CONSTANTS = [10e-6, 30e-6, 100e-6, 300e-6, 1e-3, 3e-3, 10e-3, 30e-3, 100e-3, 300e-3, 1, 3, 10,
                      30, 100, 300, 1e3, 3e3, 10e3, 30e3]
    SLOPES = [6, 12, 18, 24]
    INPUT_OVERLOAD_BITS = 0b001
    OUTPUT_OVERLOAD_BITS = 0b100
    UNKNOWN_ERROR = "32"  # ERRS bit 5: GPIB (command) error
    NO_ERROR = "0"
    #: SNAP? parameter numbers -> quantity index of output() (1..4)
    _SNAP = {1: 0, 2: 1, 3: 2, 4: 3}
    _GENERIC = ("SYNC", "ISRC", "IGND", "ICPL", "ILIN", "RSLP", "RMOD", "OUTX", "OVRM", "LOCL", "SRAT",
                "SEND", "TSTR")

    def __init__(self, bench: VirtualBench) -> None:
        super().__init__(bench)
        self.sens_index = 22  # 50 mV
        self.tc_index = 8  # 100 ms
        self.ref_frequency_Hz = bench.rf.modulation_rate_Hz
        self.cmd_error = False
        self.aux_out = [0.0] * 4
        self._table: CommandTable = [
            (rx(r"\*IDN\?"), lambda: self.IDN),
            (rx(r"\*CLS"), self._cls),
            (rx(r"\*RST"), self._rst),
            (rx(r"\*STB\?"), lambda: str(self._stb())),
            (rx(r"\*ESR\?"), lambda: "32" if self._pop_cmd_error() else "0"),
            (rx(r"ERRS\?"), lambda: "32" if self._pop_cmd_error() else "0"),
            (rx(r"LIAS\?"), lambda: str(self.read_status())),
            (rx(r"LIAS\?\s*(\d)"), lambda i: str((self.read_status() >> int(i)) & 1)),
            (rx(r"OUTP\?\s*([1-4])"), lambda i: _fmt(self.quantity(int(i) - 1))),
            (rx(r"SNAP\?\s*([\d,\s]+)"), self._snap),
            (rx(r"PHAS\?"), lambda: f"{self.phase_deg:.2f}"),
            (rx(r"PHAS\s*([-+.\deE]+)"), lambda v: self._change("phase_deg", _wrap_phase(float(v)))),
            (rx(r"FREQ\?"), lambda: _fmt(self._ref_freq())),
            (rx(r"FREQ\s*([-+.\deE]+)"), lambda v: self._change("ref_frequency_Hz", float(v))),
            (rx(r"FMOD\?"), lambda: "1" if self.internal_reference else "0"),
            (rx(r"FMOD\s*([01])"), lambda v: self._change("internal_reference", v == "1")),
            (rx(r"SLVL\?"), lambda: f"{self.sine_voltage:.3f}"),
            (rx(r"SLVL\s*([-+.\deE]+)"), lambda v: self._change("sine_voltage", float(v))),
            (rx(r"HARM\?"), lambda: str(self.harmonic)),
            (rx(r"HARM\s*(\d+)"), lambda v: self._change("harmonic", int(v))),
            (rx(r"SENS\?"), lambda: str(self.sens_index)),
            (rx(r"SENS\s*(\d+)"), lambda v: self._change("sens_index", self._index(v, self.SENSITIVITIES))),
            (rx(r"OFLT\?"), lambda: str(self.tc_index)),
            (rx(r"OFLT\s*(\d+)"), lambda v: self._change("tc_index", self._index(v, self.TIME_CONSTANTS))),
            (rx(r"OFSL\?"), lambda: str(self.SLOPES.index(self.slope_dB))),
            (rx(r"OFSL\s*(\d)"), lambda v: self._change("slope_dB", self.SLOPES[self._index(v, self.SLOPES)])),
            (rx(r"AUXV\?\s*([1-4])"), lambda i: f"{self.aux_out[int(i) - 1]:.3f}"),
            (rx(r"AUXV\s*([1-4])\s*,\s*([-+.\deE]+)"), self._set_aux),
            (rx(r"OAUX\?\s*([1-4])"), lambda i: "0.000"),
            (rx(r"DDEF\?\s*([12])"), lambda i: "0,0"),
            (rx(r"DDEF\s*([12])\s*,\s*(\d)\s*,\s*(\d)"), lambda *a: None),
            (rx(r"(AGAN|ARSV|APHS)"), self._auto),
            (rx(r"OEXP\?\s*([1-3])"), lambda i: self.settings.get(f"OEXP{i}", "0.00,0")),
            (rx(r"OEXP\s*([1-3])\s*,\s*([-+.\d]+)\s*,\s*([0-2])"),
             lambda i, p, e: self.settings.__setitem__(f"OEXP{i}", f"{float(p):.2f},{e}")),
            (rx(r"AOFF\s*([1-3])"), lambda i: None),
            (rx(r"(LIAE|ERRE)\s*([0-7])\s*,\s*([01])"), lambda *a: None),
            (rx(r"(LIAE|ERRE)\?\s*([0-7])?"), lambda *a: "0"),
            (rx(r"\*(ESE|SRE|PSC)\s*(\d+)"), lambda *a: None),
            (rx(r"\*(ESE|SRE|PSC)\?"), lambda *a: "0"),
            (rx(r"(REST|PAUS|STRT|TRIG)"), lambda k: None),
            (rx(r"SPTS\?"), lambda: "0"),
            (rx(r"(" + "|".join(self._GENERIC) + r")\?"), lambda k: self.settings.get(k.upper(), "0")),
            (rx(r"(" + "|".join(self._GENERIC) + r")\s*(\d+)"), self._set_generic),
        ]

    def handle(self, command: str) -> str | None:
        return self.dispatch(command, self._table)

    def unknown(self, command: str) -> None:
        super().unknown(command)
        self.cmd_error = True

    def _pop_cmd_error(self) -> bool:
        flag, self.cmd_error = self.cmd_error, False
        self.errors.clear()
        return flag

    def _stb(self) -> int:
        # bit 3 LIA status summary, bit 2 error summary (ERR status), bit 1 no command in progress
        return (0b1000 if self.overload_latched else 0) | (0b100 if self.cmd_error else 0) | 0b10

    def _cls(self) -> None:
        self.overload_latched = 0
        self.cmd_error = False
        self.errors.clear()

    def _rst(self) -> None:
        self._change("sens_index", 22)
        self.tc_index, self.slope_dB, self.phase_deg, self.harmonic = 8, 12, 0.0, 1
        self.internal_reference = False

    def _ref_freq(self) -> float:
        return self.ref_frequency_Hz if self.internal_reference else self.bench.rf.modulation_rate_Hz

    def _snap(self, args: str) -> str:
        idx = [int(a) for a in args.replace(" ", "").split(",") if a]
        if not 2 <= len(idx) <= 6 or any(not 1 <= i <= 11 for i in idx):
            raise ValueError(args)
        z = self.output()
        values = {1: z.real, 2: z.imag, 3: abs(z), 4: math.degrees(cmath.phase(z)), 9: self._ref_freq()}
        return ",".join(_fmt(values.get(i, 0.0)) for i in idx)

    def _set_aux(self, i: str, v: str) -> None:
        self.aux_out[int(i) - 1] = float(v)

    def _set_generic(self, key: str, value: str) -> None:
        self.settings[key.upper()] = value

    def _auto(self, which: str) -> None:
        which = which.upper()
        self.sync()
        if which == "APHS":
            z = self._stages[self.slope_dB // 6 - 1]
            if abs(z) > 0:
                self.phase_deg = _wrap_phase(self.phase_deg + math.degrees(cmath.phase(z)))
                self._stages = [y * cmath.exp(-1j * cmath.phase(z)) for y in self._stages]
        elif which == "AGAN":
            r = abs(self.input_signal())
            self.sens_index = next((i for i, s in enumerate(self.SENSITIVITIES) if s >= 1.5 * r),
                                   len(self.SENSITIVITIES) - 1)


class SimSR860(LockInCore):
    """Stanford Research SR860 lock-in (SCPI-like command set, ';'-separated)."""

    MODEL = "SR860"
    IDN = "Stanford_Research_Systems,SR860,004237,v1.51"
    SENSITIVITIES = [
        1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0002, 0.0001, 5e-05, 2e-05,
        1e-05, 5e-06, 2e-06, 1e-06, 5e-07, 2e-07, 1e-07, 5e-08, 2e-08, 1e-08, 5e-09, 2e-09, 1e-09,
    ]
    TIME_CONSTANTS = [1e-6, 3e-6, 10e-6, 30e-6, 100e-6, 300e-6, 1e-3, 3e-3, 10e-3, 30e-3, 100e-3, 300e-3,
                      1, 3, 10, 30, 100, 300, 1e3, 3e3, 10e3, 30e3]
    SLOPES = [6, 12, 18, 24]
    # CUROVLDSTAT? bits: 0 CH1 output, 1 CH2 output, 2 data ch3, 3 data ch4, 4 input range
    INPUT_OVERLOAD_BITS = 0b10000
    OUTPUT_OVERLOAD_BITS = 0b00011
    UNKNOWN_ERROR = "-113"
    NO_ERROR = "0"
    #: SNAP? enumerations (upper-case part is the short form) -> parameter index
    _ENUM = [("X", 0), ("Y", 1), ("R", 2), ("THETA", 3), ("TH", 3), ("IN1", 4), ("IN2", 5), ("IN3", 6),
             ("IN4", 7), ("XNOISE", 8), ("XNO", 8), ("YNOISE", 9), ("YNO", 9), ("OUT1", 10), ("OUT2", 11),
             ("PHASE", 12), ("PHA", 12), ("SAMP", 13), ("SAM", 13), ("LEVEL", 14), ("LEV", 14),
             ("FINT", 15), ("FI", 15), ("FEXT", 16), ("FE", 16)]
    _GENERIC = ("TBMODE", "REFM", "RTRG", "REFZ", "IVMD", "ISRC", "ICPL", "IGND", "IRNG", "ICUR", "SYNC",
                "ADVFILT", "HARMDUAL", "DBLK", "DLAY")

    def __init__(self, bench: VirtualBench) -> None:
        super().__init__(bench)
        self.sens_index = 4  # 50 mV
        self.tc_index = 10  # 100 ms
        self.esr = 0
        self.aux_out = [0.0] * 4
        self._table: CommandTable = [
            (rx(r"\*IDN\?"), lambda: self.IDN),
            (rx(r"\*CLS"), self._cls),
            (rx(r"\*RST"), lambda: None),
            (rx(r"\*STB\?"), lambda: str(0b100 if self.errors else 0)),
            (rx(r"\*ESR\?"), self._esr),
            (rx(r"CUROVLDSTAT\?"), lambda: str(self.read_status())),
            (rx(r"OUTP\?\s*([0-3])"), lambda i: _fmt(self.quantity(int(i)))),
            (rx(r"OUTP\?\s*(X|Y|R|THETA|THeta)"), lambda n: _fmt(self.quantity(self._enum(n)))),
            (rx(r"SNAPD\?"), lambda: ",".join(_fmt(v) for v in self._values([0, 1, 2, 3]))),
            (rx(r"SNAP\?\s*([\w\s,]+)"), self._snap),
            (rx(r"PHAS\?"), lambda: f"{self.phase_deg:.7f}"),
            (rx(r"PHAS\s*([-+.\deE]+)"), lambda v: self._change("phase_deg", _wrap_phase(float(v)))),
            (rx(r"FREQ\?"), lambda: _fmt(self._ref_freq())),
            (rx(r"FREQ\s*([-+.\deE]+)"), lambda v: self._change("ref_frequency_Hz", float(v))),
            (rx(r"FREQINT\?"), lambda: _fmt(self.ref_frequency_Hz)),
            (rx(r"FREQINT\s*([-+.\deE]+)"), lambda v: self._change("ref_frequency_Hz", float(v))),
            (rx(r"(?:FREQEXT|FREQDET)\?"), lambda: _fmt(self.bench.rf.modulation_rate_Hz)),
            (rx(r"RSRC\?"), lambda: "0" if self.internal_reference else "1"),
            (rx(r"RSRC\s*([0-3])"), lambda v: self._change("internal_reference", v == "0")),
            (rx(r"SLVL\?"), lambda: f"{self.sine_voltage:.9e}"),
            (rx(r"SLVL\s*([-+.\deE]+)"), lambda v: self._change("sine_voltage", float(v))),
            (rx(r"HARM\?"), lambda: str(self.harmonic)),
            (rx(r"HARM\s*(\d+)"), lambda v: self._change("harmonic", int(v))),
            (rx(r"SCAL\?"), lambda: str(self.sens_index)),
            (rx(r"SCAL\s*(\d+)"), lambda v: self._change("sens_index", self._index(v, self.SENSITIVITIES))),
            (rx(r"OFLT\?"), lambda: str(self.tc_index)),
            (rx(r"OFLT\s*(\d+)"), lambda v: self._change("tc_index", self._index(v, self.TIME_CONSTANTS))),
            (rx(r"OFSL\?"), lambda: str(self.SLOPES.index(self.slope_dB))),
            (rx(r"OFSL\s*(\d)"), lambda v: self._change("slope_dB", self.SLOPES[self._index(v, self.SLOPES)])),
            (rx(r"ENBW\?"), lambda: _fmt(ENBW_TAU[self.slope_dB] / self.tau_s)),
            (rx(r"ILVL\?"), lambda: "2"),
            (rx(r"AUXV\?\s*([0-3])"), lambda i: f"{self.aux_out[int(i)]:.6f}"),
            (rx(r"AUXV\s*([0-3])\s*,\s*([-+.\deE]+)"), self._set_aux),
            (rx(r"OAUX\?\s*([0-3])"), lambda i: "0.000000"),
            (rx(r"(" + "|".join(self._GENERIC) + r")\?"), lambda k: self.settings.get(k.upper(), "0")),
            (rx(r"(" + "|".join(self._GENERIC) + r")\s*(\d+)"), self._set_generic),
        ]

    def handle(self, command: str) -> str | None:
        return self.dispatch(command, self._table)

    def unknown(self, command: str) -> None:
        super().unknown(command)
        self.esr |= 0b100000  # command error

    def _esr(self) -> str:
        value, self.esr = self.esr, 0
        return str(value)

    def _cls(self) -> None:
        self.overload_latched = 0
        self.esr = 0
        self.errors.clear()

    def _ref_freq(self) -> float:
        return self.ref_frequency_Hz if self.internal_reference else self.bench.rf.modulation_rate_Hz

    def _enum(self, token: str) -> int:
        token = token.strip()
        if token.isdigit():
            i = int(token)
            if 0 <= i <= 16:
                return i
            raise ValueError(token)
        upper = token.upper()
        for name, index in self._ENUM:
            if upper == name:
                return index
        raise ValueError(token)

    def _values(self, indices: list[int]) -> list[float]:
        z = self.output()
        table = {0: z.real, 1: z.imag, 2: abs(z), 3: math.degrees(cmath.phase(z)), 12: self.phase_deg,
                 13: self.sine_voltage, 15: self.ref_frequency_Hz, 16: self.bench.rf.modulation_rate_Hz}
        return [table.get(i, 0.0) for i in indices]

    def _snap(self, args: str) -> str:
        tokens = [t for t in args.split(",")]
        if not 2 <= len(tokens) <= 3:
            raise ValueError(args)
        return ",".join(_fmt(v) for v in self._values([self._enum(t) for t in tokens]))

    def _set_aux(self, i: str, v: str) -> None:
        self.aux_out[int(i)] = float(v)

    def _set_generic(self, key: str, value: str) -> None:
        self.settings[key.upper()] = value


def _wrap_phase(deg: float) -> float:
    """Phase as the SR830 stores it: -180 < phase <= 180."""
    wrapped = math.fmod(deg + 180.0, 360.0)
    if wrapped <= 0:
        wrapped += 360.0
    return wrapped - 180.0
