"""Fixed beat windows and R-R features: the classifier's view of each beat.

Every beat becomes a window of the ECG around its R peak, resampled to one
model rate and scaled by the record's median R amplitude (so that gain and
units do not matter), paired with the record's median beat (its template),
plus R-R features relative to the local and record rhythm. Comparing a beat
with its own record's typical beat, and its R-R intervals with the record's
rhythm, is what makes ectopic beats recognisable in patients the model never
saw (de Chazal et al. 2004).

References
----------
de Chazal P, O'Dwyer M, Reilly RB. Automatic classification of heartbeats
using ECG morphology and heartbeat interval features. IEEE Trans Biomed Eng
2004;51(7):1196-1206.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ecgtool.beats.table import Beats, broken_intervals
from ecgtool.signal.filters import moving_mean, sample_at
from ecgtool.signal.qrsnet import qrs_bounds_net
from ecgtool.signal.quality import unreadable_in

#: Rate the model sees, in Hz (that of SVDB and LTAFDB).
MODEL_FS = 128.0
#: Window around the R peak, in samples at MODEL_FS: 0.31 s before, 0.44 s after.
BEFORE, AFTER = 40, 56
WINDOW = BEFORE + AFTER
#: Names of the R-R features, in column order.
RR_FEATURES = ("rr_prev_s", "rr_next_s", "prev_local", "next_local", "prev_next",
               "local_record")
_LOCAL_BEATS = 10
_ALIGN_MS = 40.0
#: How far (model samples) a window's centre can move between the waves of
#: one beat shape: the span over which the largest deflection is sought.
ALIGN_SHIFT = int(round(_ALIGN_MS * MODEL_FS / 1000))
#: A beat whose R peak lies this close to an unreadable sample is not
#: classified (``Q``). With 2-s NaN runs at 450 places in the first 5 minutes
#: of MIT-BIH 119, 208 and SVDB 800, the labels of beats whose peak lay
#: within 10 ms of the run changed in 3 of 7 cases; 10-50 ms away, in 0 of
#: 38; 50-400 ms away, in 8 of 399 (the beats around them changed).
HIDDEN_MS = 10.0
#: Half the stretch around a beat in which its lead must move for it to be
#: classified (:func:`shows_no_qrs`): a QRS lasts up to about 120 ms.
FLAT_MS = 60.0
#: Beats on each side that make up a beat's local template.
TEMPLATE_HALF = 15
#: A beat whose R peak lies this close to the record's first or last sample
#: is not classified (``Q``): the edge cuts its QRS, and the window is filled
#: out with the edge value. Chosen with ``benchmarks/robustness.py``
#: (``edge_labels``): of 788 DS1 beats that are neither V nor F, the network
#: called V or F 86, 16, 6 and 4 with the record cut 0, 10, 20 and 30 ms
#: before the R peak, 95, 54, 4 and 4 with it cut as far after, and 3-5 from
#: 30 ms on, as with the whole record around them (in a first draw of 708
#: beats, 15 at 20 ms after the peak).
EDGE_MS = 30.0
_BASELINE_MS = 600.0


@dataclass(frozen=True)
class BeatWindows:
    """Model inputs for the beats of one record.

    Attributes
    ----------
    waves : numpy.ndarray
        ``(n_beats, WINDOW, 2)`` float32: each beat's window (baseline-free,
        scaled) and, as the second channel, the median of the windows of
        the beats around it (:func:`local_template`).
    rr : numpy.ndarray
        ``(n_beats, len(RR_FEATURES))`` float32 R-R features.
    broken : numpy.ndarray or None
        True for each R-R interval (``n_beats - 1``) across an unreadable
        stretch of the signal; None when there is none.
    hidden : numpy.ndarray or None
        True for each beat whose R peak lies within :data:`HIDDEN_MS` of an
        unreadable sample (the peak may be lost in the gap, and the window
        is centred on its edge) or within :data:`EDGE_MS` of the record's
        first or last sample (the edge cuts the QRS); None when no beat does.
    qrs_ms : numpy.ndarray or None
        Each beat's QRS duration in ms, from the QRS-boundary network
        (:func:`ecgtool.signal.qrsnet.qrs_bounds_net`); NaN where the
        record's edge cuts the QRS; None where not measured.
    pr_ms : numpy.ndarray or None
        Each beat's PR interval in ms (NaN where no P wave was found), which
        the label revision reads (:func:`ecgtool.ml.revise.revise_labels`);
        None where not measured.
    """

    waves: np.ndarray
    rr: np.ndarray
    broken: np.ndarray | None = None
    hidden: np.ndarray | None = None
    qrs_ms: np.ndarray | None = None
    pr_ms: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.waves.shape[0])

    # The label rules read these distances more than once per record: each is
    # measured once, on first use (``waves`` is not changed after that).
    @cached_property
    def usual(self) -> tuple[np.ndarray, np.ndarray]:
        """:func:`usual_distances` of ``waves``: (local template, beat)."""
        return usual_distances(self.waves)

    @cached_property
    def template_far(self) -> np.ndarray:
        """:func:`template_distance` of ``waves``, the beat moved by up to
        :data:`ALIGN_SHIFT` samples."""
        return template_distance(self.waves, ALIGN_SHIFT)


def rr_features(r_peaks: np.ndarray, fs: float,
                broken: np.ndarray | None = None) -> np.ndarray:
    """R-R features per beat: raw intervals and their ratios to the local rhythm.

    The first and last beats borrow their missing neighbour interval, and so
    do the beats on either side of a ``broken`` interval (bool per interval,
    ``len(r_peaks) - 1``): one that spans unreadable signal, where beats may
    have gone unseen, so that it tells nothing of the rhythm. A beat with
    no interval of its own on either side gets the record's median.

    Examples
    --------
    >>> f = rr_features(np.array([0, 360, 720, 900, 1260]), 360.0)
    >>> f.shape, round(float(f[3, 2]), 2)
    ((5, 6), 0.55)
    >>> g = rr_features(np.array([0, 360, 720, 2000, 2360]), 360.0,
    ...                 broken=np.array([False, False, True, False]))
    >>> g[3, :2].tolist(), g[2, :2].tolist()
    ([1.0, 1.0], [1.0, 1.0])
    """
    n = len(r_peaks)
    if n < 2:
        return np.ones((n, len(RR_FEATURES)), dtype=np.float32)
    rr = np.diff(r_peaks).astype(np.float64) / fs
    real = rr if broken is None else np.where(broken, np.nan, rr)
    record = float(np.median(rr if broken is None or broken.all() else rr[~broken]))
    before = np.concatenate([[np.nan], real])
    after = np.concatenate([real, [np.nan]])
    prev = np.where(np.isnan(before), np.where(np.isnan(after), record, after), before)
    nxt = np.where(np.isnan(after), np.where(np.isnan(before), record, before), after)
    k = min(_LOCAL_BEATS // 2, max(1, (n - 1) // 2))
    local = moving_mean(prev, k)
    eps = 1e-3
    feats = np.stack([prev, nxt, prev / (local + eps), nxt / (local + eps),
                      prev / (nxt + eps), local / (record + eps)], axis=1)
    return np.clip(feats, 0.0, 10.0).astype(np.float32)


def record_scale(ecg: np.ndarray, r_peaks: np.ndarray) -> float:
    """Median absolute R amplitude (mV) above the local baseline, at least 0.05."""
    if len(r_peaks) == 0:
        return 1.0
    return max(0.05, float(np.median(np.abs(ecg[r_peaks]))))


def beat_windows(ecg: np.ndarray, fs: float, r_peaks: np.ndarray,
                 qrs_ms: np.ndarray | None = None,
                 pr_ms: np.ndarray | None = None) -> BeatWindows:
    """Windows and R-R features for every beat of a record.

    Parameters
    ----------
    ecg : numpy.ndarray
        One lead in mV.
    fs : float
        Sampling rate of ``ecg``.
    r_peaks : numpy.ndarray
        Sorted R-peak indices at ``fs``.
    qrs_ms : numpy.ndarray, optional
        The beats' QRS durations (ms; NaN where not measured) as
        :func:`ecgtool.signal.detect.detect_beats` found them on this signal
        with the default QRS-boundary network (``Beats.qrs_ms``); measured
        here with that network when None.
    pr_ms : numpy.ndarray, optional
        The beats' PR intervals (ms; NaN where no P wave was found), as
        ``detect_beats`` found them (``Beats.pr_ms``); delineated here
        with the default settings when None (and then ``qrs_ms`` too, when
        not given, from the same delineation).

    Returns
    -------
    BeatWindows

    Examples
    --------
    >>> from ecgtool.io.records import read_sample
    >>> rec = read_sample("119")
    >>> w = beat_windows(rec.signal, rec.fs, rec.annotations.sample[1:50])
    >>> w.waves.shape
    (49, 96, 2)
    """
    from ecgtool.signal.detect import fill_nans

    r = np.asarray(r_peaks, dtype=np.int64)
    # The moving means below would spread one NaN (a gap, a lost sample) over
    # every later beat: runs of them are bridged as the detector bridges them.
    x, bad = fill_nans(np.asarray(ecg, dtype=np.float64))
    if r.size == 0 or x.size == 0:
        return BeatWindows(np.zeros((0, WINDOW, 2), np.float32),
                           np.zeros((0, len(RR_FEATURES)), np.float32))
    half = max(1, int(round(_BASELINE_MS * fs / 1000)) // 2)
    clean = x - moving_mean(moving_mean(x, half), half)
    # Judged at the given position: near the edge, the largest deflection
    # can be the edge itself.
    edge = max(1, int(round(EDGE_MS * fs / 1000)))
    hidden = (r < edge) | (r > x.size - 1 - edge)
    hidden |= shows_no_qrs(x, fs, r)
    for name, given in (("qrs_ms", qrs_ms), ("pr_ms", pr_ms)):
        if given is not None and len(given) != r.size:
            raise ValueError(f"{name} has {len(given)} values for {r.size} R peaks")
    if pr_ms is None:
        # The P waves need the whole delineation, whose QRS boundaries are
        # the same network's: one pass gives both, as detect_beats has them.
        measured_qrs, pr_ms = _qrs_and_pr_ms(x, fs, r, bad)
        qrs_ms = measured_qrs if qrs_ms is None else qrs_ms
    elif qrs_ms is None:
        onset, offset = qrs_bounds_net(x, fs, r)
        qrs_ms = (offset - onset) * (1000.0 / fs)
        # A QRS that the record's edge cuts was not measured whole: near the
        # end, V beats 30-60 ms from it had read as narrow
        # (benchmarks/robustness.py). The detector's delineation leaves these
        # boundaries unfound (-1) by the same test.
        qrs_ms[(onset <= 0) | (offset >= x.size - 1)] = np.nan
    qrs_ms = np.asarray(qrs_ms, dtype=np.float32)
    pr_ms = np.asarray(pr_ms, dtype=np.float32)
    # Annotations differ in where they put a beat (R peak, QRS onset...):
    # centre every window on the largest deflection near the given position.
    r = align_to_peak(clean, r, int(round(_ALIGN_MS * fs / 1000)))
    scale = record_scale(clean, r)
    if fs > 2 * MODEL_FS:
        # Average over each model sample's span so that noise does not alias.
        clean = moving_mean(clean, int(round(fs / MODEL_FS)) // 2)
    # Sample the record at MODEL_FS around each R peak (linear interpolation).
    offsets = (np.arange(-BEFORE, AFTER) / MODEL_FS) * fs
    waves = (sample_at(clean, r[:, None] + offsets[None, :]) / scale).astype(np.float32)
    # An R-R interval across a gap is no interval: the beats beside it take
    # the one on their other side, as a record's first and last beats do.
    broken = broken_intervals(bad, r)
    if bad is not None:
        near = max(1, int(round(HIDDEN_MS * fs / 1000)))
        hidden |= unreadable_in(bad, r - near, r + near)
    return BeatWindows(np.stack([waves, local_template(waves)], axis=-1),
                       rr_features(r, fs, broken), broken, hidden if hidden.any() else None,
                       qrs_ms, pr_ms)


def _qrs_and_pr_ms(ecg: np.ndarray, fs: float, r_peaks: np.ndarray,
                   unreadable: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    # QRS durations and PR intervals (ms, NaN where unfound), delineated as
    # detect_beats delineates by default, measured as Beats measures them.
    from ecgtool.signal.delineate import delineate

    d = delineate(ecg, fs, r_peaks, unreadable=unreadable)
    b = Beats(fs=fs, r_peak=r_peaks, qrs_onset=d.qrs_onset, qrs_offset=d.qrs_offset,
              p_onset=d.p_onset)
    return b.qrs_ms, b.pr_ms


#: Span of the window, in model samples around the R peak, over which a beat
#: is compared with its template: about 95 ms before to 125 ms after, the QRS.
QRS_SPAN = (BEFORE - 12, BEFORE + 16)


def template_distance(waves: np.ndarray, shift: int = 0) -> np.ndarray:
    """How far each beat's QRS is from its local template: the RMS of their
    difference over :data:`QRS_SPAN`, relative to the template's RMS there;
    with ``shift``, the least of it with the beat moved by up to that many
    samples either way.

    Near 0 for a beat shaped as the beats around it (whatever that shape);
    ectopic beats of another shape score about 1 or more. A window is
    centred on the beat's largest deflection: where the R and S waves of a
    record's beats are about as deep, that is the R wave in some beats and
    the S wave in others, and ``shift`` (:data:`ALIGN_SHIFT`) finds them
    shaped as their template all the same.

    Examples
    --------
    >>> w = np.zeros((2, WINDOW, 2), np.float32); w[:, BEFORE, 1] = 1.0
    >>> w[0, BEFORE, 0] = 1.0; w[1, BEFORE + 5, 0] = -1.0
    >>> [round(float(d), 2) for d in template_distance(w)]
    [0.0, 1.41]
    >>> w[1, BEFORE + 3, 0] = 1.0  # the same beat, 3 samples late
    >>> [round(float(d), 2) for d in template_distance(w, shift=ALIGN_SHIFT)]
    [0.0, 1.0]
    """
    lo, hi = QRS_SPAN
    template = waves[:, lo:hi, 1]
    return np.min([_qrs_distance(waves[:, lo + k:hi + k, 0], template)
                   for k in range(-shift, shift + 1)], axis=0)


def usual_distances(waves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How far each beat's local template, and the beat itself, are from the
    usual beat of all the windows given (their median), measured as
    :func:`template_distance`: ``(template, beat)``.

    For the local template: near 0 where the beats around a beat have the
    record's usual shape; a sustained run of another shape (ventricular
    tachycardia) makes its own local template and scores about 1 or more
    there. For the beat itself: near 0 for a beat of the usual shape,
    whatever the beats around it look like.

    Examples
    --------
    >>> w = np.zeros((5, WINDOW, 2), np.float32); w[:, BEFORE, :] = 1.0
    >>> w[4, BEFORE, 1] = 0.0; w[4, BEFORE + 5, 1] = -1.0  # beat 4's neighbours differ
    >>> w[3, BEFORE, 0] = 0.0; w[3, BEFORE + 5, 0] = -1.0  # beat 3 itself differs
    >>> template, beat = usual_distances(w)
    >>> [round(float(d), 2) for d in template]
    [0.0, 0.0, 0.0, 0.0, 1.41]
    >>> [round(float(d), 2) for d in beat]
    [0.0, 0.0, 0.0, 1.41, 0.0]
    >>> w[1, BEFORE, 0] = np.nan  # a gap in beat 1: the others are measured still
    >>> [round(float(d), 2) for d in usual_distances(w)[1]]
    [0.0, nan, 0.0, 1.41, 0.0]
    """
    lo, hi = QRS_SPAN
    beats = waves[:, lo:hi, 0]
    # A window with a gap in it would make every sample's median NaN: the
    # usual beat is the median of the whole windows (those with a gap stay
    # NaN, near nothing).
    whole = np.isfinite(beats).all(axis=1)
    usual = (np.median(beats[whole], axis=0) if whole.any()
             else np.full(hi - lo, np.nan, beats.dtype))[None, :]
    return _qrs_distance(waves[:, lo:hi, 1], usual), _qrs_distance(beats, usual)


