"""Ventricular flutter and fibrillation: stretches where the lead is a sinusoid.

In ventricular flutter and coarse fibrillation there are no QRS complexes
and no isoelectric line, only a large, near-sinusoidal oscillation at
150-500 per minute. The beat detector finds some of its waves and the
classifier calls some of those V, so such a stretch would read as broken
runs of VT; it is found here from the signal instead.

The measure is the VF filter of Kuo and Dillman (1978), as Amann et al.
(2005) describe and score it: over a window, the signal's mean half-period
``N = pi * sum|x| / sum|dx|`` (exact for a sinusoid), and the leakage
``sum|x[i] + x[i-N]| / sum(|x[i]| + |x[i-N]|)``, which is 0 for a sinusoid
(a half-period apart its samples cancel) and near 1 for QRS complexes
between flat stretches. A window is VF-like when the leakage is under
Amann's threshold, 0.406, and the oscillation is 150 per minute or faster
(the clinical lower bound of ventricular flutter and fibrillation). Windows
are 4 s long, one per second, so that the shortest flutter episodes (a few
seconds) fill one; the signal is band-passed (about 1-25 Hz) first, with
centred moving means, at 100-200 Hz.

References
----------
Kuo S, Dillman R. Computer detection of ventricular fibrillation. Computers
in Cardiology 1978:347-349.
Amann A, Tratnig R, Unterkofler K. Reliability of old and new ventricular
fibrillation detection algorithms for automated external defibrillators.
BioMed Eng OnLine 2005;4:60.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtool import _core
from ecgtool.rr import true_runs
from ecgtool.signal.filters import moving_mean

#: Leakage under which a window is VF-like (Amann et al. 2005).
LEAKAGE_MAX = 0.406
#: Slowest oscillation taken for flutter or fibrillation (per minute).
MIN_RATE_PER_MIN = 150.0
#: A window whose band-passed signal swings less than this (mV) is not read:
#: a lead with nothing on it but its own noise floor.
MIN_SWING_MV = 0.1
WINDOW_S = 4.0
STEP_S = 1.0
#: Rate at which the leakage is measured (Hz, at least): the oscillation
#: lies under 10 Hz.
MEASURE_FS = 100.0


@dataclass(frozen=True)
class VfWindows:
    """The VF filter over sliding windows of one lead.

    Attributes
    ----------
    start_s : numpy.ndarray
        Start of each window (s from the signal's first sample).
    leakage : numpy.ndarray
        VF-filter leakage (0: a sinusoid; NaN where the window was not read).
    rate_per_min : numpy.ndarray
        The oscillation's rate from its mean half-period.
    swing_mv : numpy.ndarray
        Peak-to-peak of the band-passed window (mV).
    window_s : float
    """

    start_s: np.ndarray
    leakage: np.ndarray
    rate_per_min: np.ndarray
    swing_mv: np.ndarray
    window_s: float = WINDOW_S

    @property
    def vf_like(self) -> np.ndarray:
        """Windows whose signal is a fast sinusoid (see the module)."""
        with np.errstate(invalid="ignore"):
            return ((self.leakage < LEAKAGE_MAX) & (self.rate_per_min >= MIN_RATE_PER_MIN)
                    & (self.swing_mv >= MIN_SWING_MV))


def _band(ecg: np.ndarray, fs: float) -> tuple[np.ndarray, float]:
    # Block means down to 100-200 Hz, then a centred moving-mean band-pass:
    # a 41-ms mean (low-pass, first zero near 25 Hz) less a 1-s mean (drift).
    d = max(1, int(fs // MEASURE_FS))
    n = ecg.size // d * d
    # Strided sums: four times faster than a sum over a reshaped axis of d.
    y = np.array(ecg[0:n:d], dtype=np.float64)
    for k in range(1, d):
        y += ecg[k:n:d]
    y /= d
    if not np.isfinite(y).all():
        y = np.where(np.isfinite(y), y, 0.0)
    fs2 = fs / d
    y = moving_mean(y, max(1, int(round(0.02 * fs2))))
    return y - moving_mean(y, int(round(0.5 * fs2))), fs2


def vf_windows(ecg: np.ndarray, fs: float, window_s: float = WINDOW_S,
               step_s: float = STEP_S) -> VfWindows:
    """The VF filter's leakage over windows of ``window_s`` every ``step_s``.

    Parameters
    ----------
    ecg : numpy.ndarray
        One lead (mV); NaN samples count as 0 (after the block means,
        so that a NaN blanks its block).
    fs : float
        Sampling rate (Hz).

    Examples
    --------
    >>> fs = 250; t = np.arange(10 * fs) / fs
    >>> w = vf_windows(np.sin(2 * np.pi * 4 * t), fs)   # 240 per minute
    >>> bool(w.vf_like.all()), round(float(np.median(w.rate_per_min)), -1)
    (True, 240.0)
    >>> beats = np.sin(2 * np.pi * 1.2 * t) ** 31                # sharp peaks, 72/min
    >>> bool(vf_windows(beats, fs).vf_like.any())
    False
    """
    y, fs2 = _band(np.asarray(ecg).reshape(-1), fs)
    n = int(round(window_s * fs2))
    step = max(1, int(round(step_s * fs2)))
    if y.size < n or n < 4:
        z = np.zeros(0)
        return VfWindows(z, z.copy(), z.copy(), z.copy(), window_s)
    starts = np.arange(0, y.size - n + 1, step)
    half, leak, swing = np.empty(starts.size), np.empty(starts.size), np.empty(starts.size)
    # The compiled loop: a day at 360 Hz (86,400 windows) takes 0.19 s with
    # the band-pass, where the numpy twin (a chunk of windows at a time) took 0.55 s.
    _core._vf_filter(y, n, step, half, leak, swing)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = 60.0 * fs2 / (2.0 * half)
    return VfWindows(starts / fs2, leak, rate, swing, n / fs2)


def vf_spans(ecg: np.ndarray, fs: float) -> list[tuple[float, float]]:
    """Stretches (s) of ventricular flutter or fibrillation: each VF-like
    window of :func:`vf_windows` speaks for the step at its middle (a window
    half in flutter can read as flutter), and touching steps join.

    Examples
    --------
    >>> fs = 360; t = np.arange(30 * fs) / fs
    >>> ecg = np.sin(2 * np.pi * 1.2 * t) ** 31
    >>> ecg[10 * fs:20 * fs] = np.sin(2 * np.pi * 4.5 * t[10 * fs:20 * fs])
    >>> [(float(a), float(b)) for a, b in vf_spans(ecg, fs)]
    [(9.5, 20.5)]
    """
    w = vf_windows(ecg, fs)
    mid = w.start_s + w.window_s / 2
    return [(float(mid[a] - STEP_S / 2), float(mid[b - 1] + STEP_S / 2))
            for a, b in true_runs(w.vf_like)]
