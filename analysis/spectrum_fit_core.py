"""The fast core of the spectrum fit: variable projection from a matched-filter start.

The model is :mod:`stfmr.analysis.lineshape`'s V = V_S*S + V_A*A + V_0 + V_1*(H - H_r).
For any (H_r, dH) the amplitudes V_S, V_A, V_0, V_1 follow exactly from linear
least squares, so the fit is a 2-parameter problem. The start needs no human:
a matched-filter scan (FFT cross-correlations of the background-free data with
S and A at every position and at seven widths) proposes candidates over the
whole window, the exact chi-square drop ranks them, and a quadratic on a 3x3
stencil polishes each. Newton steps on (H_r, dH) with the exact Hessian of
the full problem (amplitudes re-solved after every step) then converge
quadratically (:func:`refine`). The global search (:func:`search`) refines
several distinct candidates and keeps every distinct minimum, so a spectrum
that is not one Lorentzian (a line on a broad bump) ends in the lowest
chi-square, not in the basin of the strongest start.

The core works on a scaled field u = H/max|H| (same sign as H, so the branch
polarity of the lineshapes is kept) and a voltage scaled by its spread;
:mod:`stfmr.analysis.spectrum_fit` validates the branch, scales it, and converts
the result back to mT and V with its standard errors.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from stfmr.analysis import lineshape

#: most steps of the refinement
MAX_ITER = 60
#: widths scanned for the automatic start
_N_WIDTHS = 7
#: most points of the start's uniform scan grid (its narrowest width is span/_MAX_GRID)
_MAX_GRID = 1 << 16
#: most values (candidates x points) of one block of :func:`_exact_gain`
_GAIN_BLOCK = 1 << 20
#: the refinement stops when a step moves H_r and dH by less than this times dH
_XTOL = 1e-8
_XTOL_NEWTON = 3e-4


def _linear_solve(phi: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares coefficients for the columns of ``phi`` (n x k).

    Normal equations scaled to unit diagonal: a handful of columns of moderate
    condition, so this is accurate and several times faster than an SVD.
    """
    g = phi.T @ phi
    d = np.sqrt(np.diagonal(g)).copy()
    d[d == 0] = 1.0
    try:
        return np.linalg.solve(g / np.outer(d, d), (y @ phi) / d) / d
    except np.linalg.LinAlgError:
        coef, *_ = np.linalg.lstsq(phi, y, rcond=None)
        return coef


class _Background:
    """The background's columns for one branch, fixed whatever (hr, w): span{1, u} (with a slope) or {1}.

    The slope column p*(u - hr) spans the same plane as {1, u} for every hr, so
    the background is eliminated once per branch by projecting onto the
    complement of the orthonormal ``q`` (n x nq, nq = 2 or 1): the amplitudes
    of S and A are then a 2x2 problem in closed form (variable projection all
    the way down). ``rows`` holds q's columns and ``yp`` (y with the background
    projected out) as rows ((nq + 1) x n; ``rows_c`` the same as complex), so
    one product projects a shape on every background column and on the data
    at once; ``q`` and ``qyp`` are views of it. ``yq`` = q^T y (a list),
    ``chi2`` = yp^T yp the chi-square of the background alone.
    """

    __slots__ = ("u", "y", "slope", "nq", "rows", "rows_c", "q", "qyp", "yq", "yp", "mean", "norm", "chi2",
                 "sqrt_n")

    def __init__(self, u: np.ndarray, y: np.ndarray, slope: bool) -> None:
        self.u, self.y, self.slope = u, y, slope
        n = u.size
        self.nq = nq = 2 if slope else 1
        self.sqrt_n = math.sqrt(n)
        self.mean = float(u.sum() / n)  # np.mean, bit for bit
        self.rows = np.empty((nq + 1, n))
        self.rows[0] = 1.0 / self.sqrt_n
        if slope:
            uc = u - self.mean
            self.norm = math.sqrt(float(uc @ uc))
            np.divide(uc, self.norm, out=self.rows[1])
        else:
            self.norm = 1.0
        self.qyp = self.rows.T
        self.q = self.qyp[:, :nq]
        yq = self.rows[:nq] @ y
        self.yq = yq.tolist()
        self.yp = self.rows[nq]
        np.subtract(y, self.q @ yq, out=self.yp)
        self.chi2 = float(self.yp @ self.yp)
        self.rows_c = self.rows.astype(complex)

    @staticmethod
    def of(u: np.ndarray, y: np.ndarray, slope: bool) -> _Background:
        """The background of this branch: the one made last if it is for these very arrays, else a new one.

        One entry keyed on the arrays' identity (held, so the identity is not
        reused) serves every point of a refinement; the core never changes its
        arrays in place. Replacing the entry is atomic, so threads that fit at
        once only cost each other a rebuild.
        """
        global _LAST_BACKGROUND
        last = _LAST_BACKGROUND
        if last is not None and last.u is u and last.y is y and last.slope == slope:
            return last
        made = _Background(u, y, slope)
        _LAST_BACKGROUND = made
        return made


