"""P waves from a small convolutional network, run in numpy.

The slope rules of :mod:`ecgtool.signal.delineate` look for a P wave in a
window before the QRS and call the largest deflection there the P wave;
on leads where the P wave is small or biphasic (LUDB's chest leads, QTDB's
second leads) they miss it or take the previous T wave. The network reads
the 400 ms before each R peak (and 40 ms after) at 250 Hz, twice: scaled by
the whole window (so the QRS is in view) and by the part before the QRS
(so the P wave is), and returns whether a P wave is there and its onset,
peak and offset in ms from the R peak; where it finds none, it reads the
beat again over a window 1.5 times as long, for the P waves of
first-degree AV block. It is trained with JAX by
:mod:`ecgtool.ml.qrsnet_train` on every annotated lead of LUDB records
1-100, their windows stretched in time so that it also knows PR intervals
and P widths LUDB rarely has (the QT database was never used); here it runs in numpy through
:func:`ecgtool.signal.qrsnet.layers_forward`, so detection never imports JAX.

:func:`ecgtool.signal.delineate.delineate` takes the network's word on
whether a P wave is there, and the mean of its points and the slope rules'
where both found one (LUDB, record-grouped cross-validation: see
docs/accuracy.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecgtool.rr import steady_values
from ecgtool.signal.filters import sample_at
from ecgtool.signal.qrsnet import NET_CHUNK, NET_FS, antialiased, layers_forward, net_outputs

#: Window: BEFORE samples before the R peak to AFTER after it, at NET_FS.
BEFORE, AFTER = 100, 10
#: The part scaled on its own ends this many samples (100 ms) before the R peak.
_QRS_SAMPLES = 25
#: Output scale: the point outputs are ms / SCALE_MS.
SCALE_MS = 100.0
#: The weights shipped with the package.
DEFAULT_WEIGHTS = Path(__file__).with_name("pnet.npz")
#: The network's input: (length, channels).
INPUT_SHAPE = (BEFORE + AFTER + 1, 2)
#: A doubtful P wave (logit above STEADY_LOGIT, below 0) counts when the
#: beats around it have P waves at one distance from the R peak: of the
#: beats within STEADY_BEATS // 2 of it, STEADY_SHARE have a candidate onset
#: within STEADY_MS of their median, and so has it. The same window, share
#: and tolerance as the rhythm analysis' steady-PR rule (ecgtool.rr.steady_p_waves).
STEADY_LOGIT, STEADY_BEATS, STEADY_SHARE, STEADY_MS = -3.0, 30, 0.6, 20.0
#: Where the network finds no P wave, it reads the beat again over a window
#: LONG_READ times as long (600 ms before the R peak, at 1.5): a P wave of
#: first-degree AV block, 300-450 ms before the R peak, then lies where the
#: network knows P waves. What that reading finds (logit above
#: STEADY_LOGIT) counts only at a steady distance from the R peak (the rule
#: above), however sure the network is: in AF, what it takes for P waves
#: lies anywhere.
LONG_READ = 1.5


def p_windows(ecg: np.ndarray, fs: float, r_peaks: np.ndarray) -> np.ndarray:
    """The network's input ``(n, 111, 2)``: R-400 ms to R+40 ms at 250 Hz,
    less the median of its first 300 ms, scaled by its largest absolute
    value (channel 0) and by that of its first 300 ms (channel 1, clipped
    to +-3).

    Examples
    --------
    >>> x = np.sin(np.linspace(0, 20, 5000))
    >>> p_windows(x, 500.0, np.array([1000, 2000])).shape
    (2, 111, 2)
    """
    return _windows(antialiased(ecg, fs), fs, r_peaks)


def _windows(x: np.ndarray, fs: float, r_peaks: np.ndarray) -> np.ndarray:
    return normalised(segments(x, fs, r_peaks))


def segments(x: np.ndarray, fs: float, r_peaks: np.ndarray, before: int = BEFORE,
             after: int = AFTER) -> np.ndarray:
    """The signal ``x`` from ``before`` samples at 250 Hz before each R peak
    to ``after`` after it, read at 250 Hz: ``(n, before + after + 1)``, in
    the signal's units (the training reads wider ones to stretch them)."""
    r = np.asarray(r_peaks, dtype=np.float64)
    at = r[:, None] + np.arange(-before, after + 1)[None, :] * (fs / NET_FS)
    return sample_at(x, at)


def normalised(w: np.ndarray) -> np.ndarray:
    """Segments ``(n, 111)`` -> the network's input ``(n, 111, 2)`` (see :func:`p_windows`)."""
    w = w - np.median(w[:, :BEFORE - _QRS_SAMPLES], axis=1, keepdims=True)
    early = w[:, :BEFORE - _QRS_SAMPLES]
    whole = np.abs(w).max(axis=1, keepdims=True) + 1e-6
    part = np.abs(early).max(axis=1, keepdims=True) + 1e-6
    return np.stack([w / whole, np.clip(w / part, -3.0, 3.0)], axis=-1).astype(np.float32)


def forward(params: dict, windows: np.ndarray) -> np.ndarray:
    """``(n, 4)``: the P-wave logit, then onset, peak and offset in ms from the R peak."""
    out = layers_forward(params, np.asarray(windows, dtype=np.float32))
    out[:, 1:] *= SCALE_MS
    return out


