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
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass
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


def _infer_kind(name: str) -> str | None:
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
        kind: str | None = kinds.pop(name, None) or entry.get("kind") or _infer_kind(name)
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
    measured: list[MeasuredSample], table: CompositionTable, *, weighting: str = "local-average"
) -> list[dict[str, Any]]:
    """Return one row per sample: measured value, stderr and model value of each quantity."""
    cache: dict[str, Totals] = {}
    rows = []
    for s in measured:
        if s.kind not in cache:
            cache[s.kind] = model_values(s.kind, table, weighting)
        t = cache[s.kind]
        row: dict[str, Any] = {"name": s.name, "kind": s.kind, "weighting": weighting}
        for q in QUANTITIES:
            m = s.value(q)
            row[q] = {
                "measured": None if m is None else m[0],
                "stderr": None if m is None else m[1],
                "model": getattr(t, q),
            }
        rows.append(row)
    return rows


@dataclass(frozen=True)
class ModelFit:
    """Result of :func:`fit_parameters`: best values, standard errors and fit statistics."""

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

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary."""
        return {
            "weighting": self.weighting,
            "parameters": {n: {"value": self.values[n], "stderr": self.stderr[n]} for n in self.names},
            "correlation": self.correlation.tolist(),
            "chisqr": self.chisqr,
            "redchi": self.redchi,
            "ndata": self.ndata,
            "success": self.success,
            "message": self.message,
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


def fit_parameters(
    measured: list[MeasuredSample],
    table: CompositionTable,
    names: list[str],
    *,
    weighting: str = "local-average",
    initial: dict[str, float] | None = None,
) -> ModelFit:
    """Least-squares fit of model parameters ``names`` (see compositions.PARAMETERS) to ``measured``.

    Residuals are (model - measured)/stderr for every measured quantity.
    Standard errors come from the covariance of the fit, scaled by the reduced
    chi-square (lmfit's default); with as many data as parameters they are not
    defined and are reported as None.
    """
    import lmfit

    if not names:
        raise MeasuredDataError("no parameters to fit; choose from " + ", ".join(PARAMETERS))
    unknown = [n for n in names if n not in PARAMETERS]
    if unknown:
        raise MeasuredDataError(f"unknown fit parameter(s) {', '.join(unknown)}; choose from {', '.join(PARAMETERS)}")
    data = [(s.kind, q, *v) for s in measured for q in QUANTITIES if (v := s.value(q)) is not None]
    if len(data) < len(names):
        raise MeasuredDataError(f"{len(names)} parameters cannot be fitted to {len(data)} measured values")
    params = lmfit.Parameters()
    for n in names:
        lo, hi = _bounds(n)
        start = (initial or {}).get(n, _current_value(table, n))
        params.add(n, value=min(max(start, lo), hi), min=lo, max=hi)

    def residual(p: lmfit.Parameters) -> np.ndarray:
        return residuals_many(table, names, np.array([[p[n].value for n in names]]), data, weighting)[0]

    def jacobian(p: lmfit.Parameters) -> np.ndarray:
        return forward_jacobian(table, names, params, np.array([p[n].value for n in names]), data, weighting)

    out = lmfit.minimize(residual, params, method="least_squares", jac=jacobian)
    values = {n: float(out.params[n].value) for n in names}
    stderr = {n: (None if out.params[n].stderr is None else float(out.params[n].stderr)) for n in names}
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
        chisqr=float(out.chisqr),
        redchi=float(out.redchi) if out.nfree > 0 else float("nan"),
        ndata=len(data),
        success=bool(out.success),
        message=str(out.message),
        weighting=weighting,
        table=table.with_parameters(**values),
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