_LAST_BACKGROUND: _Background | None = None


class _Point:
    """The model at one (hr, w): exact amplitudes, residual, chi-square; derivatives on demand.

    z = A + i*S is the complex Lorentzian (:mod:`stfmr.analysis.lineshape`);
    its float view ``zf`` holds the columns A, S. With the background
    projected out (:class:`_Background`) the amplitudes V_S, V_A solve 2x2
    normal equations in closed form. A trial point of the line search that is
    rejected needs nothing more. The derivatives are made only when asked for:
    the powers of q = 1/(x - i*w) with the shapes' coefficient table on them
    (:meth:`derived`), the gradient rows, the residual's dot products with
    every derivative, the basis ``phi`` and the full Jacobian.
    ``gram``: the 2x2 normal matrix (A.A, A.S, S.S) with the background
    projected out; ``proj``: A + i*S times each of the background's rows and yp.
    """

    __slots__ = ("hr", "w", "coef", "r", "chi2", "gram", "proj", "_bg", "_derivative", "_q", "_z", "_derived")

    def __init__(self, u, y, hr, w, derivative, slope):
        self.hr, self.w = float(hr), float(w)
        bg = _Background.of(u, y, slope)
        q = lineshape.complex_kernel(u, self.hr, self.w)
        z = lineshape.complex_shape(q, self.hr, self.w, derivative)
        self._bg, self._derivative, self._q, self._z = bg, derivative, q, z
        self._derived: tuple[np.ndarray, np.ndarray] | None = None
        nq = bg.nq
        # sum |z|^2 = A.A + S.S and sum z^2 = A.A - S.S + 2i A.S: the 2x2 normal matrix from two dot products
        e1, e2 = float(np.vdot(z, z).real), complex(np.dot(z, z))
        gaa, gss, gas = 0.5 * (e1 + e2.real), 0.5 * (e1 - e2.real), 0.5 * e2.imag
        self.proj = proj = np.dot(bg.rows_c, z).tolist()
        for c in proj[:nq]:  # minus the background part
            gaa, gas, gss = gaa - c.real * c.real, gas - c.real * c.imag, gss - c.imag * c.imag
        self.gram = (gaa, gas, gss)
        ba, bs = proj[nq].real, proj[nq].imag
        det = gaa * gss - gas * gas
        if not det > 1e-12 * gaa * gss:  # S and A (nearly) dependent with the background: least squares
            self.coef = _linear_solve(self.phi, y)
            self.r = y - self.phi @ self.coef
            self.chi2 = float(self.r @ self.r)
            return
        v_a, v_s = (gss * ba - gas * bs) / det, (gaa * bs - gas * ba) / det
        # the fitted background's part in the orthonormal columns, and the residual
        # yp - (V_A*A + V_S*S) + q (q^T (V_A*A + V_S*S)); V_A*A + V_S*S = Re((V_A - i*V_S)*z)
        zq_amp = [c.real * v_a + c.imag * v_s for c in proj[:nq]]
        self.r = bg.qyp @ np.array(zq_amp + [1.0])
        self.r -= (complex(v_a, -v_s) * z).real
        self.chi2 = float(self.r @ self.r)
        # V_0 + V_1*p*(u - hr) = beta_0/sqrt(n) + beta_1*(u - mean)/norm, beta = q^T y - q^T (V_A*A + V_S*S)
        v0 = (bg.yq[0] - zq_amp[0]) / bg.sqrt_n
        if slope:
            v1 = (bg.yq[1] - zq_amp[1]) / bg.norm
            p = -1 if self.hr < 0 else 1
            self.coef = np.array((v_s, v_a, v0 + v1 * (self.hr - bg.mean), p * v1))
        else:
            self.coef = np.array((v_s, v_a, v0))

    @property
    def _zf(self) -> np.ndarray:
        """z as n x 2 floats: the columns A, S."""
        return self._z.view(float).reshape(-1, 2)

    def derived(self) -> tuple[np.ndarray, np.ndarray]:
        """(table, powers): row k of table @ powers is the k-th of (z, dz/dhr, dz/dw, d2z/dhr2, d2z/dhr dw, d2z/dw2).

        table: lineshape.complex_shape_coefficients (6 x m); powers: q, ..., q^m (m x n).
        """
        if self._derived is None:
            table = lineshape.complex_shape_coefficients(self.hr, self.w, self._derivative)
            self._derived = table, lineshape.complex_kernel_powers(self._q, table.shape[1])
        return self._derived

    def gradient_rows(self) -> np.ndarray:
        """The rows d/dhr and d/dw of the line V_S*S + V_A*A (2 x n): Re(k*dz/dhr), Re(k*dz/dw), k = V_A - i*V_S."""
        table, powers = self.derived()
        c_s, c_a = self.coef[:2].tolist()
        return ((c_a - 1j * c_s) * table[1:3] @ powers).real.copy()  # contiguous: its products are faster

    @property
    def phi(self) -> np.ndarray:
        """The basis, n x k: columns S, A, 1 (and the slope p*(u - hr))."""
        u = self._bg.u
        cols = [self._zf[:, 1], self._zf[:, 0], np.ones(u.size)]
        if self._bg.slope:
            cols.append(lineshape.branch_polarity(self.hr) * (u - self.hr))
        return np.column_stack(cols)

    def residual_dots(self) -> list[complex]:
        """r . (z, dz/dhr, dz/dw, d2z/dhr2, d2z/dhr dw, d2z/dw2): real parts the A terms, imaginary parts the S terms."""
        table, powers = self.derived()
        return (table @ np.dot(powers, self.r)).tolist()

    def jacobian(self) -> np.ndarray:
        """Full model Jacobian, n x k: columns H_r, dH, V_S, V_A, V_0, V_1 (V_1 only with a slope).

        Made row by row (each row contiguous) and returned as the transposed view.
        """
        c = self.coef
        u = self._bg.u
        jt = np.empty((c.size + 2, u.size))
        jt[:2] = self.gradient_rows()
        jt[2] = self._zf[:, 1]
        jt[3] = self._zf[:, 0]
        jt[4] = 1.0
        if c.size == 4:
            p = -1 if self.hr < 0 else 1
            jt[0] -= c[3] * p
            jt[5] = p * (u - self.hr)
        return jt.T


