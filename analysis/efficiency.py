"""Torque efficiencies from ST-FMR amplitudes, and back (docs/physics.md §3, §4).

This module is the one home of the closed forms linking effective fields and
angular amplitudes:

    V_S0 = I_0*Delta_R_AMR*B_DL*f_S,  f_S = sqrt(B_r*(B_r + mu0*M_eff)) / ((2*B_r + mu0*M_eff)*Delta_B)
    V_A0 = I_0*Delta_R_AMR*B_FL*f_A,  f_A = (B_r + mu0*M_eff) / ((2*B_r + mu0*M_eff)*Delta_B)

(§3 with -(I_0/2)*(dR/dphi)*cos(phi) = I_0*Delta_R_AMR*cos^2(phi)*sin(phi),
in the sign convention of ``instruments/sim/llg.py``: V_S0 > 0 for B_DL > 0 and
V_A0 > 0 for B_FL > 0 at positive field), B_DL, B_FL being the peak effective
fields at peak rf current I_0, and of xi^E = (2e/hbar)*M_s*t_FM*B/E with
E = I_0*R/L. Together they give §4's absolute method.

Every input may be a float (exact), a (value, stderr) pair or an
``uncertainties`` variable (e.g. from ``AngularFit.amplitudes()`` or
``ParamFit.ufloats()``), so uncertainties and their correlations propagate
into every efficiency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Union

import numpy as np
import uncertainties
from uncertainties.core import AffineScalarFunc

from stfmr.analysis.constants import DEFAULT_G, MU0, TWO_E_OVER_HBAR, gyromagnetic_ratio
from stfmr.analysis.sample import SampleMetadata

#: a float, a (value, stderr) pair or an uncertainties variable
Quantity = Union[float, tuple[float, float], AffineScalarFunc]


class EfficiencyInputError(ValueError):
    """An input of the efficiency calculation is missing or unphysical; the message names it."""


def as_quantity(x: Quantity, name: str, *, positive: bool = False, nonzero: bool = False):
    """Return ``x`` as a float or an ``uncertainties`` variable, checking it; the error names ``name``."""
    if isinstance(x, AffineScalarFunc):
        q, nominal = x, float(x.nominal_value)
    elif isinstance(x, tuple):
        if len(x) != 2:
            raise EfficiencyInputError(f"{name}: give a value or a (value, stderr) pair, got {x!r}")
        value, stderr = float(x[0]), float(x[1])
        if not math.isfinite(stderr) or stderr < 0:
            raise EfficiencyInputError(f"{name}: standard error must be finite and >= 0, got {stderr!r}")
        q = uncertainties.ufloat(value, stderr) if stderr > 0 else value
        nominal = value
    else:
        try:
            q = nominal = float(x)
        except (TypeError, ValueError):
            raise EfficiencyInputError(f"{name}: not a number: {x!r}") from None
    if not math.isfinite(nominal):
        raise EfficiencyInputError(f"{name}: must be finite, got {nominal!r}")
    if positive and nominal <= 0:
        raise EfficiencyInputError(f"{name}: must be positive, got {nominal!r}")
    if nonzero and nominal == 0:
        raise EfficiencyInputError(f"{name}: must not be zero")
    return q


def _nominal(x) -> float:
    return float(getattr(x, "nominal_value", x))


def lineshape_factors(H_r_mT: Quantity, dH_mT: Quantity, mu0_Meff_T: Quantity):
    """Return (f_S, f_A) (1/T) of the closed forms for resonance field H_r (mT, either sign) and half width dH (mT)."""
    h = as_quantity(H_r_mT, "H_r (mT)", nonzero=True)
    dh = as_quantity(dH_mT, "dH (mT)", positive=True)
    meff = as_quantity(mu0_Meff_T, "mu0*M_eff (T)")
    b_r = (h if _nominal(h) > 0 else -h) * 1e-3  # magnitude on either branch
    d_b = dh * 1e-3
    if _nominal(b_r + meff) <= 0:
        raise EfficiencyInputError(f"mu0*M_eff = {_nominal(meff)} T is below -B_r: no in-plane resonance")
    denom = (2.0 * b_r + meff) * d_b
    return (b_r * (b_r + meff)) ** 0.5 / denom, (b_r + meff) / denom


def amplitudes_from_fields(B_DL_T, B_FL_T, I0_A, H_r_mT, dH_mT, mu0_Meff_T, delta_R_Ohm):
    """Return (V_S0, V_A0) (V), the cos^2(phi)*sin(phi) amplitudes, for peak effective fields B_DL, B_FL (T) at I_0 (A)."""
    f_s, f_a = lineshape_factors(H_r_mT, dH_mT, mu0_Meff_T)
    i0 = as_quantity(I0_A, "I_0 (A)", positive=True)
    dr = as_quantity(delta_R_Ohm, "Delta_R_AMR (Ohm)", positive=True)
    return i0 * dr * B_DL_T * f_s, i0 * dr * B_FL_T * f_a


def fields_from_amplitudes(V_S0, V_A0, I0_A, H_r_mT, dH_mT, mu0_Meff_T, delta_R_Ohm):
    """Return the peak effective fields (B_DL, B_FL) (T) at I_0 from amplitudes V_S0, V_A0 (V): inverse of the above."""
    f_s, f_a = lineshape_factors(H_r_mT, dH_mT, mu0_Meff_T)
    i0 = as_quantity(I0_A, "I_0 (A)", positive=True)
    dr = as_quantity(delta_R_Ohm, "Delta_R_AMR (Ohm)", positive=True)
    return V_S0 / (i0 * dr * f_s), V_A0 / (i0 * dr * f_a)


def angular_factor(phi_deg: float) -> float:
    """cos^2(phi)*sin(phi): V_S(phi) = V_S0*angular_factor(phi) for spin-Hall-like torques."""
    phi = math.radians(phi_deg)
    return math.cos(phi) ** 2 * math.sin(phi)


def electric_field(I0_A, R_Ohm, length_m):
    """Peak rf electric field E_0 = I_0*R/L (V/m)."""
    return I0_A * R_Ohm / length_m


def efficiency_from_field(B_T, I0_A, R_Ohm, length_m, Ms_t_A):
    """xi^E = (2e/hbar)*M_s*t_FM*B/E (Ohm^-1 m^-1) for a peak effective field B (T) at peak current I_0 (A)."""
    return TWO_E_OVER_HBAR * Ms_t_A * B_T / electric_field(I0_A, R_Ohm, length_m)


def fields_per_current(xi_DL_E, xi_FL_E, R_Ohm, length_m, Ms_t_A):
    """Return (B_DL, B_FL) per ampere (T/A) of device current for efficiencies xi^E (Ohm^-1 m^-1): inverse of the above."""
    per_A = R_Ohm / (length_m * TWO_E_OVER_HBAR * Ms_t_A)
    return xi_DL_E * per_A, xi_FL_E * per_A


def oersted_efficiency(Ms_t_A, underlayer_thickness_m, underlayer_resistivity_Ohm_m):
    """xi_Oe^E (Ohm^-1 m^-1) of a uniform underlayer's Oersted field B = mu0*J*t_N/2, J = E/rho_N."""
    return TWO_E_OVER_HBAR * Ms_t_A * MU0 * underlayer_thickness_m / (2.0 * underlayer_resistivity_Ohm_m)


