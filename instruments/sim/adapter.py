"""In-process pymeasure transport to one simulated instrument.

The real pymeasure driver is built on this adapter (``SR830(bench.adapter("SR830"))``):
it writes the exact command text it would send over GPIB and parses the exact
reply text. Adapter-level faults are applied here the way the failure would
look from a real link: a timeout raises ``TimeoutError`` (pyvisa would raise
``VisaIOError(VI_ERROR_TMO)``), a dropped link raises ``ConnectionResetError``
from then on, a garbled reply returns junk text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pymeasure.adapters import Adapter

from stfmr.instruments.sim.base import SimInstrument, SimNoReply

if TYPE_CHECKING:
    from stfmr.instruments.sim.bench import VirtualBench

_JUNK = "#@!?%&~^*"


class SimTimeout(TimeoutError):
    """No reply within the timeout (the simulated instrument stayed silent or lost the reply)."""


class SimConnectionDropped(ConnectionResetError):
    """The simulated link dropped; every further exchange fails."""


def garble(text: str, rng: Any) -> str:
    """Return junk of the same length as text (no digits, so no parser accepts it)."""
    n = max(len(text), 3)
    return "".join(_JUNK[i] for i in rng.integers(0, len(_JUNK), n))


class FaultGate:
    """Applies the adapter-level faults of a bench's FaultPlan to one model's exchanges.

    Shared by SimAdapter and the loopback server so that both transports fail alike.
    """

    def __init__(self, bench: VirtualBench, model: str) -> None:
        self.bench = bench
        self.model = model
        self.dropped = False

    def check_link(self) -> None:
        """Raise if the link is (or now becomes) dropped."""
        if not self.dropped and self.bench.faults.due("drop", self.model):
            self.dropped = True
            self.bench.log.append(f"{self.model}: connection dropped (fault)")
        if self.dropped:
            raise SimConnectionDropped(f"{self.model}: connection dropped")

    def filter_reply(self, instrument: SimInstrument) -> str:
        """Take the next reply from instrument, applying timeout/garbled faults.

        Faults with after_queries = N fire on the first query after N answered ones.
        """
        faults = self.bench.faults
        self.check_link()
        if faults.due("timeout", self.model):
            faults.count_query(self.model)
            instrument.clear_replies()
            self.bench.log.append(f"{self.model}: reply lost (timeout fault)")
            raise SimTimeout(f"{self.model}: no reply (timeout)")
        garbled = faults.due("garbled", self.model)
        try:
            reply = instrument.read()
        except SimNoReply as exc:
            raise SimTimeout(str(exc)) from None
        faults.count_query(self.model)
        if garbled:
            self.bench.log.append(f"{self.model}: reply garbled (fault)")
            return garble(reply, self.bench.rng)
        return reply


class SimAdapter(Adapter):
    """pymeasure Adapter talking to one SimInstrument of a VirtualBench."""

    def __init__(self, bench: VirtualBench, instrument: SimInstrument, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bench = bench
        self.instrument = instrument
        self.model = instrument.MODEL
        self._gate = FaultGate(bench, self.model)

    @property
    def dropped(self) -> bool:
        """True once a drop fault has cut this link."""
        return self._gate.dropped

    def _write(self, command: str, **kwargs: Any) -> None:
        with self.bench.lock:
            self._gate.check_link()
            self.instrument.write(command)

    def _write_bytes(self, content: bytes, **kwargs: Any) -> None:
        self._write(content.decode("ascii", errors="replace"))

    def _read(self, **kwargs: Any) -> str:
        with self.bench.lock:
            return self._gate.filter_reply(self.instrument)

    def _read_bytes(self, count: int = -1, break_on_termchar: bool = False, **kwargs: Any) -> bytes:
        text = self._read()
        data = (text + "\n").encode("ascii", errors="replace")
        return data if count is None or count < 0 else data[:count]

    def flush_read_buffer(self) -> None:
        with self.bench.lock:
            self.instrument.clear_replies()

    def close(self) -> None:
        """Nothing to release (the simulator lives in the bench)."""

    def __repr__(self) -> str:
        return f"<SimAdapter {self.model}>"
