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


def shape_terms(field, H_r, dH, derivative: bool = False):
    """Return (S, A), or their signed-field derivatives (dS/dH, dA/dH) in derivative mode.

    Arrays broadcast: ``field`` of shape (n,) with H_r, dH of shape (k, 1)
    gives (k, n) arrays (the fast fit's candidate ranking uses this).
    """
    p = branch_polarity(H_r)
    x = p * (np.asarray(field, dtype=float) - H_r)
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


def complex_shape_derivatives(field, H_r: float, dH: float, derivative: bool = False):
    """Return (z, dz/dH_r, dz/d(dH), d2z/dH_r2, d2z/dH_r d(dH), d2z/d(dH)2) as complex arrays, z = A + i*S.

    z is the complex Lorentzian dH/(x - i*dH) (or p*dz/dx in derivative mode),
    so each real part is the A term and each imaginary part the S term of
    :func:`shape_terms` and :func:`shape_gradients`. For one scalar H_r, dH;
    the fast fit's exact Hessian needs the second derivatives. With
    q = 1/(x - i*dH): dq/dH_r = p*q^2, dq/d(dH) = i*q^2.
    """
    p = -1 if H_r < 0 else 1
    w = dH
    q: np.ndarray = 1.0 / (p * (np.asarray(field, dtype=float) - H_r) - 1j * w)
    q2 = q * q
    q3 = q2 * q
    if derivative:
        q4 = q2 * q2
        z = -p * w * q2
        z_hr = -2.0 * w * q3
        z_w = -p * (q2 + 2j * w * q3)
        z_hrhr = -6.0 * p * w * q4
        z_hrw = -2.0 * q3 - 6j * w * q4
        z_ww = -p * (4j * q3 - 6.0 * w * q4)
        return z, z_hr, z_w, z_hrhr, z_hrw, z_ww
    return w * q, p * w * q2, q + 1j * w * q2, 2.0 * w * q3, p * (q2 + 2j * w * q3), 2j * q2 - 2.0 * w * q3


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
