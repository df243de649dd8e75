"""Local torques, totals under both weightings, efficiencies and the Oersted field.

All quantities are per unit electric field E along x (the model is linear in E):
torques in angular-frequency units, rad s^-1 per V m^-1; efficiencies xi^E in
Ohm^-1 m^-1 (docs/physics.md §4, §6.4 to §6.6).

- Torque density N+ = N_y + i*N_z = (hbar/2e)*sigma*u+*(1/l_phi^2 - i*s_J/l_J^2)
  (J m^-3): the angular momentum the spin accumulation hands to the magnetization.
- Local torque per slice: angular-momentum conservation gives dm/dt = -gamma*N_i/M_s,i.
  In the convention tau_DL*m x (m x y) + tau_FL*m x y (m = x, so m x (m x y) = -y and
  m x y = +z): tau_DL = +gamma*N_y/M_s and tau_FL = -gamma*N_z/M_s, i.e.
  tau_DL + i*tau_FL = gamma*conj(N+)/M_s (:func:`torque_on_magnetization`, the one home
  of this sign). A static +y angular-momentum accumulation with s_J = +1 (ferromagnetic
  s-d coupling) is an exchange field along -y: tau_FL > 0, the sign of the Oersted
  field of a conducting layer below.
- "local-average": T = thickness-weighted mean of tau_i over the ferromagnet
  slices; xi = (2e/hbar)*(integral of M_s dz)/gamma*T.
- "macrospin": T = gamma*conj(sum(N_i dz))/sum(M_s,i dz); xi = (2e/hbar)*conj(sum(N_i dz)).
- Oersted: B_y(z) = -(mu0/2)*(K_below(z) - K_above(z)), K the current per width
  (J = E/rho everywhere, sink included); the local torque is -gamma*B_y.
  "macrospin": xi_Oe = (2e/hbar)*integral(-M_s*B_y dz)/E (docs/physics.md §6.6,
  the torque on the rigid total moment); "local-average": T_Oe = mean of
  -gamma*B_y over the slices, converted like the spin torques. The two differ
  only when M_s is graded, exactly as for the spin torques.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stfmr.analysis.constants import HBAR, E_CHARGE, MU0, TWO_E_OVER_HBAR, gyromagnetic_ratio
from stfmr.analysis.gradient.solver import NM, Solution, solve
from stfmr.analysis.gradient.stack import WEIGHTINGS, Stack, StackError


def spin_torque_density(sigma: Any, torque_factor: Any, u_plus: Any) -> Any:
    """Return N+ = N_y + i*N_z (J m^-3 per V/m): (hbar/2e)*sigma*u+*(1/l_phi^2 - i*s_J/l_J^2).

    ``sigma`` in S/m, ``torque_factor`` 1/l_phi^2 - i*s_J/l_J^2 in 1/m^2 (the
    mesh's), ``u_plus`` = u_y + i*u_z in V per V/m; arrays broadcast (one
    stack's slices or a batch of stacks, :mod:`batch`).
    """
    return (HBAR / (2.0 * E_CHARGE)) * sigma * torque_factor * u_plus


def torque_on_magnetization(n_plus: Any, ms: Any, g: float) -> Any:
    """Return tau_DL + i*tau_FL (rad s^-1 per V m^-1) from the torque density N+ = N_y + i*N_z.

    ``n_plus`` in J m^-3 per V/m with ``ms`` = M_s in A/m (a local torque), or
    in J m^-2 per V/m with ``ms`` = M_s*t in A (a rigid film); arrays broadcast (one
    stack's slices or a batch of stacks). The one home of this formula:
    :func:`result_from_solution` and :mod:`batch` both call it.
    The magnetization receives the angular momentum N, so dm/dt = -gamma*N/M_s;
    projected on section 1's directions m x (m x y) = -y (damping-like) and
    m x y = +z (field-like) for m = x this is gamma*conj(N+)/M_s.
    """
    return gyromagnetic_ratio(g) * np.conj(n_plus) / ms


def xi_from_torque(T_per_E: float, Ms_t_A: float, g: float) -> float:
    """Return xi^E (Ohm^-1 m^-1) from T/E (rad s^-1 per V m^-1) and M_s*t (A)."""
    return TWO_E_OVER_HBAR * Ms_t_A / gyromagnetic_ratio(g) * T_per_E


def torque_from_xi(xi_E: float, Ms_t_A: float, g: float) -> float:
    """Return T/E (rad s^-1 per V m^-1) from xi^E (Ohm^-1 m^-1) and M_s*t (A)."""
    return xi_E * gyromagnetic_ratio(g) / (TWO_E_OVER_HBAR * Ms_t_A)


@dataclass(frozen=True)
class Totals:
    """Total torques per E (rad s^-1 per V m^-1) and efficiencies (Ohm^-1 m^-1) of one weighting."""

    T_DL_per_E: float
    T_FL_per_E: float
    T_Oe_per_E: float
    xi_DL_E: float
    xi_FL_E: float
    xi_Oe_E: float

    @property
    def xi_FL_Oe_E(self) -> float:
        """Field-like plus Oersted efficiency, what ST-FMR measures (Ohm^-1 m^-1)."""
        return self.xi_FL_E + self.xi_Oe_E


@dataclass(frozen=True)
class ModelResult:
    """Profiles and totals of one stack; the headline totals use ``weighting``.

    Profiles are on the ferromagnet slices, ``z_nm`` at slice centres measured
    from the bottom of the stack; ``u_y``, ``u_z`` in V per (V/m) (slice
    averages); ``tau_*_per_E`` in rad s^-1 per V m^-1; ``B_Oe_per_E`` (B_y) in
    T per V m^-1.
    """

    name: str
    weighting: str
    g: float
    z_nm: np.ndarray
    u_y: np.ndarray
    u_z: np.ndarray
    tau_DL_per_E: np.ndarray
    tau_FL_per_E: np.ndarray
    B_Oe_per_E: np.ndarray
    Ms_t_A: float
    totals: dict[str, Totals]
    solution: Solution = field(repr=False)

    @property
    def mu_y_per_eE_nm(self) -> np.ndarray:
        """Spin accumulation mu_y/(eE) in nm, the paper's Fig. 4 units (mu = 2e*u)."""
        return 2.0 * self.u_y / NM

    @property
    def mu_z_per_eE_nm(self) -> np.ndarray:
        """Spin accumulation mu_z/(eE) in nm."""
        return 2.0 * self.u_z / NM

    @property
    def selected(self) -> Totals:
        """Totals under this result's weighting."""
        return self.totals[self.weighting]

    @property
    def T_DL_per_E(self) -> float:
        """Damping-like total torque per E under the selected weighting (rad s^-1 per V m^-1)."""
        return self.selected.T_DL_per_E

    @property
    def T_FL_per_E(self) -> float:
        """Field-like (spin) total torque per E under the selected weighting (rad s^-1 per V m^-1)."""
        return self.selected.T_FL_per_E

    @property
    def T_Oe_per_E(self) -> float:
        """Oersted torque per E under the selected weighting (rad s^-1 per V m^-1)."""
        return self.selected.T_Oe_per_E

    @property
    def xi_DL_E(self) -> float:
        """Damping-like efficiency xi_DL^E under the selected weighting (Ohm^-1 m^-1)."""
        return self.selected.xi_DL_E

    @property
    def xi_FL_E(self) -> float:
        """Field-like spin-torque efficiency xi_FL^E under the selected weighting (Ohm^-1 m^-1)."""
        return self.selected.xi_FL_E

    @property
    def xi_Oe_E(self) -> float:
        """Oersted efficiency xi_Oe^E under the selected weighting (Ohm^-1 m^-1)."""
        return self.selected.xi_Oe_E

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON structure of one case (issue 3's contract, plus extras)."""
        t = self.selected
        return {
            "name": self.name,
            "weighting": self.weighting,
            "T_DL_per_E": t.T_DL_per_E,
            "T_FL_per_E": t.T_FL_per_E,
            "T_Oe_per_E": t.T_Oe_per_E,
            "xi_DL_E": t.xi_DL_E,
            "xi_FL_E": t.xi_FL_E,
            "xi_Oe_E": t.xi_Oe_E,
            "xi_FL_Oe_E": t.xi_FL_Oe_E,
            "Ms_t_A": self.Ms_t_A,
            "g": self.g,
            "other_weighting": {
                w: {
                    "T_DL_per_E": o.T_DL_per_E,
                    "T_FL_per_E": o.T_FL_per_E,
                    "xi_DL_E": o.xi_DL_E,
                    "xi_FL_E": o.xi_FL_E,
                }
                for w, o in self.totals.items()
                if w != self.weighting
            },
            "profile": {
                "z_nm": self.z_nm.tolist(),
                "u_y": self.u_y.tolist(),
                "u_z": self.u_z.tolist(),
                "mu_y_per_eE_nm": self.mu_y_per_eE_nm.tolist(),
                "mu_z_per_eE_nm": self.mu_z_per_eE_nm.tolist(),
                "tau_DL_per_E": self.tau_DL_per_E.tolist(),
                "tau_FL_per_E": self.tau_FL_per_E.tolist(),
                "B_Oe_per_E": self.B_Oe_per_E.tolist(),
            },
        }


def oersted_field_per_E(solution: Solution) -> np.ndarray:
    """Return B_y (T per V/m) at the centre of every element of the mesh."""
    return oersted_field_of_elements(solution.mesh.sigma, solution.mesh.h)


def oersted_field_of_elements(sigma: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Return B_y (T per V/m) at element centres from sigma (S/m) and h (m), elements along the last axis."""
    sheet = sigma * h  # current per width in each element at E = 1 V/m
    below = np.cumsum(sheet, axis=-1) - sheet / 2.0  # exact at the centre: linear in z inside
    total = sheet.sum(axis=-1, keepdims=True)
    return -(MU0 / 2.0) * (below - (total - below))


def local_oersted_torque_per_E(B_y_per_E: np.ndarray, g: float) -> np.ndarray:
    """Return the local Oersted torque -gamma*B_y (rad s^-1 per V m^-1), elementwise."""
    return -gyromagnetic_ratio(g) * B_y_per_E


def weighted_totals(tau: np.ndarray, tau_oe: np.ndarray, h: np.ndarray, Ms: np.ndarray,
                    g: float) -> dict[str, dict[str, np.ndarray]]:
    """Return, per weighting, the :class:`Totals` fields as arrays, reducing the last axis (the slices).

    "local-average": thickness-weighted mean of the local torques; "macrospin":
    their M_s*thickness-weighted mean (the torque on the rigid total moment),
    so both weightings take the local torques as they are defined above.
    Efficiencies follow from :func:`xi_from_torque`; works on one stack (1-D)
    or a batch (stacks, slices) alike.
    """
    ms_t = np.sum(Ms * h, axis=-1)
    out = {}
    for w, weight in (("local-average", h), ("macrospin", Ms * h)):
        norm = np.sum(weight, axis=-1)
        t = np.sum(tau * weight, axis=-1) / norm
        t_oe = np.sum(tau_oe * weight, axis=-1) / norm
        out[w] = {
            "T_DL_per_E": t.real,
            "T_FL_per_E": t.imag,
            "T_Oe_per_E": t_oe,
            "xi_DL_E": xi_from_torque(t.real, ms_t, g),
            "xi_FL_E": xi_from_torque(t.imag, ms_t, g),
            "xi_Oe_E": xi_from_torque(t_oe, ms_t, g),
        }
    return out


def evaluate(stack: Stack, *, weighting: str | None = None, name: str | None = None) -> ModelResult:
    """Solve ``stack`` and return profiles and totals (headline weighting: ``weighting`` or the stack's)."""
    weighting = weighting or stack.weighting
    if weighting not in WEIGHTINGS:
        raise StackError(f"weighting: unknown weighting {weighting!r}; use one of {', '.join(WEIGHTINGS)}")
    return result_from_solution(solve(stack), weighting=weighting, name=name or stack.name, g=stack.g)


def result_from_solution(solution: Solution, *, weighting: str, name: str, g: float) -> ModelResult:
    """Turn a :class:`Solution` into a :class:`ModelResult`."""
    mesh = solution.mesh
    fm = mesh.is_fm
    h = mesh.h[fm]
    ms = mesh.Ms[fm]
    u = solution.u_slice[fm]
    n = spin_torque_density(mesh.sigma[fm], mesh.torque_factor[fm], u)  # J m^-3 per V/m
    tau = torque_on_magnetization(n, ms, g)
    b_oe = oersted_field_per_E(solution)[fm]
    ms_t = float(np.sum(ms * h))
    sums = weighted_totals(tau, local_oersted_torque_per_E(b_oe, g), h, ms, g)
    totals = {w: Totals(**{k: float(v) for k, v in fields_.items()}) for w, fields_ in sums.items()}
    z_mid = (mesh.z_bottom[fm] + h / 2.0) / NM
    return ModelResult(
        name=name,
        weighting=weighting,
        g=g,
        z_nm=z_mid,
        u_y=u.real.copy(),
        u_z=u.imag.copy(),
        tau_DL_per_E=tau.real.copy(),
        tau_FL_per_E=tau.imag.copy(),
        B_Oe_per_E=b_oe,
        Ms_t_A=ms_t,
        totals=totals,
        solution=solution,
    )
