"""Simulated Lake Shore 421 and 425 gaussmeters reading the bench magnet's true field.

Both read ``bench.magnet.field_mT()`` (remanence and coil nonlinearity
included) through a Hall probe with a little Gaussian noise, in the unit the
meter is set to, on the selected range (auto-range by default), with the
display resolution of that range. Beyond the range the 421 answers ``OL``
(pymeasure turns it into NaN); the 425 is given the same
reply (an assumption: its manual's over-range reply was not at hand). Neither has a SCPI error
queue: a command they do not understand sets the command-error bit (32) of
the standard event register, read and cleared by ``*ESR?``.

Lake Shore 421 (pymeasure ``LakeShore421``): ``FIELD?`` answers the reading in
the unit (G or T) scaled by the multiplier that ``FIELDM?`` returns (``k``,
``m`` or empty), e.g. ``+1.234`` with ``k`` for 1.234 kG; ranges 0..3 are
30 kG, 3 kG, 300 G, 30 G for the standard (high-sensitivity) probe.
Lake Shore 425 (pymeasure ``LakeShore425``): ``RDGFIELD?`` answers the field in
the unit G/T/Oe/A/m (``UNIT`` 1..4) as ``+1.2345E+03``; ranges 1..4 are 35 G to 35 kG.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from stfmr.analysis.constants import MU0
from stfmr.instruments.sim.base import SimInstrument, rx

if TYPE_CHECKING:
    from stfmr.instruments.sim.bench import VirtualBench

Table = list[tuple[re.Pattern[str], Callable[..., "str | None"]]]

#: gauss per mT of mu0*H (in air B[G] = 10 * mu0*H[mT], H[Oe] has the same number)
G_PER_MT = 10.0


class _HallGaussmeter(SimInstrument):
    """Common part: probe noise, unit conversion, event register."""

    SEPARATOR = ";"
    UNKNOWN_ERROR = "command error"
    NO_ERROR = ""
    #: rms probe noise (G)
    NOISE_G: float = 0.02
    #: standard event register bit for a command error
    ESR_COMMAND_ERROR = 32

    def __init__(self, bench: VirtualBench) -> None:
        super().__init__(bench)
        self.auto = True
        self._defaults()

    def _defaults(self) -> None:
        """Power-on settings (also what *RST restores)."""
        self.auto = True

    def true_gauss(self) -> float:
        """Field seen by the probe (G), noise included."""
        return self.bench.magnet.field_mT() * G_PER_MT + float(self.bench.rng.normal(0.0, self.NOISE_G))

    def _esr(self) -> str:
        value = self.ESR_COMMAND_ERROR if self.errors else 0
        self.errors.clear()
        return str(value)


class SimLakeShore421(_HallGaussmeter):
    """Lake Shore 421 single-channel gaussmeter with a high-sensitivity probe."""

    MODEL = "LakeShore421"
    IDN = "LSCI,MODEL421,SIM0421,040500"
    #: full scale (G) of ranges 0..3 with the high-sensitivity probe
    RANGES_G = (30e3, 3e3, 300.0, 30.0)
    #: reply terminator of the real meter (pymeasure reads up to "\r")
    TERMINATION = "\r"

    def __init__(self, bench: VirtualBench) -> None:
        super().__init__(bench)
        self._table = self._build_table()

    def _defaults(self) -> None:
        self.auto = True
        self.unit = "G"
        self.range_index = 0
        self.fast = False
        self.acdc = 0
        self.filter = False
        self.lock = False
        self.brightness = 4

    def _active_range(self, gauss: float) -> int:
        if not self.auto:
            return self.range_index
        for index in range(len(self.RANGES_G) - 1, -1, -1):
            if abs(gauss) < self.RANGES_G[index]:
                self.range_index = index
                return index
        self.range_index = 0
        return 0

    def _reading(self) -> tuple[str, str]:
        """(number, multiplier) as FIELD? and FIELDM? answer them."""
        gauss = self.true_gauss()
        index = self._active_range(gauss)
        full_scale = self.RANGES_G[index]
        if abs(gauss) >= full_scale:
            return "OL", self._multiplier(full_scale)
        mult = self._multiplier(full_scale)
        value = gauss if self.unit == "G" else gauss * 1e-4
        scale = {"k": 1e3, "": 1.0, "m": 1e-3, "u": 1e-6}[mult]
        scaled = value / scale
        full = (full_scale if self.unit == "G" else full_scale * 1e-4) / scale
        decimals = max(0, 3 - int(math.floor(math.log10(full))))  # four significant digits at full scale
        return f"{scaled:+.{decimals}f}", mult

    def _multiplier(self, full_scale_G: float) -> str:
        if self.unit == "G":
            return "k" if full_scale_G >= 3e3 else ""
        tesla = full_scale_G * 1e-4
        return "" if tesla >= 3.0 else "m"

    def _field(self) -> str:
        return self._reading()[0]

    def _field_multiplier(self) -> str:
        gauss = self.bench.magnet.field_mT() * G_PER_MT
        return self._multiplier(self.RANGES_G[self._active_range(gauss)])

    def _set_unit(self, arg: str) -> None:
        word = arg.strip().upper()
        if word not in ("G", "T"):
            raise ValueError(arg)
        self.unit = word

    def _set_range(self, arg: str) -> None:
        index = int(arg)
        if index not in range(4):
            raise ValueError(arg)
        self.range_index = index
        self.auto = False

    def _flag(self, attr: str) -> Callable[[str], None]:
        def run(arg: str) -> None:
            if arg.strip() not in ("0", "1"):
                raise ValueError(arg)
            setattr(self, attr, arg.strip() == "1")

        return run

    def _build_table(self) -> Table:
        def q(attr: str) -> Callable[[], str]:
            return lambda: str(int(getattr(self, attr)))

        return [
            (rx(r"\*IDN\?"), lambda: self.IDN),
            (rx(r"\*RST"), self._defaults),
            (rx(r"\*CLS"), lambda: self.errors.clear()),
            (rx(r"\*ESR\?"), self._esr),
            (rx(r"\*OPC\?"), lambda: "1"),
            (rx(r"FIELD\?"), self._field),
            (rx(r"FIELDM\?"), self._field_multiplier),
            (rx(r"UNIT\?"), lambda: self.unit),
            (rx(r"UNIT\s+(\S+)"), self._set_unit),
            (rx(r"RANGE\?"), lambda: str(self._active_range(self.true_gauss()))),
            (rx(r"RANGE\s+(\S+)"), self._set_range),
            (rx(r"AUTO\?"), q("auto")),
            (rx(r"AUTO\s+(\S+)"), self._flag("auto")),
            (rx(r"FAST\?"), q("fast")),
            (rx(r"FAST\s+(\S+)"), self._flag("fast")),
            (rx(r"ACDC\?"), q("acdc")),
            (rx(r"ACDC\s+([01])"), lambda a: setattr(self, "acdc", int(a))),
            (rx(r"FILT\?"), q("filter")),
            (rx(r"FILT\s+(\S+)"), self._flag("filter")),
            (rx(r"LOCK\?"), q("lock")),
            (rx(r"LOCK\s+(\S+)"), self._flag("lock")),
            (rx(r"BRIGT\?"), q("brightness")),
            (rx(r"BRIGT\s+([0-7])"), lambda a: setattr(self, "brightness", int(a))),
            (rx(r"TYPE\?"), lambda: "0"),
            (rx(r"SNUM\?"), lambda: "SIMPROBE1"),
            (rx(r"ZCAL"), lambda: None),
        ]

    def handle(self, command: str) -> str | None:
        return self.dispatch(command, self._table)


class SimLakeShore425(_HallGaussmeter):
    """Lake Shore 425 gaussmeter (USB/serial) with its standard probe."""

    MODEL = "LakeShore425"
    IDN = "LSCI,MODEL425,SIM0425,1.4"
    UNITS = ("G", "T", "Oe", "A/m")
    #: full scale (G) of ranges 1..4
    RANGES_G = {1: 35.0, 2: 350.0, 3: 3500.0, 4: 35000.0}

    def __init__(self, bench: VirtualBench) -> None:
        super().__init__(bench)
        self._table = self._build_table()

    def _defaults(self) -> None:
        self.auto = True
        self.unit_index = 1
        self.range_index = 4
        self.mode = (1, 0, 1)

    def _active_range(self, gauss: float) -> int:
        if self.auto:
            for index in sorted(self.RANGES_G):
                if abs(gauss) < self.RANGES_G[index]:
                    self.range_index = index
                    break
            else:
                self.range_index = 4
        return self.range_index

    def _field(self) -> str:
        gauss = self.true_gauss()
        index = self._active_range(gauss)
        if abs(gauss) >= self.RANGES_G[index]:
            return "OL"
        unit = self.UNITS[self.unit_index - 1]
        if unit in ("G", "Oe"):
            value = gauss
        elif unit == "T":
            value = gauss * 1e-4
        else:  # A/m: H = B / mu0
            value = gauss * 1e-4 / MU0
        return f"{value:+.4E}"

    def _set_unit(self, arg: str) -> None:
        index = int(arg)
        if index not in range(1, 5):
            raise ValueError(arg)
        self.unit_index = index

    def _set_range(self, arg: str) -> None:
        index = int(arg)
        if index not in self.RANGES_G:
            raise ValueError(arg)
        self.range_index = index
        self.auto = False

    def _set_mode(self, a: str, b: str, c: str) -> None:
        mode = (int(a), int(b), int(c))
        if mode[0] not in (1, 2, 3) or mode[1] not in (0, 1) or mode[2] not in (1, 2):
            raise ValueError(mode)
        self.mode = mode

    def _build_table(self) -> Table:
        return [
            (rx(r"\*IDN\?"), lambda: self.IDN),
            (rx(r"\*RST"), self._defaults),
            (rx(r"\*CLS"), lambda: self.errors.clear()),
            (rx(r"\*ESR\?"), self._esr),
            (rx(r"\*OPC\?"), lambda: "1"),
            (rx(r"RDGFIELD\?"), self._field),
            (rx(r"UNIT\?"), lambda: str(self.unit_index)),
            (rx(r"UNIT\s+(\S+)"), self._set_unit),
            (rx(r"RANGE\?"), lambda: str(self._active_range(self.true_gauss()))),
            (rx(r"RANGE\s+(\S+)"), self._set_range),
            (rx(r"AUTO"), lambda: setattr(self, "auto", True)),
            (rx(r"RDGMODE\?"), lambda: ",".join(str(v) for v in self.mode)),
            (rx(r"RDGMODE\s+(\d+),\s*(\d+),\s*(\d+)"), self._set_mode),
            (rx(r"ZPROBE"), lambda: None),
        ]

    def handle(self, command: str) -> str | None:
        return self.dispatch(command, self._table)
