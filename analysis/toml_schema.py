"""One reader for every TOML file stfmr takes: bench, sequence, stack, composition, sample and fault files.

Each file format declares one :class:`TableReader`: the error class it raises
and how its messages name a key (``[detector] time_constant_s: ...`` in bench
files, ``layer 2 ('Ni'): thickness_nm ...`` in stack files). The reader

- loads a file or a text; bad TOML is an error naming the file;
- checks a table's keys against the allowed and required ones;
- reads typed values (finite number, positive, non-negative, integer, bool,
  non-empty string, one of a few choices, a grid), each refusal naming where,
  the key and the value it got.

Usage::

    READER = TableReader(SequenceError)
    step = READER.table(data, "step 1 (field_sweep)")
    step.check_keys(allowed={"power_dBm", "dwell_s"}, required={"power_dBm"})
    power = step.number("power_dBm")
    dwell = step.non_negative("dwell_s", 0.0)

This module sits in :mod:`stfmr.analysis`, the lowest layer, so instruments and
procedures may both import it.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: the default of a key that has none: leaving it out is an error
REQUIRED: Any = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()
_FROM_TABLE: Any = object()  # take the default from the Table's defaults


def _quoted(keys: Iterable[str]) -> str:
    return ", ".join(repr(k) for k in keys)


def either(choices: Sequence[Any]) -> str:
    """Return "a, b or c" for choices (str() of each)."""
    names = [str(c) for c in choices]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


@dataclass(frozen=True)
class TableReader:
    """How one file format reads its tables and words its refusals.

    Message templates (``str.format`` fields): ``label`` names a key
    ({where}, {key}); a bad value reads ``label + sep + problem``. ``unknown``
    and ``missing`` get {where}, {key} (the first such key), {keys} (all,
    quoted), {allowed} (the allowed keys) and {hint} (appended as given).
    ``not_table`` gets {where}, {type} and {value}.
    """

    error: type[Exception] = ValueError
    label: str = "{where} {key}"
    sep: str = ": "
    unknown: str = "{where}: unknown key {key!r}"
    missing: str = "{where}: {key} is missing"
    not_table: str = "{where}: must be a table"

    # -- files -----------------------------------------------------------------

    def loads(self, text: str, source: str) -> dict[str, Any]:
        """Parse TOML text; bad TOML is an error "<source>: not valid TOML: ..."."""
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise self.error(f"{source}: not valid TOML: {exc}") from None

    def load(self, path: str | Path, source: str | None = None) -> dict[str, Any]:
        """Read a TOML file (OSError if it cannot be read); source names it in messages (default: the path)."""
        path = Path(path)
        with path.open("rb") as fh:
            try:
                return tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise self.error(f"{source or path}: not valid TOML: {exc}") from None

    def table(self, data: Any, where: str, defaults: Mapping[str, Any] | None = None) -> Table:
        """Return data as a :class:`Table` located at where; a value that is not a table is refused."""
        if not isinstance(data, Mapping):
            raise self.error(self.not_table.format(where=where, type=type(data).__name__, value=data))
        return Table(self, data, where, dict(defaults or {}))

    # -- values ----------------------------------------------------------------

    def fail(self, label: str, problem: str) -> Exception:
        """Return the error for a bad value: label (from :meth:`Table.label`) and the problem."""
        return self.error(f"{label}{self.sep}{problem}")

    def number(self, value: Any, label: str) -> float:
        """Return value as a finite float; booleans and strings are refused."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(label, f"must be a number, got {value!r}")
        if not math.isfinite(value):
            raise self.fail(label, f"must be finite, got {value!r}")
        return float(value)

    def positive(self, value: Any, label: str) -> float:
        """Return value as a finite float > 0."""
        number = self.number(value, label)
        if number <= 0:
            raise self.fail(label, f"must be positive, got {value!r}")
        return number

    def non_negative(self, value: Any, label: str) -> float:
        """Return value as a finite float >= 0."""
        number = self.number(value, label)
        if number < 0:
            raise self.fail(label, f"must not be negative, got {value!r}")
        return number

    def integer(self, value: Any, label: str, minimum: int | None = None, within: range | None = None) -> int:
        """Return value as an int (not a bool), at least minimum or inside within."""
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if within is not None:
            if not is_int or value not in within:
                raise self.fail(label, f"must be an integer in {within.start}..{within.stop - 1}, got {value!r}")
        elif not is_int or (minimum is not None and value < minimum):
            kind = {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}.get(
                minimum, f"an integer >= {minimum}")
            raise self.fail(label, f"must be {kind}, got {value!r}")
        return value

    def boolean(self, value: Any, label: str) -> bool:
        """Return value if it is true or false."""
        if not isinstance(value, bool):
            raise self.fail(label, f"must be true or false, got {value!r}")
        return value

    def string(self, value: Any, label: str) -> str:
        """Return a non-empty string, stripped of surrounding blanks."""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(label, f"must be a non-empty string, got {value!r}")
        return value.strip()

    def one_of(self, value: Any, label: str, choices: Sequence[Any], shown: str | None = None) -> Any:
        """Return value if it is one of choices (a bool only if a choice is); shown words the choices."""
        if value not in choices or (isinstance(value, bool) and not any(isinstance(c, bool) for c in choices)):
            raise self.fail(label, f"must be {shown or either(choices)}, got {value!r}")
        return value

    def grid(self, value: Any, label: str) -> np.ndarray:
        """Return the values of a grid: a number, a list of numbers, {start, stop, step} or {start, stop, points}.

        With step (> 0) the direction follows start and stop; the stop is included
        when the steps reach it.
        """
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return np.array([float(value)])
        if isinstance(value, list):
            if not value:
                raise self.fail(label, "empty grid")
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                raise self.fail(label, f"a grid list must hold numbers, got {value!r}")
            return np.array(value, dtype=float)
        if isinstance(value, dict):
            keys = set(value)
            if not {"start", "stop"} <= keys or len(keys & {"step", "points"}) != 1 \
                    or keys - {"start", "stop", "step", "points"}:
                raise self.fail(label, f"a grid table needs start, stop and one of step or points, got {sorted(keys)}")
            start = self.number(value["start"], f"{label}.start")
            stop = self.number(value["stop"], f"{label}.stop")
            if "step" in value:
                step = self.number(value["step"], f"{label}.step")
                if step <= 0:
                    raise self.fail(f"{label}.step",
                                    f"must be positive, got {step:g} (the direction follows start and stop)")
                n = int(np.floor(abs(stop - start) / step + 1e-9)) + 1
                return start + np.sign(stop - start or 1) * step * np.arange(n)
            points = self.integer(value["points"], f"{label}.points", minimum=1)
            return np.linspace(start, stop, points)
        raise self.fail(label, f"expected a number, a list or a grid table, got {value!r}")


