"""The roles of an ST-FMR bench, and the bench itself, as typing Protocols.

Procedures talk to roles, never to drivers: a role is satisfied both by a thin
wrapper around a pymeasure driver (real hardware) and by the same wrapper around
the same driver talking to a simulated instrument. Units at this boundary are
the user-facing ones: GHz, dBm, mT, degrees; currents in A, voltages in V,
times in s.

None of these methods ramps or checks limits: that is the safety layer's job
(:mod:`stfmr.procedures.safety`), so the limits live in one place.

Every member here is one that procedures, the safety layer or the application
use, and every wrapper provides all of its role's members: a type checker
proves it (``tests/typecheck/role_protocols.py``, checked by
``tests/test_typing.py``), so callers never probe for a capability.

- :class:`BenchLike`: an opened bench (:class:`stfmr.instruments.bench.Bench`).
- :class:`GuardedBench`: what the safety layer moves and makes safe (rf, field,
  rotator, sourcemeter, limits, bench time): a ``BenchLike``, or the watchdog's
  bench of the safety roles alone (:class:`stfmr.app.cmd_watchdog.SafetyBench`).
- :class:`BenchOutline`: what a dry run of a plan knows of a bench (limits, coil
  calibration, which optional roles it has), satisfied by both and by
  :class:`stfmr.procedures.plan_check.PlanBench`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from stfmr.instruments.bench_config import BenchConfig, Limits
    from stfmr.instruments.calibration import CoilCalibration
    from stfmr.instruments.clock import Clock

ModulationMode = Literal["off", "pulse", "am"]
#: how a detector reads the mixing voltage: at the modulation rate, or as a dc voltage
Detection = Literal["lock-in", "dc"]


@runtime_checkable
class Role(Protocol):
    """What every role offers."""

    role: str  #: role name, e.g. "rf", "detector"
    instrument: str  #: driver/model name, e.g. "SR830", for messages
    address: str  #: VISA resource or simulator address, for messages

    def identity(self) -> str:
        """Return the instrument's identification string."""
        ...

    def describe(self) -> str:
        """Return a one-line summary of the present state."""
        ...

    def settings(self) -> dict[str, Any]:
        """Return the settings applied at open (for file headers)."""
        ...

    def reconnect(self) -> None:
        """Close the link and open it again (the instrument keeps its state)."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


@runtime_checkable
class RfSource(Role, Protocol):
    """Microwave generator feeding the device through the bias tee."""

    def set_frequency_GHz(self, value: float) -> None: ...
    def frequency_GHz(self) -> float: ...
    def set_power_dBm(self, value: float) -> None: ...
    def power_dBm(self) -> float: ...
    def set_output(self, enabled: bool) -> None: ...
    def output_enabled(self) -> bool: ...

    def set_modulation(self, mode: ModulationMode, rate_Hz: float = 0.0) -> None:
        """Select amplitude/pulse modulation for lock-in detection ("off" for dc detection)."""
        ...

    def modulation(self) -> tuple[ModulationMode, float]:
        """Return the modulation (mode, rate_Hz) in use."""
        ...


@runtime_checkable
class Detector(Role, Protocol):
    """Lock-in amplifier (X, Y) or dc nanovoltmeter (X only, Y = 0)."""

    #: "lock-in" (X, Y at the modulation rate) or "dc" (a voltmeter: X = voltage)
    DETECTION: ClassVar[Detection]

    def set_time_constant(self, seconds: float) -> None: ...
    def time_constant(self) -> float: ...
    def set_sensitivity(self, volts: float) -> None: ...
    def sensitivity(self) -> float: ...
    def overloaded(self) -> bool: ...

    def check_overload(self) -> None:
        """Raise DetectorOverload if the detector overloads (the reading is not trustworthy)."""
        ...

    def read_xy(self) -> tuple[float, float]:
        """Return (X, Y) in V as the instrument reports them (rms of the fundamental for a lock-in)."""
        ...

    def settle_time(self, residual: float = 0.01) -> float:
        """Return the wait (s) after a step until it is left ``residual`` of its size (0.01: 99 % settled)."""
        ...

    def reading_interval(self) -> float:
        """Return the spacing (s) at which repeated readings at one point carry nearly independent noise."""
        ...

    def set_phase(self, degrees: float) -> None: ...
    def phase(self) -> float: ...


@runtime_checkable
class Gaussmeter(Role, Protocol):
    """Hall probe reading the field, part of the field role."""

    def field_mT(self) -> float:
        """Return the measured field mu0*H (mT)."""
        ...


class FieldOutline(Protocol):
    """The field role as far as a plan check needs it: the coil calibration and whether a gaussmeter is fitted."""

    def current_for_field(self, field_mT: float) -> float:
        """Return the supply current (A) that the coil calibration maps to field_mT."""
        ...

    def field_for_current(self, amps: float) -> float:
        """Return the field (mT) that the coil calibration maps to amps (A)."""
        ...

    def has_gaussmeter(self) -> bool: ...


@runtime_checkable
class FieldControl(Role, FieldOutline, Protocol):
    """Electromagnet power supply with a coil calibration and an optional gaussmeter."""

    @property
    def calibration(self) -> CoilCalibration:
        """The coil calibration (mT <-> A), told every setpoint (``follow``) so a hysteretic table tracks its branch."""
        ...

    @property
    def gaussmeter(self) -> Gaussmeter | None:
        """The gaussmeter, or None when the field is the calibrated field of the current."""
        ...

    def set_current(self, amps: float) -> None:
        """Program the supply current at once (no ramp: callers go through the safety layer)."""
        ...

    def current_setpoint(self) -> float:
        """Return the programmed supply current (A)."""
        ...

    def current(self) -> float:
        """Return the measured supply current (A); raises SupplyTrip if the output dropped by itself."""
        ...

    def point_current(self) -> float:
        """The supply current (A) of a point, called right after its field_mT() (no query with a gaussmeter)."""
        ...

    def set_output(self, enabled: bool) -> None: ...
    def output_enabled(self) -> bool: ...

    def known_setpoint(self) -> float:
        """The programmed current (A) as last read back after this program set it, else read now."""
        ...

    def switched_on(self) -> bool:
        """True when this program switched the output on and no trip has been seen since (no query)."""
        ...

    def check_tripped(self) -> None:
        """Raise SupplyTrip if the output is off although it was switched on."""
        ...

    def field_mT(self) -> float:
        """Return the measured field (gaussmeter) or, without one, the calibrated field of the current."""
        ...


@runtime_checkable
class Rotator(Role, Protocol):
    """Rotation stage for the in-plane angle phi."""

    def move_to(self, degrees: float) -> None:
        """Start a move to an absolute angle (deg)."""
        ...

    def angle(self) -> float: ...
    def is_moving(self) -> bool: ...
    def home(self) -> None: ...

    def check_reached(self, tolerance_deg: float = 0.05) -> float:
        """After a move has ended, return the angle (deg); StageError if it stopped short of the target."""
        ...


@runtime_checkable
class SourceMeter(Role, Protocol):
    """Sourcemeter for resistance, dc bias and rf-current calibration."""

    def set_dc_current(self, amps: float) -> None: ...
    def dc_current(self) -> float: ...
    def set_output(self, enabled: bool) -> None: ...
    def output_enabled(self) -> bool: ...
    def measure_voltage(self) -> float: ...
    def measure_resistance(self) -> float:
        """Return V/I at the present source current (Ohm)."""
        ...


class BenchOutline(Protocol):
    """What a plan check needs of a bench: limits, coil calibration, which optional roles are present.

    Read-only members, so an opened bench (:class:`BenchLike`) is an outline too.
    """

    @property
    def limits(self) -> Limits: ...

    @property
    def field(self) -> FieldOutline: ...

    @property
    def rotator(self) -> object | None:
        """The rotator, or None when the bench has none."""
        ...

    @property
    def sourcemeter(self) -> object | None:
        """The sourcemeter, or None when the bench has none."""
        ...


class GuardedBench(BenchOutline, Protocol):
    """What the safety layer (:class:`stfmr.procedures.safety.SafetyGuard`) moves and makes safe."""

    @property
    def rf(self) -> RfSource: ...

    @property
    def field(self) -> FieldControl: ...

    @property
    def rotator(self) -> Rotator | None: ...

    @property
    def sourcemeter(self) -> SourceMeter | None: ...

    @property
    def clock(self) -> Clock:
        """Bench time: the wall clock, or the virtual bench's clock."""
        ...


class BenchLike(GuardedBench, Protocol):
    """An opened bench: the role objects, limits, clock and a header describing it all."""

    @property
    def detector(self) -> Detector: ...

    @property
    def simulated(self) -> bool:
        """True for a simulated bench (it says so in every file header)."""
        ...

    @property
    def config(self) -> BenchConfig: ...

    def header(self) -> dict[str, Any]:
        """Describe the bench for Results-file headers: drivers, addresses, settings, limits, SIMULATED."""
        ...

    def modulation(self) -> tuple[ModulationMode, float]:
        """Return the rf modulation (mode, rate_Hz) in use ("off" for CW)."""
        ...
