"""Model against measurement: reading measured efficiencies, a comparison table, and a
least-squares fit of chosen model parameters to measured type-A, type-B and reference values.

Measured values come either from the JSON ``stfmr analyze --json`` writes::

    {"samples": [{"name": "type A", "xi_DL_E": {"value": 32700, "stderr": 600},
                  "xi_FL_Oe_E": {"value": 38600, "stderr": 200}, ...}]}

or from a small TOML file of typed-in values::

    [[sample]]
    name = "type A"
    kind = "A"                 # "A", "B" or "reference"; optional if the name says it
    xi_DL_E = 32700.0          # Ohm^-1 m^-1
    xi_DL_E_stderr = 600.0
    xi_FL_Oe_E = 38600.0
    xi_FL_Oe_E_stderr = 200.0

The model of a sample is :func:`cases.sample_stack` (all gradients for A and
B, the uniform reference composition for "reference"); the model's field-like
value is xi_FL + xi_Oe, what ST-FMR measures.

The model works in stfmr's sign convention (a theta_SH > 0 layer below gives
xi_DL > 0: Pt/Py positive). ``measured_sign_convention`` says how the measured
xi_DL was reported (:data:`MEASURED_SIGN_CONVENTIONS`); the comparison and the
fit turn it into stfmr's convention first. Nothing in the model changes with it.

A fit reports its reduced chi-square and its p-value, flags parameters at the
fit bounds or outside :data:`PHYSICAL_RANGES`, scales the standard errors by
sqrt(reduced chi-square) when that exceeds 1, and says in words when the model
cannot describe the data (:attr:`ModelFit.verdict`).
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from stfmr.analysis.gradient.batch import evaluate_many
from stfmr.analysis.gradient.cases import SAMPLE_KINDS, sample_stack
from stfmr.analysis.gradient.compositions import PARAMETERS, CompositionTable
from stfmr.analysis.gradient.stack import StackError
from stfmr.analysis.gradient.torques import Totals, evaluate

#: measured quantities compared, and the model's counterpart
QUANTITIES: tuple[str, ...] = ("xi_DL_E", "xi_FL_Oe_E")

#: how the sign of a measured xi_DL relates to stfmr's; value: (factor to stfmr's, meaning).
#: xi_FL+Oe is measured against the Oersted field's own sign and is the same in both.
MEASURED_SIGN_CONVENTIONS: dict[str, tuple[int, str]] = {
    "stfmr": (+1, "stfmr's: a theta_SH > 0 layer below gives xi_DL > 0 (Pt/Py positive)"),
    "opposite-sigma": (-1, "xi_DL computed with the opposite sign of sigma: stfmr's xi_DL = -(measured xi_DL)"),
}
DEFAULT_SIGN_CONVENTION = "stfmr"

#: plausible ranges of the fit parameters: a fitted value outside is flagged (never refused).
#: Spin Hall angles of Ni, Fe and Ni-Fe are reported at a few percent; heavy-metal sinks up to
#: about 0.3-0.4 (beta-W); spin lengths of 3d ferromagnets and sinks are a few nm; amorphous
#: Ta-B is 150-250 micro-Ohm cm; thin films have M_s below bulk, rarely far below.
PHYSICAL_RANGES: dict[str, tuple[float, float]] = {
    "theta_Ni": (-0.1, 0.1),
    "theta_Fe": (-0.1, 0.1),
    "l_sf_nm": (0.5, 20.0),
    "l_J_nm": (0.2, 10.0),
    "l_phi_nm": (0.2, 10.0),
    "sink_rho_uOhm_cm": (50.0, 1000.0),
    "sink_l_sf_nm": (0.2, 10.0),
    "sink_theta_SH": (-0.5, 0.5),
    "sink_thickness_nm": (0.0, 20.0),
    "Ms_scale": (0.5, 1.2),
}
#: a fit whose chi-square has a p-value below this cannot describe the data
P_VALUE_FLOOR = 1e-3


class MeasuredDataError(StackError):
    """Measured values that cannot be compared; the message names the sample and key."""


@dataclass(frozen=True)
class MeasuredSample:
    """Measured efficiencies of one sample (Ohm^-1 m^-1); a quantity may be None (not measured)."""

    name: str
    kind: str
    xi_DL_E: float | None
    xi_DL_E_stderr: float | None
    xi_FL_Oe_E: float | None
    xi_FL_Oe_E_stderr: float | None

    def value(self, quantity: str) -> tuple[float, float] | None:
        """Return (value, stderr) of ``quantity`` or None when not measured."""
        v = getattr(self, quantity)
        return None if v is None else (v, getattr(self, f"{quantity}_stderr"))


def check_sign_convention(name: str) -> str:
    """Return ``name`` if it is one of :data:`MEASURED_SIGN_CONVENTIONS`, else raise MeasuredDataError."""
    if name not in MEASURED_SIGN_CONVENTIONS:
        raise MeasuredDataError(f"measured_sign_convention: unknown convention {name!r}; use one of "
                                f"{', '.join(MEASURED_SIGN_CONVENTIONS)}")
    return name


def xi_DL_factor(convention: str) -> int:
    """Return the factor (+1 or -1) that turns a measured xi_DL of ``convention`` into stfmr's."""
    return MEASURED_SIGN_CONVENTIONS[check_sign_convention(convention)][0]


