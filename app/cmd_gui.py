"""``stfmr gui``: the operator window on a real or simulated bench."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "the operator GUI: live spectra and fits, angular, Kittel and model panels, safe abort"


def configure(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--bench", type=Path, help="bench file (TOML)")
    where.add_argument("--sim", metavar="SAMPLE", help="the virtual bench: type-A, type-B, reference or a sample file")
    parser.add_argument("--data", type=Path, default=Path("runs/gui"), help="folder for the measured files")
    parser.add_argument("--sample", type=Path, help="a sequence file whose [sample] table describes the device")


def run(args: argparse.Namespace) -> int:
    from stfmr.instruments.bench import load_bench_config, open_bench, open_simulated_bench

    sample = None
    if args.sample:
        from stfmr.procedures.sequence import load_sequence

        sample = load_sequence(args.sample).sample
    config = load_bench_config(args.bench) if args.bench else None  # bad files refused before Qt starts
    bench = open_bench(config) if config else open_simulated_bench(args.sim)
    if sample is None and bench.virtual is not None:
        sample = bench.virtual.sample.metadata()

    from PyQt6 import QtWidgets

    from stfmr.app.gui.window import StfmrWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    window = StfmrWindow(bench, args.data, sample)
    window.show()
    try:
        return app.exec()
    finally:
        bench.close()
