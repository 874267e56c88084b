"""Beat times from files that hold no signal: beats CSV tables and WFDB annotations.

Archives often keep only beat times (``.qrs``) or labelled beats (``.atr``);
``ecgtool rhythm`` and ``ecgtool diagnose`` work from those as well as from
records.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ecgtool.beats.table import AAMI_CLASSES, POINT_COLUMNS, Beats, gaps_from_rr
from ecgtool.errors import EcgToolError

if TYPE_CHECKING:  # pragma: no cover
    from ecgtool.io.records import Annotations


@dataclass
class BeatTimes:
    """Beats of one record without its signal."""

    name: str
    times_s: np.ndarray
    duration_s: float
    labels: np.ndarray | None = None
    proba: np.ndarray | None = None
    source: str = ""
    #: Sampling rate of the beat positions, when the source gives one.
    fs: float | None = None
    #: The beats with their delineation, when a table gives the sample
    #: positions (``r_peak``, ``qrs_onset``, ...) and its rate follows from them.
    beats: Beats | None = None
    #: Reference annotations kept beside the beats (a store record), and the
    #: record's length in samples (0: unknown).
    reference: "Annotations | None" = None
    n_samples: int = 0
    #: MIT-BIH symbol of each beat, where the table or store gives them
    #: (``!``: a wave of ventricular flutter, as ``classify`` labels it).
    symbols: np.ndarray | None = None


# Standard input's text, kept with the stream it came from: a stream is read
# once, and another one (a new sys.stdin, as a test runner installs) afresh.
_STDIN_CACHE: dict = {}


def read_text(path: str, keep: bool = True) -> str:
    """The text of a file, or of standard input for ``-`` (read once, then
    cached; ``keep=False`` hands the text over to its last reader and drops it)."""
    if path == "-":
        if _STDIN_CACHE.get("stream") is not sys.stdin:
            # A byte-order mark (Excel's UTF-8 CSV) is not text.
            _STDIN_CACHE.update(stream=sys.stdin, text=sys.stdin.read().removeprefix("\ufeff"))
        text = _STDIN_CACHE["text"]
        if not keep:
            _STDIN_CACHE.clear()
        return text
    try:
        return Path(path).read_text(encoding="utf-8-sig", errors="replace")
    except FileNotFoundError:
        raise EcgToolError("no such file", path) from None


#: Columns that, beside ``time_s``, only a beats table has.
_TABLE_ONLY = {"r_peak", "record", "aami"}


def is_beats_header(columns: list[str]) -> bool:
    """True for the column names of a beats table: ``time_s`` with ``r_peak``,
    ``record`` or ``aami`` beside it, or alone (a list of beat times; a
    signal needs a column besides its time).

    Examples
    --------
    >>> is_beats_header(["record", "time_s", "aami"]), is_beats_header(["time_s"])
    (True, True)
    >>> is_beats_header(["time_s", "MLII"])
    False
    """
    return "time_s" in columns and (bool(_TABLE_ONLY & set(columns)) or len(columns) == 1)


def is_beats_table(text: str) -> bool:
    """True when the first line is a beats-table header (:func:`is_beats_header`)."""
    head = text.split("\n", 1)[0]
    return is_beats_header([c.strip() for c in head.split(",")])


def read_beats_table(text: str, source: str = "") -> list[BeatTimes]:
    """Records of a beats CSV (``ecgtool detect`` / ``classify`` output), in order.

    Examples
    --------
    >>> t = "record,r_peak,time_s,aami\\na,10,0.5,N\\na,30,1.5,V\\nb,5,0.2,N\\n"
    >>> [(b.name, b.times_s.tolist(), b.labels.tolist()) for b in read_beats_table(t)]
    [('a', [0.5, 1.5], ['N', 'V']), ('b', [0.2], ['N'])]
    """
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as exc:
        raise EcgToolError(f"not a readable beats table ({exc})", source) from None
    if not rows:
        return []
    # Each record's (time, row, line) triples, in the table's order.
    records: dict[str, list[tuple[float, dict, int]]] = {}
    # A table without a record column is one record, named after its file.
    unnamed = Path(source).stem if source and source != "-" else "stdin"
    for i, row in enumerate(rows):
        try:
            t = float(row["time_s"])
        except (KeyError, ValueError, TypeError):
            raise EcgToolError(f"beats table line {i + 2}: no valid time_s", source) from None
        # float() reads "nan", "inf" and "-3" too: none is a beat's time.
        if not (np.isfinite(t) and t >= 0):
            raise EcgToolError(f"beats table line {i + 2}: time_s {row['time_s'].strip()!r} is "
                               "not a time in seconds from the record start", source)
        name = row.get("record") or unnamed
        records.setdefault(name, []).append((t, row, i + 2))
    result = []
    has_peaks = "r_peak" in rows[0]
    has_labels = "aami" in rows[0]
    has_symbols = "symbol" in rows[0]
    has_proba = all(f"p_{c}" in rows[0] for c in AAMI_CLASSES)
    if has_labels:
        for i, row in enumerate(rows):
            if (row["aami"] or "").strip() not in AAMI_CLASSES:
                raise EcgToolError(f"beats table line {i + 2}: class {row['aami']!r} is none "
                                   f"of {', '.join(AAMI_CLASSES)}", source)
    for name, pairs in records.items():
        t = np.array([ti for ti, _, _ in pairs])
        rs = [row for _, row, _ in pairs]
        order = np.argsort(t, kind="stable")
        same = np.flatnonzero(np.diff(t[order]) == 0)
        if same.size:
            # Two beats at one time: the table was written (or joined) twice,
            # which doubled every rate.
            a, b = sorted((pairs[order[same[0]]][2], pairs[order[same[0] + 1]][2]))
            raise EcgToolError(f"beats table lines {a} and {b}: record {name!r} has two beats "
                               f"at {t[order[same[0]]]:g} s (the table written twice?)", source)
        labels = (np.array([r["aami"].strip() for r in rs], dtype="<U1") if has_labels
                  else None)
        symbols = (np.array([(r["symbol"] or "").strip()[:1] for r in rs], dtype="<U1")
                   if has_symbols else None)
        proba = (np.array([[float(r[f"p_{c}"]) for c in AAMI_CLASSES] for r in rs])
                 if has_proba else None)
        beats = _table_beats([rs[i] for i in order], t[order]) if has_peaks else None
        result.append(BeatTimes(name, t[order], float(t.max()) if t.size else 0.0,
                                None if labels is None else labels[order],
                                None if proba is None else proba[order], source,
                                beats.fs if beats is not None else None, beats,
                                symbols=None if symbols is None else symbols[order]))
    return result


def store_beat_times(path: str, name: str) -> BeatTimes:
    """The beats of a store record that holds no signal (written by
    ``detect --no-signal``, or by ``rhythm`` and ``diagnose`` from a beats
    table or beat annotations), as a beats table's record reads."""
    from ecgtool.io import store

    f = store.open_store(path)
    try:
        beats = store.read_beats(f, name, path)
        duration = store.read_duration(f, name, path)
        times = None if beats is not None else store.read_table(f, name, "beat_times", path)
        reference, fs, n_samples = store.read_reference(f, name, path)
    finally:
        f.close()
    if beats is None and times is None:
        raise EcgToolError(f"record {name!r} holds neither a signal nor beats", path)
    if beats is None:
        t = np.asarray(times["time_s"], dtype=np.float64)
        aami = None if "aami" not in times else np.asarray(times["aami"], "<U1")
        proba = symbols = None
    else:
        t, fs = beats.r_peak / beats.fs, beats.fs
        aami = None if beats.labels is None else beats.labels.aami
        proba = None if beats.labels is None else beats.labels.proba
        symbols = None if beats.labels is None else beats.labels.symbol
    if duration is None:
        duration = float(t.max()) if t.size else 0.0
    return BeatTimes(name, t, duration, aami, proba, path, fs, beats, reference, n_samples,
                     symbols)


