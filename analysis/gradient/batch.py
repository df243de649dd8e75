"""Many stacks at once: the drift-diffusion solve and the totals, vectorised over a batch axis.

:func:`evaluate_many` gives the same totals as :func:`torques.evaluate` stack by
stack (to ~1e-13 relative), for parameter scans, fits and thickness series,
without the per-stack Python overhead. Stacks are grouped by structure (layer
roles, interface elements and slice counts, lambda_J sign and g); inside a
group every per-element array has the shape (stacks, elements):

- the per-layer coefficients come from :func:`solver.layer_coefficients` and the
  element matrices from the solver's own element function, on arrays;
- the tridiagonal system of every stack is solved together by elimination
  without pivoting (Thomas), a loop over the nodes with numpy operations over
  the stacks. No pivoting is needed: the element matrices come from
  integral(sigma*(|u'|^2 + kappa^2*|u|^2)) with Re(kappa^2) > 0, so the
  system's Hermitian part is positive definite (and interface conductances
  have Re(G) > 0), and elimination is then stable;
- the local torques and the weighted totals come from :mod:`torques`'
  functions (:func:`torques.spin_torque_density`,
  :func:`torques.torque_on_magnetization`, :func:`torques.local_oersted_torque_per_E`,
  :func:`torques.weighted_totals`), the same code :func:`torques.evaluate` runs:
  one home for each formula.

Only the totals are returned, not the profiles; :func:`torques.evaluate` gives
profiles of a single stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from stfmr.analysis.constants import MU0
from stfmr.analysis.gradient import torques
from stfmr.analysis.gradient.solver import NM, Mesh, _element_coefficients, layer_coefficients, slice_count
from stfmr.analysis.gradient.stack import WEIGHTINGS, Stack, StackError
from stfmr.analysis.gradient.torques import (
    Totals,
    evaluate,
    local_oersted_torque_per_E,
    oersted_field_of_elements,
    weighted_totals,
)

#: up to this many stacks, :func:`evaluate_many` solves them one by one (faster for so few)
ONE_BY_ONE = 2
#: the fields of :class:`torques.Totals`
FIELDS: tuple[str, ...] = ("T_DL_per_E", "T_FL_per_E", "T_Oe_per_E", "xi_DL_E", "xi_FL_E", "xi_Oe_E")


@dataclass(frozen=True)
class BatchTotals:
    """Totals of many stacks: ``values[weighting][field]`` is an array over the stacks.

    Fields are those of :class:`torques.Totals` (rad s^-1 per V m^-1 and
    Ohm^-1 m^-1); ``weightings[i]`` is stack i's headline weighting.
    """

    values: dict[str, dict[str, np.ndarray]]
    weightings: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.weightings)

    def column(self, name: str, weighting: str) -> np.ndarray:
        """Return one field over all stacks (``xi_FL_Oe_E`` included) under ``weighting``."""
        v = self.values[weighting]
        return v["xi_FL_E"] + v["xi_Oe_E"] if name == "xi_FL_Oe_E" else v[name]

    def totals(self, index: int, weighting: str | None = None) -> Totals:
        """Return stack ``index``'s :class:`Totals` under ``weighting`` (default: its headline weighting)."""
        v = self.values[weighting or self.weightings[index]]
        return Totals(**{k: float(v[k][index]) for k in FIELDS})

    def selected(self) -> list[Totals]:
        """Return every stack's totals under its headline weighting."""
        return [self.totals(i) for i in range(len(self))]


#: the numeric parameters of a layer read into the batch table (None, e.g. a sink's l_J, becomes NaN)
_KEYS: tuple[str, ...] = ("thickness_nm", "rho_uOhm_cm", "theta_SH", "l_sf_nm", "l_J_nm", "l_phi_nm", "mu0Ms_T",
                          "G_mix_S_per_m2", "G_mix_imag_S_per_m2")
_COL = {k: i for i, k in enumerate(_KEYS)}
_numbers = attrgetter(*_KEYS)


@dataclass(frozen=True)
class _Group:
    """Stacks of one structure, as a compact mesh: one column per interface or per layer's slices.

    ``mesh`` arrays have the shape (stacks, columns) and hold one slice of each
    layer (every slice of a layer is the same); ``counts`` says how many
    elements of :func:`solver.build_mesh` each column stands for.
    """

    members: np.ndarray  #: indices of the stacks in the caller's list
    mesh: Mesh
    counts: np.ndarray

    def expand(self, values: np.ndarray) -> np.ndarray:
        """Repeat per-column values (stacks, columns) to per-element values (stacks, elements)."""
        return np.repeat(values, self.counts, axis=1)


