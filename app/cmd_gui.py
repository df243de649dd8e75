"""``stfmr gui``: the operator window on a real or simulated bench."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "the operator GUI: live spectra and fits, angular, Kittel and model panels, safe abort"

#: how often (ms) the GUI marks its heartbeat idle between measurements
IDLE_MARK_MS = 5000


def configure(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--bench", type=Path, help="bench file (TOML)")
    where.add_argument("--sim", metavar="SAMPLE", help="the virtual bench: type-A, type-B, reference or a sample file")
    parser.add_argument("--data", type=Path, default=Path("runs/gui"), help="folder for the measured files")
    parser.add_argument("--sample", type=Path, help="a sequence file whose [sample] table describes the device")
    parser.add_argument("--heartbeat", type=Path, metavar="FILE",
                        help="write a heartbeat file for `stfmr watchdog` (beats with every wait of a measurement)")


def run(args: argparse.Namespace) -> int:
    from stfmr.instruments.bench import load_bench_config, open_bench, open_simulated_bench

    sample = None
    if args.sample:
        from stfmr.procedures.sequence import load_sequence

        sample = load_sequence(args.sample).sample
    config = load_bench_config(args.bench) if args.bench else None  # bad files refused before Qt starts
    heartbeat = None
    if args.heartbeat:
        from stfmr.procedures.heartbeat import BeatingClock, Heartbeat

        heartbeat = Heartbeat(args.heartbeat, args.data)
    bench = open_bench(config) if config else open_simulated_bench(args.sim)
    if heartbeat is not None:
        bench.clock = BeatingClock(bench.clock, heartbeat)  # a measurement's waits beat "running"
        heartbeat.idle()
    if sample is None and bench.virtual is not None:
        sample = bench.virtual.sample.metadata()

    from PyQt6 import QtWidgets

    from stfmr.app.gui.window import StfmrWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    window = StfmrWindow(bench, args.data, sample)
    window.show()
    if heartbeat is not None:
        idle_timer = _mark_idle_between_measurements(window, heartbeat)
    try:
        return app.exec()
    finally:
        if heartbeat is not None:
            idle_timer.stop()
            if not window.manager.is_running():  # else a safe end may still be ramping: let the watchdog judge
                heartbeat.end()
        bench.close()


def _mark_idle_between_measurements(window, heartbeat):
    """Every IDLE_MARK_MS, mark the heartbeat idle when no measurement runs (the bench is safe then)."""
    import logging

    from PyQt6 import QtCore

    def mark() -> None:
        if window.manager.is_running():
            return  # the measurement's own waits beat
        try:
            heartbeat.idle()
        except OSError as exc:  # a slot must not raise: Qt would abort the window
            logging.getLogger(__name__).error("heartbeat %s not written: %s", heartbeat.path, exc)

    timer = QtCore.QTimer(window)
    timer.timeout.connect(mark)
    timer.start(IDLE_MARK_MS)
    return timer
