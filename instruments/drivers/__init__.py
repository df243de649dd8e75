"""Drivers stfmr writes for instruments pymeasure lacks, in pymeasure's declarative style."""
