"""Noise at the output of a lock-in's low-pass filter: white noise through n equal RC stages.

A lock-in with a 6·n dB/oct slope filters its demodulated input through n
cascaded first-order stages of time constant tau. White noise at the input
leaves it correlated over a few tau, with the autocorrelation of the last stage

    n = 1 (6 dB):   exp(-t/tau)
    n = 2 (12 dB):  (1 + t/tau) exp(-t/tau)
    n = 4 (24 dB):  (1 + t/tau + (t/tau)^2 * 2/5 + (t/tau)^3 / 15) exp(-t/tau)

so readings a dwell apart decorrelate more slowly than a single exponential
would say. :class:`CascadeNoise` propagates the whole n-stage state exactly
over any time step (the linear system's transition matrix and the covariance
of the noise it picks up), so averaging designs see the real filter.

Time is in units of tau (s = dt / tau); the state is normalised so that the
last stage has unit stationary variance.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammainc

__all__ = ["CascadeNoise", "transition", "step_covariance", "autocorrelation", "mean_noise_factor"]


def transition(n: int, s: float) -> np.ndarray:
    """State transition over s = dt/tau: Phi[i, j] = exp(-s) s^(i-j) / (i-j)! for i >= j."""
    phi = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1):
            phi[i, j] = math.exp(-s) * s ** (i - j) / math.factorial(i - j)
    return phi


def _covariance(n: int, s: float) -> np.ndarray:
    """Covariance picked up over s from unit white noise at stage 0 (s = inf: the stationary one).

    Q[i, j] = int_0^s exp(-2u) u^(i+j) / (i! j!) du = P(i+j+1, 2s) (i+j)! / (2^(i+j+1) i! j!),
    P being the regularised lower incomplete gamma function.
    """
    q = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            m = i + j
            fraction = 1.0 if math.isinf(s) else float(gammainc(m + 1, 2.0 * s))
            q[i, j] = fraction * math.factorial(m) / (2.0 ** (m + 1) * math.factorial(i) * math.factorial(j))
    return q


def step_covariance(n: int, s: float) -> np.ndarray:
    """Noise covariance of one step of s = dt/tau, normalised to a unit stationary last stage."""
    return _covariance(n, s) / _covariance(n, math.inf)[n - 1, n - 1]


def autocorrelation(n: int, s: np.ndarray | float) -> np.ndarray:
    """Normalised autocorrelation of the last stage at lag s = t/tau (1 at s = 0)."""
    stationary = step_covariance(n, math.inf)
    lags = np.atleast_1d(np.asarray(s, dtype=float))
    return np.array([(transition(n, abs(x)) @ stationary)[n - 1, n - 1] for x in lags])


def mean_noise_factor(n: int, readings: int, spacing: float) -> float:
    """Noise of the mean of ``readings`` readings ``spacing`` tau apart, over one reading's (n stages)."""
    lags = np.abs(np.subtract.outer(np.arange(readings), np.arange(readings)))
    rho = autocorrelation(n, spacing * np.arange(readings))
    return float(np.sqrt(np.sum(rho[lags]))) / readings


def _square_root(cov: np.ndarray) -> np.ndarray:
    """A matrix L with L L^T = cov, also when cov is numerically singular (tiny steps)."""
    w, v = np.linalg.eigh(cov)
    return v * np.sqrt(np.clip(w, 0.0, None))


class CascadeNoise:
    """Complex (X, Y) noise of an n-stage filter, in units of the output's stationary rms.

    ``value(s, rng)`` advances the state by s = dt/tau and returns the last stage;
    the first call (or one after ``reset``) draws from the stationary distribution.
    """

    def __init__(self, stages: int) -> None:
        if stages not in (1, 2, 3, 4):
            raise ValueError(f"a lock-in filter has 1 to 4 stages (6 to 24 dB/oct), not {stages}")
        self.stages = stages
        self._state: np.ndarray | None = None
        self._cache: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def reset(self) -> None:
        self._state = None

    def _step(self, s: float) -> tuple[np.ndarray, np.ndarray]:
        key = round(s, 12)
        if key not in self._cache:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = (transition(self.stages, s), _square_root(step_covariance(self.stages, s)))
        return self._cache[key]

    def value(self, s: float, rng: np.random.Generator) -> complex:
        n = self.stages
        if self._state is None:
            draw = _square_root(step_covariance(n, math.inf)) @ rng.normal(size=(n, 2))
            self._state = draw[:, 0] + 1j * draw[:, 1]
        elif s > 0:
            phi, root = self._step(s)
            draw = root @ rng.normal(size=(n, 2))
            self._state = phi @ self._state + (draw[:, 0] + 1j * draw[:, 1])
        return complex(self._state[n - 1])