#: ``time_s`` in a beats table is written to 0.1 ms.
_TIME_RESOLUTION_S = 1e-4


# The last beats table parsed, with the path and text it came from.
_TABLE_CACHE: dict = {}


def beats_table_records(path: str) -> dict[str, BeatTimes]:
    """The records of the beats CSV at ``path`` (``-``: stdin) by name, in
    order, as :func:`read_beats_table` reads them; parsed once while the text
    stays the same. Each record of a table is a job of its own: parsing the
    whole table again for each took 25 of the 25 s of ``rhythm`` on the
    table of 26 MIT-BIH records.
    """
    text = read_text(path)
    if _TABLE_CACHE.get("key") != (path, text):
        _TABLE_CACHE.clear()
        _TABLE_CACHE.update(key=(path, text),
                            records={b.name: b for b in read_beats_table(text, path)})
    return _TABLE_CACHE["records"]


def table_rate(r_peak: np.ndarray, times_s: np.ndarray) -> float | None:
    """The sampling rate that puts every ``r_peak`` at its ``time_s`` (to the
    0.1 ms a beats table keeps), preferring a whole number of Hz; None when
    no rate does (an edited table, or no beat after time 0).

    Examples
    --------
    >>> table_rate(np.array([21, 515, 650000]), np.array([0.042, 1.03, 1300.0]))
    500.0
    >>> table_rate(np.array([10, 20]), np.array([0.5, 0.7])) is None
    True
    """
    r, t = np.asarray(r_peak, dtype=float), np.asarray(times_s, dtype=float)
    if r.size == 0 or t.max() <= 0 or np.any(r < 0):
        return None
    i = int(np.argmax(t))
    estimate = r[i] / t[i]
    for fs in (float(round(estimate)), estimate):
        if fs > 0 and np.all(np.abs(r / fs - t) <= 0.6 * _TIME_RESOLUTION_S + 1e-9):
            return fs
    return None


