"""Beat-by-beat scoring of a detector against reference annotations (ANSI/AAMI EC57).

Reference beats are the beat annotations of the record (non-beat labels such
as rhythm changes or noise marks are ignored). A detection matches a
reference beat when they are at most 150 ms apart; each is used once, closest
pairs first. Periods of ventricular flutter/fibrillation (between ``[`` and
``]``) and those the reference marks unreadable on every signal (a noise
mark ``~`` of subtype -1 up to the next ``~``) are excluded, as EC57 asks,
and the first 5 minutes (the standard's learning period) can be skipped.
Statistics are given per record and gross (summed counts over records).

References
----------
ANSI/AAMI EC57:2012, Testing and reporting performance results of cardiac
rhythm and ST segment measurement algorithms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtool.io.records import Annotations

#: MIT-BIH/WFDB codes that mark a beat (WFDB's ``isqrs`` set).
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")

#: Records of MIT-BIH with paced rhythm, reported apart per EC57.
PACED_RECORDS = frozenset({"102", "104", "107", "217"})

MATCH_WINDOW_S = 0.15
LEARNING_PERIOD_S = 300.0


@dataclass(frozen=True)
class BeatMatch:
    """Pairing of reference and detected beats.

    Attributes
    ----------
    ref_index, test_index : numpy.ndarray
        Indices (into the scored reference and test arrays) of matched pairs.
    n_ref, n_test : int
        Number of scored reference and test beats.
    """

    ref_index: np.ndarray
    test_index: np.ndarray
    n_ref: int
    n_test: int

    @property
    def tp(self) -> int:
        return int(self.ref_index.size)

    @property
    def fn(self) -> int:
        return self.n_ref - self.tp

    @property
    def fp(self) -> int:
        return self.n_test - self.tp


def match_beats(ref: np.ndarray, test: np.ndarray, window: int) -> BeatMatch:
    """Pair sorted reference and test sample indices at most ``window`` apart.

    Pairs are taken closest first, each beat at most once.

    Examples
    --------
    >>> m = match_beats(np.array([100, 400]), np.array([110, 250, 395]), 54)
    >>> m.tp, m.fn, m.fp
    (2, 0, 1)
    """
    ref = np.asarray(ref, dtype=np.int64)
    test = np.asarray(test, dtype=np.int64)
    lo = np.searchsorted(test, ref - window, side="left")
    hi = np.searchsorted(test, ref + window, side="right")
    counts = hi - lo
    r_idx = np.repeat(np.arange(ref.size), counts)
    t_idx = (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
             + np.repeat(lo, counts))
    dist = np.abs(test[t_idx] - ref[r_idx])
    order = np.lexsort((t_idx, dist))
    ref_used = np.zeros(ref.size, dtype=bool)
    test_used = np.zeros(test.size, dtype=bool)
    pairs = []
    for k in order:
        i, j = r_idx[k], t_idx[k]
        if not ref_used[i] and not test_used[j]:
            ref_used[i] = test_used[j] = True
            pairs.append((i, j))
    pairs.sort()
    arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return BeatMatch(arr[:, 0], arr[:, 1], int(ref.size), int(test.size))


def excluded_spans(annotations: Annotations, n_samples: int) -> list[tuple[int, int]]:
    """The stretches EC57 leaves out of beat-by-beat scoring, as sample
    ranges: ventricular flutter/fibrillation (``[`` ... ``]``) and the
    reference's unreadable stretches (:func:`unreadable_spans`).

    Examples
    --------
    >>> a = Annotations([10, 50, 90], ["N", "[", "]"], ["", "", ""])
    >>> excluded_spans(a, 100)
    [(50, 90)]
    """
    spans, start = [], None
    for s, sym in zip(annotations.sample, annotations.symbol):
        if sym == "[" and start is None:
            start = int(s)
        elif sym == "]" and start is not None:
            spans.append((start, int(s)))
            start = None
    if start is not None:
        spans.append((start, n_samples))
    return sorted(spans + unreadable_spans(annotations, n_samples))


def unreadable_spans(annotations: Annotations, n_samples: int) -> list[tuple[int, int]]:
    """Stretches where the reference marks every signal unreadable, as sample
    ranges: from a noise mark ``~`` of subtype -1 (drawn ``U``) to the next
    ``~``. WFDB's ``bxb`` calls them shutdown and scores no beat in them.

    Examples
    --------
    >>> a = Annotations([10, 50, 90, 95], ["N", "~", "~", "N"], [""] * 4, [0, -1, 0, 0])
    >>> unreadable_spans(a, 100)
    [(50, 90)]
    """
    noise = np.flatnonzero(annotations.symbol == "~")
    spans = []
    for i, j in zip(noise, np.append(noise[1:], -1)):
        if annotations.subtype[i] == -1:
            end = n_samples if j < 0 else int(annotations.sample[j])
            if not spans or int(annotations.sample[i]) > spans[-1][1]:
                spans.append((int(annotations.sample[i]), end))
            else:  # a second U mark inside the first one's stretch
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
    return spans


def reference_beats(annotations: Annotations) -> np.ndarray:
    """Sample indices of the beat annotations (sorted): rhythm changes and
    other non-beat codes are left out.

    Examples
    --------
    >>> a = Annotations([30, 10, 20], ["N", "+", "V"], ["", "(N", ""])
    >>> reference_beats(a).tolist()
    [20, 30]
    """
    mask = np.isin(annotations.symbol, list(BEAT_SYMBOLS))
    return np.sort(annotations.sample[mask])


def scored_mask(samples: np.ndarray, spans: list[tuple[int, int]], start: int) -> np.ndarray:
    """Which of ``samples`` are scored: from ``start`` on, outside the ``spans``.

    Examples
    --------
    >>> scored_mask(np.array([5, 20, 60]), [(50, 90)], 10).tolist()
    [False, True, False]
    """
    keep = samples >= start
    for a, b in spans:
        keep &= (samples < a) | (samples > b)
    return keep


def _scored(samples: np.ndarray, spans: list[tuple[int, int]], start: int) -> np.ndarray:
    return samples[scored_mask(samples, spans, start)]


@dataclass(frozen=True)
class DetectionScore:
    """EC57 QRS detection counts for one record (or a sum of records)."""

    record: str
    tp: int
    fn: int
    fp: int
    #: The reference holds paced beats: EC57 reports such records apart.
    paced: bool = False

    @property
    def se(self) -> float:
        """Sensitivity, TP / (TP + FN)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def ppv(self) -> float:
        """Positive predictivity (+P), TP / (TP + FP)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def f1(self) -> float:
        d = 2 * self.tp + self.fn + self.fp
        return 2 * self.tp / d if d else float("nan")

    def __add__(self, other: "DetectionScore") -> "DetectionScore":
        return DetectionScore("gross", self.tp + other.tp, self.fn + other.fn,
                              self.fp + other.fp)


def score_detection(record: str, annotations: Annotations, detected: np.ndarray, fs: float,
                    n_samples: int, skip_learning: bool = False,
                    window_s: float = MATCH_WINDOW_S) -> DetectionScore:
    """Score detected R peaks of one record against its reference beats.

    Parameters
    ----------
    record : str
        Name reported with the score.
    annotations : Annotations
        Reference annotations (beats; ``[``/``]`` and unreadable ``~`` marks
        for exclusion).
    detected : numpy.ndarray
        Detected beat sample indices.
    fs : float
        Sampling rate (Hz).
    n_samples : int
        Record length in samples.
    skip_learning : bool
        Leave out the first 5 minutes (EC57's learning period).
    window_s : float
        Match window (EC57: 0.15 s).

    Examples
    --------
    >>> a = Annotations([100, 460, 820], ["N", "N", "N"], [""] * 3)
    >>> s = score_detection("x", a, np.array([105, 830]), 360.0, 1000)
    >>> s.tp, s.fn, s.fp
    (2, 1, 0)
    """
    spans = excluded_spans(annotations, n_samples)
    start = int(round(LEARNING_PERIOD_S * fs)) if skip_learning else 0
    ref = _scored(reference_beats(annotations), spans, start)
    test = _scored(np.sort(np.asarray(detected, dtype=np.int64)), spans, start)
    m = match_beats(ref, test, int(round(window_s * fs)))
    return DetectionScore(record, m.tp, m.fn, m.fp,
                          paced=bool(np.any(np.asarray(annotations.symbol) == "/")))


def gross(scores: list[DetectionScore], name: str = "gross") -> DetectionScore:
    """Sum of counts over records.

    Examples
    --------
    >>> gross([DetectionScore("a", 9, 1, 0), DetectionScore("b", 10, 0, 2)]).tp
    19
    """
    total = DetectionScore(name, 0, 0, 0)
    for s in scores:
        total = total + s
    return DetectionScore(name, total.tp, total.fn, total.fp)


# ------------------------------------------------------------- delineation

#: Wave points scored by :func:`delineation_errors` (``t_onset`` is rarely annotated).
WAVE_POINTS = ("p_onset", "p_peak", "p_offset", "qrs_onset", "qrs_offset", "t_peak",
               "t_offset")


@dataclass(frozen=True)
class WaveReference:
    """Wave boundaries per annotated beat, -1 where a point is not annotated.

    ``points["r_peak"]`` is the QRS peak of each beat; the other keys are
    :data:`WAVE_POINTS` (and ``t_onset``).
    """

    points: dict


def reference_waves(annotations: Annotations) -> WaveReference:
    """Parse wave annotations (``(`` onset, ``p``/beat/``t`` peak, ``)`` offset).

    This is the format of the QT database (``.q1c``, ``.pu0``) and LUDB. A
    P wave belongs to the next QRS complex, a T wave to the previous one.

    Examples
    --------
    >>> a = Annotations([10, 20, 30, 40, 50, 60, 80, 90],
    ...                 ["(", "p", ")", "(", "N", ")", "t", ")"], [""] * 8)
    >>> w = reference_waves(a).points
    >>> int(w["p_onset"][0]), int(w["qrs_offset"][0]), int(w["t_offset"][0])
    (10, 60, 90)
    """
    waves = []  # [kind, onset, peak, offset]
    pending_onset = -1
    current = None
    for s, sym in zip(annotations.sample.tolist(), annotations.symbol.tolist()):
        if sym == "(":
            pending_onset = s
            current = None
        elif sym == ")":
            if current is not None and current[3] < 0:
                current[3] = s
            current = None
        else:
            kind = "qrs" if sym in BEAT_SYMBOLS else sym if sym in ("p", "t") else None
            if kind is None:
                pending_onset, current = -1, None
                continue
            current = [kind, pending_onset, s, -1]
            waves.append(current)
            pending_onset = -1
    qrs = [w for w in waves if w[0] == "qrs"]
    n = len(qrs)
    keys = ("r_peak", "qrs_onset", "qrs_offset") + tuple(
        f"{k}_{p}" for k in ("p", "t") for p in ("onset", "peak", "offset"))
    pts = {k: np.full(n, -1, dtype=np.int64) for k in keys}
    peaks = np.array([w[2] for w in qrs], dtype=np.int64)
    for i, w in enumerate(qrs):
        pts["r_peak"][i], pts["qrs_onset"][i], pts["qrs_offset"][i] = w[2], w[1], w[3]
    for kind, on, peak, off in waves:
        if kind == "qrs" or n == 0:
            continue
        # P: the QRS right after it; T: the QRS right before it.
        i = np.searchsorted(peaks, peak) - (1 if kind == "t" else 0)
        if 0 <= i < n:
            pts[f"{kind}_onset"][i], pts[f"{kind}_peak"][i], pts[f"{kind}_offset"][i] = \
                on, peak, off
    return WaveReference(pts)


@dataclass(frozen=True)
class PointErrors:
    """Errors (test minus reference, ms) of one wave point over scored beats."""

    n_ref: int
    errors_ms: np.ndarray

    @property
    def se(self) -> float:
        return self.errors_ms.size / self.n_ref if self.n_ref else float("nan")

    @property
    def mean(self) -> float:
        return float(np.mean(self.errors_ms)) if self.errors_ms.size else float("nan")

    @property
    def sd(self) -> float:
        return float(np.std(self.errors_ms, ddof=1)) if self.errors_ms.size > 1 else float("nan")

    def __add__(self, other: "PointErrors") -> "PointErrors":
        return PointErrors(self.n_ref + other.n_ref,
                           np.concatenate([self.errors_ms, other.errors_ms]))


def beat_errors(ref: WaveReference, test: dict, fs: float,
                window_s: float = MATCH_WINDOW_S) -> dict[str, np.ndarray]:
    """Error (ms, test minus reference) of each wave point of each reference beat.

    Reference beats are matched to test beats by R peak (within
    ``window_s``); an annotated point counts as found when the test beat
    has that point within ``window_s`` of it. NaN where the point is not
    annotated or not found.

    Parameters
    ----------
    ref : WaveReference
        From :func:`reference_waves`.
    test : dict
        ``r_peak`` and the :data:`WAVE_POINTS` as int arrays (-1 = none), e.g.
        ``Beats.columns()``.
    fs : float
        Sampling rate of both.

    Examples
    --------
    >>> ref = reference_waves(Annotations([90, 100, 110], ["(", "N", ")"], ["", "", ""]))
    >>> e = beat_errors(ref, {"r_peak": [101], "qrs_onset": [92], "qrs_offset": [-1]}, 1000.0)
    >>> float(e["qrs_onset"][0]), bool(np.isnan(e["qrs_offset"][0]))
    (2.0, True)
    """
    w = int(round(window_s * fs))
    r_ref = ref.points["r_peak"]
    r_test = np.asarray(test["r_peak"], dtype=np.int64)
    order = np.argsort(r_test)
    m = match_beats(r_ref, r_test[order], w)
    test_of_ref = np.full(r_ref.size, -1, dtype=np.int64)
    test_of_ref[m.ref_index] = order[m.test_index]
    hit = test_of_ref >= 0
    out = {}
    for p in WAVE_POINTS:
        rv = ref.points[p]
        tv = np.full(rv.size, -1, dtype=np.int64)
        if p in test:
            tv[hit] = np.asarray(test[p], dtype=np.int64)[test_of_ref[hit]]
        ok = (rv >= 0) & (tv >= 0) & (np.abs(tv - rv) <= w)
        out[p] = np.where(ok, (tv - rv) * (1000.0 / fs), np.nan)
    return out


def point_errors(ref: WaveReference, errors: dict[str, np.ndarray]) -> dict[str, PointErrors]:
    """Pool per-beat errors (from :func:`beat_errors`) into one :class:`PointErrors` per point."""
    return {p: PointErrors(int(np.count_nonzero(ref.points[p] >= 0)), e[np.isfinite(e)])
            for p, e in errors.items()}


def delineation_errors(ref: WaveReference, test: dict, fs: float,
                       window_s: float = MATCH_WINDOW_S) -> dict[str, PointErrors]:
    """Compare delineated points with reference ones (see :func:`beat_errors`)."""
    return point_errors(ref, beat_errors(ref, test, fs, window_s))


def best_lead_errors(per_lead: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per beat and point, the smallest error over leads (NaN where no lead found it).

    This is the protocol of Martinez et al. (2004) on the QT database, whose
    cardiologists marked each beat looking at both leads: it shows what a
    single-lead method reaches on the lead that shows a wave best, and is
    optimistic beside any one lead.

    Examples
    --------
    >>> best_lead_errors([{"t_offset": np.array([8.0, np.nan])},
    ...                   {"t_offset": np.array([-4.0, 12.0])}])["t_offset"].tolist()
    [-4.0, 12.0]
    """
    out = {}
    for p in per_lead[0]:
        e = np.stack([d[p] for d in per_lead])
        a = np.where(np.isfinite(e), np.abs(e), np.inf)
        pick = a.argmin(axis=0)
        best = e[pick, np.arange(e.shape[1])]
        out[p] = np.where(np.isfinite(a.min(axis=0)), best, np.nan)
    return out


# ------------------------------------------------------------------ rhythm

#: MIT-BIH rhythm codes (aux_note) -> ecgtool rhythm names; others keep their code.
RHYTHM_CODES = {"(AFIB": "af", "(AFL": "afl", "(N": "sinus", "(B": "bigeminy",
                "(T": "trigeminy", "(VT": "vt", "(SVTA": "svt", "(SBR": "brady",
                "(VFL": "vfl", "(P": "paced", "(NOD": "nodal", "(IVR": "ivr",
                "(PREX": "preexcitation", "(BII": "block", "(AB": "atrial bigeminy"}


@dataclass(frozen=True)
class Span:
    """A stretch of one rhythm, in seconds."""

    start: float
    end: float
    rhythm: str


def reference_rhythm(annotations: Annotations, fs: float, n_samples: int) -> list[Span]:
    """Rhythm spans from ``aux_note`` rhythm changes (``(AFIB``, ``(N``, ...).

    Examples
    --------
    >>> a = Annotations([0, 100, 300], ["+", "N", "+"], ["(N", "", "(AFIB\\x00"])
    >>> [(s.start, s.end, s.rhythm) for s in reference_rhythm(a, 100.0, 500)]
    [(0.0, 3.0, 'sinus'), (3.0, 5.0, 'af')]
    """
    spans: list[Span] = []
    cur, since = None, 0.0
    for s, note in zip(annotations.sample.tolist(), annotations.aux_note.tolist()):
        note = note.strip("\x00 ").strip()
        if not note.startswith("("):
            continue
        name = RHYTHM_CODES.get(note, note.lstrip("(").lower())
        t = s / fs
        if cur is not None and t > since:
            spans.append(Span(since, t, cur))
        cur, since = name, t
    if cur is not None and n_samples / fs > since:
        spans.append(Span(since, n_samples / fs, cur))
    return spans


def rhythm_at(spans: list[Span], samples: np.ndarray, fs: float) -> np.ndarray:
    """The rhythm of the span holding each sample index ("" outside every span).

    Examples
    --------
    >>> spans = [Span(0.0, 3.0, "sinus"), Span(3.0, 5.0, "af")]
    >>> rhythm_at(spans, np.array([50, 300, 600]), 100.0).tolist()
    ['sinus', 'af', '']
    """
    t = np.asarray(samples) / fs
    out = np.full(t.size, "", dtype=object)
    for span in spans:
        out[(t >= span.start) & (t < span.end)] = span.rhythm
    return out


def _overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    total, j = 0.0, 0
    b = sorted(b)
    for s, e in sorted(a):
        while j < len(b) and b[j][1] <= s:
            j += 1
        k = j
        while k < len(b) and b[k][0] < e:
            total += max(0.0, min(e, b[k][1]) - max(s, b[k][0]))
            k += 1
    return total


@dataclass(frozen=True)
class EpisodeScore:
    """EC57-style episode and duration statistics for one rhythm in one record."""

    record: str
    ref_s: float
    test_s: float
    overlap_s: float
    ref_episodes: int
    ref_found: int
    test_episodes: int
    test_true: int
    total_s: float

    @property
    def burden_error(self) -> float:
        """Test minus reference burden, in percentage points of the record."""
        return 100.0 * (self.test_s - self.ref_s) / self.total_s if self.total_s else 0.0

    def __add__(self, o: "EpisodeScore") -> "EpisodeScore":
        return EpisodeScore("gross", self.ref_s + o.ref_s, self.test_s + o.test_s,
                            self.overlap_s + o.overlap_s, self.ref_episodes + o.ref_episodes,
                            self.ref_found + o.ref_found, self.test_episodes + o.test_episodes,
                            self.test_true + o.test_true, self.total_s + o.total_s)

    def stats(self) -> dict:
        def r(a, b):
            return a / b if b else float("nan")
        return {"duration_se": r(self.overlap_s, self.ref_s),
                "duration_ppv": r(self.overlap_s, self.test_s),
                "episode_se": r(self.ref_found, self.ref_episodes),
                "episode_ppv": r(self.test_true, self.test_episodes),
                "specificity": r(self.total_s - self.ref_s - self.test_s + self.overlap_s,
                                 self.total_s - self.ref_s),
                "ref_hours": self.ref_s / 3600, "test_hours": self.test_s / 3600,
                "ref_episodes": self.ref_episodes, "test_episodes": self.test_episodes}


def score_episodes(record: str, ref: list[tuple[float, float]], test: list[tuple[float, float]],
                   total_s: float, min_episode_s: float = 0.0) -> EpisodeScore:
    """Compare reference and detected episodes of one rhythm (any overlap finds
    one, as EC57 and PhysioNet's ``epicmp`` count AF episodes).

    ``min_episode_s`` leaves episodes shorter than it, reference and detected,
    out of the episode counts; the durations keep them. The standard's figures
    use 0; 30 s is the clinical least length of an AF episode (``epicmp -i``
    is the like option of PhysioNet's tool, which also drops them from its
    durations).

    Examples
    --------
    >>> s = score_episodes("r", [(10, 70)], [(20, 80), (200, 230)], 600)
    >>> s.overlap_s, s.ref_found, s.test_true
    (50.0, 1, 1)
    >>> s = score_episodes("r", [(10, 70), (100, 105)], [(20, 80)], 600, min_episode_s=30)
    >>> s.ref_episodes, s.ref_found, s.ref_s
    (1, 1, 65)
    """
    long_ref = [e for e in ref if e[1] - e[0] >= min_episode_s]
    long_test = [e for e in test if e[1] - e[0] >= min_episode_s]
    found = sum(1 for e in long_ref if _overlap([e], test) > 0)
    true = sum(1 for e in long_test if _overlap([e], ref) > 0)
    return EpisodeScore(record, sum(e - s for s, e in ref), sum(e - s for s, e in test),
                        _overlap(ref, test), len(long_ref), found, len(long_test), true,
                        total_s)


def gross_episodes(scores: list[EpisodeScore]) -> EpisodeScore:
    """Pool the episode statistics of several records (EC57's gross figures).

    Examples
    --------
    >>> a = score_episodes("a", [(0, 60)], [(0, 30)], 600)
    >>> b = score_episodes("b", [], [(100, 130)], 600)
    >>> g = gross_episodes([a, b]).stats()
    >>> g["duration_se"], g["duration_ppv"], g["episode_ppv"]
    (0.5, 0.5, 0.5)
    """
    total = EpisodeScore("gross", 0, 0, 0, 0, 0, 0, 0, 0)
    for s in scores:
        total = total + s
    return total
