"""R peaks from two leads: each 3 s, the beats of the lead that reads them better.

Noise seldom hits every lead of a recording alike: electrode motion under
one electrode, muscle under another. The detector runs on each lead; in each
3-s window where the two disagree (a beat on one without a twin within
100 ms on the other), a judge reads both leads' signal quality, and the
window takes the second lead's beats where the judge says the second lead
is the better one there (probability over :data:`SECOND_LEAD_P`); every
other window keeps the first lead's. The first lead stays the one the
beats are delineated and classified on.

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
>>> detect_r_peaks(first, rec.fs).size, fused.r_peak.size   # one lead: a false beat
(109, 108)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ecgtool.errors import EcgToolError, EcgToolWarning
from ecgtool.signal._twins import compiled
from ecgtool.signal.detect import DEFAULT_SETTINGS, DetectorSettings, detect_r_peaks, fill_nans
from ecgtool.signal.filters import design_qrs_filter, qrs_filter

#: Length of the windows the judge reads (s): the shortest that, on the
#: fitting data's record-grouped folds, cost no more errors on the clean
#: records than the first lead alone (``benchmarks/lead_judge.py --window``;
#: errors clean / 12 dB / 6 dB, against 158 / 1603 / 9970 on one lead: 2 s
#: 161 / 625 / 5861, 3 s 123 / 634 / 6182, 5 s 157 / 708 / 6776, 7 s
#: 160 / 737 / 7077, 10 s 145 / 778 / 7438).
WINDOW_S = 3.0
#: The judge's probability that the second lead is the better one, over
#: which a window takes its beats (on the fitting data's record-grouped
#: folds, at 3 s, 0.5 made 138 / 651 / 6152 errors clean / 12 dB / 6 dB,
#: 0.7 123 / 634 / 6182).
SECOND_LEAD_P = 0.7
#: Two detections, one on each lead, this close (s) are one beat.
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
                   window_s: float = WINDOW_S, only: np.ndarray | None = None,
                   feature: tuple[np.ndarray, int] | None = None,
                   backend: str = "c") -> np.ndarray:
    """The judge's measures of one lead (:data:`FEATURES`), one row per
    window of ``window_s`` from the start (the last may be shorter), or per
    window of ``only`` (sorted window indices).

    ``peaks`` are this lead's R peaks (sorted), ``other`` the other lead's.
    A window with fewer than two beats gets the measures of a lead with
    nothing readable on it (background as high as the beats, no likeness,
    irregular). ``feature``: the lead's QRS feature with ``settings`` and
    its step, where already computed. The windows are read by a compiled
    kernel (``_core._window_measures``); ``backend="python"`` runs its numpy
    twin.

    Examples
    --------
    >>> fs = 250.0; x = np.zeros(5000); x[100::200] = 1.0      # 20 s, 75 bpm
    >>> q = window_quality(x, fs, np.arange(100, 5000, 200), np.arange(100, 5000, 200), window_s=10)
    >>> q.shape, float(q[0, 2]), round(float(q[0, 3]), 3)        # all agree, steady
    ((2, 6), 1.0, 0.0)
    """
    x = np.ascontiguousarray(ecg, dtype=np.float64)
    w = int(round(window_s * fs))
    n_win = max(1, -(-x.size // w))
    rows = np.arange(n_win) if only is None else np.asarray(only, dtype=np.int64)
    if feature is None:
        design = design_qrs_filter(fs, settings.lowpass_ms, settings.highpass_ms,
                                   settings.integration_ms)
        filt = qrs_filter(x, fs, design)
        feat, step = filt.feature, filt.step
    else:
        feat, step = feature
    args = (x, np.ascontiguousarray(feat, dtype=np.float64), int(step),
            np.ascontiguousarray(peaks, dtype=np.intp),
            np.sort(np.asarray(other, dtype=np.intp)), w, np.ascontiguousarray(rows, dtype=np.intp),
            int(BEAT_HALF_S * fs / step), int(SHAPE_HALF_S * fs), AGREE_S * fs, float(fs))
    raw = None
    if compiled(backend):
        from ecgtool import _core

        raw = np.empty((rows.size, 7))
        if not _core._window_measures(*args, raw):
            raw = None
    if raw is None:
        from ecgtool.signal._twins import window_measures

        raw = window_measures(*args)
    count, level, p90, agree, cv, short, like = raw.T
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(level > 0, p90 / level, np.inf)
    ratio = np.where(np.isfinite(ratio), np.clip(ratio, 1e-3, 3.0), 3.0)
    out = np.column_stack([np.log(ratio), like, agree, cv, short, np.log1p(count)])
    few = count < 2
    out[few, 0], out[few, 1], out[few, 3], out[few, 4] = np.log(3.0), 0.0, 1.0, 1.0
    return out


def _group_quantile(values: np.ndarray, groups: np.ndarray, n_groups: int,
                    q: float) -> np.ndarray:
    # numpy's (linear) quantile of the values of each group, NaN for none;
    # ``groups`` non-decreasing (each group's values together). Compiled
    # (``_core._group_quantile``); non-finite values go to the numpy twin.
    values = np.ascontiguousarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        from ecgtool.signal._twins import group_quantile

        return group_quantile(values, groups, n_groups, q)
    from ecgtool import _core

    out = np.full(n_groups, np.nan)
    _core._group_quantile(values, np.ascontiguousarray(groups, dtype=np.intp), float(q), out)
    return out


def _nearest(pk: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # For each of pk, the index of the nearest peak of `other` (sorted, not
    # empty; the earlier of two as near) and its distance.
    j = np.searchsorted(other, pk)
    lo, hi = np.maximum(j - 1, 0), np.minimum(j, other.size - 1)
    pick = np.where(np.abs(other[lo] - pk) <= np.abs(other[hi] - pk), lo, hi)
    return pick, np.abs(other[pick] - pk)


def _has_twin(pk: np.ndarray, other: np.ndarray, tol: float) -> np.ndarray:
    # For each of pk, whether `other` (sorted) has a peak within tol.
    if pk.size == 0 or other.size == 0:
        return np.zeros(pk.size, dtype=bool)
    return _nearest(pk, other)[1] <= tol


def judge_inputs(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The judge's input rows: both leads' measures and their differences."""
    return np.hstack([first, second, second - first])


