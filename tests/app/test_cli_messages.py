"""What a newcomer reads: messages that name the option, --help with defaults and every sample, no-display check."""

from __future__ import annotations

import socket

import pytest

from stfmr.app import cli
from stfmr.app.cli_args import preset_names
from stfmr.app.cmd_gui import display_problem
from support import runs as helpers

SEQUENCE = str(helpers.EXAMPLES / "angle-sweep.toml")


@pytest.mark.parametrize("argv, option", [
    (["run", SEQUENCE, "--bench", "{missing}"], "--bench"),
    (["run", SEQUENCE, "--sim", "type-A", "--faults", "{missing}"], "--faults"),
    (["run", SEQUENCE, "--sim", "{missing}"], "--sim"),
    (["instruments", "--bench", "{missing}"], "--bench"),
    (["instruments", "--sim", "type-A", "--faults", "{missing}"], "--faults"),
    (["model", "--stack", "{missing}"], "--stack"),
    (["model", "--case", "all", "--compositions", "{missing}"], "--compositions"),
    (["model", "--measured", "{missing}"], "--measured"),
    (["sim-server", "--duration", "0.01", "--faults", "{missing}"], "--faults"),
    (["sim-server", "--duration", "0.01", "--sample", "{missing}"], "--sample"),
    (["watchdog", "--bench", "{missing}", "--heartbeat", "{heartbeat}"], "--bench"),
])
def test_a_missing_file_is_refused_naming_its_option(argv, option, tmp_path, capsys):
    missing = str(tmp_path / "absent.toml")
    argv = [a.format(missing=missing, heartbeat=tmp_path / "hb.json") for a in argv]
    assert cli.main(argv) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"{option} {missing}: no such" in err
    assert "Errno" not in err


def test_an_unknown_preset_lists_every_preset(capsys):
    assert cli.main(["run", SEQUENCE, "--sim", "type-Q"]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "--sim type-Q: no sample preset 'type-Q'" in err
    assert all(name in err for name in ("type-A", "type-B", "reference", "two-mode"))


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exc:
        cli.main([*argv, "--help"])
    assert exc.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines


def test_help_shows_the_defaults(capsys):
    analyze = _help(capsys, "analyze")
    assert "processes for the spectrum fits (default: one per CPU," in analyze
    assert "(default: no refit, the whole sweep)" in analyze
    assert "(default: one)" in analyze  # --modes, from the formatter
    assert "folder for the measured files (default: runs/gui)" in _help(capsys, "gui")
    assert "(default: 0)" in _help(capsys, "run")  # --seed
    assert "(default: None)" not in analyze and "(default: False)" not in analyze


@pytest.mark.parametrize("command", ["run", "gui", "instruments", "sim-server"])
def test_help_lists_every_simulated_sample_from_the_presets(command, capsys):
    text = _help(capsys, command)
    names = preset_names()
    assert {"type-A", "type-B", "reference", "two-mode"} <= set(names)
    assert f"a preset ({', '.join(names)}) or a sample file" in text


def test_gui_takes_a_sequence_file_and_keeps_sample_as_a_hidden_alias(capsys):
    from stfmr.app.cmd_gui import _sequence_option

    text = _help(capsys, "gui")
    assert "--sequence SEQUENCE_FILE" in text and "--sample" not in text
    args = cli.build_parser().parse_args(["gui", "--sim", "type-A", "--sample", "seq.toml"])
    assert str(_sequence_option(args)) == "seq.toml"
    assert "--sample is deprecated, use --sequence" in capsys.readouterr().err
    both = cli.build_parser().parse_args(["gui", "--sim", "type-A", "--sample", "a.toml", "--sequence", "b.toml"])
    with pytest.raises(ValueError, match="only --sequence"):
        _sequence_option(both)


@pytest.mark.parametrize("env, refused", [
    ({}, True),
    ({"QT_QPA_PLATFORM": "xcb"}, True),
    ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, True),
    ({"QT_QPA_PLATFORM": "wayland"}, True),
    ({"DISPLAY": ":0"}, False),
    ({"WAYLAND_DISPLAY": "wayland-0"}, False),
    ({"QT_QPA_PLATFORM": "offscreen"}, False),
    ({"QT_QPA_PLATFORM": "minimal"}, False),
])
def test_the_display_check(env, refused):
    problem = display_problem(env, "linux")
    assert (problem is not None) == refused
    if refused:
        assert "QT_QPA_PLATFORM=offscreen" in problem
    assert display_problem({}, "darwin") is None and display_problem({}, "win32") is None


def test_gui_without_a_display_exits_2_before_qt_starts(monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    opened = []
    monkeypatch.setattr("stfmr.instruments.bench.open_simulated_bench", lambda *a, **k: opened.append(a))
    assert cli.main(["gui", "--sim", "type-A"]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "no display" in err and "QT_QPA_PLATFORM=offscreen" in err
    assert opened == []  # refused before the bench was opened


def _closed_ports(n: int) -> list[int]:
    """n distinct loopback ports that nothing listens on (bound together, then released)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def test_a_refused_connection_is_reported_as_refused_with_its_address(tmp_path, capsys):
    pytest.importorskip("pyvisa_py")
    ports = _closed_ports(3)
    rf, detector, field = (f"TCPIP::127.0.0.1::{port}::SOCKET" for port in ports)
    bench = tmp_path / "lan.toml"
    bench.write_text(
        '[bench]\nname = "nothing there"\n'
        f'[rf]\ndriver = "Agilent8257D"\nresource = "{rf}"\n'
        f'[detector]\ndriver = "SR830"\nresource = "{detector}"\n'
        f'[field]\ndriver = "KepcoBOP3612"\nresource = "{field}"\nmT_per_A = 40.0\n'
        "[limits]\nmax_field_mT = 400\nmax_current_A = 10\nmax_ramp_rate_A_per_s = 2\nmax_rf_power_dBm = 20\n"
        "angle_min_deg = -10\nangle_max_deg = 370\nmax_dc_current_A = 0.01\n", encoding="utf-8")
    assert cli.main(["instruments", "--bench", str(bench)]) == 3
    out = capsys.readouterr().out
    for port in ports:
        assert f"connection refused by 127.0.0.1 port {port} " in out
    assert "stfmr sim-server" in out and "connection lost" not in out


def test_fit_errors_name_the_file(tmp_path, capsys):
    import numpy as np

    one = tmp_path / "one.csv"
    one.write_text("Field (mT),V_FMR (V)\n100,1e-6\n", encoding="utf-8")
    field = np.linspace(20.0, 200.0, 200)
    noise = np.random.default_rng(5).normal(0.0, 1e-6, field.size)
    flat = tmp_path / "flat.csv"
    flat.write_text("Field (mT),V_FMR (V)\n" + "".join(f"{h},{v}\n" for h, v in zip(field, noise)), encoding="utf-8")
    for path, why, extra in ((one, "too few points", []), (flat, "no resonance", []),
                             (flat, "no resonance", ["--modes", "auto"])):
        assert cli.main(["fit", str(path), *extra]) == cli.EXIT_BAD_INPUT
        err = capsys.readouterr().err
        assert f"{path}: " in err and why in err
