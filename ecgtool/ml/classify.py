"""Labelling beats with a trained classifier (the library form of ``ecgtool classify``)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ecgtool.beats.table import AAMI_CLASSES, BeatLabels, Beats
from ecgtool.beats.windows import BeatWindows, beat_windows
from ecgtool.ml.model_io import Classifier, load_model, load_table_model
from ecgtool.ml.shape_rules import (NARROW_V_MS, dominant_beats, noise_v, outvoted_n_or_s,
                                    outvoted_v, ventricular_rhythm, widened_beats)

BATCH = 512

#: Leads that are not the shipped model's (MLII / II): it labels beats there
#: less reliably (docs/accuracy.md, Adaptation: on MIT-BIH's second leads, V1-V5,
#: macro F1 0.59 against 0.67 on MLII).
OTHER_LEADS = frozenset({"I", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6",
                         "MLI", "MLIII", "D1", "D3"})


def check_lead(lead: str, model: Classifier | str | None) -> None:
    """Warn when the shipped classifier is asked to label beats of another lead.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     check_lead("V1", None); check_lead("MLII", None); check_lead("Lead I", None)
    >>> len(w), "lead V1" in str(w[0].message), "lead Lead I" in str(w[1].message)
    (2, True, True)
    """
    import warnings
    from pathlib import Path

    from ecgtool.errors import EcgToolWarning
    from ecgtool.ml.model_io import default_model_dir

    path = model.path if isinstance(model, Classifier) else model
    if path is not None and Path(path).resolve() != default_model_dir().resolve():
        return
    from ecgtool.io.records import lead_key

    if lead_key(str(lead)) in OTHER_LEADS:
        warnings.warn(f"lead {lead}: the shipped classifier was trained on lead II (MLII) "
                      "and labels beats of other leads less reliably", EcgToolWarning,
                      stacklevel=2)


@lru_cache(maxsize=8)
def _predict_fn(clf_id: int, module):
    from ecgtool.ml._xla import jax

    @jax.jit
    def probs(params, waves, rr):
        features = module.apply(params, waves, rr, train=False, method=module.features)
        logits = module.apply(params, features, method=module.logits)
        return jax.nn.softmax(logits, axis=-1), features

    return probs


def predict(windows: BeatWindows, clf: Classifier) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities ``(n_beats, 5)`` and encoder features for prepared windows.

    Batches have one fixed size (the last is padded) so the network is
    compiled once per process.
    """
    n = len(windows)
    module = clf.module()
    proba = np.empty((n, len(AAMI_CLASSES)), np.float32)
    features = np.empty((n, module.hidden), np.float32)
    if n == 0:
        return proba, features
    fn = _predict_fn(id(clf), module)
    for start in range(0, n, BATCH):
        stop = min(n, start + BATCH)
        w, r = windows.waves[start:stop], windows.rr[start:stop]
        if stop - start < BATCH:
            pad = BATCH - (stop - start)
            w = np.concatenate([w, np.zeros((pad,) + w.shape[1:], w.dtype)])
            r = np.concatenate([r, np.ones((pad, r.shape[1]), r.dtype)])
        p, f = fn(clf.params, w, r)
        proba[start:stop] = np.asarray(p)[: stop - start]
        features[start:stop] = np.asarray(f)[: stop - start]
    return proba, features


def predict_proba(windows: BeatWindows, clf: Classifier) -> np.ndarray:
    """Class probabilities ``(n_beats, 5)`` for prepared windows."""
    return predict(windows, clf)[0]


def classify_beats(ecg: np.ndarray, fs: float, r_peaks: np.ndarray,
                   model: Classifier | str | None = None,
                   qrs_ms: np.ndarray | None = None,
                   pr_ms: np.ndarray | None = None) -> BeatLabels:
    """AAMI class, class probabilities and MIT-BIH symbol of every beat.

    Parameters
    ----------
    ecg : numpy.ndarray
        One lead in mV.
    fs : float
        Sampling rate (Hz).
    r_peaks : numpy.ndarray
        Sorted R-peak indices (e.g. ``detect_beats(ecg, fs).r_peak``).
    model : Classifier, path or None
        A loaded classifier, a model directory, or None for the shipped one.
    qrs_ms : numpy.ndarray, optional
        The beats' QRS durations from ``detect_beats`` with the default
        QRS-boundary network, which the narrow-QRS rule reads; measured
        again when None (see :func:`ecgtool.beats.windows.beat_windows`).
    pr_ms : numpy.ndarray, optional
        The beats' PR intervals from ``detect_beats`` (``Beats.pr_ms``),
        which the label revision reads; delineated again when None.

    Returns
    -------
    BeatLabels

    Examples
    --------
    >>> from ecgtool.io.records import read_sample
    >>> from ecgtool.signal.detect import detect_r_peaks
    >>> rec = read_sample("208")
    >>> x = rec.signal[:36000]
    >>> labels = classify_beats(x, rec.fs, detect_r_peaks(x, rec.fs))
    >>> set(labels.aami) <= set("NSVFQ"), len(labels.aami) == len(labels.symbol)
    (True, True)
    """
    clf = model if isinstance(model, Classifier) else load_model(model)
    windows = beat_windows(ecg, fs, r_peaks, qrs_ms, pr_ms)
    proba, features = predict(windows, clf)
    aami = aami_classes(proba, np.asarray(r_peaks) / fs, windows)
    symbol = clf.symbols.name(aami, features) if clf.symbols is not None else None
    return flutter_waves(BeatLabels(aami=aami, proba=proba, symbol=symbol), ecg, fs, r_peaks)


