"""The ``stfmr`` command: one entry point, one module per subcommand.

Each subcommand lives in ``stfmr.app.cmd_<name>`` and provides ``HELP`` (one
line), ``configure(parser)`` to declare its arguments and ``run(args) -> int``
returning the exit status. Heavy imports (Qt, the simulator) belong inside
``run`` so that ``stfmr --help`` stays quick.

Bad input (ValueError), missing files (OSError) and instrument failures
(RuntimeError, TimeoutError) end with a one-line message naming the problem
and a non-zero exit; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence

from stfmr import __version__
from stfmr.app.cli_args import DefaultsHelpFormatter

#: subcommand name -> module (in the order ``stfmr --help`` lists them)
COMMANDS: dict[str, str] = {
    "run": "stfmr.app.cmd_run",
    "gui": "stfmr.app.cmd_gui",
    "fit": "stfmr.app.cmd_fit",
    "analyze": "stfmr.app.cmd_analyze",
    "model": "stfmr.app.cmd_model",
    "instruments": "stfmr.app.cmd_instruments",
    "sim-server": "stfmr.app.cmd_sim_server",
    "watchdog": "stfmr.app.cmd_watchdog",
}

#: exit status for bad input and for instrument failures
EXIT_BAD_INPUT = 2
EXIT_INSTRUMENT = 3


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Return the argument parser with every installed subcommand, or with the subcommand ``only``.

    Building one subcommand imports one ``cmd_`` module: ``stfmr fit FILE``
    then does not pay for the imports of ``run``, ``watchdog`` and the rest.
    """
    parser = argparse.ArgumentParser(
        prog="stfmr",
        description="Spin-torque FMR: measure, fit, and model spin-orbit torques.",
    )
    parser.add_argument("--version", action="version", version=f"stfmr {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if (only is not None and name != only) or importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP, formatter_class=DefaultsHelpFormatter)
        module.configure(p)
        p.set_defaults(_run=module.run)
    return parser


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` runs when only ``--debug`` precedes it, else None (help, version, a typo)."""
    for token in argv:
        if token != "--debug":
            return token if token in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``stfmr``; return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=chosen_command(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print(f"stfmr {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`stfmr analyze ... | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, OSError) as exc:
        if args.debug:
            raise
        print(f"stfmr {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (RuntimeError, TimeoutError) as exc:
        if args.debug:
            raise
        print(f"stfmr {args.command}: instrument error: {exc}", file=sys.stderr)
        return EXIT_INSTRUMENT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
