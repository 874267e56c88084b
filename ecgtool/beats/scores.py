"""Scoring beat labels against reference annotations: the class confusion and
Se, +P and F1 per AAMI class.

End to end, a reference beat that no detection matches (within 150 ms, as
:func:`ecgtool.evaluate.match_beats` pairs them) counts as missed, and a
detection that matches no reference beat as a false positive of its predicted
class: the confusion matrix gets a row and a column "none" (index
``len(AAMI_CLASSES)``). Statistics are gross: counts summed over beats and
records. Reference beats whose symbol has no AAMI class (``?``, ``B``...)
take part in the matching but are not scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtool.beats.labels import aami_labels, class_index
from ecgtool.beats.table import AAMI_CLASSES

K = len(AAMI_CLASSES)
#: Classes whose F1 the macro F1 averages. Q is left out: MIT-BIH holds a
#: handful of Q beats (2 in some record sets), and one of them would move a
#: macro average by up to 0.2.
MACRO_CLASSES = ("N", "S", "V", "F")


def confusion(ref: np.ndarray, pred: np.ndarray, with_none: bool = False) -> np.ndarray:
    """Counts with rows = reference class index, columns = predicted class index.

    Reference entries below 0 (no class) are dropped. ``with_none`` gives the
    ``(K+1, K+1)`` matrix whose last row and column are "no beat".

    Examples
    --------
    >>> confusion(np.array([0, 0, 2, -1]), np.array([0, 2, 2, 0])).tolist()[0]
    [1, 0, 1, 0, 0]
    """
    n = K + 1 if with_none else K
    m = ref >= 0
    return np.bincount(ref[m] * n + pred[m], minlength=n * n).reshape(n, n)


def class_metrics(cm: np.ndarray, min_count: int = 1, classes=AAMI_CLASSES) -> dict:
    """Se, +P and F1 per class, accuracy, and macro F1 over those of ``classes``
    with at least ``min_count`` reference beats.

    ``cm`` is ``(K, K)`` or ``(K+1, K+1)`` (see :func:`confusion`); accuracy is
    over the reference beats (extra detections do not count).

    Examples
    --------
    >>> cm = confusion(np.array([0, 0, 2, 2]), np.array([0, 0, 2, 0]))
    >>> m = class_metrics(cm, classes=MACRO_CLASSES)
    >>> round(m["V"]["se"], 2), round(m["N"]["ppv"], 2), m["accuracy"]
    (0.5, 0.67, 0.75)
    """
    tp = np.diag(cm)[:K].astype(float)
    ref, pred = cm.sum(axis=1)[:K], cm.sum(axis=0)[:K]
    out = {}
    f1s = []
    for i, c in enumerate(AAMI_CLASSES):
        se = tp[i] / ref[i] if ref[i] else float("nan")
        ppv = tp[i] / pred[i] if pred[i] else float("nan")
        f1 = 2 * tp[i] / (ref[i] + pred[i]) if ref[i] + pred[i] else float("nan")
        out[c] = {"n": int(ref[i]), "se": float(se), "ppv": float(ppv), "f1": float(f1)}
        if c in classes and ref[i] >= max(1, min_count):
            f1s.append(0.0 if np.isnan(f1) else f1)
    scored = cm[:K].sum()
    out["accuracy"] = float(tp.sum() / scored) if scored else float("nan")
    out["macro_f1"] = float(np.mean(f1s)) if f1s else float("nan")
    return out


@dataclass(frozen=True)
class Ec57Stats:
    """EC57's ventricular (VEB) and supraventricular (SVEB) ectopic beat statistics.

    These follow the standard (and PhysioNet's ``bxb``), which differ from the
    per-class figures of :func:`class_metrics` in what they forgive: a fusion
    (F) or unclassifiable (Q) beat labelled V is no false VEB, and a Q beat
    labelled S no false SVEB; a V beat labelled F, or missed, is a missed VEB.
    Fractions are NaN where their denominator is 0.
    """

    veb_tp: int
    veb_fn: int
    veb_fp: int
    veb_tn: int
    sveb_tp: int
    sveb_fn: int
    sveb_fp: int

    @property
    def veb_se(self) -> float:
        return _ratio(self.veb_tp, self.veb_tp + self.veb_fn)

    @property
    def veb_ppv(self) -> float:
        return _ratio(self.veb_tp, self.veb_tp + self.veb_fp)

    @property
    def veb_fpr(self) -> float:
        return _ratio(self.veb_fp, self.veb_tn + self.veb_fp)

    @property
    def veb_f1(self) -> float:
        return _ratio(2 * self.veb_tp, 2 * self.veb_tp + self.veb_fn + self.veb_fp)

    @property
    def sveb_se(self) -> float:
        return _ratio(self.sveb_tp, self.sveb_tp + self.sveb_fn)

    @property
    def sveb_ppv(self) -> float:
        return _ratio(self.sveb_tp, self.sveb_tp + self.sveb_fp)

    @property
    def sveb_f1(self) -> float:
        return _ratio(2 * self.sveb_tp, 2 * self.sveb_tp + self.sveb_fn + self.sveb_fp)

    def as_dict(self) -> dict:
        names = ("veb_se", "veb_ppv", "veb_fpr", "veb_f1", "sveb_se", "sveb_ppv", "sveb_f1")
        return {**{k: getattr(self, k) for k in self.__dataclass_fields__},
                **{k: getattr(self, k) for k in names}}


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def ec57_statistics(cm: np.ndarray) -> Ec57Stats:
    """EC57's VEB and SVEB counts from a ``(K+1, K+1)`` end-to-end confusion
    (:func:`confusion` with ``with_none``; a ``(K, K)`` one scores reference
    beats only).

    Examples
    --------
    >>> ref = np.array([2, 2, 3, 0, 1])        # V V F N S
    >>> pred = np.array([2, 3, 2, 2, 1])       # V F V V S
    >>> s = ec57_statistics(confusion(ref, pred, with_none=True))
    >>> s.veb_se, round(s.veb_ppv, 2), s.sveb_se   # F read V: no false VEB
    (0.5, 0.5, 1.0)
    """
    cm = np.asarray(cm)
    full = np.zeros((K + 1, K + 1), np.int64)
    full[: cm.shape[0], : cm.shape[1]] = cm
    n, s, v, f, q = (AAMI_CLASSES.index(c) for c in "NSVFQ")
    o = K  # the row of extra detections, the column of missed beats
    veb_tp = int(full[v, v])
    veb_fn = int(full[v].sum() - full[v, v])
    veb_fp = int(full[[n, s, o], v].sum())
    veb_tn = int(full[np.ix_([n, s, f, q, o], [n, s, f, q])].sum())
    sveb_tp = int(full[s, s])
    sveb_fn = int(full[s].sum() - full[s, s])
    sveb_fp = int(full[[n, v, f, o], s].sum())
    return Ec57Stats(veb_tp, veb_fn, veb_fp, veb_tn, sveb_tp, sveb_fn, sveb_fp)


def match_classes(ref_pos: np.ndarray, ref_cls: np.ndarray, test_pos: np.ndarray,
                  test_cls: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference and predicted class indices, end to end, for :func:`confusion`
    with ``with_none``: missed beats are predicted ``K``, extra detections have
    reference ``K``. Positions are sorted sample indices; ``window`` in samples.

    Examples
    --------
    >>> ref, pred = match_classes(np.array([100, 500]), np.array([0, 2]),
    ...                           np.array([102, 900]), np.array([0, 2]), 54)
    >>> ref.tolist(), pred.tolist()
    ([0, 2, 5], [0, 5, 2])
    """
    from ecgtool.evaluate import match_beats

    m = match_beats(ref_pos, test_pos, window)
    matched = np.full(ref_pos.size, K)
    matched[m.ref_index] = test_cls[m.test_index]
    extra = np.ones(test_pos.size, bool)
    extra[m.test_index] = False
    keep = ref_cls >= 0
    return (np.concatenate([ref_cls[keep], np.full(int(extra.sum()), K)]),
            np.concatenate([matched[keep], test_cls[extra]]))


@dataclass(frozen=True)
class ClassScore:
    """End-to-end class confusion of one record (or a sum of records).

    ``confusion`` is ``(K+1, K+1)``: rows reference N S V F Q and "none"
    (extra detections), columns predicted N S V F Q and "none" (missed).
    """

    record: str
    confusion: np.ndarray

    def metrics(self, classes=MACRO_CLASSES) -> dict:
        """Se, +P, F1 per class, accuracy and macro F1 (:func:`class_metrics`)."""
        return class_metrics(self.confusion, classes=classes)

    def ec57(self) -> Ec57Stats:
        """EC57's VEB and SVEB statistics (:func:`ec57_statistics`)."""
        return ec57_statistics(self.confusion)

    def __add__(self, other: "ClassScore") -> "ClassScore":
        return ClassScore("gross", self.confusion + other.confusion)


def score_classes(record: str, annotations, r_peaks: np.ndarray, aami: np.ndarray, fs: float,
                  n_samples: int, skip_learning: bool = False,
                  window_s: float = 0.15) -> ClassScore:
    """Score the AAMI class of each detected beat against a record's reference labels.

    The same beats are scored as in :func:`ecgtool.evaluate.score_detection`
    (ventricular flutter spans left out; the first 5 minutes too with
    ``skip_learning``).

    Parameters
    ----------
    record : str
        Name reported with the score.
    annotations : Annotations
        Reference annotations.
    r_peaks : numpy.ndarray
        Sorted sample indices of the detected beats.
    aami : numpy.ndarray
        Their classes (``N S V F Q``).
    fs : float
        Sampling rate (Hz).
    n_samples : int
        Record length in samples.
    skip_learning : bool
        Leave out EC57's 5-minute learning period.
    window_s : float
        Match window in seconds.

    Returns
    -------
    ClassScore

    Examples
    --------
    >>> from ecgtool.io.records import Annotations
    >>> a = Annotations([100, 460, 820], ["N", "V", "N"], [""] * 3)
    >>> s = score_classes("x", a, np.array([102, 461, 1000]), np.array(list("NNN")), 360.0, 1200)
    >>> m = s.metrics()
    >>> m["V"]["se"], m["N"]["se"], round(m["N"]["ppv"], 2)
    (0.0, 0.5, 0.33)
    """
    from ecgtool.evaluate import (BEAT_SYMBOLS, LEARNING_PERIOD_S, excluded_spans,
                                  scored_mask)

    spans = excluded_spans(annotations, n_samples)
    start = int(round(LEARNING_PERIOD_S * fs)) if skip_learning else 0
    beat = np.isin(annotations.symbol, list(BEAT_SYMBOLS))
    order = np.argsort(annotations.sample[beat], kind="stable")
    pos, sym = annotations.sample[beat][order], annotations.symbol[beat][order]
    keep = scored_mask(pos, spans, start)
    peaks = np.asarray(r_peaks, dtype=np.int64)
    test = scored_mask(peaks, spans, start)
    ref, pred = match_classes(pos[keep], class_index(aami_labels(sym[keep])), peaks[test],
                              class_index(np.asarray(aami)[test]), int(round(window_s * fs)))
    return ClassScore(record, confusion(ref, pred, with_none=True))
