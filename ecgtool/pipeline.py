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
from ecgtool.io.inputs import ReadOptions, Source, read_source, unique_names
from ecgtool.io.records import Record
from ecgtool.io.secondlead import second_lead
from ecgtool.longrecord import (LongRecord, block_length, is_long, long_record_detect,
                                long_record_head)
from ecgtool.signal.detect import (DEFAULT_SETTINGS, DetectorSettings, detect_beats,
                                   net_qrs_ms)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ecgtool.io.beatfiles import BeatTimes
    from ecgtool.io.records import Annotations


#: Attribute of a store's beats table naming the QRS network that measured
#: their durations (:func:`ecgtool.signal.qrsnet.default_weights_id`),
#: written only where it was the shipped one.
QRS_NET_ATTR = "qrs_net"


class QrsNetMark:
    """What a result whose ``qrs_ms`` may hold the shipped network's
    durations writes beside its beats."""

    qrs_ms: "np.ndarray | None"

    def beats_attrs(self, attrs: dict | None = None) -> dict | None:
        """``attrs`` for the stored beats table, with :data:`QRS_NET_ATTR`
        where the shipped QRS network measured the beats' durations."""
        if self.qrs_ms is None:
            return attrs
        from ecgtool.signal.qrsnet import default_weights_id

        return {**(attrs or {}), QRS_NET_ATTR: default_weights_id()}


@dataclass
class Detected(QrsNetMark):
    """A record and the beats found in it; ``record`` is None for beats read
    from a beats table (no signal), which then carries the record's ``table_name``."""

    record: Record | None
    beats: Beats
    table_name: str = ""
    #: Without a record: the reference annotations and length (samples) that
    #: a store record kept beside its beats, to be written on with them.
    reference: "Annotations | None" = None
    n_samples: int = 0
    #: QRS durations of the beats by the default QRS-boundary network, which
    #: the classifier's narrow-QRS rule reads (see
    #: :func:`ecgtool.signal.detect.net_qrs_ms`): of beats detected now, or
    #: read from a store that says that network measured them; else None.
    qrs_ms: "np.ndarray | None" = None

    @property
    def name(self) -> str:
        return self.record.name if self.record is not None else self.table_name


def read_job(src: Source, opts: ReadOptions) -> Record | LongRecord:
    """Read one source (the job of ``ecgtool convert``); a recording over
    :data:`ecgtool.longrecord.LONG_RECORD_S` is left to be read in blocks as
    it is written."""
    if is_long(src):
        from ecgtool.io.inputs import source_length

        return LongRecord(long_record_head(src, opts), source_length(src, opts.channel)[0], src,
                          opts)
    return read_source(src, opts)


def finding_options_unused(opts: ReadOptions, settings: DetectorSettings, why: str) -> None:
    """Warn that the options that find R peaks (``--second-lead``, a
    ``--detector`` setting) find none here, because of ``why``, and that the
    networks given to measure them (``--qrs-net``, ``--p-net PATH``) measure
    nothing: beats that are read, not found now, stay as they were found and
    measured. (``--p-net none`` still counts: it tells the rhythm rules that
    P waves came from the slope rules.)"""
    import warnings

    from ecgtool.errors import EcgToolWarning

    given = [name for name, on in (
        ("--second-lead", opts.second_lead is not None),
        ("--detector", replace(settings, delineation=DEFAULT_SETTINGS.delineation)
         != DEFAULT_SETTINGS)) if on]
    if given:
        warnings.warn(f"{' and '.join(given)} find{'s' if len(given) == 1 else ''} no beats "
                      f"here: {why}", EcgToolWarning, stacklevel=2)
    d, shipped = settings.delineation, DEFAULT_SETTINGS.delineation
    nets = [name for name, on in (("--qrs-net", d.qrs_net != shipped.qrs_net),
                                  ("--p-net", d.p_net not in ("", shipped.p_net))) if on]
    if nets:
        warnings.warn(f"{' and '.join(nets)} measure{'s' if len(nets) == 1 else ''} nothing "
                      "here: beats that are read keep the QRS boundaries and waves measured "
                      "when they were found", EcgToolWarning, stacklevel=2)


def beats_as_annotations(beats: Beats):
    """A record's beats as annotations: each R peak with its MIT-BIH symbol
    (the one the classifier named, else its class's, ``N`` for beats only
    detected; :func:`ecgtool.beats.labels.beat_symbols`).

    Examples
    --------
    >>> b = Beats(fs=360.0, r_peak=[100, 400])
    >>> beats_as_annotations(b).symbol.tolist()
    ['N', 'N']
    """
    from ecgtool.beats.labels import beat_symbols
    from ecgtool.io.records import Annotations

    lab = beats.labels
    symbol = beat_symbols(None if lab is None else lab.aami,
                          None if lab is None else lab.symbol, len(beats))
    return Annotations(beats.r_peak, symbol, [""] * len(beats))


