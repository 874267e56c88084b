"""Training a classifier from annotated records: the library form of ``ecgtool train``."""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

from ecgtool.errors import EcgToolError
from ecgtool.evaluate import PACED_RECORDS
from ecgtool.io.records import Record
from ecgtool.ml.input_pipeline import (CHECKED_CLASSES, MIN_CHECK_BEATS, BeatDataset,
                                       reference_dataset, split_records)
from ecgtool.ml.model_io import save_head, save_model
from ecgtool.ml.train import TrainConfig, TrainResult, train_and_evaluate

#: de Chazal's inter-patient split of MIT-BIH (training half DS1, test half DS2).
DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124",
       "201", "203", "205", "207", "208", "209", "215", "220", "223", "230")
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212",
       "213", "214", "219", "221", "222", "228", "231", "232", "233", "234")
#: MIT-BIH's records with a pacemaker (paced beats, class Q).
PACED = tuple(sorted(PACED_RECORDS))
RECORD_SETS = {"ds1": DS1, "ds2": DS2, "paced": PACED}


def record_names(spec: str) -> set[str]:
    """Record names of a ``--records`` value: names and set names, comma-separated.

    Examples
    --------
    >>> sorted(record_names("paced,100"))
    ['100', '102', '104', '107', '217']
    >>> len(record_names("ds1,paced"))
    26
    """
    out: set[str] = set()
    for item in (x.strip() for x in spec.split(",")):
        if item:
            out |= set(RECORD_SETS.get(item.lower(), (item,)))
    return out


def select_records(srcs: list, spec: str | None, where: str = "the data") -> list:
    """The sources a ``--records`` value names (:func:`record_names`; ``all``
    or nothing: every one); an error lists the names not found.

    Examples
    --------
    >>> from ecgtool.io.inputs import Source
    >>> srcs = [Source("wfdb", f"{n}.hea", n) for n in ("101", "102", "119")]
    >>> [s.name for s in select_records(srcs, "paced,119")]
    Traceback (most recent call last):
    ...
    ecgtool.errors.EcgToolError: records not found in the data: 104, 107, 217
    >>> [s.name for s in select_records(srcs, "102,119")], len(select_records(srcs, "all"))
    (['102', '119'], 3)
    """
    if not spec or spec.strip().lower() == "all":
        return list(srcs)
    wanted = record_names(spec)
    chosen = [s for s in srcs if s.name in wanted]
    missing = sorted(wanted - {s.name for s in chosen})
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8
                                          else "")
        raise EcgToolError(f"records not found in {where}: {shown}")
    return chosen


def labelled_dataset(records: list[Record]) -> BeatDataset:
    """Reference-position beats of annotated records, concatenated."""
    parts = []
    for rec in records:
        if rec.annotations is None:
            raise EcgToolError("no reference annotations to train on", rec.source)
        parts.append(reference_dataset(rec))
    if not parts:
        raise EcgToolError("no training records")
    return BeatDataset.concat(parts)


def train_model(records: list[Record], out: str | os.PathLike, config: TrainConfig = TrainConfig(),
                n_val: int = 4, on_epoch: Callable[[dict], None] | None = None,
                extra_card: dict | None = None) -> TrainResult:
    """Train on annotated records with early stopping on ``n_val`` held-out records.

    The held-out records are drawn (seeded) from ``records``; no record
    contributes beats to both sides. Writes the model directory ``out``.
    """
    ds = labelled_dataset(records)
    names = [r.name for r in records]
    train_names, val_names = split_records(names, n_val, config.seed, ds)
    train_ds = ds.of_records(train_names)
    res = train_and_evaluate(train_ds, ds.of_records(val_names) if val_names else None, config,
                             on_epoch)
    head = fit_symbols(res.params, res.card()["config"], train_ds)
    card = {"training_records": train_names, "validation_records": val_names,
            "sources": sorted({r.source for r in records}), **res.card(),
            "symbol_head": symbol_card(head), **(extra_card or {})}
    table = fit_table([r for r in records if r.name in set(train_names)])
    card["table_head"] = table_card(table)
    save_model(out, res.params, card)
    save_head(out, head)
    save_head(out, table)
    return res


