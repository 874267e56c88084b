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
