"""``stfmr run``: a sequence file, headless, into a resumable run folder.

Exit status: 0 when every task is complete and every ending was verified safe;
2 for bad input (refused before any instrument moves); 3 when an instrument
failed (the run stopped, the bench verified safe); 4 when the bench could NOT
be verified safe (the message says what to switch off by hand); 130 when
aborted (Ctrl-C, SIGTERM: continue with --resume).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stfmr.app.cli_args import input_file, sample_help, sim_sample

HELP = "run a measurement sequence headless into a run folder (resumable)"

#: exit status when the safe state could not be verified (see the module docstring)
EXIT_UNSAFE = 4
EXIT_ABORTED = 130


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sequence", type=Path, help="sequence file (TOML), e.g. examples/sequences/angle-sweep.toml")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--bench", type=Path, help="bench file (TOML) of the real or simulated instruments")
    where.add_argument("--sim", metavar="SAMPLE", help=sample_help())
    parser.add_argument("--out", type=Path, help="run folder (default: runs/<sequence name>)")
    parser.add_argument("--resume", action="store_true", help="continue the run folder at the first task not completed")
    parser.add_argument("--allow-bench-change", action="store_true",
                        help="with --resume: continue although the bench or simulated sample differs from the one "
                             "the run was started on (recorded in the manifest)")
    parser.add_argument("--faults", type=Path, help="with --sim: a fault file to inject")
    parser.add_argument("--seed", type=int, default=0, help="with --sim: noise seed")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--heartbeat", type=Path, metavar="FILE",
                        help="write a heartbeat file for `stfmr watchdog` (beats with every wait)")


def run(args: argparse.Namespace) -> int:
    from stfmr.analysis.run_manifest import ABORTED, FAILED, LOG, MANIFEST, UNSAFE
    from stfmr.instruments.bench import load_bench_config, open_bench, simulated_config
    from stfmr.procedures.executor import run_sequence
    from stfmr.procedures.sequence import load_sequence

    if args.faults and not args.sim:
        raise ValueError("--faults works with --sim only")
    if args.allow_bench_change and not args.resume:
        raise ValueError("--allow-bench-change works with --resume only")
    input_file(args.bench, "--bench")
    input_file(args.faults, "--faults")
    sim_sample(args.sim)
    # everything is validated against the limits before any instrument is opened
    virtual = None
    if args.bench:
        config = load_bench_config(args.bench)
    else:
        config, virtual = simulated_config(args.sim, faults=args.faults, seed=args.seed)
    sequence = load_sequence(args.sequence, config)
    out = args.out or Path("runs") / args.sequence.stem
    if args.resume and not (out / MANIFEST).exists():
        raise ValueError(f"--resume: {out} holds no {MANIFEST} to continue: nothing was recorded there, so start "
                         "the run again without --resume")
    heartbeat = None
    if args.heartbeat:  # checked before anything is opened, like the rest of the input
        from stfmr.procedures.heartbeat import Heartbeat, beat_with

        heartbeat = Heartbeat(args.heartbeat, out)
    bench = open_bench(config, virtual=virtual)  # the config the sequence was checked against
    if heartbeat is not None:
        try:
            beat_with(bench, heartbeat)  # every wait of the run now beats
        except BaseException:
            bench.close()
            raise
    outcome = None
    try:
        outcome = run_sequence(sequence, bench, out, resume=args.resume, allow_bench_change=args.allow_bench_change,
                               progress=None if args.quiet else sys.stderr)
    finally:
        bench.close()
        if heartbeat is not None:
            # an unverified ending hands the bench to the watchdog, which tries again on fresh connections
            heartbeat.end(safe=outcome is None or outcome.state != UNSAFE)
    print(f"run folder {out}: {outcome.state}, {outcome.completed} of {outcome.total} tasks complete"
          + (" (SIMULATED bench)" if bench.simulated else "")
          + (f"; {outcome.stopped}" if outcome.stopped else ""))
    for problem in outcome.safety_problems:
        print(f"note: on the way to the verified safe state: {problem}", file=sys.stderr)
    if outcome.state == UNSAFE:
        print(f"stfmr run: DANGER: the bench could not be verified safe ({outcome.error or f'see {LOG}'}).\n"
              f"Switch off by hand: {outcome.instructions}", file=sys.stderr)
        return EXIT_UNSAFE
    if outcome.state == FAILED:
        print(f"stfmr run: stopped: {outcome.error}; the bench was verified safe; fix the cause, then continue "
              "with --resume", file=sys.stderr)
        return 3
    if outcome.state == ABORTED:
        print("stfmr run: aborted; the bench was verified safe; continue with --resume", file=sys.stderr)
        return EXIT_ABORTED
    return 0
