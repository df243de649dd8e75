"""Detector role wrappers: SR830 and SR860 lock-ins, Keithley 2182 nanovoltmeter.

Lock-ins report X and Y in V rms (of the fundamental); the nanovoltmeter reports
its dc reading as X with Y = 0. The time constant and sensitivity use the
instruments' discrete steps: a request is rounded *up* to the next step (the
pymeasure drivers' truncated_discrete_set), and the wrapper returns the value
actually set, so callers always know what the instrument does.

Commands (what the simulators must speak):

- SR830: ``OFLT``, ``SENS``, ``OFSL``, ``PHAS``, ``SNAP? 1,2`` (X, Y), ``LIAS?``
  (status byte: bits 0-2 input, filter, output overload), ``*IDN?``.
- SR860: ``OFLT``, ``SCAL``, ``OFSL``, ``PHAS``, ``SNAP? X, Y``, ``CUROVLDSTAT?``
  (present overload state: bit 0/1 CH1/CH2 output, bits 2/3 data channels, bit 4
  input range), ``*IDN?``.
- Keithley2182: ``:READ?``, ``:SENS:VOLT:NPLC``, ``:SENS:VOLT:CHAN1:RANG``, ``*IDN?``;
  a reading of +/-9.9e37 is the instrument's overflow marker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from stfmr.analysis.toml_schema import Table
from stfmr.instruments.errors import DetectorOverload, InstrumentReplyError
from stfmr.instruments.role_base import DriverRole, RoleArgumentError, check_finite
from stfmr.instruments.role_settings import RoleSettings
from stfmr.instruments.roles import Detection

FILTER_SLOPES_DB: tuple[int, ...] = (6, 12, 18, 24)
#: the residual of a step that the plain settle time leaves (99 % settled, as the manuals quote)
SETTLED_RESIDUAL = 0.01
#: correlation time of the output noise, int_0^inf rho(t) dt, in time constants, per slope (dB/octave):
#: 1/(4 ENBW tau) with the manuals' equivalent noise bandwidths 1/(4, 8, 32/3, 64/5 tau)
NOISE_CORRELATION_TAUS: dict[int, float] = {6: 1.0, 12: 2.0, 18: 8.0 / 3.0, 24: 16.0 / 5.0}


def settle_taus(slope_dB: int, residual: float = SETTLED_RESIDUAL) -> float:
    """Time constants after which a step at the input of a 6n dB/oct filter is left ``residual`` of its size.

    The filter is n equal first-order stages, whose step response leaves
    exp(-x) * sum_{k<n} x^k / k! at x = t/tau (the Erlang survival function, the
    regularised upper incomplete gamma Q(n, x)); this solves Q(n, x) = residual.
    residual 0.01 gives the manuals' 4.6, 6.6, 8.4 and 10 time constants.
    """
    if slope_dB not in FILTER_SLOPES_DB:
        raise RoleArgumentError(f"filter slope must be one of 6, 12, 18, 24 dB/octave, got {slope_dB!r}")
    if not 0.0 < residual < 1.0:
        raise RoleArgumentError(f"the residual of a settled step must be in (0, 1), got {residual!r}")
    from scipy.special import gammainccinv  # at use: the instruments load without scipy.special

    return float(gammainccinv(slope_dB // 6, residual))
LINE_FREQUENCIES_HZ: tuple[int, ...] = (50, 60)

#: the [detector] table's settings, the same for every detector (defaults; None: optional)
DETECTOR_SETTINGS: dict[str, Any] = {"time_constant_s": 0.1, "sensitivity_V": None, "filter_slope_dB": 12,
                                     "phase_deg": None, "line_frequency_Hz": 50.0}


def _read_detector_settings(table: Table) -> dict[str, Any]:
    """Check what every detector's table holds: time constant (s), sensitivity (V), slope, phase (deg), mains (Hz)."""
    return {"time_constant_s": table.positive("time_constant_s"),
            "sensitivity_V": table.positive("sensitivity_V"),
            "filter_slope_dB": table.one_of("filter_slope_dB", FILTER_SLOPES_DB),
            "phase_deg": table.number("phase_deg"),
            "line_frequency_Hz": table.one_of("line_frequency_Hz", LINE_FREQUENCIES_HZ)}