def _compact_mesh(table: np.ndarray, roles: tuple[bool, ...], has_g: tuple[bool, ...], counts: np.ndarray,
                  sign: int) -> tuple[Mesh, np.ndarray]:
    """Return the compact mesh of stacks sharing a structure, and the element count of each column.

    ``table`` (stacks, layers, len(_KEYS)); ``roles[j]`` True for a
    ferromagnet; ``counts[j]`` layer j's slice count. Values are those of
    :func:`solver.build_mesh` (same formulas, same operations).
    """
    zero = np.zeros(table.shape[0])
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("h", "sigma", "kappa", "source", "g", "factor", "Ms")}
    is_slice: list[bool] = []
    is_fm: list[bool] = []
    layer: list[int] = []
    repeat: list[int] = []

    def column(values: dict[str, np.ndarray], slice_: bool, fm: bool, j: int, n: int) -> None:
        for k, v in values.items():
            cols[k].append(v)  # every value is an array over the stacks
        is_slice.append(slice_)
        is_fm.append(fm)
        layer.append(j)
        repeat.append(n)

    for j, (fm, g) in enumerate(zip(roles, has_g)):
        p = {k: table[:, j, i] for k, i in _COL.items()}
        if g:
            column({"h": zero, "sigma": zero, "kappa": zero + 0j, "source": zero,
                    "g": p["G_mix_S_per_m2"] + 1j * p["G_mix_imag_S_per_m2"], "factor": zero + 0j, "Ms": zero},
                   False, False, j, 1)
        sigma, kappa, source, factor = layer_coefficients(
            p["rho_uOhm_cm"], p["theta_SH"], p["l_sf_nm"], lambda_J_sign=sign,
            l_J_nm=p["l_J_nm"] if fm else None, l_phi_nm=p["l_phi_nm"] if fm else None,
        )
        n = int(counts[j])
        column({"h": p["thickness_nm"] * NM / n, "sigma": sigma, "kappa": kappa, "source": source,
                "g": zero + 0j, "factor": factor, "Ms": p["mu0Ms_T"] / MU0 if fm else zero}, True, fm, j, n)
    arr = {k: np.stack(v, axis=1) for k, v in cols.items()}
    mesh = Mesh(is_slice=np.array(is_slice), layer=np.array(layer), h=arr["h"], sigma=arr["sigma"],
                kappa=arr["kappa"], source=arr["source"], g_interface=arr["g"], is_fm=np.array(is_fm),
                torque_factor=arr["factor"], Ms=arr["Ms"], z_bottom=np.zeros_like(arr["h"]))
    return mesh, np.array(repeat)


def _groups(stacks: Sequence[Stack]) -> list[_Group]:
    """Split ``stacks`` by structure (roles, interfaces, slice counts, lambda_J sign, g, slice size)."""
    coarse: dict[tuple, list[int]] = {}
    for i, s in enumerate(stacks):
        key = (tuple((l.role, l.G_mix_S_per_m2 is None) for l in s.layers), s.lambda_J_sign, s.g, s.slice_nm)
        coarse.setdefault(key, []).append(i)
    out = []
    for (layers, sign, _, slice_nm), members in coarse.items():
        table = np.array([[_numbers(l) for l in stacks[i].layers] for i in members], dtype=float)
        roles = tuple(role == "ferromagnet" for role, _ in layers)
        has_g = tuple(not none for _, none in layers)
        fm_keys = [_COL["l_J_nm"], _COL["l_phi_nm"], _COL["mu0Ms_T"]]
        missing = np.isnan(table[:, list(roles), :][:, :, fm_keys]).any(axis=(1, 2))
        if missing.any():  # a Layer built by hand without them: the solver's own error
            for l in stacks[members[int(np.argmax(missing))]].layers:
                if l.is_ferromagnet:
                    l.magnetism()
        counts = slice_count(table[:, :, _COL["thickness_nm"]], slice_nm)
        if (counts == counts[0]).all():  # the usual sweep: one shape, no sorting
            shapes, which = counts[:1], np.zeros(len(members), dtype=int)
        else:
            shapes, which = np.unique(counts, axis=0, return_inverse=True)
        for k, shape in enumerate(shapes):
            sub = np.flatnonzero(which.ravel() == k)
            mesh, repeat = _compact_mesh(table[sub], roles, has_g, shape, sign)
            out.append(_Group(members=np.asarray(members)[sub], mesh=mesh, counts=repeat))
    return out


