"""Sample and device metadata: the small typed record stored with every run.

A sequence file carries it as a ``[sample]`` table with exactly the keys of
:class:`SampleMetadata`; :meth:`SampleMetadata.from_dict` validates such a
table and names every bad key.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

#: keys that may be left out of a [sample] table, with their defaults
_OPTIONAL = {"Ms_t_stderr_A": 0.0}


class SampleMetadataError(ValueError):
    """A sample record is incomplete or holds a bad value; the message names the key."""


@dataclass(frozen=True)
class SampleMetadata:
    """Sample and device description (validated on construction).

    name: sample label.
    Ms_t_A: moment per area M_s*t_FM (A; A/m times m), e.g. 4.0e-3; for a graded
        film the integral of M_s over the thickness.
    Ms_t_stderr_A: standard error of Ms_t_A (A), default 0.
    resistivity_uOhm_cm: resistivity of the layer the current density refers to
        (micro-Ohm cm), used for xi^j = xi^E * rho.
    length_um, width_um: device length between the contacts and width (micrometre).
    stack: layer stack, e.g. "Ta-B(3)/Ni-Fe(5)/MgO".
    setup_polarity: +1 or -1, multiplies every measured voltage (from a reference sample).
    """

    name: str
    Ms_t_A: float
    resistivity_uOhm_cm: float
    length_um: float
    width_um: float
    stack: str
    setup_polarity: int
    Ms_t_stderr_A: float = 0.0

    def __post_init__(self) -> None:
        for key in ("name", "stack"):
            if not isinstance(getattr(self, key), str):
                raise SampleMetadataError(f"sample key {key!r} must be a string, got {getattr(self, key)!r}")
        if not self.name.strip():
            raise SampleMetadataError("sample key 'name' must not be empty")
        for key in ("Ms_t_A", "resistivity_uOhm_cm", "length_um", "width_um", "Ms_t_stderr_A"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SampleMetadataError(f"sample key {key!r} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise SampleMetadataError(f"sample key {key!r} must be finite, got {value!r}")
            if key == "Ms_t_stderr_A":
                if value < 0:
                    raise SampleMetadataError(f"sample key {key!r} must be >= 0, got {value!r}")
            elif value <= 0:
                raise SampleMetadataError(f"sample key {key!r} must be positive, got {value!r}")
            object.__setattr__(self, key, float(value))
        pol = self.setup_polarity
        if isinstance(pol, bool) or pol not in (1, -1):
            raise SampleMetadataError(f"sample key 'setup_polarity' must be +1 or -1, got {pol!r}")
        object.__setattr__(self, "setup_polarity", int(pol))

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """All keys of a [sample] table."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SampleMetadata":
        """Build from a mapping (a [sample] table); unknown or missing keys are named in the error."""
        if not isinstance(data, Mapping):
            raise SampleMetadataError(f"sample metadata must be a table of keys, got {type(data).__name__}")
        known = set(cls.keys())
        unknown = sorted(set(data) - known)
        if unknown:
            raise SampleMetadataError(
                f"unknown sample key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(cls.keys())}"
            )
        missing = [k for k in cls.keys() if k not in data and k not in _OPTIONAL]
        if missing:
            raise SampleMetadataError(f"missing sample key(s) {', '.join(map(repr, missing))}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a plain dict with exactly the keys of a [sample] table."""
        return asdict(self)

    @property
    def length_m(self) -> float:
        """Device length between the contacts (m)."""
        return self.length_um * 1e-6

    @property
    def width_m(self) -> float:
        """Device width (m)."""
        return self.width_um * 1e-6

    @property
    def resistivity_Ohm_m(self) -> float:
        """Resistivity (Ohm m)."""
        return self.resistivity_uOhm_cm * 1e-8
