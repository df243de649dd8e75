"""Units of measured columns and header entries: the one home for the unit tables.

A column name carries its unit in parentheses, pymeasure style: ``Field (Oe)``,
``Vmix (uV)``. Fields are converted to mu0*H in mT, voltages to V, frequencies
to GHz, angles to degrees and powers to dBm. A column whose name carries no
unit, or one not in these tables, is refused with a message naming the option
that gives it (``--field-unit``, ``--voltage-unit``).

A magnet current can stand for the field through the coil constant: a field
unit ``"25 mT/A"`` (any field unit per A) multiplies a column in A by 25 mT/A.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from stfmr.analysis.constants import MU0

#: mT of mu0*H per unit of each field unit (Oe and A/m are H: mu0*H is 0.1 mT per Oe)
FIELD_TO_MT: dict[str, float] = {
    "mT": 1.0, "T": 1e3, "uT": 1e-3, "µT": 1e-3, "μT": 1e-3,
    "Oe": 0.1, "kOe": 100.0, "G": 0.1, "kG": 100.0,
    "A/m": MU0 * 1e3, "kA/m": MU0 * 1e6,
}
#: V per unit of each voltage unit
VOLTAGE_TO_V: dict[str, float] = {"V": 1.0, "mV": 1e-3, "uV": 1e-6, "µV": 1e-6, "μV": 1e-6, "nV": 1e-9}
#: GHz, degrees and dBm per unit of the header and metadata quantities
FREQUENCY_TO_GHZ: dict[str, float] = {"GHz": 1.0, "MHz": 1e-3, "kHz": 1e-6, "Hz": 1e-9}
ANGLE_TO_DEG: dict[str, float] = {"deg": 1.0, "°": 1.0, "rad": 180.0 / math.pi}
POWER_TO_DBM: dict[str, float] = {"dBm": 1.0}

#: a resonance field outside this range (mT), or a half width below the next, is implausible
PLAUSIBLE_H_R_MT = (1.0, 5000.0)
PLAUSIBLE_MIN_DH_MT = 0.05

_UNIT_IN_NAME = re.compile(r"\(([^()]*)\)\s*$")
_COIL = re.compile(r"^\s*(?P<k>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>[^\s/]+)\s*/\s*A\s*$")


class UnitError(ValueError):
    """A column's unit is missing or unknown; the message names the option that gives it."""


@dataclass(frozen=True)
class Unit:
    """A unit as written and its factor to the base unit (mT for fields, V for voltages)."""

    symbol: str
    factor: float


def unit_in_name(name: str) -> str | None:
    """Return the unit in the last parentheses of a column name (``"Field (Oe)"`` -> ``"Oe"``), else None."""
    m = _UNIT_IN_NAME.search(name)
    return m.group(1).strip() if m and m.group(1).strip() else None


def _field_factor(unit: str) -> float | None:
    """mT per ``unit``: a field unit, or a coil constant such as "25 mT/A" for a magnet current."""
    if unit in FIELD_TO_MT:
        return FIELD_TO_MT[unit]
    m = _COIL.match(unit)
    if m and m.group("unit") in FIELD_TO_MT:
        return float(m.group("k")) * FIELD_TO_MT[m.group("unit")]
    return None


_FIELD_HELP = ("a field unit (" + ", ".join(u for u in FIELD_TO_MT if not u.startswith(("µ", "μ")))
               + ") or, for a magnet current, the coil constant such as '25 mT/A'")


def field_unit(column: str, given: str | None = None, option: str = "--field-unit") -> Unit:
    """The unit of a field column: ``given`` (an option's value) if set, else the unit in its name.

    Raises UnitError naming ``option`` when neither is a unit the tables know.
    """
    unit = given if given is not None else unit_in_name(column)
    if unit is None:
        raise UnitError(f"field column {column!r} carries no unit in parentheses: give it with {option} "
                        f"({_FIELD_HELP}), or name the column like 'Field (mT)'")
    factor = _field_factor(unit)
    if factor is None or not (math.isfinite(factor) and factor != 0):
        where = f"{option} {given!r}" if given is not None else f"field column {column!r}: its unit {unit!r}"
        hint = (f"give the coil constant with {option}, e.g. {option} '25 mT/A'" if unit == "A"
                else f"give the unit with {option}: {_FIELD_HELP}")
        raise UnitError(f"{where} is not a field unit; {hint}")
    return Unit(unit, factor)


def voltage_unit(column: str, given: str | None = None, option: str = "--voltage-unit",
                 derivative: bool = False) -> Unit:
    """The unit of a voltage column (V, mV, uV, nV), as :func:`field_unit` finds it.

    With ``derivative`` (field-modulated data) a voltage per field unit (``uV/Oe``)
    is accepted too and converted to V/mT.
    """
    unit = given if given is not None else unit_in_name(column)
    known = ", ".join(u for u in VOLTAGE_TO_V if not u.startswith(("µ", "μ")))
    if unit is None:
        raise UnitError(f"voltage column {column!r} carries no unit in parentheses: give it with {option} "
                        f"({known}), or name the column like 'V_FMR (V)'")
    if unit in VOLTAGE_TO_V:
        return Unit(unit, VOLTAGE_TO_V[unit])
    num, sep, den = unit.partition("/")
    if derivative and sep and num.strip() in VOLTAGE_TO_V and den.strip() in FIELD_TO_MT:
        return Unit(unit, VOLTAGE_TO_V[num.strip()] / FIELD_TO_MT[den.strip()])
    where = f"{option} {given!r}" if given is not None else f"voltage column {column!r}: its unit {unit!r}"
    extra = " (with --derivative also a voltage per field unit, e.g. uV/Oe)"
    raise UnitError(f"{where} is not a voltage unit; give the unit with {option}: {known}{extra}")


def quantity_factor(unit: str | None, table: dict[str, float]) -> float | None:
    """Factor of ``unit`` in one of the quantity tables; None (no unit) means the base unit, 1.0."""
    if unit is None:
        return 1.0
    return table.get(unit.strip())


def implausible(H_r_mT: float, dH_mT: float, unit: str) -> list[str]:
    """Warnings for a resonance field or half width (mT) that a field stated in ``unit`` makes unlikely."""
    lo, hi = PLAUSIBLE_H_R_MT
    out = []
    hint = f"is the field column's unit ({unit}) right? (--field-unit)"
    if not lo <= abs(H_r_mT) <= hi:
        out.append(f"H_r {H_r_mT:.4g} mT is outside {lo:g} to {hi:g} mT: {hint}")
    if dH_mT < PLAUSIBLE_MIN_DH_MT:
        out.append(f"dH {dH_mT:.4g} mT is below {PLAUSIBLE_MIN_DH_MT:g} mT: {hint}")
    return out
