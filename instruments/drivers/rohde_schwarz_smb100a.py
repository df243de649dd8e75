"""Rohde & Schwarz SMB100A / SMF100A microwave signal generators.

A declarative pymeasure driver written to pymeasure's standard (strict
validators, Control/Get/Measure docstrings) so that it could go upstream;
pymeasure 0.16 has no driver for these generators.

SCPI subset used (R&S SMB100A operating manual, "Remote Control Commands"):

- ``SOUR:FREQ`` (Hz), ``SOUR:POW`` (dBm), ``OUTP`` (0/1)
- pulse modulation: ``SOUR:PULM:STAT``, ``SOUR:PULM:SOUR`` (INT/EXT),
  ``SOUR:PULM:PER`` and ``SOUR:PULM:WIDT`` (s) of the internal pulse generator
- amplitude modulation: ``SOUR:AM:STAT``, ``SOUR:AM:SOUR`` (INT/EXT),
  ``SOUR:AM:DEPT`` (%), ``SOUR:LFO:FREQ`` (Hz, the internal LF generator)
- ``*IDN?``, ``*RST``, ``*CLS`` and the error queue ``SYST:ERR?`` (SCPIMixin)
"""

from __future__ import annotations

from pymeasure.instruments import Instrument, SCPIMixin
from pymeasure.instruments.validators import strict_discrete_set, strict_range

_ON_OFF = {True: 1, False: 0}


class RohdeSchwarzSMB100A(SCPIMixin, Instrument):
    """Rohde & Schwarz SMB100A microwave signal generator.

    .. code-block:: python

        gen = RohdeSchwarzSMB100A("TCPIP::192.168.1.20::inst0::INSTR")
        gen.frequency = 10e9             # Hz
        gen.power = -5                   # dBm
        gen.configure_pulse_modulation(1e3)  # on/off square wave at 1 kHz
        gen.output_enabled = True

    Frequency and power limits are those of the widest SMB100A option
    (9 kHz to 40 GHz, -145 to +30 dBm); values outside are refused, never clipped.
    """

    FREQUENCY_RANGE_HZ = (9e3, 40e9)
    POWER_RANGE_DBM = (-145.0, 30.0)

    def __init__(self, adapter, name: str = "Rohde&Schwarz SMB100A", **kwargs) -> None:
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        super().__init__(adapter, name, **kwargs)

    frequency = Instrument.control(
        "SOUR:FREQ?", "SOUR:FREQ %.3f",
        """Control the CW output frequency in Hz (float, strictly within the instrument range).""",
        validator=strict_range,
        values=FREQUENCY_RANGE_HZ,
        dynamic=True,
    )

    power = Instrument.control(
        "SOUR:POW?", "SOUR:POW %.2f",
        """Control the output level in dBm (float, strictly within the instrument range).""",
        validator=strict_range,
        values=POWER_RANGE_DBM,
        dynamic=True,
    )

    output_enabled = Instrument.control(
        "OUTP?", "OUTP %d",
        """Control whether the RF output is on (bool).""",
        validator=strict_discrete_set,
        values=_ON_OFF,
        map_values=True,
    )

    # Pulse modulation

    pulse_modulation_enabled = Instrument.control(
        "SOUR:PULM:STAT?", "SOUR:PULM:STAT %d",
        """Control whether pulse modulation is on (bool).""",
        validator=strict_discrete_set,
        values=_ON_OFF,
        map_values=True,
    )

    pulse_source = Instrument.control(
        "SOUR:PULM:SOUR?", "SOUR:PULM:SOUR %s",
        """Control the pulse modulation source, 'internal' (pulse generator) or 'external' (str).""",
        validator=strict_discrete_set,
        values={"internal": "INT", "external": "EXT"},
        map_values=True,
    )

    pulse_period = Instrument.control(
        "SOUR:PULM:PER?", "SOUR:PULM:PER %.6e",
        """Control the period of the internal pulse generator in s (float, 20 ns to 100 s).""",
        validator=strict_range,
        values=(20e-9, 100.0),
    )

    pulse_width = Instrument.control(
        "SOUR:PULM:WIDT?", "SOUR:PULM:WIDT %.6e",
        """Control the pulse width of the internal pulse generator in s (float, 5 ns to 100 s).""",
        validator=strict_range,
        values=(5e-9, 100.0),
    )

    # Amplitude modulation

    am_enabled = Instrument.control(
        "SOUR:AM:STAT?", "SOUR:AM:STAT %d",
        """Control whether amplitude modulation is on (bool).""",
        validator=strict_discrete_set,
        values=_ON_OFF,
        map_values=True,
    )

    am_source = Instrument.control(
        "SOUR:AM:SOUR?", "SOUR:AM:SOUR %s",
        """Control the AM source, 'internal' (LF generator) or 'external' (str).""",
        validator=strict_discrete_set,
        values={"internal": "INT", "external": "EXT"},
        map_values=True,
    )

    am_depth = Instrument.control(
        "SOUR:AM:DEPT?", "SOUR:AM:DEPT %.1f",
        """Control the AM depth in percent (float, 0 to 100).""",
        validator=strict_range,
        values=(0.0, 100.0),
    )

    lf_frequency = Instrument.control(
        "SOUR:LFO:FREQ?", "SOUR:LFO:FREQ %.6g",
        """Control the frequency of the internal LF generator (AM source) in Hz (float, 0.1 Hz to 1 MHz).""",
        validator=strict_range,
        values=(0.1, 1e6),
    )

    def configure_pulse_modulation(self, rate_Hz: float, duty: float = 0.5) -> None:
        """Set an internal on/off pulse train at rate_Hz (Hz) with the given duty cycle and switch it on.

        On/off modulation at 50 % duty is what lock-in ST-FMR uses: the lock-in's
        X is then (sqrt(2)/pi) times the dc mixing voltage.
        """
        if not 0.0 < duty < 1.0:
            raise ValueError(f"pulse duty cycle must be between 0 and 1 (exclusive), got {duty}")
        if rate_Hz <= 0:
            raise ValueError(f"pulse rate must be positive, got {rate_Hz} Hz")
        period = 1.0 / rate_Hz
        self.pulse_source = "internal"
        self.pulse_period = period
        self.pulse_width = period * duty
        self.am_enabled = False
        self.pulse_modulation_enabled = True

    def configure_amplitude_modulation(self, rate_Hz: float, depth_percent: float = 100.0) -> None:
        """Set internal sine AM at rate_Hz (Hz) and depth_percent (%) and switch it on."""
        self.am_source = "internal"
        self.lf_frequency = rate_Hz
        self.am_depth = depth_percent
        self.pulse_modulation_enabled = False
        self.am_enabled = True

    def disable_modulation(self) -> None:
        """Switch pulse and amplitude modulation off."""
        self.pulse_modulation_enabled = False
        self.am_enabled = False

    def shutdown(self) -> None:
        """Switch the RF output and every modulation off."""
        self.output_enabled = False
        self.disable_modulation()
        super().shutdown()


class RohdeSchwarzSMF100A(RohdeSchwarzSMB100A):
    """Rohde & Schwarz SMF100A: same command set, 100 kHz to 43.5 GHz, -130 to +30 dBm."""

    def __init__(self, adapter, name: str = "Rohde&Schwarz SMF100A", **kwargs) -> None:
        super().__init__(adapter, name, **kwargs)
        self.frequency_values = (100e3, 43.5e9)
        self.power_values = (-130.0, 30.0)
