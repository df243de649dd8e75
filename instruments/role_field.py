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
"""

from __future__ import annotations

import math
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


class GaussmeterRole(RoleSettings, DriverRole):
    """A LakeShore gaussmeter reading mu0*H in mT (part of the field role)."""

    def __init__(self, driver: Any, address: str, role: str = "field", instrument: str | None = None) -> None:
        super().__init__(role, driver, address, instrument)
        self._unit: str | None = None

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

    def field_mT(self) -> float:
        """Return the measured field mu0*H (mT); over range is an InstrumentReplyError."""
        factor = MT_PER_UNIT[self.unit()]
        reply = self._io("field query", lambda: self.driver.field)
        value = self._as_float_or_nan("field query", reply)
        if math.isnan(value):
            raise self._error(InstrumentReplyError, "field query: gaussmeter over range")
        return value * factor

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
        self._setpoint_read = None
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
        """Return the measured output current (A); raises SupplyTrip if the output dropped by itself."""
        value = self._query_float("current query", lambda: self.driver.current)
        if self._output_expected:
            self.check_tripped()
        return value

    def check_tripped(self) -> None:
        """Raise SupplyTrip if the output is off although this wrapper switched it on."""
        if self._output_expected and not self.output_enabled():
            self._output_expected = False
            self._setpoint_read = None  # a tripped supply may have reset its setpoint: read it again
            raise self._error(SupplyTrip, "output switched off by the supply (trip): magnet current lost")

    def set_output(self, enabled: bool) -> None:
        """Switch the supply output on or off."""
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
        """Return the gaussmeter field (mT) or, without one, the calibrated field of the measured current."""
        if self.gaussmeter is not None:
            return self.gaussmeter.field_mT()
        return self.calibration.field_for_current(self.current())

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
        self._setpoint_read = None  # a new link: read the supply again before trusting a value
        super().reconnect()

    def close(self) -> None:
        self._setpoint_read = None
        if self.gaussmeter is not None:
            self.gaussmeter.close()
        super().close()
