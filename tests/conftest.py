"""Fixtures shared by the test files."""
import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded generator, so that every run of a test sees the same random inputs."""
    return np.random.default_rng(20240611)
