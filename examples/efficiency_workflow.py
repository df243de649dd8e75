"""The efficiency workflow end to end on synthetic data from a virtual sample preset.

    python examples/efficiency_workflow.py [type-A|type-B|reference]

Spectra come from the exact LLG response of the preset (plus noise), never
from the analysis' closed forms. Steps: spectrum fits over frequency -> Kittel
and damping; spectrum fits over angle -> angular fit of V_S, V_A; AMR;
rf-current calibration (Tshitoyan); then the absolute-method efficiencies with
propagated uncertainties, printed as JSON next to the preset's values.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from stfmr.analysis.angular import fit_angular
from stfmr.analysis.calibration import calibrate_rf_current, fit_amr
from stfmr.analysis.efficiency import efficiencies_from_fits
from stfmr.analysis.resonance import fit_damping, fit_kittel, resonance_field_mT
from stfmr.analysis.spectrum_fit import SpectrumFitError, fit_spectrum
from stfmr.instruments.sim.sample import VirtualSample

FREQ_GHZ, POWER_DBM, NOISE_V = 10.0, 10.0, 2e-8


def spectrum(sample: VirtualSample, freq_GHz: float, phi_deg: float, rng: np.random.Generator):
    """Fit one noisy LLG spectrum centred on the Kittel field."""
    h_r = resonance_field_mT(freq_GHz, sample.mu0_Meff_T, sample.g)
    field = np.linspace(max(h_r - 40.0, 0.2 * h_r), h_r + 40.0, 201)
    volts = sample.mixing_voltage(field, freq_GHz, POWER_DBM, phi_deg) + rng.normal(0, NOISE_V, field.size)
    return fit_spectrum(field, volts)


def main(preset: str = "type-A") -> dict:
    rng = np.random.default_rng(1)
    sample = VirtualSample.preset(preset)
    freqs = np.arange(4.0, 15.0, 2.0)
    fits = [spectrum(sample, f, 45.0, rng) for f in freqs]
    kittel = fit_kittel(freqs, [f.values["H_r"] for f in fits], sigma_mT=[f.stderr["H_r"] for f in fits])
    damping = fit_damping(freqs, [f.values["dH"] for f in fits], g=kittel.values["g"], sigma_mT=[f.stderr["dH"] for f in fits])

    angles, v_s, v_a = [], [], []
    for phi in np.arange(10.0, 360.0, 20.0):
        try:
            fit = spectrum(sample, FREQ_GHZ, phi, rng)
        except SpectrumFitError:  # a weak-signal angle: skip it, as an analyst would
            continue
        angles.append(phi)
        v_s.append(fit.values["V_S"])
        v_a.append(fit.values["V_A"])
    angular = fit_angular(angles, v_s, v_a, fit_offset=True)

    phis = np.arange(0.0, 360.0, 10.0)
    amr = fit_amr(phis, [sample.resistance(p) + rng.normal(0, 1e-3) for p in phis])
    i_dc = np.linspace(-2e-3, 2e-3, 9)
    powers = np.arange(0.0, 16.0, 3.0)
    cal = calibrate_rf_current(
        i_dc * 1e3,
        [sample.resistance(90.0, I_dc_A=i) + rng.normal(0, 1e-3) for i in i_dc],
        powers,
        [sample.resistance(90.0, power_dBm=p, freq_GHz=FREQ_GHZ, rf_on=True) + rng.normal(0, 1e-3) for p in powers],
        freq_GHz=FREQ_GHZ,
    )
    # the virtual sample defines E = I_0*R_perp/L, so R_perp is the device resistance here
    eff = efficiencies_from_fits(
        angular=angular, spectrum=fits[list(freqs).index(FREQ_GHZ)], kittel=kittel, I0_A=cal.I0(POWER_DBM),
        amr=amr, R_Ohm=amr.ufloats()["R_perp_Ohm"], sample=sample.metadata(),
    )
    return {
        "preset": {"xi_DL_E": sample.xi_DL_E, "xi_FL_Oe_E": sample.xi_FL_E, "mu0_Meff_T": sample.mu0_Meff_T, "alpha": sample.alpha},
        "kittel": kittel.to_dict(),
        "damping": damping.to_dict(),
        "angular": angular.to_dict(),
        "I0_A": cal.to_dict(POWER_DBM)["I0_A"],
        "efficiencies": eff.to_dict(),
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:2]), indent=1))
