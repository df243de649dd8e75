"""The safety layer: the one place where limits are enforced and instruments are made safe.

Every procedure moves instruments only through a :class:`SafetyGuard`:

- values are checked against the bench limits (field, supply current, rf power,
  angle, dc current) *before* anything moves; a breach is a :class:`LimitError`
  naming the quantity, the value and the limit. The same checks
  (:class:`LimitChecker`, which moves nothing) run at load time on a
  :class:`~stfmr.procedures.plan_check.PlanBench` (a dry run of every task's
  plan), so a sequence is refused before any instrument is opened;
- the magnet never steps: every change of supply current, the return to zero
  included, is a staircase. Each setpoint is read back before the next is sent,
  and the next waits until |step| / (margin * rate) has passed *since that
  read-back*, so the rate at the instrument stays below
  ``max_ramp_rate_A_per_s`` for every step, whatever the transport's jitter;
  the dc bias current ramps the same way;
- :meth:`SafetyGuard.make_safe` switches the rf off, ramps the dc bias and the
  magnet to zero at the safe rate, leaves the stage where it is, and *verifies*
  the end state by read-back (rf output off, dc output off, supply setpoint zero
  and coil current decayed). A part that fails is retried, with the link
  reopened, for ``retry_s`` seconds of bench time; one failing instrument never
  stops the others being made safe. The result is a :class:`SafeEnd`: either
  verified safe, or *unsafe* with each unverified part, its last known state and
  what the operator must switch off by hand. A supply trip seen on the way is
  recorded (it stops the run).

Pause, abort and stop (what the executor and the GUI mean by them):

- *abort* (the GUI's Abort button, Ctrl-C, SIGTERM): the current spectrum stops
  at the next point, its data so far stay on disk, and :meth:`make_safe` runs;
- *error* (an instrument fault, a lost connection, a failed write): the same,
  with the error named in the log and the manifest;
- *finish*: the same safe state at the end of every procedure, so a queue never
  leaves the rf on between spectra.

A safe ending that cannot be verified is never a clean finish: the run stops,
no further task starts, the manifest says ``unsafe`` and ``stfmr run`` exits
non-zero with the instructions.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stfmr.instruments.bench import Limits
from stfmr.instruments.errors import SupplyTrip
from stfmr.instruments.roles import BenchOutline, FieldControl, GuardedBench, Role, SourceMeter

log = logging.getLogger(__name__)

#: time between setpoints of a ramp (s); the current step is rate * RAMP_STEP_S
RAMP_STEP_S = 0.05
#: fraction of the rate limit a ramp uses, so rounding never crosses the limit
RAMP_MARGIN = 0.95
#: |supply current| (A) below which the magnet counts as at zero once the coil has followed
ZERO_CURRENT_A = 5e-3
#: longest wait (s) for the coil current to decay after the setpoint reached zero
ZERO_WAIT_S = 30.0
#: how long (s of bench time) a safe ending keeps retrying a part before it is declared unverified
SAFE_END_RETRY_S = 60.0
#: wait (s) between two attempts at one part of the safe ending
RETRY_WAIT_S = 1.0
#: a read-back setpoint agrees when within this fraction of its value ...
READBACK_REL = 1e-3
#: ... plus this fraction of the limit's full scale (instrument resolution, reply formatting)
READBACK_FULL_SCALE = 1e-4


class LimitError(ValueError):
    """A requested value breaks a bench limit; nothing has moved."""


class ReadbackError(RuntimeError):
    """An instrument reads back a state other than the one just set (it did not take the command)."""


@dataclass
class PartState:
    """One part of the safe state (rf output, dc bias, magnet) after :meth:`SafetyGuard.make_safe`."""

    part: str  #: "rf output", "dc bias" or "magnet"
    instrument: str  #: role, model and address, e.g. "rf (Agilent8257D at GPIB0::19::INSTR)"
    hand_action: str  #: what to do by hand if it could not be verified
    verified: bool = False
    state: str = "not read back"  #: the verified state, or the last one known
    attempts: int = 0
    problems: list[str] = field(default_factory=list)
    trip: str | None = None  #: a supply trip seen while making this part safe

    def to_dict(self) -> dict[str, Any]:
        return {"part": self.part, "instrument": self.instrument, "verified": self.verified,
                "state": self.state, "attempts": self.attempts, "problems": list(self.problems),
                "trip": self.trip, "hand_action": None if self.verified else self.hand_action}


@dataclass
class SafeEnd:
    """The outcome of one safe ending: verified safe, or unsafe with what to do by hand."""

    reason: str
    parts: list[PartState] = field(default_factory=list)

    @property
    def safe(self) -> bool:
        """True when every part's safe state was read back."""
        return all(p.verified for p in self.parts)

    @property
    def trips(self) -> list[str]:
        return [p.trip for p in self.parts if p.trip]

    @property
    def problems(self) -> list[str]:
        """One line per failed attempt or unverified part (empty for a clean, verified end)."""
        out = [f"{p.part}: {problem}" for p in self.parts for problem in p.problems]
        out += [f"{p.part}: supply trip: {p.trip}" for p in self.parts if p.trip]
        return out

    def unverified(self) -> list[PartState]:
        return [p for p in self.parts if not p.verified]

    def instructions(self) -> str:
        """What the operator must switch off by hand (empty when safe)."""
        lines = [f"{p.hand_action}: {p.instrument}; last known state: {p.state}" for p in self.unverified()]
        return "; ".join(lines)

    def summary(self) -> str:
        if self.safe:
            text = "bench verified safe: " + ", ".join(f"{p.part} {p.state}" for p in self.parts)
        else:
            text = "bench NOT verified safe: switch off by hand: " + self.instructions()
        if self.trips:
            text += "; supply trip: " + "; ".join(self.trips)
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "safe": self.safe, "parts": [p.to_dict() for p in self.parts],
                "instructions": self.instructions() or None}


