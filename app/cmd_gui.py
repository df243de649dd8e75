"""``stfmr gui``: the operator window on a real or simulated bench."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from stfmr.app.cli_args import input_file, sample_help, sim_sample

HELP = "the operator GUI: live spectra and fits, angular, Kittel and model panels, safe abort"

#: how often (ms) the GUI marks its heartbeat idle between measurements
IDLE_MARK_MS = 5000


def configure(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--bench", type=Path, help="bench file (TOML)")
    where.add_argument("--sim", metavar="SAMPLE", help=sample_help())
    parser.add_argument("--data", type=Path, default=Path("runs/gui"), help="folder for the measured files")
    parser.add_argument("--sequence", type=Path, metavar="SEQUENCE_FILE",
                        help="a sequence file whose [sample] table is the device's record for the spectra queued "
                             "from the window (its steps are not run; default with --sim: the virtual sample's)")
    # the old name of --sequence, kept working (deprecated, not listed)
    parser.add_argument("--sample", type=Path, dest="sample_deprecated", help=argparse.SUPPRESS)
    parser.add_argument("--heartbeat", type=Path, metavar="FILE",
                        help="write a heartbeat file for `stfmr watchdog` (beats with every wait of a measurement)")


def run(args: argparse.Namespace) -> int:
    from stfmr.instruments.bench import load_bench_config, open_bench, open_simulated_bench

    problem = display_problem(os.environ, sys.platform)
    if problem:
        raise ValueError(problem)
    sequence_file = _sequence_option(args)
    input_file(args.bench, "--bench")
    sim_sample(args.sim)
    sample = None
    if sequence_file:
        from stfmr.procedures.sequence import load_sequence

        sample = load_sequence(sequence_file).sample
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


def _sequence_option(args: argparse.Namespace) -> Path | None:
    """The --sequence file (or the deprecated --sample, with a warning)."""
    old = getattr(args, "sample_deprecated", None)
    if old is None:
        return args.sequence
    if args.sequence is not None:
        raise ValueError("--sample is the old name of --sequence: give only --sequence")
    print("stfmr gui: warning: --sample is deprecated, use --sequence (a sequence file whose [sample] table "
          "describes the device)", file=sys.stderr)
    return old


def display_problem(environ: Mapping[str, str], platform: str) -> str | None:
    """Why Qt could not open a window here (None if it can), checked before Qt starts.

    Qt aborts the process (SIGABRT, exit 134) when its platform plugin finds no display.
    On Linux the default plugin is xcb (X11), which needs DISPLAY; wayland needs WAYLAND_DISPLAY.
    """
    if not platform.startswith("linux"):
        return None
    qpa = environ.get("QT_QPA_PLATFORM", "").strip()
    plugin = qpa.split(":", 1)[0].split(";", 1)[0].lower()
    has_x, has_wayland = bool(environ.get("DISPLAY")), bool(environ.get("WAYLAND_DISPLAY"))
    if plugin == "xcb" and not has_x:
        return ("no display: QT_QPA_PLATFORM=xcb but DISPLAY is not set, so Qt cannot open a window. Run it on "
                "a desktop session (or ssh -X), or without a screen with QT_QPA_PLATFORM=offscreen")
    if plugin == "" and not has_x and not has_wayland:
        return ("no display: DISPLAY and WAYLAND_DISPLAY are not set, so Qt cannot open a window. Run it on a "
                "desktop session (or ssh -X), or without a screen with QT_QPA_PLATFORM=offscreen")
    if plugin == "wayland" and not has_wayland:
        return ("no display: QT_QPA_PLATFORM=wayland but WAYLAND_DISPLAY is not set. Run it on a desktop "
                "session, or without a screen with QT_QPA_PLATFORM=offscreen")
    return None


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
