"""Loopback TCP server: each simulated instrument on its own 127.0.0.1 port.

pyvisa with pyvisa-py reaches a served instrument exactly as it would reach a
LAN instrument: ``TCPIP::127.0.0.1::PORT::SOCKET`` with read and write
termination "\\n". Incoming text is split into messages on "\\n" (or "\\r");
each reply is sent with the model's termination. Adapter-level faults act as
on a real link: a timeout swallows the reply, garbled sends junk, a drop
closes the connection. The server binds to loopback only, never to a LAN.

When the bench runs on a VirtualClock, the server moves it forward with the
wall clock before each message, so a served bench lives in real time.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from stfmr.instruments.sim.adapter import FaultGate, SimConnectionDropped, SimTimeout

if TYPE_CHECKING:
    from stfmr.instruments.sim.bench import VirtualBench

HOST = "127.0.0.1"


class _ModelPort:
    """One listening socket serving one simulated instrument."""

    def __init__(self, server: SimServer, model: str, port: int = 0) -> None:
        self.server = server
        self.model = model
        self.instrument = server.bench.instrument(model)
        self.gate = FaultGate(server.bench, model)
        self.termination = getattr(self.instrument, "TERMINATION", "\n").encode()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, port))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept_loop, name=f"sim-{model}", daemon=True)

    @property
    def resource(self) -> str:
        return f"TCPIP::{HOST}::{self.port}::SOCKET"

    def _accept_loop(self) -> None:
        while not self.server.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(0.2)
            self.gate.dropped = False  # a fresh connection after a drop works again
            self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), name=f"sim-{self.model}-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while not self.server.stopping.is_set():
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                buffer += chunk.replace(b"\r", b"\n")
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip() and not self._message(conn, line.decode("ascii", errors="replace")):
                        return
        except OSError:
            return
        finally:
            conn.close()
            if conn in self.connections:
                self.connections.remove(conn)

    def _message(self, conn: socket.socket, text: str) -> bool:
        """Handle one message; return False when the connection must close (drop fault)."""
        bench = self.server.bench
        out: list[bytes] = []
        with bench.lock:
            self.server.sync_clock()
            try:
                self.gate.check_link()
                self.instrument.write(text)
                while self.instrument.pending():
                    try:
                        out.append(self.gate.filter_reply(self.instrument).encode("ascii", errors="replace"))
                    except SimTimeout:
                        break
            except SimConnectionDropped:
                return False
            except Exception as exc:  # noqa: BLE001 - a simulator bug must show in the test, not kill the port
                bench.protocol_errors.append(f"{self.model}: simulator failed on {text!r}: {exc!r}")
                return True
        if out:
            conn.sendall(b"".join(reply + self.termination for reply in out))
        return True

    def close(self) -> None:
        self.sock.close()
        for conn in list(self.connections):
            try:
                conn.close()
            except OSError:
                pass


class SimServer:
    """Serves the simulated instruments of a VirtualBench on loopback TCP ports."""

    def __init__(self, bench: VirtualBench, models: list[str], ports: dict[str, int] | None = None) -> None:
        self.bench = bench
        self.stopping = threading.Event()
        self._wall0 = time.monotonic()
        self._virtual0 = bench.clock.now()
        # served instruments live in real time: exchanges take what they take on the wire
        bench.charging = False
        self.ports: dict[str, _ModelPort] = {}
        ports = ports or {}
        for model in dict.fromkeys(models):  # unique, in order
            self.ports[model] = _ModelPort(self, model, ports.get(model, 0))

    def start(self) -> SimServer:
        """Start accepting connections (threads are daemons)."""
        for port in self.ports.values():
            port.thread.start()
        return self

    def sync_clock(self) -> None:
        """Bring a virtual bench clock up to the wall time elapsed since the server started."""
        advance = getattr(self.bench.clock, "advance", None)
        if advance is None:
            return
        behind = self._virtual0 + (time.monotonic() - self._wall0) - self.bench.clock.now()
        if behind > 0:
            advance(behind)

    def resources(self) -> dict[str, str]:
        """model -> VISA resource string."""
        return {model: port.resource for model, port in self.ports.items()}

    def stop(self) -> None:
        """Stop serving and close every socket."""
        self.stopping.set()
        for port in self.ports.values():
            port.close()
        for port in self.ports.values():
            if port.thread.is_alive():
                port.thread.join(timeout=1.0)

    close = stop

    def __enter__(self) -> SimServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_server(bench: VirtualBench, models: list[str], ports: dict[str, int] | None = None) -> SimServer:
    """Serve models of bench on loopback ports (ephemeral unless given); return the running server."""
    return SimServer(bench, models, ports).start()
