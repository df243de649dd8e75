"""Which columns of a file are a spectrum, in which units, and how repeated readings are combined.

``stfmr fit`` and ``stfmr analyze`` share these settings (``--field-column``,
``--field-unit``, ``--voltage-column``, ``--voltage-unit``, ``--repeats``). The
units come from the column names (:mod:`stfmr.analysis.units`) unless an option
gives them; they are resolved when the settings are made, so a column without a
known unit is refused before any file is read. :meth:`SpectrumColumns.arrays`
returns the spectrum in mT and V.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field

import numpy as np

from stfmr.analysis import columns as col
from stfmr.analysis.field_axis import sweep_order
from stfmr.analysis.units import Unit, field_unit, voltage_unit

#: how readings repeated at one field are combined (``--repeats``); None refuses them
REPEATS = ("mean", "median")


class RepeatedFieldsError(ValueError):
    """A spectrum holds several readings at one field and no ``--repeats`` rule; the message names it."""


@dataclass(frozen=True)
class SpectrumArrays:
    """One spectrum's columns converted: fields (mT, mu0*H), the set field (mT) and the voltage (V)."""

    field_mT: np.ndarray
    set_field_mT: np.ndarray
    voltage_V: np.ndarray
    #: rows combined into one by ``--repeats`` (0: none repeated)
    repeated_rows: int = 0


@dataclass(frozen=True)
class SpectrumColumns:
    """The spectrum's columns and units; units resolved (or refused) on construction.

    field_unit, voltage_unit: as given by an option (None: from the column's name).
    repeats: "mean" or "median" to combine readings at one field, None to refuse them.
    derivative: field-modulated data, whose voltage column may be in V per field unit.
    """

    field: str = col.FIELD
    voltage: str = col.V_FMR
    field_unit: str | None = None
    voltage_unit: str | None = None
    repeats: str | None = None
    derivative: bool = False
    field_scale: Unit = dc_field(init=False, repr=False)
    voltage_scale: Unit = dc_field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.repeats is not None and self.repeats not in REPEATS:
            raise ValueError(f"--repeats must be one of {', '.join(REPEATS)}, got {self.repeats!r}")
        object.__setattr__(self, "field_scale", field_unit(self.field, self.field_unit))
        object.__setattr__(self, "voltage_scale",
                           voltage_unit(self.voltage, self.voltage_unit, derivative=self.derivative))

    @property
    def default_field(self) -> bool:
        """True when the field is stfmr's gaussmeter column (then a ``Field set (mT)`` column is its set field)."""
        return self.field == col.FIELD

    def wanted(self) -> list[str]:
        """The columns to read for a field-swept spectrum."""
        return [self.field, self.voltage, col.FIELD_SET]

    def arrays(self, data, where: str | None = None) -> SpectrumArrays:
        """The spectrum of ``data`` (a :class:`~stfmr.analysis.datafile.DataFile`) in mT and V.

        The set field is the ``Field set (mT)`` column when the field is stfmr's own
        ``Field (mT)``, else the field itself. Readings repeated at one set field are
        combined by :attr:`repeats`, else refused (RepeatedFieldsError names ``--repeats``).
        With a set field, each branch comes in set-field order: stfmr writes rows as
        measured, and a listed or adaptive grid measures out of order.
        """
        h = data.column(self.field) * self.field_scale.factor
        v = data.column(self.voltage) * self.voltage_scale.factor
        if self.default_field and col.FIELD_SET in data.columns:
            hs = data.column(col.FIELD_SET)
            order = sweep_order(hs)
            h, hs, v = h[order], hs[order], v[order]
        else:
            hs = h
        return combine_repeats(h, hs, v, self.repeats, where=where or str(data.path), field_name=self.field)


def combine_repeats(field_mT: np.ndarray, set_field_mT: np.ndarray, voltage_V: np.ndarray,
                    how: str | None, *, where: str = "", field_name: str = "field") -> SpectrumArrays:
    """Combine the readings at each set field by ``how`` ("mean" or "median"), or refuse repeats when None.

    Rows whose set field is NaN are kept as they are (the fit refuses them with its own message).
    Combined rows are returned sorted by set field; without repeats the rows keep their order.
    """
    finite = np.isfinite(set_field_mT)
    keys = set_field_mT[finite]
    uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    if uniq.size == keys.size:
        return SpectrumArrays(field_mT, set_field_mT, voltage_V)
    if how is None:
        k = int(np.argmax(counts))
        repeated = int((counts > 1).sum())
        raise RepeatedFieldsError(
            f"{where}: {repeated} field value(s) of {field_name!r} hold repeated readings "
            f"({uniq[k]:g} mT {counts[k]} times): combine the readings at each field with "
            "--repeats mean or --repeats median")
    if how not in REPEATS:
        raise ValueError(f"--repeats must be one of {', '.join(REPEATS)}, got {how!r}")
    if how == "mean":
        def combine(x):
            return np.bincount(inverse, weights=x[finite], minlength=uniq.size) / counts
    else:
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        lo, hi = starts + (counts - 1) // 2, starts + counts // 2

        def combine(x):
            xf = x[finite]
            xs = xf[np.lexsort((xf, inverse))]
            has_nan = np.bincount(inverse, weights=np.isnan(xf), minlength=uniq.size) > 0
            return np.where(has_nan, np.nan, 0.5 * (xs[lo] + xs[hi]))  # as the mean: a NaN stays visible
    out_h, out_v = combine(field_mT), combine(voltage_V)
    rest = ~finite
    return SpectrumArrays(np.concatenate((out_h, field_mT[rest])), np.concatenate((uniq, set_field_mT[rest])),
                          np.concatenate((out_v, voltage_V[rest])), repeated_rows=int(keys.size - uniq.size))
