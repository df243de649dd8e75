"""FieldSweep: one ST-FMR spectrum V_FMR(H) at fixed frequency, power and angle."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter, ListParameter, Parameter

from stfmr.analysis import columns as col
from stfmr.analysis.field_axis import field_axis, sweep_order
from stfmr.analysis.measurement_design import fit_covariance, place_points
from stfmr.analysis.spectrum_fit import (
    SpectrumFit, SpectrumFitError, SpectrumFitWarning, fit_branches, fit_spectrum, point_noise,
)
from stfmr.instruments.role_detector import SETTLED_RESIDUAL
from stfmr.procedures.safety import LimitChecker
from stfmr.procedures.spectrum import SpectrumProcedure

log = logging.getLogger(__name__)

#: fewest points of a branch before the live fit is attempted
LIVE_FIT_MIN_POINTS = 15
#: least wall time between live refits (s): a live view needs no more than ~20 per second,
#: and with zero dwell the points would otherwise wait for the fits
LIVE_FIT_INTERVAL_S = 0.05
#: a refit waits at least this many times the CPU time the last one took, so live fits cost at most
#: about 1/(1 + this) of the measuring thread however long the spectrum grows (a fit's cost grows with it)
LIVE_FIT_COST_FACTOR = 4.0
#: (set field mT -> (expected V_FMR V, point noise V)): what a point about to be read should show
Prediction = Callable[[float], tuple[float, float]]
#: how FieldSweep places its fields (see FieldSweep.field_grid)
FIELD_GRIDS = ("uniform", "list", "adaptive")
#: an adaptive round adds this fraction of the branch's points so far (at least ADAPTIVE_MIN_BATCH)
ADAPTIVE_BATCH_FRACTION = 0.25
ADAPTIVE_MIN_BATCH = 4
#: candidate fields of an adaptive round per linewidth (dH) of the fit so far
ADAPTIVE_CANDIDATES_PER_LINEWIDTH = 10
#: ... and at least this many candidates per point of the budget (points cluster at the optimum)
ADAPTIVE_CANDIDATES_PER_POINT = 4
#: a placed point waits until what is left of the signal step from the last reading is at most
#: this fraction of the point noise (never less than the detector's 99 % settle time)
SETTLE_NOISE_FRACTION = 0.05
#: ... and never leaves less than this of it (a noise-free reading would otherwise wait without end)
SETTLE_RESIDUAL_FLOOR = 1e-5
#: points of a coarse scan before its own point-to-point noise sets the waits (before: the plain settle)
TREND_MIN_POINTS = 6


def format_field_list(fields_mT) -> str:
    """The ``Field list`` parameter's text: the fields (mT) in measuring order, exactly (repr of each float)."""
    return ",".join(repr(float(h)) for h in fields_mT)


def parse_field_list(text: str) -> np.ndarray:
    """The fields (mT) of a ``Field list`` parameter's text; a ValueError names what is wrong."""
    try:
        values = np.array([float(v) for v in text.split(",") if v.strip()], dtype=float)
    except ValueError:
        raise ValueError(f"field list {text[:60]!r}: give comma-separated numbers (mT)") from None
    return values


