"""Helpers for the SCPI simulators: header patterns with long/short forms, numbers with units.

SCPI accepts every mnemonic in its short form (the upper-case letters of the
manual's spelling, ``FREQ``) or its long form (``FREQUENCY``), in any case,
with optional nodes in brackets (``[SOURce:]FREQuency[:CW]``) and an optional
leading colon. :func:`header` turns the manual's spelling into a regex so a
simulator accepts exactly what the real instrument accepts.
"""

from __future__ import annotations

import re

#: a decimal number as SCPI sends it (sign, point, exponent), captured
NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"


class ScpiValueError(ValueError):
    """An argument the simulated instrument cannot parse (a real one answers -1xx/-2xx)."""


def header(spelling: str) -> str:
    """Return the regex source matching a SCPI header written as in the manual.

    ``"[SOURce:]FREQuency[:CW]?"`` matches ``FREQ?``, ``:SOUR:FREQ:CW?``,
    ``source:frequency?`` and so on (compile with re.IGNORECASE).
    """
    out = [":?"]
    i = 0
    while i < len(spelling):
        ch = spelling[i]
        if ch == "[":
            out.append("(?:")
        elif ch == "]":
            out.append(")?")
        elif ch == "?":
            out.append(r"\?")
        elif ch == " ":
            out.append(r"\s+")
        elif ch.isalnum() or ch == "*":
            j = i
            while j < len(spelling) and (spelling[j].isalnum() or spelling[j] == "*"):
                j += 1
            word = spelling[i:j]
            short = "".join(c for c in word if not c.islower())
            rest = word[len(short):]
            if short + rest != word:
                raise ValueError(f"mnemonic {word!r} must be upper-case letters then lower-case letters")
            out.append(re.escape(short) + (f"(?:{rest})?" if rest else ""))
            i = j
            continue
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def number_with_unit(text: str, units: dict[str, float], default: float = 1.0) -> float:
    """Parse ``"1.5e9 Hz"``, ``"10 GHZ"``, ``"-5"`` into a float in base units.

    units maps upper-case suffixes to multipliers; no suffix means ``default``.
    """
    match = re.fullmatch(NUMBER + r"\s*([A-Za-z]*)", text.strip())
    if not match:
        raise ScpiValueError(f"not a number: {text!r}")
    value = float(match.group(1))
    suffix = match.group(2).upper()
    if not suffix:
        return value * default
    if suffix not in units:
        raise ScpiValueError(f"unknown unit {suffix!r} in {text!r}")
    return value * units[suffix]


def on_off(text: str) -> bool:
    """Parse a SCPI boolean: ON/OFF/1/0 (any case)."""
    word = text.strip().upper()
    if word in ("ON", "1"):
        return True
    if word in ("OFF", "0"):
        return False
    raise ScpiValueError(f"not a boolean: {text!r}")


FREQUENCY_UNITS: dict[str, float] = {"HZ": 1.0, "KHZ": 1e3, "MHZ": 1e6, "GHZ": 1e9}
