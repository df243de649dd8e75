"""SourceMeter role: Keithley 2400 and 2450 sourcing a dc current and measuring voltage.

Commands (what the simulators must speak):

- Keithley2400: ``:FORMAT:ELEMENTS ...`` (driver init), ``:SOURCE:FUNCTION CURR``,
  ``:SENSE:VOLTAGE:PROTECTION <V>`` (compliance) at open; ``:SOURCE:CURRENT <A>``,
  ``:SOURCE:CURRENT?``, ``OUTPUT 0|1``, ``OUTPUT?``, ``:MEASURE:VOLTAGE?``
  (reply: V, I, R, time, status), ``*IDN?``.
- Keithley2450: ``:SOUR:FUNC CURR``, ``:SOUR:CURR:VLIM <V>``,
  ``:SENS:FUNC 'VOLT';:SENS:VOLT:NPLC <n>;``, ``:SENS:VOLT:RANG:AUTO 1;``, ``SYST:ERR?``
  at open; ``:SOUR:CURR:LEV <A>``, ``:SOUR:CURR?``, ``OUTPUT ON|OFF``, ``OUTPUT?``,
  ``:READ?``, ``*IDN?``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stfmr.analysis.toml_schema import Table
from stfmr.instruments.role_base import DriverRole, RoleArgumentError, check_finite
from stfmr.instruments.role_settings import RoleSettings


class KeithleySourceMeter(RoleSettings, DriverRole):
    """Common part of the Keithley 2400/2450 wrappers (current source, voltage measure)."""

    MAX_CURRENT_A = 1.05
    MAX_COMPLIANCE_V = 210.0
    NPLC_RANGE = (0.01, 10.0)  #: voltage integration, power-line cycles
    SETTINGS = {"compliance_V": 10.0, "nplc": 1.0}

    def __init__(self, driver: Any, address: str, role: str = "sourcemeter", instrument: str | None = None) -> None:
        super().__init__(role, driver, address, instrument)
        self._compliance_V: float | None = None

    @classmethod
    def read_settings(cls, table: Table, spec: Any, base_dir: Path | None) -> dict[str, Any]:
        """compliance_V within 0..210 V, nplc within 0.01..10."""
        volts = table.positive("compliance_V")
        if volts > cls.MAX_COMPLIANCE_V:
            raise table.fail("compliance_V", f"at most {cls.MAX_COMPLIANCE_V:g} V, got {volts:g}")
        nplc = table.number("nplc")
        lo, hi = cls.NPLC_RANGE
        if not lo <= nplc <= hi:
            raise table.fail("nplc", f"must be within {lo:g}..{hi:g}, got {nplc:g}")
        return {"compliance_V": volts, "nplc": nplc}

    def apply_settings(self, settings: dict[str, Any]) -> None:
        self.configure(settings["compliance_V"], settings["nplc"])

    def configure(self, compliance_V: float, nplc: float = 1.0) -> None:
        """Source current, measure voltage, with the given voltage compliance (V)."""
        volts = check_finite("compliance_V", compliance_V)
        if not 0 < volts <= self.MAX_COMPLIANCE_V:
            raise RoleArgumentError(f"compliance_V must be within 0..{self.MAX_COMPLIANCE_V:g} V, got {compliance_V}")
        nplc = check_finite("nplc", nplc)
        if not self.NPLC_RANGE[0] <= nplc <= self.NPLC_RANGE[1]:
            raise RoleArgumentError(f"nplc must be within {self.NPLC_RANGE[0]:g}..{self.NPLC_RANGE[1]:g}, got {nplc}")
        self._io("configure current source", lambda: self._configure(volts, nplc), parsing=False)
        self._compliance_V = volts

    def _configure(self, volts: float, nplc: float) -> None:
        raise NotImplementedError

    def set_output(self, enabled: bool) -> None:
        """Switch the source output on or off."""
        raise NotImplementedError  # each instrument has its own command

    def set_dc_current(self, amps: float) -> None:
        """Set the source current (A), |amps| <= 1.05 A."""
        value = check_finite("dc current", amps)
        if abs(value) > self.MAX_CURRENT_A:
            raise RoleArgumentError(f"dc current {value:g} A exceeds the sourcemeter range of +/-1.05 A")
        self._io("set dc current", lambda: setattr(self.driver, "source_current", value), parsing=False)

    def dc_current(self) -> float:
        """Return the programmed source current (A)."""
        return self._query_float("source current query", lambda: self.driver.source_current)

    def output_enabled(self) -> bool:
        """Return True if the source output is on."""
        return self._as_bool("output query", self._io("output query", lambda: self.driver.source_enabled))

    def measure_voltage(self) -> float:
        """Return the measured voltage (V)."""
        return self._query_float("voltage query", lambda: self.driver.voltage)

    def measure_resistance(self) -> float:
        """Return V/I (Ohm) at the present source current; refused at zero current."""
        amps = self.dc_current()
        if amps == 0.0:
            raise RoleArgumentError("cannot measure a resistance at zero source current: set a dc current first")
        return self.measure_voltage() / amps

    def describe(self) -> str:
        out = "ON" if self.output_enabled() else "off"
        return f"I_dc {self.dc_current():.4g} A, output {out}, compliance {self._compliance_V} V"

    def settings(self) -> dict[str, Any]:
        return {"mode": "source current, measure voltage", "compliance_V": self._compliance_V}


class Keithley2400SourceMeter(KeithleySourceMeter):
    """Keithley 2400 (pymeasure ``Keithley2400``)."""

    def _configure(self, volts: float, nplc: float) -> None:
        self.driver.source_mode = "current"
        self.driver.compliance_voltage = volts

    def set_output(self, enabled: bool) -> None:
        """Switch the source output on or off."""
        self._io("set output", lambda: setattr(self.driver, "source_enabled", bool(enabled)), parsing=False)


class Keithley2450SourceMeter(KeithleySourceMeter):
    """Keithley 2450 (pymeasure ``Keithley2450``)."""

    def _configure(self, volts: float, nplc: float) -> None:
        self.driver.source_mode = "current"
        self.driver.compliance_voltage = volts
        self.driver.measure_voltage(nplc=nplc, auto_range=True)

    def set_output(self, enabled: bool) -> None:
        """Switch the source output on or off."""
        self._io("set output", self.driver.enable_source if enabled else self.driver.disable_source, parsing=False)
