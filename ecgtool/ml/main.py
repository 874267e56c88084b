"""Training a classifier from annotated records: the library form of ``ecgtool train``."""

from __future__ import annotations

import os
from typing import Callable

from ecgtool.errors import EcgToolError
from ecgtool.io.records import Record
from ecgtool.ml.input_pipeline import BeatDataset, reference_dataset, split_records
from ecgtool.ml.model_io import save_model
from ecgtool.ml.train import TrainConfig, TrainResult, train_and_evaluate

#: de Chazal's inter-patient split of MIT-BIH (training half DS1, test half DS2).
DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124",
       "201", "203", "205", "207", "208", "209", "215", "220", "223", "230")
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212",
       "213", "214", "219", "221", "222", "228", "231", "232", "233", "234")
RECORD_SETS = {"ds1": DS1, "ds2": DS2}


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
    res = train_and_evaluate(ds.of_records(train_names),
                             ds.of_records(val_names) if val_names else None, config, on_epoch)
    card = {"training_records": train_names, "validation_records": val_names,
            "sources": sorted({r.source for r in records}), **res.card(), **(extra_card or {})}
    save_model(out, res.params, card)
    return res