def nearest_shapes(waves: np.ndarray, which: np.ndarray, count: int, near: float,
                   span: int, shift: int = ALIGN_SHIFT, first: bool = False) -> np.ndarray:
    """The ``count`` beats nearest in QRS shape to each beat in ``which``,
    among the ``span`` beats on each side of it: ``(len(which), count)``
    indices, a row of -1 where fewer than ``count`` of them lie within
    ``near``. With ``first``, the ``count`` beats nearest in time that lie
    within ``near`` instead: enough to tell whether a beat has that many
    twins, and found sooner (the search ends there).

    The distance is :func:`template_distance`'s (the RMS difference over
    :data:`QRS_SPAN`, relative to the beat's own RMS there), least over the
    beat moved by up to ``shift`` samples either way. Only beats close in
    time are searched, so that the work grows with the record's length, not
    its square, and a shape that changes over hours is compared with itself;
    of beats as near in shape, the nearer in time is taken. The search is
    the compiled ``ecgtool._core._nearest_shapes`` (twin:
    ``ecgtool.signal._twins.nearest_shapes``).

    Examples
    --------
    >>> w = np.zeros((6, WINDOW, 2), np.float32); w[:, BEFORE, 0] = 1.0
    >>> w[5, BEFORE, 0] = 0.0; w[5, BEFORE + 8, 0] = -1.0  # a beat of its own shape
    >>> nearest_shapes(w, np.array([0, 5]), 3, 0.3, span=10).tolist()
    [[1, 2, 3], [-1, -1, -1]]
    """
    from ecgtool import _core

    lo, hi = QRS_SPAN
    if count < 1 or span < 0 or not 0 <= shift <= min(lo, waves.shape[1] - hi):
        raise ValueError(f"count must be 1 or more, span 0 or more and shift 0 to "
                         f"{min(lo, waves.shape[1] - hi)}")
    which = np.ascontiguousarray(which, dtype=np.intp)
    if which.size and not (0 <= which.min() and which.max() < len(waves)):
        raise ValueError("beat indices outside the windows given")
    qrs = np.ascontiguousarray(waves[:, lo - shift:hi + shift, 0], dtype=np.float32)
    # A beat with a gap in it is near no other (NaN is compared as nothing).
    qrs[~np.isfinite(qrs).all(axis=1)] = np.nan
    out = np.full((which.size, count), -1, dtype=np.intp)
    _core._nearest_shapes(qrs, which, count, float(near), span, shift, out, first)
    return out


