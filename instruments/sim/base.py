"""Base class of every simulated instrument.

A simulated instrument receives the exact text a pymeasure driver writes,
splits it as the real instrument would, answers each command in the real
reply format, and records any command it does not understand (in its own
error queue, in the real format, and in ``bench.protocol_errors``), so a
driver/simulator mismatch can never pass silently.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stfmr.instruments.sim.bench import VirtualBench


#: (pattern, handler) pairs for :meth:`SimInstrument.dispatch`; a handler takes the groups, returns the reply or None
CommandTable = list[tuple[re.Pattern[str], Callable[..., str | None]]]


class SimNoReply(TimeoutError):
    """Raised by :meth:`SimInstrument.read` when nothing is queued (a real instrument stays silent)."""


class SimInstrument:
    """Common machinery: message splitting, reply queue, error queue, time charge.

    Subclasses set ``MODEL`` (the catalog name), optionally ``SEPARATOR``
    (the character the real instrument splits a message on, ";" for SCPI),
    ``ROUND_TRIP_S`` (virtual seconds charged per query), ``TERMINATION``
    (reply terminator on the loopback server), and implement
    :meth:`handle`. :meth:`dispatch` is a small helper for regex tables.
    """

    MODEL: str = ""
    SEPARATOR: str | None = ";"
    ROUND_TRIP_S: float = 2e-3
    #: termination the loopback server appends to each reply (the real instrument's on a socket)
    TERMINATION: str = "\n"
    #: error-queue entry for an unknown command and for an empty queue (SCPI defaults)
    UNKNOWN_ERROR: str = '-113,"Undefined header"'
    NO_ERROR: str = '0,"No error"'

    def __init__(self, bench: VirtualBench) -> None:
        self.bench = bench
        self._replies: deque[str] = deque()
        self.errors: deque[str] = deque()
        self.commands: list[str] = []  # every command received, for tests

    # -- transport side -------------------------------------------------
    def write(self, message: str) -> None:
        """Accept one message as written by a driver (terminators stripped here)."""
        text = message.strip("\r\n")
        parts = text.split(self.SEPARATOR) if self.SEPARATOR else [text]
        for part in parts:
            command = part.strip()
            if not command:
                continue
            self.commands.append(command)
            reply = self.handle(command)
            if reply is not None:
                self.bench.charge(self.ROUND_TRIP_S)
                self._replies.append(reply)

    def read(self) -> str:
        """Return the next queued reply (without terminator), or raise SimNoReply."""
        if not self._replies:
            raise SimNoReply(f"{self.MODEL}: no reply queued (read without a query)")
        return self._replies.popleft()

    def pending(self) -> int:
        """Number of replies waiting to be read."""
        return len(self._replies)

    def clear_replies(self) -> None:
        """Forget queued replies (a device clear)."""
        self._replies.clear()

    # -- instrument side ------------------------------------------------
    def handle(self, command: str) -> str | None:
        """Execute one command; return the reply text for a query, None otherwise."""
        raise NotImplementedError

    def unknown(self, command: str) -> None:
        """Record an unrecognised command in the instrument's error queue and the bench log."""
        self.errors.append(self.UNKNOWN_ERROR)
        self.bench.protocol_errors.append(f"{self.MODEL}: {command!r}")
        self.bench.log.append(f"{self.MODEL}: unknown command {command!r}")

    def next_error(self) -> str:
        """Pop the oldest error-queue entry (or the no-error reply)."""
        return self.errors.popleft() if self.errors else self.NO_ERROR

    def dispatch(self, command: str, table: CommandTable) -> str | None:
        """Run the first handler whose pattern fully matches; unknown() if none does.

        Handlers receive the regex groups as positional strings. A handler that
        raises ValueError (unparsable argument) counts as a bad command too.
        """
        for pattern, func in table:
            match = pattern.fullmatch(command)
            if match:
                try:
                    return func(*match.groups())
                except ValueError:
                    self.unknown(command)
                    return None
        self.unknown(command)
        return None


def rx(pattern: str) -> re.Pattern[str]:
    """Compile a case-insensitive command pattern."""
    return re.compile(pattern, re.IGNORECASE)