def flutter_waves(labels: BeatLabels, ecg: np.ndarray, fs: float,
                  r_peaks: np.ndarray) -> BeatLabels:
    """The detections inside ventricular flutter or fibrillation
    (:func:`ecgtool.signal.fibrillation.vf_spans`) as what they are: waves of
    the flutter, no beats, which MIT-BIH marks ``!`` and EC57 scores in no
    class; here ``Q`` (unclassifiable), symbol ``!``. The probabilities stay
    the network's.

    Examples
    --------
    >>> fs = 360; t = np.arange(20 * fs) / fs
    >>> ecg = np.sin(2 * np.pi * 4.0 * t)                      # flutter throughout
    >>> lab = BeatLabels(np.array(["V", "N"]), np.zeros((2, 5)), np.array(["V", "N"]))
    >>> out = flutter_waves(lab, ecg, fs, np.array([3600, 5000]))
    >>> out.aami.tolist(), out.symbol.tolist()
    (['Q', 'Q'], ['!', '!'])
    """
    from ecgtool.rr import in_spans
    from ecgtool.signal.fibrillation import vf_spans

    spans = vf_spans(ecg, fs)
    if not spans:
        return labels
    inside = in_spans(np.asarray(r_peaks) / fs, [a for a, _ in spans], [b for _, b in spans])
    return BeatLabels(aami=np.where(inside, "Q", labels.aami), proba=labels.proba,
                      symbol=np.where(inside, "!", labels.symbol))


def table_head(model: Classifier | str | None = None):
    """The beats-table head of a classifier; an error when it has none."""
    from ecgtool.errors import EcgToolError

    clf = model if isinstance(model, Classifier) else load_table_model(model)
    if clf.table is None:
        raise EcgToolError("this model cannot label a beats table (no table.npz, or one "
                           "fitted by an earlier version: retrain it with ecgtool train); "
                           "give classify the signal", clf.path)
    return clf.table


def classify_table(beats: Beats, model: Classifier | str | None = None) -> BeatLabels:
    """AAMI class and class probabilities of beats known only from their
    table (no waveform): the model's beats-table head
    (:mod:`ecgtool.ml.table_head`) on :func:`ecgtool.beats.features.table_features`,
    its class revised by the rhythm around each beat as the network's is
    (:func:`ecgtool.ml.revise.revise_labels`; the probabilities stay the
    head's). Less accurate than :func:`classify_beats` on the signal; no
    MIT-BIH symbol.

    The revision took the head's macro F1 on leave-one-record-out DS1, end
    to end, from 0.500 to 0.565 (S F1 0.365 -> 0.619, N Se 93.7 -> 95.2 %);
    with the shipped head, on CPSC 2021 from 0.395 to 0.526, SVDB 800 0.426
    -> 0.472, the QT Database's records outside MIT-BIH 0.437 -> 0.503.

    Examples
    --------
    >>> from ecgtool.io.records import read_sample
    >>> from ecgtool.signal.detect import detect_beats
    >>> rec = read_sample("208")
    >>> labels = classify_table(detect_beats(rec.signal[:36000], rec.fs))
    >>> set(labels.aami) <= set("NSVFQ"), labels.proba.shape[1]
    (True, 5)
    """
    from ecgtool.beats.features import table_features

    proba = table_head(model).proba(table_features(beats))
    return BeatLabels(aami=table_classes(proba, beats), proba=proba)