#: the absolute method's inputs, by their names in the uncertainty budget (:mod:`stfmr.analysis.budget`):
#: peak rf current I_0 (A), AMR amplitude (Ohm), angular amplitudes (V), resonance field and half
#: width (mT), mu0*M_eff (T), g, M_s*t_FM (A), device resistance (Ohm) and length (m)
INPUT_NAMES = ("I_0", "Delta_R_AMR", "V_S0", "V_A0", "H_r", "dH", "M_eff", "g", "M_s t", "R", "length")


@dataclass(frozen=True)
class EfficiencyInputs:
    """The absolute method's inputs, checked: floats or ``uncertainties`` variables by :data:`INPUT_NAMES`.

    V_S0 and V_A0 are held with the setup polarity applied. :meth:`evaluate` is the
    one home of the chain from these inputs to every result: the efficiencies'
    propagated errors come from it, and so do the partial derivatives of the
    uncertainty budget (:meth:`linearized`).
    """

    quantities: dict[str, Any]
    resistivity_Ohm_m: float
    #: (t_N m, rho_N Ohm m) of the ratio method's underlayer, or None
    underlayer: tuple[Any, Any] | None = None

    def evaluate(self, quantities: dict[str, Any] | None = None) -> dict[str, Any]:
        """Every result of :class:`Efficiencies` (but the polarity) from ``quantities`` (default: these inputs)."""
        q = self.quantities if quantities is None else quantities
        i0, r, length, ms_t = q["I_0"], q["R"], q["length"], q["M_s t"]
        b_dl, b_fl = fields_from_amplitudes(q["V_S0"], q["V_A0"], i0, q["H_r"], q["dH"], q["M_eff"], q["Delta_R_AMR"])
        xi_dl = efficiency_from_field(b_dl, i0, r, length, ms_t)
        xi_fl = efficiency_from_field(b_fl, i0, r, length, ms_t)
        e0 = electric_field(i0, r, length)
        gamma = gyromagnetic_ratio(q["g"])
        ratio = None
        if self.underlayer is not None:
            if _nominal(q["V_A0"]) == 0:
                raise EfficiencyInputError("ratio method: V_A0 is zero, the ratio V_S/V_A is undefined")
            f_s, f_a = lineshape_factors(q["H_r"], q["dH"], q["M_eff"])
            ratio = oersted_efficiency(ms_t, *self.underlayer) * (q["V_S0"] * f_a) / (q["V_A0"] * f_s)
        rho = self.resistivity_Ohm_m
        return {"xi_DL_E": xi_dl, "xi_FL_Oe_E": xi_fl, "xi_DL_j": xi_dl * rho, "xi_FL_Oe_j": xi_fl * rho,
                "T_DL_per_E": gamma * b_dl / e0, "T_FL_per_E": gamma * b_fl / e0,
                "B_DL_per_A_T": b_dl / i0, "B_FL_per_A_T": b_fl / i0, "ratio_method_xi_DL_E": ratio}

    def linearized(self, result: str) -> tuple[np.ndarray, np.ndarray]:
        """First-order propagation of one result: (its partial derivatives, the inputs' covariance).

        Both over :data:`INPUT_NAMES` in that order. The derivatives d result/d input
        (result's unit per input's unit) are those ``uncertainties`` propagates through
        :meth:`evaluate`: each input is replaced by an independent variable at its value,
        so the derivative with respect to it is the result's derivative with respect to
        that input alone. The covariance matrix is the inputs' own (correlated within one
        fit; zero rows for exact inputs). The result's variance is ``d @ cov @ d``, its
        squared standard error.
        """
        probes = {n: uncertainties.ufloat(self.value(n), 1.0) for n in INPUT_NAMES}
        value = self.evaluate(probes)[result]
        derivatives = getattr(value, "derivatives", {})
        d = np.array([float(derivatives.get(probes[n], 0.0)) for n in INPUT_NAMES])
        uncertain = [k for k, n in enumerate(INPUT_NAMES) if float(getattr(self.quantities[n], "std_dev", 0.0)) > 0]
        cov = np.zeros((len(INPUT_NAMES), len(INPUT_NAMES)))
        if uncertain:
            given = uncertainties.covariance_matrix([self.quantities[INPUT_NAMES[k]] for k in uncertain])
            cov[np.ix_(uncertain, uncertain)] = np.asarray(given, dtype=float)
        return d, cov

    def value(self, name: str) -> float:
        """Nominal value of an input."""
        return _nominal(self.quantities[name])


