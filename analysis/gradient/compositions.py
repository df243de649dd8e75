"""The composition table behind the paper's cases (data/compositions.toml, user-replaceable).

A table holds the Ni-Fe sublayers of a type-A film bottom to top (name, Fe
fraction c_Fe, mu0*M_s in T, theta_SH, rho in micro-Ohm cm), the spin lengths
shared by all sublayers, the spin sink, and model settings. Fit parameters of
:mod:`compare` act through :meth:`CompositionTable.with_parameters`.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from stfmr.analysis.gradient.stack import StackError

#: parameters that :meth:`CompositionTable.with_parameters` accepts, with their meaning
PARAMETERS: dict[str, str] = {
    "theta_Ni": "spin Hall angle of Ni (theta_SH linear in c_Fe between theta_Ni and theta_Fe)",
    "theta_Fe": "spin Hall angle of Fe",
    "l_sf_nm": "spin-flip length of the Ni-Fe sublayers (nm)",
    "l_J_nm": "spin-precession length of the Ni-Fe sublayers (nm)",
    "l_phi_nm": "spin-dephasing length of the Ni-Fe sublayers (nm)",
    "sink_rho_uOhm_cm": "resistivity of the spin sink (micro-Ohm cm)",
    "sink_l_sf_nm": "spin-diffusion length of the spin sink (nm)",
    "sink_theta_SH": "spin Hall angle of the spin sink",
    "sink_thickness_nm": "thickness of the spin sink (nm)",
    "Ms_scale": "factor on every sublayer's mu0*M_s (thin films are lower than bulk)",
}


class CompositionError(StackError):
    """A composition table that cannot be used; the message names the entry and key."""


@dataclass(frozen=True)
class Composition:
    """One Ni-Fe sublayer composition."""

    name: str
    c_Fe: float
    mu0Ms_T: float
    theta_SH: float
    rho_uOhm_cm: float


@dataclass(frozen=True)
class CompositionTable:
    """Inputs of the paper's cases; see data/compositions.toml for the meaning of each entry."""

    compositions: tuple[Composition, ...]
    l_sf_nm: float
    l_J_nm: float
    l_phi_nm: float
    sink: dict[str, Any]
    slice_nm: float = 0.5
    sublayer_nm: float = 1.0
    lambda_J_sign: int = 1
    g: float = 2.1
    reference: str = "Ni79.5Fe20.5"
    source: str = "default"

    def with_parameters(self, **values: float) -> "CompositionTable":
        """Return a copy with the named :data:`PARAMETERS` replaced."""
        unknown = sorted(set(values) - set(PARAMETERS))
        if unknown:
            raise CompositionError(
                f"unknown model parameter(s) {', '.join(map(repr, unknown))}; known: {', '.join(PARAMETERS)}"
            )
        table = self
        comps = list(table.compositions)
        if "theta_Ni" in values or "theta_Fe" in values:
            t_ni, t_fe = self.theta_end_members()
            t_ni = float(values.get("theta_Ni", t_ni))
            t_fe = float(values.get("theta_Fe", t_fe))
            comps = [replace(c, theta_SH=t_ni + (t_fe - t_ni) * c.c_Fe) for c in comps]
        if "Ms_scale" in values:
            comps = [replace(c, mu0Ms_T=c.mu0Ms_T * float(values["Ms_scale"])) for c in comps]
        sink = dict(table.sink)
        for key in ("rho_uOhm_cm", "l_sf_nm", "theta_SH", "thickness_nm"):
            if f"sink_{key}" in values:
                sink[key] = float(values[f"sink_{key}"])
        lengths = {k: float(values[k]) for k in ("l_sf_nm", "l_J_nm", "l_phi_nm") if k in values}
        return replace(table, compositions=tuple(comps), sink=sink, **lengths)

    def theta_end_members(self) -> tuple[float, float]:
        """Return (theta_Ni, theta_Fe) of the straight line through the table's theta(c_Fe)."""
        cs = [c.c_Fe for c in self.compositions]
        ts = [c.theta_SH for c in self.compositions]
        n = len(cs)
        mc, mt = sum(cs) / n, sum(ts) / n
        var = sum((c - mc) ** 2 for c in cs)
        slope = 0.0 if var == 0 else sum((c - mc) * (t - mt) for c, t in zip(cs, ts)) / var
        t_ni = mt - slope * mc
        return t_ni, t_ni + slope

    def find(self, name: str) -> Composition:
        """Return the composition called ``name``."""
        for c in self.compositions:
            if c.name == name:
                return c
        raise CompositionError(f"no composition named {name!r} in {self.source}")


