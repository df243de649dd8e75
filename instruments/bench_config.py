"""Bench files: TOML that maps each role to a driver, a VISA resource and settings, plus hard limits.

Validation happens here, completely, before anything is opened: every problem
is a :class:`BenchConfigError` naming the table and key, e.g.
``bench file lab.toml: [detector] time_constant_s: must be a positive number, got -1``.

Format (see examples/benches/lab.toml and sim.toml)::

    [bench]                       # optional
    name = "ST-FMR bench 1"
    # simulated = true            # the resources are simulators (stfmr sim-server --bench-out)

    [rf]
    driver = "Agilent8257D"       # Agilent8257D, AnritsuMG3692C, SMB100A, SMF100A
    resource = "GPIB0::19::INSTR"
    modulation = "pulse"          # off, pulse, am
    modulation_rate_Hz = 1000.0

    [detector]
    driver = "SR830"              # SR830, SR860, Keithley2182
    resource = "GPIB0::8::INSTR"
    time_constant_s = 0.1
    sensitivity_V = 0.001         # optional
    filter_slope_dB = 12          # lock-ins: 6, 12, 18, 24

    [field]
    driver = "KepcoBOP3612"
    resource = "GPIB0::6::INSTR"
    mT_per_A = 25.0               # or calibration_file = "coil.csv" (relative to the bench file)
    compliance_V = 20.0

    [field.gaussmeter]            # optional
    driver = "LakeShore421"       # LakeShore421, LakeShore425
    resource = "ASRL/dev/ttyUSB0::INSTR"

    [rotator]                     # optional
    driver = "ESP300"
    resource = "GPIB0::1::INSTR"
    axis = 1

    [sourcemeter]                 # optional
    driver = "Keithley2400"       # Keithley2400, Keithley2450
    resource = "GPIB0::24::INSTR"
    compliance_V = 10.0

    [limits]                      # all required
    max_field_mT = 300.0
    max_current_A = 12.0
    max_ramp_rate_A_per_s = 1.0
    max_rf_power_dBm = 20.0
    angle_min_deg = -180.0
    angle_max_deg = 360.0
    max_dc_current_A = 0.005

A simulated bench uses resources ``SIM::<role>`` for every role (never mixed
with real ones) and may add a ``[simulation]`` table: ``sample`` (preset name
or sample file), ``seed``, ``faults`` (fault file), ``transport`` ("inprocess"
or "visa").
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stfmr.instruments.registry import (
    COMMON_KEYS,
    DRIVERS,
    REQUIRED_ROLES,
    ROLE_SETTINGS,
    ROLES,
    drivers_for,
)

SIM_PREFIX = "SIM::"
TRANSPORTS: tuple[str, ...] = ("inprocess", "visa")


class BenchConfigError(ValueError):
    """A bench file or bench configuration is invalid; the message names the key."""


@dataclass(frozen=True)
class Limits:
    """Hard limits of the bench, enforced by the safety layer (stfmr.procedures.safety)."""

    max_field_mT: float  #: largest |mu0*H| (mT)
    max_current_A: float  #: largest |supply current| (A)
    max_ramp_rate_A_per_s: float  #: largest |dI/dt| of the magnet supply (A/s)
    max_rf_power_dBm: float  #: largest rf source level (dBm)
    angle_min_deg: float  #: smallest stage angle (deg)
    angle_max_deg: float  #: largest stage angle (deg)
    max_dc_current_A: float  #: largest |dc current| from the sourcemeter (A)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "[limits]") -> Limits:
        """Build from a mapping with exactly the seven keys; errors name the key."""
        names = [f.name for f in cls.__dataclass_fields__.values()]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise BenchConfigError(f"{where} {unknown[0]}: unknown key (allowed: {', '.join(names)})")
        values: dict[str, float] = {}
        for name in names:
            if name not in data:
                raise BenchConfigError(f"{where} {name}: missing (every limit must be given)")
            values[name] = _number(data[name], f"{where} {name}")
        for name in ("max_field_mT", "max_current_A", "max_ramp_rate_A_per_s", "max_dc_current_A"):
            if values[name] <= 0:
                raise BenchConfigError(f"{where} {name}: must be positive, got {values[name]:g}")
        if values["angle_min_deg"] >= values["angle_max_deg"]:
            raise BenchConfigError(
                f"{where} angle_max_deg: must be larger than angle_min_deg "
                f"({values['angle_max_deg']:g} <= {values['angle_min_deg']:g})"
            )
        if values["max_rf_power_dBm"] > 30:
            raise BenchConfigError(
                f"{where} max_rf_power_dBm: {values['max_rf_power_dBm']:g} dBm is above any supported source (30 dBm)"
            )
        if values["max_dc_current_A"] > 1.05:
            raise BenchConfigError(
                f"{where} max_dc_current_A: {values['max_dc_current_A']:g} A is above the sourcemeters' 1.05 A"
            )
        return cls(**values)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class RoleConfig:
    """One role of a bench file, validated, with every default filled in."""

    role: str
    driver: str
    resource: str
    timeout_ms: int
    settings: dict[str, Any] = field(default_factory=dict)
    gaussmeter: RoleConfig | None = None  #: field role only

    @property
    def simulated(self) -> bool:
        return self.resource.startswith(SIM_PREFIX)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"driver": self.driver, "resource": self.resource, "timeout_ms": self.timeout_ms}
        out.update({k: v for k, v in self.settings.items() if v is not None})
        if self.gaussmeter is not None:
            out["gaussmeter"] = self.gaussmeter.to_dict()
        return out


@dataclass(frozen=True)
class SimulationConfig:
    """The [simulation] table of a simulated bench file."""

    sample: str = "type-A"
    seed: int = 0
    faults: str | None = None
    transport: str = "inprocess"


@dataclass(frozen=True)
class BenchConfig:
    """A validated bench: roles, limits, and for a simulated bench its simulation settings."""

    roles: dict[str, RoleConfig]
    limits: Limits
    name: str = "bench"
    simulation: SimulationConfig | None = None
    source: str = "<dict>"
    #: [bench] simulated = true: the VISA resources are simulators (e.g. a bench file
    #: written by ``stfmr sim-server``); files written on this bench say SIMULATED
    declared_simulated: bool = False

    @property
    def simulated(self) -> bool:
        """True if stfmr builds the virtual bench itself (SIM:: resources)."""
        return self.simulation is not None

    @property
    def is_simulation(self) -> bool:
        """True if the instruments are simulated, in-process or behind VISA resources."""
        return self.simulated or self.declared_simulated


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BenchConfigError(f"{where}: must be a number, got {value!r}")
    if not math.isfinite(value):
        raise BenchConfigError(f"{where}: must be finite, got {value!r}")
    return float(value)


def _positive(value: Any, where: str) -> float:
    number = _number(value, where)
    if number <= 0:
        raise BenchConfigError(f"{where}: must be a positive number, got {value!r}")
    return number


def _integer(value: Any, where: str, allowed: range) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        raise BenchConfigError(f"{where}: must be an integer in {allowed.start}..{allowed.stop - 1}, got {value!r}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BenchConfigError(f"{where}: must be a non-empty string, got {value!r}")
    return value.strip()


def _check_settings(role: str, driver: str, s: dict[str, Any], where: str, base_dir: Path | None) -> None:
    """Validate role-specific settings in place (values already defaulted)."""
    if role == "rf":
        if s["modulation"] not in ("off", "pulse", "am"):
            raise BenchConfigError(f"{where} modulation: must be off, pulse or am, got {s['modulation']!r}")
        rate = _number(s["modulation_rate_Hz"], f"{where} modulation_rate_Hz")
        if s["modulation"] != "off" and not 0.1 <= rate <= 1e6:
            raise BenchConfigError(f"{where} modulation_rate_Hz: must be within 0.1 Hz..1 MHz, got {rate:g}")
        s["modulation_rate_Hz"] = rate
    elif role == "detector":
        s["time_constant_s"] = _positive(s["time_constant_s"], f"{where} time_constant_s")
        if s["sensitivity_V"] is not None:
            s["sensitivity_V"] = _positive(s["sensitivity_V"], f"{where} sensitivity_V")
        if s["phase_deg"] is not None:
            s["phase_deg"] = _number(s["phase_deg"], f"{where} phase_deg")
        if s["filter_slope_dB"] not in (6, 12, 18, 24):
            raise BenchConfigError(f"{where} filter_slope_dB: must be 6, 12, 18 or 24, got {s['filter_slope_dB']!r}")
        if s["line_frequency_Hz"] not in (50, 60):
            raise BenchConfigError(f"{where} line_frequency_Hz: must be 50 or 60, got {s['line_frequency_Hz']!r}")
        if driver in ("SR830", "SR860"):
            if s["time_constant_s"] > 30e3:
                raise BenchConfigError(f"{where} time_constant_s: the {driver} goes up to 30000 s, "
                                       f"got {s['time_constant_s']:g}")
            if s["sensitivity_V"] is not None and s["sensitivity_V"] > 1.0:
                raise BenchConfigError(
                    f"{where} sensitivity_V: the {driver} goes up to 1 V, got {s['sensitivity_V']:g}"
                )
        if driver == "Keithley2182":
            if s["sensitivity_V"] is not None and s["sensitivity_V"] > 100.0:
                raise BenchConfigError(f"{where} sensitivity_V: the Keithley2182 ranges go up to 100 V, "
                                       f"got {s['sensitivity_V']:g}")
            if s["phase_deg"] not in (None, 0, 0.0):
                raise BenchConfigError(f"{where} phase_deg: the Keithley2182 has no reference phase")
            if not 0.01 <= s["time_constant_s"] * s["line_frequency_Hz"] <= 60:
                raise BenchConfigError(
                    f"{where} time_constant_s: the Keithley2182 integrates 0.01..60 line cycles, "
                    f"got {s['time_constant_s']:g} s"
                )
    elif role == "field":
        has_slope = s["mT_per_A"] is not None
        has_file = s["calibration_file"] is not None
        if has_slope == has_file:
            raise BenchConfigError(f"{where} mT_per_A: give exactly one of mT_per_A or calibration_file")
        if has_slope:
            slope = _number(s["mT_per_A"], f"{where} mT_per_A")
            if slope == 0:
                raise BenchConfigError(f"{where} mT_per_A: must not be zero")
            s["mT_per_A"] = slope
        else:
            path = Path(_string(s["calibration_file"], f"{where} calibration_file"))
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            if not path.is_file():
                raise BenchConfigError(f"{where} calibration_file: no such file {path}")
            s["calibration_file"] = str(path)
        s["offset_mT"] = _number(s["offset_mT"], f"{where} offset_mT")
        volts = _positive(s["compliance_V"], f"{where} compliance_V")
        if volts > 36:
            raise BenchConfigError(f"{where} compliance_V: the BOP 36-12 supplies at most 36 V, got {volts:g}")
        s["compliance_V"] = volts
    elif role == "rotator":
        s["axis"] = _integer(s["axis"], f"{where} axis", range(1, 4))
        s["home_type"] = _integer(s["home_type"], f"{where} home_type", range(0, 7))
    elif role == "sourcemeter":
        volts = _positive(s["compliance_V"], f"{where} compliance_V")
        if volts > 210:
            raise BenchConfigError(f"{where} compliance_V: at most 210 V, got {volts:g}")
        s["compliance_V"] = volts
        nplc = _number(s["nplc"], f"{where} nplc")
        if not 0.01 <= nplc <= 10:
            raise BenchConfigError(f"{where} nplc: must be within 0.01..10, got {nplc:g}")
        s["nplc"] = nplc


def _role_config(role: str, table: Any, where: str, base_dir: Path | None, kind: str | None = None) -> RoleConfig:
    kind = kind or role
    if not isinstance(table, dict):
        raise BenchConfigError(f"{where}: must be a table")
    allowed = dict(COMMON_KEYS)
    allowed.update(ROLE_SETTINGS.get(kind, {}))
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise BenchConfigError(f"{where} {unknown[0]}: unknown key (allowed: {', '.join(allowed)})")
    if "driver" not in table:
        raise BenchConfigError(f"{where} driver: missing (one of {', '.join(drivers_for(kind))})")
    driver = _string(table["driver"], f"{where} driver")
    spec = DRIVERS.get(driver)
    if spec is None or spec.role != kind:
        raise BenchConfigError(
            f"{where} driver: {driver!r} is not a supported {kind} driver (supported: {', '.join(drivers_for(kind))})"
        )
    if "resource" not in table:
        raise BenchConfigError(f"{where} resource: missing (a VISA resource such as GPIB0::8::INSTR, or SIM::{role})")
    resource = _string(table["resource"], f"{where} resource")
    timeout = table.get("timeout_ms", COMMON_KEYS["timeout_ms"])
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        raise BenchConfigError(f"{where} timeout_ms: must be a positive integer, got {timeout!r}")
    settings = {k: table.get(k, default) for k, default in ROLE_SETTINGS.get(kind, {}).items()}
    gauss = None
    if kind == "field":
        g = settings.pop("gaussmeter")
        if g is not None:
            gauss = _role_config(role, g, f"[{role}.gaussmeter]", base_dir, kind="gaussmeter")
    _check_settings(kind, driver, settings, where, base_dir)
    return RoleConfig(role=role, driver=driver, resource=resource, timeout_ms=timeout, settings=settings,
                      gaussmeter=gauss)


def parse_bench_config(data: dict[str, Any], source: str = "<dict>", base_dir: Path | None = None) -> BenchConfig:
    """Validate a bench mapping (as read from TOML) and return the BenchConfig."""
    prefix = f"bench file {source}: " if source != "<dict>" else ""
    try:
        return _parse(data, source, base_dir)
    except BenchConfigError as exc:
        raise BenchConfigError(prefix + str(exc)) from None


def _parse(data: dict[str, Any], source: str, base_dir: Path | None) -> BenchConfig:
    top = set(ROLES) | {"limits", "bench", "simulation"}
    unknown = sorted(set(data) - top)
    if unknown:
        raise BenchConfigError(f"[{unknown[0]}]: unknown table (allowed: {', '.join(sorted(top))})")
    name = "bench"
    declared_simulated = False
    if "bench" in data:
        meta = data["bench"]
        if not isinstance(meta, dict) or set(meta) - {"name", "simulated"}:
            bad = sorted(set(meta) - {"name", "simulated"}) if isinstance(meta, dict) else ["(not a table)"]
            raise BenchConfigError(f"[bench] {bad[0]}: unknown key (allowed: name, simulated)")
        name = _string(meta.get("name", "bench"), "[bench] name")
        declared_simulated = meta.get("simulated", False)
        if not isinstance(declared_simulated, bool):
            raise BenchConfigError(f"[bench] simulated: must be true or false, got {declared_simulated!r}")
    for role in REQUIRED_ROLES:
        if role not in data:
            raise BenchConfigError(f"[{role}]: missing table (required roles: {', '.join(REQUIRED_ROLES)})")
    if "limits" not in data:
        raise BenchConfigError("[limits]: missing table")
    if not isinstance(data["limits"], dict):
        raise BenchConfigError("[limits]: must be a table")
    roles = {r: _role_config(r, data[r], f"[{r}]", base_dir) for r in ROLES if r in data}
    limits = Limits.from_dict(data["limits"])

    resources = [(f"[{r}] resource", rc.resource) for r, rc in roles.items()]
    resources += [(f"[{r}.gaussmeter] resource", rc.gaussmeter.resource) for r, rc in roles.items() if rc.gaussmeter]
    simulated = [key for key, res in resources if res.startswith(SIM_PREFIX)]
    if simulated and len(simulated) != len(resources):
        real = next(key for key, res in resources if not res.startswith(SIM_PREFIX))
        raise BenchConfigError(
            f"{real}: a bench is either all simulated (SIM::...) or all real; "
            f"{simulated[0]} is simulated but this one is not"
        )
    seen: dict[str, str] = {}
    for key, res in resources:
        if res in seen and not res.startswith(SIM_PREFIX):
            raise BenchConfigError(f"{key}: {res} is already used by {seen[res]}")
        seen[res] = key

    simulation = None
    if "simulation" in data:
        if not simulated:
            raise BenchConfigError("[simulation]: only allowed when every resource is SIM::<role>")
        simulation = _simulation(data["simulation"], base_dir)
    elif simulated:
        simulation = SimulationConfig()
    if "max_current_A" in data["limits"] and "field" in roles:
        if limits.max_current_A > 12.0 and roles["field"].driver == "KepcoBOP3612":
            raise BenchConfigError(
                f"[limits] max_current_A: {limits.max_current_A:g} A is above the KepcoBOP3612's 12 A"
            )
    return BenchConfig(roles=roles, limits=limits, name=name, simulation=simulation, source=source,
                       declared_simulated=declared_simulated)


def _simulation(table: Any, base_dir: Path | None) -> SimulationConfig:
    where = "[simulation]"
    if not isinstance(table, dict):
        raise BenchConfigError(f"{where}: must be a table")
    allowed = ("sample", "seed", "faults", "transport")
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise BenchConfigError(f"{where} {unknown[0]}: unknown key (allowed: {', '.join(allowed)})")
    sample = _string(table.get("sample", "type-A"), f"{where} sample")
    if sample.endswith(".toml") and base_dir is not None and not Path(sample).is_absolute():
        sample = str(base_dir / sample)
    seed = table.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise BenchConfigError(f"{where} seed: must be a non-negative integer, got {seed!r}")
    faults = table.get("faults")
    if faults is not None:
        faults_path = Path(_string(faults, f"{where} faults"))
        if not faults_path.is_absolute() and base_dir is not None:
            faults_path = base_dir / faults_path
        if not faults_path.is_file():
            raise BenchConfigError(f"{where} faults: no such file {faults_path}")
        faults = str(faults_path)
    transport = table.get("transport", "inprocess")
    if transport not in TRANSPORTS:
        raise BenchConfigError(f"{where} transport: must be inprocess or visa, got {transport!r}")
    return SimulationConfig(sample=sample, seed=seed, faults=faults, transport=transport)


def load_bench_config(path: str | Path) -> BenchConfig:
    """Read and validate a bench file; BenchConfigError names the key, OSError a missing file."""
    path = Path(path)
    with path.open("rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise BenchConfigError(f"bench file {path}: not valid TOML: {exc}") from None
    return parse_bench_config(data, source=str(path), base_dir=path.parent)
