"""Rules on the QRS shape, width and P waves that revise the network's beat
calls (the steps of :func:`ecgtool.ml.classify.aami_classes` after the
network).

Each rule is one function of the beats' windows and calls, and returns the
beats it changes; :func:`~ecgtool.ml.classify.aami_classes` applies them in
order. Their limits were chosen on the DS1 leave-one-record-out folds (see
each constant).
"""

from __future__ import annotations

import numpy as np

from ecgtool.beats.windows import BeatWindows, nearest_shapes
from ecgtool.signal.filters import inner_median

#: A beat is of its record's dominant rhythm (:func:`dominant_beats`) when its
#: QRS differs from its local template by less than this
#: (:func:`~ecgtool.beats.windows.template_distance`) ...
DOMINANT_SHAPE = 0.4
#: ... its previous interval is at least this share of the local mean ...
DOMINANT_ON_TIME = 0.9
#: ... and the local mean interval is longer than this (s): under 100 bpm,
#: so that no run of ventricular tachycardia is ever taken for it.
DOMINANT_SLOWEST_RR_S = 0.6
#: In an irregularly irregular stretch, a beat whose QRS differs from the
#: record's usual beat by less than this (:func:`~ecgtool.beats.windows.usual_distances`)
#: is conducted, whatever the beats around it look like.
DOMINANT_USUAL = 0.6

#: A V call whose QRS lasts less than this (ms, by the QRS-boundary network)
#: is N before the rhythm revision (which makes it S where it comes early):
#: a ventricular beat spreads through the muscle, not the conduction system,
#: and its QRS is wide (120 ms or more in adults). On the DS1 leave-one-
#: record-out folds the final V calls' QRS had a median of 164 ms (true V)
#: and 131 ms (false V); under 100 ms lay 24 true and 106 false V calls.
#: Chosen among 90, 100 and 110 ms on those folds (V F1 0.866 -> 0.873,
#: 0.874, 0.872). The beats of a run of three or more V calls over 100 bpm
#: are spared: the network measures the QRS of a ventricular tachycardia
#: less well (it learnt from LUDB's resting ECGs), and with them the rule
#: turned 24 of 203's V beats N and cut MIT-BIH's VT episodes found end to
#: end from 82 to 78 %, for as many false V calls fewer (V F1 0.874 either way).
NARROW_V_MS = 100.0

#: An S or N call is V when its QRS lasts :data:`WIDE_QRS_MS` or more and
#: exceeds the median QRS of the N calls around it (:data:`WIDE_SPAN` on
#: each side) by more than :data:`WIDER_S_MS` (an S call) or
#: :data:`WIDER_N_MS` (an N call), unless it is of the dominant rhythm
#: (:func:`widened_beats`).
WIDE_QRS_MS = 120.0
WIDER_S_MS = 20.0
WIDER_N_MS = 80.0
WIDE_SPAN = 250

#: A V call is N when its :data:`SHAPE_VOTE_COUNT` nearest QRS shapes among
#: the :data:`SHAPE_VOTE_SPAN` beats on each side, all within
#: :data:`SHAPE_VOTE_NEAR` of it (:func:`~ecgtool.beats.windows.nearest_shapes`),
#: are at least :data:`SHAPE_VOTE_SHARE` N (:func:`outvoted_v`).
SHAPE_VOTE_COUNT = 10
SHAPE_VOTE_NEAR = 0.4
SHAPE_VOTE_SHARE = 0.8
SHAPE_VOTE_SPAN = 250

#: The calls that :func:`outvoted_n_or_s` may turn V: a PVC is called N
#: where the network misses it, S where it comes early and the rhythm
#: revision names it so.
OUTVOTED_CALLS = ("N", "S")

#: An N call is V when its QRS and its local template both differ from the
#: record's usual beat by more than this
#: (:func:`~ecgtool.beats.windows.usual_distances`) ...
VENTRICULAR_FAR = 1.5
#: ... its QRS lasts this long or longer (ms; over 140 ms favours a
#: ventricular origin, as in the Wellens criteria for a wide-QRS rhythm) ...
VENTRICULAR_QRS_MS = 140.0
#: ... and no P wave is found before it nor before this share or more of the
#: beats within :data:`VENTRICULAR_P_SPAN` beats of it (:func:`ventricular_rhythm`).
VENTRICULAR_P_SHARE = 0.5
VENTRICULAR_P_SPAN = 10

