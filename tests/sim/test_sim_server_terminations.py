"""The served simulators take a message ended by LF, CR or CR LF (what pyvisa-shell or a driver may send)."""

from __future__ import annotations

import re
import socket

import pytest

from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.instruments.sim.server import start_server


@pytest.fixture(scope="module")
def served():
    server = start_server(VirtualBench(VirtualSample.preset("type-A")), ["SR830", "LakeShore421"])
    yield server.resources()
    server.stop()


def _port(resource: str) -> int:
    return int(re.match(r"TCPIP::127\.0\.0\.1::(\d+)::SOCKET", resource).group(1))


def _ask(port: int, message: bytes, end: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(message)
        reply = b""
        while not reply.endswith(end):
            chunk = conn.recv(4096)
            assert chunk, f"connection closed after {reply!r}"
            reply += chunk
        return reply


@pytest.mark.parametrize("ending", [b"\n", b"\r", b"\r\n"])
def test_every_line_ending_is_understood(served, ending):
    reply = _ask(_port(served["SR830"]), b"*IDN?" + ending, b"\n")
    assert b"SR830" in reply and reply.count(b"\n") == 1  # one reply: CR LF is one end, not two
    reply = _ask(_port(served["LakeShore421"]), b"*IDN?" + ending, b"\r")
    assert b"421" in reply and reply.endswith(b"\r")  # CR, as the real meter


def test_two_messages_ended_by_cr_lf_get_two_replies(served):
    with socket.create_connection(("127.0.0.1", _port(served["SR830"])), timeout=5) as conn:
        conn.sendall(b"*IDN?\r\n*IDN?\r\n")
        reply = b""
        while reply.count(b"\n") < 2:
            chunk = conn.recv(4096)
            assert chunk, f"connection closed after {reply!r}"
            reply += chunk
    assert reply.count(b"SR830") == 2
