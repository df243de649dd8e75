"""Shared physical state of the virtual bench: magnet, rf, rotation stage, dc current.

Every simulated instrument reads and changes these objects, so the gaussmeter
sees the field the supply made, the lock-in sees the angle the stage reached,
and the sourcemeter sees the heating of the rf power. Time-dependent
quantities (coil current, stage angle) are evaluated lazily at
``bench.clock.now()``: nothing runs in the background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stfmr.instruments.sim.waveform import lockin_response, time_average

if TYPE_CHECKING:
    from stfmr.instruments.sim.bench import VirtualBench


@dataclass(frozen=True)
class MagnetParams:
    """Electromagnet and supply behaviour.

    calibration_mT_per_A: nominal coil constant (mT/A).
    time_constant_s: L/R lag of the coil current behind the supply setpoint (s).
    nonlinearity: relative field deficit at ``saturation_A`` (B = c*I*(1 - n*(I/I_sat)^2)).
    saturation_A: current scale of the nonlinearity (A).
    remanence_mT: remanent field of the yoke (mT), sign set by the last excursion.
    remanence_switch_A: |coil current| beyond which the remanence takes that sign (A).
    """

    calibration_mT_per_A: float = 40.0
    time_constant_s: float = 0.15
    nonlinearity: float = 0.01
    saturation_A: float = 10.0
    remanence_mT: float = 0.4
    remanence_switch_A: float = 0.5


class Magnet:
    """Magnet supply output and coil: setpoint, lagging coil current, true field."""

    def __init__(self, bench: VirtualBench, params: MagnetParams | None = None) -> None:
        self._bench = bench
        self.params = params or MagnetParams()
        self.calibration_mT_per_A = self.params.calibration_mT_per_A
        self._setpoint = 0.0
        self._target = 0.0  # what the coil relaxes toward (0 when the output is off)
        self._i0 = 0.0
        self._t0 = bench.clock.now()
        self._rem_sign = 1.0
        self.output_enabled = False
        self.tripped = False
        self.trip_reason = ""

    def _now(self) -> float:
        return self._bench.clock.now()

    def coil_current(self) -> float:
        """Coil current (A) at the present time: first-order lag toward the target."""
        dt = self._now() - self._t0
        tau = self.params.time_constant_s
        if tau <= 0 or dt > 50 * tau:
            return self._target
        return self._target + (self._i0 - self._target) * math.exp(-dt / tau)

    def _restart(self) -> None:
        current = self.coil_current()
        self._update_remanence(current)
        self._i0 = current
        self._t0 = self._now()
        self._target = self._setpoint if (self.output_enabled and not self.tripped) else 0.0

    def _update_remanence(self, current: float) -> None:
        if abs(current) >= self.params.remanence_switch_A:
            self._rem_sign = 1.0 if current > 0 else -1.0

    def setpoint(self) -> float:
        """Supply current setpoint (A)."""
        return self._setpoint

    def set_setpoint(self, amps: float) -> None:
        """Program the supply current (A); the coil follows with its L/R lag."""
        self._bench.state_changing()
        self._setpoint = float(amps)
        self._restart()
        self._bench.record()

    def set_output(self, on: bool) -> None:
        """Switch the supply output; off lets the coil current decay to zero."""
        self._bench.state_changing()
        if on and self.tripped:
            self.tripped = False  # re-enabling the output clears a trip, as on the real supply
            self.trip_reason = ""
        self.output_enabled = bool(on)
        self._restart()
        self._bench.record()

    def trip(self, reason: str) -> None:
        """Fault: the supply switches its output off and flags a trip."""
        self._bench.state_changing()
        self.tripped = True
        self.trip_reason = reason
        self.output_enabled = False
        self._restart()
        self._bench.log.append(f"magnet supply tripped: {reason}")
        self._bench.record()

    def field_for_current(self, current: float) -> float:
        """True field mu0*H (mT) for a coil current (A) with the present remanence sign."""
        p = self.params
        x = current / p.saturation_A
        return p.calibration_mT_per_A * current * (1.0 - p.nonlinearity * x * x) + self._rem_sign * p.remanence_mT

    def field_mT(self) -> float:
        """True field mu0*H (mT) at the sample now: slightly nonlinear coil plus remanence."""
        current = self.coil_current()
        self._update_remanence(current)
        return self.field_for_current(current)


class RfState:
    """The rf source output reaching the sample. Setters record history."""

    def __init__(self, bench: VirtualBench) -> None:
        self._bench = bench
        self._frequency_Hz = 10e9
        self._power_dBm = -10.0
        self._output_on = False
        self._modulation = "off"
        self.modulation_rate_Hz = 1000.0
        self.am_depth = 1.0

    @property
    def frequency_Hz(self) -> float:
        """Carrier frequency (Hz)."""
        return self._frequency_Hz

    @frequency_Hz.setter
    def frequency_Hz(self, value: float) -> None:
        self._bench.state_changing()
        self._frequency_Hz = float(value)
        self._bench.record()

    @property
    def power_dBm(self) -> float:
        """Output power (dBm)."""
        return self._power_dBm

    @power_dBm.setter
    def power_dBm(self, value: float) -> None:
        self._bench.state_changing()
        self._power_dBm = float(value)
        self._bench.record()

    @property
    def output_on(self) -> bool:
        """rf output switch."""
        return self._output_on

    @output_on.setter
    def output_on(self, value: bool) -> None:
        self._bench.state_changing()
        self._output_on = bool(value)
        self._bench.record()

    @property
    def modulation(self) -> str:
        """Modulation of the output: "off", "pulse" (on/off) or "am"."""
        return self._modulation

    @modulation.setter
    def modulation(self, value: str) -> None:
        if value not in ("off", "pulse", "am"):
            raise ValueError(f"modulation must be off, pulse or am, got {value!r}")
        self._bench.state_changing()
        self._modulation = value
        self._bench.record()

    def lockin_response(self) -> complex:
        """Lock-in X + iY per cw mixing volt for the present output, from the sampled waveform.

        The reference is in phase with the modulation (see :mod:`stfmr.instruments.sim.waveform`).
        """
        if not self._output_on:
            return 0j
        return lockin_response(self._modulation, self.am_depth)

    def lockin_factor(self) -> float:
        """Lock-in X per cw mixing volt for the present output (the real part of :meth:`lockin_response`)."""
        return self.lockin_response().real

    def dc_factor(self) -> float:
        """Time-averaged fraction of the cw mixing voltage (and rf power): what a dc voltmeter sees."""
        if not self._output_on:
            return 0.0
        return time_average(self._modulation, self.am_depth)


class Stage:
    """Rotation stage: finite speed, lazily evaluated angle, optional stop-short fault."""

    def __init__(self, bench: VirtualBench, speed_deg_per_s: float = 20.0, model: str = "ESP300") -> None:
        self._bench = bench
        self.speed_deg_per_s = float(speed_deg_per_s)
        self.model = model
        self._start = 0.0
        self._end = 0.0
        self._t0 = bench.clock.now()
        self.target = 0.0
        self.homed = False
        self.stopped_short = False
        #: fraction of the move completed when a stage_short fault fires
        self.short_fraction = 0.9

    def angle(self) -> float:
        """Present angle (deg)."""
        travel = self._end - self._start
        if travel == 0:
            return self._end
        done = self.speed_deg_per_s * (self._bench.clock.now() - self._t0)
        if done >= abs(travel):
            return self._end
        return self._start + math.copysign(done, travel)

    def is_moving(self) -> bool:
        """True while the stage has not reached where it will stop."""
        return self.angle() != self._end

    def move_to(self, deg: float) -> None:
        """Start a move to deg (deg); a stage_short fault makes it stop short."""
        self._bench.state_changing()
        start = self.angle()
        self.target = float(deg)
        end = self.target
        self.stopped_short = False
        if self._bench.faults.due("stage_short", self.model):
            end = start + self.short_fraction * (self.target - start)
            self.stopped_short = True
            self._bench.log.append(f"stage stopped short at {end:.3f} deg (target {self.target:.3f})")
        self._start, self._end, self._t0 = start, end, self._bench.clock.now()

    def stop(self) -> None:
        """Stop where the stage is now."""
        self._bench.state_changing()
        here = self.angle()
        self._start = self._end = here
        self._t0 = self._bench.clock.now()

    def home(self) -> None:
        """Move to the home (0 deg) position and mark the stage homed."""
        self.move_to(0.0)
        self.homed = True

    def define_position(self, deg: float) -> None:
        """Redefine the present position as deg without moving."""
        self._bench.state_changing()
        self._start = self._end = self.target = float(deg)
        self._t0 = self._bench.clock.now()


class DcState:
    """dc current forced through the device by the sourcemeter.

    Changing the current or the output notifies the bench first (a lock-in
    filter must see the change at the right time); records no history.
    """

    def __init__(self, bench: VirtualBench | None = None) -> None:
        self._bench = bench
        self._current_A = 0.0
        self._output_on = False
        self.compliance_V = 21.0

    def _changing(self) -> None:
        if self._bench is not None:
            self._bench.state_changing()

    @property
    def current_A(self) -> float:
        """Programmed source current (A)."""
        return self._current_A

    @current_A.setter
    def current_A(self, value: float) -> None:
        self._changing()
        self._current_A = float(value)

    @property
    def output_on(self) -> bool:
        """Source output switch."""
        return self._output_on

    @output_on.setter
    def output_on(self, value: bool) -> None:
        self._changing()
        self._output_on = bool(value)

    def effective_current_A(self) -> float:
        """Current actually flowing (A): zero with the output off."""
        return self._current_A if self._output_on else 0.0