def _next_step_up(name: str, value: float, steps: list[float]) -> float:
    """Return the smallest step >= value; refuse values above the largest step."""
    value = check_finite(name, value)
    if value <= 0:
        raise RoleArgumentError(f"{name} must be positive, got {value}")
    candidates = [s for s in sorted(steps) if s >= value * (1 - 1e-9)]
    if not candidates:
        raise RoleArgumentError(f"{name} {value:g} is above the largest setting {max(steps):g}")
    return candidates[0]


class LockInRole(RoleSettings, DriverRole):
    """Common part of the SR830/SR860 wrappers."""

    SETTINGS = DETECTOR_SETTINGS

    #: "lock-in" (X, Y at the modulation rate) or "dc" (a voltmeter: X = voltage)
    DETECTION: ClassVar[Detection] = "lock-in"

    #: overload bits of the status query
    OVERLOAD_MASK = 0
    STATUS_QUERY = ""

    def __init__(self, driver: Any, address: str, role: str = "detector", instrument: str | None = None) -> None:
        super().__init__(role, driver, address, instrument)
        self._tau: float | None = None
        self._slope: int | None = None

    @classmethod
    def read_settings(cls, table: Table, spec: Any, base_dir: Path | None) -> dict[str, Any]:
        """Time constant and sensitivity up to the largest steps of the driver's own tables."""
        s = _read_detector_settings(table)
        driver = spec.driver_class()
        longest, largest = max(driver.TIME_CONSTANTS), max(driver.SENSITIVITIES)
        if s["time_constant_s"] > longest:
            raise table.fail("time_constant_s",
                             f"the {spec.name} goes up to {longest:g} s, got {s['time_constant_s']:g}")
        if s["sensitivity_V"] is not None and s["sensitivity_V"] > largest:
            raise table.fail("sensitivity_V", f"the {spec.name} goes up to {largest:g} V, got {s['sensitivity_V']:g}")
        return s

    def apply_settings(self, settings: dict[str, Any]) -> None:
        """Time constant, filter slope, phase (if given), sensitivity (if given), in that order."""
        self.set_time_constant(settings["time_constant_s"])
        self.set_filter_slope(settings["filter_slope_dB"])
        if settings["phase_deg"] is not None:
            self.set_phase(settings["phase_deg"])
        if settings["sensitivity_V"] is not None:
            self.set_sensitivity(settings["sensitivity_V"])

    # time constant, slope, settling

    def set_time_constant(self, seconds: float) -> None:
        """Set the time constant (s), rounded up to the next instrument step."""
        tau = _next_step_up("time constant", seconds, list(self.driver.TIME_CONSTANTS))
        self._io("set time constant", lambda: setattr(self.driver, "time_constant", tau), parsing=False)
        self._tau = tau

    def time_constant(self) -> float:
        """Return the time constant (s) reported by the instrument."""
        self._tau = self._query_float("time constant query", lambda: self.driver.time_constant)
        return self._tau

    def set_filter_slope(self, dB_per_octave: int) -> None:
        """Set the low-pass filter slope: 6, 12, 18 or 24 dB/octave."""
        if dB_per_octave not in FILTER_SLOPES_DB:
            raise RoleArgumentError(f"filter slope must be one of 6, 12, 18, 24 dB/octave, got {dB_per_octave!r}")
        self._io("set filter slope", lambda: self._write_slope(int(dB_per_octave)), parsing=False)
        self._slope = int(dB_per_octave)

    def filter_slope(self) -> int:
        """Return the filter slope (dB/octave) reported by the instrument."""
        self._slope = self._io("filter slope query", self._read_slope)
        return self._slope

    def settle_time(self, residual: float = SETTLED_RESIDUAL) -> float:
        """Return the time (s) after which a step is left ``residual`` of its size (0.01: 99 % settled)."""
        tau = self._tau if self._tau is not None else self.time_constant()
        slope = self._slope if self._slope is not None else self.filter_slope()
        return settle_taus(slope, residual) * tau

    def reading_interval(self) -> float:
        """Return the spacing (s) of repeated readings at one point: the output noise's correlation time.

        Readings this far apart average almost as well as the continuous output
        (12 dB/oct: correlation (1 + t/tau) exp(-t/tau), 0.41 at 2 tau); closer
        ones repeat the same noise.
        """
        tau = self._tau if self._tau is not None else self.time_constant()
        slope = self._slope if self._slope is not None else self.filter_slope()
        return NOISE_CORRELATION_TAUS[slope] * tau

    # sensitivity and overload

    def set_sensitivity(self, volts: float) -> None:
        """Set the full-scale sensitivity (V), rounded up to the next instrument step."""
        sens = _next_step_up("sensitivity", volts, list(self.driver.SENSITIVITIES))
        self._io("set sensitivity", lambda: setattr(self.driver, "sensitivity", sens), parsing=False)

    def sensitivity(self) -> float:
        """Return the full-scale sensitivity (V)."""
        return self._query_float("sensitivity query", lambda: self.driver.sensitivity)

    def overload_bits(self) -> int:
        """Return the raw overload bits of the status query."""
        reply = self._io("overload query", lambda: self.driver.ask(self.STATUS_QUERY))
        try:
            bits = int(float(str(reply).strip()))
        except ValueError:
            raise self._error_reply(f"overload query: expected an integer, got {reply!r}") from None
        return bits & self.OVERLOAD_MASK

    def overloaded(self) -> bool:
        """Return True if the input or output overloads (the reading is not trustworthy)."""
        return self.overload_bits() != 0

    def check_overload(self) -> None:
        """Raise DetectorOverload (naming role and instrument) if the lock-in overloads now."""
        bits = self.overload_bits()
        if bits:
            raise self._error(DetectorOverload, f"overload (status bits {bits:#x}): raise the sensitivity range")

    def _error_reply(self, problem: str) -> InstrumentReplyError:
        return self._error(InstrumentReplyError, problem)  # type: ignore[return-value]

    # readings

    def read_xy(self) -> tuple[float, float]:
        """Return (X, Y) in V rms, read in one snapshot."""
        reply = self._io("X,Y query", self._snap)
        if not isinstance(reply, (list, tuple)) or len(reply) != 2:
            raise self._error_reply(f"X,Y query: expected two numbers, got {reply!r}")
        return self._as_float("X", reply[0]), self._as_float("Y", reply[1])

    def set_phase(self, degrees: float) -> None:
        """Set the reference phase (deg, -180 to 360)."""
        phase = check_finite("phase", degrees)
        if not -360.0 <= phase <= 360.0:
            raise RoleArgumentError(f"phase must be within -360..360 deg, got {degrees}")
        self._io("set phase", lambda: setattr(self.driver, "phase", phase), parsing=False)

    def phase(self) -> float:
        """Return the reference phase (deg)."""
        return self._query_float("phase query", lambda: self.driver.phase)

    def describe(self) -> str:
        tau = self.time_constant()
        sens = self.sensitivity()
        x, y = self.read_xy()
        over = " OVERLOAD" if self.overloaded() else ""
        return f"tau {tau:g} s, sensitivity {sens:g} V, X {x:.4g} V, Y {y:.4g} V{over}"

    def settings(self) -> dict[str, Any]:
        return {"time_constant_s": self._tau, "filter_slope_dB": self._slope}

    def _snap(self) -> Any:
        raise NotImplementedError

    def _write_slope(self, slope: int) -> None:
        raise NotImplementedError

    def _read_slope(self) -> int:
        raise NotImplementedError


