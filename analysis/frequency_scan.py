"""Fit frequency-swept ST-FMR spectra V(f) at fixed field and map them onto the field-swept line.

The mapping (docs/physics.md §2, §5). Near resonance the LLG response
depends on the operating point (H, f) essentially through its distance from
the Kittel curve f_K(H): the susceptibility's denominator vanishes on the
curve, its other factors vary slowly. To first order, the field distance from
resonance at frequency f is

    H - H_r(f) = (f_K(H) - f) / k,    k = df/dH, the Kittel slope (> 0).

A field sweep at f_r = f_K(H_0) sees x = H - H_r; a frequency scan at the
fixed field H_0 sees x = H_0 - H_r(f) = -(f - f_r)/k. Putting that x into the
field-domain shapes of :mod:`stfmr.analysis.lineshape`:

    S = dH^2/(x^2 + dH^2)   =  df^2/((f - f_r)^2 + df^2)             = S(f; f_r, df)
    A = dH*x/(x^2 + dH^2)   = -df*(f - f_r)/((f - f_r)^2 + df^2)     = -A(f; f_r, df)

with df = k*dH. So V(f) is the field lineshape with f in place of H,

    V(f) = V_S^f*S(f; f_r, df) + V_A^f*A(f; f_r, df) + V_0 + V_1*(f - f_r),

and the field-sweep amplitudes and width follow as

    V_S = V_S^f,   V_A = -V_A^f,   dH = df / k.

The antisymmetric part changes sign because f above f_r lies on the same side
of the Kittel curve as H below H_r. On the negative field branch the shapes
are functions of |H| (see lineshape) and f_K depends on |H| only, so the same
mapping holds and V_S, V_A keep the meaning they have in a field-sweep fit of
that branch (both reversed with m).

The Kittel slope. From f^2 = (gamma/2 pi)^2*B*(B + mu0*M_eff) with B = mu0*H:
2*f*df = (gamma/2 pi)^2*(2*B + mu0*M_eff)*dB, so

    k = df/dB = (gamma/2 pi)^2*(2*B + mu0*M_eff) / (2*f),

at the fixed field B with f = f_K(B) when mu0*M_eff is given. Without it,
mu0*M_eff = f_r^2/((gamma/2 pi)^2*B) - B follows from the fitted f_r (for the
given g), and the slope becomes k = (f_r^2 + (gamma/2 pi)^2*B^2)/(2*f_r*B).
Its uncertainty (from f_r and the mean measured field) is propagated into dH.
The g factor matters little: a 1 % error in g moves k by about 0.3 % at 10 GHz.

Left out (second order in df/f_r, a few per cent of the line): the slow
change of the rf current and of the LLG prefactors with f, the change of dH
with f across the line, the curvature of the Kittel curve, and the damped
resonance frequency (omega_r^2 = omega_K^2/(1 + alpha^2) at fixed field). The
background slope V_1 absorbs part of the first. The curvature, for one: a line
that were an exact Lorentzian in field would reach the frequency fit with a
fraction c = (d^2f/dH^2)/(df/dH)*dH of each amplitude mixed into the other
(V_S -> V_S + c*V_A, V_A -> V_A - c*V_S; c = -1.4 % at 150 mT, 7.5 mT, for
mu0*M_eff = 0.65 T). The LLG's own field line departs from a Lorentzian at the
same order, so no such correction is applied: on the exact LLG of the type-A
preset (noise-free, 150 mT, 45 deg) the scan's f_r lies 6 MHz (0.06 %, 2 % of
df) below f_K(H), and a field sweep at that f_r agrees on dH to 0.06 %, on
V_S and V_A to 1.5 % and 0.6 % and on V_S/V_A to 0.9 % (with the correction:
2.3 %, 1.1 % and 3.4 %). The field's standard error is statistical only (the scatter
of the readings): a gaussmeter's resolution and calibration are not in it.

Frequencies in GHz, fields (mu0*H) in mT, voltages in V; V_1 in V/GHz. The
automatic start is the fast core of :mod:`stfmr.analysis.spectrum_fit` (the
model does not care about the unit of its axis); the fit itself is an
``lmfit.Model`` of :func:`stfmr.analysis.lineshape.spectrum_voltage`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import numpy as np

from stfmr.analysis import columns as col
from stfmr.analysis import lineshape
from stfmr.analysis.constants import DEFAULT_G, gyromagnetic_ratio
from stfmr.analysis.fit_common import ParamFit
from stfmr.analysis.resonance import kittel_frequency_GHz, meff_from_resonance_T

#: parameter order of values and stderr (frequency domain)
PARAM_NAMES: tuple[str, ...] = ("f_r", "df", "V_S", "V_A", "V_0", "V_1")
#: keys of the field-equivalent record
EQUIVALENT_NAMES: tuple[str, ...] = ("H_r", "dH", "V_S", "V_A", "df_dH_GHz_per_mT", "mu0_Meff_T")

#: fewest points of a branch (as for a field sweep)
MIN_POINTS = 15


class FrequencyScanFitError(ValueError):
    """A frequency scan cannot be fitted; the message says why."""


class FrequencyScanWarning(UserWarning):
    """Something was left out of a frequency-scan fit (e.g. a short second branch)."""


@dataclass(frozen=True)
class FrequencyScanFit(ParamFit):
    """Result of fitting one field branch of a frequency scan.

    values, stderr (ParamFit): "f_r", "df" (GHz; df the half width), "V_S",
        "V_A", "V_0" (V) and "V_1" (V/GHz) of the line in frequency. V_A here is
        the coefficient of A(f; f_r, df): opposite in sign to a field sweep's.
    polarity: +1 or -1, the sign of the field.
    field_mT, field_stderr_mT: mean measured field (signed) and its standard error.
    g: the Lande factor of the Kittel slope; meff_given: mu0*M_eff was given
        (else it follows from f_r).
    equivalent, equivalent_stderr: the line as a field sweep at f_r would see
        it: "H_r" (mT, the field), "dH" (mT, = df/k), "V_S", "V_A" (V, V_A
        sign-corrected), "df_dH_GHz_per_mT" (k) and "mu0_Meff_T" (T).
    significance: chi-square drop of the line against the background alone
        (noise units, from the automatic start).
    frequency_range_GHz: first and last frequency, increasing.
    report: lmfit's fit report.
    """

    polarity: int
    field_mT: float
    field_stderr_mT: float
    g: float
    meff_given: bool
    equivalent: dict[str, float]
    equivalent_stderr: dict[str, float]
    significance: float
    frequency_range_GHz: tuple[float, float]
    report: str = dc_field(default="", repr=False)

    def evaluate(self, freq_GHz) -> np.ndarray:
        """Return the fitted model (V) at the given frequencies (GHz)."""
        v = self.values
        return lineshape.spectrum_voltage(freq_GHz, v["f_r"], v["df"], v["V_S"], v["V_A"], v["V_0"], v["V_1"])

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready record (frequency-domain values, then the field-equivalent ones)."""
        out: dict[str, Any] = {"polarity": int(self.polarity)}
        for name in PARAM_NAMES:
            out[name] = {"value": float(self.values[name]), "stderr": float(self.stderr[name])}
        out["redchi"] = float(self.redchi)
        out["npoints"] = int(self.npoints)
        out["g"] = float(self.g)
        out["field_equivalent"] = {
            name: {"value": float(self.equivalent[name]), "stderr": float(self.equivalent_stderr[name])}
            for name in EQUIVALENT_NAMES
        }
        return out


