"""Sample and device metadata: the small typed record stored with every run.

A sequence file carries it as a ``[sample]`` table with exactly the keys of
:class:`SampleMetadata`; :meth:`SampleMetadata.from_dict` validates such a
table and names every bad key.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, Mapping

from stfmr.analysis.toml_schema import TableReader

class SampleMetadataError(ValueError):
    """A sample record is incomplete or holds a bad value; the message names the key."""


#: how [sample] tables are read: "sample key 'Ms_t_A' must be positive, got -1"
READER = TableReader(
    SampleMetadataError,
    label="sample key {key!r}",
    sep=" ",
    unknown="unknown sample key(s) {keys}; allowed: {allowed}",
    missing="missing sample key(s) {keys}",
    not_table="{where} must be a table of keys, got {type}",
)


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
    g: optional Lande g-factor of the ferromagnet: the value the analysis fixes g at where
        the Kittel fit cannot determine it (None: :data:`~stfmr.analysis.constants.DEFAULT_G`).
    """

    name: str
    Ms_t_A: float
    resistivity_uOhm_cm: float
    length_um: float
    width_um: float
    stack: str
    setup_polarity: int
    Ms_t_stderr_A: float = 0.0
    g: float | None = None

    def __post_init__(self) -> None:
        values = READER.table({f.name: getattr(self, f.name) for f in fields(self)}, "sample")
        values.string("name")
        if not isinstance(self.stack, str):
            raise values.fail("stack", f"must be a string, got {self.stack!r}")
        for key in ("Ms_t_A", "resistivity_uOhm_cm", "length_um", "width_um"):
            object.__setattr__(self, key, values.positive(key))
        object.__setattr__(self, "Ms_t_stderr_A", values.non_negative("Ms_t_stderr_A"))
        object.__setattr__(self, "setup_polarity", int(values.one_of("setup_polarity", (1, -1), shown="+1 or -1")))
        if self.g is not None:
            object.__setattr__(self, "g", values.positive("g"))

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """All keys of a [sample] table."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SampleMetadata":
        """Build from a mapping (a [sample] table); unknown or missing keys are named in the error."""
        table = READER.table(data, "sample metadata")
        table.check_keys(cls.keys(), required=[f.name for f in fields(cls) if f.default is MISSING])
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a plain dict with the keys of a [sample] table (``g`` only when set)."""
        out = asdict(self)
        if out["g"] is None:
            del out["g"]  # TOML has no null: a table without the key reads back the same
        return out

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