def table_classes(scores: np.ndarray, beats: Beats) -> np.ndarray:
    """Each beat's AAMI class from the beats-table head's ``scores``: the
    most likely one, revised by the rhythm around the beat
    (:func:`ecgtool.ml.revise.revise_labels`, with the table's PR
    intervals; an interval across a gap in the table, ``beats.gap_before``,
    is none), and an S or N call much wider than the N calls around it is V
    (:func:`~ecgtool.ml.shape_rules.widened_beats`, with the table's QRS durations; without the
    waveform, the beats of the dominant rhythm are not told apart). On the
    DS1 folds end to end this took V F1 from 0.652 to 0.662 and S F1 from
    0.618 to 0.642.

    Examples
    --------
    >>> b = Beats(fs=100.0, r_peak=np.cumsum(np.r_[np.full(20, 80), 50, 100, np.full(20, 80)]))
    >>> "".join(table_classes(np.tile([0.9, 0.05, 0.03, 0.01, 0.01], (42, 1)), b))[18:23]
    'NNSNN'
    """
    from ecgtool.ml.revise import revise_labels

    head = np.array(AAMI_CLASSES)[np.asarray(scores).argmax(axis=1)]
    revised = revise_labels(beats.r_peak / beats.fs, head, broken=beats.gap_before[1:],
                            pr_ms=beats.pr_ms)
    revised[widened_beats(beats.qrs_ms, revised)] = "V"
    return revised


def aami_classes(scores: np.ndarray, times_s: np.ndarray,
                 windows: BeatWindows | None = None) -> np.ndarray:
    """Each beat's AAMI class: the network's most likely one (``scores``:
    probabilities or logits), revised by the rhythm around the beat
    (:func:`ecgtool.ml.revise.revise_labels`: early beats in a regular rhythm
    are S, no beat of an irregularly irregular rhythm is, a rhythm amid
    steadily conducted P waves, given the windows' ``pr_ms``, being none)
    and, given the beats' ``windows``, by the rules of
    :mod:`ecgtool.ml.shape_rules`: a V or F beat of the dominant rhythm
    (``dominant_beats``, irregularly irregular stretches included) is N, and
    so is a V beat whose QRS is narrow (``NARROW_V_MS``; given the windows'
    ``qrs_ms``) outside a run of three or more V calls over 100 bpm; after
    the revision an S or N call whose QRS is much wider than the N calls'
    around it is V (``widened_beats``) unless it is of the dominant rhythm,
    a V call that the beats of its shape call N (``outvoted_v``), an N call
    in a run of wide beats unlike the record's usual ones with no P wave is
    V (``ventricular_rhythm``), so is an N or S call unlike the usual beat
    that the beats of its shape call V (``outvoted_n_or_s``) and, last, a V
    call of a shape of its own amid other such beats is ``Q``, noise
    (``noise_v``).
    A beat whose R peak touches an unreadable stretch (a NaN run; see
    :data:`ecgtool.beats.windows.HIDDEN_MS`) or the record's edge
    (:data:`ecgtool.beats.windows.EDGE_MS`) is ``Q``, unclassifiable; the
    rules leave out the R-R intervals across such stretches. The
    probabilities ``p_*`` stay the network's.

    Examples
    --------
    >>> p = np.tile([0.9, 0.05, 0.03, 0.01, 0.01], (42, 1))
    >>> t = np.cumsum(np.r_[np.full(20, 0.8), 0.5, 1.0, np.full(20, 0.8)])
    >>> "".join(aami_classes(p, t))[18:23]
    'NNSNN'
    """
    from ecgtool.ml.revise import revise_labels
    from ecgtool.rhythm import fast_runs, irregular_beats

    if len(scores) == 0:
        return np.zeros(0, "<U1")
    network = np.array(AAMI_CLASSES)[np.asarray(scores).argmax(axis=1)]
    if windows is not None and windows.hidden is not None:
        network[windows.hidden] = "Q"
    if windows is None:
        return revise_labels(times_s, network)
    broken, pr_ms = windows.broken, windows.pr_ms
    ventricular = np.isin(network, ("V", "F"))
    # Three or more ventricular calls over 100 bpm: a tachycardia.
    tachycardia = np.zeros(len(network), bool)
    for a, b in fast_runs(times_s, ventricular):
        tachycardia[a:b] = True

    @lru_cache(maxsize=None)
    def dominant() -> np.ndarray:
        # Judged once, on the network's own calls, and only where a rule asks.
        return dominant_beats(windows, irregular_beats(times_s, network, broken=broken,
                                                       pr_ms=pr_ms), tachycardia)

    if ventricular.any():
        network[ventricular & dominant()] = "N"
        if windows.qrs_ms is not None:
            narrow = (network == "V") & (windows.qrs_ms < NARROW_V_MS) & ~tachycardia
            network[narrow] = "N"
    revised = revise_labels(times_s, network, broken=broken, pr_ms=pr_ms)
    if windows.qrs_ms is not None:
        wide = widened_beats(windows.qrs_ms, revised)
        if wide.any():
            revised[wide & ~dominant()] = "V"
    revised[outvoted_v(windows, revised)] = "N"
    revised[ventricular_rhythm(windows, revised, times_s)] = "V"
    revised[outvoted_n_or_s(windows, revised)] = "V"
    revised[noise_v(windows, revised, times_s)] = "Q"
    return revised
