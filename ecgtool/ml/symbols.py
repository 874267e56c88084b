"""Naming each beat's MIT-BIH symbol, where the training data allow it.

The AAMI class decides and the symbol refines it: a linear head on the
trained classifier's encoder features (kept frozen) scores the MIT-BIH beat
symbols, and each beat gets the best-scoring symbol *within its AAMI class*,
so that ``symbol`` and ``aami`` never disagree.

A symbol is named only when the training data show it in several patients:
at least :data:`MIN_RECORD_BEATS` beats in each of :data:`MIN_RECORDS`
records (or it is its class's only symbol, as F is). A morphology learnt from
one or two patients is those patients' morphology: with the bundle-branch
blocks of MIT-BIH DS1 (L in 2 records, R in 3), leave-one-record-out scoring
named L for 3,986 beats of other patients and none of them was an L beat.
On DS1 this leaves N, A, V and F; trained on more patients, L, R, a or E
become nameable by the same rule. A beat whose class has no nameable symbol
gets ``""``.

Keeping the encoder frozen means the head cannot change the AAMI decisions,
and it trains in seconds. It is stored beside the classifier as
``symbols.msgpack``; older model directories without it give ``""``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtool.beats.labels import SYMBOL_TO_AAMI, SYMBOLS, symbol_index
from ecgtool.beats.table import AAMI_CLASSES

SYMBOL_FILE = "symbols.msgpack"

#: AAMI class of each of :data:`SYMBOLS`.
_CLASS = np.array([SYMBOL_TO_AAMI[s] for s in SYMBOLS])
#: Symbols that are their class's only one (F): naming them adds nothing to guess.
_ALONE = np.array([np.sum(_CLASS == c) == 1 for c in _CLASS])

#: A symbol is named when this many training records ...
MIN_RECORDS = 4
#: ... each hold this many of its beats.
MIN_RECORD_BEATS = 20


@dataclass
class SymbolHead:
    """Linear scores over :data:`ecgtool.beats.labels.SYMBOLS` from encoder features.

    Attributes
    ----------
    kernel : numpy.ndarray
        ``(n_features, n_symbols)`` weights.
    bias : numpy.ndarray
        ``(n_symbols,)``.
    counts : numpy.ndarray
        Training beats per symbol.
    support : numpy.ndarray
        Training records holding at least :data:`MIN_RECORD_BEATS` beats of
        each symbol.
    """

    kernel: np.ndarray
    bias: np.ndarray
    counts: np.ndarray
    support: np.ndarray

    @property
    def nameable(self) -> np.ndarray:
        """Symbols this head may name (see the module notes)."""
        return (np.asarray(self.support) >= MIN_RECORDS) | (_ALONE & (np.asarray(self.counts) > 0))

    def name(self, aami: np.ndarray, features: np.ndarray) -> np.ndarray:
        """The best nameable symbol of each beat's AAMI class (``""`` if none).

        Examples
        --------
        >>> h = SymbolHead(np.eye(15), np.zeros(15), np.full(15, 100), np.full(15, 9))
        >>> f = np.zeros((2, 15)); f[0, 1] = 1; f[1, 9] = 1   # favour L, then V
        >>> h.name(np.array(["N", "S"]), f).tolist()          # S has no L or V
        ['L', 'A']
        """
        from ecgtool.ml.linear import linear_scores

        scores = linear_scores(features, self.kernel, self.bias)
        aami = np.asarray(aami)
        out = np.full(aami.size, "", dtype="<U1")
        nameable = self.nameable
        for c in AAMI_CLASSES:
            rows = aami == c
            allowed = (_CLASS == c) & nameable
            if rows.any() and allowed.any():
                s = np.where(allowed, scores[rows], -np.inf)
                out[rows] = np.array(SYMBOLS)[s.argmax(axis=1)]
        return out

    def to_bytes(self) -> bytes:
        from flax import serialization

        return serialization.msgpack_serialize(
            {"kernel": np.asarray(self.kernel, np.float32), "bias":
             np.asarray(self.bias, np.float32), "counts": np.asarray(self.counts, np.int64),
             "support": np.asarray(self.support, np.int64), "symbols": "".join(SYMBOLS)})

    @classmethod
    def from_bytes(cls, raw: bytes) -> "SymbolHead":
        from flax import serialization

        d = serialization.msgpack_restore(raw)
        if d.get("symbols") != "".join(SYMBOLS):
            raise ValueError("symbol head was trained for another symbol list")
        return cls(np.asarray(d["kernel"]), np.asarray(d["bias"]), np.asarray(d["counts"]),
                   np.asarray(d["support"]))


def fit_symbol_head(features: np.ndarray, symbols: np.ndarray, records: np.ndarray,
                    l2: float = 1e-5, power: float = 0.5, cap: float = 10.0) -> SymbolHead:
    """Multinomial logistic regression of the symbols on frozen features.

    ``records`` (the record of each beat) decides which symbols may be named.
    The fit is the beats-table head's
    (:func:`ecgtool.ml.linear.fit_softmax_regression`: L-BFGS to the minimum,
    no seed), the loss weighted by inverse symbol frequencies to the power
    ``power``, capped at ``cap`` (:func:`ecgtool.ml.train.class_weights`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(400, 4)); sym = np.where(f[:, 0] > 0, "L", "N")
    >>> head = fit_symbol_head(f, sym, np.arange(400) % 5)   # 5 "patients"
    >>> float((head.name(np.full(400, "N"), f) == sym).mean()) > 0.95
    True
    """
    from ecgtool.ml.linear import fit_softmax_regression
    from ecgtool.ml.train import class_weights

    idx = symbol_index(symbols)
    keep = idx >= 0
    y = idx[keep]
    k = len(SYMBOLS)
    # Beats of each (symbol, record) pair; a symbol's support is its records
    # with enough of them.
    _, rec = np.unique(np.asarray(records)[keep], return_inverse=True)
    pairs, n_pair = np.unique(np.stack([y, rec.ravel()]), axis=1, return_counts=True)
    support = np.bincount(pairs[0][n_pair >= MIN_RECORD_BEATS], minlength=k)
    fit = fit_softmax_regression(np.asarray(features, np.float64)[keep], y, k,
                                 class_weights(y, power, cap, n_classes=k), l2,
                                 what="symbol head")
    return SymbolHead(*fit.folded(), fit.counts, support)
