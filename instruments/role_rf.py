"""RfSource role wrappers: Agilent 8257D, Anritsu MG3692C (pymeasure) and R&S SMB100A (ours).

User units at the role boundary: GHz and dBm; the drivers speak Hz and dBm.
Modulation for lock-in detection: "pulse" is an internal on/off square wave at
``rate_Hz`` (50 % duty), "am" internal sine AM at 100 % depth, "off" CW.

Commands each wrapper sends (what the simulators must speak):

- Agilent8257D (pymeasure driver): ``:FREQ``, ``:POW``, ``:OUTPUT ON/OFF``, ``:OUTPUT?``;
  pulse: ``config_pulse_modulation`` (``:SOUR:PULM:STAT ON``, ``:SOUR:PULM:SOUR INT``,
  ``:SOUR:PULM:SOUR:INT SQU``, ``:SOUR:PULM:INT:FREQ``) then ``enable_modulation``
  (``:OUTPUT:MOD ON;`` and the LF-output line); am: ``config_amplitude_modulation``;
  off: ``disable_pulse_modulation``, ``disable_amplitude_modulation``, ``disable_modulation``.
- AnritsuMG3692C (pymeasure driver for frequency, power, output; its modulation is
  not in pymeasure, so this wrapper writes the MG369xC SCPI itself):
  ``:PULM:SOUR INT``, ``:PULS:FREQ <Hz> HZ``, ``:PULM:STAT ON|OFF``,
  ``:AM:INT:FREQ <Hz> HZ``, ``:AM:STAT ON|OFF``.
- RohdeSchwarzSMB100A (stfmr.instruments.drivers): see that module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stfmr.analysis.toml_schema import Table
from stfmr.instruments.role_base import DriverRole, RoleArgumentError, check_finite
from stfmr.instruments.role_settings import RoleSettings
from stfmr.instruments.roles import ModulationMode

MODULATION_MODES: tuple[str, ...] = ("off", "pulse", "am")
#: modulation rates every supported source reaches (Hz)
MODULATION_RATE_HZ: tuple[float, float] = (0.1, 1e6)


def _check_modulation(mode: str, rate_Hz: float) -> float:
    if mode not in MODULATION_MODES:
        raise RoleArgumentError(f"modulation must be one of {', '.join(MODULATION_MODES)}, got {mode!r}")
    rate = check_finite("modulation rate_Hz", rate_Hz)
    if mode != "off" and not MODULATION_RATE_HZ[0] <= rate <= MODULATION_RATE_HZ[1]:
        raise RoleArgumentError(f"modulation rate_Hz must be between 0.1 Hz and 1 MHz for {mode!r}, got {rate_Hz}")
    return rate


class RfRole(RoleSettings, DriverRole):
    """Common part of the rf wrappers: unit conversion and the modulation record."""

    SETTINGS = {"modulation": "pulse", "modulation_rate_Hz": 1000.0}

    def __init__(self, driver: Any, address: str, role: str = "rf", instrument: str | None = None) -> None:
        super().__init__(role, driver, address, instrument)
        self._modulation: tuple[ModulationMode, float] = ("off", 0.0)

    @classmethod
    def read_settings(cls, table: Table, spec: Any, base_dir: Path | None) -> dict[str, Any]:
        """modulation: off, pulse or am; modulation_rate_Hz within 0.1 Hz..1 MHz (unless off)."""
        mode = table.one_of("modulation", MODULATION_MODES)
        rate = table.number("modulation_rate_Hz")
        lo, hi = MODULATION_RATE_HZ
        if mode != "off" and not lo <= rate <= hi:
            raise table.fail("modulation_rate_Hz", f"must be within {lo:g} Hz..{hi / 1e6:g} MHz, got {rate:g}")
        return {"modulation": mode, "modulation_rate_Hz": rate}

    def apply_settings(self, settings: dict[str, Any]) -> None:
        mode = settings["modulation"]
        self.set_modulation(mode, settings["modulation_rate_Hz"] if mode != "off" else 0.0)

    def set_frequency_GHz(self, value: float) -> None:
        """Set the CW frequency (GHz)."""
        hz = check_finite("frequency_GHz", value) * 1e9
        if hz <= 0:
            raise RoleArgumentError(f"frequency_GHz must be positive, got {value}")
        self._io("set frequency", lambda: setattr(self.driver, "frequency", hz), parsing=False)

    def frequency_GHz(self) -> float:
        """Return the CW frequency (GHz) as the instrument reports it."""
        return self._query_float("frequency query", lambda: self.driver.frequency) / 1e9

    def set_power_dBm(self, value: float) -> None:
        """Set the output level (dBm)."""
        dbm = check_finite("power_dBm", value)
        self._io("set power", lambda: setattr(self.driver, "power", dbm), parsing=False)

    def power_dBm(self) -> float:
        """Return the output level (dBm)."""
        return self._query_float("power query", lambda: self.driver.power)

    def modulation(self) -> tuple[ModulationMode, float]:
        """Return (mode, rate_Hz) last set through this wrapper."""
        return self._modulation

    def set_modulation(self, mode: ModulationMode, rate_Hz: float = 0.0) -> None:
        """Select "off", "pulse" (on/off square, 50 % duty) or "am" (sine, 100 %) at rate_Hz."""
        rate = _check_modulation(mode, rate_Hz)
        self._io(f"set modulation {mode}", lambda: self._apply_modulation(mode, rate), parsing=False)
        self._modulation = (mode, rate if mode != "off" else 0.0)

    def _apply_modulation(self, mode: str, rate: float) -> None:
        raise NotImplementedError  # each instrument has its own command set

    def set_output(self, enabled: bool) -> None:
        """Switch the rf output on or off."""
        raise NotImplementedError  # each instrument has its own command

    def output_enabled(self) -> bool:
        """Return True if the rf output is on."""
        raise NotImplementedError  # each instrument has its own query

    def describe(self) -> str:
        state = "ON" if self.output_enabled() else "off"
        mode, rate = self._modulation
        mod = "CW" if mode == "off" else f"{mode} {rate:g} Hz"
        return f"{self.frequency_GHz():.6g} GHz, {self.power_dBm():.2f} dBm, output {state}, {mod}"

    def settings(self) -> dict[str, Any]:
        mode, rate = self._modulation
        return {"modulation": mode, "modulation_rate_Hz": rate}


class Agilent8257DRf(RfRole):
    """Agilent/Keysight 8257D (pymeasure ``Agilent8257D``)."""

    def set_output(self, enabled: bool) -> None:
        """Switch the rf output on or off."""
        self._io("set output", self.driver.enable if enabled else self.driver.disable, parsing=False)

    def output_enabled(self) -> bool:
        """Return True if the rf output is on."""
        return self._as_bool("output query", self._io("output query", lambda: self.driver.is_enabled))

    def _apply_modulation(self, mode: str, rate: float) -> None:
        d = self.driver
        if mode == "off":
            d.disable_pulse_modulation()
            d.disable_amplitude_modulation()
            d.disable_modulation()
        elif mode == "pulse":
            d.disable_amplitude_modulation()
            d.config_pulse_modulation(frequency=rate, input="square")
            d.enable_modulation()
        else:
            d.disable_pulse_modulation()
            d.config_amplitude_modulation(frequency=rate, depth=100.0, shape="sine")
            d.enable_modulation()


class AnritsuMG3692CRf(RfRole):
    """Anritsu MG3692C (pymeasure ``AnritsuMG3692C``; modulation via MG369xC SCPI)."""

    def set_output(self, enabled: bool) -> None:
        """Switch the rf output on or off."""
        self._io("set output", lambda: setattr(self.driver, "output", bool(enabled)), parsing=False)

    def output_enabled(self) -> bool:
        """Return True if the rf output is on."""
        return self._io("output query", lambda: self.driver.output)

    def _apply_modulation(self, mode: str, rate: float) -> None:
        w = self.driver.write
        if mode == "off":
            w(":PULM:STAT OFF")
            w(":AM:STAT OFF")
        elif mode == "pulse":
            w(":AM:STAT OFF")
            w(":PULM:SOUR INT")
            w(f":PULS:FREQ {rate:g} HZ")
            w(":PULM:STAT ON")
        else:
            w(":PULM:STAT OFF")
            w(f":AM:INT:FREQ {rate:g} HZ")
            w(":AM:STAT ON")


class SMB100ARf(RfRole):
    """Rohde & Schwarz SMB100A/SMF100A (stfmr's own ``RohdeSchwarzSMB100A``)."""

    def set_output(self, enabled: bool) -> None:
        """Switch the rf output on or off."""
        self._io("set output", lambda: setattr(self.driver, "output_enabled", bool(enabled)), parsing=False)

    def output_enabled(self) -> bool:
        """Return True if the rf output is on."""
        return self._as_bool("output query", self._io("output query", lambda: self.driver.output_enabled))

    def _apply_modulation(self, mode: str, rate: float) -> None:
        if mode == "off":
            self.driver.disable_modulation()
        elif mode == "pulse":
            self.driver.configure_pulse_modulation(rate)
        else:
            self.driver.configure_amplitude_modulation(rate, 100.0)
