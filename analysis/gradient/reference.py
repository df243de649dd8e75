"""Independent solutions of the drift-diffusion problem, to check :mod:`solver`.

- :func:`transfer_matrix_torque`: shooting with 2x2 transfer matrices of the
  state (u+, j+) layer by layer (an initial-value formulation, where the solver
  uses a boundary-value one). Exact, but loses digits when the stack is many
  spin lengths thick (growing exponentials); fine for test stacks.
- :func:`finite_difference_torque`: cell-centred finite volumes on a uniform
  grid per layer (second order in the cell size), solved with a sparse banded
  LU; :func:`richardson_torque` extrapolates two grids to remove the h^2 term.

Both return the total torque per area sum(N dz) in J m^-2 per V/m (complex:
damping-like real, field-like imaginary), for E = 1 V/m.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import diags
from scipy.sparse.linalg import spsolve

from stfmr.analysis.constants import E_CHARGE, HBAR, MU0
from stfmr.analysis.gradient.solver import NM, UOHM_CM
from stfmr.analysis.gradient.stack import Stack


def _layer_params(stack: Stack) -> list[dict]:
    out = []
    for layer in stack.layers:
        sigma = 1.0 / (layer.rho_uOhm_cm * UOHM_CM)
        if layer.is_ferromagnet:
            fm = layer.magnetism()
            factor = 1.0 / (fm.l_phi_nm * NM) ** 2 - 1j * stack.lambda_J_sign / (fm.l_J_nm * NM) ** 2
        else:
            factor = 0j
        k2 = 1.0 / (layer.l_sf_nm * NM) ** 2 + factor
        g = None if layer.G_mix_S_per_m2 is None else complex(layer.G_mix_S_per_m2, layer.G_mix_imag_S_per_m2)
        out.append(
            {
                "t": layer.thickness_nm * NM,
                "sigma": sigma,
                "k2": complex(k2),
                "k": np.sqrt(complex(k2)),
                "s": layer.theta_SH * sigma,
                "factor": factor,
                "g": g,
            }
        )
    return out


def transfer_matrix_torque(stack: Stack) -> complex:
    """Return sum(N dz) (J m^-2 per V/m) by transfer-matrix shooting."""
    params = _layer_params(stack)
    # state (u, j) is affine in the unknown u(0): state = hom*u0 + par
    hom = np.array([1.0 + 0j, 0j])
    par = np.array([0j, 0j])
    starts = []
    for p in params:
        if p["g"] is not None:  # u jumps by j/G across the interface, j continuous
            hom = np.array([hom[0] - hom[1] / p["g"], hom[1]])
            par = np.array([par[0] - par[1] / p["g"], par[1]])
        starts.append((hom.copy(), par.copy()))
        k, sigma, s, t = p["k"], p["sigma"], p["s"], p["t"]
        c, sh = np.cosh(k * t), np.sinh(k * t)
        m = np.array([[c, -sh / (sigma * k)], [-sigma * k * sh, c]])
        # propagate (u, w = j - s) with m, then back to j
        hom = m @ hom
        w = m @ np.array([par[0], par[1] - s])
        par = np.array([w[0], w[1] + s])
    u0 = -par[1] / hom[1]  # j = 0 at the oxide
    total = 0j
    for p, (h0, p0) in zip(params, starts):
        if p["factor"] == 0:
            continue
        u_in, j_in = h0[0] * u0 + p0[0], h0[1] * u0 + p0[1]
        k, sigma, s, t = p["k"], p["sigma"], p["s"], p["t"]
        w_in = j_in - s
        # u(z) = u_in*cosh(kz) - w_in*sinh(kz)/(sigma*k); integrate over the layer
        integral = u_in * np.sinh(k * t) / k - w_in * (np.cosh(k * t) - 1.0) / (sigma * k * k)
        total += (HBAR / (2.0 * E_CHARGE)) * sigma * p["factor"] * integral
    return complex(total)


def finite_difference_torque(stack: Stack, cells_per_nm: int) -> complex:
    """Return sum(N dz) (J m^-2 per V/m) from cell-centred finite volumes."""
    params = _layer_params(stack)
    cells = []  # (h, sigma, k2, s, factor) per cell
    gi: list[complex | None] = []
    for p in params:
        n = max(2, int(round(p["t"] / NM * cells_per_nm)))
        for i in range(n):
            cells.append((p["t"] / n, p["sigma"], p["k2"], p["s"], p["factor"]))
            gi.append(p["g"] if i == 0 else None)
    h, sigma, k2, s, factor = (np.array(column) for column in zip(*cells))
    r = h / (2.0 * sigma)  # half-cell spin resistance
    # face between cell i and i+1: j = (u_i - u_{i+1} + s_i r_i + s_{i+1} r_{i+1}) / (r_i + r_{i+1} + 1/G)
    extra = np.array([0.0 if g is None else 1.0 / g for g in gi[1:]], dtype=complex)
    cond = 1.0 / (r[:-1] + r[1:] + extra)
    jsrc = (s[:-1] * r[:-1] + s[1:] * r[1:]) * cond
    n = h.size
    # cell balance: j_{i+1/2} - j_{i-1/2} + sigma k2 h u = 0
    main = sigma * k2 * h + 0j
    main[:-1] += cond
    main[1:] += cond
    off = -cond
    rhs = np.zeros(n, dtype=complex)
    rhs[:-1] -= jsrc
    rhs[1:] += jsrc
    a = diags([off, main, off], [-1, 0, 1], format="csc")
    u = spsolve(a, rhs)
    return complex(np.sum((HBAR / (2.0 * E_CHARGE)) * sigma * factor * u * h))


def richardson_torque(stack: Stack, cells_per_nm: int) -> complex:
    """Return the h^2-Richardson extrapolation of two finite-volume grids (h and h/2)."""
    coarse = finite_difference_torque(stack, cells_per_nm)
    fine = finite_difference_torque(stack, 2 * cells_per_nm)
    return (4.0 * fine - coarse) / 3.0


def oersted_integral_closed_form(stack: Stack) -> float:
    """Return integral of -M_s*B_y dz over the ferromagnets (A T per V/m) by exact layer sums."""
    sheets = [layer.thickness_nm * NM / (layer.rho_uOhm_cm * UOHM_CM) for layer in stack.layers]
    total = sum(sheets)
    out = 0.0
    below = 0.0
    for layer, k in zip(stack.layers, sheets):
        if layer.is_ferromagnet:
            ms = layer.magnetism().mu0Ms_T / MU0
            # B_y is linear inside the layer; its mean is at the layer's centre
            mean_b = -(MU0 / 2.0) * (2.0 * (below + k / 2.0) - total)
            out += -ms * mean_b * layer.thickness_nm * NM
        below += k
    return out
