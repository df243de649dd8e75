"""run.log read back as the records the GUI's Log tab showed (stfmr.app.gui.run_log)."""

import logging

from stfmr.app.gui.run_log import read_run_log
from stfmr.procedures.executor import configure_run_log


def write_log(folder, records: list[tuple[str, int, str]]) -> list[float]:
    """Log (logger, level, message) records through the run folder's own log handler; return their times."""
    created = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            created.append(record.created)

    keep = Keep()
    undo = configure_run_log(folder)
    loggers = {logging.getLogger(name) for name, _, _ in records}
    for logger in loggers:
        logger.addHandler(keep)
    try:
        for name, level, message in records:
            logging.getLogger(name).log(level, "%s", message)
    finally:
        for logger in loggers:
            logger.removeHandler(keep)
        undo()
    return created


def test_the_stfmr_records_come_back_with_their_level_time_and_whole_message(tmp_path):
    records = [
        ("stfmr.procedures.executor", logging.INFO, "run: 3 tasks at 100 % power"),
        ("pymeasure.experiment.workers", logging.INFO, "Worker thread started\n  a second line of pymeasure's"),
        ("stfmr.procedures.safety", logging.WARNING, "retrying the magnet\nTraceback (most recent call last):\n  x"),
        ("stfmr", logging.ERROR, "SR830: no answer"),
    ]
    created = write_log(tmp_path, records)
    run_log = read_run_log(tmp_path)
    assert run_log is not None and run_log.records_left_out == 0 and run_log.bytes_left_out == 0
    shown = [(r.name, r.levelno, r.getMessage()) for r in run_log.records]
    assert shown == [records[0], records[2], records[3]]  # pymeasure's record and its second line are left out
    for record, t in zip(run_log.records, [created[0], created[2], created[3]]):
        assert abs(record.created - t) < 2e-3  # run.log keeps milliseconds


def test_a_long_log_is_read_from_its_end(tmp_path):
    write_log(tmp_path, [("stfmr.x", logging.INFO, f"record {k}") for k in range(200)])
    newest = read_run_log(tmp_path, max_records=30)
    assert [r.getMessage() for r in newest.records] == [f"record {k}" for k in range(170, 200)]
    assert newest.records_left_out == 170
    size = (tmp_path / "run.log").stat().st_size
    tail = read_run_log(tmp_path, max_bytes=size // 4)
    messages = [r.getMessage() for r in tail.records]
    assert tail.bytes_left_out == size - size // 4 and 40 < len(messages) < 60
    assert messages == [f"record {k}" for k in range(200 - len(messages), 200)]  # no torn first record


def test_a_folder_without_a_log_has_none(tmp_path):
    assert read_run_log(tmp_path) is None