def table_rows(rec: Record):
    """The detector's beats of an annotated record, what its beats table tells
    of each (:func:`ecgtool.beats.features.table_features`) and the class of
    the reference beat matched within 150 ms (``""`` where none matches)."""
    from ecgtool.beats.features import table_features
    from ecgtool.beats.labels import aami_labels
    from ecgtool.evaluate import BEAT_SYMBOLS, MATCH_WINDOW_S, match_beats
    from ecgtool.signal.detect import detect_beats

    if rec.annotations is None:
        raise EcgToolError("no reference annotations to train on", rec.source)
    beats = detect_beats(rec.signal, rec.fs)
    ann = rec.annotations
    beat = np.isin(ann.symbol, list(BEAT_SYMBOLS))
    m = match_beats(ann.sample[beat], beats.r_peak, int(round(MATCH_WINDOW_S * rec.fs)))
    lab = np.full(len(beats), "", dtype="<U1")
    lab[m.test_index] = aami_labels(ann.symbol[beat][m.ref_index])
    return beats, table_features(beats), lab


def fit_table(records: list[Record]):
    """The beats-table head (:mod:`ecgtool.ml.table_head`) fitted on the
    detected beats of annotated ``records``."""
    from ecgtool.ml.table_head import fit_table_head

    rows = [table_rows(r)[1:] for r in records]
    if not rows:
        raise EcgToolError("no training records")
    return fit_table_head(np.concatenate([f for f, _ in rows]),
                          np.concatenate([lab for _, lab in rows]))


def table_card(head) -> dict:
    from ecgtool.beats.features import TABLE_FEATURES
    from ecgtool.beats.table import AAMI_CLASSES

    return {"features": list(TABLE_FEATURES),
            "training_beats": {c: int(n) for c, n in zip(AAMI_CLASSES, head.counts) if n},
            "use": "labels beats from a beats table (no waveform); less accurate than the "
                   "network: benchmarks/classify_table.py"}


def fit_symbols(params: dict, model_config: dict, ds: BeatDataset):
    """The MIT-BIH symbol head of a trained classifier, fitted on ``ds``'s beats."""
    from ecgtool.ml.symbols import fit_symbol_head

    return fit_symbol_head(encode(params, model_config, ds), ds.symbols, ds.records)


def symbol_card(head) -> dict:
    from ecgtool.beats.labels import SYMBOLS
    from ecgtool.ml.symbols import MIN_RECORD_BEATS, MIN_RECORDS

    return {"nameable": [s for s, ok in zip(SYMBOLS, head.nameable) if ok],
            "training_beats": {s: int(c) for s, c in zip(SYMBOLS, head.counts) if c},
            "training_records_per_symbol": {s: int(c) for s, c in zip(SYMBOLS, head.support)
                                            if c},
            "rule": f"named when >= {MIN_RECORDS} training records hold >= "
                    f"{MIN_RECORD_BEATS} of its beats, or when it is its class's only symbol"}


# ------------------------------------------------------------- adaptation

def database_inputs(spec: str) -> list[str]:
    """Inputs for a ``--source``/``--target`` value: a path, glob or store as given,
    else a database name under ``$ECGTOOL_DATA`` (``ptb`` also finds ``ptbdb``)."""
    from pathlib import Path

    from ecgtool.io.inputs import data_dir

    if any(ch in spec for ch in "*?[") or Path(spec).exists() or spec.startswith("sample:"):
        return [spec]
    root = data_dir()
    if root is not None:
        for name in (spec, spec + "db", spec.rstrip("/")):
            if (root / name).is_dir():
                return [str(root / name)]
    raise EcgToolError(f"no such database or path (looked in $ECGTOOL_DATA={root})", spec)


