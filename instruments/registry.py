"""The drivers a bench file may name, by role, and how to build their role wrappers.

Each entry says which role the driver serves, where its pymeasure (or stfmr)
class lives (imported only when a bench is opened), the model name of its
simulator in :mod:`stfmr.instruments.sim`; ``ROLE_SETTINGS`` lists the settings
each role's table accepts, with their defaults. ``bench.py`` validates bench files against this table and
``open_role`` turns one role's configuration into a connected wrapper.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

#: settings every role table accepts
COMMON_KEYS: dict[str, Any] = {"driver": None, "resource": None, "timeout_ms": 5000}

#: role name -> settings (with defaults; None = required or optional without default)
ROLE_SETTINGS: dict[str, dict[str, Any]] = {
    "rf": {"modulation": "pulse", "modulation_rate_Hz": 1000.0},
    "detector": {"time_constant_s": 0.1, "sensitivity_V": None, "filter_slope_dB": 12,
                 "phase_deg": None, "line_frequency_Hz": 50.0},
    "field": {"mT_per_A": None, "offset_mT": 0.0, "calibration_file": None, "compliance_V": 20.0,
              "gaussmeter": None},
    "rotator": {"axis": 1, "home_type": 1},
    "sourcemeter": {"compliance_V": 10.0, "nplc": 1.0},
}

ROLES: tuple[str, ...] = ("rf", "detector", "field", "rotator", "sourcemeter")
REQUIRED_ROLES: tuple[str, ...] = ("rf", "detector", "field")


@dataclass(frozen=True)
class DriverSpec:
    """One supported driver."""

    name: str  #: name used in bench files (and the simulator's model name)
    role: str  #: "rf", "detector", "field", "gaussmeter", "rotator", "sourcemeter"
    driver_path: str  #: "module:Class" of the pymeasure-style driver
    wrapper_path: str  #: "module:Class" of the role wrapper
    own_terminations: bool = False  #: the driver passes read/write_termination itself
    sim_model: str = ""  #: simulator model in stfmr.instruments.sim.catalog ("" = same as name)

    @property
    def model(self) -> str:
        """Return the simulator model that speaks this driver's command set."""
        return self.sim_model or self.name

    def driver_class(self) -> type:
        return _load(self.driver_path)

    def wrapper_class(self) -> type:
        return _load(self.wrapper_path)


def _load(path: str) -> type:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


_PM = "pymeasure.instruments"
_ST = "stfmr.instruments"

DRIVERS: dict[str, DriverSpec] = {
    spec.name: spec
    for spec in [
        DriverSpec("Agilent8257D", "rf", f"{_PM}.agilent:Agilent8257D", f"{_ST}.role_rf:Agilent8257DRf"),
        DriverSpec("AnritsuMG3692C", "rf", f"{_PM}.anritsu:AnritsuMG3692C", f"{_ST}.role_rf:AnritsuMG3692CRf"),
        DriverSpec("SMB100A", "rf", f"{_ST}.drivers.rohde_schwarz_smb100a:RohdeSchwarzSMB100A",
                   f"{_ST}.role_rf:SMB100ARf", own_terminations=True),
        DriverSpec("SMF100A", "rf", f"{_ST}.drivers.rohde_schwarz_smb100a:RohdeSchwarzSMF100A",
                   f"{_ST}.role_rf:SMB100ARf", own_terminations=True, sim_model="SMB100A"),
        DriverSpec("SR830", "detector", f"{_PM}.srs:SR830", f"{_ST}.role_detector:SR830Detector"),
        DriverSpec("SR860", "detector", f"{_PM}.srs:SR860", f"{_ST}.role_detector:SR860Detector"),
        DriverSpec("Keithley2182", "detector", f"{_PM}.keithley:Keithley2182",
                   f"{_ST}.role_detector:Keithley2182Detector"),
        DriverSpec("KepcoBOP3612", "field", f"{_PM}.kepco:KepcoBOP3612", f"{_ST}.role_field:KepcoFieldControl",
                   own_terminations=True),
        DriverSpec("LakeShore421", "gaussmeter", f"{_PM}.lakeshore:LakeShore421", f"{_ST}.role_field:GaussmeterRole",
                   own_terminations=True),
        DriverSpec("LakeShore425", "gaussmeter", f"{_PM}.lakeshore:LakeShore425", f"{_ST}.role_field:GaussmeterRole"),
        DriverSpec("ESP300", "rotator", f"{_PM}.newport:ESP300", f"{_ST}.role_rotator:ESP300Rotator"),
        DriverSpec("Keithley2400", "sourcemeter", f"{_PM}.keithley:Keithley2400",
                   f"{_ST}.role_sourcemeter:Keithley2400SourceMeter"),
        DriverSpec("Keithley2450", "sourcemeter", f"{_PM}.keithley:Keithley2450",
                   f"{_ST}.role_sourcemeter:Keithley2450SourceMeter"),
    ]
}

#: the simulated bench's default driver per role (issue 4)
DEFAULT_SIM_DRIVERS: dict[str, str] = {
    "rf": "Agilent8257D",
    "detector": "SR830",
    "field": "KepcoBOP3612",
    "gaussmeter": "LakeShore421",
    "rotator": "ESP300",
    "sourcemeter": "Keithley2400",
}


def drivers_for(role: str) -> list[str]:
    """Return the driver names that can serve role."""
    return [name for name, spec in DRIVERS.items() if spec.role == role]