#: A V call is Q, unclassifiable, when its QRS shape is one of a kind (fewer
#: than :data:`NOISE_TWINS` beats within :data:`SHAPE_VOTE_NEAR` of it among
#: the :data:`SHAPE_VOTE_SPAN` beats on each side) and so are the shapes of
#: :data:`NOISE_COMPANY` or more other beats within :data:`NOISE_WINDOW_S`
#: of it (:func:`noise_v`). Chosen with the shipped model on DS1 with the
#: band-limited noise bursts of ``benchmarks/detect_noise.py`` (false VT
#: findings) and on the DS1 folds of training seeds 0-2 (V F1), among 1 and 2
#: twins, 2, 3 and 5 companions and 3, 5 and 10 s: at 12 dB the false V calls
#: fell from 1,280 to 400, the records given a VT finding the clean record
#: lacks from 13 of 22 to 1, a PVC finding from 6 to 1 (at 6 dB: 7,314 to
#: 494, 16 to 0, 7 to 1), for 3 % of the true V beats in the noise (3,406 to
#: 3,305; 10 % at 6 dB); one twin: 513 false V calls, VT in 3; 5 companions:
#: VT in 11. On the folds V F1 rose from 0.909, 0.905 and 0.904 to 0.911,
#: 0.906 and 0.907. The noise stress test's own electrode motion, scored
#: afterwards, makes detections of recurring shapes, and the rule does little
#: there (``benchmarks/diagnose_noise.py``).
NOISE_TWINS = 2
NOISE_COMPANY = 2
NOISE_WINDOW_S = 5.0
#: ... in a record of at least this many beats: in a short one (a 10-s ECG)
#: a patient's PVCs are too few to recur, and several of them, each of its
#: own shape, read as noise (on MIT-BIH's 10-s excerpts their V calls became
#: Q and the AF rules, which leave V beats out, called AF on 43 of 4,395
#: excerpts without it, against 21).
NOISE_MIN_BEATS = 150


