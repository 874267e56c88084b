"""Heart-rate variability of normal-to-normal (NN) intervals.

The measures of the Task Force of the ESC and NASPE (Circulation
1996;93:1043-1065): in the time domain SDNN, RMSSD, pNN50, the HRV
triangular index and TINN and, over 5-minute segments, SDANN and the SDNN index; in
the frequency domain the power of the very-low (0.0033-0.04 Hz), low
(0.04-0.15 Hz) and high (0.15-0.4 Hz) frequency bands and the LF/HF ratio,
each band's power the mean over the record's 5-minute segments (the
short-term spectra that the Task Force standardises, averaged over a long
recording); and, from the spectrum of a whole recording of an hour or
more, the ultra-low frequency power (under 0.0033 Hz) and the total power
(up to 0.4 Hz), the Task Force's long-term measures.

The spectrum of a segment is the Lomb-Scargle periodogram of its NN
intervals at the times of their beats (Laguna, Moody and Mark 1998), which
needs no resampling to a regular grid. The intervals left out, ectopic or
in noise, are bridged by a straight line where the gap is short (an
ectopic beat, a couplet: :func:`bridge_gaps`) and left a gap where it is
long. Each segment is detrended (a straight line through its intervals)
and its periodogram scaled so that the power over all frequencies equals
the variance of its intervals; a band's power is in ms^2. Above half the
beat rate (0.4 Hz is reached from 48 bpm) a band holds what the beat
sampling folds into it.

References
----------
Task Force of the European Society of Cardiology and the North American
Society of Pacing and Electrophysiology. Heart rate variability: standards
of measurement, physiological interpretation and clinical use. Circulation
1996;93(5):1043-1065.
Laguna P, Moody GB, Mark RG. Power spectral density of unevenly sampled
data by least-square analysis: performance and application to heart rate
signals. IEEE Trans Biomed Eng 1998;45(6):698-715.
Press WH, Rybicki GB. Fast algorithm for spectral analysis of unevenly
sampled data. Astrophys J 1989;338:277-280.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ecgtool.rr import clear_intervals, premature_beats, true_runs
from ecgtool.signal.filters import inner_median

#: Segments (s) of SDANN, the SDNN index and the spectra.
SEGMENT_S = 300.0
#: Bin (s) of the NN-interval histogram of the triangular index and TINN.
TRIANGULAR_BIN_S = 1 / 128
#: The triangular index wants this much of NN intervals (s): its histogram
#: needs many intervals (the Task Force: 20 minutes at least, 24 hours best).
MIN_TRIANGULAR_S = 1200.0
#: An NN interval lies within this share of the median of the LOCAL_BEATS
#: intervals centred on it, or the first or last LOCAL_BEATS of the record
#: near its ends (see :func:`nn_intervals`).
LOCAL_SHARE = 0.3
LOCAL_BEATS = 9
#: HRV is measured only where at least this share (%) of the R-R intervals
#: outside the spans left out (noise, AF) are NN. The local test of
#: :func:`nn_intervals` takes the median interval around a beat for the
#: sinus one, which holds while most intervals are; with more ectopy than
#: sinus rhythm (atrial couplets every few beats in a 10-second ECG, the
#: runs of MIT-BIH 208) the "NN" intervals it keeps mix sinus and ectopic
#: ones, and a 10-second ECG had read SDNN 225 ms, RMSSD 413 ms.
MIN_NN_PCT = 50.0
#: Frequency bands (Hz), from the lower edge up to the upper.
BANDS = {"vlf": (0.0033, 0.04), "lf": (0.04, 0.15), "hf": (0.15, 0.4)}
#: A record shorter than one segment gets LF and HF power from all of it
#: when its NN intervals cover this long (the Task Force: about 1 min for
#: HF, 2 min for LF); VLF needs a whole segment.
MIN_SPECTRUM_S = 120.0
#: Runs of intervals that are not NN lasting up to this long (s) are
#: bridged for the spectrum (see :func:`bridge_gaps`).
MAX_BRIDGE_S = 5.0
#: The periodogram's frequencies are this many times as close as a
#: segment's resolution (1 / its length).
OVERSAMPLE = 4
#: ULF (under ULF_HZ) and total power (up to the top of HF) come from the
#: spectrum of the whole recording, where its NN intervals span this long
#: (s): an hour resolves the ULF band into 12 frequencies (1 / 3600 s
#: apart); the Task Force asks for 24 hours.
MIN_LONG_SPECTRUM_S = 3600.0
ULF_HZ = 0.0033


@dataclass(frozen=True)
class Hrv:
    """Heart-rate variability over NN intervals; NaN where there are too few.

    Attributes
    ----------
    sdnn_ms, rmssd_ms : float
        SD of the NN intervals; root mean square of successive differences.
    pnn50_pct : float
        Successive differences over 50 ms, % of all.
    sdann_ms : float
        SD of the mean NN interval of each 5-minute segment (at least two
        segments with NN intervals over half their length).
    sdnn_index_ms : float
        Mean of those segments' SDNN.
    triangular_index : float
        NN intervals over the count of the histogram's highest bin (bins of
        1/128 s); from 20 minutes of NN intervals.
    tinn_ms : float
        Base width of the triangle fitted to that histogram by least squares
        (:func:`tinn`); from 20 minutes of NN intervals.
    ulf_ms2, total_power_ms2 : float
        Power under :data:`ULF_HZ` and up to 0.4 Hz in the spectrum of the
        whole recording (mean removed, not detrended: ULF is the slow drift
        of the rate over the hours); where its NN intervals span
        :data:`MIN_LONG_SPECTRUM_S`.
    vlf_ms2, lf_ms2, hf_ms2 : float
        Power of the bands of :data:`BANDS`, mean over the segments with NN
        intervals over half their length (one segment is enough; LF and HF
        also from a shorter record, see :data:`MIN_SPECTRUM_S`).
    lf_hf : float
        ``lf_ms2 / hf_ms2``.
    nn_pct : float
        The share (%) of the R-R intervals outside the spans left out that
        are NN; below :data:`MIN_NN_PCT` every other measure is NaN.
    """

    sdnn_ms: float
    rmssd_ms: float
    pnn50_pct: float
    sdann_ms: float
    sdnn_index_ms: float
    triangular_index: float
    tinn_ms: float
    ulf_ms2: float
    vlf_ms2: float
    lf_ms2: float
    hf_ms2: float
    lf_hf: float
    total_power_ms2: float
    nn_pct: float


def nn_intervals(times_s: np.ndarray, labels: np.ndarray | None,
                 noise: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """R-R intervals (ms) of beat times, and which are normal-to-normal.

    NN: 0.3-2 s, overlapping no span of ``noise`` (pairs of seconds: the
    unreadable stretches and, as :func:`ecgtool.diagnose.diagnose` passes
    them, the AF episodes), both beats labelled N (when ``labels`` are
    given), neither ectopic by its timing (:func:`ecgtool.rr.premature_beats`:
    early, then a compensatory pause), and within :data:`LOCAL_SHARE` of the
    median of the :data:`LOCAL_BEATS` intervals around it. The timing tests
    matter for beat times without labels and for ectopy the classifier
    called N: on the 26 MIT-BIH records, HRV from beat times alone was off the
    reference-label figures by a median 25 % (SDNN) and 82 % (RMSSD) without
    them, 8 % and 26 % with the compensatory-pause test, 6 % and 18 % (HF
    power 59 -> 13 %) with the local one too. The local test moves the
    figures of the reference labels by a median under 1 %; where it moves
    them more it takes out intervals no sinus node made (MIT-BIH 118: 9 of
    2,056 intervals, around blocked P waves, RMSSD 65 -> 21 ms). A swing of
    the rate by a fifth within each breath, as in some young hearts, loses
    a tenth of its intervals to it.

    Examples
    --------
    >>> t = np.cumsum(np.r_[np.full(10, 0.8), 0.5, 1.1, np.full(10, 0.8)])
    >>> rr, ok = nn_intervals(t, None)
    >>> rr[9:12].round().tolist(), ok[9:12].tolist()   # a PVC and its pause are not NN
    ([500.0, 1100.0, 800.0], [False, False, True])
    """
    t = np.asarray(times_s, dtype=float)
    return _nn(t, labels, clear_intervals(t, noise))


def _nn(t: np.ndarray, labels: np.ndarray | None,
        clear: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # nn_intervals, given which intervals overlap no left-out span: hrv
    # needs that mask too, for the share of them that are NN.
    if t.size < 2:
        return np.zeros(0), np.zeros(0, bool)
    rr = np.diff(t) * 1000.0
    ectopic = premature_beats(np.diff(t))
    ok = (rr > 300) & (rr < 2000) & clear & ~ectopic[:-1] & ~ectopic[1:]
    # An interval far off the ones around it is no sinus interval either (a
    # missed or an extra beat, ectopy without a compensatory pause, a blocked
    # P wave), whatever the beats' labels say.
    local = inner_median(rr, LOCAL_BEATS)
    ok &= np.abs(rr - local) <= LOCAL_SHARE * local
    if labels is not None:
        n = np.asarray(labels) == "N"
        ok &= n[:-1] & n[1:]
    return rr, ok


def tinn(counts: np.ndarray, bin_ms: float) -> float:
    """TINN (ms): the base width of the triangle that fits the histogram
    ``counts`` (bins of ``bin_ms``) best by least squares, its apex on the
    highest bin (the first, where several are), as the Task Force defines it.

    The triangle rises linearly from 0 at its left foot N to the highest
    count at the apex and falls to 0 at its right foot M, and is 0 outside;
    the squared error of each side depends on that side's foot alone, so
    each foot is chosen on its own, among the bins from one outside the
    histogram's first (last) non-empty bin to the apex.

    Examples
    --------
    >>> tinn(np.array([0, 0, 1, 2, 3, 4, 3, 2, 1, 0]), 8.0)    # feet at bins 1 and 9
    64.0
    >>> tinn(np.array([1, 9, 1]), 8.0)                           # one narrow peak
    16.0
    """
    d = np.asarray(counts, dtype=float)
    nz = np.flatnonzero(d)
    if nz.size == 0:
        return float("nan")
    d = np.pad(d[nz[0]:nz[-1] + 1], 1)           # one empty bin either side
    k = int(np.argmax(d))
    y = d[k]

    def foot(side: np.ndarray) -> int:
        # Distance (bins) from the apex of the foot with the least squared
        # error, over the bins of one side (apex excluded), nearest first.
        i = np.arange(1, side.size + 1)                 # distance from the apex
        f = np.arange(1, side.size + 1)[:, None]        # candidate feet
        q = y * np.clip(1.0 - i[None, :] / f, 0.0, None)
        return int(f[np.argmin(((side[None, :] - q) ** 2).sum(axis=1)), 0])

    return float((foot(d[:k][::-1]) + foot(d[k + 1:])) * bin_ms)


def band_powers(times_s: np.ndarray, nn_ms: np.ndarray,
                bands: dict = BANDS) -> dict[str, float]:
    """Power (ms^2) of each band of the NN intervals ``nn_ms`` ending at
    ``times_s`` (s, increasing; gaps allowed): Lomb-Scargle periodogram of
    the detrended intervals, scaled so that its total is their variance.

    Examples
    --------
    >>> # Intervals swinging 20 ms at 0.1 Hz (LF) and 10 ms at 0.25 Hz (HF).
    >>> t = np.arange(0.0, 300.0, 0.8)
    >>> nn = 800 + 20 * np.sin(2 * np.pi * 0.1 * t) + 10 * np.sin(2 * np.pi * 0.25 * t)
    >>> p = band_powers(t, nn)
    >>> round(p["lf"]), round(p["hf"]), p["vlf"] < 1     # 20**2 / 2 and 10**2 / 2
    (199, 50, True)
    """
    t = np.asarray(times_s, dtype=float)
    x = np.asarray(nn_ms, dtype=float)
    span = t[-1] - t[0] if t.size else 0.0
    if t.size < 4 or span <= 0:
        return {k: float("nan") for k in bands}
    # The time the intervals cover: the span less its gaps (noise, AF, runs
    # of ectopy), which sample nothing.
    step = min(span / (t.size - 1), float(np.mean(x)) / 1000.0)
    # Straight-line detrend against time: a slow drift of the rate over the
    # segment is not variability within it.
    x = x - np.polyval(np.polyfit(t - t[0], x, 1), t - t[0])
    df = 1.0 / (OVERSAMPLE * span)
    top = max(b for _, b in bands.values())
    f = df * np.arange(1, int(top / df) + 1)
    # One-sided density: twice the periodogram over the mean sampling rate,
    # that of the intervals themselves: with the span's, a gap of half of it
    # had doubled every band's power.
    psd = 2.0 * step * lomb_scargle(t, x, df, f.size)
    return {k: float(psd[(f >= a) & (f < b)].sum() * df) for k, (a, b) in bands.items()}


def lomb_scargle(t: np.ndarray, x: np.ndarray, df: float, n_freq: int) -> np.ndarray:
    """Lomb-Scargle periodogram of ``x`` (mean zero) at times ``t`` at the
    frequencies ``df * k``, k = 1 to ``n_freq``; the same values as
    ``scipy.signal.lombscargle(t, x, 2 * pi * f)`` (to about 1e-5 of the
    peak), in O(n log n) instead of O(n * n_freq).

    The sums over the samples of ``exp(-2 pi i f t)`` that the periodogram is
    made of come from FFTs of a regular mesh onto which each sample is spread
    by Lagrange interpolation weights (Press and Rybicki, Astrophys J
    1989;338:277-280): scipy's direct sums took 18 ms for a 5-minute
    segment, 5 s for a day.

    Examples
    --------
    >>> from scipy.signal import lombscargle
    >>> t = np.cumsum(np.random.default_rng(0).uniform(0.6, 1.0, 300))
    >>> x = np.sin(2 * np.pi * 0.1 * t); x -= x.mean()
    >>> f = 0.001 * np.arange(1, 401)
    >>> bool(np.allclose(lomb_scargle(t, x, 0.001, 400), lombscargle(t, x, 2 * np.pi * f),
    ...                  atol=1e-4 * len(t)))
    True
    """
    n = t.size
    m = 64
    while m < 2 * _SPREAD * 2 * n_freq:
        m *= 2
    u = (t - t[0]) * df * m          # exp(-2 pi i f_k t) = exp(-2 pi i k u / m)
    a = _mesh_sums(u % m, x, m, n_freq)
    b = _mesh_sums((2 * u) % m, np.ones(n), m, n_freq)
    c, s, c2, s2 = a.real, -a.imag, b.real, -b.imag
    # The time offset tau that makes the sine and cosine terms orthogonal:
    # tan(2 w tau) = sum sin(2 w t) / sum cos(2 w t).
    half = 0.5 * np.arctan2(s2, c2)
    cw, sw = np.cos(half), np.sin(half)
    cc = 0.5 * n + 0.5 * np.hypot(c2, s2)       # sum of cos^2(w (t - tau))
    return 0.5 * ((c * cw + s * sw) ** 2 / cc + (s * cw - c * sw) ** 2 / (n - cc))


#: Mesh points each sample is spread onto (the interpolation's order).
_SPREAD = 4


def _mesh_sums(pos: np.ndarray, values: np.ndarray, m: int, n_freq: int) -> np.ndarray:
    # sum_j values_j * exp(-2 pi i k pos_j / m), k = 1..n_freq: each value
    # spread onto the _SPREAD mesh points around its position (periodic).
    nodes = np.floor(pos).astype(np.int64)[:, None] + np.arange(_SPREAD) - (_SPREAD // 2 - 1)
    d = pos[:, None] - nodes
    w = np.ones_like(d)
    for i in range(_SPREAD):
        for j in range(_SPREAD):
            if i != j:
                w[:, i] *= d[:, j] / (i - j)
    mesh = np.bincount((nodes % m).ravel(), (w * values[:, None]).ravel(), minlength=m)
    return np.fft.rfft(mesh)[1:n_freq + 1]


def hrv(times_s: np.ndarray, labels: np.ndarray | None, noise: list | None = None,
        segment_s: float = SEGMENT_S, min_nn_pct: float = MIN_NN_PCT) -> Hrv:
    """:class:`Hrv` of beat times (s) and their labels (None: beat times
    alone), over the NN intervals of :func:`nn_intervals`; none where fewer
    than ``min_nn_pct`` % of the intervals outside ``noise`` are NN (0 to
    measure whatever there is).

    Examples
    --------
    >>> t = np.cumsum(np.tile([0.8, 0.82], 50))
    >>> h = hrv(t, None)
    >>> round(h.sdnn_ms, 1), round(h.rmssd_ms, 1), h.pnn50_pct
    (10.1, 20.0, 0.0)
    >>> pvc = np.cumsum(np.r_[np.tile([0.8, 0.82], 10), 0.5, 1.12, np.tile([0.8, 0.82], 10)])
    >>> round(hrv(pvc, None).rmssd_ms, 1)
    20.0
    >>> # Four 5-minute stretches at means of 750 and 1000 ms: SDANN is about
    >>> # the SD of the four means (144 ms), the SDNN index about 10 ms.
    >>> t = np.cumsum(np.concatenate([np.tile([m - 0.01, m + 0.01], int(150 / m))
    ...                               for m in (0.75, 1.0, 0.75, 1.0)]))
    >>> h = hrv(t, None)
    >>> round(h.sdann_ms), 10 <= h.sdnn_index_ms < 16
    (144, True)
    >>> # Intervals alternating by 20 ms swing at half the beat rate (0.62 Hz),
    >>> # above every band; a 5-minute record has VLF power too.
    >>> h = hrv(np.cumsum(np.tile([0.8, 0.82], 190)), None)
    >>> round(h.rmssd_ms), h.hf_ms2 < 1, h.lf_ms2 < 1, bool(h.vlf_ms2 >= 0)
    (20, True, True, True)
    """
    nan = float("nan")
    t = np.asarray(times_s, dtype=float)
    clear = clear_intervals(t, noise)
    rr, ok = _nn(t, labels, clear)
    nn_pct = 100.0 * ok.sum() / clear.sum() if clear.any() else nan
    if t.size < 3 or not nn_pct >= min_nn_pct:
        return Hrv(**{f.name: nan for f in fields(Hrv)} | {"nn_pct": nn_pct})
    nn = rr[ok]
    sdnn = float(np.std(nn, ddof=1)) if nn.size > 1 else nan
    pair = ok[:-1] & ok[1:]
    d = np.diff(rr)[pair]
    rmssd = float(np.sqrt(np.mean(d ** 2))) if d.size else nan
    pnn50 = 100.0 * float(np.mean(np.abs(d) > 50.0)) if d.size else nan
    if nn.sum() >= 1000.0 * MIN_TRIANGULAR_S:
        counts = np.bincount((nn / (1000.0 * TRIANGULAR_BIN_S)).astype(np.int64))
        triangular = nn.size / float(counts.max())
        triangle = tinn(counts, 1000.0 * TRIANGULAR_BIN_S)
    else:
        triangular = triangle = nan
    # Each interval in the segment of its first beat; a segment counts when
    # its NN intervals span half of it. The beats are in time order, so each
    # segment's intervals are one slice.
    seg = ((t[:-1] - t[0]) // segment_s).astype(np.int64)
    bounds = np.searchsorted(seg, np.arange(seg[-1] + 2))
    means, sds, powers = [], [], []
    for a, b in zip(bounds[:-1], bounds[1:]):
        x = rr[a:b][ok[a:b]]
        if x.sum() >= 500.0 * segment_s and x.size > 1:
            means.append(x.mean())
            sds.append(x.std(ddof=1))
            powers.append(_spectrum(t[a + 1:b + 1], rr[a:b], ok[a:b], 0.9 * segment_s))
    if not powers and t[-1] - t[0] < segment_s and nn.sum() >= 1000.0 * MIN_SPECTRUM_S:
        # A short recording: LF and HF from all of it, VLF not at all.
        powers.append(_spectrum(t[1:], rr, ok, segment_s))
    sdann = float(np.std(means, ddof=1)) if len(means) > 1 else nan
    sdnn_index = float(np.mean(sds)) if len(means) > 1 else nan
    band = {k: _mean([p[k] for p in powers]) for k in BANDS}
    # No HF power to speak of (a paced or fixed rhythm): no ratio, rather
    # than one of rounding errors.
    lf_hf = band["lf"] / band["hf"] if band["hf"] > 1e-6 else nan
    long = _long_spectrum(t[1:], rr, ok)
    return Hrv(sdnn, rmssd, pnn50, sdann, sdnn_index, triangular, triangle, long["ulf"],
               band["vlf"], band["lf"], band["hf"], lf_hf, long["total"], nn_pct)


def _mean(values: list) -> float:
    # Mean of the measured (finite) values; NaN where none is.
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def _spectrum(end: np.ndarray, rr: np.ndarray, nn: np.ndarray,
              vlf_span_s: float) -> dict[str, float]:
    # Band powers of the intervals rr ending at times end, the short gaps
    # between the NN ones bridged; VLF only where they span vlf_span_s.
    x = rr.copy()  # bridged in place
    keep = bridge_gaps(end, x, nn)
    p = band_powers(end[keep], x[keep])
    if not keep.any() or end[keep][-1] - end[keep][0] < vlf_span_s:
        p["vlf"] = float("nan")
    return p


def _long_spectrum(end: np.ndarray, rr: np.ndarray, nn: np.ndarray) -> dict[str, float]:
    # ULF and total power of the whole recording's NN intervals (the short
    # gaps bridged), where they span MIN_LONG_SPECTRUM_S.
    x = rr.copy()
    keep = bridge_gaps(end, x, nn)
    if not keep.any() or end[keep][-1] - end[keep][0] < MIN_LONG_SPECTRUM_S:
        return {"ulf": float("nan"), "total": float("nan")}
    # Kept intervals not next to each other have unmeasured time between them.
    idx = np.flatnonzero(keep)
    gaps = np.r_[False, np.diff(idx) > 1]
    return long_term_powers(end[keep], x[keep], {"ulf": (0.0, ULF_HZ),
                                                 "total": (0.0, BANDS["hf"][1])}, gaps)


#: Rate (Hz) of the regular grid the long-term spectrum resamples the NN
#: intervals onto: above twice the top of HF.
LONG_GRID_HZ = 2.0


def long_term_powers(times_s: np.ndarray, nn_ms: np.ndarray, bands: dict,
                     gaps: np.ndarray | None = None) -> dict[str, float]:
    """Power (ms^2) of each band of a long series of NN intervals ``nn_ms``
    ending at ``times_s`` (s, increasing): the intervals interpolated onto
    a regular grid (:data:`LONG_GRID_HZ`), less their mean, nothing in the
    gaps (noise, AF, ectopy), and the FFT periodogram scaled by the share
    of the grid outside them, so that the power of all frequencies is the
    variance of the measured grid. ``gaps`` (bool per interval): the time
    since the one before was not measured; by default, where it is over
    twice the interval.

    Over hours the Lomb-Scargle periodogram of the segments overstates the
    slowest bands: the beats sample the rhythm more densely where it is
    fast, the day, and its sinusoids at neighbouring frequencies share the
    variance that this uneven sampling correlates with; on the 24-hour
    LTAFDB record 08 its ULF and total power came to 14 % over the
    intervals' variance.

    Examples
    --------
    >>> # Six hours swinging 40 ms over 1000 s (ULF) and 20 ms at 0.1 Hz (LF),
    >>> # two of them missing.
    >>> t = np.arange(0.0, 6 * 3600, 0.8)
    >>> nn = 800 + 40 * np.sin(2 * np.pi * t / 1000) + 20 * np.sin(2 * np.pi * 0.1 * t)
    >>> kept = (t < 3600) | (t > 3 * 3600)
    >>> p = long_term_powers(t[kept], nn[kept], {"ulf": (0, 0.0033), "lf": (0.04, 0.15)})
    >>> round(p["ulf"], -1), round(p["lf"], -1)     # 40**2 / 2 and 20**2 / 2
    (780.0, 200.0)
    """
    end = np.asarray(times_s, dtype=float)
    x = np.asarray(nn_ms, dtype=float)
    if end.size < 4:
        return {b: float("nan") for b in bands}
    if gaps is None:
        gaps = np.r_[False, np.diff(end) > 2.0 * x[1:] / 1000.0]
    grid = np.arange(end[0], end[-1], 1.0 / LONG_GRID_HZ)
    # A grid point in the time before an interval whose start was not measured.
    covered = ~np.asarray(gaps, bool)[np.searchsorted(end, grid, side="right")]
    # A cubic spline, as the Task Force's resampling: a straight line between
    # the beats had taken a fifth of the power of a swing at 0.25 Hz.
    from scipy.interpolate import CubicSpline

    y = CubicSpline(end, x)(grid)
    y = np.where(covered, y - y[covered].mean(), 0.0)
    spec = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(y.size, 1.0 / LONG_GRID_HZ)
    # Parseval: the one-sided powers sum to the mean square of the grid.
    power = 2.0 * spec / (y.size * covered.sum())
    return {b: float(power[(f > lo) & (f <= hi)].sum()) for b, (lo, hi) in bands.items()}


def bridge_gaps(times_s: np.ndarray, rr_ms: np.ndarray, nn: np.ndarray,
                max_gap_s: float = MAX_BRIDGE_S) -> np.ndarray:
    """Replace, in place, each run of intervals that are not NN (``~nn``)
    with the straight line between the NN intervals either side, where the
    run lasts at most ``max_gap_s``; return which intervals to keep (the NN
    ones and the bridged ones).

    A left-out interval is a gap in the beat-by-beat sampling of the rhythm,
    and gaps spread the power of the strongest swings over the spectrum: a
    PVC in every 25 beats on average raised HF power by 10-16 % and lowered
    LF by 7-10 % when its intervals were left out, and lowered LF and HF by
    3-7 % when bridged
    (``tests/test_variability.py``). A longer gap (noise, a run of ectopy)
    would be bridged by a line that is no rhythm, and is left a gap.

    Examples
    --------
    >>> t = np.array([0.8, 1.6, 2.1, 3.2, 4.0])
    >>> rr = np.array([800.0, 800.0, 500.0, 1100.0, 800.0])
    >>> keep = bridge_gaps(t, rr, np.array([True, True, False, False, True]))
    >>> keep.tolist(), rr.round().tolist()
    ([True, True, True, True, True], [800.0, 800.0, 800.0, 800.0, 800.0])
    """
    keep = nn.copy()
    for a, b in true_runs(~nn):
        if a == 0 or b == nn.size or rr_ms[a:b].sum() > 1000.0 * max_gap_s:
            continue
        rr_ms[a:b] = np.interp(times_s[a:b], times_s[[a - 1, b]], rr_ms[[a - 1, b]])
        keep[a:b] = True
    return keep
