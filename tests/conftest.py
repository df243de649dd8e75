"""Shared test configuration: Qt offscreen, deterministic random numbers."""

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator so that every noisy test is reproducible."""
    return np.random.default_rng(20240520)
