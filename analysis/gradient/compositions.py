"""The composition table behind the paper's cases (data/compositions.toml, user-replaceable).

A table holds the Ni-Fe sublayers of a type-A film bottom to top (name, Fe
fraction c_Fe, mu0*M_s in T, theta_SH, rho in micro-Ohm cm), the spin lengths
shared by all sublayers, the spin sink, and model settings. Fit parameters of
:mod:`compare` act through :meth:`CompositionTable.with_parameters`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from stfmr.analysis.constants import DEFAULT_G
from stfmr.analysis.gradient.stack import READER as STACK_READER
from stfmr.analysis.gradient.stack import StackError, check_lambda_J_sign

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
    g: float = DEFAULT_G
    reference: str = "Ni79.5Fe20.5"
    source: str = "default"

    def __post_init__(self) -> None:
        try:
            check_lambda_J_sign(self.lambda_J_sign, f"{self.source}: [model] lambda_J_sign")
        except StackError as exc:
            raise CompositionError(str(exc)) from None

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
        lengths: dict[str, Any] = {k: float(values[k]) for k in ("l_sf_nm", "l_J_nm", "l_phi_nm") if k in values}
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


#: defaults of the [model] table: those of CompositionTable
_MODEL_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in fields(CompositionTable)
    if f.name in ("slice_nm", "sublayer_nm", "lambda_J_sign", "g", "reference")
}
#: how composition tables are read: stack files' wording, CompositionError
READER = replace(STACK_READER, error=CompositionError)


def table_from_dict(data: dict[str, Any], *, source: str = "table") -> CompositionTable:
    """Validate a parsed composition table."""
    for section in ("ferromagnet", "sink", "composition"):
        if section not in data:
            raise CompositionError(f"{source}: missing [{section}]")
    fm = READER.table(data["ferromagnet"], "[ferromagnet]")
    model = READER.table(data.get("model", {}), "[model]", _MODEL_DEFAULTS)
    sink_in = READER.table(data["sink"], "[sink]")
    sink = {
        "name": str(sink_in.get("name", "sink")),
        "thickness_nm": sink_in.positive("thickness_nm"),
        "rho_uOhm_cm": sink_in.positive("rho_uOhm_cm"),
        "theta_SH": sink_in.number("theta_SH"),
        "l_sf_nm": sink_in.positive("l_sf_nm"),
    }
    comps = []
    for i, entry in enumerate(data["composition"]):
        c = READER.table(entry, f"composition {i + 1} ({entry.get('name') if isinstance(entry, dict) else None!r})")
        c.check_keys(required=("name",))
        comps.append(
            Composition(
                name=str(c.get("name")),
                c_Fe=c.number("c_Fe"),
                mu0Ms_T=c.positive("mu0Ms_T"),
                theta_SH=c.number("theta_SH"),
                rho_uOhm_cm=c.positive("rho_uOhm_cm"),
            )
        )
    if len(comps) < 2:
        raise CompositionError(f"{source}: at least two [[composition]] entries are needed for a gradient")
    table = CompositionTable(
        compositions=tuple(comps),
        l_sf_nm=fm.positive("l_sf_nm"),
        l_J_nm=fm.positive("l_J_nm"),
        l_phi_nm=fm.positive("l_phi_nm"),
        sink=sink,
        slice_nm=model.positive("slice_nm"),
        sublayer_nm=model.positive("sublayer_nm"),
        lambda_J_sign=int(model.one_of("lambda_J_sign", (1, -1), shown="+1 or -1")),
        g=model.positive("g"),
        reference=str(model.get("reference")),
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
    return table_from_dict(READER.loads(text, source), source=source)
