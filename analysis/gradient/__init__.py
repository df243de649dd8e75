"""Drift-diffusion model of self-induced spin-orbit torques in graded ferromagnets."""
