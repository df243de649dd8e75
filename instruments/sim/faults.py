"""Fault injection for the virtual bench, configured per run (TOML or dict).

A fault file lists faults as an array of tables::

    [[fault]]
    kind = "timeout"          # timeout | garbled | drop | supply_trip | overload | stage_short
    instrument = "SR830"      # simulator model name (see catalog.MODELS)
    after_queries = 20        # fire from the 20th query to that instrument on ...
    # after_s = 30.0          # ... or from 30 s of (virtual) bench time on
    count = 1                 # how many times it fires

A ``drop`` cuts the link: every exchange on it fails until the link is
reopened (``DriverRole.reconnect``, a new pyvisa session, a new TCP
connection to the loopback server); a reopened link works again unless the
drop fires again, so ``count = 1`` is a passing drop and a large count an
instrument that is gone.

Adapter-level kinds (timeout, garbled, drop) are applied by the transport
(SimAdapter and the loopback server); physics-level kinds (supply_trip,
overload, stage_short) by the simulated state and instruments through
:meth:`FaultPlan.due`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stfmr.analysis.toml_schema import TableReader

ADAPTER_KINDS = ("timeout", "garbled", "drop")
PHYSICS_KINDS = ("supply_trip", "overload", "stage_short")
FAULT_KINDS = ADAPTER_KINDS + PHYSICS_KINDS
_KEYS = ("kind", "instrument", "after_s", "after_queries", "count")


class FaultPlanError(ValueError):
    """A fault file or table that cannot be used; the message names the entry and key."""


#: how fault files are read: "fault 2: count must be a positive integer, got 0"
READER = TableReader(
    FaultPlanError,
    label="{where}: {key}",
    sep=" ",
    unknown="{where}: unknown key(s) {keys}; allowed: {allowed}",
    not_table="{where}: must be a table, got {type}",
)


@dataclass
class Fault:
    """One fault. Exactly one of after_s / after_queries may be given (neither: at once)."""

    kind: str
    instrument: str
    after_s: float | None = None
    after_queries: int | None = None
    count: int = 1
    fired: int = field(default=0, compare=False)

    @property
    def exhausted(self) -> bool:
        return self.fired >= self.count


class FaultPlan:
    """The faults of one run, with the bookkeeping of when each is due.

    ``attach(clock)`` sets the time origin (the bench does it); transports call
    ``count_query(model)`` for every query they pass on; ``due(kind, model)``
    returns True (and uses up one firing) when a fault of that kind for that
    model is armed and its trigger has been reached.
    """

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self.faults: list[Fault] = list(faults or [])
        self._queries: dict[str, int] = {}
        self._clock: Any = None
        self._t0 = 0.0
        self._lock = threading.Lock()
        self.fired_log: list[str] = []

    # -- construction ---------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any] | list[dict[str, Any]]) -> FaultPlan:
        """Build from {"fault": [tables]} (the TOML layout) or a plain list of tables."""
        if isinstance(data, dict):
            unknown = set(data) - {"fault"}
            if unknown:
                raise FaultPlanError(f"unknown key(s) in fault plan: {', '.join(sorted(unknown))} (expected [[fault]])")
            entries = data.get("fault", [])
        else:
            entries = data
        if not isinstance(entries, list):
            raise FaultPlanError("fault must be an array of tables ([[fault]])")
        return cls([_parse_fault(i, e) for i, e in enumerate(entries)])

    @classmethod
    def from_toml(cls, path: str | Path) -> FaultPlan:
        """Read a fault file (see the module docstring)."""
        data = READER.load(path)
        try:
            return cls.from_dict(data)
        except FaultPlanError as exc:
            raise FaultPlanError(f"{path}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """The plan as {"fault": [tables]}, for run headers."""
        out = []
        for f in self.faults:
            entry: dict[str, Any] = {"kind": f.kind, "instrument": f.instrument, "count": f.count}
            if f.after_s is not None:
                entry["after_s"] = f.after_s
            if f.after_queries is not None:
                entry["after_queries"] = f.after_queries
            out.append(entry)
        return {"fault": out}

    # -- run-time -------------------------------------------------------
    def attach(self, clock: Any) -> None:
        """Use clock for after_s triggers, counting from now."""
        self._clock = clock
        self._t0 = clock.now()

    def count_query(self, model: str) -> int:
        """Count one query to model; return the running count."""
        with self._lock:
            n = self._queries.get(model, 0) + 1
            self._queries[model] = n
            return n

    def queries(self, model: str) -> int:
        """Queries counted so far for model."""
        return self._queries.get(model, 0)

    def due(self, kind: str, model: str) -> bool:
        """True if a fault of kind for model fires now (one firing is used up)."""
        if not self.faults:
            return False
        with self._lock:
            for f in self.faults:
                if f.kind != kind or f.instrument != model or f.exhausted:
                    continue
                if f.after_queries is not None and self._queries.get(model, 0) < f.after_queries:
                    continue
                if f.after_s is not None:
                    now = self._clock.now() - self._t0 if self._clock is not None else 0.0
                    if now < f.after_s:
                        continue
                f.fired += 1
                self.fired_log.append(f"{kind} on {model} (firing {f.fired} of {f.count})")
                return True
        return False


def _parse_fault(index: int, entry: Any) -> Fault:
    table = READER.table(entry, f"fault {index + 1}")
    table.check_keys(_KEYS)
    kind = table.one_of("kind", FAULT_KINDS)
    instrument = table.get("instrument", None)
    if not isinstance(instrument, str) or not instrument:
        raise table.fail("instrument", f"must be a model name such as \"SR830\", got {instrument!r}")
    from stfmr.instruments.sim.catalog import MODELS

    if instrument not in MODELS:
        raise table.fail("instrument", f"{instrument!r} is not a simulated model; known: {', '.join(MODELS)}")
    if "after_s" in table and "after_queries" in table:
        raise FaultPlanError(f"{table.where}: give after_s or after_queries, not both")
    return Fault(kind, instrument, table.non_negative("after_s", None), table.integer("after_queries", None, minimum=0),
                 table.integer("count", 1, minimum=1))
