"""The simulated bench: the real pymeasure drivers on the virtual bench, through stfmr's role wrappers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from stfmr.app.cli import main
from stfmr.instruments import roles
from stfmr.instruments.bench import open_bench, open_simulated_bench
from stfmr.instruments.errors import (
    InstrumentConnectionLost,
    InstrumentReplyError,
    InstrumentTimeout,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "benches"


@pytest.fixture
def bench():
    b = open_simulated_bench("type-A")
    yield b
    b.close()


def test_roles_satisfy_protocols_and_header_says_simulated(bench):
    assert isinstance(bench.rf, roles.RfSource)
    assert isinstance(bench.detector, roles.Detector)
    assert isinstance(bench.field, roles.FieldControl)
    assert isinstance(bench.rotator, roles.Rotator)
    assert isinstance(bench.sourcemeter, roles.SourceMeter)
    head = bench.header()
    assert head["SIMULATED"] is True and bench.simulated
    assert head["simulation"]["sample"] == "type-A"
    assert set(head["roles"]) == {"rf", "detector", "field", "rotator", "sourcemeter"}
    assert bench.virtual is not None and bench.clock is bench.virtual.clock


@pytest.mark.parametrize("transport", ["inprocess", "visa"])
def test_every_role_method_against_the_simulators(transport):
    with open_simulated_bench("type-A", transport=transport) as bench:
        _exercise_every_role_method(bench)


def _exercise_every_role_method(bench):
    rf, det, field, rot, sm = bench.rf, bench.detector, bench.field, bench.rotator, bench.sourcemeter
    wait = bench.virtual.clock.advance  # simulated time, also over the loopback server
    for role in bench.roles().values():
        assert role.identity()
    rf.set_frequency_GHz(10.0)
    assert rf.frequency_GHz() == pytest.approx(10.0)
    rf.set_power_dBm(5.0)
    assert rf.power_dBm() == pytest.approx(5.0)
    rf.set_output(True)
    assert rf.output_enabled() is True
    for mode, rate in (("am", 700.0), ("off", 0.0), ("pulse", 1000.0)):
        rf.set_modulation(mode, rate)
    assert rf.output_enabled()  # a query: over a socket, every write before it has been handled
    assert bench.virtual.rf.modulation == "pulse"

    det.set_time_constant(0.1)
    assert det.time_constant() == pytest.approx(0.1)
    det.set_sensitivity(1e-3)
    assert det.sensitivity() == pytest.approx(1e-3)
    det.set_phase(0.0)
    assert det.phase() == pytest.approx(0.0)
    x, y = det.read_xy()
    assert math.isfinite(x) and math.isfinite(y)
    assert det.overloaded() is False  # a few uV on the 1 mV range (the overload fault: below)

    field.set_output(True)
    amps = field.current_for_field(100.0)
    field.set_current(amps)
    assert field.current_setpoint() == pytest.approx(amps)  # a query: the writes have been handled
    wait(30.0)
    assert field.current() == pytest.approx(amps, rel=1e-2)
    assert field.has_gaussmeter()
    assert field.field_mT() == pytest.approx(100.0, abs=5.0)  # remanence and a slightly nonlinear coil

    rot.move_to(45.0)
    assert rot.is_moving()
    wait(60.0)
    assert not rot.is_moving()
    assert rot.check_reached() == pytest.approx(45.0, abs=0.05)
    rot.home()

    sm.set_dc_current(1e-3)
    sm.set_output(True)
    assert sm.output_enabled()
    assert sm.dc_current() == pytest.approx(1e-3)
    r = sm.measure_resistance()
    assert 1.0 < r < 1e5
    assert bench.virtual.protocol_errors == []


def test_bench_file_with_sim_resources_opens_the_virtual_bench():
    with open_bench(EXAMPLES / "sim.toml") as b:
        assert b.simulated and b.header()["SIMULATED"] is True
        assert b.detector.identity()
        assert b.virtual.protocol_errors == []


def _exercise(role_name, r):
    """Call every method of the role wrapper once (writes followed by a query, so sockets are in sync)."""
    if role_name == "rf":
        r.set_frequency_GHz(7.5)
        r.set_power_dBm(-3.0)
        for mode, rate in (("pulse", 1000.0), ("am", 500.0), ("off", 0.0)):
            r.set_modulation(mode, rate)
        r.set_output(True)
        assert r.output_enabled() is True
        assert r.frequency_GHz() == pytest.approx(7.5)
        assert r.power_dBm() == pytest.approx(-3.0)
    elif role_name == "detector":
        r.set_time_constant(0.3)
        assert r.time_constant() == pytest.approx(0.3)
        r.set_sensitivity(0.01)
        assert r.sensitivity() >= 0.01
        assert r.settle_time() > 0
        assert all(math.isfinite(v) for v in r.read_xy())
        assert r.overloaded() is False  # no signal on the 10 mV range (overloads: below)
        r.set_phase(0.0)
        assert r.phase() == pytest.approx(0.0)
    elif role_name == "sourcemeter":
        r.set_dc_current(2e-3)
        r.set_output(True)
        assert r.output_enabled() is True
        assert r.dc_current() == pytest.approx(2e-3)
        assert 1.0 < r.measure_resistance() < 1e5
    assert r.identity()
    assert r.describe()


@pytest.mark.parametrize("transport", ["inprocess", "visa"])
@pytest.mark.parametrize("driver, role", [("SR860", "detector"), ("Keithley2182", "detector"),
                                          ("SMB100A", "rf"), ("SMF100A", "rf"), ("AnritsuMG3692C", "rf"),
                                          ("Keithley2450", "sourcemeter"), ("LakeShore425", "field")])
def test_other_drivers_on_the_virtual_bench(tmp_path, driver, role, transport):
    text = (EXAMPLES / "sim.toml").read_text()
    default = {"detector": "SR830", "rf": "Agilent8257D", "sourcemeter": "Keithley2400", "field": "LakeShore421"}[role]
    text = text.replace(f'driver = "{default}"', f'driver = "{driver}"')
    text = text.replace('transport = "inprocess"', f'transport = "{transport}"')
    path = tmp_path / "bench.toml"
    path.write_text(text)
    with open_bench(path) as b:
        _exercise(role, b.roles()[role])
        if role == "field":
            assert b.field.gaussmeter.instrument == "LakeShore425"
            assert math.isfinite(b.field.field_mT())
        assert b.virtual.protocol_errors == []


@pytest.mark.parametrize(
    "kind, expected",
    [("timeout", InstrumentTimeout), ("drop", InstrumentConnectionLost), ("garbled", InstrumentReplyError)],
)
def test_injected_adapter_faults_surface_typed_and_named(kind, expected):
    faults = {"fault": [{"kind": kind, "instrument": "SR830", "after_queries": 3, "count": 1}]}
    with open_simulated_bench("type-A", faults=faults) as b:
        with pytest.raises(expected) as info:
            for _ in range(20):
                b.detector.read_xy()
        assert info.value.role == "detector" and info.value.instrument == "SR830"
        assert info.value.address == "SIM::detector"


def test_cli_instruments_sim(capsys):
    assert main(["instruments", "--sim", "type-A"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SIMULATED bench")
    for role in ("rf", "detector", "field", "rotator", "sourcemeter"):
        line = next(line for line in out.splitlines() if line.startswith(role + " "))
        assert " OK " in line, line
    assert "all 5 roles answered" in out


def test_visa_transport_reaches_the_same_simulators():
    with open_simulated_bench("type-A", transport="visa") as b:
        assert b.header()["simulation"]["transport"] == "visa"
        assert b.rf.address.startswith("TCPIP::127.0.0.1::")
        b.rf.set_frequency_GHz(9.0)
        assert b.rf.frequency_GHz() == pytest.approx(9.0)
        x, y = b.detector.read_xy()
        assert math.isfinite(x)
        assert b.field.field_mT() == pytest.approx(b.field.field_mT(), abs=5.0)
        assert b.virtual.protocol_errors == []


def test_physics_faults_surface_through_the_roles():
    from stfmr.instruments.errors import DetectorOverload, StageError, SupplyTrip

    faults = {"fault": [{"kind": "overload", "instrument": "SR830"},
                        {"kind": "supply_trip", "instrument": "KepcoBOP3612", "after_s": 5.0},
                        {"kind": "stage_short", "instrument": "ESP300"}]}
    with open_simulated_bench("type-A", faults=faults) as b:
        seen_overload = False
        for _ in range(5):
            b.detector.read_xy()
            seen_overload |= b.detector.overloaded()
        assert seen_overload
        b.field.set_output(True)
        b.field.set_current(1.0)
        with pytest.raises(SupplyTrip) as info:
            for _ in range(20):
                b.clock.sleep(1.0)
                b.field.current()
        assert info.value.role == "field" and info.value.instrument == "KepcoBOP3612"
        b.rotator.move_to(90.0)
        b.clock.sleep(60.0)
        assert not b.rotator.is_moving()
        with pytest.raises(StageError, match="short"):
            b.rotator.check_reached()
    with open_simulated_bench("type-A", faults={"fault": [{"kind": "overload", "instrument": "SR830"}]}) as b:
        with pytest.raises(DetectorOverload, match="detector"):
            for _ in range(5):
                b.detector.check_overload()


def test_two_threads_share_a_role_over_a_socket_without_mixing_replies():
    import threading

    with open_simulated_bench("type-A", transport="visa") as b:
        det = b.detector
        det.set_time_constant(0.3)
        errors: list[BaseException] = []

        def poll_tau():
            try:
                for _ in range(150):
                    assert det.time_constant() == pytest.approx(0.3)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        thread = threading.Thread(target=poll_tau)
        thread.start()
        for _ in range(150):
            x, y = det.read_xy()
            assert math.isfinite(x) and math.isfinite(y)
        thread.join(timeout=30)
        assert not errors, errors[0]


def test_sim_server_bench_file_is_marked_simulated(tmp_path):
    """A bench file pointing at the loopback server opens like a real one; [bench] simulated marks its files."""
    from stfmr.instruments.bench import simulated_config
    from stfmr.instruments.sim.server import start_server

    _, virtual = simulated_config("type-A")
    server = start_server(virtual, ["Agilent8257D", "SR830", "KepcoBOP3612"])
    try:
        res = server.resources()
        text = (EXAMPLES / "lab.toml").read_text().split("[field.gaussmeter]")[0]
        text = text.replace('name = "ST-FMR bench (lab)"', 'name = "served"\nsimulated = true')
        text = text.replace('"GPIB0::19::INSTR"', f'"{res["Agilent8257D"]}"')
        text = text.replace('"GPIB0::8::INSTR"', f'"{res["SR830"]}"')
        text = text.replace('"GPIB0::6::INSTR"', f'"{res["KepcoBOP3612"]}"')
        text += (EXAMPLES / "lab.toml").read_text().split("[sourcemeter]")[1].split("\n\n", 1)[1]
        path = tmp_path / "served.toml"
        path.write_text(text)
        with open_bench(path) as b:
            assert b.virtual is None and b.simulated
            assert b.header()["SIMULATED"] is True
            assert b.detector.identity().startswith("Stanford")
    finally:
        server.stop()
