"""The roles of an ST-FMR bench as small typing Protocols.

Procedures talk to roles, never to drivers: a role is satisfied both by a thin
wrapper around a pymeasure driver (real hardware) and by the same wrapper around
the same driver talking to a simulated instrument. Units at this boundary are
the user-facing ones: GHz, dBm, mT, degrees; currents in A, voltages in V,
times in s.

None of these methods ramps or checks limits: that is the safety layer's job
(:mod:`stfmr.procedures.safety`), so the limits live in one place.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

ModulationMode = Literal["off", "pulse", "am"]


@runtime_checkable
class Role(Protocol):
    """What every role offers."""

    role: str  #: role name, e.g. "rf", "detector"
    address: str  #: VISA resource or simulator address, for messages

    def identity(self) -> str:
        """Return the instrument's identification string."""
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


@runtime_checkable
class Detector(Role, Protocol):
    """Lock-in amplifier (X, Y) or dc nanovoltmeter (X only, Y = 0)."""

    def set_time_constant(self, seconds: float) -> None: ...
    def time_constant(self) -> float: ...
    def set_sensitivity(self, volts: float) -> None: ...
    def sensitivity(self) -> float: ...
    def overloaded(self) -> bool: ...

    def read_xy(self) -> tuple[float, float]:
        """Return (X, Y) in V as the instrument reports them (rms of the fundamental for a lock-in)."""
        ...

    def settle_time(self) -> float:
        """Return the wait (s) after a change before a reading is settled (e.g. 5 time constants)."""
        ...

    def set_phase(self, degrees: float) -> None: ...
    def phase(self) -> float: ...


@runtime_checkable
class FieldControl(Role, Protocol):
    """Electromagnet power supply with a coil calibration and an optional gaussmeter."""

    def set_current(self, amps: float) -> None:
        """Program the supply current at once (no ramp: callers go through the safety layer)."""
        ...

    def current(self) -> float:
        """Return the measured supply current (A)."""
        ...

    def current_for_field(self, field_mT: float) -> float:
        """Return the supply current (A) that the coil calibration maps to field_mT."""
        ...

    def field_mT(self) -> float:
        """Return the measured field (gaussmeter) or, without one, the calibrated field of the current."""
        ...

    def has_gaussmeter(self) -> bool: ...


@runtime_checkable
class Rotator(Role, Protocol):
    """Rotation stage for the in-plane angle phi."""

    def move_to(self, degrees: float) -> None:
        """Start a move to an absolute angle (deg)."""
        ...

    def angle(self) -> float: ...
    def is_moving(self) -> bool: ...
    def home(self) -> None: ...


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
