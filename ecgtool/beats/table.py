"""The beats table: one row per heartbeat, the same columns in CSV and HDF5.

Sample indices are int64 at the record's rate, ``-1`` where a point was not
found; derived times are float milliseconds, NaN where undefined. Labels from
``ecgtool classify`` are optional columns of the same table.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from ecgtool.signal.quality import unreadable_in

#: Sample-index columns, in table order (after ``r_peak``).
POINT_COLUMNS = ("p_onset", "p_peak", "p_offset", "t_onset", "t_peak", "t_offset")

#: Columns of every beats table, in order (the CSV header, after ``record``).
BEAT_COLUMNS = ("r_peak", "time_s", "qrs_onset", "qrs_offset", "qrs_ms", "r_latency_ms",
                "r_amp_mv", "rr_prev_ms", "rr_next_ms") + POINT_COLUMNS

#: AAMI EC57 beat classes, in the order of the probability columns.
AAMI_CLASSES = ("N", "S", "V", "F", "Q")

#: Columns added by ``ecgtool classify``.
LABEL_COLUMNS = ("aami", "symbol") + tuple(f"p_{c}" for c in AAMI_CLASSES) + ("anomaly",)


@dataclass
class BeatLabels:
    """Classifier output for each beat.

    Attributes
    ----------
    aami : numpy.ndarray
        One of ``N S V F Q`` per beat (str).
    proba : numpy.ndarray
        ``(n_beats, 5)`` class probabilities, columns in :data:`AAMI_CLASSES` order.
    symbol : numpy.ndarray
        MIT-BIH beat symbol within the AAMI class (``N L R A a V E F`` ...),
        ``""`` where the model cannot name one (:mod:`ecgtool.ml.symbols`).
    """

    aami: np.ndarray
    proba: np.ndarray
    symbol: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.aami = np.asarray(self.aami, dtype="<U1")
        self.proba = np.asarray(self.proba, dtype=np.float32).reshape(-1, len(AAMI_CLASSES))
        self.symbol = (np.full(self.aami.size, "", dtype="<U1") if self.symbol is None
                       else np.asarray(self.symbol, dtype="<U1"))

    @property
    def anomaly(self) -> np.ndarray:
        """True for every beat that is not N."""
        return self.aami != "N"


def broken_intervals(unreadable: np.ndarray | None, r_peaks: np.ndarray) -> np.ndarray | None:
    """True for each interval between successive R peaks that spans samples
    marked ``unreadable`` (None when nothing is, or there is no interval):
    beats may have gone unseen there, so the interval is no R-R interval.

    Examples
    --------
    >>> bad = np.zeros(100, bool); bad[40:50] = True
    >>> broken_intervals(bad, np.array([10, 30, 60, 90])).tolist()
    [False, True, False]
    """
    if unreadable is None or len(r_peaks) < 2 or not np.any(unreadable):
        return None
    r = np.asarray(r_peaks, dtype=np.int64)
    return unreadable_in(unreadable, r[:-1], r[1:])


def _int_column(values, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, -1, dtype=np.int64)
    return np.asarray(values, dtype=np.int64)


@dataclass
class Beats:
    """The heartbeats of one record.

    Attributes
    ----------
    fs : float
        Sampling rate of the record (Hz); every index is at this rate.
    r_peak : numpy.ndarray
        int64 sample index of each R peak, sorted.
    qrs_onset, qrs_offset : numpy.ndarray
        int64 QRS onset and offset (-1 when not found).
    p_onset, p_peak, p_offset, t_onset, t_peak, t_offset : numpy.ndarray
        int64 P- and T-wave points (-1 when not found).
    r_amp_mv : numpy.ndarray
        R-peak amplitude above the PR baseline (mV, negative for a QS complex).
    labels : BeatLabels or None
        Set by the classifier.
    gap_before : numpy.ndarray
        True where unreadable signal (a NaN run) lies between a beat and the
        one before: that interval is no R-R interval, and the table's
        ``rr_prev_ms`` (and the previous beat's ``rr_next_ms``) is NaN there,
        which is how a table read back (:meth:`from_columns`) knows the gap.

    Examples
    --------
    >>> b = Beats(fs=250.0, r_peak=np.array([100, 350, 600]))
    >>> b.columns()["rr_prev_ms"].tolist()
    [nan, 1000.0, 1000.0]
    >>> g = Beats(fs=250.0, r_peak=np.array([100, 350, 1600]),
    ...           gap_before=np.array([False, False, True]))
    >>> g.columns()["rr_prev_ms"].tolist(), g.gap_spans()
    ([nan, 1000.0, nan], [(1.4, 6.4)])
    """

    fs: float
    r_peak: np.ndarray
    qrs_onset: np.ndarray | None = None
    qrs_offset: np.ndarray | None = None
    p_onset: np.ndarray | None = None
    p_peak: np.ndarray | None = None
    p_offset: np.ndarray | None = None
    t_onset: np.ndarray | None = None
    t_peak: np.ndarray | None = None
    t_offset: np.ndarray | None = None
    r_amp_mv: np.ndarray | None = None
    labels: BeatLabels | None = field(default=None)
    gap_before: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.fs = float(self.fs)
        self.r_peak = np.asarray(self.r_peak, dtype=np.int64)
        n = self.r_peak.size
        self.gap_before = (np.zeros(n, bool) if self.gap_before is None
                           else np.asarray(self.gap_before, dtype=bool))
        for f in ("qrs_onset", "qrs_offset") + POINT_COLUMNS:
            setattr(self, f, _int_column(getattr(self, f), n))
        self.r_amp_mv = (np.full(n, np.nan) if self.r_amp_mv is None
                         else np.asarray(self.r_amp_mv, dtype=np.float64))
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray) and v.shape[0] != n:
                raise ValueError(f"column {f.name} has {v.shape[0]} rows, r_peak has {n}")

    def __len__(self) -> int:
        return int(self.r_peak.size)

    def span_ms(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Milliseconds from points ``a`` to points ``b`` (NaN where either is -1).

        Examples
        --------
        >>> Beats(fs=360.0, r_peak=np.array([30, 60])).span_ms(np.array([10, -1]),
        ...                                                    np.array([46, 50])).tolist()
        [100.0, nan]
        """
        out = (b - a).astype(np.float64) * (1000.0 / self.fs)
        out[(a < 0) | (b < 0)] = np.nan
        return out

    @property
    def pr_ms(self) -> np.ndarray:
        """PR interval of each beat in ms (P onset to QRS onset; NaN where not found)."""
        return self.span_ms(self.p_onset, self.qrs_onset)

    @property
    def qrs_ms(self) -> np.ndarray:
        """QRS duration of each beat in ms (onset to offset; NaN where either was not found)."""
        return self.span_ms(self.qrs_onset, self.qrs_offset)

    @property
    def rr_ms(self) -> np.ndarray:
        """The n-1 R-R intervals in ms."""
        return np.diff(self.r_peak).astype(np.float64) * (1000.0 / self.fs)

    def gap_spans(self) -> list[tuple[float, float]]:
        """``(start_s, end_s)`` from the beat before each gap to the beat after
        it: unreadable time, as far as the beats alone can tell."""
        t = self.r_peak / self.fs
        return [(float(t[i - 1]), float(t[i])) for i in np.flatnonzero(self.gap_before[1:]) + 1]

    def columns(self) -> dict[str, np.ndarray]:
        """All columns in table order (:data:`BEAT_COLUMNS`, then labels if any)."""
        rr = self.rr_ms
        rr[self.gap_before[1:]] = np.nan
        nan = np.array([np.nan])
        cols = {
            "r_peak": self.r_peak,
            "time_s": self.r_peak / self.fs,
            "qrs_onset": self.qrs_onset,
            "qrs_offset": self.qrs_offset,
            "qrs_ms": self.qrs_ms,
            "r_latency_ms": self.span_ms(self.qrs_onset, np.where(self.qrs_onset < 0, -1,
                                                              self.r_peak)),
            "r_amp_mv": self.r_amp_mv,
            "rr_prev_ms": np.concatenate([nan, rr]) if len(self) else rr,
            "rr_next_ms": np.concatenate([rr, nan]) if len(self) else rr,
        }
        for f in POINT_COLUMNS:
            cols[f] = getattr(self, f)
        if self.labels is not None:
            cols["aami"] = self.labels.aami
            cols["symbol"] = self.labels.symbol
            for i, c in enumerate(AAMI_CLASSES):
                cols[f"p_{c}"] = self.labels.proba[:, i]
            cols["anomaly"] = self.labels.anomaly
        return cols

    @classmethod
    def from_columns(cls, cols: dict[str, np.ndarray], fs: float) -> "Beats":
        """Rebuild from :meth:`columns` output. Derived columns are ignored, but
        for ``rr_prev_ms`` left NaN after the first beat: a gap (``gap_before``)."""
        kw = {k: cols[k] for k in ("r_peak", "qrs_onset", "qrs_offset", "r_amp_mv")
              + POINT_COLUMNS if k in cols}
        if "rr_prev_ms" in cols:
            kw["gap_before"] = gaps_from_rr(cols["rr_prev_ms"])
        labels = None
        if "aami" in cols:
            labels = BeatLabels(aami=cols["aami"],
                                proba=np.stack([cols[f"p_{c}"] for c in AAMI_CLASSES], axis=1),
                                symbol=cols.get("symbol"))
        return cls(fs=fs, labels=labels, **kw)

    def select(self, mask: np.ndarray) -> "Beats":
        """The beats where ``mask`` is true (or at the given, sorted, indices).
        A gap before a beat left out passes to the next beat kept."""
        kw = {f.name: getattr(self, f.name)[mask] for f in fields(self)
              if isinstance(getattr(self, f.name), np.ndarray)}
        kept = np.arange(len(self))[mask]
        seen = np.cumsum(self.gap_before)
        kw["gap_before"] = np.concatenate([[False], seen[kept[1:]] > seen[kept[:-1]]])[:kept.size]
        labels = None
        if self.labels is not None:
            labels = BeatLabels(self.labels.aami[mask], self.labels.proba[mask],
                                self.labels.symbol[mask])
        return Beats(fs=self.fs, labels=labels, **kw)


def gaps_from_rr(rr_prev_ms) -> np.ndarray:
    """``gap_before`` of a table's beats from its ``rr_prev_ms``: NaN after
    the first beat (see :class:`Beats`). A column with no number at all
    (left empty by whoever wrote the table) tells of no gap.

    Examples
    --------
    >>> gaps_from_rr(np.array([np.nan, 800.0, np.nan, 790.0])).tolist()
    [False, False, True, False]
    >>> gaps_from_rr(np.full(3, np.nan)).tolist()
    [False, False, False]
    """
    gap = np.isnan(np.asarray(rr_prev_ms, dtype=np.float64))
    if gap[1:].all():
        return np.zeros(gap.size, bool)
    gap[:1] = False
    return gap
