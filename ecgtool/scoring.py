"""Scoring jobs and report tables built on :mod:`ecgtool.evaluate` and
:mod:`ecgtool.beats.scores`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtool.beats.scores import ClassScore, score_classes
from ecgtool.beats.table import AAMI_CLASSES
from ecgtool.errors import EcgToolError
from ecgtool.evaluate import (DetectionScore, EpisodeScore, annotated_span, gross,
                              gross_episodes, reference_rhythm, score_detection, score_episodes)
from ecgtool.io.inputs import (ReadOptions, Source, read_source, read_source_annotations,
                               source_length)
from ecgtool.signal.detect import DEFAULT_SETTINGS, DetectorSettings


@dataclass(frozen=True)
class RecordScore:
    """Detection scores of one record and, when asked for, its class scores."""

    detection: DetectionScore
    classes: ClassScore | None = None
    classified_now: bool = False  # labels from the classifier, not from the store


def _no_reference(src: Source, what: str = "") -> EcgToolError:
    """The error for a record without reference annotations; a store's says
    which stores keep them."""
    kept = (": a store keeps the reference only as convert, detect and classify write it "
            "(rhythm and diagnose do not): score the records themselves")
    where = {"store": kept, "beats_store": kept}
    ref = {"wfdb": " (.atr)", "edf": " (EDF+ annotations)",
           "ishne": " (an ISHNE .ann file beside it)"}.get(src.kind, "")
    return EcgToolError(f"no reference annotations{ref} to score {what + ' ' if what else ''}"
                        f"against{where.get(src.kind, '')}", src.path)


def score_job(src: Source, opts: ReadOptions, beats_store: str | None = None,
              skip_learning: bool = False, window_s: float = 0.15, classes: bool = False,
              model: str | None = None,
              detector: DetectorSettings = DEFAULT_SETTINGS,
              test_ann: str | None = None) -> RecordScore:
    """Detect (with ``detector``) or load the beats of one annotated record and score them.

    With ``classes``, the beats' AAMI classes are scored too: those of the
    store when it holds them (from ``ecgtool classify``), else the classifier
    (``model``, default the shipped one) labels them now. With ``test_ann``
    (a WFDB annotator such as ``qrs``), the beats scored, and their classes
    by their symbols, are those of the record's ``.<test_ann>`` file: another
    detector's or classifier's output.
    """
    from ecgtool.longrecord import is_long
    from ecgtool.pipeline import detect_job, label_in_blocks

    # The beats of --beats, or of a store given as the input when it has them
    # (with their labels when it was classified); else they are detected.
    if test_ann:  # no signal needed: archives often keep only annotations
        return _score_annotator(src, test_ann, classes, skip_learning, window_s)
    if src.kind == "store" and not beats_store and src.stretch is None:
        stored = _score_stored(src, classes, skip_learning, window_s)
        if stored is not None:
            return stored
    peaks = given = None
    if beats_store or src.kind == "store":
        rec = read_source(src, opts)
        # In --beats, the record by its (possibly renamed) name; in a store
        # given as the input, by its name there.
        key = rec.name if beats_store else src.key or rec.name
        peaks, given = _given_beats(beats_store or src.path, key, rec.fs, bool(beats_store))
    if peaks is None and is_long(src):
        # Read and detected in blocks: the same beats as one pass.
        d = detect_job(src, opts, detector)
        rec, peaks = d.record, d.beats.r_peak
    elif peaks is None:
        from ecgtool.io.secondlead import second_lead
        from ecgtool.signal.detect import detect_r_peaks

        if src.kind != "store":
            rec = read_source(src, opts)
        peaks = detect_r_peaks(rec.signal, rec.fs, detector,
                               second=second_lead(src, opts, rec))
    if rec.annotations is None:
        raise _no_reference(src)
    now = classes and given is None
    aami = None
    if classes:
        aami = label_in_blocks(rec.signal, rec.fs, peaks, model).aami if now else given
    return _scores(rec.name, rec.annotations, peaks, aami, rec.fs, rec.n_samples,
                   skip_learning, window_s, classified_now=now)


def _score_stored(src: Source, classes: bool, skip_learning: bool,
                  window_s: float) -> RecordScore | None:
    # A store record kept without its signal (detect --no-signal) still holds
    # its beats and the reference: scored from those; None when it has the
    # signal (read as a record).
    from ecgtool.io import store
    from ecgtool.io.beatfiles import store_beat_times

    key = src.key or src.name
    f = store.open_store(src.path)
    try:
        if store.has_signal(f, key):
            return None
    finally:
        f.close()
    bt = store_beat_times(src.path, key)
    if bt.reference is None:
        raise _no_reference(src)
    if classes and bt.labels is None:
        raise EcgToolError("the store keeps no signal to classify its beats: give the "
                           "record, or a store from classify", src.path)
    peaks = bt.beats.r_peak
    return _scores(src.name, bt.reference, peaks, bt.labels if classes else None, bt.fs,
                   bt.n_samples or int(peaks.max(initial=0)) + 1, skip_learning, window_s)


def _given_beats(where: str, name: str, fs: float, required: bool):
    # The R peaks of record `name` in a store or a beats CSV (`where`), and
    # their classes (None when unclassified); (None, None) when a store holds
    # no beats for it and they are not `required`.
    from ecgtool.io import store

    if store.is_store(where):
        f = store.open_store(where)
        try:
            beats = store.read_beats(f, name, where)
        finally:
            f.close()
        if beats is None:
            if required:
                raise EcgToolError(f"record {name!r} has no beats table", where)
            return None, None
        return beats.r_peak, None if beats.labels is None else beats.labels.aami
    from ecgtool.io.beatfiles import beats_table_records

    bt = beats_table_records(where).get(name)
    if bt is None:
        raise EcgToolError(f"no record {name!r} in the beats table", where)
    return np.round(bt.times_s * fs).astype(np.int64), bt.labels


def _scores(name, ref, peaks, aami, fs, n, skip_learning, window_s,
            classified_now=False) -> RecordScore:
    # Detection scores, and class scores when there are classes to score.
    detection = score_detection(name, ref, peaks, fs, n, skip_learning=skip_learning,
                                window_s=window_s)
    if aami is None:
        return RecordScore(detection)
    return RecordScore(detection, score_classes(name, ref, peaks, aami, fs, n, skip_learning,
                                                window_s), classified_now=classified_now)


def _score_annotator(src: Source, ext: str, classes: bool, skip_learning: bool,
                     window_s: float) -> RecordScore:
    # The beats (and, with classes, their symbols' classes) of another
    # annotator's file beside a WFDB record, against its .atr.
    from ecgtool.io.beatfiles import read_annotation_beats
    from ecgtool.io.wfdbfiles import read_annotations

    if src.kind != "wfdb":
        raise EcgToolError("--ann needs WFDB records (the annotation files lie beside the "
                           "header)", src.path)
    bt = read_annotation_beats(src.path, ext, labels=classes)
    ref = read_annotations(src.path, "atr")
    if ref is None:
        raise _no_reference(src)
    peaks = np.round(bt.times_s * bt.fs).astype(np.int64)
    return _scores(src.name, ref, peaks, bt.labels, bt.fs, int(round(bt.duration_s * bt.fs)),
                   skip_learning, window_s)


def _pct(x: float) -> str:
    return "-" if x != x else f"{100 * x:.1f}"


@dataclass
class ScoreTable:
    """Per-record scores with gross totals, non-paced and paced apart."""

    records: list[DetectionScore]
    classes: list[ClassScore] | None = None

    def class_groups(self) -> dict[str, ClassScore]:
        out = {}
        paced_names = {s.record for s in self.records if s.paced}
        for name, paced in (("gross", False), ("gross paced", True)):
            group = [s for s in self.classes or [] if (s.record in paced_names) == paced]
            if group:
                out[name] = ClassScore(name, sum(s.confusion for s in group))
        return out

    def class_text(self) -> str:
        """Per-record V and S Se/+P, then Se/+P/F1 of every class, gross."""
        head = f"{'record':<14}{'V n':>6}{'V Se%':>7}{'V +P%':>7}{'S n':>6}{'S Se%':>7}{'S +P%':>7}"
        lines = [head]
        for s in self.classes or []:
            m = s.metrics()
            lines.append(f"{s.record:<14}{m['V']['n']:>6}{_pct(m['V']['se']):>7}"
                         f"{_pct(m['V']['ppv']):>7}{m['S']['n']:>6}{_pct(m['S']['se']):>7}"
                         f"{_pct(m['S']['ppv']):>7}")
        for name, g in self.class_groups().items():
            m = g.metrics()
            lines += ["", f"{name}: accuracy {_pct(m['accuracy'])} %, macro F1 (N, S, V, F) "
                      f"{m['macro_f1']:.3f}",
                      f"{'class':<8}{'n':>7}{'Se%':>7}{'+P%':>7}{'F1':>7}"]
            for c in AAMI_CLASSES:
                x = m[c]
                f1 = "-" if x["f1"] != x["f1"] else f"{x['f1']:.3f}"
                lines.append(f"{c:<8}{x['n']:>7}{_pct(x['se']):>7}{_pct(x['ppv']):>7}{f1:>7}")
            e = g.ec57()
            lines.append(f"EC57 ectopic beats (fusion and Q beats called V are no false VEB): "
                         f"VEB Se {_pct(e.veb_se)} % / +P {_pct(e.veb_ppv)} % / FPR "
                         f"{_pct(e.veb_fpr)} %, SVEB Se {_pct(e.sveb_se)} % / +P "
                         f"{_pct(e.sveb_ppv)} %")
            names = list(AAMI_CLASSES) + ["none"]
            lines.append("confusion (rows reference, columns predicted; none = extra "
                         "detection / missed beat):")
            lines.append(" " * 8 + "".join(f"{n:>7}" for n in names))
            for n, row in zip(names, g.confusion):
                lines.append(f"{n:<8}" + "".join(f"{v:>7}" for v in row))
        return "\n".join(lines)

    def groups(self) -> dict[str, DetectionScore]:
        paced = [s for s in self.records if s.paced]
        other = [s for s in self.records if not s.paced]
        out = {}
        if other:
            out["gross"] = gross(other, "gross")
        if paced:
            out["gross paced"] = gross(paced, "gross paced")
        return out

    def text(self) -> str:
        head = (f"{'record':<14}{'beats':>9}{'TP':>9}{'FN':>8}{'FP':>8}{'Se%':>8}{'+P%':>8}"
                f"{'F1%':>8}")
        lines = [head]
        rows = list(self.records) + list(self.groups().values())
        for i, s in enumerate(rows):
            if i == len(self.records):
                lines.append("-" * len(head))
            lines.append(f"{s.record:<14}{s.tp + s.fn:>9}{s.tp:>9}{s.fn:>8}{s.fp:>8}"
                         f"{100 * s.se:>8.2f}{100 * s.ppv:>8.2f}{100 * s.f1:>8.2f}")
        if self.classes is not None:
            lines += ["", self.class_text()]
        return "\n".join(lines)

    def as_dict(self, **settings) -> dict:
        def d(s: DetectionScore) -> dict:
            return {"record": s.record, "tp": s.tp, "fn": s.fn, "fp": s.fp,
                    "se": s.se, "ppv": s.ppv, "f1": s.f1, "paced": s.paced}

        out = {"settings": settings, "records": [d(s) for s in self.records],
               "gross": {k: d(v) for k, v in self.groups().items()}}
        if self.classes is not None:
            def c(s: ClassScore) -> dict:
                return {"record": s.record, **s.metrics(), "ec57": s.ec57().as_dict(),
                        "confusion": s.confusion.tolist()}

            out["classes"] = {"records": [c(s) for s in self.classes],
                              "gross": {k: c(v) for k, v in self.class_groups().items()}}
        return out


def score_table(scores: list[RecordScore]) -> ScoreTable:
    classes = [s.classes for s in scores if s.classes is not None]
    return ScoreTable([s.detection for s in scores], classes if classes else None)


def _reference(src: Source):
    # The record's reference annotations and their sampling rate.
    if src.stretch is not None:  # the stretch's, cut as its signal is
        size = source_length(src)
        if size is None:  # a store's record, read whole and cut
            rec = read_source(src, ReadOptions())
            return rec.annotations, rec.fs
        return read_source_annotations(src, ReadOptions()), size[1]
    if src.kind in ("wfdb", "ann"):
        from ecgtool.io.wfdbfiles import read_annotations, read_header

        ann = read_annotations(src.path, "atr")
        return ann, (float(read_header(src.path).fs) if ann is not None else None)
    if src.kind in ("store", "beats_store"):  # with or without its signal
        from ecgtool.io import store

        f = store.open_store(src.path)
        try:
            ann, fs, _ = store.read_reference(f, src.key or src.name, src.path)
        finally:
            f.close()
        return ann, fs
    return None, None


def rhythm_score_job(src: Source, analyse, rhythm: str = "af",
                     min_episode_s: float = 0.0) -> EpisodeScore:
    """Find one record's episodes of ``rhythm`` with ``analyse`` (the job of
    ``ecgtool rhythm``, :func:`ecgtool.analysis.analyse_job`) and score them
    against the rhythm changes (``(AFIB``, ``(N``...) of its reference ``.atr``.

    A record whose annotations hold no rhythm change counts as free of the
    rhythm, as CPSC 2021 marks its records without AF. Only the time from its
    first annotated beat to its last is scored (:func:`ecgtool.evaluate.annotated_span`).
    ``min_episode_s``: see :func:`ecgtool.evaluate.score_episodes`.
    """
    ann, fs = _reference(src)
    if ann is None:
        raise _no_reference(src, "the rhythm")
    a = analyse(src)
    ref = reference_rhythm(ann, fs, int(round(a.duration_s * fs)))
    ep = a.episodes
    found = [(float(s), float(e)) for s, e, r in zip(ep.start_s, ep.end_s, ep.rhythm)
             if r == rhythm]
    return score_episodes(a.name, [(s.start, s.end) for s in ref if s.rhythm == rhythm],
                          found, a.duration_s, min_episode_s, within=annotated_span(ann, fs))


def rhythm_table(scores: list[EpisodeScore], rhythm: str,
                 min_episode_s: float = 0.0) -> tuple[str, dict]:
    """Per-record and gross episode statistics of one rhythm: text and JSON.
    ``min_episode_s``: the shortest episode the scores counted (said in both)."""
    head = (f"{'record':<14}{'ref min':>9}{'found min':>10}{'overlap':>9}{'ref ep':>8}"
            f"{'found':>7}{'burden err pp':>15}")
    counted = f" (episodes of {min_episode_s:g} s or more counted)" if min_episode_s else ""
    lines = [f"{rhythm}{counted}:", head]
    for s in scores:
        lines.append(f"{s.record:<14}{s.ref_s / 60:>9.1f}{s.test_s / 60:>10.1f}"
                     f"{s.overlap_s / 60:>9.1f}{s.ref_episodes:>8}{s.test_episodes:>7}"
                     f"{s.burden_error:>+15.1f}")
    g = gross_episodes(scores)
    st = g.stats()
    errs = [abs(s.burden_error) for s in scores]
    lines += ["-" * len(head),
              f"gross: duration Se {_pct(st['duration_se'])} % / +P {_pct(st['duration_ppv'])} %, "
              f"episode Se {_pct(st['episode_se'])} % / +P {_pct(st['episode_ppv'])} %, "
              f"specificity {_pct(st['specificity'])} %, mean |burden error| "
              f"{sum(errs) / len(errs):.1f} pp"]
    data = {"rhythm": rhythm, "min_episode_s": min_episode_s,
            "records": [{"record": s.record, **s.stats(), "burden_error_pp": s.burden_error}
                        for s in scores],
            "gross": {**st, "mean_abs_burden_error_pp": sum(errs) / len(errs)}}
    return "\n".join(lines), data
