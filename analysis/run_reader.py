"""Read a run folder (stfmr's, or a foreign folder of Results files) into measurements.

With a manifest, every complete entry is read and grouped by its step; files
the manifest marks incomplete, failed or aborted are listed as skipped, and so
is any file in the folder the manifest does not index (e.g. one copied in from
another run). Without a manifest, every ``*.csv`` is read and sorted by its
columns (spectrum, frequency scan, AMR, rf calibration) and its header parameters; so are another
lab's ``.lvm``, ``.dat`` and ``.txt`` files, with the spectrum columns and units the options name
(:class:`~stfmr.analysis.spectrum_columns.SpectrumColumns`) and a per-file metadata table
(:class:`~stfmr.analysis.metadata_table.MetadataTable`) for what the files lack. A file that
cannot be read, or that holds fewer rows than its parameters promise
(truncated), is skipped with its name, a kind and the reason
(:class:`~stfmr.analysis.skip_reasons.Skipped`): never fatal to the others.
Raw files are only ever read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stfmr.analysis import columns as col
from stfmr.analysis.datafile import DataFileError, header_quantity, read_datafile
from stfmr.analysis.frequency_scan import is_frequency_scan
from stfmr.analysis.metadata_table import MetadataTable
from stfmr.analysis.run_manifest import COMPLETE, MANIFEST, load_manifest
from stfmr.analysis.sample import SampleMetadata
from stfmr.analysis.skip_reasons import SkipKind, Skipped, Unusable
from stfmr.analysis.spectrum_columns import RepeatedFieldsError, SpectrumColumns
from stfmr.analysis.units import ANGLE_TO_DEG, FREQUENCY_TO_GHZ, POWER_TO_DBM

#: the suffixes of the files read from a folder without a manifest (another lab's folder)
DATA_SUFFIXES = (".csv", ".lvm", ".dat", ".txt")
#: each header parameter's unit table (its unit in the header converted to GHz, deg, dBm)
_PARAM_UNITS = {col.FREQUENCY_PARAM: FREQUENCY_TO_GHZ, col.ANGLE_PARAM: ANGLE_TO_DEG, col.POWER_PARAM: POWER_TO_DBM}


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
    skipped: list[Skipped] = field(default_factory=list)

    def skip(self, file: str, why: Unusable) -> None:
        self.skipped.append(Skipped.of(file, why))


_NUMBER = re.compile(r"^\s*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)")


def _header_number(header: dict[str, str], name: str, default: float = float("nan")) -> float:
    m = _NUMBER.match(header.get(name, ""))
    return float(m.group(1)) if m else default


#: the columns that make a file one kind of measurement, tried in this order (a frequency scan is a
#: "spectrum" by its columns, told apart by its data: :func:`~stfmr.analysis.frequency_scan.is_frequency_scan`)
KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "spectrum": (col.V_FMR, col.FIELD),
    "rf_calibration": (col.RESISTANCE, col.RF_ON),
    "amr": (col.RESISTANCE, col.ANGLE),
}


def classify(columns: list[str], spectrum: SpectrumColumns | None = None) -> str | None:
    """The kind of measurement a file with these column names holds (see :data:`KIND_COLUMNS`), else None.

    ``spectrum``: the field and voltage columns of a spectrum given by options (another lab's names).
    """
    if spectrum is not None and spectrum.field in columns and spectrum.voltage in columns:
        return "spectrum"
    return next((kind for kind, needed in KIND_COLUMNS.items() if all(c in columns for c in needed)), None)


def _both_branches(header: dict[str, str]) -> bool:
    return header.get(col.BOTH_BRANCHES_PARAM, "").startswith("True")


def _expected_rows(kind: str, header: dict[str, str]) -> float:
    """Rows a complete file holds according to its own parameters (nan if unknown)."""
    if kind == "spectrum":
        return _header_number(header, col.FIELD_POINTS_PARAM) * (2 if _both_branches(header) else 1)
    if kind == "frequency_scan":
        return _header_number(header, col.FREQUENCY_POINTS_PARAM) * (2 if _both_branches(header) else 1)
    if kind == "amr":
        return _header_number(header, col.ANGLE_POINTS_PARAM)
    if kind == "rf_calibration":
        return 2 * (_header_number(header, col.DC_CURRENT_POINTS_PARAM) - 1) \
            + _header_number(header, col.POWER_POINTS_PARAM)
    return float("nan")


Measurement = Spectrum | FrequencyScanData | AmrData | RfCalibrationData


#: an autophase step's file, from the manifest or from its header
AUTOPHASE = Unusable(SkipKind.AUTOPHASE, "autophase step: measured before the lock-in phase was set")


def load_file(path: Path, step_kind: str | None, spectrum: SpectrumColumns | None = None) -> Measurement | Unusable:
    """Read one file: the measurement it holds, or why it cannot be used.

    ``spectrum``: the columns, units and repeats rule of spectra (default: stfmr's
    ``Field (mT)`` and ``V_FMR (V)``, repeated fields refused).
    """
    spectrum = spectrum or SpectrumColumns()
    try:
        data = read_datafile(path)
    except (DataFileError, OSError, ValueError) as exc:
        return Unusable(SkipKind.UNREADABLE, f"unreadable: {exc}")
    kind = classify(data.names, spectrum)
    if kind == "spectrum" and is_frequency_scan(data.columns):
        kind = "frequency_scan"
    if (data.procedure or "").endswith("Autophase"):
        return AUTOPHASE
    if kind is None:  # the column names are not quoted: the file may be anything
        return Unusable(SkipKind.NOT_A_MEASUREMENT,
                        f"not a spectrum, AMR or rf-calibration file: the column names on line {data.names_line} "
                        f"lack {spectrum.field} and {spectrum.voltage} (spectrum), {col.RESISTANCE} and {col.ANGLE} "
                        f"(AMR), and {col.RESISTANCE} and {col.RF_ON} (rf calibration); another lab's columns "
                        "are named with --field-column and --voltage-column")
    expected = _expected_rows(kind, data.header)
    if np.isfinite(expected) and len(data) < expected:
        return Unusable(SkipKind.TRUNCATED, f"truncated: {len(data)} of {int(expected)} rows")
    if len(data) == 0:
        return Unusable(SkipKind.NO_ROWS, "no data rows")
    c = data.columns

    def setting(column: str, parameter: str, default: float = float("nan")) -> float:
        """A fixed setting: the median of its column, else the header parameter, else ``default``."""
        if column in c and np.isfinite(c[column]).any():
            return float(np.nanmedian(c[column]))
        if not parameter:
            return default
        value = header_quantity(data.header, parameter, _PARAM_UNITS[parameter])
        return value if np.isfinite(value) else default

    if kind in ("spectrum", "frequency_scan"):
        common: dict[str, Any] = {
            "angle_deg": setting(col.ANGLE, col.ANGLE_PARAM), "power_dBm": setting(col.POWER, col.POWER_PARAM),
            "dc_current_mA": setting(col.I_DC, "", 0.0)}
    if kind == "spectrum":
        if spectrum.field not in c or spectrum.voltage not in c:  # stfmr's own file beside another lab's
            spectrum = SpectrumColumns(repeats=spectrum.repeats, derivative=spectrum.derivative)
        try:
            arrays = spectrum.arrays(data, where=path.name)
        except RepeatedFieldsError as exc:
            return Unusable(SkipKind.REPEATED_FIELDS, str(exc))
        return Spectrum(file=path.name, kind=step_kind or "spectrum",
                        frequency_GHz=setting(col.FREQUENCY, col.FREQUENCY_PARAM), field_mT=arrays.field_mT,
                        set_field_mT=arrays.set_field_mT, voltage_V=arrays.voltage_V, **common)
    if kind == "frequency_scan":
        return FrequencyScanData(file=path.name, kind=step_kind or "frequency_scan",
                                 frequency_GHz=c[col.FREQUENCY], field_mT=c[col.FIELD],
                                 set_field_mT=c.get(col.FIELD_SET, c[col.FIELD]), voltage_V=c[col.V_FMR], **common)
    if kind == "amr":
        return AmrData(path.name, c[col.ANGLE], c[col.RESISTANCE])
    dc = c[col.RF_ON] == 0
    return RfCalibrationData(path.name, float(np.nanmedian(c[col.FREQUENCY])), c[col.I_DC][dc],
                             c[col.RESISTANCE][dc], c[col.POWER][~dc], c[col.RESISTANCE][~dc])


def _load_pair(args: tuple[Path, str | None, SpectrumColumns | None]) -> Measurement | Unusable:
    return load_file(*args)


def add_measurement(run: RunData, path: Path, loaded: Measurement | Unusable) -> None:
    """File what :func:`load_file` returned in its list of ``run`` (or as skipped, with the reason)."""
    if isinstance(loaded, Unusable):
        run.skip(path.name, loaded)
    elif isinstance(loaded, Spectrum):
        run.spectra.append(loaded)
    elif isinstance(loaded, FrequencyScanData):
        run.frequency_scans.append(loaded)
    elif isinstance(loaded, AmrData):
        run.amr.append(loaded)
    else:
        run.rf_calibrations.append(loaded)


def _load_all(run: RunData, items: list[tuple[Path, str | None]], jobs: int,
              spectrum: SpectrumColumns | None = None) -> None:
    """Read files in order, over ``jobs`` processes when there are many."""
    if jobs > 1 and len(items) >= 32:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            loaded = list(pool.map(_load_pair, [(p, k, spectrum) for p, k in items],
                                   chunksize=max(1, len(items) // (4 * jobs))))
    else:
        loaded = [load_file(p, k, spectrum) for p, k in items]
    for (path, _), item in zip(items, loaded):
        add_measurement(run, path, item)


def _sample_from_header(path: Path) -> SampleMetadata | None:
    try:
        text = read_datafile(path).header.get(col.SAMPLE_PARAM, "")
        return SampleMetadata.from_dict(json.loads(text)) if text else None
    except (DataFileError, OSError, ValueError):
        return None


def read_run(folder: str | Path, jobs: int = 1, spectrum: SpectrumColumns | None = None,
             metadata: MetadataTable | None = None) -> RunData:
    """Read a run folder (with or without a manifest), over ``jobs`` processes.

    spectrum: the spectra's columns, units and repeats rule (``--field-column`` ...).
    Without a manifest every ``.csv``, ``.lvm``, ``.dat`` and ``.txt`` file is read.
    metadata: a per-file table of frequency, angle and power (``--metadata``); its
    values replace the files' own.
    """
    run = _read_run(Path(folder), jobs, spectrum, metadata)
    if metadata is not None:
        metadata.apply(run)
    return run


def _read_run(folder: Path, jobs: int, spectrum: SpectrumColumns | None,
              metadata: MetadataTable | None) -> RunData:
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
            if entry["status"] != COMPLETE:
                run.skip(entry["file"], Unusable(SkipKind.NOT_COMPLETE, f"{entry['status']} in the manifest"))
                continue
            if entry["kind"] == "autophase":
                run.skip(entry["file"], AUTOPHASE)
                continue
            if entry["kind"] == "magnet_calibration":
                continue  # a calibration of the bench, not of the sample
            path = folder / entry["file"]
            if not path.exists():
                run.skip(entry["file"], Unusable(SkipKind.MISSING, "listed in the manifest but missing"))
                continue
            items.append((path, entry["kind"]))
        _load_all(run, items, jobs, spectrum)
        for path in files:
            if path.name not in indexed:
                run.skip(path.name, Unusable(SkipKind.NOT_IN_MANIFEST,
                                             "not in the manifest (a file from another run or step): not analysed"))
        return run
    table = metadata.path.resolve() if metadata is not None else None
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in DATA_SUFFIXES and not p.name.startswith(".") and p.is_file()
                   and p.resolve() != table)  # the metadata table may live in the folder it describes
    sample = next((s for s in map(_sample_from_header, files) if s is not None), None)
    run = RunData(folder, sample.name if sample else folder.name, sample)
    _load_all(run, [(p, None) for p in files], jobs, spectrum)
    return run
