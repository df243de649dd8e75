"""Read a run folder (stfmr's, or a foreign folder of Results files) into measurements.

With a manifest, every complete entry is read and grouped by its step; files
the manifest marks incomplete, failed or aborted are listed as skipped, and so
is any file in the folder the manifest does not index (e.g. one copied in from
another run). Without a manifest, every ``*.csv`` is read and sorted by its
columns (spectrum, frequency scan, AMR, rf calibration) and its header parameters. A file that
cannot be read, or that holds fewer rows than its parameters promise
(truncated), is reported by name and skipped: never fatal to the others.
Raw files are only ever read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stfmr.analysis.datafile import DataFileError, read_datafile
from stfmr.analysis.frequency_scan import is_frequency_scan
from stfmr.analysis.run_manifest import MANIFEST, load_manifest
from stfmr.analysis.sample import SampleMetadata



@dataclass
class Spectrum:
    """One spectrum file: V_FMR (V) against the measured field (mT)."""

    file: str
    kind: str  #: sequence step kind ("angle_sweep", "frequency_sweep", "field_sweep", or "spectrum")
    frequency_GHz: float
    angle_deg: float
    power_dBm: float
    dc_current_mA: float
    field_mT: np.ndarray
    set_field_mT: np.ndarray
    voltage_V: np.ndarray


@dataclass
class FrequencyScanData:
    """One frequency-scan file: V_FMR (V) against the rf frequency (GHz) at fixed field (one or both signs).

    Fitted by :func:`stfmr.analysis.frequency_scan.fit_frequency_scan`; not (yet) part of
    the efficiency analysis, which reads field sweeps.
    """

    file: str
    kind: str  #: sequence step kind ("frequency_scan"), or "frequency_scan" without a manifest
    angle_deg: float
    power_dBm: float
    dc_current_mA: float
    frequency_GHz: np.ndarray
    field_mT: np.ndarray  #: measured, per point
    set_field_mT: np.ndarray
    voltage_V: np.ndarray


@dataclass
class AmrData:
    file: str
    angle_deg: np.ndarray
    resistance_Ohm: np.ndarray


@dataclass
class RfCalibrationData:
    file: str
    frequency_GHz: float
    I_dc_mA: np.ndarray
    R_dc_Ohm: np.ndarray
    power_dBm: np.ndarray
    R_rf_Ohm: np.ndarray


@dataclass
class RunData:
    """Everything usable in one run folder, and what was skipped and why."""

    folder: Path
    name: str
    sample: SampleMetadata | None
    spectra: list[Spectrum] = field(default_factory=list)
    amr: list[AmrData] = field(default_factory=list)
    rf_calibrations: list[RfCalibrationData] = field(default_factory=list)
    frequency_scans: list[FrequencyScanData] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  #: {"file", "reason"}

    def skip(self, file: str, reason: str) -> None:
        self.skipped.append({"file": file, "reason": reason})


_NUMBER = re.compile(r"^\s*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)")


def _header_number(header: dict[str, str], name: str, default: float = float("nan")) -> float:
    m = _NUMBER.match(header.get(name, ""))
    return float(m.group(1)) if m else default


def _classify(columns: list[str]) -> str | None:
    if "V_FMR (V)" in columns and "Field (mT)" in columns:
        return "spectrum"
    if "Resistance (ohm)" in columns and "RF on" in columns:
        return "rf_calibration"
    if "Resistance (ohm)" in columns and "Angle (deg)" in columns:
        return "amr"
    return None


def _expected_rows(kind: str, header: dict[str, str]) -> float:
    """Rows a complete file holds according to its own parameters (nan if unknown)."""
    if kind == "spectrum":
        n = _header_number(header, "Field points")
        return n * (2 if header.get("Both branches", "").startswith("True") else 1)
    if kind == "frequency_scan":
        n = _header_number(header, "Frequency points")
        return n * (2 if header.get("Both branches", "").startswith("True") else 1)
    if kind == "amr":
        return _header_number(header, "Angle points")
    if kind == "rf_calibration":
        return 2 * (_header_number(header, "DC current points") - 1) + _header_number(header, "Power points")
    return float("nan")


Measurement = Spectrum | FrequencyScanData | AmrData | RfCalibrationData


def load_file(path: Path, step_kind: str | None) -> Measurement | str:
    """Read one file; a string says why it cannot be used."""
    try:
        data = read_datafile(path)
    except (DataFileError, OSError, ValueError) as exc:
        return f"unreadable: {exc}"
    kind = _classify(data.names)
    if kind == "spectrum" and is_frequency_scan(data.columns):
        kind = "frequency_scan"
    if (data.procedure or "").endswith("Autophase"):
        return "autophase step: measured before the lock-in phase was set"
    if kind is None:  # the column names are not quoted: the file may be anything
        return (f"not a spectrum, AMR or rf-calibration file: the column names on line {data.names_line} "
                "lack Field (mT) and V_FMR (V) (spectrum), Resistance (ohm) and Angle (deg) (AMR), "
                "and Resistance (ohm) and RF on (rf calibration)")
    expected = _expected_rows(kind, data.header)
    if np.isfinite(expected) and len(data) < expected:
        return f"truncated: {len(data)} of {int(expected)} rows"
    if len(data) == 0:
        return "no data rows"
    c = data.columns

    def setting(column: str, parameter: str, default: float = float("nan")) -> float:
        """A fixed setting: the median of its column, else the header parameter, else ``default``."""
        if column in c:
            return float(np.nanmedian(c[column]))
        return _header_number(data.header, parameter, default) if parameter else default

    if kind in ("spectrum", "frequency_scan"):
        common: dict[str, Any] = {
            "angle_deg": setting("Angle (deg)", "Angle"), "power_dBm": setting("Power (dBm)", "Power"),
            "dc_current_mA": setting("I_dc (mA)", "", 0.0), "field_mT": c["Field (mT)"],
            "set_field_mT": c.get("Field set (mT)", c["Field (mT)"]), "voltage_V": c["V_FMR (V)"]}
    if kind == "spectrum":
        return Spectrum(file=path.name, kind=step_kind or "spectrum",
                        frequency_GHz=setting("Frequency (GHz)", "Frequency"), **common)
    if kind == "frequency_scan":
        return FrequencyScanData(file=path.name, kind=step_kind or "frequency_scan",
                                 frequency_GHz=c["Frequency (GHz)"], **common)
    if kind == "amr":
        return AmrData(path.name, c["Angle (deg)"], c["Resistance (ohm)"])
    dc = c["RF on"] == 0
    return RfCalibrationData(path.name, float(np.nanmedian(c["Frequency (GHz)"])), c["I_dc (mA)"][dc],
                             c["Resistance (ohm)"][dc], c["Power (dBm)"][~dc], c["Resistance (ohm)"][~dc])


def _load_pair(args: tuple[Path, str | None]) -> Measurement | str:
    return load_file(*args)


def add_measurement(run: RunData, path: Path, loaded: Measurement | str) -> None:
    """File what :func:`load_file` returned in its list of ``run`` (or as skipped, with the reason)."""
    if isinstance(loaded, str):
        run.skip(path.name, loaded)
    elif isinstance(loaded, Spectrum):
        run.spectra.append(loaded)
    elif isinstance(loaded, FrequencyScanData):
        run.frequency_scans.append(loaded)
    elif isinstance(loaded, AmrData):
        run.amr.append(loaded)
    else:
        run.rf_calibrations.append(loaded)


def _load_all(run: RunData, items: list[tuple[Path, str | None]], jobs: int) -> None:
    """Read files in order, over ``jobs`` processes when there are many."""
    if jobs > 1 and len(items) >= 32:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            loaded = list(pool.map(_load_pair, items, chunksize=max(1, len(items) // (4 * jobs))))
    else:
        loaded = [load_file(p, k) for p, k in items]
    for (path, _), item in zip(items, loaded):
        add_measurement(run, path, item)


def _sample_from_header(path: Path) -> SampleMetadata | None:
    try:
        text = read_datafile(path).header.get("Sample", "")
        return SampleMetadata.from_dict(json.loads(text)) if text else None
    except (DataFileError, OSError, ValueError):
        return None


def read_run(folder: str | Path, jobs: int = 1) -> RunData:
    """Read a run folder (with or without a manifest), over ``jobs`` processes."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such run folder")
    manifest_path = folder / MANIFEST
    files = sorted(p for p in folder.glob("*.csv"))
    if manifest_path.exists():
        manifest = load_manifest(folder)  # every file it names is confined to the folder
        header = manifest.header
        sample = SampleMetadata.from_dict(header["sample"]) if header.get("sample") else None
        run = RunData(folder, sample.name if sample else folder.name, sample)
        indexed = set()
        items = []
        for entry in manifest.entries:
            indexed.add(entry["file"])
            indexed.update(entry.get("outputs", []))  # files a step derived, e.g. coil_calibration.csv
            if entry["status"] != "complete":
                run.skip(entry["file"], f"{entry['status']} in the manifest")
                continue
            if entry["kind"] == "autophase":
                run.skip(entry["file"], "autophase step: measured before the lock-in phase was set")
                continue
            if entry["kind"] == "magnet_calibration":
                continue  # a calibration of the bench, not of the sample
            path = folder / entry["file"]
            if not path.exists():
                run.skip(entry["file"], "listed in the manifest but missing")
                continue
            items.append((path, entry["kind"]))
        _load_all(run, items, jobs)
        for path in files:
            if path.name not in indexed:
                run.skip(path.name, "not in the manifest (a file from another run or step): not analysed")
        return run
    sample = next((s for s in map(_sample_from_header, files) if s is not None), None)
    run = RunData(folder, sample.name if sample else folder.name, sample)
    _load_all(run, [(p, None) for p in files], jobs)
    return run