# ---------------------------------------------------------------- Kittel slope


def kittel_slope_GHz_per_mT(field_mT, freq_GHz, g: float):
    """Return k = df/d(mu0*H) (GHz/mT) of the in-plane Kittel curve through (|field|, freq).

    k = (f^2 + (gamma/2 pi)^2*B^2)/(2*f*B), which equals (gamma/2 pi)^2*(2*B +
    mu0*M_eff)/(2*f) for the mu0*M_eff that puts (B, f) on the curve. Works on
    ``uncertainties`` variables.
    """
    gp = gyromagnetic_ratio(g) / (2.0 * np.pi) * 1e-9  # GHz/T
    b = _magnitude_T(field_mT)
    return (freq_GHz**2 + (gp * b) ** 2) / (2.0 * freq_GHz * b) * 1e-3


def _magnitude_T(field_mT):
    """|field| in T, for floats, arrays and ``uncertainties`` variables (whose abs() is deprecated)."""
    if np.ndim(field_mT):
        return np.abs(np.asarray(field_mT, dtype=float)) * 1e-3
    return (-field_mT if getattr(field_mT, "nominal_value", field_mT) < 0 else field_mT) * 1e-3


# ---------------------------------------------------------------- files


def is_frequency_scan(columns: Mapping[str, np.ndarray]) -> bool:
    """True for a file of V_FMR against a varying ``Frequency (GHz)`` at one field (or +-field).

    A field sweep records a constant frequency; a frequency scan a constant set
    field per branch (at most two values, +H and -H).
    """
    if col.FREQUENCY not in columns or col.V_FMR not in columns:
        return False
    f = np.asarray(columns[col.FREQUENCY], dtype=float)
    f = f[np.isfinite(f)]
    if np.unique(f).size < 3:
        return False
    if col.FIELD_SET in columns:
        h = np.asarray(columns[col.FIELD_SET], dtype=float)
        return np.unique(h[np.isfinite(h)]).size <= 2
    return True