def _num(where: str, key: str, table: dict, *, positive: bool = False, default: Any = None) -> float:
    if key not in table:
        if default is not None:
            return default
        raise CompositionError(f"{where}: missing key {key!r}")
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CompositionError(f"{where}: {key} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise CompositionError(f"{where}: {key} must be positive, got {value!r}")
    return float(value)


def table_from_dict(data: dict[str, Any], *, source: str = "table") -> CompositionTable:
    """Validate a parsed composition table."""
    for section in ("ferromagnet", "sink", "composition"):
        if section not in data:
            raise CompositionError(f"{source}: missing [{section}]")
    fm = data["ferromagnet"]
    model = data.get("model", {})
    sink_in = data["sink"]
    sink = {
        "name": str(sink_in.get("name", "sink")),
        "thickness_nm": _num("[sink]", "thickness_nm", sink_in, positive=True),
        "rho_uOhm_cm": _num("[sink]", "rho_uOhm_cm", sink_in, positive=True),
        "theta_SH": _num("[sink]", "theta_SH", sink_in),
        "l_sf_nm": _num("[sink]", "l_sf_nm", sink_in, positive=True),
    }
    comps = []
    for i, c in enumerate(data["composition"]):
        where = f"composition {i + 1} ({c.get('name')!r})"
        if "name" not in c:
            raise CompositionError(f"{where}: missing key 'name'")
        comps.append(
            Composition(
                name=str(c["name"]),
                c_Fe=_num(where, "c_Fe", c),
                mu0Ms_T=_num(where, "mu0Ms_T", c, positive=True),
                theta_SH=_num(where, "theta_SH", c),
                rho_uOhm_cm=_num(where, "rho_uOhm_cm", c, positive=True),
            )
        )
    if len(comps) < 2:
        raise CompositionError(f"{source}: at least two [[composition]] entries are needed for a gradient")
    sign = model.get("lambda_J_sign", 1)
    if sign not in (1, -1):
        raise CompositionError(f"[model]: lambda_J_sign must be +1 or -1, got {sign!r}")
    table = CompositionTable(
        compositions=tuple(comps),
        l_sf_nm=_num("[ferromagnet]", "l_sf_nm", fm, positive=True),
        l_J_nm=_num("[ferromagnet]", "l_J_nm", fm, positive=True),
        l_phi_nm=_num("[ferromagnet]", "l_phi_nm", fm, positive=True),
        sink=sink,
        slice_nm=_num("[model]", "slice_nm", model, positive=True, default=0.5),
        sublayer_nm=_num("[model]", "sublayer_nm", model, positive=True, default=1.0),
        lambda_J_sign=int(sign),
        g=_num("[model]", "g", model, positive=True, default=2.1),
        reference=str(model.get("reference", "Ni79.5Fe20.5")),
        source=source,
    )
    return table


def load_compositions(path: str | Path | None = None) -> CompositionTable:
    """Read a composition table (the shipped default when ``path`` is None)."""
    if path is None:
        text = resources.files("stfmr.analysis.gradient").joinpath("data/compositions.toml").read_text("utf-8")
        source = "default compositions.toml"
    else:
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        source = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CompositionError(f"{source}: not valid TOML: {exc}") from exc
    return table_from_dict(data, source=source)
