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

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from stfmr.analysis.toml_schema import TableReader
from stfmr.instruments.registry import COMMON_KEYS, DRIVERS, REQUIRED_ROLES, ROLES, drivers_for

SIM_PREFIX = "SIM::"
TRANSPORTS: tuple[str, ...] = ("inprocess", "visa")


class BenchConfigError(ValueError):
    """A bench file or bench configuration is invalid; the message names the key."""


#: how bench files are read: "[detector] time_constant_s: must be positive, got -1"
READER = TableReader(
    BenchConfigError,
    unknown="{where} {key}: unknown key (allowed: {allowed})",
    missing="{where} {key}: missing{hint}",
)


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
        names = [f.name for f in fields(cls)]
        table = READER.table(data, where)
        table.check_keys(names, required=dict.fromkeys(names, " (every limit must be given)"))
        values = {name: table.number(name) for name in names}
        for name in ("max_field_mT", "max_current_A", "max_ramp_rate_A_per_s", "max_dc_current_A"):
            table.positive(name)
        if values["angle_min_deg"] >= values["angle_max_deg"]:
            raise table.fail("angle_max_deg", "must be larger than angle_min_deg "
                                              f"({values['angle_max_deg']:g} <= {values['angle_min_deg']:g})")
        if values["max_rf_power_dBm"] > 30:
            raise table.fail("max_rf_power_dBm",
                             f"{values['max_rf_power_dBm']:g} dBm is above any supported source (30 dBm)")
        if values["max_dc_current_A"] > 1.05:
            raise table.fail("max_dc_current_A",
                             f"{values['max_dc_current_A']:g} A is above the sourcemeters' 1.05 A")
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


def _role_config(role: str, data: Any, where: str, base_dir: Path | None, kind: str | None = None) -> RoleConfig:
    """Check one role table (kind: the registry role of its drivers, e.g. "gaussmeter" for a companion).

    The driver's wrapper says which settings the table takes and checks them
    (:class:`stfmr.instruments.role_settings.RoleSettings`).
    """
    kind = kind or role
    table = READER.table(data, where)
    supported = ", ".join(drivers_for(kind))
    table.check_keys(required={"driver": f" (one of {supported})"})
    driver = table.string("driver")
    spec = DRIVERS.get(driver)
    if spec is None or spec.role != kind:
        raise table.fail("driver", f"{driver!r} is not a supported {kind} driver (supported: {supported})")
    wrapper = spec.wrapper_class()
    companion = wrapper.COMPANION
    table.check_keys([*COMMON_KEYS, *wrapper.SETTINGS, *([companion] if companion else [])],
                     required={"resource": f" (a VISA resource such as GPIB0::8::INSTR, or SIM::{role})"})
    resource = table.string("resource")
    timeout = table.integer("timeout_ms", COMMON_KEYS["timeout_ms"], minimum=1)
    gauss = None
    if companion is not None and companion in table:
        gauss = _role_config(role, table.get(companion), f"[{role}.{companion}]", base_dir, kind=companion)
    settings = wrapper.read_settings(READER.table(data, where, wrapper.SETTINGS), spec, base_dir)
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
    meta = READER.table(data.get("bench", {}), "[bench]", {"name": "bench", "simulated": False})
    meta.check_keys(("name", "simulated"))
    name = meta.string("name")
    declared_simulated = meta.boolean("simulated")
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
    if "field" in roles:
        field_driver = roles["field"].driver
        supply_max_A = getattr(DRIVERS[field_driver].wrapper_class(), "MAX_CURRENT_A", None)
        if supply_max_A is not None and limits.max_current_A > supply_max_A:
            raise BenchConfigError(
                f"[limits] max_current_A: {limits.max_current_A:g} A is above the {field_driver}'s {supply_max_A:g} A"
            )
    return BenchConfig(roles=roles, limits=limits, name=name, simulation=simulation, source=source,
                       declared_simulated=declared_simulated)


def _simulation(data: Any, base_dir: Path | None) -> SimulationConfig:
    defaults = {f.name: f.default for f in fields(SimulationConfig)}
    table = READER.table(data, "[simulation]", defaults)
    table.check_keys(defaults)
    sample = table.string("sample")
    if sample.endswith(".toml") and base_dir is not None and not Path(sample).is_absolute():
        sample = str(base_dir / sample)
    seed = table.integer("seed", minimum=0)
    faults = table.file("faults", base_dir)
    transport = table.one_of("transport", TRANSPORTS)
    return SimulationConfig(sample=sample, seed=seed, faults=faults, transport=transport)


def load_bench_config(path: str | Path) -> BenchConfig:
    """Read and validate a bench file; BenchConfigError names the key, OSError a missing file."""
    path = Path(path)
    data = READER.load(path, f"bench file {path}")
    return parse_bench_config(data, source=str(path), base_dir=path.parent)
