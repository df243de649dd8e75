"""``stfmr instruments``: open each role of a bench, ask identity and state, one line per role.

A role that cannot be opened or does not answer is reported by role and
address, and the other roles are still checked; the exit status is 3 if any
role failed. Nothing is moved: the check only queries, plus the settings the
bench file asks for (time constant, modulation, current mode).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from stfmr.app.cli_args import input_file, sample_help, sim_sample

if TYPE_CHECKING:
    from stfmr.instruments.bench import BenchConfig, Transport

HELP = "check every instrument of a bench: identity and state, one line per role"

EXIT_FAILED = 3


@dataclass(frozen=True)
class RoleStatus:
    """Outcome of checking one role."""

    role: str
    driver: str
    address: str
    ok: bool
    identity: str = ""
    state: str = ""
    problem: str = ""

    def line(self, widths: tuple[int, int, int] = (12, 15, 28)) -> str:
        """One aligned line: role, driver, address, OK/FAILED, identity | state or the problem."""
        head = f"{self.role:<{widths[0]}} {self.driver:<{widths[1]}} {self.address:<{widths[2]}}"
        if self.ok:
            return f"{head} OK      {self.identity} | {self.state}"
        return f"{head} FAILED  {self.problem}"


def format_lines(results: list[RoleStatus]) -> list[str]:
    """Return the aligned report lines for results."""
    widths = tuple(max([len(getattr(r, col)) for r in results] + [4]) for col in ("role", "driver", "address"))
    return [r.line(widths) for r in results]  # type: ignore[arg-type]


def configure(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--bench", metavar="FILE", help="bench file (TOML) of a real or simulated bench")
    src.add_argument("--sim", metavar="SAMPLE", help=sample_help("the default virtual bench on"))
    parser.add_argument("--transport", choices=("inprocess", "visa"), default=None,
                        help="with --sim: in-process adapters or the loopback VISA server (default: inprocess)")
    parser.add_argument("--faults", metavar="FILE", help="with --sim: fault plan (TOML) for the virtual bench")
    parser.add_argument("--seed", type=int, default=None, help="with --sim: random seed of the virtual bench")


def check_roles(config: BenchConfig, transport: Transport) -> list[RoleStatus]:
    """Open, identify, describe and close each role of config; never stop at the first failure."""
    from stfmr.instruments.bench import open_role
    from stfmr.instruments.errors import InstrumentError
    from stfmr.instruments.registry import ROLES
    from stfmr.instruments.roles import FieldControl

    results: list[RoleStatus] = []
    for name in ROLES:
        rc = config.roles.get(name)
        if rc is None:
            continue
        driver = rc.driver + (f"+{rc.gaussmeter.driver}" if rc.gaussmeter is not None else "")
        address = rc.resource + (f" + {rc.gaussmeter.resource}" if rc.gaussmeter is not None else "")
        try:
            role = open_role(name, rc, transport.adapter_for)
        except (InstrumentError, ValueError, OSError) as exc:
            results.append(RoleStatus(name, driver, address, False, problem=str(exc)))
            continue
        gauss = role.gaussmeter if isinstance(role, FieldControl) else None
        address = role.address + (f" + {gauss.address}" if gauss is not None else "")
        try:
            identity = role.identity()
            state = role.describe()
            results.append(RoleStatus(name, driver, address, True, identity=identity, state=state))
        except (InstrumentError, ValueError, OSError) as exc:
            results.append(RoleStatus(name, driver, address, False, problem=str(exc)))
        finally:
            role.close()
    return results


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from stfmr.instruments.bench import load_bench_config, prepare_transport, simulated_config

    out = out or sys.stdout
    input_file(args.bench, "--bench")
    input_file(args.faults, "--faults")
    sim_sample(args.sim)
    if args.bench:
        for option in ("faults", "transport", "seed"):
            if getattr(args, option) is not None:
                raise ValueError(f"--{option} goes with --sim; a simulated bench file sets it in [simulation]")
        config = load_bench_config(args.bench)
        transport = prepare_transport(config)
    else:
        config, virtual = simulated_config(args.sim, faults=args.faults, transport=args.transport or "inprocess",
                                           seed=args.seed or 0)
        transport = prepare_transport(config, virtual=virtual)
    try:
        kind = "SIMULATED bench" if config.is_simulation else "bench"
        print(f"{kind}: {config.name} ({config.source})", file=out)
        results = check_roles(config, transport)
    finally:
        transport.close()
    for line in format_lines(results):
        print(line, file=out)
    failed = [s.role for s in results if not s.ok]
    if failed:
        print(f"{len(failed)} of {len(results)} roles failed: {', '.join(failed)}", file=out)
        return EXIT_FAILED
    print(f"all {len(results)} roles answered", file=out)
    return 0
