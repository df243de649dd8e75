"""Common machinery of the role wrappers: error translation and reply parsing.

Every exchange with a pymeasure driver goes through :meth:`DriverRole._io`,
which turns what pyvisa, sockets and pymeasure raise into the typed errors of
:mod:`stfmr.instruments.errors`, each naming role, instrument and address:

- ``pyvisa.errors.VisaIOError`` with ``VI_ERROR_TMO`` and ``TimeoutError``
  (also ``socket.timeout``) -> :class:`InstrumentTimeout`
- any other ``VisaIOError``, ``ConnectionError`` (``BrokenPipeError``,
  ``ConnectionResetError``), ``OSError``, ``EOFError`` -> :class:`InstrumentConnectionLost`
- ``ValueError``/``TypeError``/``KeyError``/``IndexError`` raised while a *reply*
  is parsed -> :class:`InstrumentReplyError`

A ``ValueError`` raised while a *command* is formatted is a bad argument (a
pymeasure validator refused it): it stays a ValueError, so the command line
reports it as bad input.

Each exchange holds the wrapper's lock, so role objects may be polled from a
second thread (the GUI's status panel) without splitting a query in two.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from pyvisa import constants as visa_constants
from pyvisa.errors import VisaIOError

from stfmr.instruments.errors import (
    InstrumentConnectionLost,
    InstrumentConnectionRefused,
    InstrumentError,
    InstrumentReplyError,
    InstrumentTimeout,
    refused_problem,
)

T = TypeVar("T")

_PARSE_ERRORS = (ValueError, TypeError, KeyError, IndexError)


class RoleArgumentError(ValueError):
    """A value passed to a role method is out of range or of the wrong kind."""


class DriverRole:
    """Base of every role wrapper: holds the driver and names it in errors.

    ``role`` is the bench role ("rf", "detector", ...), ``instrument`` the
    driver/model name, ``address`` the VISA resource (or simulator address).
    """

    def __init__(self, role: str, driver: Any, address: str, instrument: str | None = None) -> None:
        self.role = role
        self.driver = driver
        self.address = address
        self.instrument = instrument or type(driver).__name__
        #: held for every exchange, so a status poll from another thread (GUI)
        #: never splits a query's write from its read
        self.lock = threading.RLock()
        #: builds a new driver on a freshly opened link (set by ``instruments.bench.open_role``)
        self.reopen: Callable[[], Any] | None = None

    # -- error translation -------------------------------------------------

    def _error(self, cls: type[InstrumentError], problem: str) -> InstrumentError:
        return cls(self.role, self.instrument, self.address, problem)

    def _translate(self, exc: BaseException, what: str, *, parsing: bool) -> BaseException | None:
        """Return the typed error for exc, or None to let exc propagate unchanged."""
        if isinstance(exc, InstrumentError):
            return None
        if isinstance(exc, VisaIOError):
            if exc.error_code == visa_constants.StatusCode.error_timeout:
                return self._error(InstrumentTimeout, f"{what}: reply timed out")
            return self._error(InstrumentConnectionLost, f"{what}: VISA error {exc.abbreviation}: {exc.description}")
        if isinstance(exc, TimeoutError):
            return self._error(InstrumentTimeout, f"{what}: reply timed out")
        if isinstance(exc, ConnectionRefusedError):
            return self._error(InstrumentConnectionRefused, refused_problem(self.address, what))
        if isinstance(exc, (ConnectionError, EOFError)):
            return self._error(InstrumentConnectionLost, f"{what}: connection lost ({type(exc).__name__}: {exc})")
        if isinstance(exc, OSError):
            return self._error(InstrumentConnectionLost, f"{what}: I/O error ({type(exc).__name__}: {exc})")
        if parsing and isinstance(exc, _PARSE_ERRORS):
            return self._error(InstrumentReplyError, f"{what}: unusable reply ({exc})")
        return None

    def _io(self, what: str, fn: Callable[[], T], *, parsing: bool = True) -> T:
        """Run one driver exchange, translating failures (see module docstring).

        parsing=False for pure writes, where a ValueError is a refused argument.
        """
        try:
            with self.lock:
                return fn()
        except Exception as exc:  # noqa: BLE001 - re-raised, typed
            typed = self._translate(exc, what, parsing=parsing)
            if typed is None:
                raise
            raise typed from exc

    def _query_float(self, what: str, fn: Callable[[], Any]) -> float:
        """Query a number; a reply that is not one finite float is an InstrumentReplyError."""
        reply = self._io(what, fn)
        return self._as_float(what, reply)

    def _as_float(self, what: str, reply: Any) -> float:
        if isinstance(reply, (list, tuple)):
            if len(reply) != 1:
                raise self._error(InstrumentReplyError, f"{what}: expected one number, got {reply!r}")
            reply = reply[0]
        try:
            value = float(reply)
        except (TypeError, ValueError):
            raise self._error(InstrumentReplyError, f"{what}: expected a number, got {reply!r}") from None
        if not math.isfinite(value):
            raise self._error(InstrumentReplyError, f"{what}: not a finite number ({reply!r})")
        return value

    def _as_bool(self, what: str, reply: Any) -> bool:
        if isinstance(reply, bool):
            return reply
        if isinstance(reply, (list, tuple)) and len(reply) == 1:
            reply = reply[0]
        text = str(reply).strip().upper()
        if text in ("1", "1.0", "ON", "TRUE"):
            return True
        if text in ("0", "0.0", "OFF", "FALSE"):
            return False
        raise self._error(InstrumentReplyError, f"{what}: expected on/off, got {reply!r}")

    # -- Role protocol -----------------------------------------------------

    def identity(self) -> str:
        """Return the instrument's identification string (``*IDN?``)."""
        reply = self._io("identity query", lambda: self.driver.ask("*IDN?"))
        text = str(reply).strip()
        if not text:
            raise self._error(InstrumentReplyError, "identity query: empty reply")
        return text

    def describe(self) -> str:
        """Return a one-line summary of the present state (for ``stfmr instruments``)."""
        return ""

    def settings(self) -> dict[str, Any]:
        """Return the settings this wrapper applied (for file headers)."""
        return {}

    def reconnect(self) -> None:
        """Close the link and open it again (the pyvisa resource reopened, the driver rebuilt).

        The instrument keeps its state: only the connection is new. A link that
        cannot be reopened is an :class:`InstrumentConnectionLost` naming the role.
        """
        if self.reopen is None:
            raise self._error(InstrumentConnectionLost, "reconnect: this link cannot be reopened")
        with self.lock:
            self._close_link()
            try:
                self.driver = self.reopen()
            except InstrumentError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure to reopen is a lost connection, typed
                raise self._error(InstrumentConnectionLost, f"reconnect failed ({exc})") from exc

    def close(self) -> None:
        """Release the connection; errors while closing are not raised (the link may be gone)."""
        self._close_link()

    def _close_link(self) -> None:
        """Close this wrapper's own link (a companion's is left open: see KepcoFieldControl.close)."""
        adapter = getattr(self.driver, "adapter", None)
        try:
            if adapter is not None:
                adapter.close()
        except Exception:  # noqa: BLE001 - closing a dead link must not mask the real error
            pass


def check_finite(name: str, value: float) -> float:
    """Return value as float, refusing NaN/inf and non-numbers with a RoleArgumentError naming it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RoleArgumentError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise RoleArgumentError(f"{name} must be finite, got {value!r}")
    return number