def in_stfmr_convention(measured: list["MeasuredSample"], convention: str) -> list["MeasuredSample"]:
    """Return ``measured`` with xi_DL turned into stfmr's sign convention (xi_FL+Oe unchanged)."""
    k = xi_DL_factor(convention)
    return [s if k == 1 or s.xi_DL_E is None else replace(s, xi_DL_E=k * s.xi_DL_E) for s in measured]


def infer_kind(name: str) -> str | None:
    """Return the sample kind a name says ("type A" -> "A", "reference" ...) or None."""
    low = name.lower()
    if "ref" in low or "uniform" in low:
        return "reference"
    m = re.search(r"type[\s_-]*([ab])\b", low)
    return m.group(1).upper() if m else None


def _quantity(where: str, entry: dict, key: str) -> tuple[float | None, float | None]:
    raw = entry.get(key)
    if raw is None:
        return None, None
    if isinstance(raw, dict):
        value, stderr = raw.get("value"), raw.get("stderr")
    else:
        value, stderr = raw, entry.get(f"{key}_stderr")

    def finite(label: str, x: Any) -> float:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise MeasuredDataError(f"{where}: {key} {label} must be a finite number, got {x!r}")
        return float(x)

    number, error = finite("value", value), finite("stderr", stderr)
    if error <= 0:
        raise MeasuredDataError(f"{where}: {key} stderr must be positive, got {stderr!r}")
    return number, error


def measured_from_dict(
    data: dict[str, Any], *, source: str = "measured values", kinds: dict[str, str] | None = None
) -> list[MeasuredSample]:
    """Validate parsed measured values (JSON "samples" or TOML "sample" list).

    A sample's kind ("A", "B", "reference") comes from ``kinds`` (sample name ->
    kind), else its "kind" key, else its name ("type A", "type-B", "reference").
    """
    kinds = dict(kinds or {})
    for given_name, given_kind in kinds.items():
        if given_kind not in SAMPLE_KINDS:
            raise MeasuredDataError(f"sample {given_name!r}: kind {given_kind!r} is not one of "
                                    f"{', '.join(SAMPLE_KINDS)}")
    entries = data.get("samples", data.get("sample"))
    if not isinstance(entries, list) or not entries:
        raise MeasuredDataError(f"{source}: no samples (expected a 'samples' list or [[sample]] tables)")
    out = []
    for i, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"{source}: sample {i + 1} ({name!r})"
        if not isinstance(name, str):
            raise MeasuredDataError(f"{where}: missing key 'name'")
        kind: str | None = kinds.pop(name, None) or entry.get("kind") or infer_kind(name)
        if kind is None or kind not in SAMPLE_KINDS:
            raise MeasuredDataError(
                f"{where}: kind: cannot tell the sample kind; add kind = 'A', 'B' or 'reference'"
                " (or --kind 'NAME=A' on the command line)"
            )
        dl, dl_e = _quantity(where, entry, "xi_DL_E")
        fl, fl_e = _quantity(where, entry, "xi_FL_Oe_E")
        if dl is None and fl is None:
            raise MeasuredDataError(f"{where}: neither xi_DL_E nor xi_FL_Oe_E given")
        out.append(MeasuredSample(name, kind, dl, dl_e, fl, fl_e))
    if kinds:
        raise MeasuredDataError(f"{source}: no sample named {', '.join(map(repr, kinds))}")
    return out