def dominant_beats(windows: BeatWindows, irregular: np.ndarray | None = None,
                   tachycardia: np.ndarray | None = None) -> np.ndarray:
    """True for beats of the record's dominant rhythm: shaped as the beats
    around them, on time (or anywhere in an ``irregular`` rhythm, such as
    AF, where no beat is expected at a given time), and under 100 bpm (given
    the ``tachycardia`` runs, outside them at any rate).

    A wide QRS makes a beat look ventricular to the network, but a beat with
    the shape of its neighbours that comes when the rhythm expects it is
    conducted with a bundle branch block, not an ectopic beat (which comes
    early, in another shape). On leave-one-record-out MIT-BIH DS1 the
    network called 480 such beats V (the left bundle branch block records
    109 and 207, and 203), and 103 true V beats fit the description too,
    most in the slow idioventricular rhythm of 207 and 124, which this reads
    as N (:func:`ventricular_rhythm` takes most of them back); in irregular
    stretches 192 more (181 in 203's AF), against 4 true V. Ventricular
    tachycardia (over 100 bpm) is not touched where the network calls three
    of its beats V in a row. The shape and timing limits were chosen on
    those folds among 0.3-0.5 and 0.85-0.95.
    In an irregular stretch whose local template is the record's usual beat
    (:func:`~ecgtool.beats.windows.usual_distances` under the same
    0.4), the 100 bpm limit is lifted: AF with a fast ventricular response.
    On the folds this turned 275 more false V beats N (168 in 203's AF, 104
    in 207) and no true V; the held-out sets did not move. Its blind spot: a
    recording made mostly of one ventricular tachycardia, entered from AF,
    has that tachycardia as its usual beat, and it would read N.
    A beat the network calls F (a fusion, part ventricular) is judged the
    same way: the folds' 773 F calls were 731 N beats (578 in 203) and 12 F;
    the rule, with the same limits, turned 248 N beats back and no true F.
    Last, in an irregular stretch a beat shaped as the record's usual beat
    itself (QRS distance under :data:`DOMINANT_USUAL`) is conducted whatever
    its local template, under the same rate limit, unless it is one of the
    ``tachycardia`` beats (True for the beats of a run of three or more
    ventricular calls over 100 bpm): among 203's multiform PVCs and noise
    the local template is no beat's shape, and 389 of its N beats in AF
    were still called V and 141 F. On the folds this turned 81 false V and
    24 false F back to N, against 3 true V; the limit was chosen among
    0.4-0.8 (0.7: 97 false V back, 29 true V lost, most in 223). Without
    the tachycardia exception it turned 181 false V back, but 207's bundle
    branch block beats look like its ventricular ones, and two short
    ventricular tachycardias there, in the shape of the usual beat, read N
    end to end; 37 more without the rate limit.
    Given those runs (``tachycardia``), the 100 bpm limit of the first rule
    (the local template's shape, on time) holds for their beats alone: a
    lone V call in a sinus tachycardia is conducted (a 10-s CinC 2021 ECG
    at 107 bpm had 5 of its 17 beats called V). On the folds this turned 3
    more false V beats N (in 203) and no true V; on the annotated beats of
    SVDB 800, CPSC 2021, nstdb and QTDB, which no training saw (looked at
    before it was kept), 100 of 1,047 false V calls and no true V. Lifted
    for the last rule too (the usual beat in an irregular stretch), it cost
    true V beats where the network alternates V and N calls through a
    ventricular tachycardia, so that no run of three is found (MIT-BIH
    223's second lead: 8 beats).
    The shape is compared with the beat moved by up to
    :data:`~ecgtool.beats.windows.ALIGN_SHIFT` samples either way: where a
    record's R and S waves are about as deep, the window is centred on the
    one in some beats and on the other in the rest, and the network called
    such beats V (the QT Database's European ST-T records at leads CM2, CM5,
    D3). On the folds this turned 26 more false V beats N, against 1 true
    V; on the held-out QT Database records outside MIT-BIH and SVDB, 333 of
    657 false V calls and no true V (V +P 26 -> 41 %), on CPSC 2021 3 of 50,
    while SVDB's excerpts there lost 1 true V of 221 (SVDB 800 and nstdb
    did not move); end to end, one beat of a five-beat VT run in MIT-BIH
    223 read N and broke that episode (1 of 40).

    Examples
    --------
    >>> from ecgtool.beats.windows import beat_windows
    >>> from ecgtool.io.records import read_sample
    >>> rec = read_sample("119")
    >>> w = beat_windows(rec.signal, rec.fs, rec.annotations.sample[1:400])
    >>> dom = dominant_beats(w)
    >>> sym = rec.annotations.symbol[1:400]
    >>> round(float(dom[sym == "N"].mean()), 2), round(float(dom[sym == "V"].mean()), 2)
    (0.95, 0.0)
    """
    if len(windows) == 0:
        return np.zeros(0, bool)
    prev_s, prev_local = windows.rr[:, 0], windows.rr[:, 2]
    local_s = prev_s / np.maximum(prev_local, 1e-3)
    on_time = prev_local >= DOMINANT_ON_TIME
    slow = local_s > DOMINANT_SLOWEST_RR_S
    conducted = np.zeros(len(windows), bool)
    if irregular is not None:
        on_time = on_time | irregular
        # AF often conducts faster than 100 bpm. The rate limit is there for
        # ventricular tachycardia, whose run makes its own local template;
        # where the local template is the record's usual beat instead, the
        # irregular rhythm is conducted at any rate.
        template_far, beat_far = windows.usual
        slow = slow | (irregular & (template_far < DOMINANT_SHAPE))
        conducted = irregular & (beat_far < DOMINANT_USUAL) & slow
        if tachycardia is not None:
            conducted &= ~tachycardia
    if tachycardia is not None:
        # The rate limit is there for ventricular tachycardia: given its
        # runs, a beat shaped as its neighbours and outside them is judged at
        # any rate (sinus tachycardia).
        slow = slow | ~tachycardia
    shaped = windows.template_far < DOMINANT_SHAPE
    return (shaped & on_time & slow) | conducted


