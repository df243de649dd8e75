"""``stfmr sim-server``: prints resources, writes a usable bench file, refuses bad input."""

from __future__ import annotations

import pytest

from stfmr.app import cli


def test_sim_server_prints_resources_and_writes_a_bench_file(tmp_path, capsys):
    out_file = tmp_path / "served.toml"
    status = cli.main(["sim-server", "--sample", "type-B", "--models", "SR830", "Agilent8257D", "KepcoBOP3612",
                       "--bench-out", str(out_file), "--duration", "0.05"])
    assert status == 0
    out = capsys.readouterr().out
    assert "type-B" in out
    lines = [line for line in out.splitlines() if "TCPIP::127.0.0.1::" in line]
    assert len(lines) == 3 and any(line.startswith("detector") and "SR830" in line for line in lines)
    from stfmr.instruments.bench_config import load_bench_config

    config = load_bench_config(out_file)
    assert config.roles["detector"].resource.startswith("TCPIP::127.0.0.1::")
    assert not config.simulated


@pytest.mark.parametrize("args,message", [
    (["--sample", "type-Q"], "no sample preset"),
    (["--models", "SR9999"], "SR9999"),
    (["--seed", "-1"], "seed"),
])
def test_sim_server_bad_input(args, message, capsys):
    assert cli.main(["sim-server", "--duration", "0.01", *args]) == 2
    assert message in capsys.readouterr().err


def test_sim_server_bad_fault_file(tmp_path, capsys):
    faults = tmp_path / "f.toml"
    faults.write_text('[[fault]]\nkind = "meltdown"\ninstrument = "SR830"\n')
    assert cli.main(["sim-server", "--duration", "0.01", "--faults", str(faults)]) == 2
    assert "meltdown" in capsys.readouterr().err
