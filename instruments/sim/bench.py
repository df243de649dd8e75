"""VirtualBench: one virtual sample, the shared physical state, one simulator per model.

Usage (in-process, on the virtual clock)::

    from pymeasure.instruments.srs import SR830
    bench = VirtualBench(VirtualSample.preset("type-A"))
    lockin = SR830(bench.adapter("SR830"))   # the real driver, unchanged
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from stfmr.instruments.clock import VirtualClock
from stfmr.instruments.sim.adapter import SimAdapter
from stfmr.instruments.sim.base import SimInstrument
from stfmr.instruments.sim.catalog import simulator_class
from stfmr.instruments.sim.faults import FaultPlan
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.instruments.sim.state import DcState, Magnet, MagnetParams, RfState, Stage


@dataclass(frozen=True)
class HistoryRecord:
    """State of the bench at one moment (recorded on every state change)."""

    time_s: float
    setpoint_A: float
    coil_A: float
    field_mT: float
    rf_on: bool
    rf_power_dBm: float


class VirtualBench:
    """The simulated setup shared by all simulated instruments.

    clock: VirtualClock by default (waits advance time at once); the loopback
    server may run on a WallClock. faults: a FaultPlan (empty by default).
    seed: for the noise generator ``rng``.
    """

    def __init__(
        self,
        sample: VirtualSample,
        clock: Any = None,
        faults: FaultPlan | None = None,
        seed: int = 0,
        magnet: MagnetParams | None = None,
    ) -> None:
        self.sample = sample
        self.clock = clock if clock is not None else VirtualClock()
        self.faults = faults if faults is not None else FaultPlan()
        self.faults.attach(self.clock)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.lock = threading.RLock()
        #: False when served in real time (the loopback server): exchanges charge no virtual time
        self.charging = True
        self.history: list[HistoryRecord] = []
        self.protocol_errors: list[str] = []
        self.log: list[str] = []
        self._recording = False
        self._listeners: list[Any] = []
        self.magnet = Magnet(self, magnet)
        self.rf = RfState(self)
        self.stage = Stage(self)
        self.dc = DcState(self)
        self._instruments: dict[str, SimInstrument] = {}
        self._recording = True
        self.record()

    # -- instruments ----------------------------------------------------
    def instrument(self, model: str) -> SimInstrument:
        """The simulator of model (created on first use; one per model)."""
        with self.lock:
            inst = self._instruments.get(model)
            if inst is None:
                inst = simulator_class(model)(self)
                self._instruments[model] = inst
            return inst

    def adapter(self, model: str) -> SimAdapter:
        """A pymeasure Adapter reaching the simulator of model in-process."""
        return SimAdapter(self, self.instrument(model))

    def models(self) -> list[str]:
        """Models instantiated so far."""
        return list(self._instruments)

    # -- time -----------------------------------------------------------
    def charge(self, seconds: float) -> None:
        """Let an exchange take seconds of virtual time (no-op on a wall clock)."""
        advance = getattr(self.clock, "advance", None)
        if self.charging and advance is not None and seconds > 0:
            advance(seconds)

    # -- physics at the present state ------------------------------------
    def field_mT(self) -> float:
        """True field at the sample now (mT)."""
        return self.magnet.field_mT()

    def mixing_voltage(self) -> float:
        """True dc mixing voltage (V) with the rf as it is now, cw-equivalent (0 with rf off).

        Detectors multiply by what they take from the modulation waveform
        (lock-in: rf.lockin_response(); dc meter: rf.dc_factor()).
        """
        rf = self.rf
        if not rf.output_on:
            return 0.0
        return float(self.sample.mixing_voltage(
            self.magnet.field_mT(), rf.frequency_Hz * 1e-9, rf.power_dBm,
            self.stage.angle(), self.dc.effective_current_A(),
        ))

    def resistance(self) -> float:
        """Device resistance now (Ohm): AMR at the stage angle, heating by I_dc and rf."""
        rf = self.rf
        return self.sample.resistance(
            self.stage.angle(), self.dc.effective_current_A(), rf.power_dBm, rf.frequency_Hz * 1e-9,
            rf.output_on, rf_duty=rf.dc_factor(),  # time-averaged power: 1/2 under on/off pulses
        )

    # -- change notification ----------------------------------------------
    def add_listener(self, listener: Any) -> None:
        """Register an object whose ``sync()`` must run just before any state change (detector filters)."""
        self._listeners.append(listener)

    def state_changing(self) -> None:
        """Called by the state objects before they change: listeners catch up to now first."""
        for listener in self._listeners:
            listener.sync()

    # -- history --------------------------------------------------------
    def record(self) -> None:
        """Append the present state to the history."""
        if not self._recording:
            return
        m = self.magnet
        coil = m.coil_current()
        self.history.append(HistoryRecord(
            self.clock.now(), m.setpoint(), coil, m.field_mT(), self.rf.output_on, self.rf.power_dBm,
        ))

    def history_arrays(self) -> dict[str, np.ndarray]:
        """History as arrays: time_s, setpoint_A, coil_A, field_mT, rf_on, rf_power_dBm."""
        h = self.history
        return {
            "time_s": np.array([r.time_s for r in h], dtype=float),
            "setpoint_A": np.array([r.setpoint_A for r in h], dtype=float),
            "coil_A": np.array([r.coil_A for r in h], dtype=float),
            "field_mT": np.array([r.field_mT for r in h], dtype=float),
            "rf_on": np.array([r.rf_on for r in h], dtype=bool),
            "rf_power_dBm": np.array([r.rf_power_dBm for r in h], dtype=float),
        }
