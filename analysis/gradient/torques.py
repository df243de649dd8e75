"""Local torques, totals under both weightings, efficiencies and the Oersted field.

All quantities are per unit electric field E along x (the model is linear in E):
torques in angular-frequency units, rad s^-1 per V m^-1; efficiencies xi^E in
Ohm^-1 m^-1 (docs/physics.md §4, §6.4 to §6.6).

- Torque density N+ = (hbar/2e)*sigma*u+*(1/l_phi^2 - i*s_J/l_J^2) (J m^-3);
  damping-like part Re (along y), field-like part Im (along z).
- Local torque per slice tau_i = gamma*N_i/M_s,i.
- "local-average": T = thickness-weighted mean of tau_i over the ferromagnet
  slices; xi = (2e/hbar)*(integral of M_s dz)/gamma*T.
- "macrospin": T = gamma*sum(N_i dz)/sum(M_s,i dz); xi = (2e/hbar)*sum(N_i dz).
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
    mesh = solution.mesh
    sheet = mesh.sigma * mesh.h  # current per width in each element at E = 1 V/m
    below = np.cumsum(sheet) - sheet / 2.0  # exact at the centre: linear in z inside
    total = sheet.sum()
    return -(MU0 / 2.0) * (below - (total - below))


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
    gamma = gyromagnetic_ratio(g)
    h = mesh.h[fm]
    ms = mesh.Ms[fm]
    u = solution.u_slice[fm]
    n = (HBAR / (2.0 * E_CHARGE)) * mesh.sigma[fm] * mesh.torque_factor[fm] * u  # J m^-3 per V/m
    tau = gamma * n / ms
    b_oe = oersted_field_per_E(solution)[fm]
    ms_t = float(np.sum(ms * h))
    xi_oe_macro = TWO_E_OVER_HBAR * float(np.sum(-ms * b_oe * h))
    t_oe_local = float(gamma * np.sum(-b_oe * h) / np.sum(h))
    t_local = np.sum(tau * h) / np.sum(h)
    t_macro = gamma * np.sum(n * h) / ms_t
    totals = {}
    for w, t, t_oe in (
        ("local-average", t_local, t_oe_local),
        ("macrospin", t_macro, torque_from_xi(xi_oe_macro, ms_t, g)),
    ):
        totals[w] = Totals(
            T_DL_per_E=float(t.real),
            T_FL_per_E=float(t.imag),
            T_Oe_per_E=t_oe,
            xi_DL_E=xi_from_torque(float(t.real), ms_t, g),
            xi_FL_E=xi_from_torque(float(t.imag), ms_t, g),
            xi_Oe_E=xi_from_torque(t_oe, ms_t, g),
        )
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
