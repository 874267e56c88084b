"""Rhythm episodes from beat times (and beat labels when there are any).

Each R-R interval gets one rhythm, by priority: ``noise`` (inside an
unreadable stretch), ``vf`` (ventricular flutter or fibrillation: a fast
sinusoid on the lead, :mod:`ecgtool.signal.fibrillation`; only with the
signal), ``vt`` (3 or more consecutive V beats faster than
100 bpm), ``svt`` (the same with S beats, away from AF), ``ivr`` (3 or more
consecutive V beats at 100 bpm or slower, at a steady rate: an idioventricular rhythm),
``af`` (irregularly irregular, long intervals inside it included), ``pause`` (R-R > 2 s),
``bigeminy`` / ``trigeminy`` (N-V or N-N-V repeated; without labels,
bigeminy alone, from beats whose timing is ectopic, :func:`ecgtool.rr.timing_labels`,
so of unknown origin), ``tachy`` / ``brady`` (local rate over 100 / under
50 bpm over 10 intervals or more, or over the whole of a shorter record, such
as a 10-s ECG), else ``sinus``. Runs of one rhythm become episodes.

Atrial fibrillation is found by irregularity that no short pattern explains:
over a sliding window of R-R intervals (ectopic beats, when labelled, taken
out), the mean absolute difference between intervals 1, 2 and 3 beats apart,
relative to the mean interval, is computed for each lag, and the smallest of
the three is the score. Sinus rhythm (even with sinus arrhythmia) changes
slowly, so lag-1 differences are small; bigeminy and trigeminy repeat every
2 or 3 beats, so lag-2 or lag-3 differences are small; only a rhythm with no
order keeps all three large. A record shorter than the window (a 10-second
ECG) is one window: every interval gets the whole record's score.
Everything is cumulative sums over the beats, so a 24-hour Holter takes
milliseconds.

A beat classifier sees the fast, irregular beats of AF as premature and
calls many of them ``S``. S beats are therefore taken out as PACs only where
they are sparse (at most ``pac_share_max`` of the window's beats) or timed
like a PAC (early, then a compensatory pause), and a run of fast S beats in
or next to AF is AF, not SVT.

The same analysis revises a classifier's labels
(:func:`ecgtool.ml.revise.revise_labels`): an early beat in a regular rhythm
is S, and no beat of AF is.

Each episode also reports the classic irregularity features of its
intervals (normalised RMSSD, turning-point ratio, Shannon entropy;
:func:`ecgtool.rr.irregularity`) as evidence a reader can check.

References
----------
Petrenas A, Marozas V, Sornmo L. Low-complexity detection of atrial
fibrillation in continuous long-term monitoring. Comput Biol Med
2015;65:184-191 (ectopic-beat handling, short windows).
Dash S, Chon KH, Lu S, Raeder EA. Automatic real time detection of atrial
fibrillation. Ann Biomed Eng 2009;37(9):1701-1709 (RMSSD, TPR, ShE).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ecgtool.rr import (af_score, early_beats, irregularity, missed_beat_intervals,
                        plausible_intervals, premature_beats, steady_p_waves, timing_labels,
                        true_runs, window_sum)

RHYTHMS = ("noise", "vf", "pause", "vt", "svt", "ivr", "af", "bigeminy", "trigeminy", "tachy",
           "brady", "sinus")
#: The fewest R-R intervals from which a whole record has a rate (brady, tachy).
MIN_RATE_INTERVALS = 3

#: Rhythm labels as WFDB rhythm annotations (aux_note of a ``+``): the
#: MIT-BIH codes where MIT-BIH has one, else the label in its form. Noise is
#: no rhythm there but a signal-quality change (``~``).
WFDB_RHYTHM = {"sinus": "(N", "af": "(AFIB", "bigeminy": "(B", "trigeminy": "(T",
               "vt": "(VT", "svt": "(SVTA", "ivr": "(IVR", "brady": "(SBR", "tachy": "(TACHY",
               "pause": "(PAUSE", "vf": "(VF"}
EPISODE_COLUMNS = ("start_s", "end_s", "rhythm", "confidence", "n_beats", "nrmssd", "tpr",
                   "she")


@dataclass(frozen=True)
class RhythmSettings:
    """Windows and thresholds of the rhythm rules (defaults chosen on MIT-BIH DS1
    and CPSC 2021; the Long-Term AF Database is kept for testing them).

    Examples
    --------
    >>> t = np.cumsum(np.random.default_rng(0).uniform(0.5, 1.1, 60))
    >>> find_rhythms(t).rhythm.tolist()
    ['af']
    >>> "af" in find_rhythms(t, settings=RhythmSettings(af_threshold=1.0)).rhythm
    False
    """

    window_beats: int = 30
    af_threshold: float = 0.06
    af_min_beats: int = 20
    af_lags: tuple = (1, 2, 3)
    pause_s: float = 2.0
    run_min_beats: int = 3
    run_rate_bpm: float = 100.0
    # An idioventricular rhythm is a regular escape rhythm: a slow run of V
    # beats whose successive intervals differ by more than this share of
    # their mean (on average) is not one. MIT-BIH's reference IVR runs reach
    # 0.07 (207's, drifting over 105 beats); set at about twice that after
    # electrode-motion noise was seen making slow runs of V calls, most at
    # 0.3-1.5 (docs/accuracy.md, Findings in noise).
    ivr_max_irregularity: float = 0.15
    pattern_cycles: int = 3  # MIT-BIH's annotators mark bigeminy/trigeminy from 3 ectopic beats
    rate_beats: int = 10
    tachy_bpm: float = 100.0
    brady_bpm: float = 50.0
    pac_share_max: float = 0.3  # S beats denser than this are the rhythm, not PACs
    # When this share of a window's beats have P waves at PR intervals within
    # p_steady_ms of the window's median PR, atrial activity is conducted
    # beat by beat: not AF. A share of 0 turns the rule off.
    p_steady_share: float = 0.6
    p_steady_ms: float = 20.0
    # When this share of a window's beats have a P wave at all, the atria are
    # not fibrillating: not AF. For P waves from the P-wave network, which
    # calls them on 7-15 % of MIT-BIH's AF beats; the slope rules call them
    # on most AF beats, so with them (``--p-net none``) it is off (0). Set
    # on MIT-BIH and CPSC 2021 end to end, one step from where AF was lost:
    # at 0.5 CPSC's AF duration Se fell from 95.5 to 88.6 %, at 0.6 it held.
    p_present_share: float = 0.7

    @classmethod
    def with_overrides(cls, items: dict[str, str]) -> "RhythmSettings":
        """The defaults with some settings given as text (``ecgtool rhythm
        --rhythm-setting NAME=VALUE``); ``af_lags`` is not one of them.

        Examples
        --------
        >>> RhythmSettings.with_overrides({"pause_s": "3", "af_min_beats": "40"}).pause_s
        3.0
        """
        from ecgtool.settings import apply_overrides

        # Windows and runs need a few beats to be measured at all.
        return apply_overrides(cls(), items, "rhythm setting",
                               {"window_beats": 8, "rate_beats": 2, "run_min_beats": 2,
                                "pattern_cycles": 1})


DEFAULT_RHYTHM = RhythmSettings()


@dataclass
class Episodes:
    """Rhythm episodes of one record.

    Attributes
    ----------
    start_s, end_s : numpy.ndarray
        Episode bounds in seconds from the record start (beat times).
    rhythm : numpy.ndarray
        One of :data:`RHYTHMS` (str).
    confidence : numpy.ndarray
        0-1: for ``af`` and ``sinus`` how far the irregularity score is from
        the threshold, for label-based rhythms the mean classifier
        probability of the beats involved, 1 for rate and pause rules.
    n_beats : numpy.ndarray
        Beats in the episode.
    nrmssd, tpr, she : numpy.ndarray
        Classic irregularity features of the episode's R-R intervals, ectopic
        beats taken out (:func:`ecgtool.rr.irregularity`); NaN under 8 intervals.
    interval_rhythm : numpy.ndarray
        The rhythm of each R-R interval (what the episodes were merged from).
    af_score : numpy.ndarray
        The irregularity score of each R-R interval.
    """

    start_s: np.ndarray
    end_s: np.ndarray
    rhythm: np.ndarray
    confidence: np.ndarray
    n_beats: np.ndarray
    nrmssd: np.ndarray | None = None
    tpr: np.ndarray | None = None
    she: np.ndarray | None = None
    interval_rhythm: np.ndarray = field(default_factory=lambda: np.zeros(0, "<U9"))
    af_score: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        # Episodes read from older stores lack the features: NaN, not an error.
        for name in ("nrmssd", "tpr", "she"):
            if getattr(self, name) is None:
                setattr(self, name, np.full(self.start_s.size, np.nan))

    def __len__(self) -> int:
        return int(self.start_s.size)

    def columns(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in EPISODE_COLUMNS}

    def duration(self, rhythm: str) -> float:
        """Total seconds spent in ``rhythm``."""
        m = self.rhythm == rhythm
        return float(np.sum(self.end_s[m] - self.start_s[m]))

    def of(self, rhythm: str) -> "Episodes":
        m = self.rhythm == rhythm
        return Episodes(self.start_s[m], self.end_s[m], self.rhythm[m], self.confidence[m],
                        self.n_beats[m], self.nrmssd[m], self.tpr[m], self.she[m])

    @classmethod
    def from_columns(cls, cols: dict) -> "Episodes":
        extra = {k: np.asarray(cols[k], float) for k in ("nrmssd", "tpr", "she") if k in cols}
        return cls(np.asarray(cols["start_s"], float), np.asarray(cols["end_s"], float),
                   np.asarray(cols["rhythm"], str), np.asarray(cols["confidence"], float),
                   np.asarray(cols["n_beats"], np.int64), **extra)


def irregular_beats(beat_times_s: np.ndarray, labels: np.ndarray | None,
                    settings: "RhythmSettings | None" = None,
                    broken: np.ndarray | None = None,
                    pr_ms: np.ndarray | None = None) -> np.ndarray:
    """True for beats next to an interval whose AF score (ectopic beats taken
    out) exceeds the AF threshold: beats of an irregularly irregular rhythm.
    ``broken`` (bool per interval) marks intervals across an unreadable
    stretch, which the score leaves out. Given the beats' PR intervals
    (``pr_ms``, NaN where no P wave was found), an interval amid steadily
    conducted P waves (:func:`steady_atria`) is not irregular in this sense,
    as :func:`find_rhythms` calls no AF there.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> t = np.cumsum(np.r_[np.full(40, 0.8), rng.uniform(0.4, 1.2, 60)])
    >>> irr = irregular_beats(t, None)
    >>> bool(irr[:30].any()), round(float(irr[50:].mean()), 1)
    (False, 1.0)
    """
    st = settings or DEFAULT_RHYTHM
    t = np.asarray(beat_times_s, dtype=np.float64)
    irregular = np.zeros(t.size, dtype=bool)
    if t.size < 3:
        return irregular
    lab = None if labels is None else np.asarray(labels).astype("<U1")
    score = _interval_rhythms(t, lab, None, None, st, broken=broken)[2]
    high = score > st.af_threshold
    if pr_ms is not None:
        high &= ~steady_atria(pr_ms, st)
    # Each beat takes the larger score of its two intervals.
    irregular[1:] |= high
    irregular[:-1] |= high
    return irregular


def steady_atria(pr_ms: np.ndarray, settings: "RhythmSettings | None" = None) -> np.ndarray:
    """True for each R-R interval (``len(pr_ms) - 1``) both of whose beats lie
    amid steadily conducted P waves (:func:`ecgtool.rr.steady_p_waves` with
    ``settings.p_steady_share`` and ``p_steady_ms``): whatever its timing,
    the atria are not fibrillating there. All False when the share is 0.

    Examples
    --------
    >>> pr = np.r_[np.full(40, 160.0), np.full(40, np.nan)]
    >>> m = steady_atria(pr)
    >>> m.size, bool(m[:20].all()), bool(m[-20:].any())
    (79, True, False)
    """
    st = settings or DEFAULT_RHYTHM
    pr = np.asarray(pr_ms, dtype=np.float64)
    if pr.size < 2 or st.p_steady_share <= 0:
        return np.zeros(max(pr.size - 1, 0), bool)
    steady = steady_p_waves(pr, st.window_beats, st.p_steady_share, st.p_steady_ms)
    return steady[:-1] & steady[1:]


def fast_runs(beat_times_s: np.ndarray, mask: np.ndarray,
              settings: RhythmSettings = DEFAULT_RHYTHM,
              slow: bool = False) -> list[tuple[int, int]]:
    """(start, stop) beat indices of the runs of at least ``run_min_beats``
    beats where ``mask`` holds, at a mean rate over ``run_rate_bpm``: a
    tachycardia of those beats (V beats: ventricular tachycardia). With
    ``slow``, the regular runs at that rate or under instead (V beats: an
    idioventricular rhythm): those whose successive intervals differ by
    ``ivr_max_irregularity`` of their mean or less, on average.

    Examples
    --------
    >>> t = np.r_[0.0, 0.8, 1.6, 2.0, 2.4, 2.8, 3.6]
    >>> fast_runs(t, np.array([0, 0, 1, 1, 1, 0, 0], bool))
    [(2, 5)]
    >>> fast_runs(t, np.array([0, 0, 1, 1, 0, 0, 0], bool))
    []
    >>> fast_runs(t, np.array([1, 1, 1, 0, 0, 0, 0], bool), slow=True)
    [(0, 3)]
    >>> fast_runs(np.r_[0.0, 0.4, 1.6, 2.4], np.ones(4, bool), slow=True)  # irregular
    []
    """
    rr = np.diff(np.asarray(beat_times_s, dtype=float))
    out = []
    for a, b in true_runs(np.asarray(mask, bool)):
        run_rr = rr[a:b - 1]
        if b - a < settings.run_min_beats or (
                60.0 / run_rr.mean() > settings.run_rate_bpm) == slow:
            continue
        if slow and run_rr.size > 1 and np.abs(np.diff(run_rr)).mean() > (
                settings.ivr_max_irregularity * run_rr.mean()):
            continue
        out.append((int(a), int(b)))
    return out


def _pattern_beats(labels: np.ndarray, period: int, cycles: int) -> np.ndarray:
    # Beats inside a repeat of (period-1) normal beats then one V, `cycles` times.
    n = labels.size
    out = np.zeros(n, dtype=bool)
    is_v = labels == "V"
    is_n = labels == "N"
    # fit[i]: beat i is a V whose previous period-1 beats are N.
    fit = is_v.copy()
    for k in range(1, period):
        shifted = np.zeros(n, dtype=bool)
        shifted[k:] = is_n[:-k]
        fit &= shifted
    # Chains of fits exactly `period` beats apart.
    pos = np.flatnonzero(fit)
    if pos.size == 0:
        return out
    breaks = np.flatnonzero(np.diff(pos) != period)
    starts = np.concatenate([[0], breaks + 1])
    stops = np.concatenate([breaks + 1, [pos.size]])
    for a, b in zip(starts, stops):
        if b - a >= cycles:
            out[pos[a] - (period - 1):pos[b - 1] + 1] = True
    return out


def find_rhythms(beat_times_s: np.ndarray, labels: np.ndarray | None = None,
                 proba: np.ndarray | None = None,
                 noise_spans: list[tuple[float, float]] | None = None,
                 settings: RhythmSettings = DEFAULT_RHYTHM,
                 pr_ms: np.ndarray | None = None,
                 vf_spans: list[tuple[float, float]] | None = None) -> Episodes:
    """Rhythm episodes from beat times (seconds), with optional AAMI labels.

    Parameters
    ----------
    beat_times_s : numpy.ndarray
        Sorted beat times in seconds.
    labels : numpy.ndarray, optional
        AAMI class per beat (``N S V F Q``): ectopic beats are taken out of the
        AF score, and VT/SVT runs and bigeminy/trigeminy become visible.
    proba : numpy.ndarray, optional
        ``(n_beats, 5)`` classifier probabilities (for confidences).
    noise_spans : list of (start_s, end_s), optional
        Unreadable stretches (see :func:`ecgtool.signal.quality.noise_spans`):
        the intervals that touch one are ``noise``, and no AF score or
        irregularity feature counts them.
    settings : RhythmSettings
    pr_ms : numpy.ndarray, optional
        PR interval per beat (NaN where no P wave was found), from the
        delineation: irregular intervals amid steadily conducted P waves
        (:func:`ecgtool.rr.steady_p_waves`), or amid P waves on most beats
        (``settings.p_present_share``), are not AF.
    vf_spans : list of (start_s, end_s), optional
        Stretches of ventricular flutter or fibrillation on the signal
        (:func:`ecgtool.signal.fibrillation.vf_spans`): the intervals that
        touch one are ``vf``, unless unreadable, and its beats, whatever
        their labels, make no VT run or pattern there.

    Returns
    -------
    Episodes

    Examples
    --------
    >>> t = np.cumsum(np.full(120, 0.8))
    >>> ep = find_rhythms(t)
    >>> ep.rhythm.tolist(), int(ep.n_beats[0])
    (['sinus'], 120)
    """
    t = np.asarray(beat_times_s, dtype=np.float64)
    if t.size < 2:
        z = np.zeros(0)
        return Episodes(z, z.copy(), np.zeros(0, "<U9"), z.copy(), np.zeros(0, np.int64))
    out, conf, score, valid_rr = _interval_rhythms(t, labels, proba, noise_spans, settings,
                                                   pr_ms, one_window=True, vf_spans=vf_spans)
    return _merge(t, out, conf, score, valid_rr)


def _touching(t: np.ndarray, spans) -> np.ndarray:
    # The intervals between beats t that overlap one of the (start, end) spans.
    hit = np.zeros(max(t.size - 1, 0), bool)
    for a_s, b_s in spans or []:
        hit |= (t[1:] > a_s) & (t[:-1] < b_s)
    return hit


def _interval_rhythms(t: np.ndarray, labels, proba, noise_spans, settings: RhythmSettings,
                      pr_ms=None, broken=None, one_window=False, vf_spans=None):
    # The rhythm, its confidence and the AF score of each interval (at least
    # 2 beats), and the intervals that count for the AF score (NaN others).
    # With one_window, a record shorter than the window gets one AF score.
    st = settings
    n = t.size
    rr = np.diff(t)
    m = rr.size
    unread = np.zeros(m, bool) if broken is None else np.asarray(broken, bool).copy()
    unread |= _touching(t, noise_spans)
    # Flutter waves are no beats: their intervals say nothing of the atria.
    fib = _touching(t, vf_spans) & ~unread
    short = m < st.window_beats
    if short:
        # A short recording (a 10-s 12-lead ECG): judge it as one window.
        st = replace(st, window_beats=max(m, 6), af_min_beats=max(4, min(st.af_min_beats, m // 2)))
    lab = None if labels is None else np.asarray(labels, dtype="<U1")
    # Intervals that touch an ectopic beat say nothing about the atrial
    # rhythm; one across an unreadable stretch was not measured.
    plausible = plausible_intervals(rr, st) & ~unread & ~fib
    if lab is None:
        # Beat times alone may come from a detector that misses beats.
        plausible &= ~missed_beat_intervals(rr, plausible, st.window_beats + 1)
    # Intervals next to an ectopic beat are taken out of the AF score: V and F
    # beats, and S beats that come early. Without labels, beats whose timing
    # looks ectopic (early, then a compensatory pause). With labels, timing
    # only confirms S beats where they are dense (as in AF), so there the
    # stricter reference of the intervals themselves keeps AF's beats in.
    timing = premature_beats(rr, paired=lab is None)
    if lab is None:
        ventricular = ectopic = timing
    else:
        ventricular = np.isin(lab, ["V", "F"])
        early = early_beats(rr, plausible, st.rate_beats // 2)
        # A classifier calls the fast irregular beats of AF "S"; where S beats
        # are that common they are the rhythm, not premature beats within it,
        # unless their timing is a PAC's (early, then a compensatory pause).
        s_sum, s_n = window_sum((lab == "S").astype(float), np.ones(n, bool),
                                 st.window_beats // 2)
        sparse = s_sum <= st.pac_share_max * s_n
        ectopic = ventricular | ((lab == "S") & early & (sparse | timing))
    valid = plausible & ~ectopic[:-1] & ~ectopic[1:]
    # Where ventricular ectopy leaves under half the intervals, the rhythm is
    # ectopy (bigeminy, runs), not AF.
    clean = ~ventricular[:-1] & ~ventricular[1:] & ~fib  # flutter is ventricular too
    score = af_score(rr, valid, st.window_beats, st.af_lags, inside=one_window and short)
    out = np.full(m, "sinus", dtype="<U9")

    # Rate, from a local mean interval.
    s, k = window_sum(rr, valid | (rr < st.pause_s), st.rate_beats // 2)
    bpm = 60.0 / np.maximum(s / np.maximum(k, 1), 1e-3)
    for name, mask in (("brady", bpm < st.brady_bpm), ("tachy", bpm > st.tachy_bpm)):
        for a, b in true_runs(mask):
            # A rate, not a couple of quick beats; but the whole of a record
            # too short to hold rate_beats (a 10-s ECG under 60 a minute)
            # has the rate it has.
            if b - a >= st.rate_beats or (a == 0 and b == m >= MIN_RATE_INTERVALS):
                out[a:b] = name
    conf = np.ones(m)
    # Without labels, beats whose timing is an ectopic beat's stand in for the
    # V beats (timing_labels): the pattern shows, its origin (ventricular or
    # atrial) does not. Bigeminy only: on MIT-BIH beat times, trigeminy so
    # found had duration Se / +P 39 / 49 % (its triplets with a fusion beat, or
    # with a PVC hardly early, look alike), bigeminy 87 / 94 %.
    if lab is not None:
        pattern_lab, patterns = lab, (("trigeminy", 3), ("bigeminy", 2))
    else:
        pattern_lab, patterns = timing_labels(rr, premature=timing), (("bigeminy", 2),)
    for name, period in patterns:
        beats = _pattern_beats(pattern_lab, period, st.pattern_cycles)
        out[beats[:-1] & beats[1:]] = name
    out[rr >= st.pause_s] = "pause"
    # Long intervals are part of AF when AF surrounds them (slow ventricular
    # response), so AF is marked after pauses.
    n_clean, n_all = window_sum(clean.astype(float), np.ones(m, bool), st.window_beats // 2)
    af = (score > st.af_threshold) & (n_clean >= 0.5 * n_all)
    if pr_ms is not None:
        af &= ~steady_atria(pr_ms, st)
    if pr_ms is not None and st.p_present_share > 0:
        found = np.isfinite(np.asarray(pr_ms, dtype=float)).astype(float)
        p_sum, p_n = window_sum(found, np.ones(n, bool), st.window_beats // 2)
        with_p = p_sum >= st.p_present_share * p_n
        af &= ~(with_p[:-1] & with_p[1:])
    for a, b in true_runs(af):
        if b - a < st.af_min_beats:
            af[a:b] = False
    out[af] = "af"
    af_conf = 1.0 / (1.0 + np.exp(-(score - st.af_threshold) / (0.25 * st.af_threshold)))
    conf = np.where(out == "af", af_conf, np.where(out == "sinus", 1 - af_conf, conf))
    if lab is not None:
        p = None if proba is None else np.asarray(proba, dtype=float)
        af_near, _ = window_sum(af.astype(float), np.ones(m, bool), st.window_beats // 2)
        near_af = af_near > 0
        for name, cls, col, slow in (("svt", "S", 1, False), ("vt", "V", 2, False),
                                     ("ivr", "V", 2, True)):
            for a, b in fast_runs(t, lab == cls, st, slow):
                span = np.arange(a, b - 1)
                if name == "svt" and near_af[span].any():
                    # Fast S-labelled beats inside AF, or at its blurred
                    # edges, are AF, not SVT.
                    continue
                out[span] = name
                conf[span] = p[a:b, col].mean() if p is not None else 1.0
    out[fib] = "vf"
    out[unread] = "noise"
    conf[unread | fib] = 1.0
    return out, conf, score, np.where(valid, rr, np.nan)


def _merge(t: np.ndarray, interval: np.ndarray, conf: np.ndarray, score: np.ndarray,
           clean_rr: np.ndarray) -> Episodes:
    change = np.flatnonzero(interval[1:] != interval[:-1]) + 1
    starts = np.concatenate([[0], change])
    stops = np.concatenate([change, [interval.size]])
    feats = np.array([irregularity(r[~np.isnan(r)])
                      for r in (clean_rr[a:b] for a, b in zip(starts, stops))]).reshape(-1, 3)
    return Episodes(
        start_s=t[starts], end_s=t[stops], rhythm=interval[starts],
        confidence=np.array([conf[a:b].sum() / (b - a) for a, b in zip(starts, stops)]),
        n_beats=(stops - starts + 1).astype(np.int64), nrmssd=feats[:, 0], tpr=feats[:, 1],
        she=feats[:, 2], interval_rhythm=interval, af_score=score)
