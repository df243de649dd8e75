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
    angles_deg = {start = 0, stop = 345, step = 15}   # or "optimal"
    window_mT = 80.0              # centred on the predicted resonance ...
    mu0_Meff_T = 0.6              # ... from a Kittel fit of this run's spectra, or this value
    field_points = 121

A top-level ``target = {xi_DL_E_rel = 0.01, max_rounds = 2}`` stops the run as
soon as the running analysis reaches that relative error of xi_DL^E, and repeats
the steps marked ``repeat_until_target = true`` (at most ``max_rounds`` times)
when every task is done and it is not reached (:mod:`stfmr.procedures.target`).

Grids are a list of numbers, or a table ``{start, stop, step}`` (step > 0) or
``{start, stop, points}``. Every step expands into *tasks*, one per Results file
(one spectrum, one AMR sweep, one calibration per frequency), each checked
against the bench limits at load time: the error names the step, the key and
the value.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stfmr.analysis.measurement_design import OPTIMAL_ANGLES_DEG, SYMMETRY_ANGLES_DEG, optimal_angles_deg
from stfmr.analysis.resonance import resonance_field_mT
from stfmr.analysis.sample import SampleMetadata
from stfmr.analysis.toml_schema import Table, TableReader

if TYPE_CHECKING:
    from stfmr.instruments.bench_config import BenchConfig, Limits
    from stfmr.procedures.plan_check import PlanBench

log = logging.getLogger(__name__)

#: lowest field of a centred window (mT): windows never cross zero
MIN_WINDOW_START_MT = 1.0
#: what an angle_sweep with angles_deg = "optimal" measures (the step's log line)
OPTIMAL_ANGLES_NOTE = (
    f"{len(OPTIMAL_ANGLES_DEG)} angles where |cos^2(phi) sin(phi)| is largest "
    f"({', '.join(f'{a:.2f}' for a in OPTIMAL_ANGLES_DEG)} deg) and {len(SYMMETRY_ANGLES_DEG)} extra angle "
    f"({', '.join(f'{a:g}' for a in SYMMETRY_ANGLES_DEG)} deg) that the general angular fit needs for its "
    "angle offset phi_0; both field branches"
)


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


#: the step kinds a repeat can improve xi_DL^E with (the analysis pools every rf calibration at the
#: angle sweep's frequency and every AMR sweep), and the keys of ``target``
REPEATABLE_KINDS = ("frequency_sweep", "angle_sweep", "rf_calibration", "amr")
TARGET_KEYS = ("xi_DL_E_rel", "max_rounds")
#: rounds of repeats a target allows by default, and at most
DEFAULT_MAX_ROUNDS = 2
MAX_ROUNDS_LIMIT = 10


@dataclass(frozen=True)
class Target:
    """When a run stops by itself: the relative standard error of xi_DL^E to reach, and the repeats allowed."""

    xi_DL_E_rel: float  #: stderr / |value| of xi_DL^E, 0 < x < 1
    max_rounds: int = DEFAULT_MAX_ROUNDS  #: how many times the marked steps may be appended again

    def to_dict(self) -> dict[str, Any]:
        return {"xi_DL_E_rel": self.xi_DL_E_rel, "max_rounds": self.max_rounds}