def read_measured_file(path: str | Path) -> dict[str, Any]:
    """Parse a measured-values file: ``stfmr analyze --json`` output (.json) or a TOML file."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MeasuredDataError(f"{path}: cannot parse: {exc}") from exc


def load_measured(path: str | Path, *, kinds: dict[str, str] | None = None) -> list[MeasuredSample]:
    """Read measured values from ``stfmr analyze --json`` output (.json) or a TOML file."""
    return measured_from_dict(read_measured_file(path), source=str(path), kinds=kinds)


def model_values(kind: str, table: CompositionTable, weighting: str) -> Totals:
    """Return the model totals of a sample kind ("A", "B", "reference")."""
    return evaluate(sample_stack(kind, table), weighting=weighting).totals[weighting]


def comparison_table(
    measured: list[MeasuredSample],
    table: CompositionTable,
    *,
    weighting: str = "local-average",
    measured_sign_convention: str = DEFAULT_SIGN_CONVENTION,
) -> list[dict[str, Any]]:
    """Return one row per sample: each quantity's measured value (as reported), stderr, the
    measured value in stfmr's convention ("measured_stfmr", what the model is compared with) and
    the model value; the row names its ``measured_sign_convention``."""
    k = xi_DL_factor(measured_sign_convention)
    cache: dict[str, Totals] = {}
    rows = []
    for s in measured:
        if s.kind not in cache:
            cache[s.kind] = model_values(s.kind, table, weighting)
        t = cache[s.kind]
        row: dict[str, Any] = {"name": s.name, "kind": s.kind, "weighting": weighting,
                               "measured_sign_convention": measured_sign_convention}
        for q in QUANTITIES:
            m = s.value(q)
            factor = k if q == "xi_DL_E" else 1
            row[q] = {
                "measured": None if m is None else m[0],
                "stderr": None if m is None else m[1],
                "measured_stfmr": None if m is None else factor * m[0],
                "model": getattr(t, q),
            }
        rows.append(row)
    return rows


def sign_agreement(rows: list[dict[str, Any]]) -> dict[str, dict[str, bool]]:
    """For every sign convention: does the model's xi_DL have the sign of each sample's measured xi_DL?

    ``rows`` from :func:`comparison_table` (any convention: the reported values are used).
    """
    out: dict[str, dict[str, bool]] = {}
    for convention, (k, _) in MEASURED_SIGN_CONVENTIONS.items():
        out[convention] = {
            r["name"]: bool(np.sign(k * r["xi_DL_E"]["measured"]) == np.sign(r["xi_DL_E"]["model"]))
            for r in rows
            if r["xi_DL_E"]["measured"] is not None
        }
    return out


def _p(p_value: float | None) -> str:
    if p_value is None:
        return "p undefined"
    return "p < 1e-300" if p_value < 1e-300 else f"p = {p_value:.2g}"


@dataclass(frozen=True)
class ParameterFlag:
    """A fitted parameter that should not be trusted as it stands."""

    name: str
    problem: str  #: "at a fit bound" or "outside the physical range"
    value: float
    low: float
    high: float

    def __str__(self) -> str:
        what = "fit bounds" if self.problem == "at a fit bound" else "physical range"
        return f"{self.name} = {self.value:.4g} is {self.problem} ({what} {self.low:g} to {self.high:g})"


@dataclass(frozen=True)
class ModelFit:
    """Result of :func:`fit_parameters`: best values, standard errors, fit statistics and a verdict.

    ``stderr`` is the reported error: the covariance from the measured errors
    alone (``stderr_unscaled``) times ``error_scale`` = sqrt(max(1, redchi)).
    ``dof`` = ndata - number of parameters; ``p_value`` the chi-square
    probability (None when dof = 0); ``describes_data`` False when p_value <
    :data:`P_VALUE_FLOOR`, None when nothing tests the model.
    """

    names: tuple[str, ...]
    values: dict[str, float]
    stderr: dict[str, float | None]
    correlation: np.ndarray
    chisqr: float
    redchi: float
    ndata: int
    success: bool
    message: str
    weighting: str
    table: CompositionTable
    dof: int = 0
    p_value: float | None = None
    describes_data: bool | None = None
    error_scale: float = 1.0
    stderr_unscaled: dict[str, float | None] = field(default_factory=dict)
    flags: tuple[ParameterFlag, ...] = ()
    measured_sign_convention: str = DEFAULT_SIGN_CONVENTION

    @property
    def trustworthy(self) -> bool:
        """True when the optimizer converged, the model describes the data and no parameter is flagged."""
        return self.success and self.describes_data is not False and not self.flags

    @property
    def verdict(self) -> str:
        """One or two sentences on what the fit means."""
        parts = []
        if not self.success:
            parts.append(f"the optimizer did NOT converge ({self.message})")
        if self.describes_data is None:
            parts.append(f"{len(self.names)} parameters for {self.ndata} measured values: the model passes through "
                         "the data with nothing left to test it")
        elif self.describes_data:
            parts.append(f"the model describes the data (reduced chi-square {self.redchi:.3g}, {_p(self.p_value)})")
        else:
            parts.append(f"the model CANNOT describe the data: reduced chi-square {self.redchi:.3g} for {self.dof} "
                         f"degrees of freedom ({_p(self.p_value)}); the errors are scaled by "
                         f"sqrt(reduced chi-square) = {self.error_scale:.3g}")
        if self.flags:
            parts.append("do not trust: " + "; ".join(map(str, self.flags)))
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary."""
        return {
            "weighting": self.weighting,
            "measured_sign_convention": self.measured_sign_convention,
            "parameters": {
                n: {
                    "value": self.values[n],
                    "stderr": self.stderr[n],
                    "stderr_unscaled": self.stderr_unscaled.get(n),
                    "physical_range": list(PHYSICAL_RANGES[n]),
                    "flags": [f.problem for f in self.flags if f.name == n],
                }
                for n in self.names
            },
            "correlation": self.correlation.tolist(),
            "chisqr": self.chisqr,
            "redchi": self.redchi,
            "ndata": self.ndata,
            "dof": self.dof,
            "p_value": self.p_value,
            "error_scale": self.error_scale,
            "describes_data": self.describes_data,
            "trustworthy": self.trustworthy,
            "success": self.success,
            "message": self.message,
            "verdict": self.verdict,
        }


