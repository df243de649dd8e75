"""Fits, torque efficiencies and the gradient drift-diffusion model. SI units inside; mT, GHz, dBm, degrees at the edges."""
