"""The stack description of the gradient model: TOML format and validation.

Format (the contract; layers bottom to top, an oxide on top is implied)::

    [model]
    slice_nm = 0.5                 # evaluation step (nm)
    weighting = "local-average"    # or "macrospin"
    lambda_J_sign = 1              # sense of the l_J precession (+1 or -1)
    g = 2.1                        # optional, g-factor for gamma

    [[layer]]
    name = "Ta-B"
    role = "sink"                  # "sink" (nonmagnetic) or "ferromagnet"
    thickness_nm = 3.0
    rho_uOhm_cm = 200.0
    theta_SH = 0.0
    l_sf_nm = 1.0

    [[layer]]
    name = "Ni"
    role = "ferromagnet"
    thickness_nm = 1.0
    rho_uOhm_cm = 25.0
    theta_SH = 0.03
    l_sf_nm = 5.0
    l_J_nm = 1.0
    l_phi_nm = 1.0
    mu0Ms_T = 0.61

A ferromagnet directly above a sink may carry the optional interface keys
``G_mix_S_per_m2`` and ``G_mix_imag_S_per_m2``: a complex spin conductance per
area across the interface below it, j = G*(u_sink - u_FM) with u = mu_s/(2e)
and j in charge-current units (A m^-2). Without them u is continuous.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

WEIGHTINGS: tuple[str, ...] = ("local-average", "macrospin")
ROLES: tuple[str, ...] = ("sink", "ferromagnet")

_COMMON_KEYS = ("name", "role", "thickness_nm", "rho_uOhm_cm", "theta_SH", "l_sf_nm")
_FM_KEYS = ("l_J_nm", "l_phi_nm", "mu0Ms_T")
_OPTIONAL_FM_KEYS = ("G_mix_S_per_m2", "G_mix_imag_S_per_m2")
_MODEL_DEFAULTS: dict[str, Any] = {
    "slice_nm": 0.5,
    "weighting": "local-average",
    "lambda_J_sign": 1,
    "g": 2.1,
}


class StackError(ValueError):
    """A stack description that cannot be modelled; the message names layer and key."""


@dataclass(frozen=True)
class Layer:
    """One layer of the stack (user units: nm, micro-Ohm cm, T)."""

    name: str
    role: str
    thickness_nm: float
    rho_uOhm_cm: float
    theta_SH: float
    l_sf_nm: float
    l_J_nm: float | None = None
    l_phi_nm: float | None = None
    mu0Ms_T: float | None = None
    G_mix_S_per_m2: float | None = None
    G_mix_imag_S_per_m2: float = 0.0

    @property
    def is_ferromagnet(self) -> bool:
        """True for a ferromagnetic layer."""
        return self.role == "ferromagnet"

    def to_dict(self) -> dict[str, Any]:
        """Return the layer as a TOML-ready table (optional keys only when set)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in _COMMON_KEYS}
        if self.is_ferromagnet:
            out.update({k: getattr(self, k) for k in _FM_KEYS})
            if self.G_mix_S_per_m2 is not None:
                out["G_mix_S_per_m2"] = self.G_mix_S_per_m2
                out["G_mix_imag_S_per_m2"] = self.G_mix_imag_S_per_m2
        return out


@dataclass(frozen=True)
class Stack:
    """A validated stack: layers bottom to top and the model settings."""

    layers: tuple[Layer, ...]
    slice_nm: float = 0.5
    weighting: str = "local-average"
    lambda_J_sign: int = 1
    g: float = 2.1
    name: str = "stack"

    def reversed(self) -> "Stack":
        """Return the stack upside down (interface conductances are dropped)."""
        layers = tuple(replace(l, G_mix_S_per_m2=None, G_mix_imag_S_per_m2=0.0) for l in self.layers[::-1])
        return replace(self, layers=layers, name=f"{self.name} reversed")

    def with_weighting(self, weighting: str) -> "Stack":
        """Return a copy using ``weighting`` ("local-average" or "macrospin")."""
        _check_weighting(weighting)
        return replace(self, weighting=weighting)

    def to_dict(self) -> dict[str, Any]:
        """Return the stack in the TOML format's structure."""
        return {
            "model": {
                "slice_nm": self.slice_nm,
                "weighting": self.weighting,
                "lambda_J_sign": self.lambda_J_sign,
                "g": self.g,
            },
            "layer": [l.to_dict() for l in self.layers],
        }


def _check_weighting(weighting: str) -> None:
    if weighting not in WEIGHTINGS:
        raise StackError(f"[model] weighting: unknown weighting {weighting!r}; use one of {', '.join(WEIGHTINGS)}")


