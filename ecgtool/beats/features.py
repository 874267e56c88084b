"""Measures of each beat that a beats table holds without its waveform.

``ecgtool detect`` writes, per beat, its timing (R-R intervals) and its
delineation (QRS onset and offset, R amplitude and latency, P and T points).
Those alone tell a good share of ectopic beats: early with a compensatory
pause, wide, of another amplitude or polarity than the record's usual beat,
without a P wave (de Chazal et al. 2004 classified beats from such
measures). :func:`table_features` turns a :class:`~ecgtool.beats.table.Beats`
table into one row of numbers per beat, each relative to the record's own
usual value, so that one model serves every patient and sampling rate.
"""

from __future__ import annotations

import numpy as np

from ecgtool.beats.table import Beats
from ecgtool.rr import af_score
from ecgtool.signal.filters import moving_mean

#: Column names of :func:`table_features`, in order.
TABLE_FEATURES = (
    "rr_prev_local", "rr_next_local", "rr_prev_next", "rr_local_s", "rr_prev_record",
    "rr_next_record", "qrs_ms", "qrs_ms_record", "qrs_local", "amp_record", "abs_amp_record",
    "amp_local", "r_latency_ms", "r_latency_record", "p_found", "pr_record_ms",
    "rt_record_ms", "t_found", "polarity_flipped", "rr_irregularity",
)

#: Beats each side of a beat in its local means.
LOCAL_HALF = 10

#: R-R intervals in the irregularity score, as in the rhythm analysis'
#: windows (:class:`ecgtool.rhythm.RhythmSettings`).
IRREGULARITY_WINDOW = 30


def _filled(x: np.ndarray, fill: float) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.where(np.isfinite(x), x, fill)


def _median(x: np.ndarray, default: float) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else default


def table_features(beats: Beats) -> np.ndarray:
    """``(n_beats, len(TABLE_FEATURES))`` float32 measures of each beat.

    R-R intervals are divided by their local mean (+-:data:`LOCAL_HALF`
    beats) and by the record's median; QRS width, R amplitude and latency
    are given with their difference from (or ratio to) the record's median;
    PR (P onset to QRS onset) and RT (R peak to T peak) as differences from
    the record's median, 0 where the point was not found, with a flag saying
    whether it was; last, the irregularity of the R-R intervals around the
    beat. Missing values take the record's median, so that the first and
    last beats (one R-R interval each) still get a row.

    Examples
    --------
    >>> r = np.arange(10) * 250; r[5] -= 100          # beat 5 early
    >>> f = table_features(Beats(fs=250.0, r_peak=r))
    >>> f.shape == (10, len(TABLE_FEATURES))
    True
    >>> i = TABLE_FEATURES.index("rr_prev_record")
    >>> [round(float(v), 1) for v in f[4:7, i]]
    [1.0, 0.6, 1.4]
    """
    n = len(beats)
    cols = beats.columns()
    rr_prev, rr_next = cols["rr_prev_ms"], cols["rr_next_ms"]
    rr_med = _median(np.concatenate([rr_prev, rr_next]), 1000.0)
    rr_prev, rr_next = _filled(rr_prev, rr_med), _filled(rr_next, rr_med)
    # The irregularity of the rhythm around each beat (:func:`ecgtool.rr.af_score`):
    # an early beat amid irregular intervals is AF conducted, not a premature
    # beat (without it, most normal beats called S were in AF).
    irregular = np.zeros(n)
    if n > 1:
        s = af_score(rr_prev[1:], np.ones(n - 1, bool), IRREGULARITY_WINDOW)
        irregular = np.concatenate([s[:1], s])
    local = moving_mean(rr_prev, LOCAL_HALF)
    qrs = _filled(cols["qrs_ms"], _median(cols["qrs_ms"], 100.0))
    amp = _filled(beats.r_amp_mv, _median(beats.r_amp_mv, 1.0))
    lat = _filled(cols["r_latency_ms"], _median(cols["r_latency_ms"], 40.0))
    amp_med = float(np.median(amp)) if n else 1.0
    scale = max(float(np.median(np.abs(amp))) if n else 1.0, 1e-3)
    pr = beats.pr_ms
    rt = beats.span_ms(beats.r_peak, beats.t_peak)
    qrs_med = float(np.median(qrs)) if n else 100.0
    amp_local = moving_mean(amp, LOCAL_HALF)
    out = np.column_stack([
        rr_prev / local, rr_next / local, rr_prev / rr_next, local / 1000.0,
        rr_prev / rr_med, rr_next / rr_med,
        qrs, qrs - qrs_med, qrs / np.maximum(moving_mean(qrs, LOCAL_HALF), 1.0),
        amp / scale, np.abs(amp) / scale,
        amp / np.where(np.abs(amp_local) > 1e-3, amp_local, 1e-3),
        lat, lat - (float(np.median(lat)) if n else 0.0),
        beats.p_peak >= 0, _filled(pr - _median(pr, 0.0), 0.0),
        _filled(rt - _median(rt, 0.0), 0.0), np.isfinite(rt),
        np.sign(amp) != np.sign(amp_med), irregular,
    ]) if n else np.zeros((0, len(TABLE_FEATURES)))
    return out.astype(np.float32)