def detected_beats(records: list[Record]) -> BeatDataset:
    """Beats found by the detector in each record, labelled from its annotations
    when it has any (-1 otherwise); records without beats are skipped."""
    from ecgtool.ml.input_pipeline import detected_dataset
    from ecgtool.signal.detect import detect_r_peaks

    parts = []
    for rec in records:
        peaks = detect_r_peaks(rec.signal, rec.fs)
        if peaks.size:
            parts.append(detected_dataset(rec, peaks))
    if not parts:
        raise EcgToolError("no beats found in the target records")
    return BeatDataset.concat(parts)


def encode(params: dict, model_config: dict, ds: BeatDataset, batch: int = 4096):
    """Encoder features of every beat (for plots and domain checks)."""
    from ecgtool.ml._xla import jax
    import numpy as np

    cfg = TrainConfig.from_card(model_config)
    module = cfg.model()
    fn = jax.jit(lambda p, w, r: module.apply(p, w, r, method=module.features))
    out = [np.asarray(fn(params, ds.waves[i:i + batch], ds.rr[i:i + batch]))
           for i in range(0, len(ds), batch)]
    return np.concatenate(out) if out else np.zeros((0, cfg.hidden))


def evaluate_labels(params: dict, model_config: dict, ds: BeatDataset,
                    fs: dict[str, float] | None = None) -> dict:
    """Per-class metrics of a parameter set on labelled beats; macro F1 over
    N, S, V and F (``MACRO_CLASSES``), as in ``benchmarks/classify.py``.

    With ``fs`` (each record's sampling rate), the classes scored are those
    ``ecgtool classify`` outputs: the network's, revised by the rhythm of
    each record's beats (:func:`ecgtool.ml.classify.aami_classes`); without
    it, the network's alone.
    """
    from ecgtool.ml._xla import jax

    from ecgtool.beats.labels import class_index
    from ecgtool.ml.classify import aami_classes
    from ecgtool.ml.train import (MACRO_CLASSES, class_metrics, class_weights, confusion,
                                  create_train_state, predict_logits)

    cfg = TrainConfig.from_card(model_config)
    state = create_train_state(jax.random.PRNGKey(0), cfg,
                               class_weights(ds.labels, 1.0)).replace(params=params)
    logits = predict_logits(state, ds)
    pred = logits.argmax(axis=1)
    if fs is not None:
        # Every beat of a record, labelled or not, is part of its rhythm.
        for name in np.unique(ds.records):
            at = ds.records == name
            pred[at] = class_index(aami_classes(logits[at], ds.r_peak[at] / fs[str(name)],
                                                ds.windows(at)))
    lab = ds.labels >= 0
    return class_metrics(confusion(ds.labels[lab], pred[lab]), min_count=1,
                         classes=MACRO_CLASSES)


def sensitivity_losses(before: dict, after: dict, min_beats: int = MIN_CHECK_BEATS,
                       max_loss: float = 0.1) -> list[dict]:
    """Classes (of at least ``min_beats`` beats) whose sensitivity fell by more than ``max_loss``.

    Macro F1 can stay put while one class's sensitivity falls and its +P
    rises; the adaptation guard (:class:`ecgtool.ml.dann.DannConfig`) keeps
    no step at which this names a class.

    Examples
    --------
    >>> before = {"S": {"n": 389, "se": 0.86}, "V": {"n": 110, "se": 0.88}}
    >>> after = {"S": {"n": 389, "se": 0.64}, "V": {"n": 110, "se": 0.90}}
    >>> sensitivity_losses(before, after)
    [{'class': 'S', 'n': 389, 'se_before': 0.86, 'se_after': 0.64}]
    """
    from ecgtool.ml.train import MACRO_CLASSES

    return [{"class": c, "n": before[c]["n"], "se_before": before[c]["se"],
             "se_after": after[c]["se"]}
            for c in MACRO_CLASSES
            if c in before and before[c]["n"] >= min_beats
            and after[c]["se"] < before[c]["se"] - max_loss]