def _number(where: str, key: str, value: Any, *, positive: bool = False, nonnegative: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StackError(f"{where}: {key} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise StackError(f"{where}: {key} must be finite, got {value!r}")
    if positive and value <= 0:
        raise StackError(f"{where}: {key} must be positive, got {value!r}")
    if nonnegative and value < 0:
        raise StackError(f"{where}: {key} must not be negative, got {value!r}")
    return value


def _layer_from_dict(index: int, table: Any) -> Layer:
    if not isinstance(table, dict):
        raise StackError(f"layer {index + 1}: must be a table, got {table!r}")
    label = table.get("name")
    where = f"layer {index + 1} ({label!r})" if isinstance(label, str) else f"layer {index + 1}"
    for key in _COMMON_KEYS:
        if key not in table:
            raise StackError(f"{where}: missing key {key!r}")
    name = table["name"]
    if not isinstance(name, str) or not name:
        raise StackError(f"{where}: name must be a non-empty string")
    role = table["role"]
    if role not in ROLES:
        raise StackError(f"{where}: role: unknown role {role!r}; use 'sink' or 'ferromagnet'")
    allowed = set(_COMMON_KEYS) | (set(_FM_KEYS) | set(_OPTIONAL_FM_KEYS) if role == "ferromagnet" else set())
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise StackError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))} for role {role!r}")
    kw: dict[str, Any] = {
        "name": name,
        "role": role,
        "thickness_nm": _number(where, "thickness_nm", table["thickness_nm"], positive=True),
        "rho_uOhm_cm": _number(where, "rho_uOhm_cm", table["rho_uOhm_cm"], positive=True),
        "theta_SH": _number(where, "theta_SH", table["theta_SH"]),
        "l_sf_nm": _number(where, "l_sf_nm", table["l_sf_nm"], positive=True),
    }
    if role == "ferromagnet":
        for key in _FM_KEYS:
            if key not in table:
                raise StackError(f"{where}: ferromagnet without {key!r}")
            kw[key] = _number(where, key, table[key], positive=True)
        if "G_mix_S_per_m2" in table:
            kw["G_mix_S_per_m2"] = _number(where, "G_mix_S_per_m2", table["G_mix_S_per_m2"], positive=True)
        if "G_mix_imag_S_per_m2" in table:
            if "G_mix_S_per_m2" not in table:
                raise StackError(f"{where}: G_mix_imag_S_per_m2 given without G_mix_S_per_m2")
            kw["G_mix_imag_S_per_m2"] = _number(where, "G_mix_imag_S_per_m2", table["G_mix_imag_S_per_m2"])
    return Layer(**kw)


def stack_from_dict(data: dict[str, Any], *, name: str = "stack") -> Stack:
    """Validate a parsed stack description and return the :class:`Stack`.

    Raises :class:`StackError` naming the layer and key of the first problem.
    """
    if not isinstance(data, dict):
        raise StackError("stack description must be a table")
    unknown = sorted(set(data) - {"model", "layer"})
    if unknown:
        raise StackError(f"unknown top-level table(s) {', '.join(map(repr, unknown))}; use [model] and [[layer]]")
    model = data.get("model", {})
    if not isinstance(model, dict):
        raise StackError("[model] must be a table")
    bad = sorted(set(model) - set(_MODEL_DEFAULTS))
    if bad:
        raise StackError(f"[model]: unknown key(s) {', '.join(map(repr, bad))}")
    settings = {**_MODEL_DEFAULTS, **model}
    slice_nm = _number("[model]", "slice_nm", settings["slice_nm"], positive=True)
    weighting = settings["weighting"]
    _check_weighting(weighting)
    sign = settings["lambda_J_sign"]
    if sign not in (1, -1) or isinstance(sign, bool):
        raise StackError(f"[model]: lambda_J_sign must be +1 or -1, got {sign!r}")
    g = _number("[model]", "g", settings["g"], positive=True)
    tables = data.get("layer")
    if not tables:
        raise StackError("no [[layer]] tables: the stack needs at least one ferromagnet")
    if not isinstance(tables, list):
        raise StackError("layer must be an array of tables ([[layer]])")
    layers = tuple(_layer_from_dict(i, t) for i, t in enumerate(tables))
    if not any(l.is_ferromagnet for l in layers):
        raise StackError("no ferromagnet: at least one layer needs role = 'ferromagnet'")
    for i, layer in enumerate(layers):
        if layer.G_mix_S_per_m2 is not None and (i == 0 or layers[i - 1].role != "sink"):
            raise StackError(
                f"layer {i + 1} ({layer.name!r}): G_mix_S_per_m2 needs a sink directly below the ferromagnet"
            )
    return Stack(layers=layers, slice_nm=slice_nm, weighting=weighting, lambda_J_sign=int(sign), g=g, name=name)


def load_stack(path: str | Path) -> Stack:
    """Read and validate a stack TOML file (raises StackError or OSError)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise StackError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return stack_from_dict(data, name=path.stem)
    except StackError as exc:
        raise StackError(f"{path}: {exc}") from exc