class FieldSweep(SpectrumProcedure):
    """Sweep the field through resonance and record the lock-in at each point.

    The field is ramped point to point at the safe rate; after each step the
    procedure waits the detector's settle time (from its time constant and
    filter slope) plus ``dwell_s``, reads X and Y, the measured field and the
    supply current, and emits the point (written and flushed at once). With
    ``both_branches`` it then sweeps the same window at negative field. The
    spectrum is fitted as it arrives; ``on_fit`` receives every new fit.
    """

    frequency_GHz = FloatParameter(col.FREQUENCY_PARAM, units="GHz", default=10.0, minimum=0.001, maximum=110.0)
    field_start_mT = FloatParameter("Field start", units="mT", default=50.0, minimum=0.0, maximum=5000.0)
    field_stop_mT = FloatParameter("Field stop", units="mT", default=200.0, minimum=0.0, maximum=5000.0)
    field_points = IntegerParameter(col.FIELD_POINTS_PARAM, default=121, minimum=3, maximum=100000)
    #: "uniform": field_points evenly from start to stop; "list": the fields of field_list_mT in
    #: that order; "adaptive": the uniform scan (coarse), then points placed by the fit (see measure)
    field_grid = ListParameter("Field grid", choices=FIELD_GRIDS, default="uniform")
    field_list_mT = Parameter("Field list (mT)", default="")
    target_rel_error = FloatParameter("Target V_S relative error", default=0.0, minimum=0.0, maximum=1.0)
    point_budget = IntegerParameter("Point budget per branch", default=1000, minimum=3, maximum=100000)

    DATA_COLUMNS = [
        col.FIELD_SET, col.FIELD, col.CURRENT, col.X, col.Y, col.V_FMR,
        col.FREQUENCY, col.POWER, col.ANGLE, col.I_DC, col.TIME,
    ]

    def branch_fields(self) -> np.ndarray:
        """The planned set fields (mT) of the positive branch, in measuring order.

        An adaptive sweep plans its coarse scan; the points it adds lie between
        field_start_mT and field_stop_mT.
        """
        if self.field_grid == "list":
            return parse_field_list(self.field_list_mT)
        return np.linspace(self.field_start_mT, self.field_stop_mT, int(self.field_points))

    def field_values(self) -> np.ndarray:
        """The planned set fields (mT) in sweep order: the positive branch, then the negative one."""
        positive = self.branch_fields()
        return np.concatenate([positive, -positive]) if self.both_branches else positive

    def check_plan(self, guard: LimitChecker) -> None:
        where = self.where()
        self.check_settings(guard, where)
        self.check_grid(where)
        fields = self.field_values()
        if self.field_grid == "adaptive":  # added points stay inside the window
            fields = np.concatenate([fields, [self.field_start_mT, self.field_stop_mT]])
        for extreme in (fields.min(), fields.max()):
            guard.check_field(float(extreme), where)

    def check_grid(self, where: str) -> None:
        """Refuse a field list that cannot be one branch's spectrum, or an adaptive plan without room."""
        if self.field_grid == "list":
            fields = parse_field_list(self.field_list_mT)
            if fields.size < 3 or not np.all(np.isfinite(fields)) or np.any(fields < 0):
                raise ValueError(f"{where}: the field list needs 3 or more finite fields >= 0 mT "
                                 "(both_branches adds the negative branch)")
            if np.unique(fields).size != fields.size:
                raise ValueError(f"{where}: the field list repeats a field: each spectrum point needs its own")
            if fields.size != int(self.field_points):
                raise ValueError(f"{where}: the field list holds {fields.size} fields but field_points is "
                                 f"{int(self.field_points)} (the header's point count)")
        elif self.field_list_mT:
            raise ValueError(f"{where}: a field list is given but the field grid is {self.field_grid!r}")
        if self.field_grid == "adaptive" and int(self.point_budget) <= int(self.field_points):
            raise ValueError(f"{where}: the point budget ({int(self.point_budget)}) leaves no points to place "
                             f"after the coarse scan of {int(self.field_points)}")

    def measure(self) -> None:
        bench, guard = self.bench, self.guard
        self._factor = self.modulation_factor()
        self._settle = bench.detector.settle_time() + self.dwell_s
        planned = self.field_values()
        self.prepare(self.frequency_GHz)
        guard.ramp_field(float(planned[0]))
        guard.rf_output(True)
        self._t0 = bench.clock.now()
        self.set_H: list[float] = []
        self.measured_H: list[float] = []
        self.readings_xy: list[tuple[float, float]] = []
        self.voltages: list[float] = []
        self.live_fits: list[SpectrumFit] = []
        self._next_live_fit = -float("inf")
        self.stopped_because: dict[int, str] = {}
        if self.field_grid == "adaptive":
            for polarity in ((1, -1) if self.both_branches else (1,)):
                if not self._adaptive_branch(polarity):
                    break
        else:
            self._measure_points(planned, len(planned))
        fields, voltages = self._ordered(self.set_H, self.measured_H, self.voltages)
        self.final_fits = self._final_fit(fields, list(voltages))
        if self.final_fits and self.on_fit is not None:
            self.on_fit(self.final_fits)

    def _measure_points(self, fields, total: int, predict: Prediction | None = None) -> bool:
        """Ramp to each set field (mT) in turn (through the guard) and read a point; False if stopped.

        predict: (set field mT -> expected V_FMR (V), point noise (V)) from a fit, if there is
        one: then each point waits as long as its signal step needs (:meth:`_step_settle`).
        """
        for h_set in fields:
            if self.should_stop():
                log.info("field sweep stopped at %d points", len(self.set_H))
                return False
            self.guard.ramp_field(float(h_set))
            settle = self._settle
            if predict is not None and self.voltages:
                expected, noise = predict(float(h_set))
                settle = self._step_settle(expected, noise, self.voltages[-1])
            self.bench.clock.sleep(settle)
            row = self.read_point(self._factor, self._t0, float(h_set), self.frequency_GHz)
            self.set_H.append(float(h_set))
            self.measured_H.append(row[col.FIELD])
            self.readings_xy.append((row[col.X], row[col.Y]))
            self.voltages.append(row[col.V_FMR])
            self.emit_progress(min(len(self.set_H), total), total)
            self._update_live_fit(self.set_H, self.measured_H, self.voltages)
        return True

    def _step_settle(self, expected_V: float, noise_V: float, last_V: float) -> float:
        """The wait (s) before reading a point whose signal is expected to step from last_V to expected_V.

        A lock-in's filter leaves a fraction of every step in the next reading (1 % after
        its usual settle time); on the large steps between the clusters of an adaptive
        design that is many times the noise and biases the fit. The wait is the detector's
        time for the step to fall to SETTLE_NOISE_FRACTION of the point noise, and never
        shorter than the plain settle time, plus dwell_s.
        """
        step = abs(expected_V - last_V)
        residual = SETTLE_NOISE_FRACTION * noise_V / step if step > 0 else 1.0
        if not np.isfinite(residual) or residual >= SETTLED_RESIDUAL:
            return self._settle
        return self.bench.detector.settle_time(max(residual, SETTLE_RESIDUAL_FLOOR)) + self.dwell_s

    def _trend_prediction(self, first: int) -> Prediction:
        """Predict a coarse scan's next point from its own readings (index ``first`` on): (V, noise V).

        The next step as large as the last one (a uniform grid over a smooth line), the
        noise the readings' point-to-point scatter; with fewer than TREND_MIN_POINTS
        readings the noise is unknown (infinite), so the plain settle time applies.
        """
        def predict(_h_set: float) -> tuple[float, float]:
            volts = self.voltages[first:]
            if len(volts) < TREND_MIN_POINTS:
                return (volts[-1] if volts else 0.0), float("inf")
            return 2.0 * volts[-1] - volts[-2], point_noise(np.asarray(self.set_H[first:]), np.asarray(volts))
        return predict

    def _adaptive_branch(self, polarity: int) -> bool:
        """One branch of an adaptive sweep: the coarse scan, then rounds of placed points; False if stopped.

        Each round fits the branch so far, and stops when the relative error of V_S
        is at most target_rel_error or the branch holds point_budget points;
        otherwise it adds ADAPTIVE_BATCH_FRACTION of the points so far where each
        lowers the variance of V_S most (analysis.measurement_design.place_points).
        """
        budget = int(self.point_budget)
        total = budget * (2 if self.both_branches else 1)
        coarse = polarity * np.linspace(self.field_start_mT, self.field_stop_mT, int(self.field_points))
        if not self._measure_points(coarse, total, self._trend_prediction(len(self.voltages))):
            return False
        lo, hi = sorted((polarity * self.field_start_mT, polarity * self.field_stop_mT))
        while True:
            mine = np.sign(self.set_H) == polarity
            n = int(np.count_nonzero(mine))
            set_H = np.asarray(self.set_H)[mine]
            fit = self._branch_fit(polarity)
            if fit is None:
                self.stopped_because[polarity] = "no fit of the coarse scan: no points placed"
                break
            rel = fit.stderr["V_S"] / abs(fit.values["V_S"]) if fit.values["V_S"] else float("inf")
            if rel <= self.target_rel_error:
                self.stopped_because[polarity] = f"target reached: V_S relative error {rel:.3g} with {n} points"
                break
            if n >= budget:
                self.stopped_because[polarity] = f"point budget {budget} spent: V_S relative error {rel:.3g}"
                break
            batch = min(max(ADAPTIVE_MIN_BATCH, int(ADAPTIVE_BATCH_FRACTION * n)), budget - n)
            slope, offset = np.polyfit(set_H, field_axis(set_H, np.asarray(self.measured_H)[mine]), 1)
            new = self._place(fit, set_H, slope, offset, lo, hi, batch)
            if not new:
                self.stopped_because[polarity] = "no free candidate field left in the window"
                break
            if abs(new[-1] - self.set_H[-1]) < abs(new[0] - self.set_H[-1]):
                new.reverse()  # sweep the round from the end nearer the magnet's field: shorter ramps
            # both over-estimate the noise (point to point: the curvature of a coarse grid; the
            # residual: any misfit), the smaller less so
            noise = float(np.nanmin([fit.noise_V if fit.noise_V > 0 else np.inf, np.sqrt(fit.redchi)]))
            if not self._measure_points(new, total, lambda h: (float(fit.evaluate(slope * h + offset)), noise)):
                return False
        log.info("adaptive %+d branch at %g GHz, %g deg: %s", polarity, self.frequency_GHz, self.angle_deg,
                 self.stopped_because[polarity])
        return True

    def _branch_fit(self, polarity: int) -> SpectrumFit | None:
        """The fit of one branch's points so far (None if it cannot be fitted yet)."""
        mine = np.sign(self.set_H) == polarity
        fields, voltages = self._ordered(np.asarray(self.set_H)[mine], np.asarray(self.measured_H)[mine],
                                         np.asarray(self.voltages)[mine])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SpectrumFitWarning)
                return fit_spectrum(fields, voltages)
        except (SpectrumFitError, ValueError) as exc:
            log.info("adaptive %+d branch: %s", polarity, exc)
            return None

    def _place(self, fit: SpectrumFit, set_H: np.ndarray, slope: float, offset: float, lo: float, hi: float,
               count: int) -> list[float]:
        """``count`` new set fields (mT) in [lo, hi] where they lower Var(V_S) most, in increasing field order.

        Candidates are spaced dH / ADAPTIVE_CANDIDATES_PER_LINEWIDTH or closer (see the
        constants); the field at a set field is slope * set + offset (mT), the straight line
        through the branch's readings, and a candidate closer than half a spacing to a
        measured set field is not used, so no set field repeats.
        """
        # fine enough that the whole budget fits on the grid several times over
        spacing = min(fit.values["dH"] / ADAPTIVE_CANDIDATES_PER_LINEWIDTH,
                      (hi - lo) / (ADAPTIVE_CANDIDATES_PER_POINT * int(self.point_budget)))
        candidates = np.linspace(lo, hi, int(np.floor((hi - lo) / spacing)) + 1)
        taken = np.min(np.abs(candidates[:, None] - set_H[None, :]), axis=1) < spacing / 2
        candidates = candidates[~taken]
        chosen = place_points(slope * candidates + offset, fit_covariance(fit), fit.values,
                              np.sqrt(fit.redchi), count)
        new = sorted((h - offset) / slope for h in chosen)
        # back on the candidate grid exactly (the map is linear, so this only undoes rounding)
        return [float(candidates[np.argmin(np.abs(candidates - h))]) for h in new]

    @staticmethod
    def _fit_axis(set_H, measured_H) -> np.ndarray:
        """The gaussmeter's readings smoothed against the set field (see analysis.field_axis)."""
        return field_axis(set_H, measured_H)

    def _ordered(self, set_H, measured_H, voltages) -> tuple[np.ndarray, np.ndarray]:
        """(field axis mT, voltage V) with each branch in set-field order, ready to fit (rows stay as measured)."""
        order = sweep_order(set_H)
        return np.asarray(self._fit_axis(set_H, measured_H))[order], np.asarray(voltages, dtype=float)[order]

    def _update_live_fit(self, set_H: list[float], measured_H: list[float], voltages: list[float]) -> None:
        """Refit the spectrum so far (fast core, ~1 ms per few hundred points) and hand the result to ``on_fit``.

        Only when someone watches (a headless run records the final fit alone),
        and within a CPU budget: the next refit waits LIVE_FIT_INTERVAL_S of wall
        time and at least LIVE_FIT_COST_FACTOR times the CPU time this one took.
        The field axis is built only for a fit that runs.
        """
        if self.on_fit is None or len(set_H) < LIVE_FIT_MIN_POINTS:
            return
        if time.perf_counter() < self._next_live_fit:
            return
        cpu = time.process_time()  # the process's: BLAS helper threads spin for a fit too
        try:
            fields, volts = self._ordered(set_H, measured_H, voltages)
            with warnings.catch_warnings():
                # the first points of the second branch are dropped as stray until it has enough
                warnings.simplefilter("ignore", SpectrumFitWarning)
                fits = fit_branches(fields, volts)
        except (SpectrumFitError, ValueError):
            return  # no resonance in the window yet
        finally:
            cost = time.process_time() - cpu
            self._next_live_fit = time.perf_counter() + max(LIVE_FIT_INTERVAL_S, LIVE_FIT_COST_FACTOR * cost)
        self.live_fits = fits
        if self.on_fit is not None:
            self.on_fit(fits)

    def _final_fit(self, fields: np.ndarray, voltages: list[float]) -> list[SpectrumFit]:
        if len(fields) < LIVE_FIT_MIN_POINTS:
            return []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", SpectrumFitWarning)
                fits = fit_branches(np.asarray(fields), np.asarray(voltages))
            for warning in caught:
                log.info("spectrum at %g GHz, %g deg: %s", self.frequency_GHz, self.angle_deg, warning.message)
        except (SpectrumFitError, ValueError) as exc:
            self.fit_error = str(exc)
            log.warning("spectrum at %g GHz, %g deg not fitted: %s", self.frequency_GHz, self.angle_deg, exc)
            return []
        for fit in fits:
            v, e = fit.values, fit.stderr
            log.info(
                "fit %+d branch at %g GHz, %g deg: H_r = %.3f +- %.3f mT, dH = %.3f +- %.3f mT, "
                "V_S = %.4g +- %.2g V, V_A = %.4g +- %.2g V",
                fit.polarity, self.frequency_GHz, self.angle_deg, v["H_r"], e["H_r"], v["dH"], e["dH"],
                v["V_S"], e["V_S"], v["V_A"], e["V_A"],
            )
        return fits
