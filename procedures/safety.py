"""The safety layer: the one place where limits are enforced and instruments are made safe.

Every procedure moves instruments only through a :class:`SafetyGuard`:

- values are checked against the bench limits (field, supply current, rf power,
  angle, dc current) *before* anything moves; a breach is a :class:`LimitError`
  naming the quantity, the value and the limit;
- the magnet never steps: every change of supply current, the return to zero
  included, is a staircase whose rate between consecutive setpoints never
  exceeds ``max_ramp_rate_A_per_s``; the dc bias current ramps the same way;
- :meth:`SafetyGuard.make_safe` switches the rf off, ramps the dc bias and the
  magnet to zero at the safe rate, leaves the stage where it is, and logs the
  reason. It carries on through every step even when an instrument fails, so a
  broken lock-in never leaves the rf on.

Pause, abort and stop (what the runner and the GUI mean by them):

- *abort* (the GUI's Abort button, Ctrl-C, SIGTERM): the current spectrum stops
  at the next point, its data so far stay on disk, and :meth:`make_safe` runs;
- *error* (an instrument fault, a lost connection): the same, with the error
  named in the log and the manifest;
- *finish*: the same safe state at the end of every procedure, so a queue never
  leaves the rf on between spectra.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from stfmr.instruments.bench import Limits

log = logging.getLogger(__name__)

#: time between setpoints of a ramp (s); the current step is rate * RAMP_STEP_S
RAMP_STEP_S = 0.05
#: fraction of the rate limit a ramp uses, so rounding never crosses the limit
RAMP_MARGIN = 0.95
#: |supply current| (A) below which the magnet counts as at zero once the coil has followed
ZERO_CURRENT_A = 5e-3
#: longest wait (s) for the coil current to decay after the setpoint reached zero
ZERO_WAIT_S = 30.0


class LimitError(ValueError):
    """A requested value breaks a bench limit; nothing has moved."""


class SafetyGuard:
    """Limit checks and safe moves for one bench.

    ``bench`` provides ``rf``, ``field``, ``rotator``, ``sourcemeter`` role
    objects, ``limits`` and ``clock``. ``should_stop`` is polled during long
    ramps and stage moves of a *measurement* (never during :meth:`make_safe`).
    """

    def __init__(self, bench: Any, should_stop: Callable[[], bool] | None = None) -> None:
        self.bench = bench
        self.limits: Limits = bench.limits
        self.clock = bench.clock
        self.should_stop = should_stop or (lambda: False)
        #: called with a one-line state while the magnet ramps down ("ramping to zero: 1.2 A")
        self.on_status: Callable[[str], None] = lambda text: None

    # -- checks (no instrument moves) ------------------------------------------------

    def check_field(self, field_mT: float, where: str = "") -> float:
        """Return the supply current (A) for ``field_mT`` after checking field and current limits."""
        _check_finite(field_mT, "field", "mT", where)
        if abs(field_mT) > self.limits.max_field_mT:
            raise LimitError(f"{_at(where)}field {field_mT:g} mT exceeds the limit of "
                             f"+-{self.limits.max_field_mT:g} mT")
        amps = self.bench.field.current_for_field(field_mT)
        return self.check_current(amps, where)

    def check_current(self, amps: float, where: str = "") -> float:
        _check_finite(amps, "supply current", "A", where)
        if abs(amps) > self.limits.max_current_A:
            raise LimitError(f"{_at(where)}supply current {amps:g} A exceeds the limit of "
                             f"+-{self.limits.max_current_A:g} A")
        return amps

    def check_coil_current(self, amps: float, where: str = "") -> float:
        """Check a raw supply current (no field target, e.g. a magnet calibration); return it.

        The current limit applies, and the field limit to the field the coil
        calibration in use expects at that current.
        """
        self.check_current(amps, where)
        expected = self.bench.field.field_for_current(amps)
        if abs(expected) > self.limits.max_field_mT:
            raise LimitError(f"{_at(where)}supply current {amps:g} A gives about {expected:.4g} mT by the coil "
                             f"calibration, beyond the field limit of +-{self.limits.max_field_mT:g} mT")
        return amps

    def check_measured_field(self, field_mT: float, where: str = "") -> None:
        """Refuse a measured field beyond the field limit (a coil stronger than its calibration says)."""
        _check_finite(field_mT, "measured field", "mT", where)
        if abs(field_mT) > self.limits.max_field_mT:
            raise LimitError(f"{_at(where)}measured field {field_mT:g} mT exceeds the limit of "
                             f"+-{self.limits.max_field_mT:g} mT")

    def check_rf_power(self, power_dBm: float, where: str = "") -> None:
        _check_finite(power_dBm, "rf power", "dBm", where)
        if power_dBm > self.limits.max_rf_power_dBm:
            raise LimitError(f"{_at(where)}rf power {power_dBm:g} dBm exceeds the limit of "
                             f"{self.limits.max_rf_power_dBm:g} dBm")

    def check_angle(self, angle_deg: float, where: str = "") -> None:
        _check_finite(angle_deg, "angle", "deg", where)
        lo, hi = self.limits.angle_min_deg, self.limits.angle_max_deg
        if not lo <= angle_deg <= hi:
            raise LimitError(f"{_at(where)}angle {angle_deg:g} deg is outside the stage range "
                             f"{lo:g} to {hi:g} deg")

    def check_dc_current(self, amps: float, where: str = "") -> None:
        _check_finite(amps, "dc current", "A", where)
        if abs(amps) > self.limits.max_dc_current_A:
            raise LimitError(f"{_at(where)}dc current {amps * 1e3:g} mA exceeds the limit of "
                             f"+-{self.limits.max_dc_current_A * 1e3:g} mA")

    # -- safe moves ------------------------------------------------------------------------

    def ramp_field(self, field_mT: float, *, interruptible: bool = True) -> None:
        """Ramp the magnet to ``field_mT`` at the safe rate (checks the limits first)."""
        self.ramp_current(self.check_field(field_mT), interruptible=interruptible)

    def ramp_current(self, target_A: float, *, interruptible: bool = True) -> None:
        """Ramp the supply current to ``target_A`` in steps no faster than the rate limit.

        Raw amperes: a magnet calibration checks its currents with
        :meth:`check_coil_current` first. Every setpoint is also passed to the
        coil calibration's ``follow`` (a hysteretic table tracks the branch).
        """
        self.check_current(target_A)
        field = self.bench.field
        if target_A != 0.0:
            self._supply_output_on()
        start = _setpoint(field)
        self._staircase(start, target_A, _following(field), self.limits.max_ramp_rate_A_per_s,
                        interruptible, label="magnet")

    def set_dc_current(self, target_A: float, *, interruptible: bool = True) -> None:
        """Ramp the sourcemeter's dc current to ``target_A`` (A) within the dc limit."""
        self.check_dc_current(target_A)
        sm = self._sourcemeter()
        start = sm.dc_current() if sm.output_enabled() else 0.0
        if not sm.output_enabled():
            sm.set_dc_current(0.0)
            sm.set_output(True)
        # a dc current ramps over ~10 steps of RAMP_STEP_S at most (thermal and inductive sanity)
        rate = max(self.limits.max_dc_current_A, 1e-9) / (10 * RAMP_STEP_S)
        self._staircase(start, target_A, sm.set_dc_current, rate, interruptible, label="dc bias")

    def set_rf(self, freq_GHz: float, power_dBm: float) -> None:
        """Program frequency and power (checked against the power limit)."""
        self.check_rf_power(power_dBm)
        self.bench.rf.set_frequency_GHz(freq_GHz)
        self.bench.rf.set_power_dBm(power_dBm)

    def rf_output(self, enabled: bool) -> None:
        self.bench.rf.set_output(enabled)

    def move_stage(self, angle_deg: float, timeout_s: float = 120.0) -> None:
        """Turn the stage to ``angle_deg`` and wait until it has arrived (checks the range)."""
        self.check_angle(angle_deg)
        rot = self.bench.rotator
        if rot is None:
            raise LimitError(f"angle {angle_deg:g} deg requested but the bench has no rotator")
        rot.move_to(angle_deg)
        waited = 0.0
        while rot.is_moving():
            if waited > timeout_s:
                raise TimeoutError(f"rotator did not reach {angle_deg:g} deg within {timeout_s:g} s")
            self.clock.sleep(0.1)
            waited += 0.1
        check = getattr(rot, "check_reached", None)
        if check is not None:
            check()

    # -- the safe state --------------------------------------------------------------------

    def make_safe(self, reason: str) -> list[str]:
        """Switch rf off, ramp dc bias and magnet to zero, leave the stage; return problems met.

        Runs every step even if earlier ones fail; the reason is logged. The
        magnet is ramped from its present setpoint at the safe rate and never
        interrupted by ``should_stop``.
        """
        log.info("making the bench safe (%s): rf off, dc bias off, magnet to zero", reason)
        problems: list[str] = []

        def attempt(what: str, action: Callable[[], None]) -> None:
            try:
                action()
            except Exception as exc:  # keep going: the other steps still matter
                problems.append(f"{what}: {exc}")
                log.error("safe shutdown: %s failed: %s", what, exc)

        attempt("rf output off", lambda: self.bench.rf.set_output(False))
        if self.bench.sourcemeter is not None:
            attempt("dc bias to zero", self._dc_off)
        attempt("magnet ramp to zero", self._magnet_to_zero)
        if problems:
            log.error("bench NOT fully safe after %s: %s", reason, "; ".join(problems))
        else:
            log.info("bench safe after %s: rf off, magnet at zero", reason)
        return problems

    def _dc_off(self) -> None:
        sm = self.bench.sourcemeter
        if sm.output_enabled():
            self.set_dc_current(0.0, interruptible=False)
            sm.set_output(False)

    def _magnet_to_zero(self) -> None:
        self.on_status("ramping magnet to zero")
        try:
            self.ramp_current(0.0, interruptible=False)
        except Exception:
            # one retry: a transient timeout must not leave the magnet energised
            self.clock.sleep(RAMP_STEP_S)
            self.ramp_current(0.0, interruptible=False)
        self._wait_for_zero_current()
        self.on_status("magnet at zero")

    def _wait_for_zero_current(self) -> None:
        """Wait until the coil (which lags the setpoint by L/R) has followed it to zero."""
        field = self.bench.field
        enabled = getattr(field, "output_enabled", None)
        if enabled is not None and not enabled():
            return  # output off (or tripped): the coil decays through the supply's protection
        waited = 0.0
        while abs(field.current()) > ZERO_CURRENT_A:
            if waited >= ZERO_WAIT_S:
                raise TimeoutError(f"magnet current still {field.current():.3g} A {ZERO_WAIT_S:g} s after "
                                   "the setpoint reached zero")
            self.clock.sleep(0.1)
            waited += 0.1

    # -- helpers -----------------------------------------------------------------------------

    def _supply_output_on(self) -> None:
        """Switch the supply output on at zero setpoint, so enabling it never steps the coil."""
        field = self.bench.field
        enabled = getattr(field, "output_enabled", None)
        if enabled is None or enabled():
            return
        field.set_current(0.0)
        self.clock.sleep(RAMP_STEP_S)
        field.set_output(True)
        self.clock.sleep(RAMP_STEP_S)

    def _sourcemeter(self) -> Any:
        if self.bench.sourcemeter is None:
            raise LimitError("a dc current was requested but the bench has no sourcemeter")
        return self.bench.sourcemeter

    def _staircase(self, start: float, target: float, setter: Callable[[float], None],
                   rate: float, interruptible: bool, label: str) -> None:
        """Step from ``start`` to ``target``, waiting after each setpoint |step| / (margin * rate)."""
        max_step = rate * RAMP_MARGIN * RAMP_STEP_S
        span = target - start
        n = max(1, math.ceil(abs(span) / max_step)) if span else 0
        wait = abs(span) / n / (rate * RAMP_MARGIN) if n else 0.0
        for k in range(1, n + 1):
            if interruptible and self.should_stop():
                log.info("%s ramp interrupted at %.4g A", label, start + span * (k - 1) / n)
                return
            setter(target if k == n else start + span * k / n)
            # wait after every setpoint, the last included: the next ramp may start at once
            self.clock.sleep(wait)
            if not interruptible and k % 20 == 0:
                self.on_status(f"ramping {label}: {start + span * k / n:.3g} A")


def _following(field: Any) -> Callable[[float], None]:
    """The supply's set_current, also telling the coil calibration (if it follows history) each setpoint."""
    follow = getattr(getattr(field, "calibration", None), "follow", None)
    if follow is None:
        return field.set_current

    def set_current(amps: float) -> None:
        field.set_current(amps)
        follow(amps)

    return set_current


def _setpoint(field: Any) -> float:
    """The supply's programmed current (the ramp's true starting point)."""
    getter = getattr(field, "current_setpoint", None)
    return float(getter()) if getter is not None else float(field.current())


def _check_finite(value: float, what: str, unit: str, where: str) -> None:
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LimitError(f"{_at(where)}{what} must be a finite number of {unit}, got {value!r}")


def _at(where: str) -> str:
    return f"{where}: " if where else ""
