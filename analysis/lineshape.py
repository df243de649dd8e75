"""ST-FMR lineshapes: the one home of S, A, their field derivatives and the spectrum model.

docs/physics.md §2:

    V(H) = V_S*S(H) + V_A*A(H) + V_0 + V_1*(H - H_r)
    S = dH^2 / ((H - H_r)^2 + dH^2),  A = dH*(H - H_r) / ((H - H_r)^2 + dH^2)

with dH the half width at half maximum. Fields are mu0*H in mT (any unit works
as long as H, H_r and dH share it); voltages in V.

Branches. A negative field reverses the magnetisation, which reverses V_S and
V_A (docs/physics.md §1). So that the amplitudes of the two branches keep that
physical meaning, the shapes are functions of the field *magnitude* along the
branch: x = p*(H - H_r) with the branch polarity p = sign(H_r). On the positive
branch this is the formula above; on the negative branch S and A are the
mirror images, and V(-|H|) = -V(|H|) for a spectrum that only reverses with m.
The background V_1 is likewise the slope against |H|.

Derivative mode (field-modulated detection): the signal is dV/dH against the
signed laboratory field, i.e. p*(V_S*dS/dx + V_A*dA/dx) + background, with the
same H_r, dH, V_S, V_A. If the data are dV/dH in V/mT, V_S and V_A stay in V
and V_0, V_1 are in V/mT and V/mT^2.

S and A are the imaginary and real parts of the complex Lorentzian
z = dH/(x - i*dH); the derivatives the fast fit needs follow from it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def branch_polarity(H_r) -> np.ndarray | int:
    """Return the branch polarity p = sign(H_r) (+1 for H_r >= 0), elementwise for arrays."""
    if np.ndim(H_r):
        return np.where(np.asarray(H_r) < 0, -1, 1)
    return -1 if H_r < 0 else 1


def symmetric(field, H_r, dH):
    """Return S = dH^2/(x^2 + dH^2), x = p*(H - H_r): the symmetric Lorentzian (peak 1)."""
    x = branch_polarity(H_r) * (np.asarray(field, dtype=float) - H_r)
    return dH * dH / (x * x + dH * dH)


def antisymmetric(field, H_r, dH):
    """Return A = dH*x/(x^2 + dH^2), x = p*(H - H_r): the antisymmetric Lorentzian (extrema +-1/2)."""
    x = branch_polarity(H_r) * (np.asarray(field, dtype=float) - H_r)
    return dH * x / (x * x + dH * dH)


def symmetric_derivative(field, H_r, dH):
    """Return dS/dH against the signed field: p*(-2*dH^2*x/(x^2 + dH^2)^2), in 1/(field unit)."""
    p = branch_polarity(H_r)
    x = p * (np.asarray(field, dtype=float) - H_r)
    d = x * x + dH * dH
    return p * (-2.0 * dH * dH * x / (d * d))


def antisymmetric_derivative(field, H_r, dH):
    """Return dA/dH against the signed field: p*dH*(dH^2 - x^2)/(x^2 + dH^2)^2, in 1/(field unit)."""
    p = branch_polarity(H_r)
    x = p * (np.asarray(field, dtype=float) - H_r)
    d = x * x + dH * dH
    return p * dH * (dH * dH - x * x) / (d * d)


def shape_terms(field, H_r, dH, derivative: bool = False, polarity: int | None = None):
    """Return (S, A), or their signed-field derivatives (dS/dH, dA/dH) in derivative mode.

    Arrays broadcast: ``field`` of shape (n,) with H_r, dH of shape (k, 1)
    gives (k, n) arrays (the fast fit's candidate ranking uses this).
    polarity: the branch polarity p when every H_r is known to lie on one
    branch (saves its elementwise evaluation); by default sign(H_r).
    """
    if polarity is None:
        p = branch_polarity(H_r)
        x = p * (np.asarray(field, dtype=float) - H_r)
    else:
        p = polarity
        h = np.asarray(field, dtype=float)
        x = h - H_r if p > 0 else H_r - h  # p*(H - H_r), exactly
    w2 = dH * dH
    inv = 1.0 / (x * x + w2)
    if derivative:
        inv2 = p * dH * inv * inv
        return -2.0 * dH * x * inv2, (w2 - x * x) * inv2
    return w2 * inv, dH * x * inv


def shape_gradients(field, H_r, dH, derivative: bool = False):
    """Return (S, A, dS/dH_r, dA/dH_r, dS/d(dH), dA/d(dH)) of :func:`shape_terms`.

    Used by the fast fit for its Jacobian. With x = p*(H - H_r), D = x^2 + dH^2
    these are the real and imaginary parts of the derivatives of the complex
    Lorentzian z = dH/(x - i*dH) = A + i*S (and of p*dz/dx in derivative mode).
    """
    p = branch_polarity(H_r)
    x = p * (np.asarray(field, dtype=float) - H_r)
    w = dH
    x2, w2 = x * x, w * w
    inv = 1.0 / (x2 + w2)
    inv2 = inv * inv
    if derivative:
        inv3 = inv2 * inv
        s = -2.0 * p * w2 * x * inv2
        a = p * w * (w2 - x2) * inv2
        # z' = -w q^2 with q = 1/(x - i w); dz'/dx = 2 w q^3; dz/dH_r = -dz'/dx
        s_hr = -2.0 * w * (3.0 * x2 * w - w2 * w) * inv3
        a_hr = -2.0 * w * (x2 * x - 3.0 * x * w2) * inv3
        # dz/dw = -p (x + i w)^4 / D^3
        s_w = -p * 4.0 * x * w * (x2 - w2) * inv3
        a_w = -p * (x2 * x2 - 6.0 * x2 * w2 + w2 * w2) * inv3
        return s, a, s_hr, a_hr, s_w, a_w
    s = w2 * inv
    a = w * x * inv
    s_hr = 2.0 * p * w2 * x * inv2
    a_hr = -p * w * (w2 - x2) * inv2
    s_w = 2.0 * w * x2 * inv2
    a_w = x * (x2 - w2) * inv2
    return s, a, s_hr, a_hr, s_w, a_w


def _complex_shape_table(p: int, w: float, derivative: bool) -> np.ndarray:
    """The coefficients of :func:`complex_shape_coefficients` for polarity p and half width w (6 x 4, complex).

    Row k holds the k-th of (z, dz/dH_r, dz/d(dH), d2z/dH_r2, d2z/dH_r d(dH),
    d2z/d(dH)2) on the powers (q, q^2, q^3, q^4), q = 1/(x - i*dH), from
    dq/dH_r = p*q^2 and dq/d(dH) = i*q^2.
    """
    if derivative:  # z = p*dz0/dx of z0 = w*q: -p*w*q^2
        return np.array((
            (0, -p * w, 0, 0),
            (0, 0, -2 * w, 0),
            (0, -p, -2j * p * w, 0),
            (0, 0, 0, -6 * p * w),
            (0, 0, -2, -6j * w),
            (0, 0, -4j * p, 6 * p * w),
        ), dtype=complex)
    return np.array((
        (w, 0, 0, 0),
        (0, p * w, 0, 0),
        (1, 1j * w, 0, 0),
        (0, 0, 2 * w, 0),
        (0, p, 2j * p * w, 0),
        (0, 2j, -2 * w, 0),
    ), dtype=complex)


@lru_cache(maxsize=8)
def _complex_shape_parts(p: int, derivative: bool) -> tuple[np.ndarray, np.ndarray]:
    """(C0, C1) with the table = C0 + dH*C1 (every coefficient is a constant or a constant times dH), m columns."""
    m = 4 if derivative else 3
    c0 = _complex_shape_table(p, 0.0, derivative)[:, :m].copy()
    c1 = _complex_shape_table(p, 1.0, derivative)[:, :m] - c0
    c0.flags.writeable = c1.flags.writeable = False
    return c0, c1


def complex_shape_coefficients(H_r: float, dH: float, derivative: bool = False) -> np.ndarray:
    """Return C (6 x m complex, m = 3, or 4 in derivative mode): the shapes as polynomials in q.

    Row k of C @ :func:`complex_kernel_powers` is the k-th of (z, dz/dH_r,
    dz/d(dH), d2z/dH_r2, d2z/dH_r d(dH), d2z/d(dH)2), z = A + i*S the complex
    Lorentzian dH/(x - i*dH) (or p*dz/dx in derivative mode), q = 1/(x - i*dH).
    Coefficients are in powers of the field unit (dH carries it). The fast fit
    takes the dot products of a residual with all six from m dot products
    with the powers of q.
    """
    c0, c1 = _complex_shape_parts(-1 if H_r < 0 else 1, derivative)
    return c0 + dH * c1


def complex_kernel(field, H_r: float, dH: float) -> np.ndarray:
    """Return q = 1/(x - i*dH), x = p*(H - H_r) with p = sign(H_r), in 1/(field unit), for one scalar H_r, dH."""
    h = np.asarray(field, dtype=float)
    # x - i*dH with x = p*(H - H_r), in one complex subtraction (the same numbers)
    return 1.0 / (h - complex(H_r, dH) if H_r >= 0 else complex(H_r, -dH) - h)


def complex_shape(q: np.ndarray, H_r: float, dH: float, derivative: bool = False) -> np.ndarray:
    """Return z = A + i*S = dH*q (derivative mode: p*dz/dx = -p*dH*q^2) from q of :func:`complex_kernel`.

    The first row of :func:`complex_shape_coefficients`, evaluated directly.
    """
    if derivative:
        return (-(-1 if H_r < 0 else 1) * dH) * (q * q)
    return dH * q


def complex_kernel_powers(q: np.ndarray, degree: int) -> np.ndarray:
    """Return the rows q, q^2, ..., q^degree (degree x n, complex) of q from :func:`complex_kernel`."""
    powers = np.empty((degree, q.size), dtype=complex)
    powers[0] = q
    for j in range(1, degree):
        np.multiply(powers[j - 1], q, out=powers[j])
    return powers


def complex_shape_derivatives(field, H_r: float, dH: float, derivative: bool = False) -> np.ndarray:
    """Return the rows (z, dz/dH_r, dz/d(dH), d2z/dH_r2, d2z/dH_r d(dH), d2z/d(dH)2) (6 x n, complex), z = A + i*S.

    z is the complex Lorentzian dH/(x - i*dH) (or p*dz/dx in derivative mode),
    so each real part is the A term and each imaginary part the S term of
    :func:`shape_terms` and :func:`shape_gradients`. For one scalar H_r, dH;
    the fast fit's exact Hessian needs the second derivatives. Evaluated as
    :func:`complex_shape_coefficients` times :func:`complex_kernel_powers`.
    """
    c = complex_shape_coefficients(H_r, dH, derivative)
    return c @ complex_kernel_powers(complex_kernel(field, H_r, dH), c.shape[1])


def spectrum_voltage(field, H_r, dH, V_S, V_A, V_0, V_1, derivative: bool = False):
    """Return the model spectrum V_S*S + V_A*A + V_0 + V_1*p*(H - H_r) (V).

    field, H_r, dH: mu0*H in mT (signed; H_r's sign picks the branch).
    V_S, V_A, V_0: V; V_1: V/mT. derivative: use dS/dH and dA/dH instead of
    S and A (field-modulated detection). This is the one model function: the
    lmfit Model and the fast fit both evaluate it.
    """
    s, a = shape_terms(field, H_r, dH, derivative)
    x = branch_polarity(H_r) * (np.asarray(field, dtype=float) - H_r)
    return V_S * s + V_A * a + V_0 + V_1 * x
