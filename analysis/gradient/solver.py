"""Drift-diffusion solve of the spin accumulation across a stack (docs/physics.md §6.2, §6.3).

With m = x the y and z polarizations combine into u+ = u_y + i*u_z (u = mu_s/2e,
in V) obeying u+'' = kappa^2*u+ inside every slice, kappa^2 = 1/l_sf^2 +
1/l_phi^2 - i*s_J/l_J^2 in a ferromagnet (s_J = lambda_J_sign) and 1/l_N^2 in a
sink; u_x has no source and vanishes. The spin current along z (charge units,
A m^-2) is j+ = -sigma*u+' + theta*sigma*E.

Method: exact exponential elements. Inside a slice of thickness h the solution
is the exact combination of sinh/cosh, so the current at its two ends is an
exact linear function of the node values:

    [j_left - s, j_right - s] = sigma*kappa*[[coth, -csch], [-csch, coth]]*[u_left, u_right]
    (right-end current with the opposite sign), s = theta*sigma*E.

Current conservation at every node (u continuous, total j continuous, j = 0 at
the bottom and at the oxide) gives a complex symmetric tridiagonal system,
solved by a banded LU in O(N). An optional spin-mixing conductance G is a
zero-thickness element with matrix G*[[1, -1], [-1, 1]]. The result is exact
for piecewise-uniform stacks whatever the slice size; slices only set where
the profiles are reported. Everything is computed for E = 1 V/m (the model is
linear in E), so u is "per E" in V per (V/m).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_banded

from stfmr.analysis.constants import MU0
from stfmr.analysis.gradient.stack import Stack

#: micro-Ohm cm -> Ohm m
UOHM_CM = 1e-8
#: nm -> m
NM = 1e-9


@dataclass(frozen=True)
class Mesh:
    """Elements of a stack, bottom to top (SI units, E = 1 V/m).

    Arrays are per element: slices of layers and, where a layer defines one,
    a zero-thickness interface element (``is_slice`` False).
    """

    is_slice: np.ndarray  #: bool
    layer: np.ndarray  #: int, index of the layer (interface: the layer above)
    h: np.ndarray  #: thickness (m); 0 for interfaces
    sigma: np.ndarray  #: conductivity (S/m); 0 for interfaces
    kappa: np.ndarray  #: complex inverse length (1/m), Re > 0; 0 for interfaces
    source: np.ndarray  #: theta*sigma*E (A m^-2 at E = 1 V/m)
    g_interface: np.ndarray  #: complex interface conductance (S m^-2); 0 for slices
    is_fm: np.ndarray  #: bool, slice of a ferromagnet
    torque_factor: np.ndarray  #: complex 1/l_phi^2 - i*s_J/l_J^2 (1/m^2) in ferromagnets, else 0
    Ms: np.ndarray  #: saturation magnetization M_s (A/m); 0 outside ferromagnets
    z_bottom: np.ndarray  #: position of the element's bottom (m), from the stack bottom


def layer_coefficients(rho_uOhm_cm, theta_SH, l_sf_nm, *, lambda_J_sign: int, l_J_nm=None, l_phi_nm=None):
    """Return (sigma, kappa, source, torque_factor) of layers; scalars or numpy arrays alike.

    sigma in S/m, kappa in 1/m (principal root, Re > 0), source = theta*sigma*E
    at E = 1 V/m (A m^-2), torque_factor = 1/l_phi^2 - i*s_J/l_J^2 (1/m^2) for a
    ferromagnet (``l_J_nm`` and ``l_phi_nm`` given), else 0. The one home of
    these formulas: :func:`build_mesh` calls it per layer, :mod:`batch` on
    arrays of many stacks.
    """
    sigma = 1.0 / (rho_uOhm_cm * UOHM_CM)
    if l_J_nm is None:
        factor = 0j * sigma
    else:
        factor = 1.0 / (l_phi_nm * NM) ** 2 - 1j * (lambda_J_sign / (l_J_nm * NM) ** 2)
    k2 = 1.0 / (l_sf_nm * NM) ** 2 + factor
    kappa = np.sqrt(k2 + 0j)  # principal root: Re(kappa) > 0
    return sigma, kappa, theta_SH * sigma * 1.0, factor


def slice_count(thickness_nm: float | np.ndarray, slice_nm: float) -> np.ndarray:
    """Return the number of equal slices, none thicker than ``slice_nm``, of layers (nm, nm; int array)."""
    return np.maximum(1, np.ceil(np.asarray(thickness_nm) / slice_nm - 1e-9)).astype(int)


def build_mesh(stack: Stack) -> Mesh:
    """Cut every layer of ``stack`` into equal slices no thicker than ``stack.slice_nm``."""
    # one row per group of identical elements: (count, is_slice, layer, h, sigma, kappa,
    # source, G, is_fm, torque factor, M_s, z of the group's bottom)
    groups: list[tuple] = []
    z = 0.0
    sign = stack.lambda_J_sign
    for index, layer in enumerate(stack.layers):
        if layer.G_mix_S_per_m2 is not None:
            g = complex(layer.G_mix_S_per_m2, layer.G_mix_imag_S_per_m2)
            groups.append((1, False, index, 0.0, 0.0, 0j, 0.0, g, False, 0j, 0.0, z))
        t = layer.thickness_nm * NM
        n = int(slice_count(layer.thickness_nm, stack.slice_nm))
        fm = layer.magnetism() if layer.is_ferromagnet else None
        sigma, kappa, source, factor = layer_coefficients(
            layer.rho_uOhm_cm, layer.theta_SH, layer.l_sf_nm, lambda_J_sign=sign,
            l_J_nm=fm.l_J_nm if fm else None, l_phi_nm=fm.l_phi_nm if fm else None,
        )
        ms = fm.mu0Ms_T / MU0 if fm else 0.0
        groups.append((n, True, index, t / n, sigma, kappa, source, 0j, layer.is_ferromagnet, factor, ms, z))
        z += t
    cols = list(zip(*groups))
    counts = np.array(cols[0], dtype=int)

    def rep(i: int, dtype) -> np.ndarray:
        return np.repeat(np.array(cols[i], dtype=dtype), counts)

    h = rep(3, float)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    local = np.arange(counts.sum()) - starts
    return Mesh(
        is_slice=rep(1, bool),
        layer=rep(2, int),
        h=h,
        sigma=rep(4, float),
        kappa=rep(5, complex),
        source=rep(6, float),
        g_interface=rep(7, complex),
        is_fm=rep(8, bool),
        torque_factor=rep(9, complex),
        Ms=rep(10, float),
        z_bottom=rep(11, float) + local * h,
    )


def _element_coefficients(mesh: Mesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per element the diagonal a, off-diagonal b and the slice-average factor.

    a = sigma*kappa*coth(kappa*h), b = -sigma*kappa*csch(kappa*h), written with
    exp(-kappa*h) so that thick slices do not overflow; interface elements give
    a = G, b = -G. The average of u over a slice is (u_l + u_r)*tanh(kh/2)/(kh).
    """
    kh = np.where(mesh.is_slice, mesh.kappa * mesh.h, 1.0)
    e1 = np.exp(-kh)
    one_minus_q = -np.expm1(-2.0 * kh)
    coth = (1.0 + e1 * e1) / one_minus_q
    csch = 2.0 * e1 / one_minus_q
    sk = mesh.sigma * mesh.kappa
    a = np.where(mesh.is_slice, sk * coth, mesh.g_interface)
    b = np.where(mesh.is_slice, -sk * csch, -mesh.g_interface)
    avg = np.where(mesh.is_slice, -np.expm1(-kh) / (1.0 + e1) / kh, 0.0)
    return a, b, avg


