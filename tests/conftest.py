"""Shared fixtures: the bundled samples, and the full data set when it is present."""

from __future__ import annotations

import pytest

from ecgtool.io.inputs import data_dir
from ecgtool.io.records import read_sample

# How a test fixture was made (it needs ishneholterlib): not a test.
collect_ignore = ["data/make_ishne_fixture.py"]


@pytest.fixture(scope="session")
def rec119():
    return read_sample("119")


@pytest.fixture(scope="session")
def rec208():
    return read_sample("208")


@pytest.fixture(scope="session")
def data():
    """Root of the PhysioNet databases ($ECGTOOL_DATA); skips the test when absent."""
    root = data_dir()
    if root is None or not (root / "mitdb").is_dir():
        pytest.skip("full PhysioNet data not found: set ECGTOOL_DATA to the folder that "
                    "holds mitdb/, nstdb/, qtdb/ ... (see README)")
    return root
