"""The stack description of the gradient model: TOML format and validation.

Format (the contract; layers bottom to top, an oxide on top is implied)::

    [model]
    slice_nm = 0.5                 # evaluation step (nm)
    weighting = "local-average"    # or "macrospin"
    lambda_J_sign = 1              # sense of the l_J precession (+1 or -1)
    g = 2.1                        # optional, g-factor for gamma (default: constants.DEFAULT_G)

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

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, NamedTuple

from stfmr.analysis.constants import DEFAULT_G
from stfmr.analysis.toml_schema import TableReader

WEIGHTINGS: tuple[str, ...] = ("local-average", "macrospin")
ROLES: tuple[str, ...] = ("sink", "ferromagnet")

_COMMON_KEYS = ("name", "role", "thickness_nm", "rho_uOhm_cm", "theta_SH", "l_sf_nm")
_FM_KEYS = ("l_J_nm", "l_phi_nm", "mu0Ms_T")
_OPTIONAL_FM_KEYS = ("G_mix_S_per_m2", "G_mix_imag_S_per_m2")


class StackError(ValueError):
    """A stack description that cannot be modelled; the message names layer and key."""


class Magnetism(NamedTuple):
    """The parameters only a ferromagnetic layer has (nm, nm, T)."""

    l_J_nm: float
    l_phi_nm: float
    mu0Ms_T: float


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

    def magnetism(self) -> Magnetism:
        """Return l_J_nm, l_phi_nm and mu0Ms_T of a ferromagnetic layer (StackError if one is missing)."""
        if self.l_J_nm is None or self.l_phi_nm is None or self.mu0Ms_T is None:
            raise StackError(f"layer {self.name!r}: a ferromagnet needs {', '.join(_FM_KEYS)}")
        return Magnetism(self.l_J_nm, self.l_phi_nm, self.mu0Ms_T)

    def to_dict(self) -> dict[str, Any]:
        """Return the layer as a TOML-ready table (optional keys only when set)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in _COMMON_KEYS}
        if self.is_ferromagnet:
            out.update({k: getattr(self, k) for k in _FM_KEYS})
            if self.G_mix_S_per_m2 is not None:
                out["G_mix_S_per_m2"] = self.G_mix_S_per_m2
                out["G_mix_imag_S_per_m2"] = self.G_mix_imag_S_per_m2
        return out


def check_lambda_J_sign(value: Any, where: str = "lambda_J_sign") -> int:
    """Return ``value`` if it is the integer +1 or -1 (the sense of the l_J precession), else raise StackError.

    +1 is ferromagnetic s-d coupling as the continuity equation is written. A
    boolean is refused although Python counts ``True`` as 1: ``true`` is not a sign.
    """
    if isinstance(value, bool) or value not in (1, -1) or not isinstance(value, (int, float)):
        raise StackError(f"{where} must be +1 or -1 (the sense of the l_J precession), got {value!r}"
                         + ("; a boolean is not a sign" if isinstance(value, bool) else ""))
    return int(value)


@dataclass(frozen=True)
class Stack:
    """A validated stack: layers bottom to top and the model settings."""

    layers: tuple[Layer, ...]
    slice_nm: float = 0.5
    weighting: str = "local-average"
    lambda_J_sign: int = 1
    g: float = DEFAULT_G
    name: str = "stack"

    def __post_init__(self) -> None:
        check_lambda_J_sign(self.lambda_J_sign, "stack lambda_J_sign")

    def reversed(self) -> "Stack":
        """Return the stack upside down (interface conductances are dropped)."""
        layers = tuple(replace(l, G_mix_S_per_m2=None, G_mix_imag_S_per_m2=0.0) for l in self.layers[::-1])
        return replace(self, layers=layers, name=f"{self.name} reversed")

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


#: the [model] table's keys and defaults: those of Stack
_MODEL_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in fields(Stack) if f.name in ("slice_nm", "weighting", "lambda_J_sign", "g")
}


def _check_weighting(weighting: str) -> None:
    if weighting not in WEIGHTINGS:
        raise StackError(f"[model] weighting: unknown weighting {weighting!r}; use one of {', '.join(WEIGHTINGS)}")


#: how stack files are read: "layer 2 ('Ni'): thickness_nm must be positive, got -1.0"
READER = TableReader(
    StackError,
    label="{where}: {key}",
    sep=" ",
    unknown="{where}: unknown key(s) {keys}{hint}",
    missing="{where}: missing key {key!r}",
    not_table="{where}: must be a table, got {value!r}",
)


def _layer_from_dict(index: int, data: Any) -> Layer:
    label = data.get("name") if isinstance(data, dict) else None
    where = f"layer {index + 1} ({label!r})" if isinstance(label, str) else f"layer {index + 1}"
    table = READER.table(data, where)
    table.check_keys(required=_COMMON_KEYS)
    name = table.string("name")
    role = table.one_of("role", ROLES, shown="'sink' or 'ferromagnet'")
    allowed = _COMMON_KEYS + (_FM_KEYS + _OPTIONAL_FM_KEYS if role == "ferromagnet" else ())
    table.check_keys(allowed, hint=f" for role {role!r}")
    kw: dict[str, Any] = {
        "name": name,
        "role": role,
        "thickness_nm": table.positive("thickness_nm"),
        "rho_uOhm_cm": table.positive("rho_uOhm_cm"),
        "theta_SH": table.number("theta_SH"),
        "l_sf_nm": table.positive("l_sf_nm"),
    }
    if role == "ferromagnet":
        for key in _FM_KEYS:
            if key not in table:
                raise StackError(f"{where}: ferromagnet without {key!r}")
            kw[key] = table.positive(key)
        if "G_mix_S_per_m2" in table:
            kw["G_mix_S_per_m2"] = table.positive("G_mix_S_per_m2")
        if "G_mix_imag_S_per_m2" in table:
            if "G_mix_S_per_m2" not in table:
                raise StackError(f"{where}: G_mix_imag_S_per_m2 given without G_mix_S_per_m2")
            kw["G_mix_imag_S_per_m2"] = table.number("G_mix_imag_S_per_m2")
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
    if not isinstance(data.get("model", {}), dict):
        raise StackError("[model] must be a table")
    model = READER.table(data.get("model", {}), "[model]", _MODEL_DEFAULTS)
    model.check_keys(_MODEL_DEFAULTS)
    slice_nm = model.positive("slice_nm")
    weighting = model.get("weighting")
    _check_weighting(weighting)
    sign = model.one_of("lambda_J_sign", (1, -1), shown="+1 or -1")
    g = model.positive("g")
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
    data = READER.load(path)
    try:
        return stack_from_dict(data, name=path.stem)
    except StackError as exc:
        raise StackError(f"{path}: {exc}") from exc
