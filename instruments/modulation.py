"""Detection of an amplitude-modulated rf drive: the one home of the lock-in and dc factors.

Procedures divide the lock-in's X by this factor to record V_FMR as a
dc-equivalent mixing voltage (docs/physics.md §2), and store the factor in
every header. The simulator does not use it: its lock-ins demodulate the
sampled modulation waveform (:mod:`stfmr.instruments.sim.waveform`), so the
tests comparing the two check this closed form.
"""

from __future__ import annotations

import math


def lockin_factor(modulation: str, am_depth: float = 1.0) -> float:
    """Lock-in X (rms of the fundamental at the modulation rate) per dc mixing volt.

    The mixing voltage follows the rf power, i.e. the square of the carrier
    amplitude. "pulse" (on/off square wave, 50 % duty): the fundamental of a
    0..V square wave has amplitude 2V/pi, rms sqrt(2)/pi. "am" of the carrier
    amplitude by (1 + d*sin wt), depth d in 0..1: V(t) = V*(1 + 2d*sin wt +
    d^2*sin^2 wt), fundamental 2dV, rms sqrt(2)*d. "off": nothing at the reference.
    """
    if modulation == "pulse":
        return math.sqrt(2.0) / math.pi
    if modulation == "am":
        if not 0.0 <= am_depth <= 1.0:
            raise ValueError(f"AM depth must be within 0..1, got {am_depth}")
        return math.sqrt(2.0) * am_depth
    if modulation == "off":
        return 0.0
    raise ValueError(f"modulation must be off, pulse or am, got {modulation!r}")


def dc_factor(modulation: str, am_depth: float = 1.0) -> float:
    """What a dc voltmeter reads per cw mixing volt: the time average of the modulated mixing voltage.

    The mixing voltage follows the rf power: "pulse" (on half the time) 1/2;
    "am" by (1 + d*sin wt) of the carrier amplitude: mean of (1 + d*sin wt)^2 =
    1 + d^2/2; "off" (cw) 1.
    """
    if modulation == "pulse":
        return 0.5
    if modulation == "am":
        if not 0.0 <= am_depth <= 1.0:
            raise ValueError(f"AM depth must be within 0..1, got {am_depth}")
        return 1.0 + am_depth**2 / 2.0
    if modulation == "off":
        return 1.0
    raise ValueError(f"modulation must be off, pulse or am, got {modulation!r}")