def _exact_gain(u, bg: _Background, hr, w, derivative):
    """Chi-square drop of adding S and A at each candidate (hr, w) to the background fit.

    The background (:class:`_Background`) is projected out, so only the 2x2
    problem of S and A remains per candidate. Candidates are taken in blocks
    of at most _GAIN_BLOCK values (candidates x points): a 10^6-point spectrum
    would otherwise hold several 9 x 10^6 arrays.
    """
    rows = max(1, _GAIN_BLOCK // max(u.size, 1))
    if hr.size <= rows:
        return _exact_gain_block(u, bg, hr, w, derivative)
    return np.concatenate([_exact_gain_block(u, bg, hr[i:i + rows], w[i:i + rows], derivative)
                           for i in range(0, hr.size, rows)])


def _exact_gain_block(u, bg: _Background, hr, w, derivative):
    """:func:`_exact_gain` of one block of candidates.

    The (k x n) work is vectorised; the 2x2 algebra of each candidate (a few
    dozen flops) runs on Python floats, cheaper than a dozen numpy calls on
    k-element arrays.
    """
    # one polarity for all when the candidates lie on one side of zero (a zero H_r counts as positive)
    polarity = 1 if u[0] >= 0 else (-1 if hr.max() < 0 else None)
    s, a = lineshape.shape_terms(u, hr[:, None], w[:, None], derivative, polarity=polarity)
    nq = bg.nq
    gains = []
    for gss, gaa, gsa, sd, ad in zip(np.einsum("ij,ij->i", s, s).tolist(), np.einsum("ij,ij->i", a, a).tolist(),
                                     np.einsum("ij,ij->i", s, a).tolist(), (s @ bg.qyp).tolist(),
                                     (a @ bg.qyp).tolist()):
        for sq, aq in zip(sd[:nq], ad[:nq]):  # minus the background's part
            gss, gaa, gsa = gss - sq * sq, gaa - aq * aq, gsa - sq * aq
        bs, ba = sd[nq], ad[nq]
        det = gss * gaa - gsa * gsa
        gains.append((gaa * bs * bs - 2.0 * gsa * bs * ba + gss * ba * ba) / det if det > 1e-9 * gss * gaa else 0.0)
    return np.array(gains)


@lru_cache(maxsize=16)
def _scan_kernels(ng: int, derivative: bool, polarity: int):
    """Return (widths, conj FFT of the S and A kernels, in-window kernel energy, 0..ng-1) for the scan.

    Lengths in units of the uniform grid step: the shapes depend only on
    (field - H_r)/dH, so one set serves every window of ``ng`` points.
    The arrays are shared (read-only).
    """
    widths = np.geomspace(1.0, (ng - 1) / 3.0, _N_WIDTHS)
    nfft = 1 << int(np.ceil(np.log2(2 * ng - 1)))
    lag = np.arange(-(ng - 1), ng, dtype=float)
    # shapes at field hr0 + lag of a resonance at hr0 on the branch's side of zero
    hr0 = float(polarity) * 10.0 * ng
    s_k, a_k = lineshape.shape_terms(hr0 + lag, hr0, widths[:, None], derivative)
    kern = np.zeros((3 * _N_WIDTHS, nfft))
    kern[:, np.arange(-(ng - 1), ng) % nfft] = np.concatenate((s_k, a_k, s_k * s_k + a_k * a_k))
    kf = np.conj(np.fft.rfft(kern, nfft))
    ones_f = np.fft.rfft(np.ones(ng), nfft)
    energy = np.fft.irfft(kf[2 * _N_WIDTHS :] * ones_f, nfft)[:, :ng]
    out = (widths, kf[: 2 * _N_WIDTHS].copy(), np.maximum(energy, 1e-300), np.arange(ng, dtype=float))
    for arr in out:
        arr.flags.writeable = False
    return out


#: most local maxima of the matched filter kept per width as candidates
_PEAKS_PER_WIDTH = 2
#: most candidates refined by the global search
MAX_STARTS = 4
#: a candidate is refined only if its start lowers chi-square by at least this
#: fraction of the best start's drop (weaker starts do not end lower in practice)
_GAIN_FRACTION = 0.6


def _scan(u: np.ndarray, y: np.ndarray, derivative: bool, slope: bool, polarity: int):
    """Matched-filter scan of the whole window: candidate (hr, w, exact gain), best first.

    On a uniform copy of the background-free data, the projections on S and A
    of every position and of _N_WIDTHS widths (from the field step to a third
    of the window) are cross-correlations, computed all at once with FFTs;
    their normalised power ranks positions. The best _PEAKS_PER_WIDTH local
    maxima of every width are ranked again by the exact chi-square drop on the
    data (:func:`_exact_gain`), which accounts for the window edges and the
    background. Returns (hr, w, gain, the branch's :class:`_Background`).
    """
    bg = _Background.of(u, y, slope)
    n = u.size
    lo, hi = u[0], u[-1]
    span = hi - lo
    # a uniform grid of a fixed size per size class (about half to one point per
    # data point: the scan only has to find the basins), so the kernels' FFTs are cached;
    # at most _MAX_GRID points, else the cached kernels of a 10^6-point spectrum take 700 MB
    ng = min(_MAX_GRID, max(128, 1 << (n.bit_length() - 1)))  # 2^floor(log2(n))
    widths_d, kernel_f, energy, index = _scan_kernels(ng, derivative, polarity)
    ug = index * (span / (ng - 1)) + lo  # np.linspace(lo, hi, ng), bit for bit
    ug[-1] = hi
    yg = np.interp(ug, u, bg.yp)
    widths = widths_d * (span / (ng - 1))
    yf = np.fft.rfft(yg, kernel_f.shape[1] * 2 - 2)
    corr = np.fft.irfft(kernel_f * yf)[:, :ng]
    cs, ca = corr[:_N_WIDTHS], corr[_N_WIDTHS:]
    power = (cs * cs + ca * ca) / energy
    rows, at = _highest_maxima(power, _PEAKS_PER_WIDTH)
    hr, w = ug[at], widths[rows]
    gain = _exact_gain(u, bg, hr, w, derivative)
    order = np.argsort(gain)[::-1]
    return hr[order], w[order], gain[order], bg


def _highest_maxima(power: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` highest local maxima along each row of ``power`` (the ends count as maxima).

    Returns (rows, positions), row by row and highest first within a row; a
    row with fewer maxima gives fewer.
    """
    inner = power[:, 1:-1]
    peak = np.empty(power.shape, dtype=bool)
    np.greater_equal(inner, power[:, :-2], out=peak[:, 1:-1])
    peak[:, 1:-1] &= inner >= power[:, 2:]
    peak[:, 0] = power[:, 0] >= power[:, 1]
    peak[:, -1] = power[:, -1] >= power[:, -2]
    masked = np.where(peak, power, -np.inf)
    rows = np.arange(power.shape[0])
    at = np.empty((power.shape[0], count), dtype=np.intp)
    found = np.empty(at.shape, dtype=bool)
    for j in range(count):
        at[:, j] = best = masked.argmax(axis=1)
        found[:, j] = masked[rows, best] > -np.inf
        masked[rows, best] = -np.inf
    return np.nonzero(found)[0], at[found]


def grid_start(u: np.ndarray, y: np.ndarray, derivative: bool, slope: bool, polarity: int):
    """The single best start of the scan: return (hr, w, chi2 of the background alone).

    The candidate with the largest exact chi-square drop, polished
    (:func:`_polish`). :func:`search` refines several candidates instead.
    """
    hr, w, _, bg = _scan(u, y, derivative, slope, polarity)
    hr_best, w_best = _polish(u, bg, float(hr[0]), float(w[0]), derivative)
    return hr_best, w_best, bg.chi2


def _same_basin(hr: float, w: float, pt: "_Point") -> bool:
    """Whether a minimum (hr, w) is the minimum ``pt`` (within half its width, a factor 2 in width)."""
    return abs(hr - pt.hr) < 0.5 * pt.w and 0.5 < w / pt.w < 2.0


def _on_minimum(hr: float, w: float, pt: "_Point") -> bool:
    """Whether a start (hr, w) sits on a minimum already found: within half the broader of the two widths.

    Starts of other widths centred on a found line converge to it (a line's
    candidates at all seven widths peak there); a line on a bump further off
    than half the bump's width is still refined on its own.
    """
    return abs(hr - pt.hr) < 0.5 * max(w, pt.w)


def search(u: np.ndarray, y: np.ndarray, derivative: bool, slope: bool, polarity: int):
    """Global search: refine several starts of the scan; return (minima, chi2 of the background alone).

    minima: [(point, converged)] of distinct local minima, lowest chi-square
    first. Starts are the scan's candidates in order of their exact chi-square
    drop, each polished; a candidate whose drop is under _GAIN_FRACTION of the
    best, or that lies on a minimum already found, is not refined; at most
    MAX_STARTS are. On a spectrum of one clear line every candidate lies on
    that line, so this costs one refinement.
    """
    hrs, ws, gains, bg = _scan(u, y, derivative, slope, polarity)
    minima: list[tuple[_Point, bool]] = []
    tried: list[tuple[float, float]] = []
    hrs, ws, gains = hrs.tolist(), ws.tolist(), gains.tolist()
    for hr, w, gain in zip(hrs, ws, gains):
        if len(tried) >= MAX_STARTS or gain < _GAIN_FRACTION * gains[0]:
            break
        if any(_on_minimum(hr, w, pt) for pt, _ in minima):
            continue
        if any(abs(hr - h0) < 0.5 * min(w, w0) and 0.5 < w / w0 < 2.0 for h0, w0 in tried):
            continue
        tried.append((hr, w))
        hr0, w0 = _polish(u, bg, hr, w, derivative)
        pt, converged = refine(u, y, hr0, w0, derivative, slope, known=[m for m, _ in minima])
        same = [k for k, (other, _) in enumerate(minima) if _same_basin(pt.hr, pt.w, other)]
        if not same:
            minima.append((pt, converged))
        elif pt.chi2 < minima[same[0]][0].chi2:
            minima[same[0]] = (pt, converged)
    minima.sort(key=lambda m: m[0].chi2)
    return minima, bg.chi2


#: stencil of the start's polish: offsets of H_r (in widths) and of ln(dH)
_STENCIL = np.array([(a, b) for a in (-1.0, 0.0, 1.0) for b in (-1.0, 0.0, 1.0)])
#: the stencil's step: 0.3 widths in H_r, 0.3 in ln(dH)
_STENCIL_STEP = 0.3
#: the stencil's width factors exp(0.3 * offset)
_STENCIL_WIDTHS = np.exp(_STENCIL_STEP * _STENCIL[:, 1])
_STENCIL_FIT = np.linalg.pinv(
    np.column_stack(
        (np.ones(9), _STENCIL[:, 0], _STENCIL[:, 1], _STENCIL[:, 0] ** 2,
         _STENCIL[:, 0] * _STENCIL[:, 1], _STENCIL[:, 1] ** 2)
    )
)


def _polish(u, bg: _Background, hr, w, derivative) -> tuple[float, float]:
    """Move the start to the top of a quadratic through the exact gain on a 3x3 stencil.

    The scan's grid leaves the start up to about half a width off; the polish
    brings it to a few per cent, which saves the Newton refinement one or two
    iterations.
    """
    dh, dl = _STENCIL_STEP * w, _STENCIL_STEP
    hrs = hr + dh * _STENCIL[:, 0]
    if abs(hr) <= dh:
        hrs = np.where(hrs * hr > 0, hrs, hr)  # never across zero field, onto the other branch
    ws = w * _STENCIL_WIDTHS
    gain = _exact_gain(u, bg, hrs, ws, derivative)
    c0, ca, cb, caa, cab, cbb = (_STENCIL_FIT @ gain).tolist()
    det = 4.0 * caa * cbb - cab * cab
    if caa < 0 and det > 0:
        a = (-2.0 * cbb * ca + cab * cb) / det
        b = (cab * ca - 2.0 * caa * cb) / det
        if abs(a) <= 1.5 and abs(b) <= 1.5 and (hr + dh * a) * hr > 0:
            return hr + dh * a, w * float(np.exp(dl * b))
    i = int(np.argmax(gain))
    return float(hrs[i]), float(ws[i])


def _newton_step(pt: "_Point", u, derivative) -> tuple[float, float] | None:
    """Return the full Newton step (H_r, dH) of chi-square, or None if its Hessian is not positive.

    Gauss-Newton alone converges only linearly when the noise is large (a
    factor of about ten per step at a signal-to-noise of 5). The exact Hessian
    adds the residual-weighted second derivatives: the cross terms with the
    amplitudes are the shape gradients themselves, the (H_r, dH) block the
    analytic second derivatives of the shapes (their dot products with the
    residual only, :meth:`_Point.residual_dots`). The background is projected
    out (its columns span the same plane for every H_r) and the amplitudes'
    block is eliminated by its Schur complement: with the amplitudes at their
    optimum this is exactly the (H_r, dH) part of the full 6x6 Newton step,
    solved in closed form.
    """
    _, rz_hr, rz_w, rz_hrhr, rz_hrw, rz_ww = pt.residual_dots()
    c_s, c_a = pt.coef[:2].tolist()
    k = c_a - 1j * c_s  # Re(k*z) = V_S*Im(z) + V_A*Re(z)
    # the Jacobian's rows for (H_r, dH) times themselves, A, S and the background columns
    grad = pt.gradient_rows()
    (hh, hw), (_, ww) = (grad @ grad.T).tolist()
    (ha, hs), (wa, ws) = (grad @ pt._zf).tolist()
    hq, wq = (grad @ pt._bg.qyp).tolist()
    for jh, jw, c in zip(hq[:-1], wq[:-1], pt.proj):  # minus the background part
        hh, hw, ww = hh - jh * jh, hw - jh * jw, ww - jw * jw
        ha, hs, wa, ws = ha - jh * c.real, hs - jh * c.imag, wa - jw * c.real, ws - jw * c.imag
    h_hh = hh - (k * rz_hrhr).real
    h_hw = hw - (k * rz_hrw).real
    h_ww = ww - (k * rz_ww).real
    # (H_r, dH) x (V_A, V_S) block
    b0a, b0s = ha - rz_hr.real, hs - rz_hr.imag
    b1a, b1s = wa - rz_w.real, ws - rz_w.imag
    d_aa, d_as, d_ss = pt.gram
    det_d = d_aa * d_ss - d_as * d_as
    if not det_d > 0:
        return None
    # Schur complement A - B D^-1 B^T and the gradient r . J (zero for the amplitudes at their optimum)
    s00 = h_hh - (d_ss * b0a * b0a - 2.0 * d_as * b0a * b0s + d_aa * b0s * b0s) / det_d
    s01 = h_hw - (d_ss * b0a * b1a - d_as * (b0a * b1s + b0s * b1a) + d_aa * b0s * b1s) / det_d
    s11 = h_ww - (d_ss * b1a * b1a - 2.0 * d_as * b1a * b1s + d_aa * b1s * b1s) / det_d
    g_h, g_w = (k * rz_hr).real, (k * rz_w).real
    det_s = s00 * s11 - s01 * s01
    if det_s == 0.0 or not math.isfinite(det_s):
        return None
    d_hr, d_w = (s11 * g_h - s01 * g_w) / det_s, (s00 * g_w - s01 * g_h) / det_s
    # a step against the gradient means the Hessian is not positive here
    return (d_hr, d_w) if d_hr * g_h + d_w * g_w > 0 else None


def refine(u, y, hr, w, derivative, slope, known=()):
    """Newton on (H_r, dH) with the amplitudes re-solved exactly after each step.

    This is variable projection: only (hr, w) are iterated. The step is the
    Newton step of the full problem where its Hessian is positive, else the
    Gauss-Newton step; a step is halved while chi-square rises.
    known: minima already found; the refinement stops (unconverged) as soon
    as it enters the basin of one of them, where it would end.
    Returns (point, converged).
    """
    pt = _Point(u, y, hr, w, derivative, slope)
    for _ in range(MAX_ITER):
        if any(_same_basin(pt.hr, pt.w, k) for k in known):
            return pt, False
        step = _newton_step(pt, u, derivative)
        # Newton converges quadratically (error after a step s is about 2*s^2):
        # after a full step of 3e-4*dH the error is below 1e-6*dH.
        # Gauss-Newton converges linearly: go further.
        tol = _XTOL_NEWTON if step is not None else _XTOL
        if step is None:
            step = _linear_solve(pt.jacobian(), pt.r)[:2].tolist()
        d_hr, d_w = step
        lam = 1.0
        for _ in range(40):
            hr_new = pt.hr + lam * d_hr
            if hr_new * pt.hr > 0:  # a step across zero field would leave the branch
                trial = _Point(u, y, hr_new, abs(pt.w + lam * d_w), derivative, slope)
                if trial.chi2 <= pt.chi2:
                    break
            lam *= 0.5
        else:
            # no descent along the step: at the minimum to round-off
            return pt, bool(abs(d_hr) < 1e-6 * pt.w and abs(d_w) < 1e-6 * pt.w)
        tol = (tol if lam == 1.0 else _XTOL) * pt.w
        done = abs(lam * d_hr) <= tol and abs(lam * d_w) <= tol
        pt = trial
        if done:
            return pt, True
    return pt, False
