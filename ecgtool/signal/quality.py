"""Signal quality: stretches of a record too disturbed to read.

A second is unreadable when the lead is flat in the QRS band (5-40 Hz
content under 0.05 mV peak to peak: disconnected electrode, saturated
amplifier drifting back) or when that content is far above the record's
typical one (motion artefact, electrode pops). Three or more unreadable
seconds in a row make a noise span.
"""

from __future__ import annotations

import numpy as np

from ecgtool.signal.filters import moving_mean


def noise_spans(ecg: np.ndarray, fs: float, flat_mv: float = 0.05, loud: float = 4.0,
                min_s: float = 3.0) -> list[tuple[float, float]]:
    """Unreadable stretches as ``(start_s, end_s)`` pairs.

    Parameters
    ----------
    ecg : numpy.ndarray
        One lead in mV (NaNs count as unreadable).
    fs : float
        Sampling rate (Hz).
    flat_mv : float
        A second whose 5-40 Hz peak-to-peak is below this is flat.
    loud : float
        A second whose 5-40 Hz peak-to-peak exceeds this many times the
        record's median is an artefact.
    min_s : float
        Shortest span reported.

    Examples
    --------
    >>> x = np.zeros(36000); x[180::360] = 1.0   # one spike a second
    >>> x[7200:10800] = 0.0                     # 10 s without signal
    >>> noise_spans(x, 360.0)
    [(20.0, 30.0)]
    """
    x = np.asarray(ecg, dtype=np.float64)
    sec = int(round(fs))
    n = x.size // sec
    if n == 0:
        return []
    bad_nan = ~np.isfinite(x[: n * sec]).reshape(n, sec).all(axis=1)
    x = np.where(np.isfinite(x), x, 0.0)
    # 5-40 Hz: a short moving mean minus a long one.
    band = moving_mean(x, max(1, int(fs / 80))) - moving_mean(x, max(1, int(fs / 10)))
    amp = np.ptp(band[: n * sec].reshape(n, sec), axis=1)
    flat = amp < flat_mv
    typical = np.median(amp[~flat]) if (~flat).any() else 0.0
    artefact = amp > loud * typical if typical > 0 else np.zeros(n, bool)
    bad = flat | artefact | bad_nan
    spans = []
    d = np.diff(np.concatenate([[0], bad.astype(np.int8), [0]]))
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
        if b - a >= min_s:
            spans.append((float(a), float(b)))
    return spans
