"""The default virtual bench has one home (instruments/sim/virtual_bench.py); its other spellings agree with it."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from stfmr.instruments.bench_config import load_bench_config
from stfmr.instruments.sim import virtual_bench
from stfmr.instruments.sim.virtual_bench import DEFAULT_SIM_DRIVERS, default_simulated_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "benches"


def test_the_example_sim_bench_file_is_the_default_virtual_bench():
    """examples/benches/sim.toml writes the default out for users: same roles, settings, limits, simulation."""
    example = load_bench_config(EXAMPLES / "sim.toml")
    default = default_simulated_config()
    assert example.roles == default.roles
    assert example.limits == default.limits
    assert example.simulation == default.simulation


def test_the_bench_module_re_exports_the_virtual_bench():
    from stfmr.instruments.bench import default_simulated_config, open_simulated_bench, simulated_config

    assert open_simulated_bench is virtual_bench.open_simulated_bench
    assert simulated_config is virtual_bench.simulated_config
    assert default_simulated_config is virtual_bench.default_simulated_config


def test_opening_a_real_bench_does_not_import_the_simulators():
    code = ("import sys; import stfmr.instruments.bench; "
            "print(sorted(m for m in sys.modules if m.startswith('stfmr.instruments.sim')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_sim_server_writes_the_default_bench_at_the_served_resources(tmp_path):
    from stfmr.app.cmd_sim_server import write_bench_file

    resources = {model: f"TCPIP::127.0.0.1::{5000 + i}::SOCKET" for i, model in enumerate(DEFAULT_SIM_DRIVERS.values())}
    path = tmp_path / "served.toml"
    write_bench_file(path, resources, 41.5, "type-A")
    served = load_bench_config(path)
    default = default_simulated_config(mT_per_A=41.5)
    assert served.declared_simulated and served.limits == default.limits
    for role, rc in default.roles.items():
        expected = dataclasses.replace(rc, resource=resources[rc.driver])
        if rc.gaussmeter is not None:
            expected = dataclasses.replace(expected, gaussmeter=dataclasses.replace(
                rc.gaussmeter, resource=resources[rc.gaussmeter.driver]))
        assert served.roles[role] == expected

    required_only = {DEFAULT_SIM_DRIVERS[r]: resources[DEFAULT_SIM_DRIVERS[r]] for r in ("rf", "detector", "field")}
    write_bench_file(path, required_only, 40.0, "type-A")
    served = load_bench_config(path)
    assert set(served.roles) == {"rf", "detector", "field"} and served.roles["field"].gaussmeter is None
    with pytest.raises(ValueError, match="SR830"):
        write_bench_file(path, {DEFAULT_SIM_DRIVERS["rf"]: "TCPIP::127.0.0.1::5000::SOCKET"}, 40.0, "type-A")
