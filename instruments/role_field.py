"""FieldControl role: Kepco BOP 36-12 in current mode, coil calibration, optional gaussmeter.

The supply is programmed in amperes; the coil calibration
(:mod:`stfmr.instruments.calibration`) maps mT <-> A. With a gaussmeter the
measured field comes from it (LakeShore 421 or 425, converted from gauss,
tesla, oersted or A/m to mu0*H in mT); without one it is the calibrated field
of the measured current. Ramping and limits are the safety layer's job.

Commands (what the simulators must speak):

- KepcoBOP3612: ``FUNCtion:MODE CURR`` and ``VOLTage <V>`` (compliance) at open,
  ``CURRent <A>``, ``CURRent?``, ``MEASure:CURRent?``, ``OUTPut 0|1``, ``OUTPut?``, ``*IDN?``.
  A supply that reports its output off while this wrapper left it on has tripped:
  :class:`SupplyTrip`.
- LakeShore421: ``UNIT?``, ``FIELD?`` (``OL`` when over range), ``FIELDM?``, ``*IDN?``.
- LakeShore425: ``UNIT?``, ``RDGFIELD?``, ``*IDN?``.

What a measured point costs (see :class:`LiveFollower`): the field read (``FIELD?``,
or ``MEASure:CURRent?`` without a gaussmeter) is also the trip check and, on the 421,
the check of the cached multiplier. A reading that agrees with the field a live
supply gives at the read-back setpoint, judged from the last reading after which
the output was read ON, needs no other query above 20 mT; any other reading is
followed by ``OUTPut?`` (and on the 421 by ``FIELDM?``, with ``UNIT?`` when it
disagrees), as every reading was before. With a gaussmeter a point's current is
the read-back setpoint (:meth:`KepcoFieldControl.point_current`): no supply query.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stfmr.analysis.constants import MU0
from stfmr.analysis.toml_schema import Table
from stfmr.instruments.calibration import CoilCalibration, LinearCoilCalibration, TableCoilCalibration
from stfmr.instruments.errors import InstrumentReplyError, SupplyTrip
from stfmr.instruments.role_base import DriverRole, RoleArgumentError, check_finite
from stfmr.instruments.role_settings import RoleSettings

#: mu0*H in mT per unit of each gaussmeter unit
MT_PER_UNIT: dict[str, float] = {"G": 0.1, "T": 1000.0, "Oe": 0.1, "A/m": MU0 * 1e3}

#: a trip is told from a live supply only where the expected reading is this many tolerances from zero
COLLAPSE_MARGIN = 4.0


@dataclass(frozen=True)
class FollowTolerance:
    """How far a live supply's reading may move from the prediction of the reference reading.

    tolerance = slope * |change of the expected value since the reference|
    (the coil calibration's scale error) + fraction * |prediction| (its nonlinearity,
    probe drift) + floor (resolution and noise). ``minimum``: the smallest |prediction|
    at which a collapsed reading (a trip: the coil current decays to zero, the field
    to the yoke's remanence) cannot agree.
    """

    slope: float
    fraction: float
    floor: float
    minimum: float


#: the gaussmeter field (mT): 0.1 mT resolution on the 3 kG range; an iron yoke keeps a few mT when the supply trips
FIELD_FOLLOW = FollowTolerance(slope=0.02, fraction=0.005, floor=0.2, minimum=20.0)
#: the measured supply current (A): the BOP's readback noise and offset; a tripped coil's current decays to 0 A
CURRENT_FOLLOW = FollowTolerance(slope=0.02, fraction=0.005, floor=2e-3, minimum=0.0)


class LiveFollower:
    """Tells a reading of a live supply from one of a tripped supply, without asking the supply.

    The reference is a reading after which the supply's output was read ON, with
    the value the coil calibration expected for the setpoint then (mT, or A for the
    current itself). A later reading *agrees* when it is within the tolerance of
    ``reference reading + (expected now - expected then)``. Agreement is judged only
    where that prediction is COLLAPSE_MARGIN tolerances from zero (a reading 1000
    times too large or small, a 421 multiplier gone stale, cannot agree), and it
    shows a live supply only where the prediction is also ``minimum`` from zero (a
    collapsed field or current cannot agree). A tripped supply that still agrees has
    moved its field by less than the tolerance: the point is as good as a live one,
    and a later point (or the safe ending, which reads the supply) sees the collapse.
    """

    def __init__(self, tolerance: FollowTolerance) -> None:
        self.tolerance = tolerance
        #: (expected, measured) of the last reading verified live, or None
        self.reference: tuple[float, float] | None = None

    def agrees(self, expected: float | None, measured: float) -> bool | None:
        """Whether ``measured`` is where a live supply puts it; None when that cannot be judged here."""
        if self.reference is None or expected is None:
            return None
        predicted, tol = self._prediction(expected)
        if abs(predicted) < COLLAPSE_MARGIN * tol:
            return None
        return math.isfinite(measured) and abs(measured - predicted) <= tol

    def is_live(self, expected: float | None, measured: float) -> bool:
        """True if ``measured`` agrees and a collapsed (tripped) reading could not have agreed."""
        if expected is None or not self.agrees(expected, measured):
            return False
        return abs(self._prediction(expected)[0]) >= self.tolerance.minimum

    def verified(self, expected: float | None, measured: float) -> None:
        """Make ``measured`` the reference: the output was read ON after it.

        A reading whose setpoint is not known (e.g. a status poll during a ramp) leaves the reference as it is.
        """
        if expected is not None:
            self.reference = (expected, measured)

    def forget(self) -> None:
        self.reference = None

    def _prediction(self, expected: float) -> tuple[float, float]:
        """(predicted reading, tolerance) at ``expected``, from the reference."""
        assert self.reference is not None
        ref_expected, ref_measured = self.reference
        t = self.tolerance
        predicted = ref_measured + (expected - ref_expected)
        return predicted, t.slope * abs(expected - ref_expected) + t.fraction * abs(predicted) + t.floor


class GaussmeterRole(RoleSettings, DriverRole):
    """A LakeShore gaussmeter reading mu0*H in mT (part of the field role)."""

    def __init__(self, driver: Any, address: str, role: str = "field", instrument: str | None = None) -> None:
        super().__init__(role, driver, address, instrument)
        self._unit: str | None = None
        #: the 421's multiplier (k, none, m) as last read with FIELDM?, or None
        self._multiplier: float | None = None

    def apply_settings(self, settings: dict[str, Any]) -> None:
        """Read the display unit once at open, so a gaussmeter in an unknown unit is refused before a sweep."""
        self.unit()

    def unit(self) -> str:
        """Return the display unit ("G", "T", "Oe" or "A/m"), queried once and then cached."""
        if self._unit is None:
            reply = self._io("unit query", lambda: self.driver.unit)
            unit = str(reply).strip()
            if unit not in MT_PER_UNIT:
                raise self._error(InstrumentReplyError, f"unit query: unknown unit {reply!r}")
            self._unit = unit
        return self._unit

    def field_mT(self, judge: Callable[[float], bool | None] | None = None) -> float:
        """Return the measured field mu0*H (mT); over range is an InstrumentReplyError.

        The LakeShore 421 answers ``FIELD?`` scaled by a multiplier that changes with
        its range (auto-range included). Its multiplier is read (``FIELDM?``, right
        after the reading, as pymeasure's ``field`` does) unless ``judge`` accepts the
        reading taken with the cached one (True); ``judge`` must refuse a reading 1000
        times too large or too small, and answer None where it cannot tell. A reading
        it refuses (False) reads the unit again too (changed at the front panel). An
        over-range reply forgets the multiplier.
        """
        if not self._has_multiplier():
            factor = MT_PER_UNIT[self.unit()]
            return self._checked_field(self._io("field query", lambda: self.driver.field)) * factor
        with self.lock:
            unit = self.unit()
            raw = self._checked_field(self._io("field query", lambda: self.driver.field_raw))
            if self._multiplier is not None and judge is not None:
                verdict = judge(raw * self._multiplier * MT_PER_UNIT[unit])
                if verdict:
                    return raw * self._multiplier * MT_PER_UNIT[unit]
                if verdict is False:  # not the expected field: read the unit as well as the multiplier
                    self._unit = None
                    unit = self.unit()
            self._multiplier = self._as_float("field multiplier query",
                                              self._io("field multiplier query", lambda: self.driver.field_multiplier))
            return raw * self._multiplier * MT_PER_UNIT[unit]

    def _has_multiplier(self) -> bool:
        """True for a meter whose field reply needs a multiplier query (the LakeShore 421)."""
        return hasattr(type(self.driver), "field_multiplier")

    def _checked_field(self, reply: Any) -> float:
        """The reply as a number; ``OL`` (pymeasure: NaN or the text) is over range."""
        if isinstance(reply, str) and reply.strip().upper() == "OL":
            reply = math.nan
        value = self._as_float_or_nan("field query", reply)
        if math.isnan(value):
            self._multiplier = None  # the range changes next: read the multiplier again
            raise self._error(InstrumentReplyError, "field query: gaussmeter over range")
        return value

    def reconnect(self) -> None:
        self._unit = self._multiplier = None  # a new link: read the unit and multiplier again
        super().reconnect()

    def _as_float_or_nan(self, what: str, reply: Any) -> float:
        if isinstance(reply, float) and math.isnan(reply):
            return reply
        return self._as_float(what, reply)


class KepcoFieldControl(RoleSettings, DriverRole):
    """Kepco BOP 36-12 (pymeasure ``KepcoBOP3612``) driving the magnet in current mode."""

    MAX_CURRENT_A = 12.0
    MAX_COMPLIANCE_V = 36.0
    #: coil calibration: mT_per_A (+ offset_mT) or calibration_file; compliance (V)
    SETTINGS = {"mT_per_A": None, "offset_mT": 0.0, "calibration_file": None, "compliance_V": 20.0}
    COMPANION = "gaussmeter"

    def __init__(
        self,
        driver: Any,
        address: str,
        calibration: CoilCalibration,
        gaussmeter: GaussmeterRole | None = None,
        role: str = "field",
        instrument: str | None = None,
    ) -> None:
        super().__init__(role, driver, address, instrument)
        self.calibration = calibration
        self.gaussmeter = gaussmeter
        self._output_expected: bool | None = None
        self._compliance_V: float | None = None
        #: the setpoint (A) as read back after this program's last set_current; None until then
        self._setpoint_read: float | None = None
        #: the trip check folded into the field reading (gaussmeter, mT) and into the measured current (A)
        self._field_follow = LiveFollower(FIELD_FOLLOW)
        self._current_follow = LiveFollower(CURRENT_FOLLOW)
        #: without a gaussmeter: the measured current (A) that field_mT() just read, for point_current()
        self._point_amps: float | None = None

    @classmethod
    def read_settings(cls, table: Table, spec: Any, base_dir: Path | None) -> dict[str, Any]:
        """Exactly one of mT_per_A (non-zero) or calibration_file (relative to base_dir); compliance <= 36 V."""
        if ("mT_per_A" in table) == ("calibration_file" in table):
            raise table.fail("mT_per_A", "give exactly one of mT_per_A or calibration_file")
        slope, path = table.number("mT_per_A"), table.file("calibration_file", base_dir)
        if slope == 0:
            raise table.fail("mT_per_A", "must not be zero")
        volts = table.positive("compliance_V")
        if volts > cls.MAX_COMPLIANCE_V:
            raise table.fail("compliance_V",
                             f"the BOP 36-12 supplies at most {cls.MAX_COMPLIANCE_V:g} V, got {volts:g}")
        return {"mT_per_A": slope, "offset_mT": table.number("offset_mT"), "calibration_file": path,
                "compliance_V": volts}

    @classmethod
    def from_config(cls, driver: Any, address: str, settings: dict[str, Any], *, role: str, instrument: str,
                    companion: Any = None) -> KepcoFieldControl:
        """Load the coil calibration of the settings; companion: the gaussmeter wrapper, if any."""
        if settings["calibration_file"] is not None:
            calibration: CoilCalibration = TableCoilCalibration.from_file(settings["calibration_file"])
        else:
            calibration = LinearCoilCalibration(settings["mT_per_A"], settings["offset_mT"])
        return cls(driver, address, calibration, gaussmeter=companion, role=role, instrument=instrument)

    def apply_settings(self, settings: dict[str, Any]) -> None:
        self.configure(settings["compliance_V"])

    def configure(self, compliance_V: float) -> None:
        """Put the supply in current mode with the given voltage compliance (V)."""
        volts = check_finite("compliance_V", compliance_V)
        if not 0 < volts <= self.MAX_COMPLIANCE_V:
            raise RoleArgumentError(f"compliance_V must be within 0..{self.MAX_COMPLIANCE_V:g} V for the BOP 36-12, "
                                    f"got {compliance_V}")

        def apply() -> None:
            self.driver.operating_mode = "CURR"
            self.driver.voltage_setpoint = volts

        self._io("configure current mode", apply, parsing=False)
        self._compliance_V = volts

    def set_current(self, amps: float) -> None:
        """Program the supply current (A) at once; |amps| <= 12 A."""
        value = check_finite("current", amps)
        if abs(value) > self.MAX_CURRENT_A:
            raise RoleArgumentError(f"current {value:g} A exceeds the BOP 36-12 range of +/-12 A")
        self._setpoint_read = self._point_amps = None
        self._io("set current", lambda: setattr(self.driver, "current_setpoint", value), parsing=False)

    def current_setpoint(self) -> float:
        """Return the programmed current (A), read from the supply."""
        self._setpoint_read = None
        value = self._query_float("current setpoint query", lambda: self.driver.current_setpoint)
        self._setpoint_read = value
        return value

    def known_setpoint(self) -> float:
        """The programmed current (A): the last read-back since this program set it, else read now.

        The safety layer reads every ramp step back, so a ramp that starts where
        the last one ended needs no query of its own (one GPIB exchange per point).
        """
        known = self._setpoint_read
        return known if known is not None else self.current_setpoint()

    def switched_on(self) -> bool:
        """True when this program switched the output on and no trip has been seen since (no query)."""
        return bool(self._output_expected)

    def current(self) -> float:
        """Return the measured output current (A); raises SupplyTrip if the output dropped by itself.

        The output state is read (``OUTPut?``) unless the current is one a live supply
        gives at the read-back setpoint (see :class:`LiveFollower`).
        """
        value = self._query_float("current query", lambda: self.driver.current)
        self._confirm_live(self._current_follow, self._setpoint_read, value)  # a live coil carries the setpoint
        return value

    def point_current(self) -> float:
        """The supply current (A) of a measured point; call it right after :meth:`field_mT` for that point.

        Without a gaussmeter: the measured current that field_mT() read (the point's
        field comes from it). With one: the programmed current as the supply read it
        back after the last ramp step (the coil has followed it by the time a point is
        read; the gaussmeter measures the field itself), so a point costs no supply query.
        """
        with self.lock:
            if self.gaussmeter is not None:
                return self.known_setpoint()
            amps, self._point_amps = self._point_amps, None
            return amps if amps is not None else self.current()

    def check_tripped(self) -> None:
        """Raise SupplyTrip if the output is off although this wrapper switched it on."""
        if self._output_expected and not self.output_enabled():
            self._output_expected = False
            self._setpoint_read = None  # a tripped supply may have reset its setpoint: read it again
            self._forget_live()
            raise self._error(SupplyTrip, "output switched off by the supply (trip): magnet current lost")

    def _confirm_live(self, follower: LiveFollower, expected: float | None, measured: float) -> None:
        """After a reading: no query if it is a live supply's, else read the output state (SupplyTrip if off).

        expected: what the read-back setpoint should give (None when it is not known: the output is read).
        """
        with self.lock:
            if not self._output_expected:
                return  # this program did not switch the output on: there is no trip to see
            if follower.is_live(expected, measured):
                return
            self.check_tripped()
            follower.verified(expected, measured)

    def _expected_field(self) -> float | None:
        """The calibrated field (mT) of the read-back setpoint, or None when it is not known."""
        setpoint = self._setpoint_read
        return None if setpoint is None else self.calibration.field_for_current(setpoint)

    def _forget_live(self) -> None:
        self._field_follow.forget()
        self._current_follow.forget()
        self._point_amps = None

    def set_output(self, enabled: bool) -> None:
        """Switch the supply output on or off."""
        self._forget_live()
        self._io("set output", lambda: setattr(self.driver, "output_enabled", bool(enabled)), parsing=False)
        self._output_expected = bool(enabled)

    def output_enabled(self) -> bool:
        """Return True if the supply output is on."""
        return self._as_bool("output query", self._io("output query", lambda: self.driver.output_enabled))

    def current_for_field(self, field_mT: float) -> float:
        """Return the current (A) the coil calibration maps to field_mT (mT)."""
        return self.calibration.current_for_field(check_finite("field_mT", field_mT))

    def field_for_current(self, amps: float) -> float:
        """Return the field (mT) the coil calibration maps to amps (A)."""
        return self.calibration.field_for_current(check_finite("current", amps))

    def field_mT(self) -> float:
        """Return the gaussmeter field (mT) or, without one, the calibrated field of the measured current.

        Either reading is also the trip check (SupplyTrip): the output state is read
        only when the reading is not one a live supply gives at the read-back setpoint
        (:class:`LiveFollower`). The 421's multiplier is read again when the reading
        does not agree with that prediction, or the prediction is too near zero to tell.
        """
        if self.gaussmeter is None:
            with self.lock:
                amps = self.current()
                self._point_amps = amps
                return self.calibration.field_for_current(amps)
        with self.lock:
            expected, follow = self._expected_field(), self._field_follow
            value = self.gaussmeter.field_mT(lambda v: follow.agrees(expected, v))
            self._confirm_live(follow, expected, value)
            return value

    def has_gaussmeter(self) -> bool:
        return self.gaussmeter is not None

    def identity(self) -> str:
        """Return the supply's identity (and the gaussmeter's, after ' + ')."""
        ident = super().identity()
        if self.gaussmeter is not None:
            ident += " + " + self.gaussmeter.identity()
        return ident

    def describe(self) -> str:
        out = "ON" if self.output_enabled() else "off"
        text = f"I {self.current():.4g} A (set {self.current_setpoint():.4g} A), output {out}"
        if self.gaussmeter is not None:
            text += f", gaussmeter {self.gaussmeter.field_mT():.4g} mT"
        else:
            text += f", calibrated field {self.field_mT():.4g} mT"
        return text

    def settings(self) -> dict[str, Any]:
        info: dict[str, Any] = {"mode": "current", "compliance_V": self._compliance_V,
                                "calibration": self.calibration.describe()}
        if self.gaussmeter is not None:
            info["gaussmeter"] = {"driver": self.gaussmeter.instrument, "address": self.gaussmeter.address}
        return info

    def reconnect(self) -> None:
        """Reopen the supply's link (the gaussmeter's stays open); what was read before is read again."""
        self._setpoint_read = None  # a new link: read the supply again before trusting a value
        self._forget_live()
        super().reconnect()

    def close(self) -> None:
        self._setpoint_read = None
        self._forget_live()
        if self.gaussmeter is not None:
            self.gaussmeter.close()
        super().close()
