"""FieldSweep: one ST-FMR spectrum V_FMR(H) at fixed frequency, power and angle."""

from __future__ import annotations

import logging
import time
import warnings

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter

from stfmr.analysis import columns as col
from stfmr.analysis.field_axis import field_axis
from stfmr.analysis.spectrum_fit import SpectrumFit, SpectrumFitError, SpectrumFitWarning, fit_branches
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

    DATA_COLUMNS = [
        col.FIELD_SET, col.FIELD, col.CURRENT, col.X, col.Y, col.V_FMR,
        col.FREQUENCY, col.POWER, col.ANGLE, col.I_DC, col.TIME,
    ]

    def field_values(self) -> np.ndarray:
        """The set fields (mT) in sweep order: the positive branch, then the negative one."""
        positive = np.linspace(self.field_start_mT, self.field_stop_mT, int(self.field_points))
        return np.concatenate([positive, -positive]) if self.both_branches else positive

    def check_plan(self, guard: LimitChecker) -> None:
        where = self.where()
        self.check_settings(guard, where)
        fields = self.field_values()
        for extreme in (fields.min(), fields.max()):
            guard.check_field(float(extreme), where)

    def measure(self) -> None:
        bench, guard = self.bench, self.guard
        factor = self.modulation_factor()
        settle = bench.detector.settle_time() + self.dwell_s
        fields = self.field_values()
        self.prepare(self.frequency_GHz)
        guard.ramp_field(float(fields[0]))
        guard.rf_output(True)
        t0 = bench.clock.now()
        set_H: list[float] = []
        measured_H: list[float] = []
        self.readings_xy: list[tuple[float, float]] = []
        voltages: list[float] = []
        self.live_fits: list[SpectrumFit] = []
        self._next_live_fit = -float("inf")
        for k, h_set in enumerate(fields):
            if self.should_stop():
                log.info("field sweep stopped at %d of %d points", k, len(fields))
                break
            guard.ramp_field(float(h_set))
            bench.clock.sleep(settle)
            row = self.read_point(factor, t0, float(h_set), self.frequency_GHz)
            self.emit_progress(k + 1, len(fields))
            set_H.append(float(h_set))
            measured_H.append(row[col.FIELD])
            self.readings_xy.append((row[col.X], row[col.Y]))
            voltages.append(row[col.V_FMR])
            self._update_live_fit(set_H, measured_H, voltages)
        self.final_fits = self._final_fit(self._fit_axis(set_H, measured_H), voltages)
        if self.final_fits and self.on_fit is not None:
            self.on_fit(self.final_fits)

    @staticmethod
    def _fit_axis(set_H: list[float], measured_H: list[float]) -> np.ndarray:
        """The gaussmeter's readings smoothed against the set field (see analysis.field_axis)."""
        return field_axis(set_H, measured_H)

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
            fields = self._fit_axis(set_H, measured_H)
            with warnings.catch_warnings():
                # the first points of the second branch are dropped as stray until it has enough
                warnings.simplefilter("ignore", SpectrumFitWarning)
                fits = fit_branches(np.asarray(fields), np.asarray(voltages))
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
