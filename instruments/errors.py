"""Typed instrument errors that always name the role and the instrument.

Every failure that reaches a procedure or the command line is one of these, so
a message reads like ``detector (SR830 at GPIB0::8::INSTR): reply timed out``.
They derive from RuntimeError; bad configuration is a ValueError instead
(:class:`stfmr.instruments.bench.BenchConfigError`).
"""

from __future__ import annotations


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


class InstrumentReplyError(InstrumentError):
    """A reply that could not be parsed (garbled, wrong type, out of range)."""


class SupplyTrip(InstrumentError):
    """The magnet supply tripped (output off, fault flag set)."""


class DetectorOverload(InstrumentError):
    """The lock-in input or output overloaded."""


class StageError(InstrumentError):
    """The rotation stage did not reach its target or reported an error."""
