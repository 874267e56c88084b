"""Per-record jobs that the commands run, one function per stage.

Each takes a :class:`~ecgtool.io.inputs.Source` and options, reads the
record, and returns typed results; they are module-level so that worker
processes can run them.
"""

from __future__ import annotations

from dataclasses import dataclass

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
