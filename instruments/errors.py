"""Typed instrument errors that always name the role and the instrument.

Every failure that reaches a procedure or the command line is one of these, so
a message reads like ``detector (SR830 at GPIB0::8::INSTR): reply timed out``.
They derive from RuntimeError; bad configuration is a ValueError instead
(:class:`stfmr.instruments.bench.BenchConfigError`).
"""

from __future__ import annotations

import re


class InstrumentError(RuntimeError):
    """An instrument failed or answered something unusable."""

    def __init__(self, role: str, instrument: str, address: str, problem: str) -> None:
        self.role = role
        self.instrument = instrument
        self.address = address
        self.problem = problem
        super().__init__(f"{role} ({instrument} at {address}): {problem}")


class InstrumentTimeout(InstrumentError):
    """No reply within the timeout."""


class InstrumentConnectionLost(InstrumentError):
    """The connection dropped or could not be opened."""


class InstrumentConnectionRefused(InstrumentConnectionLost):
    """Nothing accepted the connection at the address (instrument off, wrong address, sim-server not running)."""


def refused_problem(address: str, what: str = "") -> str:
    """The problem text of a refused connection: the host and port, and what to check."""
    m = re.match(r"TCPIP\d*::([^:]+)::(\d+)::SOCKET", address, re.IGNORECASE)
    where = f"{m.group(1)} port {m.group(2)}" if m else address
    if where.split()[0] in ("127.0.0.1", "localhost", "::1"):
        hint = "is `stfmr sim-server` (or the instrument's server) running, on the port it printed?"
    else:
        hint = "is the instrument switched on, at that address, and reachable from this computer?"
    return f"{what + ': ' if what else ''}connection refused by {where} (nothing accepts connections there): {hint}"


class InstrumentReplyError(InstrumentError):
    """A reply that could not be parsed (garbled, wrong type, out of range)."""


class SupplyTrip(InstrumentError):
    """The magnet supply tripped (output off, fault flag set)."""


class DetectorOverload(InstrumentError):
    """The lock-in input or output overloaded."""


class StageError(InstrumentError):
    """The rotation stage did not reach its target or reported an error."""