def _qrs_distance(a: np.ndarray, reference: np.ndarray) -> np.ndarray:
    # RMS of the difference, relative to the reference's RMS, per row.
    # reference is one row per beat or one row for all (it broadcasts).
    num = np.sum((a - reference) ** 2, axis=1)
    return np.sqrt(num / np.maximum(np.sum(reference ** 2, axis=1), 1e-9))


def shows_no_qrs(x: np.ndarray, fs: float, r: np.ndarray) -> np.ndarray:
    """True for each R peak ``r`` around which (+-:data:`FLAT_MS`) the lead
    ``x`` moves less than the detector's least QRS (``min_qrs_mv``): a beat
    found on another lead (``--second-lead``) where this one is off or flat,
    which it cannot show, so cannot classify. The detector finds no such
    beat on the lead itself (none of 176,147 on the annotated records of
    MIT-BIH, nstdb, CPSC 2021, QTDB and SVDB).

    Examples
    --------
    >>> x = np.zeros(3600); x[1000] = 1.0
    >>> shows_no_qrs(x, 360.0, np.array([1000, 2000])).tolist()
    [False, True]
    """
    from ecgtool.signal.detect import DEFAULT_SETTINGS

    half = max(1, int(round(FLAT_MS * fs / 1000)))
    idx = np.clip(np.asarray(r, dtype=np.int64)[:, None] + np.arange(-half, half + 1)[None, :],
                  0, max(x.size - 1, 0))
    if x.size == 0:
        return np.zeros(idx.shape[0], dtype=bool)
    w = x[idx]
    return (w.max(axis=1) - w.min(axis=1)) < DEFAULT_SETTINGS.min_qrs_mv