def _current_value(table: CompositionTable, name: str) -> float:
    if name in ("theta_Ni", "theta_Fe"):
        t_ni, t_fe = table.theta_end_members()
        return t_ni if name == "theta_Ni" else t_fe
    if name == "Ms_scale":
        return 1.0
    if name.startswith("sink_"):
        return float(table.sink[name[len("sink_") :]])
    return float(getattr(table, name))


def _bounds(name: str) -> tuple[float, float]:
    if name.startswith("theta") or name == "sink_theta_SH":
        return -1.0, 1.0
    if name == "Ms_scale":
        return 0.05, 5.0
    if name.endswith("_nm"):
        return 0.05, 100.0
    return 1.0, 1e4  # resistivity, micro-Ohm cm


def _flags(values: dict[str, float], bounds: dict[str, tuple[float, float]]) -> tuple[ParameterFlag, ...]:
    out = []
    for n, v in values.items():
        lo, hi = bounds[n]
        if min(v - lo, hi - v) <= 1e-6 * (hi - lo):
            out.append(ParameterFlag(n, "at a fit bound", v, lo, hi))
        plo, phi = PHYSICAL_RANGES[n]
        if not plo <= v <= phi:
            out.append(ParameterFlag(n, "outside the physical range", v, plo, phi))
    return tuple(out)


