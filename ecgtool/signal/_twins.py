"""Pure numpy/Python twins of the kernels in ``ecgtool._core``.

They exist to be read and to be tested against: the compiled kernels must
return the same values (filters to rounding, indices exactly). They are also
the fallback backend (``backend="python"``), about a hundred times slower.
"""

from __future__ import annotations

import numpy as np

NBUF = 8


def compiled(backend: str) -> bool:
    """True for the compiled kernels (``"c"``), False for these twins
    (``"python"``); any other name is a ValueError."""
    if backend not in ("c", "python"):
        raise ValueError(f"unknown backend {backend!r}; choose from 'c', 'python'")
    return backend == "c"


def moving_mean(x: np.ndarray, half: int) -> np.ndarray:
    """Twin of ``_core._moving_mean_1d``: centred mean over ``2*half+1``
    samples, edges repeating the end samples, via a cumulative sum."""
    w = 2 * half + 1
    padded = np.concatenate([np.full(half + 1, x[0]), x, np.full(half, x[-1])])
    c = np.cumsum(padded)
    return (c[w:] - c[:-w]) / w


def qrs_filter(x: np.ndarray, step: int, lp_half: int, hp_half: int, int_half: int,
               scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Twin of ``_core._qrs_filter``: returns ``(band, feature)`` at ``fs / step``."""
    lp = moving_mean(moving_mean(x, lp_half), lp_half)[::step]
    band = lp - moving_mean(lp, hp_half)
    sq = np.zeros_like(band)
    sq[1:-1] = ((band[2:] - band[:-2]) * scale) ** 2
    return band, moving_mean(sq, int_half)


def window_argmax(values: np.ndarray, centres: np.ndarray, half: int, sign: np.ndarray,
                  absolute: bool) -> np.ndarray:
    """Twin of ``_core._window_argmax``: returns the indices."""
    idx = np.clip(centres[:, None] + np.arange(-half, half + 1)[None, :], 0, values.size - 1)
    w = np.abs(values[idx]) if absolute else values[idx] * (sign[:, None] if sign.size > 1
                                                             else sign[0])
    return idx[np.arange(centres.size), np.argmax(w, axis=1)]


def _max_slope(sig: np.ndarray, p: int, half: int, step: int) -> float:
    n = sig.size
    lo, hi = max(p - half, step), min(p + half, n - 1 - step)
    if hi < lo:
        return 0.0
    return float(np.max(np.abs(sig[lo + step:hi + step + 1] - sig[lo - step:hi - step + 1])))


def _median(buf: list[float]) -> float:
    s = sorted(buf)
    return 0.5 * (s[NBUF // 2 - 1] + s[NBUF // 2])


class _Ring:
    """The last NBUF values and their median."""

    def __init__(self, value: float):
        self.buf = [value] * NBUF
        self.pos = 0
        self.median = value

    def push(self, value: float) -> None:
        self.buf[self.pos] = value
        self.pos = (self.pos + 1) % NBUF
        self.median = _median(self.buf)


def find_qrs(feat: np.ndarray, sig: np.ndarray, init_qrs: float, init_noise: float,
             init_rr: float, refractory: int, twave: int, slope_half: int, slope_step: int,
             threshold: float, noise_gain: float, threshold_cap: float, t_ratio: float,
             sb_factor: float, sb_threshold: float, floor: float,
             relearn_noise: float) -> np.ndarray:
    """Twin of ``_core._find_qrs``; returns the QRS indices into ``feat``.

    For each local maximum ``p`` of ``feat``, in order:

    1. search-back: when more than ``sb_factor`` median RR intervals have
       passed since the wait began (the last beat, the record start, or
       where the last wait ran out, see 5), the largest non-T
       peak seen since then becomes a beat if it clears ``sb_threshold``
       times the threshold, and ``p`` is looked at again;
    2. peaks within ``refractory`` samples of the last beat are ignored;
    3. a peak above the threshold (the median of the last 8 noise peaks plus
       a fraction of the gap up to the median of the last 8 beat peaks:
       ``threshold`` plus ``noise_gain`` times the ratio of the two medians,
       at most ``threshold_cap`` or ``threshold`` if that is larger)
       moves to the largest value within the refractory span and is a beat,
       unless it is T-like: less than ``twave`` samples after the last beat
       and with a steepest slope of ``sig`` (over ``2*slope_step`` samples,
       within ``slope_half`` of the peak) under ``t_ratio`` times the larger
       of the last beat's and the median beat's;
    4. anything else is a noise peak;
    5. re-learning: when a search-back wait (measured from the last beat, or
       from where the previous wait ran out) runs out because its largest
       peak does not clear the bar, that peak joins the beat peaks if it
       clears ``floor`` and ``relearn_noise`` times the median noise peak,
       and a new wait starts.
    """
    n = feat.size
    out: list[int] = []
    if n < 3 or sig.size != n:
        return np.zeros(0, dtype=np.int64)
    qrs, noise, rr = _Ring(init_qrs), _Ring(init_noise), _Ring(init_rr)
    slopes = _Ring(0.0)
    last_slope = 0.0
    last = -1
    wait = 0  # where the wait for the next beat began
    sb_pos, sb_val = -1, 0.0

    def level() -> float:
        k = threshold
        if noise_gain > 0 and qrs.median > 0:
            k = threshold + noise_gain * noise.median / qrs.median
            if k > threshold_cap:
                k = max(threshold_cap, threshold)
        return noise.median + k * (qrs.median - noise.median)

    def slope_at(q: int) -> float:
        return _max_slope(sig, q, slope_half, slope_step)

    thr = level()

    i = 1
    while i < n - 1:
        if not (feat[i] > feat[i - 1] and feat[i] >= feat[i + 1]):
            i += 1
            continue
        p, v = i, float(feat[i])
        overdue = sb_pos >= 0 and p - wait > sb_factor * rr.median and p - sb_pos > refractory
        searchback = overdue and sb_val > sb_threshold * thr and sb_val > floor
        if overdue and not searchback:
            if sb_val > floor and sb_val > relearn_noise * noise.median:
                qrs.push(sb_val)
                thr = level()
            wait, sb_pos = p, -1
        if searchback:
            p, v = sb_pos, sb_val
            is_beat, t_like = True, False
        else:
            if last >= 0 and p - last <= refractory:
                i += 1
                continue
            is_beat = v > thr and v > floor
            if is_beat:
                end = min(p + refractory, n)
                p = p + int(np.argmax(feat[p:end]))
                v = float(feat[p])
            t_like = False
            if last >= 0 and p - last < twave:
                t_like = slope_at(p) < t_ratio * max(slopes.median, last_slope)
        if is_beat and not t_like:
            slope = slope_at(p)
            if last >= 0:
                rr.push(p - last)
            else:
                slopes = _Ring(slope)
            qrs.push(v)
            slopes.push(slope)
            last_slope = slope
            out.append(p)
            last = wait = p
            sb_pos = -1
            thr = level()
            if not searchback:
                i = p + 1
            continue
        noise.push(v)
        thr = level()
        if not t_like and (sb_pos < 0 or v > sb_val):
            sb_pos, sb_val = p, v
        i = p + 1
    if (sb_pos >= 0 and n - wait > sb_factor * rr.median
            and sb_val > sb_threshold * thr and sb_val > floor):
        out.append(sb_pos)
    return np.asarray(out, dtype=np.int64)


def running_median(x: np.ndarray, half: int) -> np.ndarray:
    """Twin of ``_core._running_median``: centred median along axis 1, ends mirrored."""
    n = x.shape[1]
    idx = np.arange(-half, n + half)
    idx = np.where(idx < 0, -idx, np.where(idx >= n, 2 * (n - 1) - idx, idx))
    view = np.lib.stride_tricks.sliding_window_view(x[:, idx], 2 * half + 1, axis=1)
    return np.median(view, axis=-1).astype(x.dtype)


def running_rank(x: np.ndarray, size: int) -> np.ndarray:
    """Twin of ``_core._running_rank``: rank ``size // 2`` of each window, ends nearest."""
    lo = size // 2
    idx = np.clip(np.arange(x.size + size - 1) - lo, 0, x.size - 1)
    view = np.lib.stride_tricks.sliding_window_view(x[idx], size)
    return np.partition(view, lo, axis=-1)[:, lo].astype(np.float64)


def nearest_shapes(qrs: np.ndarray, rows: np.ndarray, count: int, near: float, span: int,
                   shift: int, first: bool = False) -> np.ndarray:
    """Twin of ``_core._nearest_shapes`` (same arguments; returns ``out``)."""
    n, width = qrs.shape[0], qrs.shape[1] - 2 * shift
    out = np.full((rows.size, count), -1, dtype=np.intp)
    # Offsets -1, 1, -2, 2, ...: a stable sort keeps the nearer in time first.
    offsets = np.arange(-span, span + 1)
    offsets = offsets[np.argsort(np.abs(offsets), kind="stable")][1:]
    others = qrs[:, shift:shift + width].astype(np.float64)
    for r, i in enumerate(rows):
        j = i + offsets
        j = j[(j >= 0) & (j < n)]
        best = np.full(j.size, np.inf)
        for s in range(2 * shift + 1):
            beat = qrs[i, s:s + width].astype(np.float64)
            d = np.sum((others[j] - beat) ** 2, axis=1) / max(np.sum(beat ** 2), 1e-9)
            best = np.minimum(best, d)  # NaN (a beat with a gap) stays NaN: never near
        ok = best < near * near
        if ok.sum() >= count:
            # j runs nearest in time first.
            pick = (np.arange(count) if first
                    else np.argsort(best[ok], kind="stable")[:count])
            out[r] = np.sort(j[ok][pick])
    return out


def vf_filter(y: np.ndarray, n: int, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Twin of ``_core._vf_filter``: ``(half, leak, swing)`` of the windows of
    ``n`` samples every ``step``, computed a chunk of windows at a time."""
    view = np.lib.stride_tricks.sliding_window_view(y, n)[::step]
    m = view.shape[0]
    half, leak, swing = np.full(m, np.nan), np.full(m, np.nan), np.zeros(m)
    i = np.arange(n)
    for a in range(0, m, 1024):
        w = view[a:a + 1024]
        s_abs = np.abs(w).sum(axis=1)
        s_diff = np.abs(np.diff(w, axis=1)).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            exact = np.pi * s_abs / s_diff
        lag = np.floor(np.where(np.isfinite(exact), exact, 0.0) + 0.5)
        ok = (lag >= 1) & (lag < n)
        j = i[None, :] - np.where(ok, lag, 1).astype(np.int64)[:, None]
        later = j >= 0
        earlier = np.take_along_axis(w, np.maximum(j, 0), axis=1)
        num = np.where(later, np.abs(w + earlier), 0.0).sum(axis=1)
        den = np.where(later, np.abs(w) + np.abs(earlier), 0.0).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            leak[a:a + 1024] = np.where(ok & (den > 0), num / den, np.nan)
        half[a:a + 1024] = np.where(ok, exact, np.nan)
        swing[a:a + 1024] = w.max(axis=1) - w.min(axis=1)
    return half, leak, swing


def _offsets(k: int, own: int) -> np.ndarray:
    # The k positions before a value and the k after the `own` values from it.
    return np.concatenate([np.arange(-k, 0), np.arange(own, own + k)])


def _rows(v: np.ndarray, at: np.ndarray, k: int, own: int = 1) -> np.ndarray:
    # Row j: the context of v[at[j]] (see _offsets), the ends held at the
    # first and last values.
    return v[np.clip(at[:, None] + _offsets(k, own), 0, v.size - 1)]


def _max_around(v: np.ndarray, k: int, own: int) -> np.ndarray:
    # Largest context value of every position, by shifted maxima.
    p = np.pad(v, (k, k + own), mode="edge")
    out = np.full(v.size, -np.inf)
    for o in _offsets(k, own):
        np.maximum(out, p[k + o:k + o + v.size], out=out)
    return out


def split_pass(r: np.ndarray, amp: np.ndarray, fs: float, rule) -> np.ndarray:
    """Twin of one pass of ``_core._split_rule``: its drop mask; no two
    neighbours are both flagged."""
    from ecgtool.signal.artefacts import AMP_CONTEXT, RR_CONTEXT, _middle

    n = r.size
    drop = np.zeros(n, dtype=bool)
    if n < 5:
        return drop
    rr = np.diff(r).astype(np.float64) / fs
    # v[i] is beat i's interval before it and v[i + 1] the one after; its
    # context is the RR_CONTEXT intervals on either side of those two.
    v = np.concatenate(([rr[0]], rr))
    prev = np.concatenate(([np.inf], rr))
    span = np.full(n, np.inf)
    span[1:-1] = rr[:-1] + rr[1:]
    after = np.concatenate((rr[1:], [np.inf, np.inf]))     # beat i+1 -> i+2
    # The context median is at most its maximum: beats that are not early
    # even against that cannot pass.
    top = _max_around(v, RR_CONTEXT, 2)
    cand = np.flatnonzero((prev < rule.early * top) & (span < rule.span * top))
    if cand.size == 0:
        return drop
    ctx = _rows(v, cand, RR_CONTEXT, own=2)
    med = _middle(ctx)
    irregular = _middle(np.abs(np.diff(ctx, axis=1))) / med
    amp_med = _middle(_rows(amp, cand, AMP_CONTEXT))
    hit = ((span[cand] < rule.span * med) & (prev[cand] < rule.early * med)
           & (after[cand] >= rule.early * med)
           & (amp[cand] < rule.amplitude * amp_med) & (irregular < rule.irregularity))
    drop[cand[hit]] = True
    drop[1:] &= ~drop[:-1]
    return drop


def group_quantile(values: np.ndarray, groups: np.ndarray, n_groups: int,
                   q: float) -> np.ndarray:
    """Twin of ``_core._group_quantile``: numpy's linear quantile ``q`` of
    each group's values (``groups`` non-decreasing), NaN for a group
    without values."""
    out = np.full(n_groups, np.nan)
    if values.size == 0:
        return out
    count = np.bincount(groups, minlength=n_groups)
    rank = np.arange(values.size) - (np.cumsum(count) - count)[groups]
    # One row per group, padded with +inf, which sorts last.
    rows = np.full((n_groups, int(count.max())), np.inf)
    rows[groups, rank] = values
    rows.sort(axis=1)
    has = np.flatnonzero(count)
    pos = (count[has] - 1) * q
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, count[has] - 1)
    a, b = rows[has, lo], rows[has, hi]
    out[has] = a + (b - a) * (pos - lo)
    return out


def noisy_windows(feat: np.ndarray, step: int, level: np.ndarray, w: int, gate: float,
                  reach: int) -> np.ndarray:
    """Twin of ``_core._noisy_windows``: the noisy windows, given each
    window's median feature at its beats (NaN for none; one at least)."""
    n_win = level.size
    has = np.flatnonzero(np.isfinite(level))
    # A window without beats takes the level of the nearest with some (the
    # median over the windows around counts it once more).
    k = np.arange(n_win)
    j = np.searchsorted(has, k)
    after, before = has[np.minimum(j, has.size - 1)], has[np.maximum(j - 1, 0)]
    near = np.where(np.abs(before - k) < np.abs(after - k), before, after)
    level = running_rank(level[near], 2 * reach + 1)
    # Every sixth value of a window: its median is as good a background,
    # and the upper median (rank m // 2 of m values) is over the bar when at
    # least m - m // 2 values are: a count, cheaper than a partition.
    bar = gate * level
    ws = max(w // step, 1)
    full = min(n_win, feat.size // ws) if w % step == 0 else 0
    count = np.empty(n_win, dtype=np.int64)
    # Whole windows as rows of a view; a last, partial one (or all, where a
    # window is no whole number of steps) gathered with its end held.
    count[:full] = np.count_nonzero(feat[:full * ws].reshape(full, ws)[:, ::6]
                                    > bar[:full, None], axis=1)
    starts = np.minimum(k[full:] * w // step, max(feat.size - 1, 0))
    idx = np.minimum(starts[:, None] + np.arange(0, ws, 6)[None, :], feat.size - 1)
    count[full:] = np.count_nonzero(feat[idx] > bar[full:, None], axis=1)
    m = -(-ws // 6)
    over = count >= m - m // 2
    # Beats found nowhere within the windows around: nothing to compare with.
    far = np.abs(near - k) > reach
    return over | far | ~(level > 0)


def close_pass(r: np.ndarray, amp: np.ndarray, min_gap: int) -> np.ndarray:
    """Twin of ``_core._closer_than``, one pass of it: the smaller of the
    first close pair of each chain (what survives meets the next detection
    in the following pass)."""
    drop = np.zeros(r.size, dtype=bool)
    close = np.diff(r) < min_gap
    first = np.flatnonzero(close & ~np.concatenate(([False], close[:-1])))
    drop[np.where(amp[first + 1] > amp[first], first, first + 1)] = True
    return drop


def window_measures(x: np.ndarray, feat: np.ndarray, step: int, peaks: np.ndarray,
                    other: np.ndarray, w: int, rows: np.ndarray, half: int, hw: int,
                    tol: float, fs: float) -> np.ndarray:
    """Twin of ``_core._window_measures``: per window of ``rows``, its beats,
    the feature's median at them and 90th centile away from them, the share
    of beats with a twin in ``other``, the R-R intervals' coefficient of
    variation and share of short ones, and the beats' likeness (columns)."""
    from ecgtool.signal.leads import _has_twin

    n_win = max(1, -(-x.size // w))
    # The windows measured, numbered 0, 1, ... (-1: not measured).
    slot = np.full(n_win, -1, dtype=np.int64)
    slot[rows] = np.arange(rows.size)
    m = rows.size
    at = peaks // step
    all_win = np.minimum(peaks // w, n_win - 1)
    mine = slot[all_win] >= 0
    pk, win = peaks[mine], slot[all_win[mine]]
    count = np.bincount(win, minlength=m)
    # The feature's level at the beats, and its background: the samples
    # more than `half` from every beat.
    level = group_quantile(feat[at[mine]], win, m, 0.5)
    # The feature's samples in the measured windows, each window's in turn.
    edges = np.minimum(np.minimum(np.arange(n_win + 1) * w, x.size) // step, feat.size)
    lo, size = edges[rows], edges[rows + 1] - edges[rows]
    first = np.cumsum(size) - size
    idx = np.arange(int(size.sum())) - np.repeat(first - lo, size)
    # ... more than `half` from every beat.
    j = np.searchsorted(at, idx)
    near = np.zeros(idx.size, dtype=bool)
    if at.size:
        near = (np.abs(idx - at[np.maximum(j - 1, 0)]) <= half) | \
            (np.abs(at[np.minimum(j, at.size - 1)] - idx) <= half)
    p90 = group_quantile(feat[idx[~near]], np.repeat(np.arange(m), size)[~near], m, 0.9)
    agree = np.bincount(win, _has_twin(pk, other, tol), minlength=m) / np.maximum(count, 1)
    # R-R intervals within each window.
    same = win[1:] == win[:-1]
    rr = np.diff(pk)[same] / fs
    rr_win = win[1:][same]
    k = np.bincount(rr_win, minlength=m)
    mean = np.bincount(rr_win, rr, minlength=m) / np.maximum(k, 1)
    var = np.bincount(rr_win, (rr - mean[rr_win]) ** 2, minlength=m) / np.maximum(k, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = np.minimum(np.sqrt(var) / mean, 2.0)
    median_rr = group_quantile(rr, rr_win, m, 0.5)
    short = np.bincount(rr_win, rr < 0.6 * median_rr[rr_win], minlength=m) / np.maximum(k, 1)
    return np.column_stack([count, level, p90, agree, cv, short,
                            _likeness(x, pk, win, m, hw)])


def _likeness(x: np.ndarray, peaks: np.ndarray, win: np.ndarray, n_win: int,
              hw: int) -> np.ndarray:
    # Per window, the mean correlation of each beat's +-hw samples (mean
    # taken out) with their median, sample by sample; 0 with none.
    ok = (peaks > hw) & (peaks < x.size - hw)
    out = np.zeros(n_win)
    if not ok.any():
        return out
    pk, g = peaks[ok], win[ok]
    seg = x[pk[:, None] + np.arange(-hw, hw)[None, :]]
    seg -= seg.mean(axis=1, keepdims=True)
    count = np.bincount(g, minlength=n_win)
    rank = np.arange(pk.size) - (np.cumsum(count) - count)[g]
    # Each window's median beat, sample by sample: its beats sorted, padding
    # (+inf) last, the middle one or two of its own count.
    padded = np.full((n_win, int(count.max()), seg.shape[1]), np.inf)
    padded[g, rank] = seg
    padded.sort(axis=1)
    c = count[g]
    t = (padded[g, ((c - 1) // 2)] + padded[g, c // 2]) / 2.0
    norm = np.linalg.norm(seg, axis=1) * np.linalg.norm(t, axis=1)
    corr = np.where(norm > 0, np.einsum("ij,ij->i", seg, t) / np.where(norm > 0, norm, 1.0), 0.0)
    has = count > 0
    out[has] = np.bincount(g, corr, minlength=n_win)[has] / count[has]
    return out


def tree_leaves(rows: np.ndarray, feature: np.ndarray, threshold: np.ndarray, left: np.ndarray,
                right: np.ndarray) -> np.ndarray:
    """Twin of ``_core._tree_leaves``: the leaf each row reaches in each tree,
    all trees and rows stepped together."""
    n_trees = feature.shape[0]
    node = np.zeros((n_trees, rows.shape[0]), dtype=np.int64)
    trees = np.arange(n_trees)[:, None]
    for _ in range(feature.shape[1]):
        inner = left[trees, node] >= 0
        if not inner.any():
            break
        go_left = rows[np.arange(rows.shape[0])[None, :], feature[trees, node].clip(0)] \
            <= threshold[trees, node]
        node = np.where(inner, np.where(go_left, left[trees, node], right[trees, node]), node)
    return node
