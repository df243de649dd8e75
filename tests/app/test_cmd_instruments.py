"""`stfmr instruments`: one line per role; missing and silent instruments named; others still checked."""

from __future__ import annotations

import socket

import pytest

from stfmr.app.cli import main


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def silent_server():
    """A loopback socket that accepts connections (kernel backlog) but never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    yield s.getsockname()[1]
    s.close()


def test_missing_and_silent_instruments_are_reported_by_role_and_address(tmp_path, capsys, silent_server):
    closed, closed2 = _closed_port(), _closed_port()
    bench = tmp_path / "bench.toml"
    bench.write_text(f"""
[rf]
driver = "SMB100A"
resource = "TCPIP::127.0.0.1::{closed}::SOCKET"
timeout_ms = 300

[detector]
driver = "SR830"
resource = "TCPIP::127.0.0.1::{silent_server}::SOCKET"
timeout_ms = 300

[field]
driver = "KepcoBOP3612"
resource = "TCPIP::127.0.0.2::{closed2}::SOCKET"
mT_per_A = 40.0
timeout_ms = 300

[limits]
max_field_mT = 300.0
max_current_A = 8.0
max_ramp_rate_A_per_s = 0.5
max_rf_power_dBm = 18.0
angle_min_deg = -10.0
angle_max_deg = 370.0
max_dc_current_A = 0.005
""")
    status = main(["instruments", "--bench", str(bench)])
    out = capsys.readouterr().out
    assert status == 3
    lines = {line.split()[0]: line for line in out.splitlines() if line.split() and line.split()[0] in
             ("rf", "detector", "field")}
    assert set(lines) == {"rf", "detector", "field"}  # every role checked despite the failures
    assert "FAILED" in lines["rf"] and f"127.0.0.1::{closed}" in lines["rf"]
    assert "FAILED" in lines["detector"] and "timed out" in lines["detector"]
    assert f"SR830 at TCPIP::127.0.0.1::{silent_server}::SOCKET" in lines["detector"]
    assert "3 of 3 roles failed" in out


def test_bad_bench_file_is_bad_input(tmp_path, capsys):
    bench = tmp_path / "bench.toml"
    bench.write_text('[rf]\ndriver = "SR830"\nresource = "GPIB0::1::INSTR"\n')
    assert main(["instruments", "--bench", str(bench)]) == 2
    assert "[detector]: missing table" in capsys.readouterr().err


def test_bench_or_sim_is_required(capsys):
    with pytest.raises(SystemExit):
        main(["instruments"])
