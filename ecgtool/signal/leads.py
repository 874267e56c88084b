"""R peaks from two leads: each 10 s, the beats of the lead that reads them better.

Noise seldom hits every lead of a recording alike: electrode motion under
one electrode, muscle under another. The detector runs on each lead; over
each 10-s window a judge reads both leads' signal quality and the window
takes the second lead's beats where the judge says the second lead is the
better one there (probability over :data:`SECOND_LEAD_P`), else the first's.
The first lead stays the one the beats are delineated and classified on.

What the judge reads of each lead and window (:func:`window_quality`):

* how far the QRS feature's background (its 90th centile between beats)
  stands below its level at the beats (log ratio; noise raises it);
* how alike the beats are (mean correlation of each beat, +-60 ms, with the
  window's median beat; detections on noise are not alike);
* the share of the lead's beats that the other lead also finds (within
  100 ms);
* the R-R intervals' coefficient of variation, the share of intervals under
  0.6 of their median, and the number of beats (log).

The judge is a small gradient-boosted tree ensemble (100 trees, depth 3)
fitted by ``benchmarks/lead_judge.py`` on MIT-BIH DS1's two leads, clean and
with band-limited Gaussian noise added to each lead apart at 12 and 6 dB,
each window weighted by how many errors (missed and false beats against the
reference) picking the other lead would have saved or cost; its trees are
stored in ``leadjudge.npz`` and evaluated here with numpy.

Examples
--------
>>> import wfdb
>>> from ecgtool.io.records import sample_path
>>> rec = wfdb.rdrecord(str(sample_path("119")), sampto=36000)      # 100 s, 108 beats
>>> first = rec.p_signal[:, 0].copy()
>>> first[12000:24000] += np.random.default_rng(0).normal(0, 0.5, 12000)  # noise on one lead
>>> fused = fuse_r_peaks(first, rec.p_signal[:, 1], rec.fs)
>>> fused.r_peak.size, bool(fused.second_windows[3:7].all())
(108, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ecgtool.errors import EcgToolError
from ecgtool.signal.detect import DEFAULT_SETTINGS, DetectorSettings, detect_r_peaks
from ecgtool.signal.filters import design_qrs_filter, qrs_filter

#: Length of the windows the judge reads (s).
WINDOW_S = 10.0
#: The judge's probability that the second lead is the better one, over
#: which a window takes its beats (chosen on the fitting data's
#: record-grouped folds: 0.5 gained more in noise, and cost more clean).
SECOND_LEAD_P = 0.7
#: A beat found on both leads lies within this of itself (s).
AGREE_S = 0.1
#: Half of the stretch around a beat that its likeness is measured over (s).
SHAPE_HALF_S = 0.06
#: Stretch around each beat left out of the feature's background (s).
BEAT_HALF_S = 0.1
FEATURES = ("log_background_ratio", "likeness", "agreement", "rr_cv", "short_rr_share",
            "log_beats")
JUDGE = Path(__file__).with_name("leadjudge.npz")


@dataclass(frozen=True)
class FusedPeaks:
    """R peaks taken from two leads.

    Attributes
    ----------
    r_peak : numpy.ndarray
        Sorted sample indices (int64).
    second : numpy.ndarray
        True for the peaks taken from the second lead (bool).
    second_windows : numpy.ndarray
        True for the windows (each :data:`WINDOW_S` from the start) whose
        beats came from the second lead.
    """

    r_peak: np.ndarray
    second: np.ndarray
    second_windows: np.ndarray


def window_quality(ecg: np.ndarray, fs: float, peaks: np.ndarray, other: np.ndarray,
                   settings: DetectorSettings = DEFAULT_SETTINGS,
                   window_s: float = WINDOW_S) -> np.ndarray:
    """The judge's measures of one lead (:data:`FEATURES`), one row per
    window of ``window_s`` from the start (the last may be shorter).

    ``peaks`` are this lead's R peaks, ``other`` the other lead's.

    Examples
    --------
    >>> fs = 250.0; x = np.zeros(5000); x[100::200] = 1.0      # 20 s, 75 bpm
    >>> q = window_quality(x, fs, np.arange(100, 5000, 200), np.arange(100, 5000, 200))
    >>> q.shape, float(q[0, 2]), round(float(q[0, 3]), 3)        # all agree, steady
    ((2, 6), 1.0, 0.0)
    """
    x = np.asarray(ecg, dtype=np.float64)
    w = int(round(window_s * fs))
    n_win = max(1, -(-x.size // w))
    design = design_qrs_filter(fs, settings.lowpass_ms, settings.highpass_ms,
                               settings.integration_ms)
    filt = qrs_filter(x, fs, design)
    feat, step = filt.feature, filt.step
    # Feature samples near a beat are not background.
    near = np.zeros(feat.size + 1, dtype=np.int64)
    half = int(BEAT_HALF_S * fs / step)
    at = np.asarray(peaks, dtype=np.int64) // step
    np.add.at(near, np.clip(at - half, 0, feat.size), 1)
    np.add.at(near, np.clip(at + half + 1, 0, feat.size), -1)
    background = np.cumsum(near)[:-1] == 0
    hw = int(SHAPE_HALF_S * fs)
    other = np.sort(np.asarray(other, dtype=np.int64))
    tol = AGREE_S * fs
    out = np.empty((n_win, len(FEATURES)))
    for i in range(n_win):
        a, b = i * w, min((i + 1) * w, x.size)
        pk = peaks[(peaks >= a) & (peaks < b)]
        agree = _agreement(pk, other, tol)
        if pk.size < 2:
            out[i] = (np.log(3.0), 0.0, agree, 1.0, 1.0, np.log1p(pk.size))
            continue
        level = float(np.median(feat[pk // step]))
        seg = feat[a // step:b // step][background[a // step:b // step]]
        ratio = float(np.percentile(seg, 90)) / level if seg.size and level > 0 else np.inf
        ratio = 3.0 if not np.isfinite(ratio) else min(max(ratio, 1e-3), 3.0)
        rr = np.diff(pk) / fs
        out[i] = (np.log(ratio), _likeness(x, pk, hw), agree, min(rr.std() / rr.mean(), 2.0),
                  float(np.mean(rr < 0.6 * np.median(rr))), np.log1p(pk.size))
    return out


def _agreement(pk: np.ndarray, other: np.ndarray, tol: float) -> float:
    # Share of pk with a peak of `other` within tol.
    if pk.size == 0:
        return 0.0
    if other.size == 0:
        return 0.0
    j = np.clip(np.searchsorted(other, pk), 1, other.size - 1) if other.size > 1 else \
        np.zeros(pk.size, dtype=np.int64)
    d = np.abs(other[j] - pk)
    if other.size > 1:
        d = np.minimum(d, np.abs(other[j - 1] - pk))
    return float(np.mean(d <= tol))


def _likeness(x: np.ndarray, pk: np.ndarray, hw: int) -> float:
    # Mean correlation of each beat's +-hw samples with their median.
    pk = pk[(pk > hw) & (pk < x.size - hw)]
    if pk.size == 0:
        return 0.0
    seg = x[pk[:, None] + np.arange(-hw, hw)[None, :]]
    seg = seg - seg.mean(axis=1, keepdims=True)
    tmpl = np.median(seg, axis=0)
    norm = np.linalg.norm(seg, axis=1) * np.linalg.norm(tmpl)
    corr = np.where(norm > 0, seg @ tmpl / np.where(norm > 0, norm, 1.0), 0.0)
    return float(corr.mean())


def judge_inputs(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The judge's input rows: both leads' measures and their differences."""
    return np.hstack([first, second, second - first])