class LimitChecker:
    """The limit checks alone, which move nothing: what a procedure's ``check_plan`` is given.

    ``bench`` needs only its limits, its coil calibration and which optional
    roles it has: an opened bench, or a
    :class:`~stfmr.procedures.plan_check.PlanBench` for a dry run.
    """

    def __init__(self, bench: BenchOutline) -> None:
        self.bench = bench
        self.limits: Limits = bench.limits

    # -- checks (no instrument moves) ------------------------------------------------

    def check_field(self, field_mT: float, where: str = "") -> float:
        """Return the supply current (A) for ``field_mT`` after checking field and current limits."""
        _check_finite(field_mT, "field", "mT", where)
        if abs(field_mT) > self.limits.max_field_mT:
            raise LimitError(f"{_at(where)}field {field_mT:g} mT exceeds the bench limit of "
                             f"+-{self.limits.max_field_mT:g} mT")
        amps = self.bench.field.current_for_field(field_mT)
        return self.check_current(amps, where)

    def check_current(self, amps: float, where: str = "") -> float:
        _check_finite(amps, "supply current", "A", where)
        if abs(amps) > self.limits.max_current_A:
            raise LimitError(f"{_at(where)}supply current {amps:g} A exceeds the bench limit of "
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
            raise LimitError(f"{_at(where)}measured field {field_mT:g} mT exceeds the bench limit of "
                             f"+-{self.limits.max_field_mT:g} mT")

    def check_rf_power(self, power_dBm: float, where: str = "") -> None:
        _check_finite(power_dBm, "rf power", "dBm", where)
        if power_dBm > self.limits.max_rf_power_dBm:
            raise LimitError(f"{_at(where)}rf power {power_dBm:g} dBm exceeds the bench limit of "
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
            raise LimitError(f"{_at(where)}dc current {amps * 1e3:g} mA exceeds the bench limit of "
                             f"+-{self.limits.max_dc_current_A * 1e3:g} mA")


class SafetyGuard(LimitChecker):
    """Limit checks and safe moves for one opened bench (or the watchdog's bench of the safety roles).

    ``bench`` provides ``rf``, ``field``, ``rotator``, ``sourcemeter`` role
    objects, ``limits`` and ``clock``. ``should_stop`` is polled during long
    ramps and stage moves of a *measurement* (never during :meth:`make_safe`).
    ``retry_s``: how long each part of a safe ending is retried (bench seconds).
    """

    bench: GuardedBench

    def __init__(self, bench: GuardedBench, should_stop: Callable[[], bool] | None = None,
                 retry_s: float | None = None) -> None:
        super().__init__(bench)
        self.clock = bench.clock
        self.should_stop = should_stop or (lambda: False)
        self.retry_s = SAFE_END_RETRY_S if retry_s is None else float(retry_s)
        #: called with a one-line state while the magnet ramps down ("ramping to zero: 1.2 A")
        self.on_status: Callable[[str], None] = lambda text: None
        #: bench time at which each ramped quantity's last setpoint was read back (pacing)
        self._confirmed_at: dict[str, float] = {}
        #: what this guard last commanded, for the operator when a read-back fails
        self.commanded: dict[str, str] = {}
        #: the rf level last programmed, for the operator when the rf output cannot be read back
        self._rf_setting = "power unknown"

    # -- safe moves ------------------------------------------------------------------------

    def ramp_field(self, field_mT: float, *, interruptible: bool = True) -> None:
        """Ramp the magnet to ``field_mT`` at the safe rate (checks the limits first)."""
        self.ramp_current(self.check_field(field_mT), interruptible=interruptible)

    def ramp_current(self, target_A: float, *, interruptible: bool = True) -> None:
        """Ramp the supply current to ``target_A`` in read-back steps no faster than the rate limit.

        Raw amperes: a magnet calibration checks its currents with
        :meth:`check_coil_current` first. Every setpoint is also passed to the
        coil calibration's ``follow`` (a hysteretic table tracks the branch).
        """
        self.check_current(target_A)
        field = self.bench.field
        if target_A != 0.0:
            self._supply_output_on()
        start = _setpoint(field)
        self._staircase(start, target_A, _following(field), _setpoint_reader(field),
                        self.limits.max_ramp_rate_A_per_s, self.limits.max_current_A, interruptible, label="magnet")

    def set_dc_current(self, target_A: float, *, interruptible: bool = True) -> None:
        """Ramp the sourcemeter's dc current to ``target_A`` (A) within the dc limit, read back at every step."""
        self.check_dc_current(target_A)
        sm = self._sourcemeter()
        on = sm.output_enabled()
        start = sm.dc_current() if on else 0.0
        if not on:
            sm.set_dc_current(0.0)
            sm.set_output(True)
        self.commanded["dc bias"] = f"output ON, ramping to {target_A * 1e3:g} mA"
        self._staircase(start, target_A, sm.set_dc_current, sm.dc_current, _dc_rate(self.limits),
                        self.limits.max_dc_current_A, interruptible, label="dc bias")
        self.commanded["dc bias"] = f"output ON at {target_A * 1e3:g} mA"

    def verify_dc_current(self, expected_A: float, where: str = "") -> None:
        """Read the dc source back and refuse a state other than ``expected_A`` (output off counts as 0 A).

        A spectrum labelled 0 mA must not be measured with a current left on by
        an earlier failure: the label is checked against the instrument.
        """
        sm = self.bench.sourcemeter
        if sm is None:
            if expected_A:
                raise LimitError(f"{_at(where)}a dc current was requested but the bench has no sourcemeter")
            return
        actual = sm.dc_current() if sm.output_enabled() else 0.0
        if not _agrees(actual, expected_A, self.limits.max_dc_current_A):
            raise ReadbackError(f"{_at(where)}the dc source reads {actual * 1e3:g} mA, not the "
                                f"{expected_A * 1e3:g} mA this measurement is labelled with")

    def set_rf(self, freq_GHz: float, power_dBm: float) -> None:
        """Program frequency and power (checked against the power limit)."""
        self.check_rf_power(power_dBm)
        self.bench.rf.set_frequency_GHz(freq_GHz)
        self.bench.rf.set_power_dBm(power_dBm)
        self._rf_setting = f"{power_dBm:g} dBm at {freq_GHz:g} GHz"

    def rf_output(self, enabled: bool) -> None:
        """Switch the rf output and read it back (a source that ignores the command is an error)."""
        rf = self.bench.rf
        self.commanded["rf output"] = f"{'ON' if enabled else 'off'} ({self._rf_setting})"
        rf.set_output(enabled)
        if bool(rf.output_enabled()) != bool(enabled):
            raise ReadbackError(f"rf output reads {'off' if enabled else 'ON'} after switching it "
                                f"{'on' if enabled else 'off'}")

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
        rot.check_reached()

    # -- the safe state --------------------------------------------------------------------

    def make_safe(self, reason: str) -> SafeEnd:
        """Switch rf off, ramp dc bias and magnet to zero, leave the stage; verify it all by read-back.

        Never raises and never gives up on one part because another failed:
        each part is attempted in turn, and the failed ones again (their links
        reopened first) every :data:`RETRY_WAIT_S` until ``retry_s`` of bench
        time has passed. The magnet ramps from its read-back setpoint at the safe
        rate and is never interrupted by ``should_stop``.
        """
        log.info("making the bench safe (%s): rf off, dc bias off, magnet to zero", reason)
        end = SafeEnd(reason)
        work: list[tuple[PartState, Role, Callable[[PartState], str]]] = []
        bench = self.bench
        work.append((PartState("rf output", _describe(bench.rf, "rf"), "switch the rf output off by hand",
                               state=self.commanded.get("rf output", "not read back")), bench.rf, self._rf_off))
        if bench.sourcemeter is not None:
            work.append((PartState("dc bias", _describe(bench.sourcemeter, "sourcemeter"),
                                   "switch the sourcemeter output off by hand",
                                   state=self.commanded.get("dc bias", "not read back")),
                         bench.sourcemeter, self._dc_off))
        work.append((PartState("magnet", _describe(bench.field, "field"),
                               "ramp the magnet supply to zero by hand (front panel, slowly) and switch its output off",
                               state=self.commanded.get("magnet", "not read back")), bench.field, self._magnet_to_zero))
        end.parts = [part for part, _, _ in work]
        deadline = self.clock.now() + self.retry_s
        pending = list(work)
        while pending:
            for item in list(pending):
                part, role, action = item
                part.attempts += 1
                try:
                    if part.attempts > 1:
                        role.reconnect()  # reopen the link before another attempt
                    part.state = action(part)
                    part.verified = True
                    pending.remove(item)
                except Exception as exc:  # noqa: BLE001 - keep going: the other parts still matter
                    part.problems.append(f"attempt {part.attempts}: {exc}")
                    log.error("safe shutdown: %s, attempt %d failed: %s", part.part, part.attempts, exc)
            if not pending or self.clock.now() >= deadline:
                break
            self.clock.sleep(RETRY_WAIT_S)
        for trip in end.trips:
            log.error("supply trip during the safe ending (%s): %s", reason, trip)
        if end.safe:
            log.info("%s after %s", end.summary(), reason)
        else:
            log.critical("%s (after %s)", end.summary(), reason)
        return end

    def _rf_off(self, part: PartState) -> str:
        rf = self.bench.rf
        rf.set_output(False)
        if rf.output_enabled():
            part.state = "output reads ON after switching it off"
            raise ReadbackError("rf output still reads ON after switching it off")
        self.commanded["rf output"] = "off"
        return "off (read back)"

    def _dc_off(self, part: PartState) -> str:
        sm = self._sourcemeter()
        if sm.output_enabled():
            start = sm.dc_current()
            part.state = f"output ON at {start * 1e3:g} mA"
            self._staircase(start, 0.0, sm.set_dc_current, sm.dc_current, _dc_rate(self.limits),
                            self.limits.max_dc_current_A, False, label="dc bias")
            part.state = "output ON at 0 mA"
            sm.set_output(False)
            if sm.output_enabled():
                raise ReadbackError("sourcemeter output still reads ON after switching it off")
        self.commanded["dc bias"] = "output off"
        return "output off (read back)"

    def _magnet_to_zero(self, part: PartState) -> str:
        field = self.bench.field
        self.on_status("ramping magnet to zero")
        start = float(field.current_setpoint())  # the safe ending reads the supply, never a remembered value
        part.state = f"setpoint {start:.4g} A"
        try:
            self._staircase(start, 0.0, _following(field), _setpoint_reader(field), self.limits.max_ramp_rate_A_per_s,
                            self.limits.max_current_A, False, label="magnet",
                            progress=lambda a: setattr(part, "state", f"setpoint {a:.4g} A (ramping down)"))
            part.state = "setpoint 0 A, coil current not yet read back"
            left = self._wait_for_zero_current()
        except SupplyTrip as trip:
            part.trip = str(trip)
            log.error("supply trip while ramping the magnet to zero: %s", trip)
            if _output_on(field):
                raise
            left = None
        self.on_status("magnet at zero")
        self.commanded["magnet"] = "setpoint 0 A"
        if left is None:
            return "output off, setpoint 0 A"
        return f"setpoint 0 A, coil {left:.2g} A"

    def _wait_for_zero_current(self) -> float | None:
        """Wait until the coil (which lags the setpoint by L/R) has followed it to zero; return the current.

        None when the output is off (or tripped): the coil then decays through
        the supply's protection and the readback means nothing.
        """
        field = self.bench.field
        if not _output_on(field):
            return None
        waited = 0.0
        while True:
            amps = field.current()
            if abs(amps) <= ZERO_CURRENT_A:
                return amps
            if waited >= ZERO_WAIT_S:
                raise TimeoutError(f"magnet current still {amps:.3g} A {ZERO_WAIT_S:g} s after "
                                   "the setpoint reached zero")
            self.clock.sleep(0.1)
            waited += 0.1

    # -- helpers -----------------------------------------------------------------------------

    def _supply_output_on(self) -> None:
        """Switch the supply output on at zero setpoint, so enabling it never steps the coil."""
        field = self.bench.field
        # switched on by this program: no query (a trip is caught by the point's current read)
        if field.switched_on() or field.output_enabled():
            return
        field.set_current(0.0)
        self.clock.sleep(RAMP_STEP_S)
        field.set_output(True)
        self.clock.sleep(RAMP_STEP_S)

    def _sourcemeter(self) -> SourceMeter:
        sm = self.bench.sourcemeter
        if sm is None:
            raise LimitError("a dc current was requested but the bench has no sourcemeter")
        return sm

    def _staircase(self, start: float, target: float, setter: Callable[[float], None],
                   readback: Callable[[], float] | None, rate: float, full_scale: float,
                   interruptible: bool, label: str, progress: Callable[[float], None] | None = None) -> None:
        """Step from ``start`` to ``target`` in equal steps of at most rate * margin * RAMP_STEP_S.

        Each step is read back (``readback``), and the next is sent only when
        |step| / (margin * rate) has passed since the previous read-back: the
        instrument took the previous setpoint before that moment and takes the
        next after it, so no interval *at the instrument* is shorter, whatever
        the transport's delays. The wait after the last step lets the next
        ramp start at once.
        """
        max_step = rate * RAMP_MARGIN * RAMP_STEP_S
        span = target - start
        n = max(1, math.ceil(abs(span) / max_step)) if span else 0
        step = abs(span) / n if n else 0.0
        wait = step / (rate * RAMP_MARGIN) if n else 0.0
        for k in range(1, n + 1):
            if interruptible and self.should_stop():
                log.info("%s ramp interrupted at %.4g A", label, start + span * (k - 1) / n)
                return
            value = target if k == n else start + span * k / n
            confirmed = self._confirmed_at.get(label)
            if confirmed is not None:
                left = wait - (self.clock.now() - confirmed)
                if left > 0:
                    self.clock.sleep(left)
            self.commanded[label] = f"setpoint {value:.4g} A (ramping to {target:.4g} A)"
            setter(value)
            if readback is not None:
                got = float(readback())
                if not _agrees(got, value, full_scale):
                    raise ReadbackError(f"{label} setpoint reads {got:.6g} A after setting {value:.6g} A")
            self._confirmed_at[label] = self.clock.now()
            if progress is not None:
                progress(value)
            if not interruptible and k % 20 == 0:
                self.on_status(f"ramping {label}: {value:.3g} A")
        if n:
            self.clock.sleep(wait)


def _agrees(got: float, wanted: float, full_scale: float) -> bool:
    return abs(got - wanted) <= READBACK_REL * abs(wanted) + READBACK_FULL_SCALE * full_scale


def _dc_rate(limits: Limits) -> float:
    """dc bias ramp rate (A/s): the full dc range in ~10 steps of RAMP_STEP_S (thermal and inductive sanity)."""
    return max(limits.max_dc_current_A, 1e-9) / (10 * RAMP_STEP_S)


def _following(field: FieldControl) -> Callable[[float], None]:
    """The supply's set_current, also telling the coil calibration each setpoint (a hysteretic one follows history)."""
    calibration = field.calibration

    def set_current(amps: float) -> None:
        field.set_current(amps)
        calibration.follow(amps)

    return set_current


def _setpoint_reader(field: FieldControl) -> Callable[[], float]:
    return field.current_setpoint


def _setpoint(field: FieldControl) -> float:
    """The supply's programmed current (the ramp's true starting point): the last step's read-back when known."""
    return float(field.known_setpoint())


def _output_on(field: FieldControl) -> bool:
    """The supply output state; a trip raises SupplyTrip."""
    field.check_tripped()
    return bool(field.output_enabled())


def _describe(role: Role, fallback: str) -> str:
    # tolerant of a bare test double standing in for a role (tests/procedures/test_safety.py)
    try:
        name = getattr(role, "role", fallback)
        instrument = getattr(role, "instrument", type(role).__name__)
        address = getattr(role, "address", "?")
    except Exception:  # noqa: BLE001 - a role that cannot even name itself is still named by its place
        return fallback
    return f"{name} ({instrument} at {address})"


def _check_finite(value: float, what: str, unit: str, where: str) -> None:
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LimitError(f"{_at(where)}{what} must be a finite number of {unit}, got {value!r}")


def _at(where: str) -> str:
    return f"{where}: " if where else ""