@dataclass
class Sequence:
    source: str
    text: str
    sample: SampleMetadata
    tasks: list[Task] = field(default_factory=list)
    #: the top-level ``target``, if any
    target: Target | None = None
    #: the steps marked ``repeat_until_target = true``: (step number, the step's table as the file holds it)
    marked_steps: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    #: the bench (a BenchConfig or Limits) every task's plan was dry-run against, if any
    checked_against: Any = field(default=None, compare=False, repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def with_steps(self, steps: list[dict[str, Any]], bench: BenchConfig | Limits | PlanBench | None = None
                   ) -> Sequence:
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


# -- grids and values -------------------------------------------------------------------------

#: how sequence files are read: "<where> <key>: <problem>", "unknown key 'x'", "x is missing"
READER = TableReader(SequenceError)


def grid(value: Any, where: str) -> np.ndarray:
    """Return the values of a grid spec (a list, {start, stop, step} or {start, stop, points})."""
    return READER.grid(value, where)


# -- steps -------------------------------------------------------------------------------------

_SPECTRUM_KEYS = {"power_dBm", "field_points", "both_branches", "dwell_s", "field_start_mT", "field_stop_mT",
                  "window_mT", "mu0_Meff_T", "g", "dc_current_mA", "fields_mT", "field_grid", "target_rel_error",
                  "point_budget", "readings_per_point"}
#: keys of an adaptive field grid, beside field_grid = "adaptive"
_ADAPTIVE_KEYS = ("target_rel_error", "point_budget")
STEP_KEYS: dict[str, set[str]] = {
    "field_sweep": _SPECTRUM_KEYS | {"frequency_GHz", "angle_deg"},
    "autophase": _SPECTRUM_KEYS | {"frequency_GHz", "angle_deg"},
    "angle_sweep": _SPECTRUM_KEYS | {"frequency_GHz", "angles_deg"},
    "frequency_sweep": _SPECTRUM_KEYS | {"frequencies_GHz", "angle_deg"},
    "dc_bias_sweep": (_SPECTRUM_KEYS - {"dc_current_mA"}) | {"frequency_GHz", "angle_deg", "dc_currents_mA"},
    "amr": {"field_mT", "angles_deg", "sense_current_mA"},
    "rf_calibration": {"frequencies_GHz", "field_mT", "dc_max_mA", "dc_points", "powers_dBm", "sense_current_mA",
                       "design", "repeats"},
    "magnet_calibration": {"max_current_A", "points_per_branch", "settle_s", "calibration_file"},
    "frequency_scan": {"field_mT", "frequencies_GHz", "angle_deg", "power_dBm", "dwell_s", "both_branches",
                       "dc_current_mA", "g", "readings_per_point"},
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
#: how an rf_calibration step spreads its readings (see :func:`_rf_calibration_tasks`)
RF_CALIBRATION_DESIGNS = ("precision", "grid")
#: defaults of the optional step keys (one table for every kind)
def _parameter_defaults() -> dict[str, Any]:
    """Defaults of the optional step keys: those of the procedures' pymeasure Parameters (their one home)."""
    from stfmr.procedures.amr import AmrSweep
    from stfmr.procedures.field_sweep import FieldSweep
    from stfmr.procedures.frequency_scan import FrequencyScan
    from stfmr.procedures.magnet_calibration import MagnetCalibration
    from stfmr.procedures.rf_calibration import RfCalibration

    owners = {"field_points": FieldSweep, "both_branches": FieldSweep, "dwell_s": FieldSweep,
              "readings_per_point": FieldSweep, "dc_current_mA": FieldSweep, "angle_deg": FieldSweep, "g": FrequencyScan,
              "sense_current_mA": AmrSweep, "dc_max_mA": RfCalibration, "dc_points": RfCalibration,
              "points_per_branch": MagnetCalibration, "settle_s": MagnetCalibration,
              "field_grid": FieldSweep, "target_rel_error": FieldSweep, "point_budget": FieldSweep}
    return {key: getattr(cls, key).default for key, cls in owners.items()}


STEP_DEFAULTS: dict[str, Any] = _parameter_defaults()


def _spectrum_tasks(n: int, kind: str, step: Table) -> list[Task]:
    common: dict[str, Any] = {"power_dBm": step.number("power_dBm"),
                              "field_points": step.integer("field_points", minimum=3),
                              "both_branches": step.boolean("both_branches"),
                              "dwell_s": step.non_negative("dwell_s"),
                              "readings_per_point": step.integer("readings_per_point", minimum=1),
                              "dc_current_mA": step.number("dc_current_mA")}
    window = None
    has_window = "window_mT" in step
    has_range = "field_start_mT" in step or "field_stop_mT" in step
    grid_kind = step.one_of("field_grid", ("uniform", "adaptive"))
    if grid_kind == "adaptive":
        common.update(field_grid="adaptive", target_rel_error=step.non_negative("target_rel_error"),
                      point_budget=step.integer("point_budget", minimum=3))
    else:
        for key in _ADAPTIVE_KEYS:
            if key in step:
                raise step.fail(key, 'only an adaptive sweep (field_grid = "adaptive") has it')
    if "fields_mT" in step:
        if has_window or has_range or grid_kind != "uniform" or "field_points" in step:
            raise step.fail("fields_mT", "the listed fields are the whole grid: give no window_mT, "
                                         "field_start_mT, field_stop_mT, field_points or field_grid with them")
        common.update(_field_list(step))
    elif has_window == has_range:
        raise SequenceError(f"{step.where}: give either window_mT (centred on the resonance), "
                            "field_start_mT and field_stop_mT, or fields_mT")
    elif has_window:
        width = step.positive("window_mT")
        if "mu0_Meff_T" not in step:
            raise SequenceError(f"{step.where}: mu0_Meff_T is needed to centre window_mT before a Kittel fit exists")
        window = (width, step.number("mu0_Meff_T"), step.number("g"))
    else:
        step.check_keys(required=("field_start_mT", "field_stop_mT"))
        for key in ("field_start_mT", "field_stop_mT"):
            common[key] = step.number(key)
            if common[key] < 0:
                raise step.fail(key, f"give positive fields (both_branches adds the negative branch), "
                                     f"got {common[key]:g}")
    if kind == "frequency_sweep":
        pairs = [(f, step.number("angle_deg")) for f in step.grid("frequencies_GHz")]
    elif kind == "angle_sweep":
        f = step.number("frequency_GHz")
        if step.get("angles_deg") == "optimal":
            if "both_branches" in step and not common["both_branches"]:
                raise step.fail("both_branches", 'angles_deg = "optimal" measures both field branches')
            common["both_branches"] = True
            angles = optimal_angles_deg()
            log.info("%s: angles_deg = \"optimal\": %s", step.where, OPTIMAL_ANGLES_NOTE)
        else:
            angles = step.grid("angles_deg")
        pairs = [(f, a) for a in angles]
    elif kind == "dc_bias_sweep":
        return _dc_bias_tasks(n, step, common, window)
    else:
        pairs = [(step.number("frequency_GHz"), step.number("angle_deg"))]
    tasks = []
    for k, (f, a) in enumerate(pairs):
        if f <= 0:
            raise SequenceError(f"{step.where} frequency: must be positive, got {f:g} GHz")
        params = dict(common, frequency_GHz=float(f), angle_deg=float(a))
        procedure = "Autophase" if kind == "autophase" else "FieldSweep"
        tasks.append(Task(f"s{n}-{k}", n, kind, procedure, params, f"{f:g}GHz_{a:g}deg", window))
    return tasks


def _field_list(step: Table) -> dict[str, Any]:
    """The FieldSweep parameters of ``fields_mT``: the listed fields (mT, >= 0, distinct) in measuring order."""
    from stfmr.procedures.field_sweep import format_field_list

    fields = step.grid("fields_mT")
    if fields.size < 3 or np.any(fields < 0) or np.unique(fields).size != fields.size:
        raise step.fail("fields_mT", "give 3 or more distinct fields >= 0 mT (both_branches adds the negative "
                                     f"branch), got {fields.tolist()}")
    return {"field_grid": "list", "field_list_mT": format_field_list(fields), "field_points": int(fields.size),
            "field_start_mT": float(fields.min()), "field_stop_mT": float(fields.max())}


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


def _dc_bias_tasks(n: int, step: Table, common: dict[str, Any],
                   window: tuple[float, float, float] | None) -> list[Task]:
    """One spectrum per dc current; both polarities, since only the odd part of dH(I_dc) is spin torque."""
    order = dc_bias_order(step.grid("dc_currents_mA"), step.label("dc_currents_mA"))
    f = step.number("frequency_GHz")
    a = step.number("angle_deg")
    if f <= 0:
        raise SequenceError(f"{step.where} frequency: must be positive, got {f:g} GHz")
    return [Task(f"s{n}-{k}", n, "dc_bias_sweep", "FieldSweep",
                 dict(common, frequency_GHz=f, angle_deg=a, dc_current_mA=float(i)),
                 f"{f:g}GHz_{a:g}deg_{i:+g}mA", window)
            for k, i in enumerate(order)]


def _amr_tasks(n: int, step: Table) -> list[Task]:
    angles = step.grid("angles_deg")
    if len(angles) < 3:
        raise step.fail("angles_deg", f"an AMR fit needs at least 3 angles, got {len(angles)}")
    steps = np.diff(angles)
    if not np.allclose(steps, steps[0]):
        raise step.fail("angles_deg", "AMR angles must be evenly spaced")
    params = {"field_mT": step.number("field_mT"),
              "angle_start_deg": float(angles[0]), "angle_stop_deg": float(angles[-1]),
              "angle_points": len(angles),
              "sense_current_mA": step.number("sense_current_mA")}
    return [Task(f"s{n}-0", n, "amr", "AmrSweep", params, f"{params['field_mT']:g}mT")]


def _rf_calibration_tasks(n: int, step: Table) -> list[Task]:
    """One RfCalibration per frequency, in the step's ``design`` (:data:`RF_CALIBRATION_DESIGNS`).

    "precision" (the default): R(P) read ``repeats`` times at each end of ``powers_dBm``
    through a 1 mA sense current, the dc part at ``dc_points`` = 5; "grid": every power of
    ``powers_dBm`` read once through the resistance readings' 0.1 mA. Keys given explicitly
    (sense_current_mA, dc_points) are used in either design.
    """
    from stfmr.procedures import rf_calibration as rf

    design = step.one_of("design", RF_CALIBRATION_DESIGNS, "precision")
    powers = step.grid("powers_dBm")
    if len(powers) < 2:
        raise step.fail("powers_dBm", "R(P) needs at least 2 powers")
    params: dict[str, Any] = {"field_mT": step.number("field_mT"), "dc_max_mA": step.number("dc_max_mA"),
                              "dc_points": step.integer("dc_points", minimum=3),
                              "sense_current_mA": step.number("sense_current_mA")}
    if design == "precision":
        low, high = float(np.min(powers)), float(np.max(powers))
        if low == high:
            raise step.fail("powers_dBm", f"the precision design reads R(P) at the lowest and the highest power: "
                                          f"give two different powers, got {powers.tolist()}")
        repeats = step.integer("repeats", rf.PRECISION_REPEATS, minimum=1)
        params |= {"power_start_dBm": low, "power_stop_dBm": high, "power_points": 2 * repeats,
                   "power_design": "ends"}
        if "sense_current_mA" not in step:
            params["sense_current_mA"] = rf.PRECISION_SENSE_CURRENT_MA
        if "dc_points" not in step:
            params["dc_points"] = rf.PRECISION_DC_POINTS
    else:
        if "repeats" in step:
            raise step.fail("repeats", 'applies to design = "precision" (the grid design reads each power once)')
        params |= {"power_start_dBm": float(powers[0]), "power_stop_dBm": float(powers[-1]),
                   "power_points": len(powers), "power_design": "grid"}
    return [Task(f"s{n}-{k}", n, "rf_calibration", "RfCalibration", dict(params, frequency_GHz=float(f)), f"{f:g}GHz")
            for k, f in enumerate(step.grid("frequencies_GHz"))]


def _frequency_scan_tasks(n: int, step: Table) -> list[Task]:
    """One FrequencyScan per field of ``field_mT`` (a number or a grid); frequencies evenly spaced."""
    freqs = step.grid("frequencies_GHz")
    if len(freqs) < 3 or np.any(freqs <= 0) or freqs[1] == freqs[0] \
            or not np.allclose(np.diff(freqs), freqs[1] - freqs[0]):
        raise step.fail("frequencies_GHz", "give 3 or more positive, evenly spaced frequencies, "
                                           f"got {freqs.tolist()}")
    common = {"frequency_start_GHz": float(freqs[0]), "frequency_stop_GHz": float(freqs[-1]),
              "frequency_points": len(freqs),
              "power_dBm": step.number("power_dBm"),
              "angle_deg": step.number("angle_deg"),
              "both_branches": step.boolean("both_branches"),
              "dwell_s": step.non_negative("dwell_s"),
              "readings_per_point": step.integer("readings_per_point", minimum=1),
              "dc_current_mA": step.number("dc_current_mA"),
              "g": step.number("g")}
    tasks = []
    for k, h in enumerate(step.grid("field_mT")):
        if h <= 0:
            raise step.fail("field_mT", f"give positive fields (both_branches adds the negative one), got {h:g}")
        tasks.append(Task(f"s{n}-{k}", n, "frequency_scan", "FrequencyScan", dict(common, field_mT=float(h)),
                          f"{h:g}mT_{common['angle_deg']:g}deg"))
    return tasks


def _magnet_calibration_tasks(n: int, step: Table) -> list[Task]:
    """One MagnetCalibration: the loop +-max_current_A; the calibration CSV goes into the run folder."""
    from stfmr.procedures.magnet_calibration import DEFAULT_CALIBRATION_FILE, check_calibration_name

    imax = step.number("max_current_A")
    if imax <= 0:
        raise step.fail("max_current_A", f"must be positive (the loop is +-max_current_A), got {imax:g}")
    name = step.get("calibration_file", DEFAULT_CALIBRATION_FILE)
    try:
        check_calibration_name(name, step.where)
    except ValueError as exc:
        raise SequenceError(str(exc)) from None
    params = {"max_current_A": imax,
              "points_per_branch": step.integer("points_per_branch", minimum=3),
              "settle_s": step.non_negative("settle_s"), "calibration_file": name}
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


def parse_sequence(text: str, source: str, bench: BenchConfig | Limits | PlanBench | None = None, *,
                   allow_empty: bool = False) -> Sequence:
    """Parse and validate a sequence; with ``bench`` (a BenchConfig, or its Limits), dry-run every task's plan.

    The dry run (:mod:`stfmr.procedures.plan_check`) builds each task's
    procedure and checks every value it will set against the bench's limits,
    before any instrument is opened.
    """
    data = READER.loads(text, f"sequence {source}")
    unknown = set(data) - {"sample", "step", "target"}
    if unknown:
        raise SequenceError(f"sequence {source}: unknown table {sorted(unknown)[0]!r} "
                            "(allowed: [sample], [[step]], target)")
    if "sample" not in data:
        raise SequenceError(f"sequence {source}: the [sample] table (sample metadata) is missing")
    try:
        sample = SampleMetadata.from_dict(data["sample"])
    except ValueError as exc:
        raise SequenceError(f"sequence {source}: [sample]: {exc}") from exc
    steps = data.get("step", [])
    if not steps and not allow_empty:
        raise SequenceError(f"sequence {source}: no [[step]] to run")
    builders = {"amr": _amr_tasks, "rf_calibration": _rf_calibration_tasks,
                "magnet_calibration": _magnet_calibration_tasks, "frequency_scan": _frequency_scan_tasks}
    target = _target(data["target"], source) if "target" in data else None
    tasks: list[Task] = []
    marked: list[tuple[int, dict[str, Any]]] = []
    for n, raw in enumerate(steps, start=1):
        kind = raw.get("kind") if isinstance(raw, dict) else None
        if kind not in STEP_KEYS:
            raise SequenceError(f"sequence {source}: step {n}: unknown kind {kind!r} "
                                f"(known: {', '.join(STEP_KEYS)})")
        step = READER.table(raw, f"sequence {source}: step {n} ({kind})", STEP_DEFAULTS)
        step.check_keys(allowed=STEP_KEYS[kind] | {"kind", "repeat_until_target"}, required=_REQUIRED[kind])
        if step.boolean("repeat_until_target", False):
            if kind not in REPEATABLE_KINDS:
                raise step.fail("repeat_until_target", f"a repeat of a {kind} step cannot lower the error of "
                                                       f"xi_DL^E (repeatable: {', '.join(REPEATABLE_KINDS)})")
            if target is None:
                raise step.fail("repeat_until_target", "give the sequence a target (e.g. target = "
                                                       "{xi_DL_E_rel = 0.01}) to repeat steps until")
            marked.append((n, dict(raw)))
        if kind in builders:
            tasks += builders[kind](n, step)
        else:
            tasks += _spectrum_tasks(n, kind, step)
    outputs = [t.parameters["calibration_file"] for t in tasks if "calibration_file" in t.parameters]
    repeated = sorted({name for name in outputs if outputs.count(name) > 1})
    if repeated:
        raise SequenceError(f"sequence {source}: two magnet_calibration steps write {repeated[0]!r}: "
                            "give each its own calibration_file")
    if target is not None and not any(t.kind == "angle_sweep" for t in tasks):
        raise SequenceError(f"sequence {source}: target: xi_DL^E is derived from an angle_sweep's spectra, and "
                            "the sequence has no angle_sweep step")
    sequence = Sequence(source, text, sample, tasks, target=target, marked_steps=marked)
    if bench is not None:
        from stfmr.procedures.plan_check import check_sequence

        check_sequence(sequence, bench)
        sequence.checked_against = bench
    return sequence


def _target(raw: Any, source: str) -> Target:
    """The top-level ``target`` table, checked: xi_DL_E_rel in (0, 1), max_rounds in 0..MAX_ROUNDS_LIMIT."""
    table = READER.table(raw, f"sequence {source}: target")
    table.check_keys(allowed=TARGET_KEYS, required=("xi_DL_E_rel",))
    rel = table.number("xi_DL_E_rel")
    if not 0 < rel < 1:
        raise table.fail("xi_DL_E_rel", f"the relative standard error of xi_DL^E to reach must be between 0 and 1 "
                                        f"(0.01 is 1 %), got {rel:g}")
    rounds = table.integer("max_rounds", DEFAULT_MAX_ROUNDS, within=range(MAX_ROUNDS_LIMIT + 1))
    return Target(rel, rounds)


def load_sequence(path: str | Path, bench: BenchConfig | Limits | PlanBench | None = None) -> Sequence:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SequenceError(f"sequence {path}: cannot be read: {exc.strerror or exc}") from exc
    return parse_sequence(text, str(path), bench)
