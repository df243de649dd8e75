"""The drivers a bench file may name, by role: one line per driver.

Each entry says which role the driver serves, where its pymeasure (or stfmr)
class and its role wrapper live (both imported only when needed), and the model
name of its simulator in :mod:`stfmr.instruments.sim`. Everything else about a
driver lives in its wrapper (:class:`~stfmr.instruments.role_settings.RoleSettings`):
the settings its role table takes, their checks, how it is built and configured.
``bench_config`` validates bench files and ``bench.open_role`` opens roles
through those hooks, so a new instrument is one wrapper plus one line here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stfmr.instruments.role_settings import RoleSettings

#: keys every role table takes (defaults; None: required), besides its wrapper's SETTINGS
COMMON_KEYS: dict[str, Any] = {"driver": None, "resource": None, "timeout_ms": 5000}

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

    def wrapper_class(self) -> type[RoleSettings]:
        return _load(self.wrapper_path)


def _load(path: str) -> Any:
    """Return the class at "module:Class", importing the module."""
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

def drivers_for(role: str) -> list[str]:
    """Return the driver names that can serve role."""
    return [name for name, spec in DRIVERS.items() if spec.role == role]