def solve_tridiagonal_batch(diag: np.ndarray, off: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve symmetric tridiagonal systems, one per row: diag (B, N), off (B, N-1), rhs (B, N).

    Elimination without pivoting (stable for the gradient model's systems; see the module docstring).
    """
    d = np.ascontiguousarray(diag.T)  # nodes first: each step reads one contiguous row
    b = np.ascontiguousarray(off.T)
    r = np.array(rhs.T)
    n = d.shape[0]
    c = np.empty_like(b)
    pivot = d[0].copy()
    for i in range(n - 1):
        c[i] = b[i] / pivot
        r[i] /= pivot
        pivot = d[i + 1] - b[i] * c[i]
        r[i + 1] -= b[i] * r[i]
    r[n - 1] /= pivot
    for i in range(n - 2, -1, -1):
        r[i] -= c[i] * r[i + 1]
    return r.T


def solve_group(group: _Group) -> tuple[np.ndarray, np.ndarray]:
    """Return (u_nodes, u_slice) of a group's stacks, shapes (stacks, elements + 1) and (stacks, elements).

    The system of :func:`solver.solve_mesh` (V per V/m, at E = 1 V/m), built
    from the solver's element coefficients of each column.
    """
    a, b, avg = (group.expand(x) for x in _element_coefficients(group.mesh))
    s = group.expand(np.where(group.mesh.is_slice, group.mesh.source, 0.0))
    batch, n_el = a.shape
    diag = np.zeros((batch, n_el + 1), dtype=complex)
    diag[:, :-1] += a
    diag[:, 1:] += a
    rhs = np.zeros((batch, n_el + 1), dtype=complex)
    rhs[:, :-1] -= s
    rhs[:, 1:] += s
    u = solve_tridiagonal_batch(diag, b, rhs)
    return u, (u[:, :-1] + u[:, 1:]) * avg


def _group_totals(group: _Group, g: float) -> dict[str, dict[str, np.ndarray]]:
    _, u_slice = solve_group(group)
    mesh = group.mesh
    fm = group.expand(mesh.is_fm[None, :])[0]

    def fm_elements(x: np.ndarray) -> np.ndarray:
        return group.expand(x)[:, fm]

    h, ms = fm_elements(mesh.h), fm_elements(mesh.Ms)
    # looked up on the module at each call, as result_from_solution does: one formula for both paths
    n = torques.spin_torque_density(fm_elements(mesh.sigma), fm_elements(mesh.torque_factor), u_slice[:, fm])
    tau = torques.torque_on_magnetization(n, ms, g)
    b_oe = oersted_field_of_elements(group.expand(mesh.sigma), group.expand(mesh.h))[:, fm]
    return weighted_totals(tau, local_oersted_torque_per_E(b_oe, g), h, ms, g)


def evaluate_many(stacks: Iterable[Stack], *, weighting: str | None = None) -> BatchTotals:
    """Return the totals of every stack (as :func:`torques.evaluate` would, without the profiles).

    ``weighting`` sets the headline weighting of all stacks (default: each
    stack's own); both weightings are always computed.
    """
    stacks = list(stacks)
    if weighting is not None and weighting not in WEIGHTINGS:
        raise StackError(f"weighting: unknown weighting {weighting!r}; use one of {', '.join(WEIGHTINGS)}")
    values = {w: {k: np.empty(len(stacks)) for k in FIELDS} for w in WEIGHTINGS}
    if len(stacks) <= ONE_BY_ONE:  # a batch's fixed cost is that of about two single solves
        for i, s in enumerate(stacks):
            for w, t in evaluate(s).totals.items():
                for k in FIELDS:
                    values[w][k][i] = getattr(t, k)
        return BatchTotals(values=values, weightings=tuple(weighting or s.weighting for s in stacks))
    for group in _groups(stacks):
        sums = _group_totals(group, stacks[group.members[0]].g)
        for w, fields_ in sums.items():
            for k, v in fields_.items():
                values[w][k][group.members] = v
    return BatchTotals(values=values, weightings=tuple(weighting or s.weighting for s in stacks))
