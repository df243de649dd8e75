"""Make the README's screenshot: the operator window after a short characterization on the virtual bench.

Run: python examples/make_screenshot.py [OUT.png]         # default: a file in the temporary folder
     python examples/make_screenshot.py --update-readme   # replace examples/screenshots/main-window.png

It prints each task as it ends (a few minutes in all). Qt draws offscreen unless
QT_QPA_PLATFORM says otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt6 import QtWidgets  # noqa: E402

from stfmr.app.gui.window import StfmrWindow  # noqa: E402
from stfmr.instruments.bench import open_simulated_bench  # noqa: E402

SEQUENCE = Path(__file__).with_name("sequences") / "full-characterization.toml"
TRACKED = Path(__file__).with_name("screenshots") / "main-window.png"  #: the README's picture
DEFAULT_OUT = Path(tempfile.gettempdir()) / "stfmr-main-window.png"


def main(out: Path) -> None:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    bench = open_simulated_bench("type-A")
    with tempfile.TemporaryDirectory() as tmp:
        window = StfmrWindow(bench, tmp, bench.virtual.sample.metadata(), poll_ms=300)
        window.resize(1500, 950)
        window.show()
        total = window.queue_sequence(SEQUENCE)
        done = []

        def task_ended(run, task, outcome) -> None:
            done.append(task)
            status = getattr(outcome, "status", outcome)
            print(f"  task {len(done)}/{total}: {task.where()}: {status} ({time.monotonic() - t0:.0f} s)", flush=True)

        window.manager.task_ended.connect(task_ended)
        print(f"measuring {SEQUENCE.name} on the virtual type-A bench: {total} tasks", flush=True)
        t0 = time.monotonic()
        while (window.manager.is_running() or window.manager.experiments.has_next()) and time.monotonic() - t0 < 300:
            app.processEvents()
            time.sleep(0.01)
        print("waiting for the analysis (efficiencies) ...", flush=True)
        t1 = time.monotonic()
        while (window.analysis is None or window.analysis.efficiencies is None) and time.monotonic() - t1 < 30:
            app.processEvents()
            time.sleep(0.01)
        tabs = window.angular_panel.parentWidget().parentWidget()  # the QTabWidget holding the panels
        tabs.setCurrentWidget(window.angular_panel)
        app.processEvents()
        window.grab().save(str(out))
        window.close()
    bench.close()
    print(f"wrote {out}")


def parse_args(argv: list[str]) -> Path:
    """The file to write: OUT, the tracked screenshot with --update-readme, else DEFAULT_OUT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, help=f"PNG file to write (default: {DEFAULT_OUT})")
    parser.add_argument("--update-readme", action="store_true", help=f"write the README's screenshot {TRACKED}")
    args = parser.parse_args(argv)
    if args.update_readme and args.out is not None:
        parser.error("give OUT or --update-readme, not both")
    return TRACKED if args.update_readme else (args.out or DEFAULT_OUT)


if __name__ == "__main__":
    main(parse_args(sys.argv[1:]))
