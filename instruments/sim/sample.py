"""The virtual sample: the physics every simulated instrument reads.

A VirtualSample holds the true material and device parameters of an ST-FMR
microstrip (docs/physics.md §8) and computes what the bench would measure:
the dc mixing voltage from the exact LLG linear response
(:mod:`stfmr.instruments.sim.llg`, never the closed forms of the analysis),
the resistance with AMR and Joule heating, and the rf current reaching the
device. Presets live in ``presets/*.toml``; a user sample file has the same
flat keys (see ``presets/type-A.toml``), unknown or missing keys are refused
by name.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from stfmr.analysis.constants import TWO_E_OVER_HBAR, dBm_to_W
from stfmr.analysis.toml_schema import TableReader
from stfmr.instruments.sim.llg import MagnetParams, mixing_voltage, transverse_response

PRESET_DIR = Path(__file__).with_name("presets")


class SampleFileError(ValueError):
    """A sample file or table that cannot describe a sample; the message names the key."""


#: how sample files are read: "sample key 'alpha' must be positive, got -0.1"
READER = TableReader(
    SampleFileError,
    label="sample key {key!r}",
    sep=" ",
    unknown="unknown sample key(s) {keys}; allowed: {allowed}",
    missing="missing sample key(s) {keys}",
    not_table="{where} must be a table of keys, got {type}",
)
_STRINGS = ("name", "stack")
_POSITIVE = ("mu0_Meff_T", "g", "alpha", "R_perp_Ohm", "length_um", "width_um", "resistivity_uOhm_cm", "Ms_t_A",
             "rf_I0_per_sqrtW_A", "rf_rolloff_GHz")
_NON_NEGATIVE = ("mu0_dH0_mT", "delta_R_amr_Ohm", "heating_k_Ohm_per_A2", "noise_density_V_per_rtHz",
                 "mode2_mu0_Meff_T", "mode2_fraction")


@dataclass(frozen=True)
class VirtualSample:
    """True parameters of a simulated device (units in the names; SI unless stated).

    name, stack: labels. mu0_Meff_T: mu0*M_eff (T). g: g-factor. alpha: Gilbert
    damping. mu0_dH0_mT: inhomogeneous half width (mT). R_perp_Ohm,
    delta_R_amr_Ohm: R(phi) = R_perp + Delta_R*cos^2(phi). length_um,
    width_um: strip between contacts. resistivity_uOhm_cm: for xi^j.
    Ms_t_A: M_s*t_FM (A). xi_DL_E, xi_FL_E: torque efficiencies per electric
    field (Ohm^-1 m^-1; FL includes the Oersted field). rf_I0_per_sqrtW_A:
    peak rf current per sqrt(source power in W) at low frequency;
    rf_rolloff_GHz: 3 dB frequency of the transmission, I0 ~ 1/sqrt(1+(f/fc)^2).
    heating_k_Ohm_per_A2: R = R0 + k*I^2 (I rms or dc). noise_density_V_per_rtHz:
    white voltage noise at the detector input. thermal_offset_V_per_W:
    field-independent (non-reversing) voltage per W of rf power.
    detection_phase_deg: phase of the signal at the lock-in input (cables, bias tee).
    resonant_thermal_V_per_rad2: thermoelectric voltage of resonant heating, proportional
    to the squared in-plane precession angle |m2|^2 (V/rad^2); it has the symmetric
    lineshape and the same sign on both field branches (it does not reverse with H).
    mode2_mu0_Meff_T, mode2_fraction: a second, uncoupled mode (a graded film's other
    part) with its own mu0*M_eff (T), carrying mode2_fraction of the signal (0: one mode).
    """

    name: str
    stack: str
    mu0_Meff_T: float
    g: float
    alpha: float
    mu0_dH0_mT: float
    R_perp_Ohm: float
    delta_R_amr_Ohm: float
    length_um: float
    width_um: float
    resistivity_uOhm_cm: float
    Ms_t_A: float
    xi_DL_E: float
    xi_FL_E: float
    rf_I0_per_sqrtW_A: float
    rf_rolloff_GHz: float
    heating_k_Ohm_per_A2: float
    noise_density_V_per_rtHz: float = 0.0
    thermal_offset_V_per_W: float = 0.0
    detection_phase_deg: float = 0.0
    resonant_thermal_V_per_rad2: float = 0.0
    mode2_mu0_Meff_T: float = 0.0
    mode2_fraction: float = 0.0

    def __post_init__(self) -> None:
        values = READER.table(asdict(self), "sample")
        for f in fields(self):
            if f.name in _STRINGS:
                values.string(f.name)
            elif f.name in _POSITIVE:
                values.positive(f.name)
            elif f.name in _NON_NEGATIVE:
                values.non_negative(f.name)
            else:
                values.number(f.name)
        if self.mode2_fraction >= 1:
            raise values.fail("mode2_fraction", f"must be below 1, got {self.mode2_fraction!r}")
        if self.mode2_fraction > 0 and self.mode2_mu0_Meff_T <= 0:
            raise values.fail("mode2_mu0_Meff_T", "must be > 0 when mode2_fraction is set")

    # -- construction ---------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VirtualSample:
        """Build from flat keys; unknown and missing keys are named in the error."""
        table = READER.table(data, "a sample")
        table.check_keys([f.name for f in fields(cls)], required=[f.name for f in fields(cls) if f.default is MISSING])
        values: dict[str, Any] = {k: (float(v) if isinstance(v, int) and not isinstance(v, bool) else v)
                                  for k, v in data.items()}
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> VirtualSample:
        """Read a sample TOML file (flat keys as in the presets)."""
        data = READER.load(path)
        try:
            return cls.from_dict(data)
        except SampleFileError as exc:
            raise SampleFileError(f"{path}: {exc}") from exc

    @classmethod
    def preset(cls, name: str) -> VirtualSample:
        """Return a preset sample: "type-A", "type-B" or "reference"."""
        path = PRESET_DIR / f"{name}.toml"
        if not path.is_file():
            raise SampleFileError(f"no sample preset {name!r}; presets: {', '.join(preset_names())}")
        return cls.from_file(path)

    def to_dict(self) -> dict[str, Any]:
        """All parameters as flat keys (the sample-file format)."""
        return asdict(self)

    # -- derived truth --------------------------------------------------
    def magnet_params(self) -> MagnetParams:
        """Dynamic parameters for the LLG."""
        return MagnetParams(self.mu0_Meff_T, self.g, self.alpha, self.mu0_dH0_mT * 1e-3)

    @property
    def length_m(self) -> float:
        return self.length_um * 1e-6

    def field_per_ampere_T(self) -> tuple[float, float]:
        """(B_DL, B_FL) per ampere through the device (T/A): B = xi*E*(hbar/2e)/(Ms*t), E = I*R/L."""
        e_per_a = self.R_perp_Ohm / self.length_m
        scale = e_per_a / (TWO_E_OVER_HBAR * self.Ms_t_A)
        return self.xi_DL_E * scale, self.xi_FL_E * scale

    def rf_transmission(self, freq_GHz: float) -> float:
        """Peak rf current per sqrt(source power in W) at freq_GHz (A/sqrt(W))."""
        return self.rf_I0_per_sqrtW_A / math.sqrt(1.0 + (freq_GHz / self.rf_rolloff_GHz) ** 2)

    def I0_A(self, freq_GHz: float, power_dBm: float) -> float:
        """Peak rf current in the device (A) at freq_GHz and source power power_dBm."""
        return self.rf_transmission(freq_GHz) * math.sqrt(float(dBm_to_W(power_dBm)))

    def heating_c_Ohm_per_W(self, freq_GHz: float) -> float:
        """Resistance rise per W of source power at freq_GHz: c = k*I0^2/(2P) (equal-heating truth)."""
        return self.heating_k_Ohm_per_A2 * self.rf_transmission(freq_GHz) ** 2 / 2.0

    def modes(self) -> list[tuple[MagnetParams, float]]:
        """The sample's modes for the LLG and the share of the signal each carries."""
        main = self.magnet_params()
        if self.mode2_fraction == 0:
            return [(main, 1.0)]
        second = MagnetParams(self.mode2_mu0_Meff_T, self.g, self.alpha, self.mu0_dH0_mT * 1e-3)
        return [(main, 1.0 - self.mode2_fraction), (second, self.mode2_fraction)]

    def mixing_voltage(self, field_mT: Any, freq_GHz: float, power_dBm: float, phi_deg: float,
                       I_dc_A: float = 0.0) -> Any:
        """True dc voltage (V) with cw rf: the mixing voltage <I R> from the exact LLG linear response.

        field_mT: mu0*H (mT), scalar or array, sign picks the branch. I_dc_A: dc current
        through the device (A); its torques change the damping and the resonance field.
        Includes the non-reversing thermal voltages (the field-independent offset and the
        resonant heating). No lock-in factor, no setup polarity.
        """
        b_dl, b_fl = self.field_per_ampere_T()
        field_T = np.asarray(field_mT, dtype=float) * 1e-3
        freq_Hz, phi_rad, i0 = freq_GHz * 1e9, math.radians(phi_deg), self.I0_A(freq_GHz, power_dBm)
        v = np.zeros_like(field_T)
        for magnet, share in self.modes():
            v = v + share * mixing_voltage(field_T, freq_Hz, phi_rad, i0, self.delta_R_amr_Ohm,
                                           b_dl, b_fl, magnet, I_dc_A)
            if self.resonant_thermal_V_per_rad2:
                m2 = transverse_response(field_T, freq_Hz, phi_rad, b_dl * i0, b_fl * i0, magnet,
                                         b_dl * I_dc_A, b_fl * I_dc_A)
                v = v + share * self.resonant_thermal_V_per_rad2 * np.abs(m2) ** 2
        return v + self.thermal_offset_V_per_W * float(dBm_to_W(power_dBm))

    def resistance(self, phi_deg: float, I_dc_A: float = 0.0, power_dBm: float = -200.0,
                   freq_GHz: float = 10.0, rf_on: bool = False, rf_duty: float = 1.0) -> float:
        """Device resistance (Ohm): AMR at phi_deg plus Joule heating by I_dc and the rf current.

        rf_duty: time-averaged rf power relative to cw (0.5 under on/off pulses, 1 + d^2/2 under AM).
        """
        r = self.R_perp_Ohm + self.delta_R_amr_Ohm * math.cos(math.radians(phi_deg)) ** 2
        heat_A2 = I_dc_A**2
        if rf_on:
            heat_A2 += rf_duty * self.I0_A(freq_GHz, power_dBm) ** 2 / 2.0
        return r + self.heating_k_Ohm_per_A2 * heat_A2

    def metadata(self) -> Any:
        """Sample metadata for run headers: SampleMetadata if available, else the same keys as a dict."""
        data = {
            "name": self.name,
            "Ms_t_A": self.Ms_t_A,
            "Ms_t_stderr_A": 0.0,
            "resistivity_uOhm_cm": self.resistivity_uOhm_cm,
            "length_um": self.length_um,
            "width_um": self.width_um,
            "stack": self.stack,
            "setup_polarity": 1,
        }
        try:
            from stfmr.analysis.sample import SampleMetadata
        except ImportError:
            return data
        return SampleMetadata.from_dict(data)


def preset_names() -> list[str]:
    """Names of the packaged presets."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))