def fit_parameters(
    measured: list[MeasuredSample],
    table: CompositionTable,
    names: list[str],
    *,
    weighting: str = "local-average",
    initial: dict[str, float] | None = None,
    measured_sign_convention: str = DEFAULT_SIGN_CONVENTION,
) -> ModelFit:
    """Least-squares fit of model parameters ``names`` (see compositions.PARAMETERS) to ``measured``.

    Residuals are (model - measured)/stderr for every measured quantity, the
    measured xi_DL first turned into stfmr's convention from
    ``measured_sign_convention``. Standard errors come from the covariance of
    the measured errors, multiplied by sqrt(reduced chi-square) when that
    exceeds 1 (never shrunk below what the measured errors give).
    """
    import lmfit
    from scipy.stats import chi2

    if not names:
        raise MeasuredDataError("no parameters to fit; choose from " + ", ".join(PARAMETERS))
    unknown = [n for n in names if n not in PARAMETERS]
    if unknown:
        raise MeasuredDataError(f"unknown fit parameter(s) {', '.join(unknown)}; choose from {', '.join(PARAMETERS)}")
    measured = in_stfmr_convention(measured, measured_sign_convention)
    data = [(s.kind, q, *v) for s in measured for q in QUANTITIES if (v := s.value(q)) is not None]
    if len(data) < len(names):
        raise MeasuredDataError(f"{len(names)} parameters cannot be fitted to {len(data)} measured values")
    params = lmfit.Parameters()
    bounds = {n: _bounds(n) for n in names}
    for n in names:
        lo, hi = bounds[n]
        start = (initial or {}).get(n, _current_value(table, n))
        params.add(n, value=min(max(start, lo), hi), min=lo, max=hi)

    def residual(p: lmfit.Parameters) -> np.ndarray:
        return residuals_many(table, names, np.array([[p[n].value for n in names]]), data, weighting)[0]

    def jacobian(p: lmfit.Parameters) -> np.ndarray:
        return forward_jacobian(table, names, params, np.array([p[n].value for n in names]), data, weighting)

    out = lmfit.minimize(residual, params, method="least_squares", scale_covar=False, jac=jacobian)
    values = {n: float(out.params[n].value) for n in names}
    dof = len(data) - len(names)
    chisqr = float(out.chisqr)
    redchi = chisqr / dof if dof > 0 else float("nan")
    p_value = float(chi2.sf(chisqr, dof)) if dof > 0 else None
    scale = math.sqrt(redchi) if dof > 0 and redchi > 1 else 1.0
    unscaled = {n: (None if out.params[n].stderr is None else float(out.params[n].stderr)) for n in names}
    stderr = {n: (None if e is None else e * scale) for n, e in unscaled.items()}
    corr = np.eye(len(names))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            c = (out.params[a].correl or {}).get(b)
            if c is not None:
                corr[i, j] = c
    return ModelFit(
        names=tuple(names),
        values=values,
        stderr=stderr,
        correlation=corr,
        chisqr=chisqr,
        redchi=redchi,
        ndata=len(data),
        success=bool(out.success),
        message=str(out.message),
        weighting=weighting,
        table=table.with_parameters(**values),
        dof=dof,
        p_value=p_value,
        describes_data=None if p_value is None else p_value >= P_VALUE_FLOOR,
        error_scale=scale,
        stderr_unscaled=unscaled,
        flags=_flags(values, bounds),
        measured_sign_convention=measured_sign_convention,
    )


def residuals_many(
    table: CompositionTable, names: list[str], points: np.ndarray, data: list[tuple], weighting: str
) -> np.ndarray:
    """Return (model - measured)/stderr of ``data`` at every row of ``points``, shape (points, data).

    ``points`` (sets, len(names)) are values of the fit parameters ``names``;
    ``data`` holds (kind, quantity, value, stderr). All sample models of all
    sets are solved in one batch (:func:`batch.evaluate_many`).
    """
    kinds = sorted({d[0] for d in data})
    stacks = [sample_stack(k, table.with_parameters(**dict(zip(names, map(float, row))))) for row in points
              for k in kinds]
    batch = evaluate_many(stacks, weighting=weighting)
    model = {q: batch.column(q, weighting).reshape(len(points), len(kinds)) for q in QUANTITIES}
    column = {k: j for j, k in enumerate(kinds)}
    return np.stack([(model[q][:, column[k]] - v) / e for k, q, v, e in data], axis=1)


def forward_jacobian(
    table: CompositionTable, names: list[str], bounds: Any, x: np.ndarray, data: list[tuple], weighting: str
) -> np.ndarray:
    """Return d(residual)/d(parameter) at ``x`` by forward differences, every step in one batch.

    Steps as scipy's "2-point" Jacobian: sqrt(machine epsilon)*max(1, |x|),
    taken downwards where the upper bound (``bounds[name].max``) is in the way.
    """
    steps = np.sqrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(x))
    upper = np.array([bounds[n].max for n in names], dtype=float)
    steps = np.where(x + steps > upper, -steps, steps)
    points = np.vstack([x, x + np.diag(steps)])
    steps = points[1:].diagonal() - x  # the steps actually taken, after rounding
    r = residuals_many(table, names, points, data, weighting)
    return ((r[1:] - r[0]) / steps[:, None]).T
