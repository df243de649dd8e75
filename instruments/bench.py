"""The bench: every role opened from a bench configuration, real or simulated.

- :func:`load_bench_config` / :class:`BenchConfig` / :class:`Limits` /
  :class:`BenchConfigError`: the validated bench file (:mod:`.bench_config`).
- :func:`open_bench`: opens each role through pyvisa with pyvisa-py (``@py``).
  A connection that fails is an :class:`InstrumentConnectionLost` naming role
  and address: never a silent fallback to a simulator. A bench file whose
  resources are ``SIM::<role>`` opens the virtual bench instead, on purpose.
- :func:`open_role`: one role, through its wrapper's hooks
  (:class:`~stfmr.instruments.role_settings.RoleSettings`): nothing here knows a driver.
- :class:`Bench`: the role objects, limits, clock, and :meth:`Bench.header`
  for Results files (it always says whether the bench is SIMULATED).
- :func:`open_simulated_bench`, :func:`simulated_config`,
  :func:`default_simulated_config`: the default virtual bench, re-exported from
  :mod:`stfmr.instruments.sim.virtual_bench` (imported when first used).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stfmr.instruments.bench_config import (
    BenchConfig,
    BenchConfigError,
    Limits,
    RoleConfig,
    SimulationConfig,
    load_bench_config,
    parse_bench_config,
)
from stfmr.instruments.clock import Clock, WallClock
from stfmr.instruments.errors import InstrumentConnectionLost, InstrumentConnectionRefused, refused_problem
from stfmr.instruments.registry import DRIVERS, ROLES
from stfmr.instruments.roles import Detector, FieldControl, ModulationMode, RfSource, Role, Rotator, SourceMeter

__all__ = [
    "Bench",
    "BenchConfig",
    "BenchConfigError",
    "Limits",
    "RoleConfig",
    "SimulationConfig",
    "default_simulated_config",
    "load_bench_config",
    "open_bench",
    "open_role",
    "open_simulated_bench",
    "parse_bench_config",
    "prepare_transport",
    "simulated_config",
    "Transport",
]

#: VISA library for real instruments: pyvisa-py, no vendor VISA needed
VISA_LIBRARY = "@py"

#: returns a pymeasure Adapter (simulated in-process) or a VISA resource string for a driver name
AdapterFactory = Callable[[str, RoleConfig], Any]

log = logging.getLogger(__name__)


class Bench:
    """An opened bench: role objects, limits, clock and a header describing it all."""

    def __init__(
        self,
        config: BenchConfig,
        roles: dict[str, Any],
        clock: Clock,
        virtual: Any = None,
        server: Any = None,
    ) -> None:
        self.config: BenchConfig = config
        self.limits: Limits = config.limits
        self.clock: Clock = clock
        self.virtual = virtual
        #: True for the in-process virtual bench, its loopback server, and bench files
        #: that declare their VISA resources simulated ([bench] simulated = true)
        self.simulated: bool = config.is_simulation
        self._server = server
        self._roles: dict[str, Role] = dict(roles)
        # the wrappers come from the registry by name; tests/typecheck/role_protocols.py
        # proves that each satisfies its role's Protocol
        self.rf: RfSource = roles["rf"]
        self.detector: Detector = roles["detector"]
        self.field: FieldControl = roles["field"]
        self.rotator: Rotator | None = roles.get("rotator")
        self.sourcemeter: SourceMeter | None = roles.get("sourcemeter")

    def roles(self) -> dict[str, Role]:
        """Return role name -> role object for every role present."""
        return dict(self._roles)

    def modulation(self) -> tuple[ModulationMode, float]:
        """Return the rf modulation (mode, rate_Hz) in use ("off" for CW)."""
        return self.rf.modulation()

    def header(self) -> dict[str, Any]:
        """Describe the bench for Results-file headers: drivers, addresses, settings, limits, SIMULATED."""
        roles: dict[str, Any] = {}
        for name, role in self._roles.items():
            rc = self.config.roles[name]
            entry: dict[str, Any] = {"driver": rc.driver, "address": role.address, "settings": rc.to_dict()}
            entry["settings"].pop("driver", None)
            entry["settings"].pop("resource", None)
            entry["applied"] = role.settings()
            roles[name] = entry
        head: dict[str, Any] = {
            "SIMULATED": self.simulated,
            "bench": self.config.name,
            "bench_file": self.config.source,
            "roles": roles,
            "limits": self.limits.to_dict(),
        }
        if self.config.simulation is not None:
            sim = self.config.simulation
            head["simulation"] = {"sample": sim.sample, "seed": sim.seed, "faults": sim.faults,
                                  "transport": sim.transport}
        return head

    def close(self) -> None:
        """Close every connection (and stop the loopback server of a simulated VISA bench).

        Instruments are left as they are: switching rf off and ramping the
        magnet down is the safety layer's job (stfmr.procedures.safety).
        """
        for role in self._roles.values():
            role.close()
        if self._server is not None:
            _stop(self._server)
            self._server = None

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- opening one role -----------------------------------------------------------


def _construct(spec_name: str, rc: RoleConfig, role: str, adapter: Any) -> Any:
    """Construct the driver on adapter (an Adapter, or a VISA resource string)."""
    spec = DRIVERS[spec_name]
    cls = spec.driver_class()
    with warnings.catch_warnings():
        # pymeasure asks users to report whether a device speaks SCPI: noise for stfmr's users
        warnings.filterwarnings("ignore", message="It is not known whether this device support SCPI")
        return _construct_quiet(cls, spec, rc, role, adapter)


def _construct_quiet(cls: type, spec: Any, rc: RoleConfig, role: str, adapter: Any) -> Any:
    if not isinstance(adapter, str):
        return _unpaced(cls(adapter), rc)
    kwargs: dict[str, Any] = {"visa_library": VISA_LIBRARY, "timeout": rc.timeout_ms}
    if adapter.upper().endswith("::SOCKET") and not spec.own_terminations:
        # raw sockets have no end-of-message signal: lines end in "\n"
        kwargs["read_termination"] = "\n"
        kwargs["write_termination"] = "\n"
    try:
        driver = _unpaced(cls(adapter, **kwargs), rc)
    except Exception as exc:  # noqa: BLE001 - any failure to open is a lost connection, typed
        if _refused(exc):
            raise InstrumentConnectionRefused(role, spec.name, adapter, refused_problem(adapter)) from exc
        reason = " ".join(str(exc).split())  # one line: some backends answer in paragraphs
        raise InstrumentConnectionLost(role, spec.name, adapter, f"could not open the connection ({reason})") from exc
    if adapter.upper().endswith("::SOCKET"):
        _no_delay(driver)
    return driver


def _refused(exc: BaseException) -> bool:
    """Whether exc (or an exception it was raised from) is a refused TCP connection."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, ConnectionRefusedError):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def _no_delay(driver: Any) -> None:
    """Switch Nagle's algorithm off on a raw TCP socket.

    A write followed by a query otherwise waits for the peer's delayed ACK
    (~40 ms on Linux) before the query leaves: set-then-read sequences, the
    heart of a field sweep, would run at ~20 per second.
    """
    import socket

    connection: Any = getattr(getattr(driver, "adapter", None), "connection", None)
    try:  # a missing piece on the way (no connection, another session type) is an AttributeError
        # pyvisa-py's SOCKET session does not expose VI_ATTR_TCPIP_NODELAY: set it on its socket
        sock = connection.visalib.sessions[connection.session].interface
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, KeyError, OSError, TypeError):
        log.debug("could not switch Nagle off on %s", getattr(connection, "resource_name", "?"))


