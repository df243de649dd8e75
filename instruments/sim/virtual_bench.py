"""The default virtual bench, described once, and how a simulated bench is opened.

- :data:`DEFAULT_SIM_DRIVERS`, :data:`DEFAULT_LIMITS`, :func:`default_tables`:
  the default simulated bench (Agilent8257D, SR830, KepcoBOP3612 with a
  LakeShore421, ESP300, Keithley2400; every other setting is the role
  wrapper's default). ``examples/benches/sim.toml`` spells the same bench out
  for users (a test keeps the two in step); ``stfmr sim-server --bench-out``
  writes it with the served resources.
- :func:`default_simulated_config`, :func:`simulated_config`,
  :func:`open_simulated_bench`: that bench on a preset, sample file or
  VirtualSample, with the *real* pymeasure drivers constructed on the
  simulators' in-process adapters, or over the loopback VISA server
  (``transport="visa"``).
- :func:`simulated_transport`: the transport of any bench file whose resources
  are ``SIM::<role>`` (used by :func:`stfmr.instruments.bench.prepare_transport`).

:mod:`stfmr.instruments.bench` re-exports the three bench functions, so
``from stfmr.instruments.bench import open_simulated_bench`` keeps working.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from stfmr.instruments.bench import Bench, Transport, open_bench
from stfmr.instruments.bench_config import (
    TRANSPORTS,
    BenchConfig,
    BenchConfigError,
    RoleConfig,
    SimulationConfig,
    parse_bench_config,
)
from stfmr.instruments.clock import WallClock
from stfmr.instruments.registry import DRIVERS
from stfmr.instruments.sim.state import MagnetParams

#: the default simulated bench's driver per role (gaussmeter: the field role's companion)
DEFAULT_SIM_DRIVERS: dict[str, str] = {
    "rf": "Agilent8257D",
    "detector": "SR830",
    "field": "KepcoBOP3612",
    "gaussmeter": "LakeShore421",
    "rotator": "ESP300",
    "sourcemeter": "Keithley2400",
}

#: the default simulated bench's [limits]
DEFAULT_LIMITS: dict[str, float] = {
    "max_field_mT": 400.0, "max_current_A": 10.0, "max_ramp_rate_A_per_s": 2.0, "max_rf_power_dBm": 20.0,
    "angle_min_deg": -10.0, "angle_max_deg": 370.0, "max_dc_current_A": 0.01,
}


def default_tables(resource_for: Callable[[str], str | None], mT_per_A: float) -> dict[str, Any]:
    """Return the role tables and [limits] of the default bench, as a bench file holds them.

    resource_for(role) gives each role's resource ("gaussmeter" for the field
    role's companion); None leaves that optional role out. mT_per_A: coil constant.
    """
    tables: dict[str, Any] = {}
    for role, driver in DEFAULT_SIM_DRIVERS.items():
        resource = resource_for(role) if role != "gaussmeter" else None
        if resource is not None:
            tables[role] = {"driver": driver, "resource": resource}
    tables["field"]["mT_per_A"] = float(mT_per_A)
    gauss = resource_for("gaussmeter")
    if gauss is not None:
        tables["field"]["gaussmeter"] = {"driver": DEFAULT_SIM_DRIVERS["gaussmeter"], "resource": gauss}
    tables["limits"] = dict(DEFAULT_LIMITS)
    return tables


def default_simulated_config(
    sample: str = "type-A",
    *,
    seed: int = 0,
    faults: str | None = None,
    transport: str = "inprocess",
    mT_per_A: float = MagnetParams.calibration_mT_per_A,
) -> BenchConfig:
    """Return the default simulated bench (Agilent8257D, SR830, KepcoBOP3612 + LakeShore421, ESP300, Keithley2400)."""
    data = default_tables(lambda role: f"SIM::{role}", mT_per_A)
    data["bench"] = {"name": f"virtual bench ({sample})"}
    data["simulation"] = {"sample": str(sample), "seed": seed, "transport": transport}
    if faults is not None:
        data["simulation"]["faults"] = str(faults)
    return replace(parse_bench_config(data), source="built-in virtual bench")


def simulated_config(
    sample: Any = "type-A", *, faults: Any = None, transport: str = "inprocess", seed: int = 0
) -> tuple[BenchConfig, Any]:
    """Return (default simulated BenchConfig, VirtualBench) for a preset, sample file or VirtualSample."""
    if transport not in TRANSPORTS:
        raise BenchConfigError(f"transport must be inprocess or visa, got {transport!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise BenchConfigError(f"seed must be a non-negative integer, got {seed!r}")
    virtual = make_virtual(sample, faults, seed)
    label = sample if isinstance(sample, (str, Path)) else getattr(sample, "name", "custom sample")
    config = default_simulated_config(
        str(label), seed=seed, transport=transport,
        faults=str(faults) if isinstance(faults, (str, Path)) else None,
        mT_per_A=float(virtual.magnet.calibration_mT_per_A),
    )
    return config, virtual


def open_simulated_bench(
    sample: Any = "type-A",
    *,
    faults: Any = None,
    transport: str = "inprocess",
    seed: int = 0,
) -> Bench:
    """Open the default virtual bench on a preset (or sample file, or VirtualSample).

    faults: None, a FaultPlan, a dict, or a fault TOML file. transport:
    "inprocess" (virtual clock, in-process adapters) or "visa" (loopback
    TCP server reached through pyvisa-py, wall clock).
    """
    config, virtual = simulated_config(sample, faults=faults, transport=transport, seed=seed)
    return open_bench(config, virtual=virtual)


# -- the virtual instruments behind SIM:: resources ------------------------------------


def simulated_transport(config: BenchConfig, virtual: Any = None) -> Transport:
    """Return the transport of a simulated config: in-process adapters, or the loopback VISA server.

    The VirtualBench is built from the config's [simulation] table unless one is given.
    """
    sim = config.simulation or SimulationConfig()
    if virtual is None:
        virtual = make_virtual(sim.sample, sim.faults, sim.seed)
    if sim.transport == "inprocess":
        def adapter_for(driver: str, rc: RoleConfig) -> Any:
            return virtual.adapter(DRIVERS[driver].model)

        return Transport(adapter_for, virtual.clock, virtual=virtual)
    server, resources = _start_server(virtual, config)

    def visa_for(driver: str, rc: RoleConfig) -> str:
        return resources[DRIVERS[driver].model]

    return Transport(visa_for, WallClock(), virtual=virtual, server=server)


def make_virtual(sample: Any, faults: Any, seed: int) -> Any:
    """Return the VirtualBench for a sample (preset, file or VirtualSample) and faults (None, plan, dict, file)."""
    from stfmr.instruments.sim.bench import VirtualBench

    return VirtualBench(_make_sample(sample), faults=_make_faults(faults), seed=seed)


def _make_sample(sample: Any) -> Any:
    from stfmr.instruments.sim.sample import VirtualSample

    if isinstance(sample, VirtualSample):
        return sample
    text = str(sample)
    if text.endswith(".toml") or Path(text).is_file():
        return VirtualSample.from_file(text)
    return VirtualSample.preset(text)


def _make_faults(faults: Any) -> Any:
    if faults is None:
        return None
    from stfmr.instruments.sim.faults import FaultPlan

    if isinstance(faults, FaultPlan):
        return faults
    if isinstance(faults, dict):
        return FaultPlan.from_dict(faults)
    return FaultPlan.from_toml(str(faults))


def _start_server(virtual: Any, config: BenchConfig) -> tuple[Any, dict[str, str]]:
    """Start the loopback server for the models this bench uses; return (server, model -> resource)."""
    from stfmr.instruments.sim import server as sim_server

    models = []
    for rc in config.roles.values():
        models.append(DRIVERS[rc.driver].model)
        if rc.gaussmeter is not None:
            models.append(DRIVERS[rc.gaussmeter.driver].model)
    server = sim_server.start_server(virtual, models)
    return server, dict(server.resources())
