"""What every stfmr measurement shares: the bench, the safety guard, the header.

pymeasure creates Procedures from their Parameters (the GUI's queue does), so
the bench cannot be a constructor argument: whoever runs a procedure (the
headless runner or the GUI) sets ``procedure.bench`` first. Everything a file
needs to reproduce the run goes into its header: the Parameters (pymeasure
writes them) and the Metadata below, evaluated after ``startup`` (bench roles,
drivers, addresses, limits, the SIMULATED flag, the lock-in factor, the sample
record and stfmr's version).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from pymeasure.experiment import Metadata, Parameter, Procedure

from stfmr import __version__
from stfmr.instruments.modulation import dc_factor, lockin_factor
from stfmr.instruments.roles import BenchLike
from stfmr.procedures.safety import LimitChecker, SafeEnd, SafetyGuard

log = logging.getLogger(__name__)

#: the sourcemeter's sense current for resistance readings (mA): small, so the device does not heat
SENSE_CURRENT_MA = 0.1


class BenchProcedure(Procedure):
    """Base of stfmr's procedures: safe start, safe end, full header.

    Subclasses implement :meth:`check_plan` (every value the run will set,
    checked against the limits before anything moves) and :meth:`measure`.
    """

    sample_record = Parameter("Sample", default="{}")

    stfmr_version = Metadata("stfmr version", fget="_stfmr_version")
    simulated = Metadata("SIMULATED", fget="_is_simulated")
    bench_description = Metadata("Bench", fget="_bench_json")
    detection_factor = Metadata("Lock-in factor (X per V_mix)", fget="modulation_factor")  # dc meter: its mean
    detector_phase = Metadata("Lock-in phase (deg)", fget="_detector_phase")

    #: set by the runner or the GUI before the procedure runs
    bench: BenchLike
    #: made by startup from the bench
    guard: SafetyGuard
    #: called with each live fit result (list of SpectrumFit) as points arrive
    on_fit: Callable[[list], None] | None = None
    #: called with one-line safety states ("ramping magnet to zero", "magnet at zero")
    on_status: Callable[[str], None] | None = None
    #: how long (bench s) the safe ending retries each part (None: the safety layer's default)
    retry_s: float | None = None

    def startup(self) -> None:
        if getattr(self, "bench", None) is None:
            raise RuntimeError(f"{type(self).__name__}: no bench was given to the procedure")
        self.error: BaseException | None = None
        self.safe_end: SafeEnd | None = None
        self.guard = SafetyGuard(self.bench, should_stop=self.should_stop, retry_s=self.retry_s)
        if self.on_status is not None:
            self.guard.on_status = self.on_status
        self.check_plan(self.guard)

    def execute(self) -> None:
        # pymeasure stores the Metadata (rewriting the file's header) between startup
        # and execute: readers of a live file must wait for this flag
        self.measuring = True
        try:
            self.measure()
        except BaseException as exc:
            self.error = exc
            raise

    def shutdown(self) -> None:
        guard = getattr(self, "guard", None)
        if guard is None:
            return  # startup failed before anything could move
        error = getattr(self, "error", None)
        if error is not None:
            reason = f"error: {error}"
        elif self.should_stop():
            reason = "abort"
        else:
            reason = "finish"
        self.end_reason = reason
        self.safe_end = guard.make_safe(reason)

    # -- for subclasses ------------------------------------------------------------------

    def check_plan(self, guard: LimitChecker) -> None:
        """Check every value the run will set against the limits (raise LimitError).

        Only ``guard`` (its limits and ``guard.bench``, the bench's outline) may be
        used: a sequence is checked by a dry run on a bench without instruments.
        """

    def where(self) -> str:
        """How messages name this measurement: the sequence step and label when the executor set one."""
        return getattr(self, "plan_label", None) or type(self).__name__

    def measure(self) -> None:
        raise NotImplementedError

    def modulation_factor(self) -> float:
        """Detector reading per cw mixing volt: the lock-in factor, or for a dc voltmeter the time
        average of the modulated drive (1/2 under on/off pulses, 1 for cw)."""
        mode, _rate = self.bench.modulation()
        if self.bench.detector.DETECTION == "dc":
            return dc_factor(mode)
        if mode == "off":
            raise ValueError("lock-in detection needs rf modulation (pulse or am), but it is off "
                             "in the bench file")
        return lockin_factor(mode)

    def sample(self) -> dict[str, Any]:
        return json.loads(self.sample_record or "{}")

    # -- header metadata ---------------------------------------------------------------

    def _stfmr_version(self) -> str:
        return __version__

    def _detector_phase(self) -> float | str:
        """The detector's reference phase (deg) as it reads now ("none" for a dc voltmeter)."""
        if self.bench.detector.DETECTION == "dc":
            return "none (dc voltmeter)"
        return float(self.bench.detector.phase())

    def _is_simulated(self) -> bool:
        return bool(self.bench.simulated)

    def _bench_json(self) -> str:
        return json.dumps(self.bench.header(), separators=(",", ":"), default=str)
