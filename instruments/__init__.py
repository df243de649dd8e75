"""Instrument roles, pymeasure drivers, bench files and the simulated bench."""
