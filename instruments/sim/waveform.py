"""The mixing voltage over one period of the rf modulation, and what the simulated detectors take from it.

The mixing voltage follows the rf power, the square of the carrier amplitude,
at once on the time scale of the modulation (the magnetisation settles in
nanoseconds, the modulation period is about a millisecond). Over one period,
phase 0 at the upward zero crossing of the lock-in's reference sine (the rf
source's sync output):

- "pulse" (on/off square wave, 50 % duty): V_mix for the first half, 0 for the second;
- "am" (sine AM of the carrier amplitude, depth d): V_mix * (1 + d*sin(2 pi phase))^2;
- "off" (cw): V_mix throughout.

The simulated lock-ins demodulate this sampled waveform numerically (reference
sine and cosine, average over the whole period); the simulated dc voltmeter and
the rf heating take its time average. Nothing here uses the closed forms of
:mod:`stfmr.instruments.modulation`, which the procedures divide by, so a test
comparing the two checks both.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

#: samples of one modulation period; the sampled square wave's fundamental is off by
#: (pi/N)^2/6 relative, 2.5e-8 here
SAMPLES_PER_PERIOD = 8192


def phases(samples: int = SAMPLES_PER_PERIOD) -> np.ndarray:
    """Midpoints of ``samples`` equal parts of one period, as fractions of the period (0..1)."""
    return (np.arange(samples) + 0.5) / samples


def mixing_waveform(modulation: str, am_depth: float, phase: np.ndarray) -> np.ndarray:
    """Mixing voltage per cw mixing volt at the given phases (fractions of the modulation period)."""
    phase = np.asarray(phase, dtype=float) % 1.0
    if modulation == "pulse":
        return (phase < 0.5).astype(float)
    if modulation == "am":
        if not 0.0 <= am_depth <= 1.0:
            raise ValueError(f"AM depth must be within 0..1, got {am_depth}")
        return (1.0 + am_depth * np.sin(2.0 * math.pi * phase)) ** 2
    if modulation == "off":
        return np.ones_like(phase)
    raise ValueError(f"modulation must be off, pulse or am, got {modulation!r}")


def demodulate(samples: np.ndarray) -> complex:
    """X + iY of one whole period sampled at :func:`phases`: the rms of its fundamental, as a lock-in gives it.

    The input is ac-coupled (its mean removed) and multiplied by the reference
    sine (X) and cosine (Y); the averages over the period, times 2, are the
    fundamental's in-phase and quadrature amplitudes, and 1/sqrt(2) of those the rms.
    """
    v = np.asarray(samples, dtype=float)
    v = v - v.mean()
    angle = 2.0 * math.pi * phases(v.size)
    x = 2.0 * float(np.mean(v * np.sin(angle)))
    y = 2.0 * float(np.mean(v * np.cos(angle)))
    return complex(x, y) / math.sqrt(2.0)


@lru_cache(maxsize=64)
def lockin_response(modulation: str, am_depth: float = 1.0) -> complex:
    """Lock-in X + iY (V rms) per cw mixing volt, for a reference in phase with the modulation."""
    return demodulate(mixing_waveform(modulation, am_depth, phases()))


@lru_cache(maxsize=64)
def time_average(modulation: str, am_depth: float = 1.0) -> float:
    """Time-averaged mixing voltage (and rf power) per cw value: what a dc voltmeter sees."""
    return float(np.mean(mixing_waveform(modulation, am_depth, phases())))
