"""Signal quality: stretches of a record too disturbed to read.

A second is unreadable when the lead has lost the signal or drowns it. It
is constant (a dropout); or it is flat in the QRS band (5-40 Hz content
under 0.05 mV, or a tenth of the record's typical, peak to peak) within a
flat run whose level somewhere left the record's usual baseline (a
saturated amplifier drifting back); or its QRS-band content is far above
the record's typical one (motion artefact, electrode pops); or it is not
an ECG at all (:func:`interference`): broadband noise, or, where it fills
the record, mains hum with nothing under it, which is what a lead off the
body records. Three or more
unreadable seconds in a row make a noise span, two where the signal was
lost.

The first rules compare each second with the rest of the record, so they
cannot flag a record that is noise from start to end; the spectral rule can,
since every ECG, ventricular flutter and fibrillation included, keeps its
power below 40 Hz.

A flat second at the usual baseline is not unreadable: that is what
asystole looks like, and a pause must never be hidden as noise. A lead
that goes flat without moving off its baseline therefore reads as a pause,
the safer mistake.
"""

from __future__ import annotations

import numpy as np

from ecgtool.signal.filters import moving_mean


#: A second is broadband noise when its power density above 40 Hz is at
#: least this share of its density at 1-40 Hz (white noise: 1). On 295
#: records of MIT-BIH, nstdb, SVDB, CPSC 2021, QTDB, PTB, CinC 2021 and
#: LUDB the highest in 3 seconds running was 0.13 (muscle noise in 104).
HF_DENSITY = 0.5
#: A second is mains hum alone when less than this share of its power
#: lies off the mains lines (a lead with a heart under it: 30 % and more).
MAINS_ALONE = 0.02
#: Hum alone is unreadable where this share of the record's seconds is (of
#: the half-hour block, for a long record read in blocks).
HUM_RECORD = 0.9


def interference(seconds: np.ndarray, fs: float, hf_density: float = HF_DENSITY,
                 mains_alone: float = MAINS_ALONE) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of ``seconds`` (one second of signal each) hold no ECG:
    ``(broadband, hum)``, True where the second is broadband noise (and not
    hum), and where it is mains hum (50 or 60 Hz and their harmonics) with almost
    nothing beside it.

    Power spectra of each second (Hann window); the mains lines (+-3 Hz) are
    left out of the broadband measure, so that an ECG with heavy mains
    interference, which the detector's filters remove, stays readable.

    Examples
    --------
    >>> fs = 360; t = np.arange(3 * fs) / fs
    >>> ecg_like = np.sin(2 * np.pi * 1.2 * t) ** 31          # sharp peaks, low band
    >>> hum = 0.5 * np.sin(2 * np.pi * 50 * t)
    >>> white = np.random.default_rng(0).standard_normal(t.size)
    >>> broadband, hum_only = interference(np.stack([ecg_like + hum, hum, white]).reshape(9, fs), fs)
    >>> broadband.reshape(3, 3).all(axis=1).tolist(), hum_only.reshape(3, 3).all(axis=1).tolist()
    ([False, False, True], [False, True, False])
    """
    n, sec = seconds.shape
    broadband, hum = np.zeros(n, bool), np.zeros(n, bool)
    if n == 0 or sec < 8:
        return broadband, hum
    f = np.fft.rfftfreq(sec, 1.0 / fs)
    mains = np.zeros(f.size, bool)
    # Harmonics above half the rate were filtered out before sampling.
    for line in (50.0, 60.0):
        for k in range(1, int(fs / 2 // line) + 1):
            mains |= np.abs(f - k * line) <= 3.0
    rest = (f >= 1.0) & ~mains
    low = rest & (f <= 40.0)
    high = rest & (f > 40.0)
    taper = np.hanning(sec)
    # In blocks of seconds: a day's record would need gigabytes of spectra.
    for a in range(0, n, 4096):
        rows = seconds[a:a + 4096]
        p = np.abs(np.fft.rfft((rows - rows.mean(axis=1, keepdims=True)) * taper, axis=1)) ** 2
        total = p[:, f >= 1.0].sum(axis=1)
        moving = total > 0
        hum[a:a + 4096] = moving & (p[:, rest].sum(axis=1) < mains_alone * total)
        if high.sum() >= 2:
            p_low = p[:, low].sum(axis=1) / low.sum()
            density = p[:, high].sum(axis=1) / high.sum() / np.maximum(p_low, 1e-30)
            broadband[a:a + 4096] = moving & (density >= hf_density) & ~hum[a:a + 4096]
    return broadband, hum


def noise_spans(ecg: np.ndarray, fs: float, flat_mv: float = 0.05, flat_rel: float = 0.1,
                shift_mv: float = 1.0, loud: float = 4.0, min_s: float = 3.0,
                min_lost_s: float = 2.0, hf_density: float = HF_DENSITY
                ) -> list[tuple[float, float]]:
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
    hf_density : float
        Passed to :func:`interference`.

    Examples
    --------
    >>> t = np.arange(36000) / 360.0
    >>> x = np.exp(-0.5 * ((t % 1 - 0.5) / 0.01) ** 2)   # a QRS-like peak a second
    >>> x[7200:10800] = 0.0                             # 10 s without signal
    >>> noise_spans(x, 360.0)
    [(20.0, 30.0)]
    """
    x = np.asarray(ecg, dtype=np.float64)
    sec = int(round(fs))
    n = x.size // sec
    if n == 0:
        return []
    finite = np.isfinite(x)
    bad_nan = ~finite[: n * sec].reshape(n, sec).all(axis=1)
    x = np.where(finite, x, 0.0)
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
    broadband, hum = interference(seconds, fs, hf_density)
    # Broadband noise only where the second is not flat: a flat line with
    # amplifier noise on it is what asystole looks like. Mains hum alone
    # only where it fills the record (a lead that never touched the
    # patient): within a record, the detector finds no beat in it, and a
    # stretch of hum reads as a pause, the safer mistake.
    bad = (constant | lost | artefact | bad_nan | (broadband & ~flat)
           | (hum if hum.mean() >= HUM_RECORD else False))
    # The part second at the end, too short to judge alone, goes with the
    # second before it, or is unreadable for a NaN of its own: a record with
    # no readable sample, or a flat one, is unreadable to its end.
    end = x.size / fs
    if x.size > n * sec:
        bad, lost = np.r_[bad, bad[-1] or not finite[n * sec:].all()], np.r_[lost, lost[-1]]
    spans = []
    d = np.diff(np.concatenate([[0], bad.astype(np.int8), [0]]))
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
        # Lost signal is plain to see: two seconds of it are enough.
        if b - a >= min_s or (b - a >= min_lost_s and lost[a:b].any()):
            spans.append((float(a), min(float(b), end)))
    return spans


def unreadable_in(unreadable: np.ndarray, start, stop) -> np.ndarray:
    """Whether any sample from ``start`` to ``stop`` (index arrays, inclusive,
    clipped to the signal) is marked ``unreadable`` (a NaN run).

    Examples
    --------
    >>> bad = np.zeros(10, bool); bad[4:6] = True
    >>> unreadable_in(bad, np.array([0, 2, 6, -3]), np.array([3, 4, 9, 0])).tolist()
    [False, True, False, False]
    """
    seen = np.concatenate([[0], np.cumsum(unreadable, dtype=np.int64)])
    n = len(unreadable)
    lo = np.clip(np.asarray(start), 0, n)
    hi = np.clip(np.asarray(stop) + 1, 0, n)
    return seen[np.maximum(lo, hi)] > seen[lo]
