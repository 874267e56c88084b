"""Beat data sets for training and scoring: windows, R-R features, AAMI labels, records.

Records are the unit of every split: :func:`split_records` never puts one
record's beats on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ecgtool.beats.labels import aami_labels, class_index
from ecgtool.beats.windows import BeatWindows, beat_windows
from ecgtool.evaluate import BEAT_SYMBOLS
from ecgtool.io.records import Record


@dataclass
class BeatDataset:
    """Beats of one or more records.

    Attributes
    ----------
    waves, rr : numpy.ndarray
        Model inputs (see :mod:`ecgtool.beats.windows`).
    labels : numpy.ndarray
        int32 class index (-1: no AAMI class).
    records : numpy.ndarray
        Record name of each beat (str).
    r_peak : numpy.ndarray
        R-peak index of each beat in its record.
    symbols : numpy.ndarray or None
        MIT-BIH symbol of each beat (``""`` when unknown).
    qrs_ms : numpy.ndarray or None
        QRS duration of each beat (ms; NaN where not measured), which
        :func:`ecgtool.ml.classify.aami_classes` reads.
    pr_ms : numpy.ndarray or None
        PR interval of each beat (ms; NaN where no P wave was found), which
        the label revision reads (NaN throughout when not given).
    """

    waves: np.ndarray
    rr: np.ndarray
    labels: np.ndarray
    records: np.ndarray
    r_peak: np.ndarray
    symbols: np.ndarray | None = None
    qrs_ms: np.ndarray | None = None
    pr_ms: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.symbols is None:
            self.symbols = np.full(self.labels.size, "", dtype="<U1")
        if self.qrs_ms is None:
            self.qrs_ms = np.full(self.labels.size, np.nan, dtype=np.float32)
        if self.pr_ms is None:
            self.pr_ms = np.full(self.labels.size, np.nan, dtype=np.float32)

    def __len__(self) -> int:
        return int(self.labels.size)

    def select(self, mask: np.ndarray) -> "BeatDataset":
        return BeatDataset(self.waves[mask], self.rr[mask], self.labels[mask],
                           self.records[mask], self.r_peak[mask], self.symbols[mask],
                           self.qrs_ms[mask], self.pr_ms[mask])

    def of_records(self, names) -> "BeatDataset":
        return self.select(np.isin(self.records, list(names)))

    def windows(self, mask: np.ndarray | slice = slice(None)) -> BeatWindows:
        """The model inputs of the beats in ``mask`` (all by default)."""
        return BeatWindows(self.waves[mask], self.rr[mask], qrs_ms=self.qrs_ms[mask],
                           pr_ms=self.pr_ms[mask])

    @staticmethod
    def concat(parts: list["BeatDataset"]) -> "BeatDataset":
        return BeatDataset(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                             ("waves", "rr", "labels", "records", "r_peak", "symbols",
                              "qrs_ms", "pr_ms")))


def reference_dataset(record: Record) -> BeatDataset:
    """Beats at the reference annotation positions, labelled by their symbols.

    All annotated beats shape the R-R features; beats whose symbol has no
    AAMI class keep label -1 (left out of training and scoring).
    """
    a = record.annotations
    if a is None:
        raise ValueError(f"record {record.name} has no annotations")
    mask = np.isin(a.symbol, list(BEAT_SYMBOLS))
    r = a.sample[mask]
    order = np.argsort(r, kind="stable")
    r, sym = r[order], a.symbol[mask][order]
    w = beat_windows(record.signal, record.fs, r)
    labels = class_index(aami_labels(sym))
    return BeatDataset(w.waves, w.rr, labels, np.full(r.size, record.name), r,
                       sym.astype("<U1"), w.qrs_ms, w.pr_ms)


def detected_dataset(record: Record, r_peaks: np.ndarray,
                     window_s: float = 0.15) -> BeatDataset:
    """Beats at detected positions, labelled by the matching reference beat (-1 if none)."""
    from ecgtool.evaluate import match_beats

    r = np.asarray(r_peaks, dtype=np.int64)
    w = beat_windows(record.signal, record.fs, r)
    labels = np.full(r.size, -1, dtype=np.int32)
    symbols = np.full(r.size, "", dtype="<U1")
    if record.annotations is not None:
        a = record.annotations
        mask = np.isin(a.symbol, list(BEAT_SYMBOLS))
        ref, sym = a.sample[mask], a.symbol[mask]
        order = np.argsort(ref, kind="stable")
        ref, sym = ref[order], sym[order]
        m = match_beats(ref, r, int(round(window_s * record.fs)))
        labels[m.test_index] = class_index(aami_labels(sym[m.ref_index]))
        symbols[m.test_index] = sym[m.ref_index]
    return BeatDataset(w.waves, w.rr, labels, np.full(r.size, record.name), r, symbols,
                       w.qrs_ms, w.pr_ms)


def held_out_count(n_records: int, n_val: int) -> int:
    """How many of ``n_records`` records :func:`split_records` holds out when
    asked for ``n_val``: at least one record always trains.

    Examples
    --------
    >>> held_out_count(4, 1), held_out_count(1, 4)
    (1, 0)
    """
    return min(n_val, max(0, n_records - 1))


# Early stopping and the adaptation guard judge a class only where the
# held-out records hold this many of its beats (F is too rare outside one
# MIT-BIH record, 208, to ask for).
CHECKED_CLASSES = ("N", "S", "V")
MIN_CHECK_BEATS = 20


def split_records(names: list[str], n_val: int, seed: int = 0,
                  ds: BeatDataset | None = None) -> tuple[list[str], list[str]]:
    """Pick ``n_val`` validation records at random (seeded); the rest train.

    With ``ds``, draws are repeated until every class keeps at least half of
    its beats for training (MIT-BIH's F beats, for one, are mostly in record
    208, which must not be held out), and the first draw whose validation
    records also hold :data:`MIN_CHECK_BEATS` beats of each of
    :data:`CHECKED_CLASSES` is taken: a validation set without S beats picks
    the epoch blind to S. Where no draw holds them all, the first that keeps
    half of each class for training is taken.

    Examples
    --------
    >>> tr, va = split_records(["a", "b", "c", "d"], 1)
    >>> sorted(tr + va) == ["a", "b", "c", "d"] and len(va) == 1
    True
    """
    from ecgtool.beats.table import AAMI_CLASSES

    names = sorted(set(names))
    rng = np.random.default_rng(seed)
    k = held_out_count(len(names), n_val)

    def draw() -> list[str]:
        return sorted(str(v) for v in rng.choice(names, size=k, replace=False))

    if ds is None:
        val = draw()
        return [n for n in names if n not in val], val
    n_classes = len(AAMI_CLASSES)
    totals = np.bincount(ds.labels[ds.labels >= 0], minlength=n_classes)
    checked = [AAMI_CLASSES.index(c) for c in CHECKED_CLASSES]
    fallback = None
    for _ in range(200):
        val = draw()
        held = np.bincount(ds.labels[np.isin(ds.records, val) & (ds.labels >= 0)],
                           minlength=n_classes)
        if np.all(held <= 0.5 * totals):
            if np.all(held[checked] >= MIN_CHECK_BEATS):
                break
            if fallback is None:
                fallback = val
    else:
        if fallback is not None:
            val = fallback
    return [n for n in names if n not in val], val


def batches(ds: BeatDataset, batch_size: int, rng: np.random.Generator | None = None,
            ) -> Iterator[dict[str, np.ndarray]]:
    """Batches of labelled beats, shuffled when ``rng`` is given.

    The last, smaller batch is padded by repeating beats so that every batch
    has one shape (one compilation); the ``weight`` entry is 0 on padding.
    """
    idx = np.flatnonzero(ds.labels >= 0)
    if rng is not None:
        idx = rng.permutation(idx)
    for start in range(0, idx.size, batch_size):
        b = idx[start:start + batch_size]
        weight = np.ones(batch_size, np.float32)
        if b.size < batch_size:
            weight[b.size:] = 0.0
            b = np.resize(b, batch_size)
        yield {"waves": ds.waves[b], "rr": ds.rr[b], "label": ds.labels[b], "weight": weight}
