"""AMR and rf-current calibrations (docs/physics.md §5).

- AMR: R(phi) = R_perp + Delta_R*cos^2(phi - phi_0) at a saturating field.
- rf current (Tshitoyan et al., PRB 92, 214406, 2015): R(I_dc) = R_0 + k*I_dc^2
  and, off resonance at one frequency, R(P) = R_0' + c*P with P in W at the
  source; equal heating gives I_rms^2 = c*P/k, so the peak rf current is
  I_0 = sqrt(2*c*P/k) at source power P. Calibrate at each frequency used.
- Repeats (:func:`pool_rf_calibrations`, :func:`pool_amr`): every repeated
  calibration is used, combined as :mod:`stfmr.analysis.pooling` describes.

Angles in degrees, currents I_dc in mA, powers in dBm at the API.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from stfmr.analysis.constants import dBm_to_W
from stfmr.analysis.pooling import Pooling, pool_fits
from stfmr.analysis.fit_common import (
    FitInputError,
    ParamFit,
    check_sigma,
    check_xy,
    linear_start,
    make_params,
    refusals_as,
    run_lmfit,
)


class CalibrationError(FitInputError):
    """Calibration data cannot be fitted; the message says why."""


# ---------------------------------------------------------------- AMR


@dataclass(frozen=True)
class AmrFit(ParamFit):
    """AMR fit: "R_perp_Ohm", "delta_R_Ohm" (Ohm) and "phi_0_deg" (deg; stderr 0 if fixed).

    pooling: how repeated AMR sweeps were combined into this one (:func:`pool_amr`), else None.
    """

    pooling: Pooling | None = None

    def resistance_Ohm(self, angle_deg):
        """Fitted R(phi) (Ohm) at angles in degrees."""
        v = self.values
        return v["R_perp_Ohm"] + v["delta_R_Ohm"] * np.cos(np.radians(np.asarray(angle_deg, float) - v["phi_0_deg"])) ** 2


@refusals_as(CalibrationError)
def fit_amr(angle_deg, resistance_Ohm, *, fit_offset: bool = True, offset_deg: float = 0.0, sigma_Ohm=None) -> AmrFit:
    """Fit R(phi) = R_perp + Delta_R*cos^2(phi - phi_0) to resistances (Ohm) at angles (deg).

    fit_offset=False fixes phi_0 at ``offset_deg``. The sign of Delta_R is
    free (positive for ordinary AMR); phi_0 is reported within (-90, 90].
    """
    n_free = 3 if fit_offset else 2
    phi, r = check_xy(angle_deg, resistance_Ohm, "angle (deg)", "resistance (Ohm)", n_free + 1)
    sigma = check_sigma(sigma_Ohm, r.size, "sigma of resistance (Ohm)")
    if np.any(r <= 0):
        raise CalibrationError("resistance (Ohm): all values must be positive")
    # cos^2(phi - phi0) = (1 + cos2phi cos2phi0 + sin2phi sin2phi0)/2: linear in (a, b, c).
    rad = np.radians(phi)
    if fit_offset:
        a, b, c = linear_start(np.column_stack([np.ones_like(rad), np.cos(2 * rad), np.sin(2 * rad)]), r)
        phi0 = 0.5 * math.degrees(math.atan2(c, b))
        dr = 2.0 * math.hypot(b, c)
    else:
        phi0 = offset_deg
        r_perp, dr = linear_start(np.column_stack([np.ones_like(rad), np.cos(rad - math.radians(phi0)) ** 2]), r)
    if fit_offset:
        r_perp = a - 0.5 * dr
    params = make_params([("R_perp_Ohm", r_perp, True), ("delta_R_Ohm", dr, True), ("phi_0_deg", phi0, fit_offset)])

    def residual(p):
        model = p["R_perp_Ohm"].value + p["delta_R_Ohm"].value * np.cos(rad - math.radians(p["phi_0_deg"].value)) ** 2
        return model - r if sigma is None else (model - r) / sigma

    base = run_lmfit(residual, params, r.size, sigma is not None, "AMR fit")
    values = dict(base.values)
    # fold phi_0 into (-90, 90]: cos^2 has period 180 deg
    values["phi_0_deg"] = -((-values["phi_0_deg"] + 90.0) % 180.0 - 90.0)
    return AmrFit(base.names, values, base.stderr, base.covariance, base.redchi, base.npoints)


# ---------------------------------------------------------------- rf current


@dataclass(frozen=True)
class RfCurrentCalibration:
    """Tshitoyan calibration at one frequency.

    dc_fit: values "R0_Ohm", "k_Ohm_per_A2" of R(I_dc) = R_0 + k*I_dc^2 (pooled over
        repeats: "k_Ohm_per_A2" only, each repeat's R_0 being its own).
    rf_fit: values "R0_Ohm", "c_Ohm_per_W" of R(P) = R_0' + c*P (P in W at the source;
        pooled: "c_Ohm_per_W" only).
    freq_GHz: the frequency of the R(P) data (None if not given).
    pooling: {"k_Ohm_per_A2": ..., "c_Ohm_per_W": ...}, how each slope was pooled over
        the calibrations (:func:`pool_rf_calibrations`); empty from :func:`calibrate_rf_current`.
    """

    dc_fit: ParamFit
    rf_fit: ParamFit
    freq_GHz: float | None = None
    pooling: dict[str, Pooling] = field(default_factory=dict)

    def I0(self, power_dBm: float):
        """Peak rf current I_0 = sqrt(2*c*P/k) (A) at source power ``power_dBm`` as an ``uncertainties`` variable."""
        if not math.isfinite(power_dBm):
            raise CalibrationError(f"source power must be finite, got {power_dBm!r}")
        k = self.dc_fit.ufloats()["k_Ohm_per_A2"]
        c = self.rf_fit.ufloats()["c_Ohm_per_W"]
        return (2.0 * c * float(dBm_to_W(power_dBm)) / k) ** 0.5

    def I0_A(self, power_dBm: float) -> tuple[float, float]:
        """(value, stderr) of the peak rf current (A) at source power ``power_dBm``."""
        i0 = self.I0(power_dBm)
        return float(i0.nominal_value), float(i0.std_dev)

    def to_dict(self, power_dBm: float | None = None) -> dict[str, Any]:
        """JSON-ready record; with ``power_dBm`` also "I0_A": {"value", "stderr"} at that power."""
        out: dict[str, Any] = {"freq_GHz": self.freq_GHz, "dc": self.dc_fit.to_dict(), "rf": self.rf_fit.to_dict()}
        if self.pooling:
            out["pooling"] = {name: p.to_dict() for name, p in self.pooling.items()}
        if power_dBm is not None:
            v, s = self.I0_A(power_dBm)
            out["I0_A"] = {"value": v, "stderr": s, "power_dBm": float(power_dBm)}
        return out


def _fit_line(x, y, slope_name: str, what: str, sigma) -> ParamFit:
    """Fit y = R0 + slope*x with lmfit (exact linear start, so it converges at once)."""
    r0, slope = linear_start(np.column_stack([np.ones_like(x), x]), y)
    params = make_params([("R0_Ohm", r0, True), (slope_name, slope, True)])

    def residual(p):
        r = p["R0_Ohm"].value + p[slope_name].value * x - y
        return r if sigma is None else r / sigma

    return run_lmfit(residual, params, y.size, sigma is not None, what)


@refusals_as(CalibrationError)
def fit_dc_heating(I_dc_mA, resistance_Ohm, *, sigma_Ohm=None, positive: bool = True) -> ParamFit:
    """Fit R(I_dc) = R_0 + k*I_dc^2 (currents in mA; k reported in Ohm/A^2).

    positive=False leaves the sign of k to the caller (a repeat to be pooled with others).
    """
    i, r = check_xy(I_dc_mA, resistance_Ohm, "I_dc (mA)", "resistance (Ohm)", 3)
    if np.unique(np.abs(i)).size < 2:
        raise CalibrationError("I_dc (mA): need at least two different |I_dc| to find the heating coefficient")
    sigma = check_sigma(sigma_Ohm, r.size, "sigma of resistance (Ohm)")
    fit = _fit_line((i * 1e-3) ** 2, r, "k_Ohm_per_A2", "dc heating fit", sigma)
    if positive:
        _check_k(fit)
    return fit


def _check_k(fit: ParamFit) -> None:
    if fit.values["k_Ohm_per_A2"] <= 0:
        raise CalibrationError(
            f"dc heating coefficient k = {fit.values['k_Ohm_per_A2']:.3g} Ohm/A^2 is not positive: "
            "R does not rise with I_dc^2 (use larger currents)"
        )


@refusals_as(CalibrationError)
def fit_rf_heating(power_dBm, resistance_Ohm, *, sigma_Ohm=None, positive: bool = True) -> ParamFit:
    """Fit R(P) = R_0' + c*P with P (W) from the source powers in dBm; c in Ohm/W.

    positive=False leaves the sign of c to the caller (a repeat to be pooled with others).
    """
    p, r = check_xy(power_dBm, resistance_Ohm, "power (dBm)", "resistance (Ohm)", 3)
    if np.unique(p).size < 2:
        raise CalibrationError("power (dBm): need at least two different powers")
    sigma = check_sigma(sigma_Ohm, r.size, "sigma of resistance (Ohm)")
    fit = _fit_line(dBm_to_W(p), r, "c_Ohm_per_W", "rf heating fit", sigma)
    if positive:
        _check_c(fit)
    return fit


def _check_c(fit: ParamFit) -> None:
    if fit.values["c_Ohm_per_W"] <= 0:
        raise CalibrationError(
            f"rf heating coefficient c = {fit.values['c_Ohm_per_W']:.3g} Ohm/W is not positive: "
            "R does not rise with rf power (check that the rf reaches the device)"
        )


def calibrate_rf_current(
    I_dc_mA, R_dc_Ohm, power_dBm, R_rf_Ohm, *, freq_GHz: float | None = None, sigma_dc_Ohm=None, sigma_rf_Ohm=None
) -> RfCurrentCalibration:
    """Tshitoyan calibration at one frequency from the R(I_dc) data and the R(P) data at that frequency."""
    return RfCurrentCalibration(
        fit_dc_heating(I_dc_mA, R_dc_Ohm, sigma_Ohm=sigma_dc_Ohm),
        fit_rf_heating(power_dBm, R_rf_Ohm, sigma_Ohm=sigma_rf_Ohm),
        None if freq_GHz is None else float(freq_GHz),
    )


def pool_rf_calibrations(dc_fits: Mapping[str, ParamFit], rf_fits: Mapping[str, ParamFit], *,
                         freq_GHz: float | None = None, weighted: bool = False) -> RfCurrentCalibration:
    """One rf-current calibration from repeated ones: k pooled over ``dc_fits``, c over ``rf_fits``.

    dc_fits: {label: R(I_dc) fit} (:func:`fit_dc_heating`), rf_fits: {label: R(P) fit at
    the frequency} (:func:`fit_rf_heating`), fitted with ``positive=False``: a single
    repeat's slope may scatter through zero, only the pooled one must be positive.
    weighted: the fits were weighted by known errors.

    Why the slopes and not I_0: I_0 = sqrt(2*c*P/k) is a ratio, and pooling its
    numerator and denominator first keeps the ratio's bias (from the scatter of
    1/k) at that of the pooled k; both slopes are linear in the data, so the
    pooled slope is exactly the slope of one joint fit of every repeat's points
    with one offset per repeat (R_0 drifts with the room's temperature and, in
    R(P), shifts with the sense current's heating; the slope does neither). The
    noise level of the readings is taken from all repeats' residuals at once
    unless it differs between them, and repeats that disagree beyond their
    errors get their pooled error scaled by their Birge ratio and a warning
    (:mod:`stfmr.analysis.pooling`). Measured on synthetic calibrations of the
    precision design (8 dc and 6 rf readings) pooled in pairs, 400 pairs: the
    reported variance of I_0 is 1.04 times its true scatter, half that of one
    calibration; weighting each calibration's I_0 by its own error would report
    0.83 times. The dc heating coefficient k is the
    device's, the same at every frequency, so a caller may pool the R(I_dc) of
    calibrations at every frequency; c (the rf transmission) is the frequency's own.
    One fit each is used as it is (``pooling`` then says one repeat).
    """
    where = f" at {freq_GHz:g} GHz" if freq_GHz is not None else ""
    dc, dc_pool = pool_fits(dc_fits, ["k_Ohm_per_A2"], "dc heating coefficient k", weighted=weighted)
    rf, rf_pool = pool_fits(rf_fits, ["c_Ohm_per_W"], f"rf heating slope c{where}", weighted=weighted)
    _check_k(dc)
    _check_c(rf)
    pooling = {"k_Ohm_per_A2": dc_pool, "c_Ohm_per_W": rf_pool}
    return RfCurrentCalibration(dc, rf, None if freq_GHz is None else float(freq_GHz), pooling)


#: how messages name the AMR parameters pooled over repeated sweeps
AMR_POOLED = "AMR"


def pool_amr(fits: Mapping[str, AmrFit], *, weighted: bool = False) -> AmrFit:
    """One AMR result from repeated AMR sweeps {label: fit}: R_perp, Delta_R and phi_0 pooled together.

    The three parameters of each sweep are correlated (R_perp and Delta_R strongly),
    so they are pooled as one vector with each sweep's covariance (the generalised
    inverse-variance mean, :func:`stfmr.analysis.pooling.pool_fits`): to first order
    one fit of every sweep's points. R_perp is pooled too: where the device's
    resistance drifted between the sweeps (the room warmed up) R_perp fails the
    consistency check, is warned and its error scaled by its Birge ratio, while
    Delta_R keeps its own. phi_0 is taken modulo 180 deg next to the first sweep's
    before pooling. weighted: the fits were weighted by known errors. One fit is
    returned as it is, with its ``pooling`` of one.
    """
    labels = list(fits)
    if len(fits) == 1:
        return dataclasses.replace(fits[labels[0]], pooling=Pooling.single(AMR_POOLED, labels[0]))
    names = list(fits[labels[0]].names)
    ref = fits[labels[0]].values.get("phi_0_deg", 0.0)
    near = {}
    for label, fit in fits.items():
        values = dict(fit.values)
        if "phi_0_deg" in values:
            values["phi_0_deg"] = ref + ((values["phi_0_deg"] - ref + 90.0) % 180.0 - 90.0)
        near[label] = ParamFit(fit.names, values, fit.stderr, fit.covariance, fit.redchi, fit.npoints)
    pooled, pooling = pool_fits(near, names, AMR_POOLED, weighted=weighted)
    values = dict(pooled.values)
    for name, value in fits[labels[0]].values.items():
        values.setdefault(name, value)  # a fixed phi_0 (not fitted) stays as it was set
    stderr = {n: pooled.stderr.get(n, 0.0) for n in values}
    if "phi_0_deg" in values:
        values["phi_0_deg"] = -((-values["phi_0_deg"] + 90.0) % 180.0 - 90.0)
    return AmrFit(pooled.names, values, stderr, pooled.covariance, pooled.redchi, pooled.npoints, pooling)


def calibrate_rf_current_per_frequency(
    I_dc_mA, R_dc_Ohm, rf_sweeps: Mapping[float, tuple[Any, Any]]
) -> dict[float, RfCurrentCalibration]:
    """Calibrate several frequencies sharing one R(I_dc) sweep.

    rf_sweeps: {freq_GHz: (power_dBm array, resistance_Ohm array)}, the R(P)
    data taken off resonance at each frequency. Returns {freq_GHz: calibration}.
    The dc fit is shared, so I_0 at different frequencies are correlated
    through k (``uncertainties`` keeps that when they are combined).
    """
    if not rf_sweeps:
        raise CalibrationError("no R(P) sweeps given")
    dc = fit_dc_heating(I_dc_mA, R_dc_Ohm)
    out: dict[float, RfCurrentCalibration] = {}
    for f, (p, r) in sorted(rf_sweeps.items()):
        if not (math.isfinite(f) and f > 0):
            raise CalibrationError(f"frequency must be positive, got {f!r} GHz")
        try:
            out[float(f)] = RfCurrentCalibration(dc, fit_rf_heating(p, r), float(f))
        except FitInputError as exc:
            raise CalibrationError(f"at {f:g} GHz: {exc}") from None
    return out