def p_waves_net(ecg: np.ndarray, fs: float, r_peaks: np.ndarray,
                weights: str | Path = DEFAULT_WEIGHTS, chunk: int = NET_CHUNK,
                steady_logit: float = STEADY_LOGIT) -> tuple[np.ndarray, np.ndarray]:
    """Whether each R peak has a P wave, and its onset, peak and offset.

    Returns ``present`` (bool, ``(n,)``) and ``points`` (sample indices,
    ``(n, 3)``, ordered and before the R peak; meaningful where present).
    A P wave that would begin before the recording does is not present.

    A P wave is present where the network's logit is positive, or above
    ``steady_logit`` amid P waves found at a steady distance from the R
    peak (:data:`STEADY_BEATS`; 0 turns this off). A record's P waves are
    alike from beat to beat, where what the network half-sees in AF or noise
    lies anywhere: on MIT-BIH DS1 (rhythm annotations, reference beats) P
    waves were found on 95.5 -> 98.0 % of normal beats in sinus rhythm with
    lead MLII and 70.0 -> 82.6 % with the second lead, on 7.6 and 11.8 % of
    AF/flutter beats either way, and on V beats in sinus rhythm on 7.4 ->
    8.9 % and 16.9 -> 20.3 %. Where neither finds one, the beat is read
    again over a longer window (:data:`LONG_READ`), and a P wave found there
    at a steady distance counts: on the QT database (never used to train
    the network; the long reading was set on it) P waves were then found on
    96.3 % of the marked beats on the better lead of each (94.5 % before;
    ecgpuwave 97.1 %), most of the gain in first-degree AV block, with no
    more P waves before MIT-BIH's AF beats.

    Examples
    --------
    >>> from ecgtool.io.records import read_sample
    >>> rec = read_sample("119")
    >>> r = rec.annotations.sample[3:9]
    >>> present, pts = p_waves_net(rec.signal, rec.fs, r)
    >>> bool(np.all((pts[:, 0] <= pts[:, 1]) & (pts[:, 1] <= pts[:, 2]) & (pts[:, 2] < r)))
    True
    """
    present, pts, _ = p_waves_read(ecg, fs, r_peaks, weights, chunk, steady_logit)
    return present, pts


def p_waves_read(ecg: np.ndarray, fs: float, r_peaks: np.ndarray,
                 weights: str | Path = DEFAULT_WEIGHTS, chunk: int = NET_CHUNK,
                 steady_logit: float = STEADY_LOGIT, long_read: float = LONG_READ
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`p_waves_net`'s ``present`` and ``points``, and which P waves
    came from the long reading (:data:`LONG_READ`; 0 reads no further)."""
    r = np.asarray(r_peaks, dtype=np.int64)
    out = net_outputs(ecg, fs, r, weights, _windows, forward, 4, chunk)
    present = _steady_present(out, steady_logit)
    far = np.zeros(r.size, bool)
    miss = np.flatnonzero(_could_be_steady(~present))
    if long_read and miss.size:
        # Read at a rate long_read times the record's, the window spans
        # long_read times as long; its ms are the network's, long_read times shorter.
        again = net_outputs(ecg, fs * long_read, r[miss], weights, _windows, forward, 4, chunk)
        onset = np.full(r.size, np.nan)
        seen = again[:, 0] > min(steady_logit, 0.0)
        onset[miss[seen]] = again[seen, 1] * long_read
        far = _at_steady_distance(onset)
        out[far, 1:] = again[far[miss], 1:] * long_read
        present |= far
    pts = r[:, None] + np.round(out[:, 1:] * (fs / 1000.0)).astype(np.int64)
    # A P wave that would begin at or before the first sample is not wholly
    # recorded (the first beat of a record that starts mid-beat): not found.
    present &= pts[:, 0] > 0
    pts = np.clip(np.minimum(pts, r[:, None] - 1), 0, max(len(ecg) - 1, 0))
    # Onset <= peak <= offset.
    pts[:, 1] = np.maximum(pts[:, 1], pts[:, 0])
    pts[:, 2] = np.maximum(pts[:, 2], pts[:, 1])
    return present, pts, far & present


def _could_be_steady(miss: np.ndarray) -> np.ndarray:
    # The beats without a P wave that the steady rule could count, given that
    # only they get a value: the rule can call steady only a beat whose
    # window holds STEADY_SHARE of them (each given one value, all agreeing),
    # and reads only values within half a window of such a beat. Reading the
    # others again changes nothing (a PVC amid sinus beats), and costs time.
    dense = steady_values(np.where(miss, 0.0, np.nan), STEADY_BEATS, STEADY_SHARE, STEADY_MS)[0]
    half = max(1, STEADY_BEATS // 2)
    near = np.convolve(dense, np.ones(2 * half + 1, np.int64), "full")[half:half + miss.size]
    return miss & (near > 0)


def _at_steady_distance(onset: np.ndarray) -> np.ndarray:
    # Onsets (ms; NaN: none) amid onsets at a steady distance from the R
    # peak, and near their median.
    steady, med = steady_values(onset, STEADY_BEATS, STEADY_SHARE, STEADY_MS)
    return steady & (np.abs(onset - med) <= STEADY_MS)


def _steady_present(out: np.ndarray, steady_logit: float) -> np.ndarray:
    # Logit above 0, or above steady_logit amid P waves at a steady distance.
    present = out[:, 0] > 0.0
    if steady_logit < 0:
        doubt = out[:, 0] > steady_logit
        present |= doubt & _at_steady_distance(np.where(doubt, out[:, 1], np.nan))
    return present