def read_beats_job(src: Source, opts: ReadOptions,
                   settings: DetectorSettings = DEFAULT_SETTINGS) -> Record | LongRecord:
    """:func:`read_job` with the record's beats (a store's, with their
    classes; else detected now on the chosen lead) as its annotations, in
    place of the reference (``convert --beats``): for a viewer to show them."""
    if is_long(src):  # detected in blocks; the record is written from its blocks
        d = beats_from_source(src, replace(opts, all_leads=False), settings)
        rec = read_job(src, opts)
        rec.head.annotations = beats_as_annotations(d.beats)
        return rec
    d = beats_from_source(src, opts, settings)  # its record as read_job reads it
    return replace(d.record, annotations=beats_as_annotations(d.beats))


def detect_job(src: Source, opts: ReadOptions,
               settings: DetectorSettings = DEFAULT_SETTINGS) -> Detected:
    """Read one source and detect its beats (the job of ``ecgtool detect``).

    Recordings over :data:`ecgtool.longrecord.LONG_RECORD_S` are read in blocks
    (:func:`long_record_detect`)."""
    if is_long(src):
        return long_record_detect(src, opts, settings=settings)
    rec = read_source(src, opts)
    beats = detect_beats(rec.signal, rec.fs, settings, second=second_lead(src, opts, rec))
    return Detected(rec, beats, qrs_ms=net_qrs_ms(beats, settings))


def beats_from_source(src: Source, opts: ReadOptions,
                      settings: DetectorSettings = DEFAULT_SETTINGS) -> Detected:
    """The record and its beats: read from a store made by ``detect``, or
    detected now (a record, or a store record without a beats table, as
    ``convert`` writes them; a stretch of a store's record, whose stored beats
    are the whole record's)."""
    if src.kind != "store" or src.stretch is not None:
        return detect_job(src, opts, settings)
    from ecgtool.io import store

    rec = read_source(src, opts)
    f = store.open_store(src.path)
    try:
        key = src.key or src.name
        beats = store.read_beats(f, key, src.path)
        found_on = store.read_channel(f, key, src.path)
        measured_by = store.read_beats_attr(f, key, QRS_NET_ATTR, src.path)
    finally:
        f.close()
    if beats is not None and found_on is not None and rec.channel != found_on:
        # --channel picked another lead than the stored beats were found
        # (and delineated) on: they are found again on that lead.
        beats = None
    if beats is None:
        beats = detect_beats(rec.signal, rec.fs, settings, second=second_lead(src, opts, rec))
        return Detected(rec, beats, qrs_ms=net_qrs_ms(beats, settings))
    finding_options_unused(opts, settings, "the store's beats are used as they were found "
                                           "(ecgtool detect finds them again with these options)")
    from ecgtool.signal.qrsnet import default_weights_id

    # Durations that the shipped QRS network measured when the beats were
    # detected (the store says so) are the classifier's; others are measured
    # again.
    shipped = measured_by == default_weights_id()
    return Detected(rec, beats, qrs_ms=beats.qrs_ms if shipped else None)


def classify_job(src: Source, opts: ReadOptions, model: str | None = None,
                 detector: DetectorSettings = DEFAULT_SETTINGS,
                 keep_labels: bool = False) -> Detected:
    """Beats of one source (detected with ``detector``, or from a store),
    labelled by the classifier; with ``keep_labels``, a store's beats that
    were classified already keep their classes.

    Long WFDB and EDF recordings are detected and labelled in blocks
    (:func:`long_record_detect`)."""
    if src.kind in BEAT_KINDS:
        finding_options_unused(opts, detector, "a beats table has no signal to find beats on")
        return classify_table_job(src, model)
    if src.kind != "store" and is_long(src):
        return long_record_detect(src, opts, model, classify=True, settings=detector)
    d = beats_from_source(src, opts, detector)
    if keep_labels and d.beats.labels is not None:
        return d
    from ecgtool.ml.classify import check_lead

    check_lead(d.record.lead, model)
    d.beats.labels = label_in_blocks(d.record.signal, d.record.fs, d.beats.r_peak, model,
                                     qrs_ms=d.qrs_ms, pr_ms=d.beats.pr_ms)
    return d


#: Sources of beats without a signal: a beats table's record (CSV or stdin),
#: and a store record written without its signal.
BEAT_KINDS = ("beats_csv", "beats_store")


