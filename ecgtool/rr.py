"""Measures of R-R intervals that the rhythm analysis is built on.

The AF score (irregularity that no short pattern explains, :func:`af_score`),
the classic irregularity features of a stretch (:func:`irregularity`),
steadily conducted P waves (:func:`steady_p_waves`), and beats timed as
ectopic: early against the local rhythm (:func:`early_beats`), early and then
followed by a compensatory pause (:func:`premature_beats`), and the labels
such timing stands in for when a record has no beat labels
(:func:`timing_labels`), and intervals in which a detector missed a beat
(:func:`missed_beat_intervals`). :mod:`ecgtool.rhythm` turns them into episodes;
:mod:`ecgtool.ml.revise` revises a classifier's labels with them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ecgtool.signal.filters import inner_median, median_filter

if TYPE_CHECKING:
    from ecgtool.rhythm import RhythmSettings

#: A beat is early when its interval is under this share of the local mean.
EARLY = 0.85


def clear_intervals(times_s: np.ndarray, noise: list | None) -> np.ndarray:
    """True for each interval ``t[i]..t[i+1]`` that overlaps no unreadable
    ``(start_s, end_s)`` span of ``noise``.

    Examples
    --------
    >>> clear_intervals(np.array([0.0, 1.0, 2.0, 3.0]), [(1.5, 1.8)]).tolist()
    [True, False, True]
    """
    t = np.asarray(times_s, dtype=float)
    ok = np.ones(max(t.size - 1, 0), dtype=bool)
    for a, b in noise or []:
        ok &= (t[1:] <= a) | (t[:-1] >= b)
    return ok


def readable_beats(times_s: np.ndarray, noise: list | None) -> np.ndarray:
    """True for each beat outside every unreadable ``(start_s, end_s)`` span
    of ``noise``: a beat found inside one may be no beat, its class a guess.

    Examples
    --------
    >>> readable_beats(np.array([1.0, 1.6, 2.0]), [(1.5, 1.8)]).tolist()
    [True, False, True]
    """
    spans = list(noise or [])
    return ~in_spans(times_s, [a for a, _ in spans], [b for _, b in spans])


def in_spans(times_s: np.ndarray, starts, ends) -> np.ndarray:
    """Whether each time lies in one of the spans ``starts[i]..ends[i]``
    (bounds included; in any order, overlapping or not).

    Examples
    --------
    >>> in_spans(np.array([0.5, 1.0, 2.5, 4.0]), [3.0, 1.0], [4.0, 2.0]).tolist()
    [False, True, False, True]
    """
    t = np.asarray(times_s, dtype=float)
    lo, hi = np.asarray(starts, dtype=float), np.asarray(ends, dtype=float)
    if lo.size == 0:
        return np.zeros(t.size, dtype=bool)
    order = np.argsort(lo, kind="stable")
    lo = lo[order]
    # The furthest end of the spans begun by each start: overlapping spans
    # then read as their union.
    reach = np.maximum.accumulate(hi[order])
    k = np.searchsorted(lo, t, side="right") - 1
    return (k >= 0) & (t <= reach[np.maximum(k, 0)])


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` indices of each run of True in ``mask``.

    Examples
    --------
    >>> [(int(a), int(b)) for a, b in true_runs(np.array([1, 1, 0, 1], bool))]
    [(0, 2), (3, 4)]
    """
    if mask.size == 0:
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def window_sum(values: np.ndarray, valid: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum and count of the ``valid`` values within ``half`` of each position
    (windows clipped at the ends), by cumulative sums.

    Examples
    --------
    >>> s, k = window_sum(np.array([1.0, 2.0, 3.0, 4.0]), np.array([True, False, True, True]), 1)
    >>> s.tolist(), k.tolist()
    ([1.0, 4.0, 7.0, 7.0], [1, 2, 2, 2])
    """
    v = np.where(valid, values, 0.0)
    c = np.concatenate([[0.0], np.cumsum(v)])
    k = np.concatenate([[0], np.cumsum(valid.astype(np.int64))])
    n = values.size
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    return c[hi] - c[lo], k[hi] - k[lo]


def af_score(rr: np.ndarray, valid: np.ndarray, window: int, lags=(1, 2, 3),
             inside: bool = False) -> np.ndarray:
    """Irregularity score per R-R interval (see :mod:`ecgtool.rhythm`).

    With ``inside`` the running medians keep their windows inside the
    series (:func:`ecgtool.signal.filters.inner_median`) rather than filling
    them with repeats of its end values: a series no longer than ``window``
    then gets one score, its whole median's.

    Invalid intervals (ectopic, too short or too long) are dropped and the
    differences taken between the remaining neighbours; each lag's relative
    difference is a running median over ``window`` intervals, which a few
    unlabelled ectopic beats cannot move.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> regular = np.full(200, 0.8) + 0.01 * np.sin(np.arange(200) / 5)
    >>> irregular = rng.uniform(0.4, 1.2, 200)
    >>> ok = np.ones(200, bool)
    >>> float(af_score(regular, ok, 30).max()) < 0.03 < float(af_score(irregular, ok, 30).min())
    True
    """
    n = rr.size
    keep = np.flatnonzero(valid)
    if keep.size < 4:
        return np.zeros(n)
    x = rr[keep]
    running = inner_median if inside else median_filter
    level = running(x, window)
    score = np.full(x.size, np.inf)
    for lag in lags:
        d = np.zeros(x.size)
        d[lag:] = np.abs(x[lag:] - x[:-lag])
        d[:lag] = d[lag:2 * lag] if x.size >= 2 * lag else 0.0
        score = np.minimum(score, running(d, window))
    score = score / np.maximum(level, 1e-3)
    # Every interval takes the score of the nearest kept interval at or before it.
    pos = np.clip(np.searchsorted(keep, np.arange(n), side="right") - 1, 0, keep.size - 1)
    return score[pos]


def steady_p_waves(pr_ms: np.ndarray, window: int, share: float = 0.6,
                   tolerance_ms: float = 20.0) -> np.ndarray:
    """True for beats amid steadily conducted P waves: of the ``window``
    beats centred on each, at least ``share`` have a P wave found at a PR
    interval within ``tolerance_ms`` of the window's median PR.

    AF has no P waves; what a delineator finds in their place (f waves,
    noise) lies at a random distance from the QRS. Counting the beats that
    agree, rather than taking a robust spread, keeps the edges of a short AF
    episode, where half a window is still sinus, from reading as steady.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sinus = 160 + rng.normal(0, 4, 60)
    >>> af = rng.uniform(40, 300, 60)
    >>> m = steady_p_waves(np.r_[sinus, af], 30)
    >>> bool(m[:20].all()), bool(m[-30:].any())
    (True, False)
    """
    return steady_values(pr_ms, window, share, tolerance_ms)[0]


def steady_values(values: np.ndarray, window: int, share: float,
                  tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Per beat: whether at least ``share`` of the ``window`` beats centred
    on it have a value (NaN: none) within ``tolerance`` of the median of the
    window's values, and that median (NaN where the beat is not steady).
    Whether the beat's own value agrees is the caller's to check.

    Examples
    --------
    >>> v = np.array([100.0, 102.0, np.nan, 98.0, 101.0, 300.0, 250.0])
    >>> steady, med = steady_values(v, 5, 0.6, 5.0)
    >>> steady.tolist(), med[:4].tolist()
    ([True, True, True, True, False, False, False], [101.0, 100.0, 100.5, 101.5])
    """
    from numpy.lib.stride_tricks import sliding_window_view

    v = np.asarray(values, dtype=float)
    half = max(1, window // 2)
    med_out = np.full(v.size, np.nan)
    if v.size == 0:
        return np.zeros(0, bool), med_out
    size = 2 * half + 1
    w = sliding_window_view(np.pad(v, half, constant_values=np.nan), size)
    # Beats in each window (fewer at the ends of the record).
    i = np.arange(v.size)
    n = np.minimum(i, half) + np.minimum(v.size - 1 - i, half) + 1
    found = np.isfinite(w).sum(axis=1)
    out = np.zeros(v.size, bool)
    ok = np.flatnonzero(found >= share * n)
    # In blocks of windows, so that a day's beats need megabytes, not hundreds.
    for part in np.array_split(ok, max(1, ok.size // 8192)) if ok.size else []:
        # The median of each window's values (np.sort puts NaN last); numpy's
        # nanmedian took four times as long.
        srt = np.sort(w[part], axis=1)
        k, rows = found[part], np.arange(part.size)
        med = 0.5 * (srt[rows, (k - 1) // 2] + srt[rows, k // 2])
        agree = np.sum(np.abs(srt - med[:, None]) <= tolerance, axis=1)
        out[part] = agree >= share * n[part]
        med_out[part[out[part]]] = med[out[part]]
    return out, med_out


def irregularity(rr: np.ndarray, bins: int = 16) -> tuple[float, float, float]:
    """Normalised RMSSD, turning-point ratio and Shannon entropy of R-R intervals.

    The three classic AF features (Dash et al. 2009), reported with each
    episode as evidence beside the score that decides: ``nrmssd`` is the RMS
    of successive differences over the mean interval (about 0.02-0.05 in
    sinus rhythm, 0.1-0.3 in AF); ``tpr`` the share of intervals that are a
    local extreme (2/3 for a random sequence); ``she`` the entropy of the
    successive differences in ``bins`` bins spanning +-half the mean
    interval, over log(bins) (0-1). Fixed bins, not bins stretched over the
    data's own range, so that the small differences of sinus rhythm fall in
    one or two bins and read as order. NaN under 8 intervals.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> af = irregularity(rng.uniform(0.4, 1.2, 300))
    >>> sinus = irregularity(0.8 + 0.01 * np.sin(np.arange(300) / 6))
    >>> af[0] > 0.2 > 0.05 > sinus[0], round(af[1], 1)
    (True, 0.7)
    """
    x = np.asarray(rr, dtype=np.float64)
    if x.size < 8:
        return float("nan"), float("nan"), float("nan")
    d = x[1:] - x[:-1]
    # Sums over sizes, not np.mean (the same values, a fifth of the call's time).
    mean = x.sum() / x.size
    nrmssd = float(np.sqrt((d * d).sum() / d.size) / mean)
    tpr = float(np.count_nonzero(d[:-1] * d[1:] < 0) / (d.size - 1))
    # The bins by hand, not np.histogram: a record has thousands of short
    # episodes, and the histogram's set-up was half the time of the rhythm
    # analysis of LTAFDB's beat times. Differences beyond the range go to
    # the outer bins.
    k = ((d / mean + 0.5) * bins).astype(np.intp)
    counts = np.bincount(np.minimum(np.maximum(k, 0), bins - 1), minlength=bins)
    p = counts[counts > 0] / d.size
    she = float(-(p * np.log(p)).sum() / np.log(bins))
    return nrmssd, tpr, she


def premature_beats(rr: np.ndarray, early: float = EARLY, pause: float = 0.1,
                    paired: bool = True) -> np.ndarray:
    """Beats that look ectopic from timing alone: early, then a compensatory pause.

    Beat ``i`` (between intervals ``i-1`` and ``i``) qualifies when its
    interval is under ``early`` times the local reference and the two
    intervals together come within ``pause`` of two reference intervals. In
    AF a share of beats passes by chance, which the AF score tolerates.

    The reference is a running median (9 values) of the mean of each two
    successive intervals (``paired``): an early beat and its pause average
    one sinus interval, so the reference holds in bigeminy and dense ectopy.
    A median of the intervals themselves (``paired=False``) falls between the
    short and the long ones there, and misses most ectopic beats: on the 26
    MIT-BIH records outside AF, it found 32 % of the S, V and F beats, the
    paired reference 51 % (flagging 0.16 % of the other beats).

    Examples
    --------
    >>> premature_beats(np.array([1.0, 1.0, 0.6, 1.4, 1.0, 1.0])).nonzero()[0].tolist()
    [3]
    >>> bigeminy = np.tile([0.6, 1.4], 10)
    >>> int(premature_beats(bigeminy).sum()), int(premature_beats(bigeminy, paired=False).sum())
    (10, 0)
    """
    if rr.size < 3:
        return np.zeros(rr.size + 1, dtype=bool)
    return _premature(rr, _timing_reference(rr, paired), early, pause)


def _premature(rr: np.ndarray, med: np.ndarray, early: float, pause: float) -> np.ndarray:
    # premature_beats against the reference intervals ``med`` (3 or more intervals).
    out = np.zeros(rr.size + 1, dtype=bool)
    prev, nxt = rr[:-1], rr[1:]
    out[1:-1] = (prev < early * med[:-1]) \
        & (np.abs(prev + nxt - 2 * med[:-1]) < pause * 2 * med[:-1]) & (nxt > med[:-1])
    return out


def _timing_reference(rr: np.ndarray, paired: bool = True) -> np.ndarray:
    # The local sinus interval each interval is judged against (premature_beats).
    base = np.concatenate([(rr[:-1] + rr[1:]) / 2, rr[-1:]]) if paired else rr
    return median_filter(base, 9)


def timing_labels(rr: np.ndarray, early: float = EARLY,
                  premature: np.ndarray | None = None) -> np.ndarray:
    """Stand-in beat labels from timing alone, for the bigeminy of unlabelled
    beats: ``V`` for a beat :func:`premature_beats` flags (early, then a
    compensatory pause), ``Q`` (unknown) for a beat that is early without
    that pause (the first of a couplet), ``N`` otherwise. The ``Q`` keeps runs
    of couplets out of the pattern: on MIT-BIH beat times bigeminy +P went
    from 91 to 94 % (duration) with it. ``premature``, when given, is
    :func:`premature_beats` of ``rr`` with the same ``early`` (saves
    computing it again).

    Examples
    --------
    >>> rr = np.tile([0.9, 0.55, 1.35], 6)   # N N V: trigeminy
    >>> "".join(timing_labels(rr))[3:12]
    'NNVNNVNNV'
    >>> rr = np.tile([0.5, 0.5, 1.0], 6)     # N V V: couplets, no trigeminy
    >>> "".join(timing_labels(rr))[3:12]
    'NQVNQVNQV'
    """
    lab = np.full(rr.size + 1, "N", dtype="<U1")
    if rr.size < 3:
        return lab
    med = _timing_reference(rr)
    lab[1:][rr < early * med] = "Q"
    lab[_premature(rr, med, early, 0.1) if premature is None else premature] = "V"
    return lab


def plausible_intervals(rr: np.ndarray, st: "RhythmSettings") -> np.ndarray:
    """R-R intervals a heart can make: longer than 0.2 s, shorter than a pause."""
    return (rr > 0.2) & (rr < st.pause_s)


#: An interval within this share of two or three local intervals is a beat
#: the detector missed (:func:`missed_beat_intervals`).
MISSED_TOL = 0.1


def missed_beat_intervals(rr: np.ndarray, plausible: np.ndarray, window: int,
                          tol: float = MISSED_TOL) -> np.ndarray:
    """True for intervals two or three local intervals long (within ``tol``):
    where a detector missed a beat, or two, in a steady rhythm.

    The local interval is a running median over ``window`` of the
    ``plausible`` intervals, each first divided by the whole number of local
    intervals it spans, so that it holds where missed beats are most of them.
    Beat times kept by a weaker detector than ecgtool's (an archive's
    ``.qrs`` files) miss beats, and the doubled intervals read as AF's
    irregularity; AF's own intervals rarely fall that close to a multiple of
    their median. With beats dropped at random from MIT-BIH's and CPSC
    2021's reference beats (10, 20, 40 %), leaving these intervals out of the
    AF score took the AF duration +P from beat times from 31.8, 21.1 and 10.9
    to 39.7, 30.3 and 22.6 % (MIT-BIH) and from 85.6, 79.6 and 72.3 to 88.7,
    83.0 and 82.8 % (CPSC 2021); with no beat dropped it moved +P by +0.3 and
    -0.3 points and Se by 0.0 and +0.2. ``tol`` was chosen there among 0.1,
    0.15 and 0.2 (the least change with none dropped, the others no better).

    Examples
    --------
    >>> rr = np.r_[np.full(20, 0.8), 1.6, np.full(20, 0.8)]     # one beat missed
    >>> np.flatnonzero(missed_beat_intervals(rr, np.ones(rr.size, bool), 31)).tolist()
    [20]
    """
    out = np.zeros(rr.size, dtype=bool)
    idx = np.flatnonzero(plausible)
    if idx.size < 4:
        return out
    x = rr[idx]
    local = median_filter(x, window)
    local = median_filter(x / np.maximum(np.round(x / local), 1.0), window)
    ratio = x / local
    k = np.round(ratio)
    out[idx[(k >= 2) & (k <= 3) & (np.abs(ratio / np.maximum(k, 1.0) - 1.0) < tol)]] = True
    return out


def early_beats(rr: np.ndarray, plausible: np.ndarray, half: int,
                early: float = EARLY) -> np.ndarray:
    """Beats whose interval is under ``early`` times the mean of the plausible
    intervals within +-``half`` of it (one value per beat; the first is False).

    Examples
    --------
    >>> rr = np.array([1.0, 1.0, 1.0, 0.7, 1.3, 1.0, 1.0])
    >>> early_beats(rr, np.ones(7, bool), 3).nonzero()[0].tolist()
    [4]
    """
    out = np.zeros(rr.size + 1, dtype=bool)
    s_ref, k_ref = window_sum(rr, plausible, half)
    out[1:] = rr < early * s_ref / np.maximum(k_ref, 1)
    return out
