"""Signal quality: stretches of a record too disturbed to read.

A second is unreadable when the lead has lost the signal or drowns it. It
is constant (a dropout); or it is flat in the QRS band (5-40 Hz content
under 0.05 mV, or a tenth of the record's typical, peak to peak) within a
flat run whose level somewhere left the record's usual baseline (a
saturated amplifier drifting back); or its QRS-band content is far above
the record's typical one (motion artefact, electrode pops). Three or more
unreadable seconds in a row make a noise span, two where the signal was
lost.

A flat second at the usual baseline is not unreadable: that is what
asystole looks like, and a pause must never be hidden as noise. A lead
that goes flat without moving off its baseline therefore reads as a pause,
the safer mistake.
"""

from __future__ import annotations

import numpy as np

from ecgtool.signal.filters import moving_mean


def noise_spans(ecg: np.ndarray, fs: float, flat_mv: float = 0.05, flat_rel: float = 0.1,
                shift_mv: float = 1.0, loud: float = 4.0, min_s: float = 3.0,
                min_lost_s: float = 2.0) -> list[tuple[float, float]]:
    """Unreadable stretches as ``(start_s, end_s)`` pairs.

    Parameters
    ----------
    ecg : numpy.ndarray
        One lead in mV (NaNs count as unreadable).
    fs : float
        Sampling rate (Hz).
    flat_mv, flat_rel : float
        A second whose 5-40 Hz peak-to-peak is below ``flat_mv`` or
        ``flat_rel`` times the record's median is flat.
    shift_mv : float
        A run of flat seconds is unreadable when the mean of one of them, or
        of the second before it, lies further than this from the record's
        median level.
    loud : float
        A second whose 5-40 Hz peak-to-peak exceeds this many times the
        record's median is an artefact.
    min_s, min_lost_s : float
        Shortest span reported; shortest where the signal was lost (a
        saturated amplifier).

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
    seconds = x[: n * sec].reshape(n, sec)
    constant = np.ptp(seconds, axis=1) == 0
    quiet = amp < flat_mv
    typical = np.median(amp[~quiet]) if (~quiet).any() else 0.0
    flat = quiet | (amp < flat_rel * typical)
    level = seconds.mean(axis=1)
    shifted = np.abs(level - np.median(level)) > shift_mv
    # A flat stretch is lost signal when its level left the baseline in it or
    # in the second that led into it (the amplifier jumps to its rail, then
    # drifts back through the baseline).
    run = np.cumsum(np.concatenate([[True], flat[1:] != flat[:-1]]))
    led_in = np.concatenate([[False], shifted[:-1]])
    lost = flat & np.isin(run, run[flat & (shifted | led_in)])
    artefact = amp > loud * typical if typical > 0 else np.zeros(n, bool)
    bad = constant | lost | artefact | bad_nan
    spans = []
    d = np.diff(np.concatenate([[0], bad.astype(np.int8), [0]]))
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
        # Lost signal is plain to see: two seconds of it are enough.
        if b - a >= min_s or (b - a >= min_lost_s and lost[a:b].any()):
            spans.append((float(a), float(b)))
    return spans