class SR830Detector(LockInRole):
    """Stanford Research SR830 (pymeasure ``SR830``)."""

    OVERLOAD_MASK = 0b111  # input, time-constant filter, output overload
    STATUS_QUERY = "LIAS?"

    def _snap(self) -> Any:
        return self.driver.snap("X", "Y")

    def _write_slope(self, slope: int) -> None:
        self.driver.filter_slope = slope

    def _read_slope(self) -> int:
        value = self._as_float("filter slope", self.driver.filter_slope)
        if int(value) not in FILTER_SLOPES_DB:
            raise self._error_reply(f"filter slope query: unexpected value {value!r}")
        return int(value)


class SR860Detector(LockInRole):
    """Stanford Research SR860 (pymeasure ``SR860``)."""

    OVERLOAD_MASK = 0b11111  # CH1/CH2 output, data channels 3/4, input range
    STATUS_QUERY = "CUROVLDSTAT?"

    def _snap(self) -> Any:
        return self.driver.snap("X", "Y")

    def _write_slope(self, slope: int) -> None:
        self.driver.filter_slope = FILTER_SLOPES_DB.index(slope)  # SR860 takes the index 0..3

    def _read_slope(self) -> int:
        index = int(self._as_float("filter slope", self.driver.filter_slope))
        if not 0 <= index < len(FILTER_SLOPES_DB):
            raise self._error_reply(f"filter slope query: unexpected index {index!r}")
        return FILTER_SLOPES_DB[index]