def fit_datafile(data: Any, *, g: float | None = None, mu0_Meff_T: float | None = None, slope: bool = True,
                 voltage_column: str = col.V_FMR) -> list[FrequencyScanFit]:
    """Fit every branch of a frequency-scan file (a :class:`~stfmr.analysis.datafile.DataFile`).

    g: the Lande factor of the Kittel slope; by default the file's ``Lande g``
    parameter, else :data:`~stfmr.analysis.constants.DEFAULT_G`. The other
    keywords go to :func:`fit_frequency_scan`.
    """
    if g is None:
        try:
            g = float(data.header.get(col.LANDE_G_PARAM, str(DEFAULT_G)).split()[0])
        except (ValueError, IndexError):
            g = DEFAULT_G
    field = data.column(col.FIELD)
    set_field = data.columns.get(col.FIELD_SET)
    return fit_frequency_scan(data.column(col.FREQUENCY), data.column(voltage_column), field,
                              set_field_mT=set_field, g=g, mu0_Meff_T=mu0_Meff_T, slope=slope)


# ---------------------------------------------------------------- fits


def fit_frequency_scan(freq_GHz, voltage_V, field_mT, *, set_field_mT=None, g: float = DEFAULT_G,
                       mu0_Meff_T: float | None = None, slope: bool = True) -> list[FrequencyScanFit]:
    """Fit every field branch of a frequency scan; return the fits, positive branch first.

    freq_GHz, voltage_V, field_mT: one value per point (field_mT the measured
    field). set_field_mT: the set field per point, used to split the branches
    (else the sign of the measured field). A branch of fewer than MIN_POINTS
    points beside a fittable one (an aborted second branch) is dropped with a
    FrequencyScanWarning. Other keywords go to :func:`fit_frequency_line`.
    """
    f = _floats(freq_GHz, "frequency (GHz)")
    v = _floats(voltage_V, "voltage (V)")
    h = _floats(field_mT, "field (mT)")
    split = h if set_field_mT is None else _floats(set_field_mT, "set field (mT)")
    if not f.size == v.size == h.size == split.size:
        raise FrequencyScanFitError(f"columns of unequal length: {f.size} frequencies, {v.size} voltages, "
                                    f"{h.size} fields, {split.size} set fields")
    parts = [(pol, mask) for pol, mask in ((1, split > 0), (-1, split < 0)) if np.any(mask)]
    if not parts:
        raise FrequencyScanFitError("the field is zero everywhere: a frequency scan needs a saturating field")
    if len(parts) == 2 and min(int(m.sum()) for _, m in parts) < MIN_POINTS <= max(int(m.sum()) for _, m in parts):
        short = [p for p in parts if p[1].sum() < MIN_POINTS][0]
        warnings.warn(FrequencyScanWarning(f"dropped the {'positive' if short[0] > 0 else 'negative'} field "
                                           f"branch: {int(short[1].sum())} point(s) only"), stacklevel=2)
        parts = [p for p in parts if p is not short]
    fits = []
    for pol, mask in parts:
        try:
            fits.append(fit_frequency_line(f[mask], v[mask], h[mask], g=g, mu0_Meff_T=mu0_Meff_T, slope=slope))
        except FrequencyScanFitError as exc:
            raise FrequencyScanFitError(f"{'positive' if pol > 0 else 'negative'} field branch: {exc}") from exc
    return fits