@dataclass(frozen=True)
class Solution:
    """Spin accumulation of a stack at E = 1 V/m.

    ``u_nodes`` (V per V/m, complex u_y + i*u_z) at the element boundaries;
    ``u_slice`` the exact average over each element (0 for interfaces);
    ``j_nodes`` the total spin current at each node from its upper element
    (A m^-2 per V/m; the top node uses its lower element).
    """

    mesh: Mesh
    u_nodes: np.ndarray
    u_slice: np.ndarray
    j_nodes: np.ndarray


def solve(stack: Stack) -> Solution:
    """Solve the drift-diffusion equations of ``stack`` (exact, O(number of slices))."""
    return solve_mesh(build_mesh(stack))


def solve_mesh(mesh: Mesh) -> Solution:
    """Solve on a prepared :class:`Mesh` (see :func:`build_mesh`)."""
    a, b, avg = _element_coefficients(mesh)
    n_el = a.size
    diag = np.zeros(n_el + 1, dtype=complex)
    diag[:-1] += a
    diag[1:] += a
    rhs = np.zeros(n_el + 1, dtype=complex)
    s = np.where(mesh.is_slice, mesh.source, 0.0)
    rhs[:-1] -= s
    rhs[1:] += s
    ab = np.zeros((3, n_el + 1), dtype=complex)
    ab[0, 1:] = b
    ab[1] = diag
    ab[2, :-1] = b
    u = solve_banded((1, 1), ab, rhs, check_finite=False)
    u_slice = (u[:-1] + u[1:]) * avg
    j = np.empty(n_el + 1, dtype=complex)
    j[:-1] = a * u[:-1] + b * u[1:] + s  # current at the bottom of each element
    j[-1] = -(b[-1] * u[-2] + a[-1] * u[-1]) + s[-1]
    return Solution(mesh=mesh, u_nodes=u, u_slice=u_slice, j_nodes=j)
