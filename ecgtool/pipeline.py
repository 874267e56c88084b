"""Per-record jobs that the commands run, one function per stage.

Each takes a :class:`~ecgtool.io.inputs.Source` and options, reads the
record, and returns typed results; they are module-level so that worker
processes can run them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecgtool.beats.table import Beats
from ecgtool.io.inputs import ReadOptions, Source, read_source
from ecgtool.io.records import Record
from ecgtool.signal.detect import DEFAULT_SETTINGS, DetectorSettings, detect_beats


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
    from ecgtool.errors import EcgToolError
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
