"""The runner publishes nothing on the network.

pymeasure's Worker binds a ZMQ PUB socket on ``tcp://*:<port>`` (every interface)
and sends every measured row there when pyzmq and cloudpickle are importable and
a port is given. A fake ``zmq`` stands in for pyzmq (installed or not), so the
test sees any bind a future change would make.
"""

import pickle
import types

import pytest
from pymeasure.experiment import Results, workers

from stfmr.instruments.bench import open_simulated_bench
from stfmr.procedures.field_sweep import FieldSweep
from stfmr.procedures.executor import run_sequence
from stfmr.procedures.sequence import parse_sequence
from support import runs as helpers

TINY = helpers.SAMPLE + """
[[step]]
kind = "angle_sweep"
frequency_GHz = 10.0
power_dBm = 15.0
angles_deg = [45, 135]
window_mT = 60.0
mu0_Meff_T = 0.65
field_points = 11
"""


class FakeZmq(types.ModuleType):
    """Just enough of pyzmq for pymeasure's Worker: records sockets, binds and messages."""

    PUB = 1

    def __init__(self) -> None:
        super().__init__("zmq")
        self.sockets: list[int] = []
        self.bound: list[str] = []
        self.sent = 0
        fake = self

        class Socket:
            def bind(self, address: str) -> None:
                fake.bound.append(address)

            def send_serialized(self, *args, **kwargs) -> None:
                fake.sent += 1

            def close(self) -> None:
                pass

        class Context:
            def socket(self, kind: int) -> Socket:
                fake.sockets.append(kind)
                return Socket()

            def term(self) -> None:
                pass

        self.Context = Context


@pytest.fixture
def fake_zmq(monkeypatch) -> FakeZmq:
    """pyzmq and cloudpickle 'importable' for pymeasure's workers module; Worker ports recorded."""
    fake = FakeZmq()
    monkeypatch.setattr(workers, "zmq", fake)
    monkeypatch.setattr(workers, "cloudpickle", types.SimpleNamespace(dumps=pickle.dumps))
    # no 0.3 s wait after a bind (pymeasure's), should one happen
    monkeypatch.setattr(workers, "time", types.SimpleNamespace(sleep=lambda seconds: None))
    fake.worker_ports = []
    original = workers.Worker.__init__

    def recording_init(self, results, *args, **kwargs):
        port = kwargs.get("port", args[2] if len(args) > 2 else None)
        fake.worker_ports.append(port)
        original(self, results, *args, **kwargs)

    monkeypatch.setattr(workers.Worker, "__init__", recording_init)
    return fake


def test_the_fake_sees_a_worker_that_publishes(fake_zmq, tmp_path):
    """The control: a Worker given a port (as pymeasure's Manager gives 5888) binds on every interface."""
    workers.Worker(Results(FieldSweep(), str(tmp_path / "x.csv")), port=5888)
    assert fake_zmq.bound == ["tcp://*:5888"]


def test_a_run_on_the_virtual_bench_binds_no_socket(fake_zmq, tmp_path):
    bench = open_simulated_bench("type-A")
    try:
        outcome = run_sequence(parse_sequence(TINY, "tiny.toml", bench.limits), bench, tmp_path / "run",
                               progress=None)
    finally:
        bench.close()
    assert outcome.state == "finished" and outcome.completed == 2
    assert len(fake_zmq.worker_ports) == 2, "the run went through pymeasure's Worker"
    assert all(address.startswith("tcp://127.0.0.1:") for address in fake_zmq.bound), fake_zmq.bound
    assert fake_zmq.worker_ports == [None, None] and fake_zmq.bound == [] and fake_zmq.sent == 0
