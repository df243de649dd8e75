"""Make the README's screenshot: the operator window after a short characterization on the virtual bench.

Run: QT_QPA_PLATFORM=offscreen python examples/make_screenshot.py [OUT.png]
"""

from __future__ import annotations

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


def main(out: Path) -> None:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    bench = open_simulated_bench("type-A")
    with tempfile.TemporaryDirectory() as tmp:
        window = StfmrWindow(bench, tmp, bench.virtual.sample.metadata(), poll_ms=300)
        window.resize(1500, 950)
        window.show()
        window.queue_sequence(SEQUENCE)
        t0 = time.monotonic()
        while (window.manager.is_running() or window.manager.experiments.has_next()) and time.monotonic() - t0 < 300:
            app.processEvents()
            time.sleep(0.01)
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


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("screenshots") / "main-window.png")
