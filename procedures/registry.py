"""stfmr's measurements by class name: what a sequence task, a manifest entry or a Results header may name.

Only these classes are ever built from a name: a past run's file header that
names anything else is refused, never imported.
"""

from __future__ import annotations

from typing import Any

from stfmr.procedures.amr import AmrSweep
from stfmr.procedures.autophase import Autophase
from stfmr.procedures.base import BenchProcedure
from stfmr.procedures.field_sweep import FieldSweep
from stfmr.procedures.frequency_scan import FrequencyScan
from stfmr.procedures.magnet_calibration import MagnetCalibration
from stfmr.procedures.rf_calibration import RfCalibration

PROCEDURES: dict[str, type[BenchProcedure]] = {
    cls.__name__: cls
    for cls in (FieldSweep, Autophase, AmrSweep, RfCalibration, FrequencyScan, MagnetCalibration)
}


def build_procedure(name: str, parameters: dict[str, Any], where: str = "") -> BenchProcedure:
    """Build the procedure ``name`` with ``parameters`` through pymeasure's ``set_parameters``.

    Parameters fill in their own defaults and check their own ranges (the one
    home of both); an unknown name or a refused value is a ValueError naming it.
    """
    at = f"{where}: " if where else ""
    try:
        cls = PROCEDURES[name]
    except KeyError:
        raise ValueError(f"{at}unknown procedure {name!r} (known: {', '.join(PROCEDURES)})") from None
    procedure = cls()
    for key, value in parameters.items():
        try:
            procedure.set_parameters({key: value})
        except NameError:
            raise ValueError(f"{at}{key} is not a parameter of {name}") from None
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{at}{key} = {value!r} refused: {exc}") from None
    if where:
        procedure.plan_label = where
    return procedure


def recorded_parameters(procedure: BenchProcedure) -> dict[str, Any]:
    """Every Parameter value of a procedure, for the manifest (the sample record has its own place)."""
    values = procedure.parameter_values()
    values.pop("sample_record", None)
    return values


__all__ = ["PROCEDURES", "build_procedure", "recorded_parameters"]
