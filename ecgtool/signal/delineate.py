"""Wave delineation: QRS onset/offset and P/T onset, peak and offset per beat.

The method follows the slope logic of the wavelet delineator of Martinez et
al. (2004): each wave shows up in a smoothed derivative of the ECG as a pair
of opposite slope extrema; its peak is the zero crossing between them and
its boundaries are where the slope magnitude falls below a fixed fraction of
the outer extremum. Here the smoothed derivatives are differences of
centred moving means set in milliseconds (so any sampling rate works), one
scale for the QRS complex and a coarser one for P and T waves. All beats of
a record are processed at once as a matrix of windows. By default the QRS
onset and offset come instead from a small network
(:mod:`ecgtool.signal.qrsnet`), which misses cardiologists' marks by less;
the P and T searches start from its boundaries. Whether a beat has a P wave
comes from a second network (:mod:`ecgtool.signal.pnet`), and its points
are the mean of that network's and the slope search's where both found one.

References
----------
Martinez JP, Almeida R, Olmos S, Rocha AP, Laguna P. A wavelet-based ECG
delineator: evaluation on standard databases. IEEE Trans Biomed Eng
2004;51(4):570-581.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtool.signal.pnet import DEFAULT_WEIGHTS, LONG_READ, STEADY_LOGIT, p_waves_read
from ecgtool.signal.quality import unreadable_in


@dataclass(frozen=True)
class DelineationSettings:
    """Scales, windows and thresholds of the delineator (milliseconds and fractions).

    The defaults were chosen on LUDB (Lobachevsky University database); the
    QT database is kept for testing them. The fallbacks for a QRS or T wave
    whose slope never settles (``qrs_fallback_fraction``, and the T onset at
    the flattest point) were added after QTDB showed the failure, and kept
    because LUDB improved with them too.
    """

    qrs_smooth_ms: float = 14.0
    qrs_diff_ms: float = 4.0
    wave_smooth_ms: float = 40.0
    wave_diff_ms: float = 8.0
    qrs_before_ms: float = 120.0
    qrs_after_ms: float = 160.0
    qrs_core_ms: float = 50.0
    qrs_significant: float = 0.2
    qrs_onset_fraction: float = 0.1
    qrs_offset_fraction: float = 0.1
    qrs_fallback_fraction: float = 0.3
    t_start_ms: float = 100.0
    t_end_ms: float = 550.0
    t_end_rr: float = 0.7
    t_offset_fraction: float = 0.4
    t_onset_fraction: float = 0.3
    p_smooth_ms: float = 30.0
    p_diff_ms: float = 10.0
    p_start_ms: float = 280.0
    p_end_ms: float = 50.0
    p_rr: float = 0.5
    p_fraction: float = 0.5
    min_t_mv: float = 0.04
    min_p_mv: float = 0.025
    #: QRS onset and offset from the network of :mod:`ecgtool.signal.qrsnet`:
    #: "default" for the shipped weights, a path for others, "" for the
    #: slope thresholds above alone.
    qrs_net: str = "default"
    #: Whether a beat has a P wave, from the network of
    #: :mod:`ecgtool.signal.pnet`, and its points: the mean of the network's
    #: and the slope rules' where both found one. "default", a path, or ""
    #: for the slope rules alone.
    p_net: str = "default"
    #: A P wave the network doubts (logit above this, below 0) counts amid
    #: P waves at a steady distance from the R peak
    #: (:func:`ecgtool.signal.pnet.p_waves_net`); 0 for the network's word alone.
    p_steady_logit: float = STEADY_LOGIT
    #: Where the network finds no P wave, it reads the beat again over a
    #: window this many times as long, for first-degree AV block
    #: (:func:`ecgtool.signal.pnet.p_waves_read`); 0 reads no further.
    p_long_read: float = LONG_READ


DEFAULT_DELINEATION = DelineationSettings()


def _p_from_net(x: np.ndarray, fs: float, r: np.ndarray, out: dict, p_net: str,
                steady_logit: float, long_read: float) -> None:
    # The network says whether there is a P wave; where the slope rules
    # found one too, the two estimates are averaged (on LUDB's folds the
    # mean beat either alone on every lead). P ends before the QRS begins.
    present, pts, far = p_waves_read(x, fs, r, DEFAULT_WEIGHTS if p_net == "default" else p_net,
                                     steady_logit=steady_logit, long_read=long_read)
    keys = ("p_onset", "p_peak", "p_offset")
    slope = np.stack([out[k] for k in keys], axis=1)
    # The slope rules search no further back than the network's window.
    both = (slope >= 0).all(axis=1) & ~far
    # The long reading reaches into the previous beat's T wave, which lies at
    # a steady distance too where the rate is steady: a P wave it finds
    # there (QTDB sel31's second lead: 124 ms before that T wave ends) is none.
    t_prev = np.concatenate([[-1], out["t_offset"][:-1]])
    present &= ~(far & (t_prev >= 0) & (pts[:, 0] <= t_prev))
    pts[both] = (pts[both] + slope[both] + 1) // 2
    qrs_on = out["qrs_onset"]
    last = np.where(qrs_on > 0, qrs_on - 1, r - 1)
    pts = np.minimum(pts, last[:, None])  # keeps onset <= peak <= offset
    pts[~present] = -1
    for i, k in enumerate(keys):
        out[k] = pts[:, i]


@dataclass(frozen=True)
class Delineation:
    """Wave points of each beat (int64 sample indices, -1 where not found)."""

    qrs_onset: np.ndarray
    qrs_offset: np.ndarray
    p_onset: np.ndarray
    p_peak: np.ndarray
    p_offset: np.ndarray
    t_onset: np.ndarray
    t_peak: np.ndarray
    t_offset: np.ndarray
    r_amp_mv: np.ndarray


def _samples(ms: float, fs: float) -> int:
    return max(1, int(round(ms * fs / 1000.0)))


def smooth(ecg: np.ndarray, fs: float, smooth_ms: float) -> np.ndarray:
    """Two moving means of ``smooth_ms`` (a triangular low-pass).

    Computed as one convolution, so each value depends only on its own
    neighbourhood (not on where the array starts): streamed blocks and a
    single pass give the same boundaries to the last bit.
    """
    half = _samples(smooth_ms, fs) // 2
    box = np.ones(2 * half + 1) / (2 * half + 1)
    kernel = np.convolve(box, box)
    pad = 2 * half
    x = np.concatenate([np.full(pad, ecg[0]), ecg, np.full(pad, ecg[-1])])
    return np.convolve(x, kernel, mode="same")[pad:-pad] if pad else x.copy()


def smoothed_slope(ecg: np.ndarray, fs: float, smooth_ms: float, diff_ms: float) -> np.ndarray:
    """Derivative (mV/s) of the ECG smoothed by two moving means of ``smooth_ms``.

    The difference is taken over ``2*diff_ms``; like a wavelet scale, the
    pair sets which waves stand out.

    Examples
    --------
    >>> x = np.linspace(0.0, 1.0, 500)
    >>> float(np.round(smoothed_slope(x, 500.0, 10, 4)[250], 6))
    1.002004
    """
    s = smooth(ecg, fs, smooth_ms)
    k = _samples(diff_ms, fs)
    out = np.zeros_like(s)
    out[k:-k] = (s[2 * k:] - s[:-2 * k]) * (fs / (2 * k))
    return out


def _edge_cut(onset: np.ndarray, offset: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    # A boundary on the first or last of n samples (where the search windows
    # are clipped) belongs to a wave that runs past the recording: -1, not
    # found, rather than a guess (a first beat's QRS duration too short).
    return np.where(onset > 0, onset, -1), np.where(offset < n - 1, offset, -1)


def _drop_unreadable(out: dict, r: np.ndarray, bad: np.ndarray) -> None:
    # A wave that overlaps unreadable samples (NaN runs, interpolated for
    # filtering) was measured on a straight line drawn through the gap: its
    # points are -1, as at the record's edges. The QRS boundaries are judged
    # apart, each from the R peak out. The four spans of every beat go to
    # one query (one pass over the mask).
    start = np.concatenate([out["p_onset"], out["t_onset"], out["qrs_onset"], r])
    stop = np.concatenate([out["p_offset"], out["t_offset"], r, out["qrs_offset"]])
    hit = (start >= 0) & (stop >= 0) & unreadable_in(bad, start, stop)
    p_hit, t_hit, onset_hit, offset_hit = hit.reshape(4, r.size)
    for k in ("p_onset", "p_peak", "p_offset"):
        out[k][p_hit] = -1
    for k in ("t_onset", "t_peak", "t_offset"):
        out[k][t_hit] = -1
    out["qrs_onset"][onset_hit] = -1
    out["qrs_offset"][offset_hit] = -1


def _gather(sig: np.ndarray, start: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    # Rows of `length` samples from each start, clipped; also the indices.
    idx = start[:, None] + np.arange(length)[None, :]
    np.clip(idx, 0, sig.size - 1, out=idx)
    return sig[idx], idx


def _last_true(mask: np.ndarray) -> np.ndarray:
    cols = np.where(mask, np.arange(mask.shape[1])[None, :], -1)
    return cols.max(axis=1)


def _first_true(mask: np.ndarray) -> np.ndarray:
    big = mask.shape[1]
    cols = np.where(mask, np.arange(big)[None, :], big)
    first = cols.min(axis=1)
    return np.where(first == big, -1, first)


def _qrs_bounds(s1: np.ndarray, r: np.ndarray, fs: float,
                st: DelineationSettings) -> tuple[np.ndarray, np.ndarray]:
    before, after = _samples(st.qrs_before_ms, fs), _samples(st.qrs_after_ms, fs)
    length = before + after + 1
    a, idx = _gather(np.abs(s1), r - before, length)
    core = _samples(st.qrs_core_ms, fs)
    m = a[:, before - core:before + core + 1].max(axis=1)
    local_max = np.zeros_like(a, dtype=bool)
    local_max[:, 1:-1] = (a[:, 1:-1] >= a[:, :-2]) & (a[:, 1:-1] > a[:, 2:])
    significant = local_max & (a > st.qrs_significant * m[:, None])
    rows = np.arange(r.size)
    first = _first_true(significant)
    last = _last_true(significant)
    first = np.where(first < 0, before, first)
    last = np.where(last < 0, before, last)
    cols = np.arange(length)[None, :]
    on_level = (st.qrs_onset_fraction * a[rows, first])[:, None]
    on = _last_true((a < on_level) & (cols < first[:, None]))
    off_level = (st.qrs_offset_fraction * a[rows, last])[:, None]
    off = _first_true((a < off_level) & (cols > last[:, None]))
    # Where the slope never falls that low (a QRS running into a sloping ST
    # segment or a P wave), a higher level is accepted rather than none.
    fb = st.qrs_fallback_fraction
    on = np.where(on < 0, _last_true((a < (fb * a[rows, first])[:, None])
                                     & (cols < first[:, None])), on)
    off = np.where(off < 0, _first_true((a < (fb * a[rows, last])[:, None])
                                        & (cols > last[:, None])), off)
    onset = np.where(on >= 0, idx[rows, np.maximum(on, 0)], -1)
    offset = np.where(off >= 0, idx[rows, np.maximum(off, 0)], -1)
    return onset, offset


def _wave(s2: np.ndarray, ecg: np.ndarray, start: np.ndarray, stop: np.ndarray,
          lo: np.ndarray, hi: np.ndarray, on_fraction: float, off_fraction: float,
          min_mv: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # One wave (P or T) per row. Its largest positive and negative slopes,
    # searched in [start, stop], bracket it; the peak is the slope's zero
    # crossing between them; onset and offset are where the slope magnitude
    # falls below a fraction of the outer extremum, searched out to lo / hi.
    n = start.size
    none = np.full(n, -1, dtype=np.int64)
    valid = (stop > start + 2) & (lo <= start) & (hi >= stop)
    if n == 0 or not valid.any():
        return none, none.copy(), none.copy()
    lo = np.where(valid, lo, start)
    length = int(np.max(np.where(valid, hi - lo, 0))) + 1
    w, idx = _gather(s2, lo, length)
    cols = np.arange(length)[None, :]
    rel_start, rel_stop, rel_hi = (start - lo)[:, None], (stop - lo)[:, None], (hi - lo)[:, None]
    in_search = (cols >= rel_start) & (cols <= rel_stop)
    rows = np.arange(n)
    i_max = np.where(in_search, w, -np.inf).argmax(axis=1)
    i_min = np.where(in_search, w, np.inf).argmin(axis=1)
    e1, e2 = np.minimum(i_max, i_min), np.maximum(i_max, i_min)
    a = np.abs(w)
    between = (cols >= e1[:, None]) & (cols <= e2[:, None])
    peak = np.where(between, a, np.inf).argmin(axis=1)
    on = _last_true((a < (on_fraction * a[rows, e1])[:, None]) & (cols < e1[:, None]))
    # A sloping ST segment can run into the T wave with no flat stretch
    # between them: the wave then starts at the flattest point before it.
    flat = np.where(cols < e1[:, None], a, np.inf).argmin(axis=1)
    on = np.where((on < 0) & (e1 > 0), flat, on)
    off = _first_true((a < (off_fraction * a[rows, e2])[:, None]) & (cols > e2[:, None])
                      & (cols <= rel_hi))
    peak_i = idx[rows, peak]
    on_i, off_i = idx[rows, np.maximum(on, 0)], idx[rows, np.maximum(off, 0)]
    # A wave must stand out from the line joining its ends.
    base = 0.5 * (ecg[on_i] + ecg[off_i])
    found = valid & (on >= 0) & (off >= 0) & (e2 > e1) & (np.abs(ecg[peak_i] - base) >= min_mv)
    on_kept, off_kept = _edge_cut(on_i, off_i, ecg.size)
    found &= (on_kept >= 0) & (off_kept >= 0)
    return (np.where(found, on_i, -1), np.where(found, peak_i, -1), np.where(found, off_i, -1))


def delineate(ecg: np.ndarray, fs: float, r_peaks: np.ndarray,
              settings: DelineationSettings = DEFAULT_DELINEATION,
              chunk: int = 4096, unreadable: np.ndarray | None = None) -> Delineation:
    """Find QRS, P and T boundaries around known R peaks.

    Parameters
    ----------
    ecg : numpy.ndarray
        One lead in mV, finite.
    fs : float
        Sampling rate (Hz).
    r_peaks : numpy.ndarray
        Sorted R-peak indices (e.g. from :func:`ecgtool.signal.detect.detect_r_peaks`).
    settings : DelineationSettings
        Scales, windows and thresholds.
    chunk : int
        Beats processed per batch (bounds memory on long records).
    unreadable : numpy.ndarray, optional
        Bool mask of samples that were not recorded (NaN runs, interpolated
        in ``ecg``): a wave that overlaps them is not found (-1), as a wave
        that runs past the first or last sample is not.

    Returns
    -------
    Delineation

    Examples
    --------
    >>> from ecgtool.io.records import read_sample
    >>> from ecgtool.signal.detect import detect_r_peaks
    >>> rec = read_sample("119")
    >>> x = rec.signal[:7200]
    >>> d = delineate(x, rec.fs, detect_r_peaks(x, rec.fs))
    >>> bool(np.all(d.qrs_onset[1:] < d.qrs_offset[1:]))
    True
    """
    x = np.ascontiguousarray(ecg, dtype=np.float64)
    r = np.asarray(r_peaks, dtype=np.int64)
    n = r.size
    if n == 0:
        e = np.zeros(0, dtype=np.int64)
        return Delineation(e, e, e, e, e, e, e, e, np.zeros(0))
    st = settings
    s2 = smoothed_slope(x, fs, st.wave_smooth_ms, st.wave_diff_ms)
    sp = smoothed_slope(x, fs, st.p_smooth_ms, st.p_diff_ms)
    rr = np.diff(r)
    rr_next = np.concatenate([rr, [rr[-1] if rr.size else int(fs)]])
    rr_prev = np.concatenate([[rr[0] if rr.size else int(fs)], rr])
    out = {k: np.full(n, -1, dtype=np.int64) for k in
           ("qrs_onset", "qrs_offset", "p_onset", "p_peak", "p_offset",
            "t_onset", "t_peak", "t_offset")}
    ms = fs / 1000.0
    if st.qrs_net:
        from ecgtool.signal.qrsnet import DEFAULT_WEIGHTS, qrs_bounds_net

        weights = DEFAULT_WEIGHTS if st.qrs_net == "default" else st.qrs_net
        out["qrs_onset"], out["qrs_offset"] = qrs_bounds_net(x, fs, r, weights)
    else:
        # The QRS-scale slope serves the thresholds alone.
        s1 = smoothed_slope(x, fs, st.qrs_smooth_ms, st.qrs_diff_ms)
    for lo in range(0, n, chunk):
        sl = slice(lo, min(n, lo + chunk))
        rc = r[sl]
        if not st.qrs_net:
            out["qrs_onset"][sl], out["qrs_offset"][sl] = _qrs_bounds(s1, rc, fs, st)
        out["qrs_onset"][sl], out["qrs_offset"][sl] = _edge_cut(
            out["qrs_onset"][sl], out["qrs_offset"][sl], x.size)
        on, off = out["qrs_onset"][sl], out["qrs_offset"][sl]
        off_or_r = np.where(off >= 0, off, rc)
        on_or_r = np.where(on >= 0, on, rc - int(40 * ms))
        next_r = np.concatenate([r[sl][1:], [r[sl.stop] if sl.stop < n else x.size - 1]])
        prev_r = np.concatenate([[r[lo - 1] if lo > 0 else 0], r[sl][:-1]])
        # T: peaks searched from after the QRS to a rate-dependent end; the
        # offset may lie up to the next beat's early part.
        t_start = np.maximum(rc + int(st.t_start_ms * ms), off_or_r + int(20 * ms))
        t_stop = rc + np.minimum(int(st.t_end_ms * ms),
                                 (st.t_end_rr * rr_next[sl]).astype(np.int64))
        t_hi = np.minimum(np.maximum(t_stop, np.minimum(next_r - int(100 * ms),
                                                        t_stop + int(150 * ms))), x.size - 1)
        t_stop = np.minimum(t_stop, t_hi)
        res = _wave(s2, x, t_start, t_stop, off_or_r, t_hi, st.t_onset_fraction,
                    st.t_offset_fraction, st.min_t_mv)
        out["t_onset"][sl], out["t_peak"][sl], out["t_offset"][sl] = res
        # P: peaks searched in the PR interval; onset back to the previous T.
        p_stop = on_or_r - int(st.p_end_ms * ms)
        p_lo = np.maximum(np.maximum(prev_r + (st.p_rr * rr_prev[sl]).astype(np.int64),
                                     on_or_r - int(400 * ms)), 0)
        p_start = np.maximum(on_or_r - int(st.p_start_ms * ms), p_lo)
        res = _wave(sp, x, p_start, p_stop, p_lo, on_or_r, st.p_fraction, st.p_fraction,
                    st.min_p_mv)
        out["p_onset"][sl], out["p_peak"][sl], out["p_offset"][sl] = res
    if st.p_net:
        _p_from_net(x, fs, r, out, st.p_net, st.p_steady_logit, st.p_long_read)
    if unreadable is not None and np.any(unreadable):
        _drop_unreadable(out, r, np.asarray(unreadable, dtype=bool))
    on = out["qrs_onset"]
    ref = np.where(on >= 0, on, np.maximum(r - int(60 * ms), 0))
    r_amp = x[r] - x[ref]
    return Delineation(r_amp_mv=r_amp, **out)
