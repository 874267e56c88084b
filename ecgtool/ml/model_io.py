"""Saving and loading classifiers: flax-serialised parameters plus a JSON model card.

A model directory holds ``params.msgpack`` (``flax.serialization``),
``model.json`` (the card: classes, input rate, window, R-R features,
architecture, training records, metrics, package version) and, optionally,
``symbols.msgpack`` (the MIT-BIH symbol head) and ``table.npz`` (the
beats-table head; ``table.msgpack`` in directories written before).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from ecgtool.beats.table import AAMI_CLASSES
from ecgtool.beats.windows import AFTER, BEFORE, MODEL_FS, RR_FEATURES, WINDOW
from ecgtool.errors import EcgToolError
from ecgtool.ml.symbols import SYMBOL_FILE, SymbolHead
from ecgtool.ml.table_head import LEGACY_TABLE_FILE, TABLE_FILE, StaleHead, TableHead

PARAMS_FILE = "params.msgpack"
CARD_FILE = "model.json"


def default_model_dir() -> Path:
    """The classifier shipped inside the package."""
    return Path(str(resources.files("ecgtool") / "ml" / "weights" / "default"))


@dataclass
class Classifier:
    """A loaded classifier: Flax parameters, the module, the card, and the
    MIT-BIH symbol head (:mod:`ecgtool.ml.symbols`) and beats-table head
    (:mod:`ecgtool.ml.table_head`) when the directory has them."""

    params: dict
    card: dict
    path: str
    symbols: "SymbolHead | None" = None
    table: "TableHead | None" = None

    def module(self):
        from ecgtool.ml.config import TrainConfig

        return TrainConfig.from_card(self.card["config"]).model()


def save_model(directory: str | os.PathLike, params: dict, card: dict) -> Path:
    """Write a model directory (created if needed); returns its path."""
    from flax import serialization

    from ecgtool import __version__
    from ecgtool.io.store import atomic_path

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    full = {"format": "ecgtool-classifier", "format_version": 1, "ecgtool_version": __version__,
            "classes": list(AAMI_CLASSES), "input_fs": MODEL_FS,
            "window": {"before": BEFORE, "after": AFTER, "samples": WINDOW},
            "rr_features": list(RR_FEATURES), **card}
    full["n_parameters"] = int(sum(np.size(v) for v in _leaves(params)))
    with atomic_path(d / PARAMS_FILE) as tmp:
        tmp.write_bytes(serialization.to_bytes(params))
    (d / CARD_FILE).write_text(json.dumps(full, indent=2, default=_json_default) + "\n")
    return d


def _leaves(tree):
    from ecgtool.ml._xla import jax

    return jax.tree_util.tree_leaves(tree)


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _read_card(path: str) -> dict:
    try:
        card = json.loads((Path(path) / CARD_FILE).read_text())
    except FileNotFoundError:
        raise EcgToolError(f"not a model directory ({CARD_FILE} missing)", path) from None
    except (OSError, ValueError) as exc:
        raise EcgToolError(f"unreadable model card ({exc})", path) from None
    if not isinstance(card, dict) or card.get("format") != "ecgtool-classifier":
        raise EcgToolError("model card is not an ecgtool classifier", path)
    return card


@lru_cache(maxsize=8)
def _load(path: str, stamp: tuple) -> Classifier:
    from ecgtool.ml._xla import jax
    import jax.numpy as jnp
    from flax import serialization

    d = Path(path)
    card = _read_card(path)
    if (card.get("input_fs") != MODEL_FS or card.get("window", {}).get("samples") != WINDOW
            or card.get("rr_features") != list(RR_FEATURES)):
        raise EcgToolError("model expects other inputs (rate, window or R-R features) than "
                           "this version of ecgtool builds", path)
    clf = Classifier(params={}, card=card, path=path)
    # Shapes only: running the initialisers would compile dozens of small XLA
    # programs, seconds of start-up in every worker process. The example
    # inputs are made inside the traced function so that they compile nothing.
    module = clf.module()
    template = jax.eval_shape(lambda: module.init(
        jax.random.PRNGKey(0), jnp.zeros((1, WINDOW, 2)), jnp.ones((1, len(RR_FEATURES)))))
    try:
        raw = (d / PARAMS_FILE).read_bytes()
        params = serialization.from_bytes(template, raw)
    except FileNotFoundError:
        raise EcgToolError(f"model parameters ({PARAMS_FILE}) missing", path) from None
    except Exception as exc:
        raise EcgToolError(f"model parameters are corrupt ({type(exc).__name__})", path) from None
    try:
        shapes_ok = jax.tree_util.tree_all(jax.tree_util.tree_map(
            lambda a, b: tuple(a.shape) == np.shape(b), template, params))
    except (ValueError, TypeError):  # another tree structure
        shapes_ok = False
    if not shapes_ok:
        raise EcgToolError("model parameters do not fit the architecture in the card", path)
    clf.params = params
    clf.symbols = _load_head(d / SYMBOL_FILE, SymbolHead, "symbol head", path)
    clf.table = _load_head(_table_file(d), TableHead, "beats-table head", path)
    return clf


def _table_file(d: Path) -> Path:
    # The beats-table head: table.npz, or an older directory's table.msgpack.
    if not (d / TABLE_FILE).exists() and (d / LEGACY_TABLE_FILE).exists():
        return d / LEGACY_TABLE_FILE
    return d / TABLE_FILE


def save_head(directory: str | os.PathLike, head: SymbolHead | TableHead) -> None:
    """Write a head beside a model's parameters (atomically), under its file name."""
    from ecgtool.io.store import atomic_path

    name = SYMBOL_FILE if isinstance(head, SymbolHead) else TABLE_FILE
    with atomic_path(Path(directory) / name) as tmp:
        tmp.write_bytes(head.to_bytes())
    if name == TABLE_FILE:  # a directory trained again keeps no stale head
        (Path(directory) / LEGACY_TABLE_FILE).unlink(missing_ok=True)


