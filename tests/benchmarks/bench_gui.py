"""GUI figures: a live plot update of a 100,000-point series, and event-loop latency during a sweep.

1. The spectrum panel redraws a curve holding 100,000 points (setData and a
   repaint of the plot, as the live timer does; two field branches, drawn
   as a line since symbols above SYMBOL_LIMIT points cost ~5x more): median and 95th percentile
   over 50 updates. Target < 16 ms.
2. A zero-dwell simulated sweep runs in the worker thread while a 10 ms timer in
   the GUI thread records how late it fires: 99th percentile. Target < 50 ms,
   so the Abort button always answers.
Run: QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_gui.py
"""

from __future__ import annotations

import os
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PyQt6 import QtCore, QtWidgets  # noqa: E402

from stfmr.app.gui.panels import SpectrumPanel, draw_spectrum, fast_curve  # noqa: E402


def plot_update_ms(app: QtWidgets.QApplication, n: int = 100_000, repeats: int = 50) -> tuple[float, float]:
    panel = SpectrumPanel()
    panel.resize(1000, 700)
    panel.show()
    curve = pg.PlotDataItem(pen=pg.mkPen("b", width=1), symbol="o", symbolSize=3, symbolPen=None, symbolBrush="b")
    negative = pg.PlotDataItem(pen=pg.mkPen("darkblue", width=1), symbol="t", symbolSize=4, symbolPen=None,
                               symbolBrush="darkblue")  # the -H branch, in its own colour
    for item in (curve, negative):
        panel.plot.addItem(item)
        fast_curve(item)
    h = np.concatenate([np.linspace(20, 300, n // 2), -np.linspace(20, 300, n - n // 2)])  # both branches
    times = []
    for k in range(repeats):
        v = 1e-5 * np.sin(h / 7.0 + k) + 1e-7 * np.random.default_rng(k).normal(size=n)
        t0 = time.perf_counter()
        draw_spectrum(curve, negative, h, v)  # the panel's own path: branches split, line above SYMBOL_LIMIT
        panel.plot.viewport().repaint()
        app.processEvents()
        times.append((time.perf_counter() - t0) * 1e3)
    panel.close()
    return float(np.median(times)), float(np.percentile(times, 95))


def event_loop_latency_ms(app: QtWidgets.QApplication) -> tuple[float, int]:
    from stfmr.app.gui.window import StfmrWindow
    from stfmr.instruments.bench import open_simulated_bench

    bench = open_simulated_bench("type-A")
    with tempfile.TemporaryDirectory() as tmp:
        win = StfmrWindow(bench, tmp, bench.virtual.sample.metadata(), poll_ms=500)
        win.resize(1400, 900)
        win.show()
        for angle in (15, 30, 45, 60, 75, 105):
            p = win.make_procedure()
            p.angle_deg, p.field_points, p.field_start_mT, p.field_stop_mT = angle, 1001, 100.0, 200.0
            p.both_branches = True
            win.queue(p)
        lateness = []
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            lateness.append((now - last[0]) * 1e3 - 10.0)
            last[0] = now

        timer = QtCore.QTimer()
        timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        timer.timeout.connect(tick)
        timer.start(10)
        t0 = time.perf_counter()
        while (win.manager.is_running() or win.manager.experiments.has_next()) and time.perf_counter() - t0 < 300:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
        timer.stop()
        win.close()
    bench.close()
    return float(np.percentile(lateness, 99)), len(lateness)


def main() -> None:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    median, p95 = plot_update_ms(app)
    print(f"live update of a 100,000-point series: median {median:.1f} ms, 95th percentile {p95:.1f} ms "
          "(target < 16 ms)")
    p99, samples = event_loop_latency_ms(app)
    print(f"event-loop lateness during a zero-dwell sweep (12,012 points): 99th percentile {p99:.1f} ms over "
          f"{samples} ticks (target < 50 ms)")


if __name__ == "__main__":
    main()
