"""Conduction intervals of a record: PR, QRS, QT and the rate-corrected QTc.

Each interval is the median over the record's normal beats (label N, when
labels are given) whose delineation found both of its ends, so that one
misplaced point or a few ectopic beats do not move it. The QT is corrected
with each beat's preceding R-R interval: Fridericia (QT / RR^(1/3), the
correction preferred for drug-safety work since Bazett over-corrects at fast
rates) and Bazett (QT / RR^(1/2), the one most ECG carts print).

These are one lead's intervals: a 12-lead system measures QRS from the
earliest onset to the latest offset over all leads, which is longer, so a
bundle branch block whose widening this lead does not show is missed.
``benchmarks/diagnose.py`` reports the error against the cardiologists'
marks of the same lead (LUDB) and how often each finding matches the
records' diagnoses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtool.beats.table import Beats

#: Fewest measured beats for an interval to be reported.
MIN_BEATS = 5
#: Preceding R-R intervals outside this range (s) give no QTc.
_RR_RANGE = (0.3, 2.0)


@dataclass(frozen=True)
class Intervals:
    """Median conduction intervals of one record (ms; NaN when not measured).

    Attributes
    ----------
    n_beats : int
        Normal beats considered.
    pr_ms, qrs_ms, qt_ms : float
        P onset to QRS onset, QRS onset to offset, QRS onset to T offset.
    qtc_fridericia_ms, qtc_bazett_ms : float
        Median rate-corrected QT.
    p_found_pct : float
        Share of the normal beats whose P onset was found (low in AF, where
        a PR interval means nothing).
    pr_beat, qrs_beat, qtc_beat : int
        Index of a beat whose interval is the median one (-1 when not
        measured): the example a report shows.
    """

    n_beats: int
    pr_ms: float
    qrs_ms: float
    qt_ms: float
    qtc_fridericia_ms: float
    qtc_bazett_ms: float
    p_found_pct: float
    pr_beat: int = -1
    qrs_beat: int = -1
    qtc_beat: int = -1


def _median(values: np.ndarray, ok: np.ndarray) -> tuple[float, int]:
    # Median of values[ok] and the index of a beat that has it.
    idx = np.flatnonzero(ok & np.isfinite(values))
    if idx.size < MIN_BEATS:
        return float("nan"), -1
    v = values[idx]
    med = float(np.median(v))
    return med, int(idx[np.argmin(np.abs(v - med))])


def conduction_intervals(beats: Beats, labels: np.ndarray | None = None) -> Intervals:
    """Median PR, QRS, QT and QTc over a record's normal, delineated beats.

    Parameters
    ----------
    beats : Beats
        Detected and delineated beats (points at -1 where not found).
    labels : numpy.ndarray, optional
        AAMI class per beat; only N beats are measured when given.

    Returns
    -------
    Intervals

    Examples
    --------
    >>> from ecgtool.io.records import read_sample
    >>> from ecgtool.signal.detect import detect_beats
    >>> rec = read_sample("119")
    >>> iv = conduction_intervals(detect_beats(rec.signal[:36000], rec.fs))
    >>> 50 < iv.qrs_ms < 120 and 120 < iv.pr_ms < 220
    True
    """
    n = len(beats)
    normal = np.ones(n, bool) if labels is None else np.asarray(labels) == "N"
    pr = beats.pr_ms
    qrs = beats.qrs_ms
    qt = beats.span_ms(beats.qrs_onset, beats.t_offset)
    rr_prev = np.concatenate([[np.nan], beats.rr_ms / 1000.0]) if n else np.zeros(0)
    rate_ok = (rr_prev >= _RR_RANGE[0]) & (rr_prev <= _RR_RANGE[1])
    with np.errstate(invalid="ignore", divide="ignore"):  # the rates rate_ok leaves out
        fridericia = np.where(rate_ok, qt / np.cbrt(rr_prev), np.nan)
        bazett = np.where(rate_ok, qt / np.sqrt(rr_prev), np.nan)
    pr_ms, pr_beat = _median(pr, normal)
    qrs_ms, qrs_beat = _median(qrs, normal)
    qt_ms, _ = _median(qt, normal)
    qtc_f, qtc_beat = _median(fridericia, normal)
    qtc_b, _ = _median(bazett, normal)
    n_normal = int(normal.sum())
    found = 100.0 * int(np.sum(normal & (beats.p_onset >= 0))) / n_normal if n_normal else 0.0
    return Intervals(n_beats=n_normal, pr_ms=pr_ms, qrs_ms=qrs_ms, qt_ms=qt_ms,
                     qtc_fridericia_ms=qtc_f, qtc_bazett_ms=qtc_b, p_found_pct=found,
                     pr_beat=pr_beat, qrs_beat=qrs_beat, qtc_beat=qtc_beat)


def marked_intervals(sample: np.ndarray, symbol, fs: float) -> dict[str, float]:
    """Median PR, QRS and QT (ms) from wave marks in WFDB's ``( X )`` form
    (onset, peak ``p``/``N``/``t``, offset), as in LUDB and the QT database.

    Each QRS ``( N )`` takes the P wave ``( p )`` that ends before it, when it
    starts within 400 ms, and the T wave ``( t )`` that follows it, when it
    ends within 700 ms of the QRS onset.

    Examples
    --------
    >>> s = np.array([10, 20, 30, 50, 60, 80, 120, 150, 170])
    >>> marked_intervals(s, list("(p)(N)(t)"), 1000.0)
    {'pr_ms': 40.0, 'qrs_ms': 30.0, 'qt_ms': 120.0}
    """
    s, y = np.asarray(sample), list(symbol)
    waves = [(y[i], int(s[i - 1]), int(s[i + 1])) for i in range(1, len(y) - 1)
             if y[i] in ("p", "N", "t") and y[i - 1] == "(" and y[i + 1] == ")"]
    pr, qrs, qt = [], [], []
    for i, (kind, on, off) in enumerate(waves):
        if kind != "N":
            continue
        qrs.append(off - on)
        p = [w for w in waves[:i] if w[0] == "p" and w[2] <= on and on - w[1] < 0.4 * fs]
        if p:
            pr.append(on - p[-1][1])
        t = [w for w in waves[i + 1:] if w[0] == "t" and w[1] >= off and w[2] - on < 0.7 * fs]
        if t:
            qt.append(t[0][2] - on)
    return {k: float(np.median(v)) * 1000.0 / fs if v else float("nan")
            for k, v in (("pr_ms", pr), ("qrs_ms", qrs), ("qt_ms", qt))}