def _unpaced(driver: Any, rc: RoleConfig) -> Any:
    """Drop the LakeShore421's wall-clock write pacing when it talks to a simulator.

    The driver waits 50 ms between writes to protect the real instrument's
    serial port; a simulator (in-process or on a loopback socket) needs no such
    pacing, and on the virtual clock a wall-clock wait means nothing.
    """
    if rc.simulated and getattr(driver, "WRITE_DELAY", None):
        driver.WRITE_DELAY = None
    return driver


def _real_adapter(driver: str, rc: RoleConfig) -> str:
    return rc.resource


def open_role(name: str, rc: RoleConfig, adapter_for: AdapterFactory = _real_adapter) -> Any:
    """Open one role: construct its driver(s), wrap it, check that it answers, apply its settings.

    The wrapper class of the registry builds itself from the settings
    (``from_config``) and applies them (``apply_settings``); a companion
    instrument (the field role's gaussmeter) is opened first and handed to it.
    Raises InstrumentError subclasses naming the role and address (the VISA
    resource actually opened, or the SIM:: name for an in-process simulator);
    the connection is closed again if anything after construction fails.
    """
    spec = DRIVERS[rc.driver]
    target = adapter_for(rc.driver, rc)
    address = target if isinstance(target, str) else rc.resource
    driver = _construct(rc.driver, rc, name, target)
    role: Any
    gauss: Any = None
    g = rc.gaussmeter
    try:
        if g is not None:
            gtarget = adapter_for(g.driver, g)
            gaddress = gtarget if isinstance(gtarget, str) else g.resource
            gdriver = _construct(g.driver, g, name, gtarget)
            gauss = DRIVERS[g.driver].wrapper_class().from_config(gdriver, gaddress, g.settings, role=name,
                                                                  instrument=g.driver)
            gauss.reopen = lambda: _construct(g.driver, g, name, adapter_for(g.driver, g))
        role = spec.wrapper_class().from_config(driver, address, rc.settings, role=name, instrument=rc.driver,
                                                companion=gauss)
        role.reopen = lambda: _construct(rc.driver, rc, name, adapter_for(rc.driver, rc))
        role.identity()  # the field role asks its gaussmeter too
        role.apply_settings(rc.settings)
        if g is not None:
            gauss.apply_settings(g.settings)
    except BaseException:
        for d in (driver, getattr(gauss, "driver", None)):
            try:
                if d is not None:
                    d.adapter.close()
            except Exception:  # noqa: BLE001 - already failing; keep the first error
                pass
        raise
    return role


