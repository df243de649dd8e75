"""The GUI's incremental reader of a Results file being written, and the window's hold on a virtual clock."""

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from stfmr.app.gui.panels import RowTail  # noqa: E402
from stfmr.app.gui.window import StfmrWindow  # noqa: E402
from stfmr.instruments.bench import open_simulated_bench  # noqa: E402
from stfmr.instruments.clock import VirtualClock  # noqa: E402


def test_only_complete_rows_are_taken_and_reads_are_incremental(tmp_path):
    path = tmp_path / "spectrum.csv"
    path.write_text("#Procedure: <FieldSweep>\n#Parameters:\n#\tFrequency: 10 GHz\n"
                    "Field (mT),V_FMR (V),Other\n1.0,2e-6,x\n2.0,3e-6,y\n3.0,4")
    tail = RowTail(path, ["Field (mT)", "V_FMR (V)"])
    assert tail.read() == 2  # the torn last row waits for its line break
    np.testing.assert_array_equal(tail.column(0), [1.0, 2.0])
    with open(path, "a") as fh:
        fh.write("e-6,z\n4.0,5e-6,w\n")
    assert tail.read() == 4
    np.testing.assert_array_equal(tail.column(1), [2e-6, 3e-6, 4e-6, 5e-6])
    assert tail.read() == 4  # nothing new


def test_a_row_that_is_not_numbers_is_skipped_and_a_missing_file_reads_as_empty(tmp_path):
    assert RowTail(tmp_path / "none.csv", ["a"]).read() == 0
    path = tmp_path / "f.csv"
    path.write_text("a,b\n1,2\nnan-ish,3\n5,6\n")
    tail = RowTail(path, ["b", "a"])
    assert tail.read() == 2
    np.testing.assert_array_equal(tail.column(0), [2.0, 6.0])


def test_the_window_makes_a_virtual_replay_yield_at_every_wait(qtbot, tmp_path):
    bench = open_simulated_bench("type-A")
    assert bench.virtual.clock.yield_s == VirtualClock.YIELD_S > 0
    win = StfmrWindow(bench, tmp_path, poll_ms=0)
    qtbot.addWidget(win)
    assert bench.virtual.clock.yield_s == 0.0
    win.close()
    bench.close()