def _number(text) -> float:
    # A derived column's value, NaN where empty or not a number.
    try:
        return float(text)
    except (TypeError, ValueError):
        return np.nan


def _table_beats(rows: list[dict], t: np.ndarray) -> Beats | None:
    # The rows' sample positions as Beats (points absent or empty: -1).
    def column(name):
        if name not in rows[0]:
            return None
        return np.array([int(float(r[name])) if r[name] not in ("", None) else -1
                         for r in rows], dtype=np.int64)

    try:
        r = column("r_peak")
        fs = table_rate(r, t)
        if fs is None:
            return None
        # The R amplitude is measured on the signal: the table alone keeps it.
        amp = (np.array([float(x["r_amp_mv"]) if x["r_amp_mv"] not in ("", None) else np.nan
                         for x in rows]) if "r_amp_mv" in rows[0] else None)
        # An R-R interval left empty inside the table marks a gap (Beats.gap_before).
        gaps = (gaps_from_rr([_number(x["rr_prev_ms"]) for x in rows])
                if "rr_prev_ms" in rows[0] else None)
        return Beats(fs, r, r_amp_mv=amp, gap_before=gaps,
                     **{k: column(k) for k in ("qrs_onset", "qrs_offset") + POINT_COLUMNS})
    except (ValueError, TypeError, OverflowError):
        return None



def read_annotation_beats(base: str, ext: str, labels: bool) -> BeatTimes:
    """Beat times (and AAMI labels if ``labels``) from a WFDB annotation file,
    or from the ISHNE annotation file ``<name>.<ext>`` beside an ISHNE
    recording ``base``.

    The header (``base.hea``, or the ISHNE recording's) gives the rate and
    length; the WFDB signal file need not exist. The annotations come along
    as the ``reference`` (its noise marks tell the unreadable stretches).
    """
    from ecgtool.io.ishnefiles import ISHNE_SUFFIXES

    if Path(base).suffix.lower() in ISHNE_SUFFIXES:
        from ecgtool.io.ishnefiles import read_ishne_annotations, read_ishne_header

        h = read_ishne_header(base, checksum=False)
        shown = str(Path(base).with_suffix("." + ext))
        if not Path(shown).is_file():
            raise EcgToolError("annotation file not found", shown)
        return _beat_times(Path(base).stem, read_ishne_annotations(shown, h.fs), h.fs,
                           h.n_samples, labels, shown)
    from ecgtool.io.wfdbfiles import read_annotations, read_header

    hea = Path(base).with_suffix(".hea")
    shown = str(Path(base).with_suffix("." + ext))
    if not hea.is_file():
        why = ("header file not found: it gives the annotation file's sampling rate"
               if Path(shown).is_file() else "no such record (header file not found)")
        raise EcgToolError(why, str(hea))
    try:
        h = read_header(Path(base))
    except Exception:
        raise EcgToolError("no readable header beside the annotation file", str(hea)) from None
    if not h.fs or h.fs <= 0:
        raise EcgToolError(f"header gives sampling rate {h.fs!r}", str(hea))
    a = read_annotations(base, ext)
    if a is None:
        raise EcgToolError("annotation file not found", shown)
    return _beat_times(Path(base).name, a, float(h.fs), int(h.sig_len or 0), labels, shown)


def _beat_times(name: str, a, fs: float, n_samples: int, labels: bool, shown: str) -> BeatTimes:
    # The beats of annotations `a` at rate `fs` in a record of `n_samples` (0: unknown).
    from ecgtool.beats.labels import aami_labels
    from ecgtool.evaluate import BEAT_SYMBOLS

    m = np.isin(a.symbol, list(BEAT_SYMBOLS))
    order = np.argsort(a.sample[m], kind="stable")
    t = a.sample[m][order] / float(fs)
    lab = aami_labels(a.symbol[m][order]) if labels else None
    if lab is not None:
        lab = np.where(lab == "", "Q", lab)
    duration = n_samples / float(fs) or (float(t[-1]) if t.size else 0.0)
    return BeatTimes(name, t, duration, lab, None, shown, float(fs), reference=a,
                     n_samples=n_samples)
