"""Sequence files: what to measure, as TOML, validated in full before anything moves.

A sequence holds the sample record and a list of steps::

    [sample]                      # analysis.sample.SampleMetadata keys, all required
    name = "type-A"
    Ms_t_A = 3.4e-3
    ...

    [[step]]
    kind = "angle_sweep"          # field_sweep, angle_sweep, frequency_sweep, dc_bias_sweep, amr, rf_calibration, autophase, magnet_calibration
    frequency_GHz = 10.0
    power_dBm = 15.0
    angles_deg = {start = 0, stop = 345, step = 15}
    window_mT = 80.0              # centred on the predicted resonance ...
    mu0_Meff_T = 0.6              # ... from a Kittel fit of this run's spectra, or this value
    field_points = 121

Grids are a list of numbers, or a table ``{start, stop, step}`` (step > 0) or
``{start, stop, points}``. Every step expands into *tasks*, one per Results file
(one spectrum, one AMR sweep, one calibration per frequency), each checked
against the bench limits at load time: the error names the step, the key and
the value.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stfmr.analysis.resonance import resonance_field_mT
from stfmr.analysis.sample import SampleMetadata

#: lowest field of a centred window (mT): windows never cross zero
MIN_WINDOW_START_MT = 1.0


class SequenceError(ValueError):
    """A sequence file that cannot be run; the message names the step and key."""


@dataclass(frozen=True)
class Task:
    """One Results file to measure: a procedure class name and its parameters."""

    key: str  #: stable identity across resumes, e.g. "s2-5"
    step: int  #: 1-based step number
    kind: str  #: step kind
    procedure: str  #: FieldSweep, Autophase, AmrSweep or RfCalibration
    parameters: dict[str, Any]
    label: str  #: for file names, e.g. "10GHz_45deg"
    #: a centred window: (width mT, mu0*M_eff T, g) to resolve at run time
    window: tuple[float, float, float] | None = None

    def where(self, source: str = "") -> str:
        """How messages name this task: ``sequence SOURCE: step N (kind) at LABEL``."""
        head = f"sequence {source}: " if source else ""
        return f"{head}step {self.step} ({self.kind}) at {self.label}"


@dataclass
class Sequence:
    source: str
    text: str
    sample: SampleMetadata
    tasks: list[Task] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def with_steps(self, steps: list[dict[str, Any]], bench: Any = None) -> Sequence:
        """This sequence with ``steps`` (tables as a sequence file holds them) appended, checked in full.

        The text grows by the new ``[[step]]`` tables, so earlier tasks keep
        their keys and a run folder measured with the shorter sequence can be
        continued with the longer one. ``bench``: as for :func:`parse_sequence`.
        """
        import tomli_w

        text = self.text.rstrip("\n") + "\n"
        for step in steps:
            text += "\n" + tomli_w.dumps({"step": [step]})
        return parse_sequence(text, self.source, bench)


# -- grids -----------------------------------------------------------------------------------


def grid(value: Any, where: str) -> np.ndarray:
    """Return the values of a grid spec (a list, {start, stop, step} or {start, stop, points})."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.array([float(value)])
    if isinstance(value, list):
        if not value:
            raise SequenceError(f"{where}: empty grid")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise SequenceError(f"{where}: a grid list must hold numbers, got {value!r}")
        return np.array(value, dtype=float)
    if isinstance(value, dict):
        keys = set(value)
        if not {"start", "stop"} <= keys or len(keys & {"step", "points"}) != 1 or keys - {"start", "stop", "step", "points"}:
            raise SequenceError(f"{where}: a grid table needs start, stop and one of step or points, got {sorted(keys)}")
        start, stop = _number(value["start"], f"{where}.start"), _number(value["stop"], f"{where}.stop")
        if "step" in value:
            step = _number(value["step"], f"{where}.step")
            if step <= 0:
                raise SequenceError(f"{where}.step: must be positive, got {step:g} (the direction follows start and stop)")
            n = int(np.floor(abs(stop - start) / step + 1e-9)) + 1
            return start + np.sign(stop - start or 1) * step * np.arange(n)
        points = value["points"]
        if not isinstance(points, int) or isinstance(points, bool) or points < 1:
            raise SequenceError(f"{where}.points: must be a positive integer, got {points!r}")
        return np.linspace(start, stop, points)
    raise SequenceError(f"{where}: expected a number, a list or a grid table, got {value!r}")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise SequenceError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