@dataclass
class Table:
    """One table of a file being read: its keys, where it is, and defaults for keys left out.

    Every getter takes the key and, optionally, a default; without one the
    default comes from ``defaults``, and a key with neither is required.
    A default is returned as it is (not checked).
    """

    reader: TableReader
    data: Mapping[str, Any]
    where: str
    defaults: dict[str, Any] = field(default_factory=dict)

    def label(self, key: str) -> str:
        """Return how messages name key, e.g. "[detector] time_constant_s"."""
        return self.reader.label.format(where=self.where, key=key)

    def fail(self, key: str, problem: str) -> Exception:
        """Return the error for a bad value of key."""
        return self.reader.fail(self.label(key), problem)

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def check_keys(
        self,
        allowed: Iterable[str] | None = None,
        required: Iterable[str] | Mapping[str, str] = (),
        *,
        hint: str = "",
    ) -> None:
        """Refuse a key outside allowed (None: any), then a required key left out.

        required: keys (a set is taken in sorted order) or key -> hint for its
        missing message. hint: for the unknown-key message.
        """
        names = ", ".join(allowed := list(allowed)) if allowed is not None else ""
        if allowed is not None:
            unknown = sorted(set(self.data) - set(allowed))
            if unknown:
                raise self.reader.error(self.reader.unknown.format(
                    where=self.where, key=unknown[0], keys=_quoted(unknown), allowed=names, hint=hint))
        if isinstance(required, Mapping):
            hints = dict(required)
        else:
            hints = dict.fromkeys(sorted(required) if isinstance(required, (set, frozenset)) else required, "")
        missing = [key for key in hints if key not in self.data]
        if missing:
            raise self._missing(missing, hints[missing[0]], names)

    def _missing(self, keys: list[str], hint: str = "", allowed: str = "") -> Exception:
        return self.reader.error(self.reader.missing.format(
            where=self.where, key=keys[0], keys=_quoted(keys), allowed=allowed, hint=hint))

    def get(self, key: str, default: Any = _FROM_TABLE) -> Any:
        """Return the raw value of key, or its default; a required key left out is an error."""
        if key in self.data:
            return self.data[key]
        if default is _FROM_TABLE:
            default = self.defaults.get(key, REQUIRED)
        if default is REQUIRED:
            raise self._missing([key])
        return default

    def _read(self, check: Any, key: str, default: Any, *args: Any, **kwargs: Any) -> Any:
        if key not in self.data:
            return self.get(key, default)
        return check(self.data[key], self.label(key), *args, **kwargs)

    def number(self, key: str, default: Any = _FROM_TABLE) -> Any:
        """Return key as a finite float (or its default)."""
        return self._read(self.reader.number, key, default)

    def positive(self, key: str, default: Any = _FROM_TABLE) -> Any:
        """Return key as a finite float > 0 (or its default)."""
        return self._read(self.reader.positive, key, default)

    def non_negative(self, key: str, default: Any = _FROM_TABLE) -> Any:
        """Return key as a finite float >= 0 (or its default)."""
        return self._read(self.reader.non_negative, key, default)

    def integer(self, key: str, default: Any = _FROM_TABLE, *, minimum: int | None = None,
                within: range | None = None) -> Any:
        """Return key as an int >= minimum or inside within (or its default)."""
        return self._read(self.reader.integer, key, default, minimum=minimum, within=within)

    def boolean(self, key: str, default: Any = _FROM_TABLE) -> Any:
        """Return key as true or false (or its default)."""
        return self._read(self.reader.boolean, key, default)

    def string(self, key: str, default: Any = _FROM_TABLE) -> Any:
        """Return key as a non-empty, stripped string (or its default)."""
        return self._read(self.reader.string, key, default)

    def one_of(self, key: str, choices: Sequence[Any], default: Any = _FROM_TABLE, *, shown: str | None = None) -> Any:
        """Return key if it is one of choices (or its default)."""
        return self._read(self.reader.one_of, key, default, choices, shown)

    def file(self, key: str, base_dir: Path | None, default: Any = _FROM_TABLE) -> str | None:
        """An existing file named by ``key`` (relative names relative to ``base_dir``), as a path string."""
        name = self.string(key, default)
        if name is None:
            return None
        path = Path(name)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise self.fail(key, f"no such file {path}")
        return str(path)

    def grid(self, key: str, default: Any = _FROM_TABLE) -> Any:
        """Return the values of the grid at key (or its default); see :meth:`TableReader.grid`."""
        return self._read(self.reader.grid, key, default)
