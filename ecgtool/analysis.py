"""Per-record rhythm and diagnosis jobs: beats, labels and rhythm episodes
of one record (:class:`Analysis`), which ``ecgtool rhythm`` writes and
:func:`ecgtool.diagnose.diagnose_analysis` judges.

Like :mod:`ecgtool.pipeline`, whose detection and labelling jobs they build
on, they are module-level so that worker processes can run them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ecgtool.beats.table import Beats
from ecgtool.errors import EcgToolError
from ecgtool.io.inputs import ReadOptions, Source, read_source_block
from ecgtool.io.records import Record
from ecgtool.io.secondlead import read_second, second_lead_options
from ecgtool.longrecord import block_length, block_spans, is_long, long_record_analysis
from ecgtool.pipeline import (BEAT_KINDS, QrsNetMark, beat_times, beats_from_source,
                              classify_job, finding_options_unused, label_in_blocks,
                              table_sources)
from ecgtool.signal.detect import (DEFAULT_SETTINGS, DetectorSettings, detect_beats,
                                   net_qrs_ms)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ecgtool.rhythm import Episodes, RhythmSettings


@dataclass
class Analysis(QrsNetMark):
    """Everything known about one record after detection, labels and rhythm."""

    name: str
    duration_s: float
    times_s: "np.ndarray"
    labels: "np.ndarray | None"
    proba: "np.ndarray | None"
    episodes: "Episodes"
    noise: list
    record: Record | None = None
    beats: Beats | None = None
    # Where to read the signal again when it was analysed in blocks and not kept.
    source: Source | None = None
    read_options: ReadOptions | None = None
    #: Rate of the beat positions (from the signal, the annotation file's
    #: header, or a beats table's ``r_peak`` and ``time_s``); None when unknown.
    fs: float | None = None
    #: As :attr:`Detected.qrs_ms`: the beats' durations when the shipped QRS
    #: network measured them, so that a store written from here says so.
    qrs_ms: "np.ndarray | None" = None
    #: Time of day of the recording's first sample (:attr:`Record.start_clock`), or "".
    start_clock: str = ""
    #: The lead the beats were found and measured on; "" for beat times alone.
    lead: str = ""

    def __post_init__(self) -> None:
        if self.fs is None and self.beats is not None:
            self.fs = float(self.beats.fs)


def rhythm_annotations(a: Analysis) -> tuple:
    """An analysed record as WFDB annotation rows ``(sample, symbol, aux_note,
    fs, subtype)``: its beats (by class: :func:`ecgtool.beats.labels.beat_symbols`),
    a rhythm change (``+``, aux :data:`ecgtool.rhythm.WFDB_RHYTHM`) at the
    start of each episode, and for an unreadable stretch a signal-quality
    change (``~``) of subtype -1 (every signal unreadable, drawn ``U``) at its
    start and of subtype 0 (clean) at its end, as in MIT-BIH's own files
    (where :func:`ecgtool.evaluate.unreadable_spans` reads them back)."""
    import numpy as np

    from ecgtool.beats.labels import beat_symbols
    from ecgtool.rhythm import WFDB_RHYTHM

    if a.fs is None:
        raise EcgToolError("no sampling rate to place annotations (a beats table gives one "
                           "by an r_peak column that agrees with its time_s)", a.name)
    beats = a.beats.r_peak if a.beats is not None else np.round(a.times_s * a.fs)
    ep = a.episodes
    rhythm = np.asarray(ep.rhythm, dtype=str)
    noise = rhythm == "noise"
    starts = np.round(np.asarray(ep.start_s) * a.fs)
    ends = np.round(np.asarray(ep.end_s)[noise] * a.fs)
    sample = np.concatenate([starts, ends, beats]).astype(np.int64)
    symbol = np.concatenate([np.where(noise, "~", "+"), np.full(ends.size, "~"),
                             beat_symbols(a.labels, None, len(beats))])
    subtype = np.concatenate([np.where(noise, -1, 0), np.zeros(ends.size + len(beats), int)])
    codes = dict(WFDB_RHYTHM)
    if a.labels is None:
        # MIT-BIH's (B is ventricular bigeminy; from beat times alone the
        # pattern's origin is unknown.
        codes["bigeminy"] = "(BIGEMINY"
    aux = ["" if r == "noise" else codes.get(r, f"({r.upper()}") for r in rhythm.tolist()]
    aux += [""] * (ends.size + len(beats))
    order = np.argsort(sample, kind="stable")  # a rhythm change before the beat it starts at
    return sample[order], symbol[order], [aux[i] for i in order], a.fs, subtype[order]


def has_signal(a: Analysis) -> bool:
    """True when strips of ``a`` can be drawn (its signal is kept or can be read)."""
    return a.record is not None or a.source is not None


def signal_between(a: Analysis, start_s: float,
                   end_s: float) -> tuple["np.ndarray", float, int, str]:
    """The chosen lead of an analysed record over ``[start_s, end_s]``:
    ``(samples, fs, index of the first, lead name)``; read from the source
    again for a recording that was analysed in blocks."""
    if a.record is not None:
        return a.record.signal, a.record.fs, 0, a.record.lead
    if a.source is None:
        raise EcgToolError("the signal of this record is not available (beat times only)",
                           a.name)
    lo, hi = _block_bounds(a, start_s, end_s)
    rec = read_source_block(a.source, a.read_options or ReadOptions(), lo, hi)
    return rec.signal, a.beats.fs, lo, rec.lead


def second_between(a: Analysis, src: Source, opts: ReadOptions, start_s: float,
                   end_s: float) -> "tuple[np.ndarray, int, str] | None":
    """The lead ``opts.second_lead`` names, over ``[start_s, end_s]`` of an
    analysed record: ``(samples, index of the first, lead name)``, as
    :func:`signal_between` gives the first lead; None where none is named
    (or ``auto`` finds none)."""
    import warnings

    from ecgtool.errors import EcgToolWarning

    with warnings.catch_warnings():
        # The analysis said so already, had auto found no other lead.
        warnings.simplefilter("ignore", EcgToolWarning)
        other = second_lead_options(src, opts, a.record.lead if a.record is not None else None)
    if other is None:
        return None
    if a.record is not None:
        rec = read_second(src, other, a.record.fs, 0, a.record.n_samples, whole=True)
        return rec.signal, 0, rec.lead
    lo, hi = _block_bounds(a, start_s, end_s)
    rec = read_second(src, other, a.beats.fs, lo, hi)
    return rec.signal, lo, rec.lead


def _block_bounds(a: Analysis, start_s: float, end_s: float) -> tuple[int, int]:
    # Samples [lo, hi) of a record analysed in blocks that hold [start_s, end_s].
    fs = a.beats.fs
    lo = max(0, int(start_s * fs))
    return lo, max(lo + 1, min(int(round(a.duration_s * fs)), math.ceil(end_s * fs) + 1))


def expand_beat_sources(inputs: list[str], samples: bool = False,
                        ann: str | None = None) -> list[Source]:
    """Sources for rhythm/diagnose: records, stores, beats CSVs, or annotation files."""
    from pathlib import Path

    from ecgtool.io.inputs import expand_inputs

    found = expand_inputs(inputs, samples=samples)
    out = [Source("ann", s.path, s.name, ann) if ann and s.kind in ("wfdb", "ishne") else s
           for s in table_sources(found)]
    if ann:
        bad = [s for s in out if s.kind != "ann"]
        if bad:
            raise EcgToolError(f"--ann needs WFDB record names or ISHNE files, not "
                               f"{Path(bad[0].path).name}", bad[0].path)
    return out


def needs_classifier(srcs: list[Source]) -> bool:
    """Whether labelling ``srcs`` takes the network: any signal whose beats
    are not labelled yet (beat times and beats tables never do)."""
    from ecgtool.io import store

    stores: dict[str, list[str]] = {}
    for s in srcs:
        if s.kind == "store":
            stores.setdefault(s.path, []).append(s.key or s.name)
        elif s.kind not in ("ann",) + BEAT_KINDS:
            return True
    for path, names in stores.items():
        f = store.open_store(path)
        try:
            if not all(store.has_labels(f, n, path) for n in names):
                return True
        finally:
            f.close()
    return False


def analyse_job(src: Source, opts: ReadOptions, model: str | None = None,
                classify: bool = True, ann_labels: bool | None = None,
                settings: "RhythmSettings | None" = None,
                detector: DetectorSettings = DEFAULT_SETTINGS,
                relabel: bool = False) -> Analysis:
    """Beats (found with ``detector`` where a signal is given), labels and
    rhythm episodes of one source.

    The classes of a store's beats that ``classify`` labelled are used as
    they are (perhaps from another model than the default), unless
    ``relabel``: then ``model`` labels them again."""
    from ecgtool.rhythm import find_rhythms

    settings = _rhythm_settings(settings, detector)
    if src.kind == "ann" or src.kind in BEAT_KINDS:
        finding_options_unused(opts, detector, "beat times have no signal to find beats on")
    if src.kind == "ann":
        from ecgtool.evaluate import unreadable_spans
        from ecgtool.io.beatfiles import read_annotation_beats

        use = ann_labels if ann_labels is not None else src.key == "atr"
        bt = read_annotation_beats(src.path, src.key, use)
        # Where the annotator marked every signal unreadable, no beat was
        # labelled: noise, not a pause.
        end = bt.n_samples or int(round(bt.duration_s * bt.fs))
        noise = [(a / bt.fs, b / bt.fs) for a, b in unreadable_spans(bt.reference, end)]
        ep = find_rhythms(bt.times_s, bt.labels, None, noise, settings)
        return Analysis(src.name, bt.duration_s, bt.times_s, bt.labels, None, ep, noise,
                        fs=bt.fs)
    if src.kind in BEAT_KINDS:
        bt = beat_times(src)
        # Without the signal, a table's gaps (R-R intervals left empty) are
        # the unreadable time: not a pause.
        gaps = bt.beats.gap_spans() if bt.beats is not None else []
        # A classified table keeps the flutter that classify saw on the
        # signal: its waves, symbol "!".
        waves = None if bt.symbols is None else bt.symbols == "!"
        ep = find_rhythms(bt.times_s, bt.labels, bt.proba, gaps, settings,
                          bt.beats.pr_ms if bt.beats is not None else None,
                          vf_spans=flagged_spans(bt.times_s, waves))
        return Analysis(src.name, bt.duration_s, bt.times_s, bt.labels, bt.proba, ep, gaps,
                        beats=bt.beats, fs=bt.fs)
    if is_long(src):
        return long_record_analysis(src, opts, model, classify, settings, detector)
    # Episodes and verdicts never use the reference annotations; reading them
    # took an eighth of the time of a whole MIT-BIH record's analysis.
    opts = replace(opts, ann=None)
    if classify:
        d = classify_job(src, opts, model, detector, keep_labels=not relabel)
    else:
        d = beats_from_source(src, opts, detector)
    a = _rhythm_of(d.record, d.beats, settings, d.qrs_ms)
    # Kept so that a strip of the report can draw the second lead beside.
    a.source, a.read_options = src, opts
    return a


def flagged_spans(times_s: "np.ndarray", flags: "np.ndarray | None") -> list:
    """``(start_s, end_s)`` of each run of two or more flagged beats, from the
    first beat's time to the last's.

    Examples
    --------
    >>> import numpy as np
    >>> flagged_spans(np.arange(8.0), np.array([0, 1, 1, 1, 0, 1, 0, 0], bool))
    [(1.0, 3.0)]
    """
    from ecgtool.rr import true_runs

    if flags is None:
        return []
    return [(float(times_s[a]), float(times_s[b - 1])) for a, b in true_runs(flags)
            if b - a >= 2]


def analyse_signal(ecg: "np.ndarray", fs: float, name: str = "signal",
                   model: str | None = None, classify: bool = True,
                   settings: "RhythmSettings | None" = None,
                   detector: DetectorSettings = DEFAULT_SETTINGS,
                   lead: str = "", second: "np.ndarray | None" = None) -> Analysis:
    """Beats, labels and rhythm episodes of one lead in memory: what
    ``ecgtool rhythm`` finds in a record, and what
    :func:`ecgtool.diagnose.diagnose_analysis` judges.

    Parameters
    ----------
    ecg : numpy.ndarray
        One lead in mV.
    fs : float
        Sampling rate (Hz).
    name : str
        Record name for the results.
    model : str, optional
        Classifier directory (default: the shipped model).
    classify : bool
        Label the beats (imports JAX); without, rhythm from beat times and
        P waves alone.
    settings : RhythmSettings, optional
    detector : DetectorSettings
    lead : str, optional
        The lead's name: the shipped classifier, trained on lead II, warns
        when asked to label another (``V1``...), as ``ecgtool classify`` does.
    second : numpy.ndarray, optional
        Another lead of the recording, sample for sample, to find the R peaks
        on too (``--second-lead``; see :func:`ecgtool.signal.leads.fuse_r_peaks`).

    Examples
    --------
    >>> from ecgtool.io.records import read_sample
    >>> rec = read_sample("119")
    >>> a = analyse_signal(rec.signal[:int(60 * rec.fs)], rec.fs, "119")
    >>> "bigeminy" in a.episodes.rhythm, 15 < int((a.labels == "V").sum()) < 25
    (True, True)
    """
    import numpy as np

    x = np.asarray(ecg, dtype=np.float64).reshape(-1)
    rec = Record(name, x[:, None], float(fs), [lead or "ecg"])
    beats = detect_beats(rec.signal, rec.fs, detector, second=second)
    qrs_ms = net_qrs_ms(beats, detector)
    if classify:
        from ecgtool.ml.classify import check_lead

        check_lead(rec.lead, model)
        beats.labels = label_in_blocks(rec.signal, rec.fs, beats.r_peak, model, qrs_ms=qrs_ms,
                                       pr_ms=beats.pr_ms)
    return _rhythm_of(rec, beats, _rhythm_settings(settings, detector), qrs_ms)


def _rhythm_settings(settings: "RhythmSettings | None",
                     detector: DetectorSettings) -> "RhythmSettings":
    from ecgtool.rhythm import DEFAULT_RHYTHM

    settings = settings or DEFAULT_RHYTHM
    if not detector.delineation.p_net:
        # The slope rules call P waves on most beats of AF: that they found
        # one says nothing of the atria.
        settings = replace(settings, p_present_share=0.0)
    return settings


def _rhythm_of(rec: Record, beats: Beats, settings: "RhythmSettings",
               qrs_ms: "np.ndarray | None" = None) -> Analysis:
    # Unreadable stretches and rhythm episodes of a record whose beats are known.
    import numpy as np

    from ecgtool.rhythm import find_rhythms

    # A long stored record is judged half an hour at a time, as in the block
    # path (whole, the quality measures of a day took a gigabyte).
    step = block_length(rec.n_samples, rec.fs)
    noise, vf = [], []
    for s in range(0, rec.n_samples, step):
        unread, fib = block_spans(rec.signal[s:s + step], rec.fs, s)
        noise += unread
        vf += fib
    labels = beats.labels.aami if beats.labels is not None else None
    proba = beats.labels.proba if beats.labels is not None else None
    times = beats.r_peak / rec.fs
    ep = find_rhythms(times, labels, proba, noise, settings, beats.pr_ms, vf_spans=vf)
    return Analysis(rec.name, rec.duration_s, np.asarray(times), labels, proba, ep, noise,
                    rec, beats, qrs_ms=qrs_ms, start_clock=rec.start_clock, lead=rec.lead)