def widened_beats(qrs_ms: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """True for the S and N calls of ``classes`` whose QRS (``qrs_ms``, ms)
    is wide (:data:`WIDE_QRS_MS` or more) and wider than the QRS of the N
    calls around them by more than :data:`WIDER_S_MS` (S calls) or
    :data:`WIDER_N_MS` (N calls).

    A beat conducted from the atria spreads through the ventricles as the
    patient's normal beats do and has their QRS width, unless a bundle
    branch is refractory (aberrant conduction); a ventricular beat spreads
    through the muscle and is wide. The network judges the shape within a
    window and missed such beats where they were early and fast (runs of
    ventricular tachycardia in MIT-BIH 205, PVCs it called S in 106) or
    came at the usual time (208). The bar for an N call is higher: an on-time
    beat that is wide is more often a fusion (part ventricular, class F) or a
    mismeasured QRS than an early one. :func:`aami_classes` spares the
    beats of the dominant rhythm (a rate-dependent bundle branch block is
    conducted). On the DS1 leave-one-record-out folds (reference beats)
    this found 105 more true V beats (68 called S after the revision, 37 N)
    for 3 more false ones (V F1 0.892 -> 0.907, with a 40 ms bar for S
    calls); with one bar of 60 ms for both, 65 fusion beats (208) became V.
    The S bar was then set to 20 ms on the folds of three training seeds:
    the networks of seeds 1 and 2 call S the PVCs of 223, whose QRS is only
    33 ms wider than its wide normal beats' (S F1 of the three 0.804 / 0.759
    / 0.682 -> 0.809 / 0.805 / 0.730; flat over 15-25 ms; the N bar flat
    over 70-90 ms). The
    reference is the median over the N calls nearby, not the record's: over
    a day the QRS of the normal beats can change (an intermittent bundle
    branch block).

    Examples
    --------
    >>> q = np.r_[np.full(20, 90.0), 150.0, 150.0]
    >>> widened_beats(q, np.array(list("N" * 20 + "SN"))).tolist()[-2:]
    [True, False]
    """
    qrs_ms = np.asarray(qrs_ms, dtype=float)
    candidate = np.isin(classes, ("S", "N")) & (qrs_ms >= WIDE_QRS_MS)
    normal = np.flatnonzero((classes == "N") & np.isfinite(qrs_ms))
    if not candidate.any() or normal.size == 0:
        return np.zeros(len(classes), bool)
    local = inner_median(qrs_ms[normal], 2 * WIDE_SPAN + 1)
    # Each beat is measured against the N call nearest to it in the series.
    at = np.clip(np.searchsorted(normal, np.arange(len(classes))), 0, normal.size - 1)
    over = qrs_ms - local[at]
    bar = np.where(classes == "S", WIDER_S_MS, WIDER_N_MS)
    return candidate & (over > bar)


def outvoted_v(windows: BeatWindows, classes: np.ndarray) -> np.ndarray:
    """True for the V calls of ``classes`` that the beats shaped as them
    call N: their :data:`SHAPE_VOTE_COUNT` nearest QRS shapes nearby, each
    within :data:`SHAPE_VOTE_NEAR`, are at least :data:`SHAPE_VOTE_SHARE` N.

    The network judges each beat alone; a patient's beats of one shape are
    one kind of beat, and where most of them are called N, the few called V
    are the network's noise. A PVC of a shape seen nowhere else in the
    record has fewer than :data:`SHAPE_VOTE_COUNT` beats that near and is
    not touched, nor is one of a run of PVCs of one shape (its nearest
    shapes are V). On the DS1 leave-one-record-out folds (reference beats)
    this turned 159 false V calls N (118 in 203's AF and multiform beats)
    against 17 true V (8 in 223), V F1 0.876 -> 0.892; chosen there among
    5 and 10 beats within 0.3, 0.4 and 0.5 (80 % N). Scored at the same time
    with the shipped model on the held-out annotated beats: false V calls
    fell from 324 to 218 on the QT Database's records outside MIT-BIH and
    SVDB (1 of its 265 V beats lost), 47 to 38 on CPSC 2021, 173 to 158 on
    the noise stress test at 0 dB, with no other true V lost (SVDB 800,
    nstdb 12 and 24 dB, QTDB's SVDB excerpts). Its cost: end to end on
    MIT-BIH one of the 40 ventricular tachycardia runs is no longer found
    (Se 78 -> 75 %), and where a true PVC is outvoted its intervals join the
    NN intervals of the heart-rate variability.

    Examples
    --------
    >>> from ecgtool.beats.windows import beat_windows
    >>> from ecgtool.io.records import read_sample
    >>> rec = read_sample("208")
    >>> a = rec.annotations
    >>> beats = np.isin(a.symbol, ["N", "V"])
    >>> w = beat_windows(rec.signal, rec.fs, a.sample[beats])
    >>> calls = a.symbol[beats].copy()
    >>> calls[[3, 6, 9]] = "V"  # three normal beats called V by mistake
    >>> np.flatnonzero(outvoted_v(w, calls)).tolist()
    [3, 6, 9]
    """
    v = np.flatnonzero(classes == "V")
    out = np.zeros(len(classes), bool)
    if v.size == 0:
        return out
    voters, share_n = _vote_share(windows, classes, v, "N")
    out[voters] = share_n >= SHAPE_VOTE_SHARE
    return out


def outvoted_n_or_s(windows: BeatWindows, classes: np.ndarray) -> np.ndarray:
    """True for the N and S calls of ``classes`` shaped unlike the record's usual
    beat (:func:`~ecgtool.beats.windows.usual_distances` over
    :data:`DOMINANT_USUAL`) that the beats shaped as them call V: the
    converse of :func:`outvoted_v`, with its limits (the
    :data:`SHAPE_VOTE_COUNT` nearest QRS shapes nearby, each within
    :data:`SHAPE_VOTE_NEAR`, at least :data:`SHAPE_VOTE_SHARE` V).

    A PVC the network calls N among PVCs of its shape that it calls V is
    one of them. Only beats unlike the usual beat are searched: the usual
    beat is a conducted one, and the search then costs a twentieth of what it
    would around every N call (on the DS1 records, 2,487 of 46,165 N calls
    are searched). On the DS1 leave-one-record-out folds (reference beats,
    after :func:`ventricular_rhythm`) this turned 36, 55 and 47 V beats V
    against 5, 4 and 4 other beats with the networks of training seeds 0-2
    (most in 208, 223, 205 and 201, and 207's escape beats; the others 208's
    fusion beats and one N, Q or ``a`` beat): V F1 0.928 / 0.924 / 0.925 ->
    0.932 / 0.931 / 0.931, no other class's F1 moved by more than 0.001. The
    limits are :func:`outvoted_v`'s, not chosen again: over 5 and 10 beats
    within 0.3 and 0.4, shares 0.7-0.9 and a usual-beat bar of 0-0.6, V F1
    lay within 0.930-0.933 (seed 0). S calls were added later (a PVC that
    comes early is made S by the rhythm revision, as a PAC is; a PAC is
    shaped as the usual beat and is not searched): on the same folds this
    turned 4 more V beats V (106, 207, 223) and no other beat with the
    networks of seed 0, 7 and 7 with those of seeds 1 and 2 (106, 208, 223).

    Examples
    --------
    >>> from ecgtool.beats.windows import BEFORE, WINDOW
    >>> w = np.zeros((60, WINDOW, 2), np.float32); w[:, BEFORE, :] = 1.0
    >>> pvc = np.arange(60) % 3 == 2  # every third beat a PVC, of one shape
    >>> w[pvc, BEFORE, 0] = 0.0; w[pvc, BEFORE + 5, 0] = -1.0
    >>> calls = np.where(pvc, "V", "N")
    >>> calls[[5, 8]] = "N"  # two PVCs called N by mistake
    >>> windows = BeatWindows(w, np.ones((60, 6), np.float32))
    >>> np.flatnonzero(outvoted_n_or_s(windows, calls)).tolist()
    [5, 8]
    """
    out = np.zeros(len(classes), bool)
    if not (classes == "V").any():
        return out
    searched = np.isin(classes, OUTVOTED_CALLS) & (windows.usual[1] > DOMINANT_USUAL)
    calls = np.flatnonzero(searched)
    if calls.size == 0:
        return out
    voters, share_v = _vote_share(windows, classes, calls, "V")
    out[voters] = share_v >= SHAPE_VOTE_SHARE
    return out


def _vote_share(windows: BeatWindows, classes: np.ndarray, which: np.ndarray,
                label: str) -> tuple[np.ndarray, np.ndarray]:
    # The beats of ``which`` with SHAPE_VOTE_COUNT shapes near them, and the
    # share of those shapes that ``classes`` calls ``label``.
    nearest = nearest_shapes(windows.waves, which, SHAPE_VOTE_COUNT, SHAPE_VOTE_NEAR,
                             SHAPE_VOTE_SPAN)
    found = nearest[:, 0] >= 0
    return which[found], (classes[nearest[found]] == label).mean(axis=1)


def ventricular_rhythm(windows: BeatWindows, classes: np.ndarray,
                       times_s: np.ndarray) -> np.ndarray:
    """True for the N calls of ``classes`` that belong to a rhythm of the
    ventricles: the beat and the beats around it (their local template) are
    shaped unlike the record's usual beat (both distances over
    :data:`VENTRICULAR_FAR`) and the beat like its local template (under
    :data:`DOMINANT_SHAPE`), its QRS is wide (:data:`VENTRICULAR_QRS_MS`,
    ``windows.qrs_ms``), no P wave is found before it (``windows.pr_ms``
    NaN) nor before half the beats around it (:data:`VENTRICULAR_P_SHARE`),
    and it lies outside irregularly irregular stretches.

    An idioventricular rhythm, or an escape rhythm after a pause, is slow,
    regular and of one shape: the network, which judges a beat by its shape
    against the beats around it, and the dominant-rhythm rule, which takes
    such beats for conducted ones, call it N. A run of wide beats shaped as
    none of the patient's usual ones, with no P waves, is what a reader
    calls ventricular. A bundle branch block that comes and goes keeps its
    P waves; AF with aberrant conduction, which has none, is irregular; a
    burst of noise is shaped as no beat around it.
    On the DS1 leave-one-record-out folds (reference beats, training seeds
    0-2) this turned 121, 121 and 124 V beats of the idioventricular
    rhythms of 207 and 124 and of 205 V, and no other beat: V F1 0.911 /
    0.906 / 0.907 -> 0.928 / 0.924 / 0.925 (distance chosen among 0.8-2.0:
    0.8 cost 109's bundle branch block beats, 1.0-1.5 gave the same, 2.0
    0.916 on average). The first form (QRS from 120 ms, the beat's own P
    wave alone) also turned 7 of 108's N beats V, and, scored afterwards
    with the shipped model, 18 of the QT Database's sele0112 (46 end to
    end), whose lead III changes shape for minutes of ST elevation, and 60
    beats of the noise stress test at 0 dB; the beat's likeness to its
    local template, the P waves around it and the 140 ms bar were added
    then (on the QT Database's records outside MIT-BIH and SVDB, end to end,
    11 false V calls of sele0112 remain; at 0 dB 7), so the QT Database is
    no blind test of this rule.
    The slow ventricular tachycardias of 223, shaped nearer its usual beat
    (0.5), stay N.

    Examples
    --------
    >>> from ecgtool.beats.windows import BEFORE, WINDOW
    >>> w = np.zeros((60, WINDOW, 2), np.float32); w[:, BEFORE, :] = 1.0
    >>> w[40:, BEFORE, :] = -1.0  # from beat 40 on, another shape
    >>> windows = BeatWindows(w, np.zeros((60, 4), np.float32),
    ...                       qrs_ms=np.r_[np.full(40, 90.0), np.full(20, 160.0)],
    ...                       pr_ms=np.r_[np.full(40, 160.0), np.full(20, np.nan)])
    >>> ventricular = ventricular_rhythm(windows, np.array(["N"] * 60), np.arange(60.0))
    >>> int(ventricular.sum()), bool(ventricular[40:].all())
    (20, True)
    """
    from ecgtool.rhythm import irregular_beats
    from ecgtool.rr import window_sum

    out = np.zeros(len(classes), bool)
    if len(classes) == 0 or windows.qrs_ms is None or windows.pr_ms is None:
        return out
    template_far, beat_far = windows.usual
    out = ((classes == "N") & (template_far > VENTRICULAR_FAR) & (beat_far > VENTRICULAR_FAR)
           & (windows.qrs_ms >= VENTRICULAR_QRS_MS) & np.isnan(windows.pr_ms))
    if out.any():
        out &= windows.template_far < DOMINANT_SHAPE
        # A P wave missed here and there in a conducted rhythm is no sign:
        # the rhythm around the beat must lack them too.
        found, beats = window_sum(np.isfinite(windows.pr_ms).astype(float),
                                  np.ones(len(out), bool), VENTRICULAR_P_SPAN)
        out &= found < VENTRICULAR_P_SHARE * beats
    if out.any():
        out &= ~irregular_beats(times_s, classes, broken=windows.broken, pr_ms=windows.pr_ms)
    return out


def one_of_a_kind(waves: np.ndarray, which: np.ndarray, twins: int) -> np.ndarray:
    """True for the beats ``which`` with fewer than ``twins`` beats within
    :data:`SHAPE_VOTE_NEAR` of their QRS shape among the
    :data:`SHAPE_VOTE_SPAN` beats on each side.

    Examples
    --------
    >>> from ecgtool.beats.windows import BEFORE, WINDOW
    >>> w = np.zeros((6, WINDOW, 2), np.float32); w[:, BEFORE, 0] = 1.0
    >>> w[5, BEFORE, 0] = 0.0; w[5, BEFORE + 8, 0] = -1.0
    >>> one_of_a_kind(w, np.array([0, 5]), twins=1).tolist()
    [False, True]
    """
    return nearest_shapes(waves, which, twins, SHAPE_VOTE_NEAR, SHAPE_VOTE_SPAN,
                          first=True)[:, 0] < 0


def noise_v(windows: BeatWindows, classes: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """True for the V calls of ``classes`` that are noise: their QRS shape
    is one of a kind in the record (:func:`one_of_a_kind`), and so are the
    shapes of :data:`NOISE_COMPANY` or more other beats within
    :data:`NOISE_WINDOW_S` of them; in a record of :data:`NOISE_MIN_BEATS`
    beats or more.

    A patient's ventricular beats come in a few shapes that recur, and a
    ventricular tachycardia repeats one; a burst of random noise makes the
    detector fire on the noise and the network call those detections V,
    each of a shape of its own, with others like it around. (A lone PVC of a
    shape seen nowhere else, amid clean beats, keeps its V. Electrode motion
    whose deflections recur in shape, as the noise stress test's do, mostly
    escapes the rule.)

    Examples
    --------
    >>> from ecgtool.beats.windows import BEFORE, WINDOW
    >>> rng = np.random.default_rng(0)
    >>> w = np.zeros((200, WINDOW, 2), np.float32); w[:, BEFORE, 0] = 1.0
    >>> w[20:26, :, 0] = rng.normal(size=(6, WINDOW))   # six beats of noise
    >>> calls = np.array(["N"] * 200); calls[[20, 22, 24]] = "V"
    >>> windows = BeatWindows(w, np.zeros((200, 4), np.float32))
    >>> np.flatnonzero(noise_v(windows, calls, np.arange(200.0))).tolist()
    [20, 22, 24]
    """
    out = np.zeros(len(classes), bool)
    if len(classes) < NOISE_MIN_BEATS:
        return out
    # A window with a gap in it is near no other shape: of a kind of its own
    # for the gap, not for noise, so it is left out of the count.
    whole = np.isfinite(windows.waves[..., 0]).all(axis=1)
    v = np.flatnonzero((classes == "V") & whole)
    if v.size == 0:
        return out
    alone = v[one_of_a_kind(windows.waves, v, NOISE_TWINS)]
    if alone.size == 0:
        return out
    t = np.asarray(times_s, dtype=np.float64)
    lo = np.searchsorted(t, t[alone] - NOISE_WINDOW_S, side="left")
    hi = np.searchsorted(t, t[alone] + NOISE_WINDOW_S, side="right")
    # Only the beats near a lone V call are judged: in a clean record, few.
    edges = np.zeros(len(classes) + 1, int)
    np.add.at(edges, lo, 1)
    np.add.at(edges, hi, -1)
    around = np.flatnonzero((np.cumsum(edges[:-1]) > 0) & whole)
    odd = np.zeros(len(classes), bool)
    odd[around[one_of_a_kind(windows.waves, around, NOISE_TWINS)]] = True
    count = np.concatenate(([0], np.cumsum(odd)))
    out[alone[count[hi] - count[lo] - 1 >= NOISE_COMPANY]] = True
    return out
