"""Every role wrapper satisfies its role's Protocol: checked by mypy (tests/test_typing.py), never run.

As in ophyd's tests/test_bluesky_protocols.py, each assignment is a type error
if the wrapper lacks a member of the Protocol or has it with another signature.
A wrapper added to :mod:`stfmr.instruments.registry` must be assigned here too
(tests/test_typing.py checks that every registered wrapper is).
"""

from __future__ import annotations

from typing import Any

from stfmr.app.cmd_watchdog import SafetyBench
from stfmr.instruments.bench import Bench, BenchConfig
from stfmr.instruments.calibration import CoilCalibration, LinearCoilCalibration, TableCoilCalibration
from stfmr.instruments.clock import Clock, VirtualClock, WallClock
from stfmr.instruments.role_detector import Keithley2182Detector, SR830Detector, SR860Detector
from stfmr.instruments.role_field import GaussmeterRole, KepcoFieldControl
from stfmr.instruments.role_rf import Agilent8257DRf, AnritsuMG3692CRf, SMB100ARf
from stfmr.instruments.role_rotator import ESP300Rotator
from stfmr.instruments.role_sourcemeter import Keithley2400SourceMeter, Keithley2450SourceMeter
from stfmr.instruments.roles import (
    BenchLike,
    BenchOutline,
    Detector,
    FieldControl,
    FieldOutline,
    Gaussmeter,
    GuardedBench,
    RfSource,
    Rotator,
    SourceMeter,
)
from stfmr.procedures.plan_check import PlanBench, PlannedField

ADDRESS = "GPIB0::1::INSTR"


def rf_sources(driver: Any) -> None:
    rf: RfSource = Agilent8257DRf(driver, ADDRESS)
    rf = AnritsuMG3692CRf(driver, ADDRESS)
    rf = SMB100ARf(driver, ADDRESS)


def detectors(driver: Any) -> None:
    detector: Detector = SR830Detector(driver, ADDRESS)
    detector = SR860Detector(driver, ADDRESS)
    detector = Keithley2182Detector(driver, ADDRESS)


def field_controls(driver: Any, calibration: CoilCalibration) -> None:
    gaussmeter: Gaussmeter = GaussmeterRole(driver, ADDRESS)
    field: FieldControl = KepcoFieldControl(driver, ADDRESS, calibration, gaussmeter=GaussmeterRole(driver, ADDRESS))
    outline: FieldOutline = field


def rotators(driver: Any) -> None:
    rotator: Rotator = ESP300Rotator(driver, ADDRESS)


def sourcemeters(driver: Any) -> None:
    sourcemeter: SourceMeter = Keithley2400SourceMeter(driver, ADDRESS)
    sourcemeter = Keithley2450SourceMeter(driver, ADDRESS)


def coil_calibrations(table: TableCoilCalibration) -> None:
    calibration: CoilCalibration = LinearCoilCalibration(40.0)
    calibration = table


def clocks() -> None:
    clock: Clock = WallClock()
    clock = VirtualClock()


def benches(config: BenchConfig, roles: dict[str, Any], calibration: CoilCalibration) -> None:
    bench: BenchLike = Bench(config, roles, WallClock())
    opened: BenchOutline = bench  # an opened bench can be checked as a plan's outline
    guarded: GuardedBench = bench
    watchdog: GuardedBench = SafetyBench(config, roles, [])  # the safety roles alone, for the watchdog
    planned: BenchOutline = PlanBench(config.limits, PlannedField(calibration, gaussmeter=True))
    field: FieldOutline = PlannedField(calibration, gaussmeter=False)