def unchecked_classes(scores: dict) -> dict:
    """Classes the adaptation guard cannot judge: fewer than
    :data:`~ecgtool.ml.input_pipeline.MIN_CHECK_BEATS` of their beats on the
    held-out source records, among
    :data:`~ecgtool.ml.input_pipeline.CHECKED_CLASSES`.

    Examples
    --------
    >>> unchecked_classes({"N": {"n": 9000}, "S": {"n": 3}, "V": {"n": 110}})
    {'S': 3}
    """
    return {c: scores[c]["n"] for c in CHECKED_CLASSES
            if c in scores and scores[c]["n"] < MIN_CHECK_BEATS}


def adapt_model(source: list[Record], target: list[Record], out, init=None,
                config=None, on_progress=None, target_labels: bool = False) -> dict:
    """DANN from labelled ``source`` records to unlabelled ``target`` records.

    Writes a classifier directory usable by ``ecgtool classify --model``;
    returns the card's adaptation summary. Target labels are read only when
    ``target_labels`` is set, and only to score the result.

    Source records that were the starting model's validation records (never
    trained on) are kept out of the adaptation too. They guard it: the
    parameters kept are the last that lose at most a point of macro F1 on
    them (see :class:`ecgtool.ml.dann.DannConfig`), and the summary scores
    them before and after (``source_before``/``source_after``).
    """
    from ecgtool.ml.dann import DannConfig, adapt
    from ecgtool.ml.model_io import load_model

    clf = load_model(init)
    model_config = clf.card["config"]
    unseen = set(clf.card.get("validation_records", []))
    check = [r for r in source if r.name in unseen]
    train = [r for r in source if r.name not in unseen]
    if not train:  # nothing else to learn from: adapt on all of them, check nothing
        train, check = source, []
    src = labelled_dataset(train)
    tgt = detected_beats(target)
    unlabelled = BeatDataset(tgt.waves, tgt.rr, tgt.labels * 0 - 1, tgt.records, tgt.r_peak)
    held = labelled_dataset(check) if check else None
    res = adapt(src, unlabelled, clf.params, model_config, config or DannConfig(), on_progress,
                held)
    summary = {"source_records": sorted({r.name for r in train}),
               "source_check_records": sorted({r.name for r in check}),
               "target_records": sorted({r.name for r in target}),
               "target_beats": len(tgt), "init_model": clf.path,
               "domain_accuracy_first_100_steps": res.history[0]["domain_acc"]
               if res.history else None,
               "domain_accuracy_last_100_steps": res.history[-1]["domain_acc"]
               if res.history else None}
    if res.source_start is not None:  # scored by the guard while it chose the step
        summary["source_before"], summary["source_after"] = res.source_start, res.source_kept
        summary["source_unchecked_classes"] = unchecked_classes(res.source_start)
    if target_labels and (tgt.labels >= 0).any():
        # Scored as `classify --model` labels them: revised by each record's rhythm.
        fs = {r.name: r.fs for r in target}
        summary["target_before"] = evaluate_labels(clf.params, model_config, tgt, fs)
        summary["target_after"] = evaluate_labels(res.params, model_config, tgt, fs)
    card = {k: v for k, v in clf.card.items() if k in ("config", "training_records",
                                                       "validation_records")}
    card.update(res.card())
    card["adaptation"].update(summary)
    # The encoder moved: the symbol head is fitted again on the source beats.
    head = fit_symbols(res.params, model_config, src)
    card["symbol_head"] = symbol_card(head)
    save_model(out, res.params, card)
    save_head(out, head)
    if clf.table is not None:  # it reads no waveform: adaptation leaves it as it was
        save_head(out, clf.table)
    return card["adaptation"]