@lru_cache(maxsize=2)
def load_judge(path: str | Path = JUDGE) -> dict:
    """The judge's trees from an ``.npz`` that ``benchmarks/lead_judge.py`` wrote."""
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def second_lead_probability(rows: np.ndarray, judge: dict | None = None,
                            backend: str = "c") -> np.ndarray:
    """The judge's probability that the second lead reads each window better.

    ``judge`` holds ``feature``, ``threshold``, ``left``, ``right``, ``value``
    (one row per tree, one column per node; a leaf has ``left == -1``),
    ``learning_rate`` and ``init`` (the log-odds the trees start from).
    The trees are walked by a compiled kernel (``_core._tree_leaves``);
    ``backend="python"`` runs its numpy twin.
    """
    judge = load_judge() if judge is None else judge
    # Compared in single precision, as scikit-learn's trees compare them.
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float32)).astype(np.float64)
    value = judge["value"]
    trees = np.arange(value.shape[0])[:, None]
    if not compiled(backend):
        from ecgtool.signal._twins import tree_leaves

        node = tree_leaves(rows, judge["feature"], judge["threshold"], judge["left"],
                           judge["right"])
    else:
        from ecgtool import _core

        tree = [np.ascontiguousarray(judge[k], dtype=d) for k, d in
                (("feature", np.intp), ("threshold", np.float64), ("left", np.intp),
                 ("right", np.intp))]
        node = np.empty((value.shape[0], rows.shape[0]), dtype=np.intp)
        if not _core._tree_leaves(np.ascontiguousarray(rows), *tree, node):
            raise ValueError("the judge's trees do not fit together or with the rows")
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
    a = np.asarray(first, dtype=np.float64)
    b = np.asarray(second, dtype=np.float64)
    if a.ndim != 1 or b.shape != a.shape:
        raise EcgToolError(f"the two leads differ in length ({a.size} and {b.size} samples)")
    pa = detect_r_peaks(a, fs, settings) if first_peaks is None else \
        np.asarray(first_peaks, dtype=np.int64)
    with warnings.catch_warnings():
        # The detector's own words would name the wrong lead.
        warnings.simplefilter("ignore")
        pb = detect_r_peaks(b, fs, settings)
    if pb.size == 0:
        if pa.size:
            # The user asked for a second lead: one that is off or flat
            # (a channel never connected) is news, said once per record.
            warnings.warn("the second lead shows no QRS complex (in the whole record, or a "
                          "stretch of it): the beats there are the first lead's alone",
                          EcgToolWarning, stacklevel=2)
        return FusedPeaks(pa, np.zeros(pa.size, bool), np.zeros(0, bool))
    w = int(round(WINDOW_S * fs))
    n_win = max(1, -(-a.size // w))
    judged = disagreeing_windows(pa, pb, fs, n_win)
    use_b = np.zeros(n_win, dtype=bool)
    if judged.size:
        # Gaps are bridged as the detector bridges them, so that the
        # measures see the same signal its beats were found on.
        fill_a, fill_b = (fill_nans(v)[0] for v in (a, b))
        use_b[judged] = judge_windows(fill_a, fill_b, fs, pa, pb, judged, settings, settings)
    return take_windows(pa, pb, use_b, fs, settings.refractory_ms)


def judge_windows(a: np.ndarray, b: np.ndarray, fs: float, pa: np.ndarray, pb: np.ndarray,
                  judged: np.ndarray, settings_a: DetectorSettings,
                  settings_b: DetectorSettings,
                  feature_a: tuple[np.ndarray, int] | None = None,
                  feature_b: tuple[np.ndarray, int] | None = None,
                  bar: float = SECOND_LEAD_P, backend: str = "c") -> np.ndarray:
    """For each window of ``judged`` (sorted indices), whether the judge reads
    the R peaks ``pb`` found on ``b`` with ``settings_b`` better than ``pa``
    found on ``a`` with ``settings_a`` (probability over ``bar``). Two leads,
    or two bands of one lead; ``feature_a`` and ``feature_b``: their QRS
    features and step, where already computed; ``backend`` as
    :func:`window_quality` takes it."""
    qa = window_quality(a, fs, pa, pb, settings_a, only=judged, feature=feature_a,
                        backend=backend)
    qb = window_quality(b, fs, pb, pa, settings_b, only=judged, feature=feature_b,
                        backend=backend)
    return second_lead_probability(judge_inputs(qa, qb), backend=backend) > bar


def disagreeing_windows(pa: np.ndarray, pb: np.ndarray, fs: float, n_win: int) -> np.ndarray:
    """The windows (of :data:`WINDOW_S` from the start) in which a beat of
    one stream of R peaks has no twin within :data:`AGREE_S` in the other:
    where every beat has its twin, either stream gives the same beats."""
    w = int(round(WINDOW_S * fs))
    lone = np.zeros(n_win, dtype=np.int64)
    for mine, theirs in ((pa, pb), (pb, pa)):
        alone = ~_has_twin(mine, theirs, AGREE_S * fs)
        lone += np.bincount(np.minimum(mine[alone] // w, n_win - 1), minlength=n_win)
    return np.flatnonzero(lone > 0)


def take_windows(pa: np.ndarray, pb: np.ndarray, use_b: np.ndarray, fs: float,
                 refractory_ms: float) -> FusedPeaks:
    """The R peaks of ``pa``, with those of ``pb`` instead in the windows
    (of :data:`WINDOW_S`) that ``use_b`` marks."""
    w = int(round(WINDOW_S * fs))
    take_b_a = use_b[np.minimum(pa // w, use_b.size - 1)]
    # A beat both streams found belongs to the window of the first one's
    # twin: its two twins on either side of a window's edge, each in the
    # window that takes the other stream, would both be lost.
    at = pb.copy()
    if pa.size:
        j, d = _nearest(pb, pa)
        twin = d <= AGREE_S * fs
        at[twin] = pa[j[twin]]
    take_b_b = use_b[np.minimum(at // w, use_b.size - 1)]
    r = np.concatenate([pa[~take_b_a], pb[take_b_b]])
    src = np.concatenate([np.zeros((~take_b_a).sum(), bool), np.ones(take_b_b.sum(), bool)])
    order = np.argsort(r, kind="stable")
    r, src = r[order], src[order]
    # Where the source changes at a window's edge one beat can come from
    # both: keep the first of two closer than the refractory period.
    keep = np.r_[True, np.diff(r) > refractory_ms * fs / 1000.0]
    return FusedPeaks(r[keep].astype(np.int64), src[keep], use_b)