def beat_times(src: Source) -> "BeatTimes":
    """The beats of a source of one of the :data:`BEAT_KINDS`."""
    from ecgtool.io.beatfiles import beats_table_records, store_beat_times

    if src.kind == "beats_store":
        return store_beat_times(src.path, src.key or src.name)
    return beats_table_records(src.path)[src.key]


def classify_table_job(src: Source, model: str | None = None) -> Detected:
    """The beats of one record of a beats table (or of a store record without
    its signal), labelled from the table alone
    (:func:`ecgtool.ml.classify.classify_table`: no waveform)."""
    from ecgtool.ml.classify import classify_table

    bt = beat_times(src)
    if bt.beats is None:
        raise EcgToolError("the beats table's r_peak column is missing, not numeric, or does "
                           "not agree with time_s: give the table ecgtool detect writes, or "
                           "the signal", src.path)
    # A labelled copy: the parsed table stays as read for the other records' jobs.
    return Detected(None, replace(bt.beats, labels=classify_table(bt.beats, model)), src.name,
                    bt.reference, bt.n_samples)


def table_sources(srcs: list[Source]) -> list[Source]:
    """``srcs`` with each CSV (or stdin) that holds a beats table replaced by
    one ``beats_csv`` source per record in it, and each store record kept
    without its signal (``detect --no-signal``) made a ``beats_store`` source."""
    from ecgtool.io import store
    from ecgtool.io.beatfiles import beats_table_records, is_beats_table, read_text

    out = []
    signals: dict[str, set] = {}  # per store, the records that keep their signal
    for src in srcs:
        if src.kind in ("csv", "stdin") and is_beats_table(read_text(src.path)):
            names = list(beats_table_records(src.path))
            if not names:
                raise EcgToolError("the beats table holds no beats", src.path)
            out += [Source("beats_csv", src.path, name, name) for name in names]
        elif src.kind == "store":
            if src.path not in signals:
                f = store.open_store(src.path)
                try:
                    signals[src.path] = {n for n in store.record_names(f)
                                         if store.has_signal(f, n)}
                finally:
                    f.close()
            key = src.key or src.name
            out.append(src if key in signals[src.path] else
                       Source("beats_store", src.path, src.name, key))
        else:
            out.append(src)
    # A table's records are named now: one may share a name with another input.
    return unique_names(out)


def label_in_blocks(ecg: "np.ndarray", fs: float, r_peaks: "np.ndarray",
                    model=None, block_s: float | None = None, context_s: float = 30.0,
                    qrs_ms: "np.ndarray | None" = None,
                    pr_ms: "np.ndarray | None" = None):
    """:func:`ecgtool.ml.classify.classify_beats`, half an hour at a time for a
    recording over :data:`ecgtool.longrecord.LONG_RECORD_S` (``block_s`` sets
    another block).

    A recording up to that length is one block: exactly ``classify_beats``.
    Otherwise each block's beats are labelled with the signal and beats from
    ``context_s`` before to ``context_s`` after it, so that their templates
    and R-R features see their neighbours; the windows of a whole day at once
    took over a gigabyte. The amplitude scale and median R-R are the block's
    own: on a 24-hour recording every label matched the whole-record one; in
    5-minute blocks of MIT-BIH 208, 4 of 2,946 did not. ``qrs_ms``: the
    beats' durations from :func:`ecgtool.signal.detect.net_qrs_ms`, if known;
    ``pr_ms``: their PR intervals (``Beats.pr_ms``), if known.
    """
    import numpy as np

    from ecgtool.beats.table import BeatLabels
    from ecgtool.ml.classify import classify_beats
    from ecgtool.ml.model_io import Classifier, load_model

    clf = model if isinstance(model, Classifier) else load_model(model)
    n, r = ecg.size, np.asarray(r_peaks)
    if block_s is not None:
        block = int(block_s * fs)
    else:
        block = block_length(n, fs)
    margin = int(context_s * fs)
    parts = []
    for start in range(0, max(n, 1), block):
        lo, hi = max(0, start - margin), min(n, start + block + margin)
        near = (r >= lo) & (r < hi)
        around = r[near]
        mine = (around >= start) & (around < start + block)
        if not mine.any():
            continue
        lab = classify_beats(np.asarray(ecg[lo:hi], dtype=np.float64), fs, around - lo, clf,
                             None if qrs_ms is None else qrs_ms[near],
                             None if pr_ms is None else pr_ms[near])
        parts.append((lab.aami[mine], lab.proba[mine], lab.symbol[mine]))
    if not parts:
        return classify_beats(ecg[:0], fs, r[:0], clf)
    return BeatLabels(*(np.concatenate(c) for c in zip(*parts)))