def _load_head(f: Path, cls, what: str, path: str):
    # A model directory without the head is an older or smaller model: None.
    if not f.is_file():
        return None
    try:
        return cls.from_bytes(f.read_bytes())
    except StaleHead:
        # Fitted on the measures of an earlier version: the network still
        # serves; labelling a beats table needs a model trained anew.
        return None
    except Exception as exc:
        raise EcgToolError(f"{what} is corrupt ({type(exc).__name__})", path) from None


def _located(directory) -> tuple[str, tuple]:
    # The model directory's resolved path, and the times its files were
    # written: any file rewritten in place (a retrained model) is read again.
    d = Path(directory) if directory is not None else default_model_dir()
    if not d.is_dir():
        raise EcgToolError("model directory not found", str(d))
    stamp = tuple(f.stat().st_mtime_ns if f.exists() else 0
                  for f in (d / CARD_FILE, d / PARAMS_FILE, d / SYMBOL_FILE, d / TABLE_FILE,
                            d / LEGACY_TABLE_FILE))
    return str(d.resolve()), stamp


def load_model(directory: str | os.PathLike | None = None) -> Classifier:
    """Load a model directory (default: the shipped classifier).

    Raises :class:`EcgToolError` for a missing, corrupt or incompatible model.
    """
    return _load(*_located(directory))


@lru_cache(maxsize=8)
def _load_table(path: str, stamp: tuple) -> tuple[dict, "TableHead | None"]:
    return _read_card(path), _load_head(_table_file(Path(path)), TableHead, "beats-table head",
                                        path)


def load_table_model(directory: str | os.PathLike | None = None) -> Classifier:
    """A model directory's card and beats-table head alone, without JAX: all
    that labelling a beats table needs (its ``params`` are left empty)."""
    path, stamp = _located(directory)
    card, table = _load_table(path, stamp)
    return Classifier(params={}, card=card, path=path, table=table)