class Keithley2182Detector(RoleSettings, DriverRole):
    """Keithley 2182(A) nanovoltmeter as a dc detector: X = voltage, Y = 0.

    Its "time constant" is the integration time NPLC/line frequency, its
    "sensitivity" the channel-1 range. ``settle_time`` is two integration periods.
    """

    #: "lock-in" (X, Y at the modulation rate) or "dc" (a voltmeter: X = voltage)
    DETECTION: ClassVar[Detection] = "dc"

    OVERFLOW_V = 9.9e37
    NPLC_RANGE = (0.01, 60.0)
    RANGES_V = (0.01, 0.1, 1.0, 10.0, 100.0)
    SETTINGS = DETECTOR_SETTINGS

    def __init__(
        self, driver: Any, address: str, role: str = "detector", instrument: str | None = None,
        line_frequency_Hz: float = 50.0,
    ) -> None:
        super().__init__(role, driver, address, instrument)
        if line_frequency_Hz not in LINE_FREQUENCIES_HZ:
            raise RoleArgumentError(f"line_frequency_Hz must be 50 or 60, got {line_frequency_Hz}")
        self.line_frequency_Hz = float(line_frequency_Hz)
        self._last: float | None = None
        self._nplc: float | None = None

    @classmethod
    def read_settings(cls, table: Table, spec: Any, base_dir: Path | None) -> dict[str, Any]:
        """Range up to the largest of RANGES_V, no phase, integration within NPLC_RANGE line cycles."""
        s = _read_detector_settings(table)
        top = max(cls.RANGES_V)
        if s["sensitivity_V"] is not None and s["sensitivity_V"] > top:
            raise table.fail("sensitivity_V", f"the {spec.name} ranges go up to {top:g} V, got {s['sensitivity_V']:g}")
        if s["phase_deg"] not in (None, 0, 0.0):
            raise table.fail("phase_deg", f"the {spec.name} has no reference phase")
        lo, hi = cls.NPLC_RANGE
        if not lo <= s["time_constant_s"] * s["line_frequency_Hz"] <= hi:
            raise table.fail("time_constant_s", f"the {spec.name} integrates {lo:g}..{hi:g} line cycles, "
                                                f"got {s['time_constant_s']:g} s")
        return s

    @classmethod
    def from_config(cls, driver: Any, address: str, settings: dict[str, Any], *, role: str, instrument: str,
                    companion: Any = None) -> Keithley2182Detector:
        return cls(driver, address, role=role, instrument=instrument,
                   line_frequency_Hz=float(settings["line_frequency_Hz"]))

    def apply_settings(self, settings: dict[str, Any]) -> None:
        """Integration time, then the range (if given)."""
        self.set_time_constant(settings["time_constant_s"])
        if settings["sensitivity_V"] is not None:
            self.set_sensitivity(settings["sensitivity_V"])

    def set_time_constant(self, seconds: float) -> None:
        """Set the integration time (s) as NPLC = seconds * line frequency (0.01..60 NPLC)."""
        nplc = check_finite("time constant", seconds) * self.line_frequency_Hz
        lo, hi = self.NPLC_RANGE
        if not lo <= nplc <= hi:
            raise RoleArgumentError(
                f"time constant {seconds:g} s is outside {lo / self.line_frequency_Hz:g}.."
                f"{hi / self.line_frequency_Hz:g} s for the Keithley 2182"
            )
        self._io("set integration time", lambda: setattr(self.driver, "voltage_nplc", nplc), parsing=False)
        self._nplc = nplc

    def time_constant(self) -> float:
        """Return the integration time (s)."""
        self._nplc = self._query_float("NPLC query", lambda: self.driver.voltage_nplc)
        return self._nplc / self.line_frequency_Hz

    def settle_time(self, residual: float = SETTLED_RESIDUAL) -> float:
        """Return two integration periods (s): one to flush the running one, one to measure.

        An integrating voltmeter keeps nothing of a step after a whole period, so the
        residual asked for does not change the wait.
        """
        nplc = self._nplc if self._nplc is not None else self.time_constant() * self.line_frequency_Hz
        return 2.0 * nplc / self.line_frequency_Hz

    def reading_interval(self) -> float:
        """Return one integration period (s): successive readings integrate disjoint times."""
        nplc = self._nplc if self._nplc is not None else self.time_constant() * self.line_frequency_Hz
        return nplc / self.line_frequency_Hz

    def set_sensitivity(self, volts: float) -> None:
        """Set the channel-1 range (V), rounded up to the next range."""
        rng = _next_step_up("sensitivity", volts, list(self.RANGES_V))
        self._io("set range", lambda: setattr(self.driver.ch_1, "voltage_range", rng), parsing=False)

    def sensitivity(self) -> float:
        """Return the channel-1 range (V)."""
        return self._query_float("range query", lambda: self.driver.ch_1.voltage_range)

    def read_xy(self) -> tuple[float, float]:
        """Return (V, 0.0): the dc voltage (V); an overflow reading is returned as it is."""
        reply = self._io("voltage query", lambda: self.driver.voltage)
        if isinstance(reply, (list, tuple)) and reply:
            reply = reply[0]
        try:
            value = float(reply)
        except (TypeError, ValueError):
            raise self._error(InstrumentReplyError, f"voltage query: expected a number, got {reply!r}") from None
        self._last = value
        return value, 0.0

    def overloaded(self) -> bool:
        """Return True if the last reading was the overflow marker (+/-9.9e37)."""
        if self._last is None:
            self.read_xy()
        return abs(self._last) >= self.OVERFLOW_V * 0.999  # type: ignore[arg-type]

    def check_overload(self) -> None:
        """Raise DetectorOverload if the last reading was the overflow marker."""
        if self.overloaded():
            raise self._error(DetectorOverload, "reading over range (+/-9.9e37): raise the range")

    def set_phase(self, degrees: float) -> None:
        """A dc voltmeter has no phase: only 0 is accepted."""
        if check_finite("phase", degrees) != 0.0:
            raise RoleArgumentError("the Keithley 2182 has no reference phase: only 0 deg is accepted")

    def phase(self) -> float:
        """Return 0 (a dc voltmeter has no phase)."""
        return 0.0

    def describe(self) -> str:
        x, _ = self.read_xy()
        return f"integration {self.time_constant():g} s, range {self.sensitivity():g} V, V {x:.4g} V"

    def settings(self) -> dict[str, Any]:
        return {"nplc": self._nplc, "line_frequency_Hz": self.line_frequency_Hz}