def fit_frequency_line(freq_GHz, voltage_V, field_mT, *, g: float = DEFAULT_G, mu0_Meff_T: float | None = None,
                       slope: bool = True) -> FrequencyScanFit:
    """Fit one branch V(f) at fixed field and return it with its field-equivalent line.

    freq_GHz: distinct frequencies (any order). voltage_V: dc-equivalent mixing
    voltage (V). field_mT: the measured field, one value or one per point, all
    of one sign. g: Lande factor of the Kittel slope. mu0_Meff_T: if given,
    the slope is Kittel's at the fixed field with this mu0*M_eff; else it
    follows from the fitted f_r. slope: fit the background V_1 (else 0).
    Raises FrequencyScanFitError saying why a scan cannot be fitted.
    """
    import lmfit

    from stfmr.analysis.spectrum_fit import SpectrumFitError, fit_spectrum

    if not (np.isfinite(g) and g > 0):
        raise FrequencyScanFitError(f"g must be positive, got {g!r}")
    if mu0_Meff_T is not None and not (np.isfinite(mu0_Meff_T) and mu0_Meff_T > 0):
        raise FrequencyScanFitError(f"mu0_Meff_T must be positive, got {mu0_Meff_T!r}")
    f = _floats(freq_GHz, "frequency (GHz)")
    v = _floats(voltage_V, "voltage (V)")
    h = _floats(field_mT, "field (mT)")
    if h.size == 1:
        h = np.full(f.shape, h[0])
    if f.size != v.size or h.size != f.size:
        raise FrequencyScanFitError(f"{f.size} frequencies but {v.size} voltages and {h.size} fields")
    if np.any(h == 0) or (np.any(h > 0) and np.any(h < 0)):
        raise FrequencyScanFitError("the field must be nonzero and of one sign along a branch")
    if np.any(f <= 0):
        raise FrequencyScanFitError("frequencies must be positive")
    order = np.argsort(f, kind="stable")
    f, v = f[order], v[order]
    if np.any(np.diff(f) == 0):
        raise FrequencyScanFitError(f"repeated frequency {f[np.flatnonzero(np.diff(f) == 0)[0]]:g} GHz")
    try:
        start = fit_spectrum(f, v, slope=slope)  # the frequency axis stands in for the field
    except SpectrumFitError as exc:
        raise FrequencyScanFitError(_in_frequency(str(exc))) from None

    def line(freq, f_r, df, V_S, V_A, V_0, V_1):
        return lineshape.spectrum_voltage(freq, f_r, df, V_S, V_A, V_0, V_1)

    model = lmfit.Model(line, independent_vars=["freq"], name="stfmr frequency line")
    s = start.values
    params = model.make_params(f_r=s["H_r"], df=s["dH"], V_S=s["V_S"], V_A=s["V_A"], V_0=s["V_0"], V_1=s["V_1"])
    if not slope:
        params["V_1"].set(value=0.0, vary=False)
    result = model.fit(v, params, freq=f)
    if not result.success or result.covar is None or not np.all(np.isfinite(result.covar)):
        raise FrequencyScanFitError(f"the lmfit fit did not converge: {result.message}")
    names = tuple(result.var_names)
    values = {k: float(result.params[k].value) for k in PARAM_NAMES}
    covar = np.array(result.covar, dtype=float)
    if values["df"] < 0:  # the same line: S is even in df, A odd
        values["df"], values["V_A"] = -values["df"], -values["V_A"]
        flip = np.array([-1.0 if n in ("df", "V_A") else 1.0 for n in names])
        covar = covar * np.outer(flip, flip)
    stderr = {k: 0.0 for k in PARAM_NAMES}
    stderr.update({n: float(np.sqrt(covar[i, i])) for i, n in enumerate(names)})
    lo, hi = float(f[0]), float(f[-1])
    if not lo <= values["f_r"] <= hi:
        raise FrequencyScanFitError(f"no resonance in the window {lo:g} to {hi:g} GHz: "
                                    f"the fit puts f_r at {values['f_r']:g} GHz")
    if not 0 < values["df"] < hi - lo or not all(np.isfinite(list(stderr.values()))):
        raise FrequencyScanFitError(f"linewidth df = {values['df']:g} GHz is not determined inside the "
                                    f"window {lo:g} to {hi:g} GHz")
    base = ParamFit(names, values, stderr, covar, float(result.redchi), int(f.size))
    equivalent, equivalent_stderr, field_mean, field_sem = _field_equivalent(base, h, g, mu0_Meff_T)
    return FrequencyScanFit(
        **base.base_fields(),
        polarity=-1 if h[0] < 0 else 1,
        field_mT=field_mean,
        field_stderr_mT=field_sem,
        g=float(g),
        meff_given=mu0_Meff_T is not None,
        equivalent=equivalent,
        equivalent_stderr=equivalent_stderr,
        significance=float(start.significance),
        frequency_range_GHz=(lo, hi),
        report=result.fit_report(),
    )


