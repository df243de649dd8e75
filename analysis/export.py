"""A run folder as an xarray Dataset (NetCDF): every spectrum, its fits, and the run's metadata.

Dimensions ``spectrum`` (one per spectrum file) and ``point`` (padded with NaN to
the longest spectrum) and ``branch`` (+1, -1); frequency scans (fixed field) on
their own dimensions ``scan`` and ``scan_point``, with ``scan_frequency_GHz`` and
``scan_field_mT`` per point and ``scan_V_FMR_V``. Coordinates: ``frequency_GHz``,
``angle_deg``, ``power_dBm``, ``dc_current_mA`` and ``file`` per spectrum, and
``field_mT`` (measured) per point. Data: ``V_FMR_V`` and ``set_field_mT``; the
fitted ``H_r_mT``, ``dH_mT``, ``V_S_V``, ``V_A_V`` with ``*_stderr`` per
spectrum and branch (NaN where a branch was not measured or not fitted).
Attributes: the sample record, the efficiencies and supporting fits (JSON),
the stfmr version and whether the bench was simulated.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from stfmr import __version__
from stfmr.analysis.records import SampleAnalysis
from stfmr.analysis.run_manifest import MANIFEST, load_manifest

FIT_PARAMS = ("H_r", "dH", "V_S", "V_A")
UNITS = {"H_r": "mT", "dH": "mT", "V_S": "V", "V_A": "V"}


def _padded(values: np.ndarray, length: int) -> np.ndarray:
    """``values`` followed by NaN up to ``length``."""
    out = np.full(length, np.nan)
    out[: len(values)] = values
    return out


def run_dataset(analysis: SampleAnalysis):
    """Return the xarray Dataset of one analysed run folder."""
    import xarray as xr

    spectra = analysis.run.spectra
    scans = analysis.run.frequency_scans
    if not spectra and not scans:
        raise ValueError(f"{analysis.run.folder}: no spectra to export")
    n = max((len(s.field_mT) for s in spectra), default=0)

    data_vars: dict = {}
    coords: dict = {}
    if spectra:
        branches = [1, -1]
        fit = {f"{p}_{u}": np.full((len(spectra), 2), np.nan) for p in FIT_PARAMS for u in ("value", "stderr")}
        for i, s in enumerate(spectra):
            for branch_fit in analysis.fits.get(s.file, []):
                j = branches.index(branch_fit.polarity)
                for p in FIT_PARAMS:
                    fit[f"{p}_value"][i, j] = branch_fit.values[p]
                    fit[f"{p}_stderr"][i, j] = branch_fit.stderr[p]
        data_vars |= {
            "V_FMR_V": (("spectrum", "point"), np.array([_padded(s.voltage_V, n) for s in spectra]), {"units": "V"}),
            "set_field_mT": (("spectrum", "point"), np.array([_padded(s.set_field_mT, n) for s in spectra]), {"units": "mT"}),
        }
        for p in FIT_PARAMS:
            data_vars[f"{p}_{UNITS[p]}"] = (("spectrum", "branch"), fit[f"{p}_value"], {"units": UNITS[p]})
            data_vars[f"{p}_{UNITS[p]}_stderr"] = (("spectrum", "branch"), fit[f"{p}_stderr"], {"units": UNITS[p]})
        coords |= {
            "spectrum": np.arange(len(spectra)),
            "point": np.arange(n),
            "branch": branches,
            "frequency_GHz": ("spectrum", [s.frequency_GHz for s in spectra], {"units": "GHz"}),
            "angle_deg": ("spectrum", [s.angle_deg for s in spectra], {"units": "deg"}),
            "power_dBm": ("spectrum", [s.power_dBm for s in spectra], {"units": "dBm"}),
            "dc_current_mA": ("spectrum", [s.dc_current_mA for s in spectra], {"units": "mA"}),
            "file": ("spectrum", [s.file for s in spectra]),
            "kind": ("spectrum", [s.kind for s in spectra]),
            "field_mT": (("spectrum", "point"), np.array([_padded(s.field_mT, n) for s in spectra]), {"units": "mT"}),
        }
    if scans:
        m = max(len(s.frequency_GHz) for s in scans)

        data_vars["scan_V_FMR_V"] = (("scan", "scan_point"), np.array([_padded(s.voltage_V, m) for s in scans]),
                                     {"units": "V"})
        coords |= {
            "scan": np.arange(len(scans)),
            "scan_point": np.arange(m),
            "scan_frequency_GHz": (("scan", "scan_point"), np.array([_padded(s.frequency_GHz, m) for s in scans]),
                                   {"units": "GHz"}),
            "scan_field_mT": (("scan", "scan_point"), np.array([_padded(s.field_mT, m) for s in scans]),
                              {"units": "mT"}),
            "scan_angle_deg": ("scan", [s.angle_deg for s in scans], {"units": "deg"}),
            "scan_power_dBm": ("scan", [s.power_dBm for s in scans], {"units": "dBm"}),
            "scan_dc_current_mA": ("scan", [s.dc_current_mA for s in scans], {"units": "mA"}),
            "scan_file": ("scan", [s.file for s in scans]),
        }
    summary = analysis.to_dict()
    attrs: dict[str, str | int] = {
        "title": f"stfmr run {analysis.run.name}",
        "stfmr_version": __version__,
        "run_folder": str(analysis.run.folder),
        "sample": json.dumps(summary["sample"]),
        "analysis": json.dumps({k: v for k, v in summary.items() if k not in ("sample",)}, default=str),
    }
    if (Path(analysis.run.folder) / MANIFEST).exists():
        attrs["SIMULATED"] = int(bool(load_manifest(analysis.run.folder).header.get("SIMULATED")))
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def export_netcdf(analysis: SampleAnalysis, path: str | Path) -> Path:
    """Write the run as NetCDF; return the path."""
    path = Path(path)
    run_dataset(analysis).to_netcdf(path)
    return path
