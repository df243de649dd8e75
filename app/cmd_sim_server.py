"""``stfmr sim-server``: serve the virtual bench's instruments on loopback TCP ports.

Each simulated instrument listens on its own 127.0.0.1 port, reachable with
pyvisa-py as ``TCPIP::127.0.0.1::PORT::SOCKET`` (terminations "\\n"). The
command prints one line per model (and the role it plays on the default
bench), optionally writes a bench file pointing at the served resources, and
serves until stopped (Ctrl-C). The served bench runs on the wall clock.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from stfmr.app.cli_args import input_file, sample_help, sim_sample
from stfmr.app.output_files import add_force_option, check_outputs, existing_files

HELP = "serve the simulated instruments on 127.0.0.1 TCP ports (pyvisa-py SOCKET resources)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sample", default="type-A", help=sample_help("the simulated sample:"))
    parser.add_argument("--faults", metavar="FILE", help="fault plan TOML file ([[fault]] tables)")
    parser.add_argument("--bench-out", metavar="FILE",
                        help="write a bench file whose roles point at the served resources")
    add_force_option(parser)
    parser.add_argument("--models", nargs="+", metavar="MODEL",
                        help="serve only these models (default: every simulated model)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="stop after S seconds (default: serve until interrupted)")


def run(args: argparse.Namespace) -> int:
    from stfmr.instruments.clock import WallClock
    from stfmr.instruments.sim.bench import VirtualBench
    from stfmr.instruments.sim.catalog import MODELS, available_models
    from stfmr.instruments.sim.faults import FaultPlan
    from stfmr.instruments.sim.sample import VirtualSample
    from stfmr.instruments.sim.server import start_server

    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.duration is not None and args.duration <= 0:
        raise ValueError(f"--duration must be positive, got {args.duration}")
    sim_sample(args.sample, "--sample")
    input_file(args.faults, "--faults")
    if args.bench_out:
        check_outputs([args.bench_out], option="--bench-out", force=args.force,
                      inputs=existing_files([args.sample, args.faults]))
    sample_arg = str(args.sample)
    if sample_arg.endswith(".toml") or Path(sample_arg).is_file():
        sample = VirtualSample.from_file(sample_arg)
    else:
        sample = VirtualSample.preset(sample_arg)
    faults = FaultPlan.from_toml(args.faults) if args.faults else None
    if args.models:
        bad = [m for m in args.models if m not in MODELS]
        if bad:
            raise ValueError(f"--models: unknown model(s) {', '.join(bad)}; known: {', '.join(MODELS)}")
        models = list(args.models)
    else:
        models = available_models()
    bench = VirtualBench(sample, clock=WallClock(), faults=faults, seed=args.seed)
    server = start_server(bench, models)
    try:
        resources = server.resources()
        roles = _default_roles()
        print(f"stfmr sim-server: sample {sample.name}, {len(resources)} instruments on 127.0.0.1")
        for model, resource in resources.items():
            role = roles.get(model, "")
            print(f"{role or '-':<12} {model:<15} {resource}")
        if args.bench_out:
            write_bench_file(Path(args.bench_out), resources, bench.magnet.calibration_mT_per_A, sample.name)
            print(f"bench file written: {args.bench_out}")
        print("serving; stop with Ctrl-C", flush=True)
        deadline = None if args.duration is None else time.monotonic() + args.duration
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.2)
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
    finally:
        server.stop()
    if bench.protocol_errors:
        print(f"{len(bench.protocol_errors)} command(s) not understood:", file=sys.stderr)
        for line in bench.protocol_errors:
            print(f"  {line}", file=sys.stderr)
    return 0


def _default_roles() -> dict[str, str]:
    """model -> role on the default simulated bench."""
    from stfmr.instruments.sim.virtual_bench import DEFAULT_SIM_DRIVERS

    return {model: role for role, model in DEFAULT_SIM_DRIVERS.items()}


def write_bench_file(path: Path, resources: dict[str, str], mT_per_A: float, sample: str) -> None:
    """Write the default simulated bench (instruments.sim.virtual_bench) at its served resources.

    Roles whose default model is not served are left out (optional roles) or
    refused (required ones).
    """
    from stfmr.instruments.registry import REQUIRED_ROLES
    from stfmr.instruments.sim.virtual_bench import DEFAULT_SIM_DRIVERS, default_tables

    def resource_for(role: str) -> str | None:
        model = DEFAULT_SIM_DRIVERS[role]
        if model not in resources and role in REQUIRED_ROLES:
            raise ValueError(f"--bench-out needs {model} ({role}) to be served")
        return resources.get(model)

    tables = {"bench": {"name": f"sim-server ({sample})", "simulated": True}, **default_tables(resource_for, mT_per_A)}
    lines = ["# Written by stfmr sim-server: valid while that server runs.", ""]

    def write(name: str, table: dict[str, Any]) -> None:
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in table.items() if not isinstance(value, dict))
        lines.append("")
        for key, value in table.items():
            if isinstance(value, dict):
                write(f"{name}.{key}", value)

    for name, table in tables.items():
        write(name, table)
    path.write_text("\n".join(lines), encoding="utf-8")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