def _int(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SequenceError(f"{where}: expected an integer >= {minimum}, got {value!r}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise SequenceError(f"{where}: expected true or false, got {value!r}")
    return value


# -- steps -------------------------------------------------------------------------------------

_SPECTRUM_KEYS = {"power_dBm", "field_points", "both_branches", "dwell_s", "field_start_mT", "field_stop_mT",
                  "window_mT", "mu0_Meff_T", "g", "dc_current_mA"}
STEP_KEYS: dict[str, set[str]] = {
    "field_sweep": _SPECTRUM_KEYS | {"frequency_GHz", "angle_deg"},
    "autophase": _SPECTRUM_KEYS | {"frequency_GHz", "angle_deg"},
    "angle_sweep": _SPECTRUM_KEYS | {"frequency_GHz", "angles_deg"},
    "frequency_sweep": _SPECTRUM_KEYS | {"frequencies_GHz", "angle_deg"},
    "dc_bias_sweep": (_SPECTRUM_KEYS - {"dc_current_mA"}) | {"frequency_GHz", "angle_deg", "dc_currents_mA"},
    "amr": {"field_mT", "angles_deg", "sense_current_mA"},
    "rf_calibration": {"frequencies_GHz", "field_mT", "dc_max_mA", "dc_points", "powers_dBm", "sense_current_mA"},
    "magnet_calibration": {"max_current_A", "points_per_branch", "settle_s", "calibration_file"},
    "frequency_scan": {"field_mT", "frequencies_GHz", "angle_deg", "power_dBm", "dwell_s", "both_branches",
                       "dc_current_mA", "g"},
}
_REQUIRED: dict[str, set[str]] = {
    "field_sweep": {"frequency_GHz", "power_dBm"},
    "autophase": {"frequency_GHz", "power_dBm"},
    "angle_sweep": {"frequency_GHz", "power_dBm", "angles_deg"},
    "frequency_sweep": {"frequencies_GHz", "power_dBm"},
    "dc_bias_sweep": {"frequency_GHz", "power_dBm", "dc_currents_mA"},
    "amr": {"field_mT", "angles_deg"},
    "rf_calibration": {"frequencies_GHz", "field_mT", "powers_dBm"},
    "magnet_calibration": {"max_current_A"},
    "frequency_scan": {"field_mT", "frequencies_GHz", "power_dBm"},
}


def _spectrum_tasks(n: int, kind: str, step: dict[str, Any], where: str) -> list[Task]:
    common: dict[str, Any] = {"power_dBm": _number(step["power_dBm"], f"{where} power_dBm")}
    common["field_points"] = _int(step.get("field_points", 121), f"{where} field_points", 3)
    common["both_branches"] = _bool(step.get("both_branches", False), f"{where} both_branches")
    common["dwell_s"] = _number(step.get("dwell_s", 0.0), f"{where} dwell_s")
    common["dc_current_mA"] = _number(step.get("dc_current_mA", 0.0), f"{where} dc_current_mA")
    if common["dwell_s"] < 0:
        raise SequenceError(f"{where} dwell_s: must not be negative, got {common['dwell_s']:g}")
    window = None
    has_window = "window_mT" in step
    has_range = "field_start_mT" in step or "field_stop_mT" in step
    if has_window == has_range:
        raise SequenceError(f"{where}: give either window_mT (centred on the resonance) or field_start_mT and field_stop_mT")
    if has_window:
        width = _number(step["window_mT"], f"{where} window_mT")
        if width <= 0:
            raise SequenceError(f"{where} window_mT: must be positive, got {width:g}")
        if "mu0_Meff_T" not in step:
            raise SequenceError(f"{where}: mu0_Meff_T is needed to centre window_mT before a Kittel fit exists")
        meff = _number(step["mu0_Meff_T"], f"{where} mu0_Meff_T")
        window = (width, meff, _number(step.get("g", 2.1), f"{where} g"))
    else:
        for key in ("field_start_mT", "field_stop_mT"):
            if key not in step:
                raise SequenceError(f"{where}: {key} is missing")
            common[key] = _number(step[key], f"{where} {key}")
            if common[key] < 0:
                raise SequenceError(f"{where} {key}: give positive fields (both_branches adds the negative branch), got {common[key]:g}")
    if kind == "frequency_sweep":
        pairs = [(f, _number(step.get("angle_deg", 45.0), f"{where} angle_deg"))
                 for f in grid(step["frequencies_GHz"], f"{where} frequencies_GHz")]
    elif kind == "angle_sweep":
        f = _number(step["frequency_GHz"], f"{where} frequency_GHz")
        pairs = [(f, a) for a in grid(step["angles_deg"], f"{where} angles_deg")]
    elif kind == "dc_bias_sweep":
        return _dc_bias_tasks(n, step, where, common, window)
    else:
        pairs = [(_number(step["frequency_GHz"], f"{where} frequency_GHz"),
                  _number(step.get("angle_deg", 45.0), f"{where} angle_deg"))]
    tasks = []
    for k, (f, a) in enumerate(pairs):
        if f <= 0:
            raise SequenceError(f"{where} frequency: must be positive, got {f:g} GHz")
        params = dict(common, frequency_GHz=float(f), angle_deg=float(a))
        procedure = "Autophase" if kind == "autophase" else "FieldSweep"
        tasks.append(Task(f"s{n}-{k}", n, kind, procedure, params, f"{f:g}GHz_{a:g}deg", window))
    return tasks


def dc_bias_order(currents, where: str) -> list[float]:
    """The dc currents (mA) in measuring order: interleaved by |I| with alternating sign (0, +I1, -I1, ...).

    A slow drift of the linewidth then adds to the even part, not to the odd slope that
    gives xi_DL. Refuses fewer than 3 currents or a single polarity, naming ``where``.
    """
    values = [float(i) for i in currents]
    if len(values) < 3 or not (any(i > 0 for i in values) and any(i < 0 for i in values)):
        raise SequenceError(f"{where}: give 3 or more currents of both polarities (the odd part of the "
                            f"linewidth gives xi_DL, the even part is heating), got {values}")
    return sorted(values, key=lambda i: (abs(i), -np.sign(i)))


def _dc_bias_tasks(n: int, step: dict[str, Any], where: str, common: dict[str, Any],
                   window: tuple[float, float, float] | None) -> list[Task]:
    """One spectrum per dc current; both polarities, since only the odd part of dH(I_dc) is spin torque."""
    order = dc_bias_order(grid(step["dc_currents_mA"], f"{where} dc_currents_mA"), f"{where} dc_currents_mA")
    f = _number(step["frequency_GHz"], f"{where} frequency_GHz")
    a = _number(step.get("angle_deg", 45.0), f"{where} angle_deg")
    if f <= 0:
        raise SequenceError(f"{where} frequency: must be positive, got {f:g} GHz")
    return [Task(f"s{n}-{k}", n, "dc_bias_sweep", "FieldSweep",
                 dict(common, frequency_GHz=f, angle_deg=a, dc_current_mA=float(i)),
                 f"{f:g}GHz_{a:g}deg_{i:+g}mA", window)
            for k, i in enumerate(order)]


def _amr_tasks(n: int, step: dict[str, Any], where: str) -> list[Task]:
    angles = grid(step["angles_deg"], f"{where} angles_deg")
    if len(angles) < 3:
        raise SequenceError(f"{where} angles_deg: an AMR fit needs at least 3 angles, got {len(angles)}")
    steps = np.diff(angles)
    if not np.allclose(steps, steps[0]):
        raise SequenceError(f"{where} angles_deg: AMR angles must be evenly spaced")
    params = {"field_mT": _number(step["field_mT"], f"{where} field_mT"),
              "angle_start_deg": float(angles[0]), "angle_stop_deg": float(angles[-1]),
              "angle_points": len(angles),
              "sense_current_mA": _number(step.get("sense_current_mA", 0.1), f"{where} sense_current_mA")}
    return [Task(f"s{n}-0", n, "amr", "AmrSweep", params, f"{params['field_mT']:g}mT")]


def _rf_calibration_tasks(n: int, step: dict[str, Any], where: str) -> list[Task]:
    powers = grid(step["powers_dBm"], f"{where} powers_dBm")
    if len(powers) < 2:
        raise SequenceError(f"{where} powers_dBm: R(P) needs at least 2 powers")
    tasks = []
    for k, f in enumerate(grid(step["frequencies_GHz"], f"{where} frequencies_GHz")):
        params = {"frequency_GHz": float(f), "field_mT": _number(step["field_mT"], f"{where} field_mT"),
                  "dc_max_mA": _number(step.get("dc_max_mA", 4.0), f"{where} dc_max_mA"),
                  "dc_points": _int(step.get("dc_points", 9), f"{where} dc_points", 3),
                  "power_start_dBm": float(powers[0]), "power_stop_dBm": float(powers[-1]),
                  "power_points": len(powers),
                  "sense_current_mA": _number(step.get("sense_current_mA", 0.1), f"{where} sense_current_mA")}
        tasks.append(Task(f"s{n}-{k}", n, "rf_calibration", "RfCalibration", params, f"{f:g}GHz"))
    return tasks


def _frequency_scan_tasks(n: int, step: dict[str, Any], where: str) -> list[Task]:
    """One FrequencyScan per field of ``field_mT`` (a number or a grid); frequencies evenly spaced."""
    freqs = grid(step["frequencies_GHz"], f"{where} frequencies_GHz")
    if len(freqs) < 3 or np.any(freqs <= 0) or freqs[1] == freqs[0] \
            or not np.allclose(np.diff(freqs), freqs[1] - freqs[0]):
        raise SequenceError(f"{where} frequencies_GHz: give 3 or more positive, evenly spaced frequencies, "
                            f"got {freqs.tolist()}")
    common = {"frequency_start_GHz": float(freqs[0]), "frequency_stop_GHz": float(freqs[-1]),
              "frequency_points": len(freqs),
              "power_dBm": _number(step["power_dBm"], f"{where} power_dBm"),
              "angle_deg": _number(step.get("angle_deg", 45.0), f"{where} angle_deg"),
              "both_branches": _bool(step.get("both_branches", False), f"{where} both_branches"),
              "dwell_s": _number(step.get("dwell_s", 0.0), f"{where} dwell_s"),
              "dc_current_mA": _number(step.get("dc_current_mA", 0.0), f"{where} dc_current_mA"),
              "g": _number(step.get("g", 2.1), f"{where} g")}
    if common["dwell_s"] < 0:
        raise SequenceError(f"{where} dwell_s: must not be negative, got {common['dwell_s']:g}")
    tasks = []
    for k, h in enumerate(grid(step["field_mT"], f"{where} field_mT")):
        if h <= 0:
            raise SequenceError(f"{where} field_mT: give positive fields (both_branches adds the negative one), "
                                f"got {h:g}")
        tasks.append(Task(f"s{n}-{k}", n, "frequency_scan", "FrequencyScan", dict(common, field_mT=float(h)),
                          f"{h:g}mT_{common['angle_deg']:g}deg"))
    return tasks


def _magnet_calibration_tasks(n: int, step: dict[str, Any], where: str) -> list[Task]:
    """One MagnetCalibration: the loop +-max_current_A; the calibration CSV goes into the run folder."""
    from stfmr.procedures.magnet_calibration import DEFAULT_CALIBRATION_FILE, check_calibration_name

    imax = _number(step["max_current_A"], f"{where} max_current_A")
    if imax <= 0:
        raise SequenceError(f"{where} max_current_A: must be positive (the loop is +-max_current_A), got {imax:g}")
    name = step.get("calibration_file", DEFAULT_CALIBRATION_FILE)
    try:
        check_calibration_name(name, where)
    except ValueError as exc:
        raise SequenceError(str(exc)) from None
    params = {"max_current_A": imax,
              "points_per_branch": _int(step.get("points_per_branch", 41), f"{where} points_per_branch", 3),
              "settle_s": _number(step.get("settle_s", 1.0), f"{where} settle_s"), "calibration_file": name}
    if params["settle_s"] < 0:
        raise SequenceError(f"{where} settle_s: must not be negative, got {params['settle_s']:g}")
    return [Task(f"s{n}-0", n, "magnet_calibration", "MagnetCalibration", params, f"{imax:g}A")]


def window_range(width_mT: float, center_mT: float) -> tuple[float, float]:
    """Return (start, stop) in mT of a window of ``width_mT`` centred on ``center_mT``, kept above zero."""
    start = max(center_mT - width_mT / 2.0, MIN_WINDOW_START_MT)
    return start, start + width_mT


def predicted_parameters(task: Task) -> dict[str, Any]:
    """The task's parameters with a centred window placed where the step's mu0*M_eff predicts the resonance.

    At run time the window follows a Kittel fit of the spectra measured so far;
    this prediction is what a plan check can know before anything is measured.
    """
    params = dict(task.parameters)
    if task.window is not None:
        width, meff, g = task.window
        centre = resonance_field_mT(params["frequency_GHz"], meff, g)
        params["field_start_mT"], params["field_stop_mT"] = window_range(width, centre)
    return params


# -- loading ---------------------------------------------------------------------------------


def parse_sequence(text: str, source: str, bench: Any = None, *, allow_empty: bool = False) -> Sequence:
    """Parse and validate a sequence; with ``bench`` (a BenchConfig, or its Limits), dry-run every task's plan.

    The dry run (:mod:`stfmr.procedures.plan_check`) builds each task's
    procedure and checks every value it will set against the bench's limits,
    before any instrument is opened.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SequenceError(f"sequence {source}: not valid TOML: {exc}") from exc
    unknown = set(data) - {"sample", "step"}
    if unknown:
        raise SequenceError(f"sequence {source}: unknown table {sorted(unknown)[0]!r} (allowed: [sample], [[step]])")
    if "sample" not in data:
        raise SequenceError(f"sequence {source}: the [sample] table (sample metadata) is missing")
    try:
        sample = SampleMetadata.from_dict(data["sample"])
    except ValueError as exc:
        raise SequenceError(f"sequence {source}: [sample]: {exc}") from exc
    steps = data.get("step", [])
    if not steps and not allow_empty:
        raise SequenceError(f"sequence {source}: no [[step]] to run")
    tasks: list[Task] = []
    for n, step in enumerate(steps, start=1):
        kind = step.get("kind")
        where = f"sequence {source}: step {n} ({kind})"
        if kind not in STEP_KEYS:
            raise SequenceError(f"sequence {source}: step {n}: unknown kind {kind!r} "
                                f"(known: {', '.join(STEP_KEYS)})")
        extra = set(step) - STEP_KEYS[kind] - {"kind"}
        if extra:
            raise SequenceError(f"{where}: unknown key {sorted(extra)[0]!r}")
        missing = _REQUIRED[kind] - set(step)
        if missing:
            raise SequenceError(f"{where}: {sorted(missing)[0]} is missing")
        if kind == "amr":
            tasks += _amr_tasks(n, step, where)
        elif kind == "rf_calibration":
            tasks += _rf_calibration_tasks(n, step, where)
        elif kind == "magnet_calibration":
            tasks += _magnet_calibration_tasks(n, step, where)
        elif kind == "frequency_scan":
            tasks += _frequency_scan_tasks(n, step, where)
        else:
            tasks += _spectrum_tasks(n, kind, step, where)
    outputs = [t.parameters["calibration_file"] for t in tasks if "calibration_file" in t.parameters]
    repeated = sorted({name for name in outputs if outputs.count(name) > 1})
    if repeated:
        raise SequenceError(f"sequence {source}: two magnet_calibration steps write {repeated[0]!r}: "
                            "give each its own calibration_file")
    sequence = Sequence(source, text, sample, tasks)
    if bench is not None:
        from stfmr.procedures.plan_check import check_sequence

        check_sequence(sequence, bench)
    return sequence


def load_sequence(path: str | Path, bench: Any = None) -> Sequence:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SequenceError(f"sequence {path}: cannot be read: {exc.strerror or exc}") from exc
    return parse_sequence(text, str(path), bench)
