"""Delineation scored against cardiologists' marks: the error of each wave point
(P, QRS and T onset, peak and offset) of the beats matched to the reference,
on one lead or on the better lead of each beat (Martinez et al. 2004).

References
----------
Martinez JP, Almeida R, Olmos S, Rocha AP, Laguna P. A wavelet-based ECG
delineator: evaluation on standard databases. IEEE Trans Biomed Eng
2004;51(4):570-581.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtool.evaluate.beats import BEAT_SYMBOLS, MATCH_WINDOW_S, match_beats
from ecgtool.io.records import Annotations


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
