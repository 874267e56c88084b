"""Per-record jobs that the commands run, one function per stage.

Each takes a :class:`~ecgtool.io.inputs.Source` and options, reads the
record, and returns typed results; they are module-level so that worker
processes can run them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from typing import TYPE_CHECKING

from ecgtool.beats.table import Beats
from ecgtool.errors import EcgToolError
from ecgtool.io.inputs import ReadOptions, Source, read_source
from ecgtool.io.records import Record
from ecgtool.signal.detect import DEFAULT_SETTINGS, DetectorSettings, detect_beats

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ecgtool.rhythm import Episodes, RhythmSettings


@dataclass
class Detected:
    """A record and the beats found in it."""

    record: Record
    beats: Beats


def read_job(src: Source, opts: ReadOptions) -> Record:
    """Read one source (the job of ``ecgtool convert``)."""
    return read_source(src, opts)


def detect_job(src: Source, opts: ReadOptions,
               settings: DetectorSettings = DEFAULT_SETTINGS) -> Detected:
    """Read one source and detect its beats (the job of ``ecgtool detect``)."""
    rec = read_source(src, opts)
    beats = detect_beats(rec.signal, rec.fs, settings)
    return Detected(rec, beats)


def beats_from_source(src: Source, opts: ReadOptions,
                      settings: DetectorSettings = DEFAULT_SETTINGS) -> Detected:
    """The record and its beats: read from a store made by ``detect``, or detected now.

    A store record without a beats table is an error (run ``detect`` first).
    """
    if src.kind != "store":
        return detect_job(src, opts, settings)
    from ecgtool.io import store

    rec = read_source(src, opts)
    f = store.open_store(src.path)
    try:
        beats = store.read_beats(f, src.key or src.name, src.path)
    finally:
        f.close()
    if beats is None:
        raise EcgToolError(f"record {src.name!r} has no beats table; run `ecgtool detect` "
                           "on it first", src.path)
    return Detected(rec, beats)


def classify_job(src: Source, opts: ReadOptions, model: str | None = None) -> Detected:
    """Beats of one source (detected or from a store), labelled by the classifier."""
    from ecgtool.ml.classify import classify_beats

    d = beats_from_source(src, opts)
    d.beats.labels = classify_beats(d.record.signal, d.record.fs, d.beats.r_peak, model)
    return d


# ------------------------------------------------- rhythm and diagnosis jobs

@dataclass
class Analysis:
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


def expand_beat_sources(inputs: list[str], samples: bool = False,
                        ann: str | None = None) -> list[Source]:
    """Sources for rhythm/diagnose: records, stores, beats CSVs, or annotation files."""
    from pathlib import Path

    from ecgtool.io.beatfiles import is_beats_table, read_beats_table, read_text
    from ecgtool.io.inputs import expand_inputs

    out = []
    for src in expand_inputs(inputs, samples=samples):
        if ann and src.kind == "wfdb":
            out.append(Source("ann", src.path, src.name, ann))
        elif src.kind in ("csv", "stdin") and is_beats_table(read_text(src.path)):
            for b in read_beats_table(read_text(src.path), src.path):
                out.append(Source("beats_csv", src.path, b.name, b.name))
        else:
            out.append(src)
    if ann:
        bad = [s for s in out if s.kind != "ann"]
        if bad:
            raise EcgToolError(f"--ann needs WFDB record names, not {Path(bad[0].path).name}",
                               bad[0].path)
    return out


def analyse_job(src: Source, opts: ReadOptions, model: str | None = None,
                classify: bool = True, ann_labels: bool | None = None,
                settings: "RhythmSettings | None" = None) -> Analysis:
    """Beats, labels and rhythm episodes of one source."""
    import numpy as np

    from ecgtool.rhythm import DEFAULT_RHYTHM, find_rhythms

    settings = settings or DEFAULT_RHYTHM
    if src.kind == "ann":
        from ecgtool.io.beatfiles import read_annotation_beats

        use = ann_labels if ann_labels is not None else src.key == "atr"
        bt = read_annotation_beats(src.path, src.key, use)
        ep = find_rhythms(bt.times_s, bt.labels, None, None, settings)
        return Analysis(src.name, bt.duration_s, bt.times_s, bt.labels, None, ep, [])
    if src.kind == "beats_csv":
        from ecgtool.io.beatfiles import read_beats_table, read_text

        bt = next(b for b in read_beats_table(read_text(src.path), src.path) if b.name == src.key)
        ep = find_rhythms(bt.times_s, bt.labels, bt.proba, None, settings)
        return Analysis(src.name, bt.duration_s, bt.times_s, bt.labels, bt.proba, ep, [])
    from ecgtool.signal.quality import noise_spans

    if is_long(src):
        return long_record_analysis(src, opts, model, classify, settings)
    # Episodes and verdicts never use the reference annotations; reading them
    # took an eighth of the time of a whole MIT-BIH record's analysis.
    opts = replace(opts, ann=None)
    if classify:
        d = classify_job(src, opts, model)
    else:
        d = beats_from_source(src, opts)
    rec, beats = d.record, d.beats
    noise = noise_spans(rec.signal, rec.fs)
    labels = beats.labels.aami if beats.labels is not None else None
    proba = beats.labels.proba if beats.labels is not None else None
    times = beats.r_peak / rec.fs
    ep = find_rhythms(times, labels, proba, noise, settings)
    return Analysis(rec.name, rec.duration_s, np.asarray(times), labels, proba, ep, noise,
                    rec, beats)


#: Recordings longer than this are analysed block by block, in bounded memory.
LONG_RECORD_S = 2 * 3600.0
_BLOCK_S = 600.0
_READ_S = 1800.0


def long_record_analysis(src: Source, opts: ReadOptions, model: str | None = None,
                         classify: bool = True,
                         settings: "RhythmSettings | None" = None) -> Analysis:
    """Beats, labels and rhythm of a long WFDB or EDF recording, read and analysed in blocks.

    Detection runs through :class:`ecgtool.stream.StreamDetector` (the same
    beats as one pass); each block's beats are classified with the block's
    signal and the beats around them; rhythm runs on all beat times. Memory
    stays in the tens of megabytes whatever the length; the signal itself is
    not kept (``Analysis.record`` is None).
    """
    import numpy as np

    from ecgtool.beats.table import BeatLabels
    from ecgtool.io.inputs import read_source_block, source_length
    from ecgtool.rhythm import DEFAULT_RHYTHM, find_rhythms
    from ecgtool.signal.quality import noise_spans
    from ecgtool.stream import StreamDetector

    n, fs = source_length(src)
    # Long blocks keep the share of re-analysed context small (30 s in 10 min).
    det = StreamDetector(fs, block_s=_BLOCK_S)
    if classify:
        from ecgtool.ml.classify import classify_beats
        from ecgtool.ml.model_io import load_model

        clf = load_model(model)
    tables, label_parts, noise = [], [], []
    block = int(_READ_S * fs)
    for start in range(0, n, block):
        rec = read_source_block(src, opts, start, min(n, start + block))
        x = rec.signal
        noise += [(a + start / fs, b + start / fs) for a, b in noise_spans(x, fs)]
        for final in (False, True) if start + block >= n else (False,):
            det.runs.clear()
            peaks, cols = det.finish() if final else det.feed(x)
            if not cols:
                continue
            tables.append(cols)
            if classify:
                # Each run's beats are labelled with that run's signal and beats.
                for lo, data, around, mine in det.runs:
                    if mine.size:
                        lab = classify_beats(data, fs, around - lo, clf)
                        pick = np.searchsorted(around, mine)
                        label_parts.append((lab.aami[pick], lab.proba[pick],
                                            lab.symbol[pick]))
    cols = {k: np.concatenate([t[k] for t in tables]) for k in tables[0]} if tables else {}
    beats = Beats.from_columns(cols, fs) if cols else Beats(fs=fs, r_peak=[])
    labels = proba = None
    if classify and label_parts:
        labels, proba, symbol = (np.concatenate(c) for c in zip(*label_parts))
        beats.labels = BeatLabels(labels, proba, symbol)
    times = beats.r_peak / fs
    ep = find_rhythms(times, labels, proba, noise, settings or DEFAULT_RHYTHM)
    return Analysis(src.name, n / fs, times, labels, proba, ep, noise, None, beats)


def is_long(src: Source) -> bool:
    """True for a WFDB or EDF recording longer than :data:`LONG_RECORD_S`."""
    from ecgtool.io.inputs import source_length

    size = source_length(src)
    return size is not None and size[0] / size[1] > LONG_RECORD_S
