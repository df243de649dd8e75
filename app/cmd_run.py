"""``stfmr run``: a sequence file, headless, into a resumable run folder."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

HELP = "run a measurement sequence headless into a run folder (resumable)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sequence", type=Path, help="sequence file (TOML), e.g. examples/sequences/angle-sweep.toml")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--bench", type=Path, help="bench file (TOML) of the real or simulated instruments")
    where.add_argument("--sim", metavar="SAMPLE", help="the virtual bench with a preset (type-A, type-B, reference) "
                       "or a sample file")
    parser.add_argument("--out", type=Path, help="run folder (default: runs/<sequence name>)")
    parser.add_argument("--resume", action="store_true", help="continue the run folder at the first task not completed")
    parser.add_argument("--faults", type=Path, help="with --sim: a fault file to inject")
    parser.add_argument("--seed", type=int, default=0, help="with --sim: noise seed")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--heartbeat", type=Path, metavar="FILE",
                        help="write a heartbeat file for `stfmr watchdog` (beats with every wait)")


def run(args: argparse.Namespace) -> int:
    from stfmr.instruments.bench import load_bench_config, open_bench, open_simulated_bench, simulated_config
    from stfmr.procedures.runner import run_sequence
    from stfmr.procedures.sequence import load_sequence

    if args.faults and not args.sim:
        raise ValueError("--faults works with --sim only")
    # everything is validated against the limits before any instrument is opened
    if args.bench:
        config = load_bench_config(args.bench)
    else:
        config, _ = simulated_config(args.sim, faults=args.faults, seed=args.seed)
    sequence = load_sequence(args.sequence, config.limits)
    out = args.out or Path("runs") / args.sequence.stem
    if args.resume and not (out / "manifest.json").exists():
        raise ValueError(f"--resume: {out} holds no manifest.json to continue")
    heartbeat = None
    if args.heartbeat:  # checked before anything is opened, like the rest of the input
        from stfmr.procedures.heartbeat import Heartbeat, beat_with

        heartbeat = Heartbeat(args.heartbeat, out)
    bench = open_bench(config) if args.bench else open_simulated_bench(args.sim, faults=args.faults, seed=args.seed)
    if heartbeat is not None:
        try:
            beat_with(bench, heartbeat)  # every wait of the run now beats
        except BaseException:
            bench.close()
            raise
    stop = threading.Event()

    def on_signal(signum, frame):  # SIGTERM: abort like Ctrl-C (the magnet still ramps down)
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        outcome = run_sequence(sequence, bench, out, resume=args.resume,
                               progress=None if args.quiet else sys.stderr, stop=stop)
    finally:
        signal.signal(signal.SIGTERM, previous)
        bench.close()
        if heartbeat is not None:
            heartbeat.end()
    print(f"run folder {out}: {outcome.state}, {outcome.completed} of {outcome.total} tasks complete"
          + (" (SIMULATED bench)" if bench.simulated else ""))
    for problem in outcome.safety_problems:
        print(f"WARNING: bench not fully safe: {problem}", file=sys.stderr)
    if outcome.state == "failed":
        print(f"stfmr run: instrument error: {outcome.error}", file=sys.stderr)
        return 3
    if outcome.state == "aborted":
        print("stfmr run: aborted; continue with --resume", file=sys.stderr)
        return 130
    return 0
