"""Rhythm episodes scored against the reference rhythm changes (MIT-BIH
``aux_note`` codes such as ``(AFIB``): duration and episode sensitivity and
positive predictivity, and the burden error, as EC57 reports AF.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtool.evaluate.beats import reference_beats
from ecgtool.io.records import Annotations


#: MIT-BIH rhythm codes (aux_note) -> ecgtool rhythm names; others keep their code.
#: Ventricular flutter (MIT-BIH's ``(VFL``) and fibrillation (``(VF``, as the
#: VF database writes it) are one rhythm to ecgtool, ``vf``.
RHYTHM_CODES = {"(AFIB": "af", "(AFL": "afl", "(N": "sinus", "(B": "bigeminy",
                "(T": "trigeminy", "(VT": "vt", "(SVTA": "svt", "(SBR": "brady",
                "(VFL": "vf", "(VF": "vf", "(P": "paced", "(NOD": "nodal", "(IVR": "ivr",
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


def annotated_span(annotations: Annotations, fs: float) -> tuple[float, float] | None:
    """From the reference's first beat to its last, in seconds; None without two beats.

    A reference rhythm holds until the next rhythm change, so the last one
    runs to the record's end even where the annotators marked no beat after
    some point: in the Long-Term AF Database 11 records end in hours of
    "AF" without a beat, its .qrs detector's beats stopping there too (the
    last 6 h of record 11), time in which no rhythm can be found from beats.
    :func:`score_episodes` scores the annotated span alone when given it.

    Examples
    --------
    >>> a = Annotations([0, 100, 300, 900], ["+", "N", "N", "+"], ["(AFIB", "", "", "(N"])
    >>> annotated_span(a, 100.0)
    (1.0, 3.0)
    """
    r = reference_beats(annotations)
    if r.size < 2:
        return None
    return float(r.min()) / fs, float(r.max()) / fs


def _cut(spans: list[tuple[float, float]], lo: float, hi: float) -> list[tuple[float, float]]:
    # The parts of the spans between lo and hi.
    return [(max(s, lo), min(e, hi)) for s, e in spans if min(e, hi) > max(s, lo)]


def score_episodes(record: str, ref: list[tuple[float, float]], test: list[tuple[float, float]],
                   total_s: float, min_episode_s: float = 0.0,
                   within: tuple[float, float] | None = None) -> EpisodeScore:
    """Compare reference and detected episodes of one rhythm (any overlap finds
    one, as EC57 and PhysioNet's ``epicmp`` count AF episodes).

    ``min_episode_s`` leaves episodes shorter than it, reference and detected,
    out of the episode counts; the durations keep them. The standard's figures
    use 0; 30 s is the clinical least length of an AF episode (``epicmp -i``
    is the like option of PhysioNet's tool, which also drops them from its
    durations). ``within`` (start and end, s; e.g. :func:`annotated_span`)
    scores that stretch alone: episodes are cut to it, and it is the
    record's time for the burden.

    Examples
    --------
    >>> s = score_episodes("r", [(10, 70)], [(20, 80), (200, 230)], 600)
    >>> s.overlap_s, s.ref_found, s.test_true
    (50.0, 1, 1)
    >>> s = score_episodes("r", [(10, 70), (100, 105)], [(20, 80)], 600, min_episode_s=30)
    >>> s.ref_episodes, s.ref_found, s.ref_s
    (1, 1, 65)
    >>> s = score_episodes("r", [(10, 70)], [(20, 80)], 600, within=(0, 60))
    >>> s.ref_s, s.test_s, s.total_s
    (50, 40, 60)
    """
    if within is not None:
        ref, test = _cut(ref, *within), _cut(test, *within)
        total_s = within[1] - within[0]
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
