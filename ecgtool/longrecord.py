"""Recordings too long to hold whole (a Holter day), read and analysed in blocks.

A recording longer than :data:`LONG_RECORD_S` (see :func:`long_length`) is
read :data:`READ_S` seconds at a time through the streaming detector
(:class:`ecgtool.stream.StreamDetector`), which gives the beats of one pass;
each block's beats are classified with the signal around them. Memory stays
in the tens of megabytes whatever the length. :mod:`ecgtool.pipeline` and
:mod:`ecgtool.analysis` send such sources here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ecgtool.beats.table import Beats
from ecgtool.io.inputs import ReadOptions, Source
from ecgtool.io.records import Record
from ecgtool.signal.detect import DEFAULT_SETTINGS, DetectorSettings, net_qrs_ms

if TYPE_CHECKING:  # pragma: no cover
    from typing import Iterator

    import numpy as np

    from ecgtool.analysis import Analysis
    from ecgtool.pipeline import Detected
    from ecgtool.rhythm import RhythmSettings

#: Recordings longer than this are analysed block by block, in bounded memory
#: (and those with more samples than this long at 1 kHz: :func:`long_length`).
LONG_RECORD_S = 2 * 3600.0
_BLOCK_S = 600.0
READ_S = 1800.0


@dataclass
class LongRecord:
    """A recording too long to hold whole, as ``convert`` passes it on: its
    header (``head``: a :class:`Record` of its first sample, with the
    annotations and checksum of the whole) and how to read the rest. The
    process that writes the output reads the blocks, so it must see the
    file too (on a Dask cluster: a shared file system)."""

    head: Record
    n_samples: int
    src: Source
    opts: ReadOptions

    def blocks(self) -> "Iterator[tuple[int, np.ndarray]]":
        """``(start, signals)`` for consecutive blocks of :data:`READ_S` seconds."""
        from ecgtool.io.inputs import read_source_block

        step = int(READ_S * self.head.fs)
        for start in range(0, self.n_samples, step):
            stop = min(self.n_samples, start + step)
            yield start, read_source_block(self.src, self.opts, start, stop).signals


def block_spans(x, fs: float, start: int) -> tuple[list, list]:
    """Unreadable stretches, and stretches of ventricular flutter or
    fibrillation, of a block of signal that starts at sample ``start``, as
    ``(start_s, end_s)`` in seconds of the whole recording."""
    from ecgtool.signal.fibrillation import vf_spans
    from ecgtool.signal.quality import noise_spans

    shift = start / fs
    return ([(a + shift, b + shift) for a, b in noise_spans(x, fs)],
            [(a + shift, b + shift) for a, b in vf_spans(x, fs)])


def long_length(n_samples: int, fs: float) -> bool:
    """True for a recording analysed in blocks: longer than
    :data:`LONG_RECORD_S`, or with more samples than that at 1 kHz (15 min at
    8 kHz: whole, it took 1.2 GB).

    Examples
    --------
    >>> long_length(3 * 3600 * 360, 360.0), long_length(30 * 60 * 8000, 8000.0)
    (True, True)
    >>> long_length(30 * 60 * 360, 360.0)
    False
    """
    return n_samples > LONG_RECORD_S * min(fs, 1000.0)


def block_length(n_samples: int, fs: float) -> int:
    """Samples per block for work over a whole recording held in memory:
    :data:`READ_S` seconds for a long one (:func:`long_length`), else all of it.

    Examples
    --------
    >>> block_length(3 * 3600 * 360, 360.0), block_length(1000, 360.0), block_length(0, 360.0)
    (648000, 1000, 1)
    """
    return int(READ_S * fs) if long_length(n_samples, fs) else max(n_samples, 1)


def long_record_analysis(src: Source, opts: ReadOptions, model: str | None = None,
                         classify: bool = True,
                         settings: "RhythmSettings | None" = None,
                         detector: DetectorSettings = DEFAULT_SETTINGS) -> Analysis:
    """Beats, labels and rhythm of a long WFDB, EDF or ISHNE recording, read and
    analysed in blocks.

    See :func:`_long_record`; rhythm runs on all beat times. Memory stays in
    the tens of megabytes whatever the length; the signal itself is not kept
    (``Analysis.record`` is None).
    """
    from ecgtool.io.inputs import read_source_block
    from ecgtool.analysis import Analysis
    from ecgtool.rhythm import DEFAULT_RHYTHM, find_rhythms

    # Its first sample: the lead the classifier checks, and the start time.
    head = read_source_block(src, opts, 0, 1)
    beats, _, (noise, vf), n = _long_record(src, opts, head.lead,
                                            model if classify else None, classify=classify,
                                            keep_signal=False, noise=True, settings=detector)
    labels = beats.labels.aami if beats.labels is not None else None
    proba = beats.labels.proba if beats.labels is not None else None
    times = beats.r_peak / beats.fs
    ep = find_rhythms(times, labels, proba, noise, settings or DEFAULT_RHYTHM, beats.pr_ms,
                      vf_spans=vf)
    return Analysis(src.name, n / beats.fs, times, labels, proba, ep, noise, None, beats,
                    source=src, read_options=opts, qrs_ms=net_qrs_ms(beats, detector),
                    start_clock=head.start_clock, lead=head.lead)


def _long_record(src: Source, opts: ReadOptions, lead: str, model: str | None = None,
                 classify: bool = False, keep_signal: bool = True, noise: bool = False,
                 settings: DetectorSettings = DEFAULT_SETTINGS):
    """Detect (and classify) a long WFDB, EDF or ISHNE recording, read 30 minutes at a time.

    Detection runs through :class:`ecgtool.stream.StreamDetector` (the same
    beats as one pass); each run's beats are classified with that run's
    signal and the beats around them (``lead``: the lead's name, which the
    caller read with the first sample, for the classifier's check). Returns ``(beats,
    signal or None, (noise spans, flutter spans), n_samples)``; the spans are
    measured only with ``noise``; the signal is kept as float32, as the store
    holds it.
    """
    import numpy as np

    from ecgtool.beats.table import BeatLabels
    from ecgtool.io.inputs import source_length

    n, fs = source_length(src, opts.channel)
    if classify:
        from ecgtool.ml.classify import check_lead, classify_beats
        from ecgtool.ml.model_io import load_model

        clf = load_model(model)
        check_lead(lead, clf)
    signal = np.empty((n, 1), np.float32) if keep_signal else None
    tables, label_parts, spans, vf = [], [], [], []
    for start, x, cols, runs in _stream_blocks(src, opts, n, fs, settings):
        if x is not None and keep_signal:
            signal[start:start + x.size, 0] = x
        if x is not None and noise:
            unread, fib = block_spans(x, fs, start)
            spans += unread
            vf += fib
        if not cols:
            continue
        tables.append(cols)
        if classify:
            for lo, data, around, mine, qrs_ms, pr_ms in runs:
                if mine.size:
                    lab = classify_beats(data, fs, around - lo, clf, qrs_ms, pr_ms)
                    pick = np.searchsorted(around, mine)
                    label_parts.append((lab.aami[pick], lab.proba[pick], lab.symbol[pick]))
    cols = {k: np.concatenate([t[k] for t in tables]) for k in tables[0]} if tables else {}
    beats = Beats.from_columns(cols, fs) if cols else Beats(fs=fs, r_peak=[])
    if classify and label_parts:
        beats.labels = BeatLabels(*(np.concatenate(c) for c in zip(*label_parts)))
    return beats, signal, (spans, vf), n


def _stream_blocks(src: Source, opts: ReadOptions, n: int, fs: float,
                   settings: DetectorSettings = DEFAULT_SETTINGS):
    """Read a long source 30 minutes at a time through the streaming detector.

    Yields ``(start, block, beat columns, runs)`` after each block (``block``
    is None for the final flush); ``runs`` are the detector's runs of that
    step, each ``(offset, signal, all R peaks, R peaks emitted, their QRS
    durations or None, their PR intervals)``.
    """
    from ecgtool.io.inputs import read_source_block
    from ecgtool.stream import StreamDetector

    # Long blocks keep the share of re-analysed context small (30 s in 10 min).
    det = StreamDetector(fs, settings, block_s=_BLOCK_S)
    block = int(READ_S * fs)
    from ecgtool.io.secondlead import read_second, second_lead_options

    other = second_lead_options(src, opts)
    for start in range(0, n, block):
        x = read_source_block(src, opts, start, min(n, start + block)).signal
        det.runs.clear()
        _, cols = det.feed(x, None if other is None else
                           read_second(src, other, fs, start, min(n, start + block)).signal)
        yield start, x, cols, list(det.runs)
    det.runs.clear()
    _, cols = det.finish()
    yield n, None, cols, list(det.runs)


def long_record_detect(src: Source, opts: ReadOptions, model: str | None = None,
                       classify: bool = False,
                       settings: DetectorSettings = DEFAULT_SETTINGS) -> Detected:
    """:func:`detect_job` (or :func:`classify_job`) for a long WFDB or EDF
    recording: read in blocks (:func:`_long_record`), the signal kept as float32
    (half the memory of float64)."""
    from ecgtool.pipeline import Detected

    head = long_record_head(src, replace(opts, all_leads=False))
    beats, signal, _, _ = _long_record(src, opts, head.lead, model, classify=classify,
                                       settings=settings)
    return Detected(replace(head, signals=signal), beats, qrs_ms=net_qrs_ms(beats, settings))


def long_record_head(src: Source, opts: ReadOptions) -> Record:
    """A long WFDB, EDF or ISHNE source's first sample, with the reference annotations
    and the checksum of the whole recording."""
    from ecgtool.io.inputs import read_source_head

    return read_source_head(src, opts)


def is_long(src: Source) -> bool:
    """True for a WFDB, EDF or ISHNE recording to read in blocks (:func:`long_length`)."""
    from ecgtool.io.inputs import source_length

    size = source_length(src)
    return size is not None and long_length(*size)
