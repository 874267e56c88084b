"""What the writers' round-trip tests write: random records of any shape."""

import numpy as np
from hypothesis import strategies as st

from ecgtool.io.records import Record

#: Lengths, lead counts, amplitudes (mV), shares of NaN and seeds to draw from.
SHAPES = (st.integers(1, 700), st.integers(1, 3), st.sampled_from([1e-3, 1.0, 20.0, 40.0, 1e3]),
          st.floats(0.0, 0.5), st.integers(0, 2**32 - 1))


def random_record(n: int, leads: int, scale: float, nan_share: float, seed: int) -> Record:
    """``n`` samples of ``leads`` leads of noise at ``scale`` mV, 250 Hz, with
    about ``nan_share`` of the samples NaN."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, scale, (n, leads))
    x[rng.random((n, leads)) < nan_share] = np.nan
    return Record("r", x, 250.0, [f"L{k}" for k in range(leads)])