def _field_equivalent(fit: ParamFit, h: np.ndarray, g: float, mu0_Meff_T: float | None):
    """The field-sweep view of a fitted line: (values, stderr, mean field, its standard error)."""
    from uncertainties import ufloat

    u = fit.ufloats()
    mean = float(np.mean(h))
    sem = float(np.std(h, ddof=1) / np.sqrt(h.size)) if h.size > 1 else 0.0
    b = ufloat(abs(mean), sem) if sem > 0 else abs(mean)  # mT
    if mu0_Meff_T is None:
        f_curve = u["f_r"]
        meff = meff_from_resonance_T(b, f_curve, g)
    else:
        f_curve = float(kittel_frequency_GHz(abs(mean), mu0_Meff_T, g))
        meff = mu0_Meff_T
    k = kittel_slope_GHz_per_mT(b, f_curve, g)
    q = {"H_r": mean, "dH": u["df"] / k, "V_S": u["V_S"], "V_A": -u["V_A"], "df_dH_GHz_per_mT": k,
         "mu0_Meff_T": meff}
    values = {n: float(getattr(x, "nominal_value", x)) for n, x in q.items()}
    stderr = {n: float(getattr(x, "std_dev", 0.0)) for n, x in q.items()}
    stderr["H_r"] = sem
    return values, stderr, mean, sem


def _floats(values, what: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=float)).ravel()
    bad = ~np.isfinite(arr)
    if bad.any():
        raise FrequencyScanFitError(f"{what}: {int(bad.sum())} NaN or infinite value(s), first at index "
                                    f"{int(np.argmax(bad))}")
    return arr


def _in_frequency(message: str) -> str:
    """A message of the field-sweep fit, reworded for the frequency axis it was given."""
    for old, new in ((" mT", " GHz"), ("H_r", "f_r"), ("dH", "df"), ("field", "frequency")):
        message = message.replace(old, new)
    return message