@lru_cache(maxsize=2)
def load_judge(path: str | Path = JUDGE) -> dict:
    """The judge's trees from an ``.npz`` that ``benchmarks/lead_judge.py`` wrote."""
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def second_lead_probability(rows: np.ndarray, judge: dict | None = None) -> np.ndarray:
    """The judge's probability that the second lead reads each window better.

    ``judge`` holds ``feature``, ``threshold``, ``left``, ``right``, ``value``
    (one row per tree, one column per node; a leaf has ``left == -1``),
    ``learning_rate`` and ``init`` (the log-odds the trees start from).
    """
    judge = load_judge() if judge is None else judge
    # Compared in single precision, as scikit-learn's trees compare them.
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float32)).astype(np.float64)
    feature, threshold = judge["feature"], judge["threshold"]
    left, right, value = judge["left"], judge["right"], judge["value"]
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
    raw = float(judge["init"]) + float(judge["learning_rate"]) * value[trees, node].sum(axis=0)
    return 1.0 / (1.0 + np.exp(-raw))


def fuse_r_peaks(first: np.ndarray, second: np.ndarray, fs: float,
                 settings: DetectorSettings = DEFAULT_SETTINGS,
                 first_peaks: np.ndarray | None = None) -> FusedPeaks:
    """R peaks of a recording from two of its leads (see the module).

    Parameters
    ----------
    first, second : numpy.ndarray
        Two leads of one recording in mV, sample for sample (NaN runs
        allowed, as :func:`ecgtool.signal.detect.detect_r_peaks` takes them).
    fs : float
        Their sampling rate.
    settings : DetectorSettings
        Detection rules, for both leads.
    first_peaks : numpy.ndarray, optional
        The first lead's R peaks, where already found with ``settings``.

    Returns
    -------
    FusedPeaks
    """
    import warnings

    a = np.asarray(first, dtype=np.float64)
    b = np.asarray(second, dtype=np.float64)
    if a.ndim != 1 or b.shape != a.shape:
        raise EcgToolError(f"the two leads differ in length ({a.size} and {b.size} samples)")
    pa = detect_r_peaks(a, fs, settings) if first_peaks is None else \
        np.asarray(first_peaks, dtype=np.int64)
    with warnings.catch_warnings():
        # A flat or empty second lead is the judge's to weigh, not news.
        warnings.simplefilter("ignore")
        pb = detect_r_peaks(b, fs, settings)
    if pb.size == 0:
        return FusedPeaks(pa, np.zeros(pa.size, bool), np.zeros(0, bool))
    fill_a, fill_b = (np.nan_to_num(v, nan=float(np.nanmedian(v)) if np.isfinite(v).any()
                                    else 0.0) for v in (a, b))
    qa = window_quality(fill_a, fs, pa, pb, settings)
    qb = window_quality(fill_b, fs, pb, pa, settings)
    use_b = second_lead_probability(judge_inputs(qa, qb)) > SECOND_LEAD_P
    w = int(round(WINDOW_S * fs))
    take_b_a = use_b[np.minimum(pa // w, use_b.size - 1)]
    take_b_b = use_b[np.minimum(pb // w, use_b.size - 1)]
    r = np.concatenate([pa[~take_b_a], pb[take_b_b]])
    src = np.concatenate([np.zeros((~take_b_a).sum(), bool), np.ones(take_b_b.sum(), bool)])
    order = np.argsort(r, kind="stable")
    r, src = r[order], src[order]
    # Where the source changes at a window's edge one beat can come from
    # both leads: keep the first of two closer than the refractory period.
    keep = np.r_[True, np.diff(r) > settings.refractory_ms * fs / 1000.0]
    return FusedPeaks(r[keep].astype(np.int64), src[keep], use_b)
