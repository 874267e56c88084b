"""Detections that split a regular R-R interval in two: artefacts, not beats.

Noise (electrode motion, muscle) makes a detector fire between two beats. A
real early beat (a premature atrial or ventricular one) is usually followed
by a pause, so that it and the next beat do not fit in one normal interval;
an interpolated ventricular beat, which does fit, has a large QRS. A
detection that is early, fits with the next beat into about one local
interval, is smaller than its neighbours and sits in a regular rhythm is
therefore dropped. In an irregular rhythm (atrial fibrillation, frequent
ectopy) nothing is dropped: timing says nothing there.

All thresholds were chosen on MIT-BIH DS1, its paced records and the QT
database; the noise-stress and other databases were only scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: Intervals each side (beside the beat's own two), and QRS amplitudes each
#: side, that make a detection's local context.
RR_CONTEXT = 5
AMP_CONTEXT = 8


@dataclass(frozen=True)
class SplitRule:
    """When a detection that splits an interval is dropped.

    Attributes
    ----------
    span : float
        The intervals before and after it add up to less than this many
        local median intervals.
    early : float
        The interval before it is shorter than this many local medians.
    amplitude : float
        Its band-passed QRS amplitude is below this fraction of the median
        of its neighbours'.
    irregularity : float
        The rhythm around it is regular: the median absolute difference of
        successive context intervals, over their median, is below this.
    """

    span: float = 1.2
    early: float = 0.8
    amplitude: float = 0.8
    irregularity: float = 0.08


DEFAULT_SPLIT_RULE = SplitRule()


def _middle(rows: np.ndarray) -> np.ndarray:
    # Row medians through a sort: several times faster than np.median on
    # many short rows.
    s = np.sort(rows, axis=1)
    m = s.shape[1]
    return s[:, (m - 1) // 2] if m % 2 else 0.5 * (s[:, m // 2 - 1] + s[:, m // 2])


def _around(v: np.ndarray, k: int, own: int = 1) -> np.ndarray:
    # Row i: the k values before v[i] and the k after v[i + own - 1]
    # (edge-padded); the `own` values from v[i] are left out.
    w = sliding_window_view(np.pad(v, (k, k + own - 1), mode="edge"), 2 * k + own)
    return np.delete(w, np.arange(k, k + own), axis=1)


def split_interval_artefacts(r_peaks: np.ndarray, qrs_amp: np.ndarray, fs: float,
                             rule: SplitRule = DEFAULT_SPLIT_RULE) -> np.ndarray:
    """Mask of the detections that split a regular R-R interval (see the module).

    Parameters
    ----------
    r_peaks : numpy.ndarray
        Sorted R-peak indices.
    qrs_amp : numpy.ndarray
        Each detection's QRS amplitude (any positive scale, e.g. the largest
        absolute band-passed value near it).
    fs : float
        Sampling rate (Hz).
    rule : SplitRule
        Thresholds.

    Returns
    -------
    numpy.ndarray
        bool, True for detections to drop. No two neighbours are both True.

    Examples
    --------
    >>> r = np.arange(20) * 360
    >>> r = np.sort(np.append(r, 10 * 360 + 150))   # something between beats 10 and 11
    >>> amp = np.ones(r.size); amp[11] = 0.3
    >>> np.flatnonzero(split_interval_artefacts(r, amp, 360.0)).tolist()
    [11]
    >>> amp[11] = 1.5                                # as large as a ventricular beat
    >>> np.flatnonzero(split_interval_artefacts(r, amp, 360.0)).tolist()
    []
    """
    r = np.asarray(r_peaks, dtype=np.int64)
    n = r.size
    if n < 5:
        return np.zeros(n, dtype=bool)
    rr = np.diff(r).astype(np.float64) / fs          # rr[j]: beats j -> j+1
    # Beat i's own intervals are rr[i-1] and rr[i]; its context is the
    # intervals around them.
    ctx = _around(np.concatenate(([rr[0]], rr)), RR_CONTEXT, own=2)
    med = _middle(ctx)
    irregular = _middle(np.abs(np.diff(ctx, axis=1))) / med
    prev = np.concatenate(([np.inf], rr))
    span = np.full(n, np.inf)
    span[1:-1] = rr[:-1] + rr[1:]
    amp = np.asarray(qrs_amp, dtype=np.float64)
    amp_med = _middle(_around(amp, AMP_CONTEXT))
    drop = ((span < rule.span * med) & (prev < rule.early * med)
            & (amp < rule.amplitude * amp_med) & (irregular < rule.irregularity))
    # Of two flagged neighbours, only the first goes: the second is judged
    # again only by a new pass, which this rule does not make.
    drop[1:] &= ~drop[:-1]
    return drop