def align_to_peak(clean: np.ndarray, r: np.ndarray, half: int) -> np.ndarray:
    """Each position moved to the largest |clean| within +-``half`` samples.

    Examples
    --------
    >>> align_to_peak(np.array([0, 0, 1, 0, -3, 0, 0.0]), np.array([2]), 2).tolist()
    [4]
    """
    if half < 1 or r.size == 0:
        return r
    idx = np.clip(r[:, None] + np.arange(-half, half + 1)[None, :], 0, clean.size - 1)
    return idx[np.arange(r.size), np.abs(clean[idx]).argmax(axis=1)]


def local_template(waves: np.ndarray, half: int = TEMPLATE_HALF) -> np.ndarray:
    """Median of the windows of the ``2*half+1`` beats centred on each beat.

    A running median follows changes of the dominant morphology (bundle
    branch block coming and going, posture) that one record-wide median would
    blur, while one ectopic beat among its neighbours barely moves it. Each
    beat gets the median centred on itself: sharing one median among
    neighbouring beats (every 2nd or 8th beat) cost a third of the V
    precision on record-grouped folds of DS1, since in bigeminy it hands the
    same template to the normal and the ectopic beats. The ends are mirrored.
    The running median is the compiled ``ecgtool._core._running_median``
    (twin: ``ecgtool.signal._twins.running_median``).

    Examples
    --------
    >>> w = np.zeros((7, 3), np.float32); w[3] = 9.0
    >>> local_template(w, 2)[3].tolist()
    [0.0, 0.0, 0.0]
    """
    from ecgtool import _core

    n = waves.shape[0]
    if n == 0:
        return waves.copy()
    k = min(half, (n - 1) // 2)
    if k == 0:
        return np.broadcast_to(np.median(waves, axis=0), waves.shape).copy()
    # Beats along the fast axis: each row is one sample position over all beats.
    rows = np.ascontiguousarray(waves.reshape(n, -1).T, dtype=np.float32)
    if np.isfinite(rows).all():
        out = np.empty_like(rows)
        _core._running_median(rows, k, out)
    else:  # the kernel's sorted buffer cannot hold NaN; numpy's median passes it on
        from ecgtool.signal._twins import running_median

        out = running_median(rows, k)
    return out.T.reshape(waves.shape)
