"""The loopback server: real pymeasure drivers over pyvisa-py SOCKET resources."""

from __future__ import annotations

import math
import socket

import pytest
from pymeasure.instruments.keithley import Keithley2182
from pymeasure.instruments.srs import SR830, SR860
from pyvisa import constants
from pyvisa.errors import VisaIOError

from stfmr.instruments.sim.bench import VirtualBench
from stfmr.instruments.sim.faults import FaultPlan
from stfmr.instruments.sim.sample import VirtualSample
from stfmr.instruments.sim.server import start_server

MODELS = ["SR830", "SR860", "Keithley2182"]


def _open(cls, resource: str, timeout_ms: int = 2000):
    return cls(resource, visa_library="@py", read_termination="\n", write_termination="\n", timeout=timeout_ms)


@pytest.fixture(scope="module")
def served():
    bench = VirtualBench(VirtualSample.preset("type-A"), seed=4)
    bench.rf.frequency_Hz = 10e9
    bench.rf.power_dBm = 10.0
    bench.rf.modulation = "pulse"
    bench.rf.output_on = True
    bench.stage.move_to(45.0)
    bench.magnet.set_output(True)
    bench.magnet.set_setpoint(140.0 / bench.magnet.calibration_mT_per_A)
    bench.clock.advance(10.0)
    server = start_server(bench, MODELS)
    yield bench, server
    server.stop()


def test_resources_are_loopback_sockets(served):
    _, server = served
    for model, resource in server.resources().items():
        assert model in MODELS
        assert resource.startswith("TCPIP::127.0.0.1::") and resource.endswith("::SOCKET")
    for port in server.ports.values():
        assert port.sock.getsockname()[0] == "127.0.0.1"


def test_sr830_over_visa(served):
    bench, server = served
    li = _open(SR830, server.resources()["SR830"])
    try:
        assert li.id.startswith("Stanford_Research_Systems,SR830")
        li.time_constant = 0.03
        li.sensitivity = 20e-6
        li.filter_slope = 12
        li.phase = bench.sample.detection_phase_deg
        assert li.time_constant == 0.03 and li.sensitivity == 20e-6 and li.filter_slope == 12
        assert li.phase == pytest.approx(bench.sample.detection_phase_deg)
        bench.clock.advance(1.0)
        x, y = li.xy
        truth = math.sqrt(2) / math.pi * float(bench.sample.mixing_voltage(bench.field_mT(), 10.0, 10.0, 45.0))
        assert x == pytest.approx(truth, rel=0.05)
        assert abs(y) < 0.05 * abs(truth)
        assert isinstance(li.x, float) and isinstance(li.y, float)
        assert int(li.lia_status) == 0
        assert li.status.strip() in ("2", "10")
    finally:
        li.adapter.close()
    assert bench.protocol_errors == []


def test_sr860_over_visa(served):
    bench, server = served
    li = _open(SR860, server.resources()["SR860"])
    try:
        assert li.ask("*IDN?").startswith("Stanford_Research_Systems,SR860")
        li.time_constant = 0.1
        li.sensitivity = 0.001
        li.filter_slope = 1
        li.phase = 5.0
        assert li.time_constant == 0.1 and li.sensitivity == 0.001 and li.filter_slope == 1
        assert li.phase == pytest.approx(5.0)
        assert len(li.snap("X", "Y")) == 2
        assert int(li.ask("CUROVLDSTAT?")) == 0
    finally:
        li.adapter.close()
    assert bench.protocol_errors == []


def test_keithley2182_over_visa(served):
    bench, server = served
    nv = _open(Keithley2182, server.resources()["Keithley2182"])
    try:
        assert "2182" in nv.id
        nv.voltage_nplc = 1
        nv.ch_1.voltage_range = 0.01
        assert nv.voltage_nplc == 1.0 and nv.ch_1.voltage_range == 0.01
        assert abs(float(nv.voltage)) < 1e-3
    finally:
        nv.adapter.close()
    assert bench.protocol_errors == []


def test_unknown_command_over_visa_is_recorded(served):
    bench, server = served
    li = _open(SR830, server.resources()["SR830"])
    try:
        li.write("NOPE?")
        assert li.ask("ERRS?").strip() == "32"
    finally:
        li.adapter.close()
    assert "SR830: 'NOPE?'" in bench.protocol_errors
    bench.protocol_errors.clear()


def test_faults_over_the_socket():
    plan = FaultPlan.from_dict({"fault": [
        {"kind": "timeout", "instrument": "SR830", "after_queries": 1},
        {"kind": "garbled", "instrument": "SR830", "after_queries": 2},
        {"kind": "drop", "instrument": "SR830", "after_queries": 3},
    ]})
    bench = VirtualBench(VirtualSample.preset("type-A"), faults=plan)
    server = start_server(bench, ["SR830"])
    li = _open(SR830, server.resources()["SR830"], timeout_ms=300)
    try:
        assert li.sensitivity == 0.05
        with pytest.raises(VisaIOError) as err:
            li.sensitivity
        assert err.value.error_code == constants.StatusCode.error_timeout
        reply = li.ask("*IDN?")
        assert not any(ch.isdigit() for ch in reply)
        with pytest.raises((VisaIOError, ConnectionError)):
            li.ask("*IDN?")
    finally:
        li.adapter.close()
        server.stop()


def test_raw_socket_line_protocol():
    bench = VirtualBench(VirtualSample.preset("reference"))
    server = start_server(bench, ["SR830"])
    try:
        port = server.ports["SR830"].port
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"*IDN?\n")
            assert s.recv(200).startswith(b"Stanford_Research_Systems,SR830")
    finally:
        server.stop()


def test_served_bench_runs_in_real_time():
    import time

    bench = VirtualBench(VirtualSample.preset("reference"))
    server = start_server(bench, ["SR830"])
    li = _open(SR830, server.resources()["SR830"])
    try:
        # the served clock catches up with the wall clock at each message: the wall readings bracket
        # both syncs, so the bounds hold however slowly a busy machine runs this
        t_wall = time.monotonic()
        li.x
        t_virtual = bench.clock.now()
        for _ in range(50):
            li.x  # no virtual time charged per exchange when served
        time.sleep(0.2)  # wall time passing is what is measured here
        li.x
        elapsed_virtual = bench.clock.now() - t_virtual
        elapsed_wall = time.monotonic() - t_wall
        assert 0.2 <= elapsed_virtual <= elapsed_wall + 1e-6
    finally:
        li.adapter.close()
        server.stop()
