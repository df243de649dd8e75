"""Start-up of a one-file ``stfmr fit``: the libraries it imports, and the parser of one subcommand.

A one-file fit must start in well under 0.5 s (tests/benchmarks/bench_startup.py
measures it); here only what can fail without a clock: which modules a fresh
process has imported after ``stfmr fit FILE``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from stfmr.analysis import columns as col
from stfmr.analysis.lineshape import spectrum_voltage
from stfmr.app import cli

#: libraries a one-file fit does not need: each costs about as much start-up as the whole fit, or more
HEAVY = ("pandas", "lmfit", "pint", "pymeasure", "scipy.stats", "matplotlib", "PyQt6")

_PROBE = """
import contextlib, io, json, sys
from stfmr.app.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    status = main(sys.argv[1:])
print(json.dumps({"status": status, "out": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def _line(field_mT: np.ndarray) -> np.ndarray:
    """One resonance at +-150 mT (V) with a little noise."""
    h_r = np.where(field_mT < 0, -150.0, 150.0)
    clean = np.array([spectrum_voltage(h, hr, 6.0, 2e-6, 1e-6, 1e-7, 0.0) for h, hr in zip(field_mT, h_r)])
    return clean + np.random.default_rng(4).normal(0.0, 2e-8, field_mT.size)


def _recorded_file(path):
    """A file as stfmr records it: pymeasure header, set and measured field, V_FMR, a constant frequency."""
    field = np.concatenate((np.linspace(-200.0, -100.0, 61), np.linspace(100.0, 200.0, 61)))
    volts = _line(field)
    header = "#Procedure: <stfmr.procedures.field_sweep.FieldSweep>\n#Parameters:\n#\tFrequency: 10.0 GHz\n#Data:\n"
    names = ",".join([col.FIELD_SET, col.FIELD, col.V_FMR, col.FREQUENCY])
    rows = "\n".join(f"{h:.3f},{h + 0.01:.4f},{v:.6e},10.0" for h, v in zip(field, volts))
    path.write_text(header + names + "\n" + rows + "\n", encoding="utf-8")
    return path


def _plain_file(path):
    """Another lab's two-column CSV."""
    field = np.linspace(100.0, 200.0, 121)
    rows = "\n".join(f"{h:.4f},{v:.6e}" for h, v in zip(field, _line(field)))
    path.write_text("B (mT),Signal (V)\n" + rows + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("make, options", [
    (_recorded_file, []),
    (_recorded_file, ["--json"]),
    (_plain_file, ["--field-column", "B (mT)", "--voltage-column", "Signal (V)"]),
])
def test_a_one_file_fit_imports_none_of_the_heavy_libraries(tmp_path, make, options):
    path = make(tmp_path / "spectrum.csv")
    done = subprocess.run([sys.executable, "-c", _PROBE, "fit", str(path), *options],
                          capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["status"] == 0, done.stderr
    assert "H_r" in report["out"]  # the fit ran and printed its result
    heavy = [m for m in report["modules"] if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert heavy == []
    others = [f"stfmr.app.cmd_{name}" for name in ("run", "gui", "analyze", "model", "watchdog")]
    assert not set(others) & set(report["modules"])  # only the fit command's module was imported


@pytest.mark.parametrize("argv, command", [
    (["fit", "x.csv"], "fit"),
    (["--debug", "analyze", "folder"], "analyze"),
    (["--help", "fit"], None),
    (["--version"], None),
    (["fitt", "x.csv"], None),
    ([], None),
])
def test_the_command_is_the_first_word_after_debug(argv, command):
    assert cli.chosen_command(argv) == command


def _subparser(parser, name):
    return parser._subparsers._group_actions[0].choices[name]


@pytest.mark.parametrize("argv", [
    ["fit", "f.csv"],
    ["--debug", "fit", "f.csv", "--json", "--field-unit", "Oe", "--repeats", "mean", "--engine", "lmfit"],
])
def test_the_parser_of_one_command_reads_as_the_full_parser(argv):
    one, full = cli.build_parser(only="fit"), cli.build_parser()
    assert vars(one.parse_args(argv)) == vars(full.parse_args(argv))
    assert _subparser(one, "fit").format_help() == _subparser(full, "fit").format_help()
    assert list(one._subparsers._group_actions[0].choices) == ["fit"]


def test_a_usage_error_of_one_command_names_that_command(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["fit"])
    assert info.value.code == 2
    assert "stfmr fit: error: the following arguments are required: FILE" in capsys.readouterr().err
