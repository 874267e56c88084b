"""Hour by hour: the tabulation a Holter report gives beside its verdict.

Each hour of a recording gets its rate, HRV (SDNN, RMSSD, LF and HF power),
beat counts by class, V and S couplets and runs, AF time, ventricular and
supraventricular tachycardias, pauses and unreadable time, measured as
:func:`ecgtool.diagnose.diagnose` measures the whole record (rates over
clear intervals only, beats inside unreadable stretches not counted). An
R-R interval belongs to the hour in which it starts, so a pause across the
turn of an hour is counted once; a run or an episode is counted in the
hour in which it starts, and AF time is split between the hours it spans.
Where the recording's start time is known the rows follow the clock
(08:13 to 09:00, then 09:00 to 10:00...), as a Holter report's do; else
they are hours from the first sample. The first and last rows may be short.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ecgtool.beats.table import AAMI_CLASSES
from ecgtool.beats.labels import group_starts
from ecgtool.diagnose import (Thresholds, af_spans, ectopy_labels, heart_rate, pauses,
                              uncounted_spans)
from ecgtool.io.records import clock_at, clock_seconds
from ecgtool.rr import in_spans, readable_beats
from ecgtool.variability import hrv


@dataclass(frozen=True)
class HourSummary:
    """One hour of one record (times in s from the recording's start; the
    class counts None where the beats are not labelled)."""

    record: str
    hour: int
    #: Time of day the hour begins (``HH:MM:SS``), where the recording's
    #: start time is known; else "".
    clock: str
    start_s: float
    end_s: float
    analysed_s: float
    n_beats: int
    hr_mean: float
    hr_min: float
    hr_max: float
    sdnn_ms: float
    rmssd_ms: float
    lf_ms2: float
    hf_ms2: float
    lf_hf: float
    #: Share (%) of the hour's intervals that are NN; its HRV needs half.
    nn_pct: float
    n_N: int | None
    n_S: int | None
    n_V: int | None
    n_F: int | None
    n_Q: int | None
    #: V and S couplets and runs of three or more (at any rate) that start
    #: in the hour (:attr:`ecgtool.diagnose.Report.ectopy`); None where the
    #: beats are not labelled.
    v_couplets: int | None
    v_runs: int | None
    s_couplets: int | None
    s_runs: int | None
    af_s: float
    #: Seconds of ventricular flutter or fibrillation (read from the signal).
    vf_s: float
    vt_runs: int
    vt_longest_beats: int
    svt_runs: int
    pauses: int
    pause_longest_s: float
    noise_s: float


#: Columns of the hourly CSV, in order.
HOURLY_COLUMNS = tuple(f.name for f in fields(HourSummary))
#: The columns of couplets and runs (None, NaN in a store, without labels).
ECTOPY_COLUMNS = ("v_couplets", "v_runs", "s_couplets", "s_runs")


def _overlap(spans, a: float, b: float) -> float:
    # Seconds of the (start, end) spans inside [a, b).
    return float(sum(max(0.0, min(e, b) - max(s, a)) for s, e in spans))


def row_edges(duration_s: float, hour_s: float = 3600.0, start_clock: str = "") -> np.ndarray:
    """Edges (s from the first sample) of the rows: every ``hour_s``, on the
    clock's multiples of it where the start time is known.

    Examples
    --------
    >>> row_edges(9000.0).tolist(), row_edges(9000.0, start_clock="08:45:00").tolist()
    ([0.0, 3600.0, 7200.0, 9000.0], [0.0, 900.0, 4500.0, 8100.0, 9000.0])
    """
    duration_s = max(float(duration_s), 0.0)
    first = (-clock_seconds(start_clock)) % hour_s if start_clock else 0.0
    inner = np.arange(first if first > 0 else hour_s, duration_s, hour_s)
    return np.unique(np.r_[0.0, inner, duration_s])


def hourly(name: str, duration_s: float, times_s: np.ndarray, labels: np.ndarray | None,
           episodes, noise: list | None = None, hour_s: float = 3600.0,
           thresholds: Thresholds = Thresholds(), start_clock: str = "") -> list[HourSummary]:
    """The hours of one record.

    Parameters
    ----------
    name, duration_s, times_s, labels, episodes, noise
        The record, as :func:`ecgtool.diagnose.diagnose` takes it.
    hour_s : float
        Length of a row (3600 s; shorter for a finer table).
    thresholds : Thresholds
        ``pause_s``: the shortest pause.
    start_clock : str
        Time of day of the first sample (``HH:MM:SS``), for the rows' clock.

    Examples
    --------
    >>> from ecgtool.rhythm import find_rhythms
    >>> t = np.arange(0.5, 7200.0, 1.0)            # 60 bpm for two hours
    >>> t = np.delete(t, [4000, 4001, 4002])      # one pause of 4 s in the second
    >>> rows = hourly("x", 7200.0, t, None, find_rhythms(t))
    >>> [(r.hour, r.clock, r.n_beats, r.pauses, round(r.hr_mean)) for r in rows]
    [(0, '', 3600, 0, 60), (1, '', 3597, 1, 60)]
    >>> rows = hourly("x", 7200.0, t, None, find_rhythms(t), start_clock="23:30:00")
    >>> [(r.clock, r.n_beats) for r in rows]
    [('23:30:00', 1800), ('00:00:00', 3597), ('01:00:00', 1800)]
    """
    t = np.asarray(times_s, dtype=float)
    lab = None if labels is None else np.asarray(labels)
    noise = list(noise or [])
    uncounted = uncounted_spans(noise, episodes)
    readable = readable_beats(t, uncounted)
    af = episodes.of("af")
    vf = episodes.of("vf")
    af_hrv = af_spans(episodes)  # HRV leaves AF out
    vt_runs = episodes.of("vt")
    vt, svt = vt_runs.start_s, episodes.of("svt").start_s
    # The first beat of each V and S couplet and run, grouped as diagnose
    # groups the whole record's; None where the beats are not labelled.
    group_at = dict.fromkeys(ECTOPY_COLUMNS)
    if lab is not None:
        in_af = in_spans(t, af.start_s, af.end_s)
        for c in "VS":
            starts, sizes = group_starts(ectopy_labels(np.where(readable, lab, ""), in_af, c), c)
            group_at[f"{c.lower()}_couplets"] = starts[sizes == 2]
            group_at[f"{c.lower()}_runs"] = starts[sizes >= 3]
    out = []
    edges = row_edges(duration_s, hour_s, start_clock)
    for h, (start, end) in enumerate(zip(edges[:-1], edges[1:])):
        i0, i1 = np.searchsorted(t, [start, end])
        # The intervals that start in this hour: up to the next hour's first beat.
        span = t[i0:min(i1 + 1, t.size)]
        hr_mean, hr_min, hr_max = heart_rate(span, noise=noise)
        variability = hrv(span, None if lab is None else lab[i0:i0 + span.size],
                          uncounted + af_hrv)
        long_rr = pauses(span, thresholds.pause_s, noise)
        noise_s = _overlap(noise, start, end)
        counts = ({c: None for c in AAMI_CLASSES} if lab is None else
                  {c: int(np.sum((lab[i0:i1] == c) & readable[i0:i1])) for c in AAMI_CLASSES})
        in_hour = (vt >= start) & (vt < end)
        ectopy = {k: None if at is None else int(np.sum((at >= i0) & (at < i1)))
                  for k, at in group_at.items()}
        out.append(HourSummary(
            record=name, hour=h, clock=clock_at(start_clock, start),
            start_s=float(start), end_s=float(end),
            analysed_s=max(end - start - noise_s, 0.0), n_beats=int(i1 - i0),
            hr_mean=hr_mean, hr_min=hr_min, hr_max=hr_max,
            sdnn_ms=variability.sdnn_ms, rmssd_ms=variability.rmssd_ms,
            lf_ms2=variability.lf_ms2, hf_ms2=variability.hf_ms2, lf_hf=variability.lf_hf,
            nn_pct=variability.nn_pct,
            **{f"n_{c}": counts[c] for c in AAMI_CLASSES}, **ectopy,
            af_s=_overlap(zip(af.start_s, af.end_s), start, end),
            vf_s=_overlap(zip(vf.start_s, vf.end_s), start, end),
            vt_runs=int(in_hour.sum()),
            vt_longest_beats=int(vt_runs.n_beats[in_hour].max()) if in_hour.any() else 0,
            svt_runs=int(((svt >= start) & (svt < end)).sum()),
            pauses=int(long_rr.size),
            pause_longest_s=float(np.diff(span)[long_rr].max()) if long_rr.size else 0.0,
            noise_s=noise_s))
    return out


def hours_from_columns(record: str, cols: dict[str, np.ndarray]) -> list[HourSummary]:
    """The rows of a store's ``hourly`` table (:func:`hourly_columns`) again,
    as a resumed ``diagnose --hourly`` takes them for the records it skips.

    Examples
    --------
    >>> from ecgtool.rhythm import find_rhythms
    >>> t = np.cumsum(1.0 + 0.05 * np.sin(np.arange(5400) / 3))   # some variability
    >>> rows = hourly("x", 5400.0, t, None, find_rhythms(t))
    >>> hours_from_columns("x", hourly_columns(rows)) == rows
    True
    """
    kinds = {f.name: f.type for f in fields(HourSummary)}
    n = len(next(iter(cols.values()))) if cols else 0
    out = []
    for i in range(n):
        row = {}
        for name, kind in kinds.items():
            if name == "record":
                row[name] = record
                continue
            if name not in cols:
                # A store written before this column was measured.
                row[name] = float("nan")
                continue
            v = cols[name][i]
            if kind == "str":
                row[name] = str(v)
            elif kind.startswith("int | None"):
                row[name] = None if np.isnan(v) else int(v)
            else:
                row[name] = int(v) if kind == "int" else float(v)
        out.append(HourSummary(**row))
    return out


def stored_hours(path: str, names: list[str]) -> dict[str, list[HourSummary]]:
    """The rows a diagnose store keeps (its ``hourly`` tables) for records
    ``names``; none for a record stored without them."""
    from ecgtool.io import store

    f = store.open_store(path)
    try:
        tables = {name: store.read_table(f, name, "hourly", path) for name in names}
    finally:
        f.close()
    return {name: hours_from_columns(name, cols) for name, cols in tables.items() if cols}


def hourly_analysis(a, hour_s: float = 3600.0,
                    thresholds: Thresholds = Thresholds()) -> list[HourSummary]:
    """:func:`hourly` of an :class:`ecgtool.analysis.Analysis`."""
    return hourly(a.name, a.duration_s, a.times_s, a.labels, a.episodes, a.noise, hour_s,
                  thresholds, a.start_clock)


def hourly_columns(rows: list[HourSummary]) -> dict[str, np.ndarray]:
    """The rows as columns (a store's ``hourly`` table): class counts NaN
    where the beats are not labelled.

    Examples
    --------
    >>> from ecgtool.rhythm import find_rhythms
    >>> t = np.arange(0.5, 5400.0, 1.0)
    >>> cols = hourly_columns(hourly("x", 5400.0, t, None, find_rhythms(t)))
    >>> cols["n_beats"].tolist(), bool(np.isnan(cols["n_V"]).all())
    ([3600, 1800], True)
    """
    out = {}
    for name in HOURLY_COLUMNS:
        if name == "record":
            continue
        values = [getattr(r, name) for r in rows]
        if (name.startswith("n_") and name != "n_beats") or name in ECTOPY_COLUMNS:
            values = [np.nan if v is None else v for v in values]
        out[name] = np.asarray(values)
    return out
