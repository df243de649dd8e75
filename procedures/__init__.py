"""Measurements as pymeasure Procedures, the safety layer and sequences."""