def _open_roles(config: BenchConfig, adapter_for: AdapterFactory) -> dict[str, Any]:
    opened: dict[str, Any] = {}
    try:
        for name in ROLES:
            if name in config.roles:
                opened[name] = open_role(name, config.roles[name], adapter_for)
    except BaseException:
        for role in opened.values():
            role.close()
        raise
    return opened


# -- benches ----------------------------------------------------------------------


@dataclass
class Transport:
    """How a bench's drivers reach their instruments: adapters, clock, and what must be stopped at the end."""

    adapter_for: AdapterFactory
    clock: Clock
    virtual: Any = None
    server: Any = None

    def close(self) -> None:
        """Stop the loopback server, if any."""
        if self.server is not None:
            _stop(self.server)
            self.server = None


def prepare_transport(config: BenchConfig, *, virtual: Any = None) -> Transport:
    """Return the transport for config: pyvisa-py for real resources, the virtual bench for SIM:: ones.

    For a simulated config the VirtualBench is built from its [simulation]
    table unless one is given; with transport "visa" its loopback server is started
    (:func:`stfmr.instruments.sim.virtual_bench.simulated_transport`).
    """
    if not config.simulated:
        return Transport(_real_adapter, WallClock())
    from stfmr.instruments.sim.virtual_bench import simulated_transport

    return simulated_transport(config, virtual)


def _open_with(config: BenchConfig, transport: Transport) -> Bench:
    try:
        roles = _open_roles(config, transport.adapter_for)
    except BaseException:
        transport.close()
        raise
    return Bench(config, roles, transport.clock, virtual=transport.virtual, server=transport.server)


def open_bench(config: BenchConfig | str | Path, *, virtual: Any = None) -> Bench:
    """Open every role of a bench (a BenchConfig or a bench file path).

    Real resources go through pyvisa-py; SIM:: resources open the virtual bench
    described by the config's [simulation] table, or ``virtual`` if given.
    """
    if not isinstance(config, BenchConfig):
        config = load_bench_config(config)
    return _open_with(config, prepare_transport(config, virtual=virtual))


#: the default virtual bench's functions, re-exported from stfmr.instruments.sim.virtual_bench
_SIMULATED = ("default_simulated_config", "open_simulated_bench", "simulated_config")


def __getattr__(name: str) -> Any:
    """Import the virtual bench only when one of its functions is first asked for (no import cycle)."""
    if name in _SIMULATED:
        from stfmr.instruments.sim import virtual_bench

        return getattr(virtual_bench, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _stop(server: Any) -> None:
    stop = getattr(server, "stop", None) or getattr(server, "close", None)
    if stop is not None:
        stop()