@dataclass(frozen=True)
class Efficiencies:
    """Torque efficiencies with propagated uncertainties (``uncertainties`` variables or floats).

    xi_DL_E, xi_FL_Oe_E: per unit electric field (Ohm^-1 m^-1), absolute method.
    xi_DL_j, xi_FL_Oe_j: per unit current density (dimensionless), xi^E*rho.
    T_DL_per_E, T_FL_per_E: gamma*B/E (rad s^-1 per V m^-1).
    B_DL_per_A_T, B_FL_per_A_T: effective fields per ampere of device current (T/A).
    ratio_method_xi_DL_E: the V_S/V_A ratio method (Liu 2011), a cross-check
        valid only if the field-like torque is an underlayer's Oersted field;
        None when no underlayer was given.
    setup_polarity: the polarity applied to the voltages.
    inputs: what they were computed from (for the uncertainty budget), if known.
    """

    xi_DL_E: Any
    xi_FL_Oe_E: Any
    xi_DL_j: Any
    xi_FL_Oe_j: Any
    T_DL_per_E: Any
    T_FL_per_E: Any
    B_DL_per_A_T: Any
    B_FL_per_A_T: Any
    ratio_method_xi_DL_E: Any
    setup_polarity: int
    inputs: EfficiencyInputs | None = field(default=None, compare=False, repr=False)

    def value(self, name: str) -> float:
        """Nominal value of a result."""
        return _nominal(getattr(self, name))

    def stderr(self, name: str) -> float:
        """Standard error of a result (0 for an exact one)."""
        return float(getattr(getattr(self, name), "std_dev", 0.0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready {"xi_DL_E": {"value", "stderr"}, ..., "ratio_method_xi_DL_E": {...} or None, "setup_polarity"}."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "inputs":
                continue
            if f.name == "setup_polarity":
                out[f.name] = self.setup_polarity
            elif getattr(self, f.name) is None:
                out[f.name] = None
            else:
                out[f.name] = {"value": self.value(f.name), "stderr": self.stderr(f.name)}
        return out


def absolute_efficiencies(
    *,
    V_S0: Quantity,
    V_A0: Quantity,
    H_r_mT: Quantity,
    dH_mT: Quantity,
    mu0_Meff_T: Quantity,
    I0_A: Quantity,
    delta_R_Ohm: Quantity,
    R_Ohm: Quantity,
    sample: SampleMetadata,
    g: Quantity = DEFAULT_G,
    length_stderr_um: float = 0.0,
    underlayer_thickness_nm: Quantity | None = None,
    underlayer_resistivity_uOhm_cm: Quantity | None = None,
) -> Efficiencies:
    """Torque efficiencies by the absolute method (docs/physics.md §4) at one frequency.

    V_S0, V_A0: cos^2(phi)*sin(phi) amplitudes (V) of the angular fit, as
        measured (the sample's setup polarity multiplies them here); pass
        ``AngularFit.amplitudes()`` to keep their covariance.
    H_r_mT, dH_mT: resonance field (either branch; its magnitude is used) and
        half width (mT) at that frequency; mu0_Meff_T (T); g for T/E.
    I0_A: peak rf current (A) at the source power used; delta_R_Ohm: AMR
        amplitude (Ohm); R_Ohm: device resistance (Ohm).
    sample: M_s*t_FM (with its stderr), length, resistivity for xi^j.
    length_stderr_um: standard error of the device length (micrometre).
    underlayer_thickness_nm, underlayer_resistivity_uOhm_cm: for the ratio
        method's Oersted field; without the thickness it is not computed
        (resistivity defaults to the sample's).
    """
    if not isinstance(sample, SampleMetadata):
        raise EfficiencyInputError(f"sample: expected SampleMetadata, got {type(sample).__name__}")
    pol = sample.setup_polarity
    quantities = {
        "I_0": as_quantity(I0_A, "I_0 (A)", positive=True),
        "Delta_R_AMR": as_quantity(delta_R_Ohm, "Delta_R_AMR (Ohm)", positive=True),
        "V_S0": pol * as_quantity(V_S0, "V_S0 (V)"),
        "V_A0": pol * as_quantity(V_A0, "V_A0 (V)"),
        "H_r": as_quantity(H_r_mT, "H_r (mT)", nonzero=True),
        "dH": as_quantity(dH_mT, "dH (mT)", positive=True),
        "M_eff": as_quantity(mu0_Meff_T, "mu0*M_eff (T)"),
        "g": as_quantity(g, "g", positive=True),
        "M_s t": as_quantity((sample.Ms_t_A, sample.Ms_t_stderr_A), "Ms_t (A)", positive=True),
        "R": as_quantity(R_Ohm, "R (Ohm)", positive=True),
        "length": as_quantity((sample.length_m, length_stderr_um * 1e-6), "length (m)", positive=True),
    }
    underlayer = None
    if underlayer_thickness_nm is not None:
        t_n = as_quantity(underlayer_thickness_nm, "underlayer thickness (nm)", positive=True) * 1e-9
        rho_n = (
            sample.resistivity_Ohm_m
            if underlayer_resistivity_uOhm_cm is None
            else as_quantity(underlayer_resistivity_uOhm_cm, "underlayer resistivity (uOhm cm)", positive=True) * 1e-8
        )
        underlayer = (t_n, rho_n)
    inputs = EfficiencyInputs(quantities, sample.resistivity_Ohm_m, underlayer)
    return Efficiencies(**inputs.evaluate(), setup_polarity=pol, inputs=inputs)


def branch_ufloats(spectrum_fit, names: tuple[str, ...] = ("V_S", "V_A", "H_r", "dH")) -> dict[str, Any]:
    """Parameters of a SpectrumFit (V_S, V_A in V; H_r, dH in mT) as correlated ``uncertainties`` variables.

    Made together from the fit's covariance, so anything computed from several of them
    (xi_DL^E goes as V_S0*dH, and V_S and dH of a spectrum are anti-correlated) keeps it.
    """
    fitted = list(spectrum_fit.names)
    idx = [fitted.index(n) for n in names]
    s = np.array([spectrum_fit.stderr[n] for n in names])
    cov = np.asarray(spectrum_fit.correlation)[np.ix_(idx, idx)] * np.outer(s, s)
    return dict(zip(names, uncertainties.correlated_values([spectrum_fit.values[n] for n in names], cov)))


def spectrum_ufloats(spectrum_fit) -> tuple[Any, Any]:
    """(H_r, dH) (mT) of a SpectrumFit as correlated ``uncertainties`` variables."""
    u = branch_ufloats(spectrum_fit, ("H_r", "dH"))
    return u["H_r"], u["dH"]


def efficiencies_from_fits(
    *, angular, spectrum, kittel, I0_A: Quantity, amr, R_Ohm: Quantity, sample: SampleMetadata,
    amplitudes: tuple[Any, Any] | None = None, **kw
) -> Efficiencies:
    """Absolute efficiencies from fit results, keeping each fit's covariance.

    angular: AngularFit of V_S and V_A; spectrum: SpectrumFit at the frequency
    (H_r, dH), or an (H_r, dH) pair (mT) such as :func:`spectrum_ufloats` gives (e.g.
    with dH the mean over every spectrum at that frequency); kittel: KittelFit
    (mu0*M_eff, g); I0_A: e.g. ``RfCurrentCalibration.I0(power_dBm)``; amr: AmrFit
    (Delta_R); R_Ohm: device resistance; amplitudes: (V_S0, V_A0) to use instead of the
    angular fit's own (e.g. built from the spectra's correlated values, so that their
    correlation with dH and H_r is kept). Further keywords go to :func:`absolute_efficiencies`.
    """
    v_s, v_a = angular.amplitudes() if amplitudes is None else amplitudes
    h_r, dh = spectrum if isinstance(spectrum, tuple) else spectrum_ufloats(spectrum)
    k = kittel.ufloats()
    return absolute_efficiencies(
        V_S0=v_s,
        V_A0=v_a,
        H_r_mT=h_r,
        dH_mT=dh,
        mu0_Meff_T=k["mu0_Meff_T"],
        g=k["g"],
        I0_A=I0_A,
        delta_R_Ohm=amr.ufloats()["delta_R_Ohm"],
        R_Ohm=R_Ohm,
        sample=sample,
        **kw,
    )
