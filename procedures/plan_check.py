"""Limits checked by a dry run of every task's own plan, before any instrument is opened.

Each procedure states what it will set in ``check_plan(guard)``. Run against a
:class:`PlanBench` (the bench file's limits, its coil calibration and which
roles it has, but no instrument: a
:class:`~stfmr.instruments.roles.BenchOutline`), the same
:class:`~stfmr.procedures.safety.LimitChecker` checks that guard the real run
refuse a bad sequence at load time, with the step, key and value named (as
bluesky checks a plan against its devices' own ``check_value`` before running
it). So every limit has one home, the safety layer.
"""

from __future__ import annotations

from stfmr.instruments.bench import BenchConfig, Limits
from stfmr.instruments.calibration import CoilCalibration, LinearCoilCalibration, TableCoilCalibration
from stfmr.procedures.registry import build_procedure
from stfmr.procedures.safety import LimitChecker
from stfmr.procedures.sequence import Sequence, SequenceError, Task, predicted_parameters


class PlannedField:
    """The field role as far as a plan needs it: the coil calibration and whether a gaussmeter is fitted."""

    def __init__(self, calibration: CoilCalibration, gaussmeter: bool) -> None:
        self.calibration = calibration
        self._gaussmeter = gaussmeter

    def current_for_field(self, field_mT: float) -> float:
        return float(self.calibration.current_for_field(field_mT))

    def field_for_current(self, amps: float) -> float:
        return float(self.calibration.field_for_current(amps))

    def has_gaussmeter(self) -> bool:
        return self._gaussmeter


class PlanBench:
    """A bench without instruments, for dry runs of plans: limits, coil calibration, roles present.

    A :class:`~stfmr.instruments.roles.BenchOutline`: ``rotator`` and
    ``sourcemeter`` only say whether the bench has the role (a marker object) or not (None).
    """

    def __init__(self, limits: Limits, field: PlannedField, rotator: bool = True, sourcemeter: bool = True) -> None:
        self.limits = limits
        self.field = field
        self.rotator: object | None = object() if rotator else None
        self.sourcemeter: object | None = object() if sourcemeter else None

    @classmethod
    def from_config(cls, config: BenchConfig) -> PlanBench:
        """The bench a bench file describes (its coil calibration read from its file if it has one)."""
        rc = config.roles["field"]
        s = rc.settings
        if s.get("calibration_file") is not None:
            calibration: CoilCalibration = TableCoilCalibration.from_file(s["calibration_file"])
        else:
            calibration = LinearCoilCalibration(s["mT_per_A"], s.get("offset_mT", 0.0))
        return cls(config.limits, PlannedField(calibration, rc.gaussmeter is not None),
                   rotator="rotator" in config.roles, sourcemeter="sourcemeter" in config.roles)

    @classmethod
    def from_limits(cls, limits: Limits) -> PlanBench:
        """Limits alone: every role present, the supply current taken proportional to the field up to the limits."""
        coil = LinearCoilCalibration(limits.max_field_mT / limits.max_current_A)
        return cls(limits, PlannedField(coil, gaussmeter=True))

    @classmethod
    def of(cls, bench: BenchConfig | Limits | PlanBench) -> PlanBench:
        """A BenchConfig, Limits or PlanBench as a PlanBench."""
        if isinstance(bench, PlanBench):
            return bench
        if isinstance(bench, BenchConfig):
            return cls.from_config(bench)
        if isinstance(bench, Limits):
            return cls.from_limits(bench)
        raise TypeError(f"cannot check a plan against {type(bench).__name__}")


def check_task(task: Task, bench: PlanBench, source: str = "") -> None:
    """Build the task's procedure and run its plan check on ``bench``; SequenceError naming step and value."""
    where = task.where(source)
    try:
        procedure = build_procedure(task.procedure, predicted_parameters(task), where)
        procedure.check_plan(LimitChecker(bench))
    except SequenceError:
        raise
    except ValueError as exc:
        message = str(exc)
        raise SequenceError(message if message.startswith(where) else f"{where}: {message}") from None


def check_sequence(sequence: Sequence, bench: BenchConfig | Limits | PlanBench) -> None:
    """Dry-run every task of ``sequence`` against the bench's limits (SequenceError at the first breach)."""
    plan_bench = PlanBench.of(bench)
    for task in sequence.tasks:
        check_task(task, plan_bench, sequence.source)


__all__ = ["PlanBench", "PlannedField", "check_sequence", "check_task"]
