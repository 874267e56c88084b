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
