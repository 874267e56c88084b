"""Labelling beats from a beats table alone, when the waveform is not at hand.

A shell pipeline such as ``ecgtool detect - --out - | ecgtool classify -``
hands ``classify`` the beats table that ``detect`` wrote, without the ECG the
network needs. This head labels those beats from the table's own measures
(:func:`ecgtool.beats.features.table_features`: timing, QRS width, R
amplitude and latency, P and T points) with a multinomial logistic regression.
It is less accurate than the network on the waveform
(``benchmarks/classify_table.py`` measures both on the same folds), and
``classify`` says so on stderr whenever it is used.

It is stored beside the classifier as ``table.npz`` (numpy's own format, so
that labelling a table imports neither JAX nor flax; model directories
written before hold ``table.msgpack``, still read); a model directory
without either cannot label a beats table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtool.beats.features import TABLE_FEATURES
from ecgtool.beats.table import AAMI_CLASSES

TABLE_FILE = "table.npz"
#: The head's file in model directories written before ``table.npz``.
LEGACY_TABLE_FILE = "table.msgpack"


class StaleHead(ValueError):
    """A stored head fitted on other measures than this version computes."""


@dataclass
class TableHead:
    """Linear class scores over :data:`~ecgtool.beats.table.AAMI_CLASSES`
    from :data:`~ecgtool.beats.features.TABLE_FEATURES` (the regression
    :func:`fit_table_head` fits).

    Attributes
    ----------
    kernel, bias : numpy.ndarray
        ``(n_features, n_classes)`` weights and ``(n_classes,)`` bias on the
        measures as they are (the training standardisation folded in,
        :meth:`ecgtool.ml.linear.LinearFit.folded`).
    counts : numpy.ndarray
        Training beats per class (a class without any has a bias of -1e9:
        never predicted).
    """

    kernel: np.ndarray
    bias: np.ndarray
    counts: np.ndarray

    def proba(self, features: np.ndarray) -> np.ndarray:
        """``(n, 5)`` class probabilities (numpy; no JAX needed).

        Examples
        --------
        >>> h = TableHead(np.eye(19, 5), np.zeros(5), np.ones(5))
        >>> h.proba(np.zeros((1, 19))).round(2).tolist()
        [[0.2, 0.2, 0.2, 0.2, 0.2]]
        """
        from ecgtool.ml.linear import linear_scores

        x = linear_scores(features, self.kernel, self.bias)
        x -= x.max(axis=1, keepdims=True) if x.size else 0.0
        e = np.exp(x)
        return e / e.sum(axis=1, keepdims=True)

    def to_bytes(self) -> bytes:
        """The head as ``.npz`` bytes (float64: folded weights on measures in
        milliseconds lose digits in float32).

        Examples
        --------
        >>> h = TableHead(np.eye(len(TABLE_FEATURES), 5), np.zeros(5), np.ones(5, np.int64))
        >>> TableHead.from_bytes(h.to_bytes()).kernel.shape == h.kernel.shape
        True
        """
        import io

        buf = io.BytesIO()
        np.savez(buf, kernel=np.asarray(self.kernel, np.float64),
                 bias=np.asarray(self.bias, np.float64),
                 counts=np.asarray(self.counts, np.int64),
                 features=np.array(",".join(TABLE_FEATURES)),
                 classes=np.array("".join(AAMI_CLASSES)))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, raw: bytes) -> "TableHead":
        """Read :meth:`to_bytes` output, or the flax msgpack of older model
        directories (``table.msgpack``)."""
        if raw[:2] == b"PK":  # a zip archive: numpy's .npz
            import io

            with np.load(io.BytesIO(raw), allow_pickle=False) as z:
                d = {k: z[k] for k in z.files}
            d["features"], d["classes"] = str(d.get("features")), str(d.get("classes"))
        else:
            from flax import serialization

            d = serialization.msgpack_restore(raw)
        if d.get("features") != ",".join(TABLE_FEATURES) or d.get("classes") != "".join(
                AAMI_CLASSES):
            raise StaleHead("beats-table head was trained on other features or classes")
        kernel, bias, counts = (np.asarray(d[k], np.float64) for k in ("kernel", "bias", "counts"))
        if "mean" in d:  # written before the standardisation was folded in
            from ecgtool.ml.linear import LinearFit

            kernel, bias = LinearFit(kernel, bias, np.asarray(d["mean"], np.float64),
                                     np.asarray(d["scale"], np.float64), counts).folded()
        return cls(kernel, bias, counts.astype(np.int64))


def fit_table_head(features: np.ndarray, aami: np.ndarray, iterations: int = 200,
                   l2: float = 1e-5, power: float = 0.5, cap: float = 10.0) -> TableHead:
    """Train the head on beats with known AAMI classes.

    Multinomial logistic regression on the standardised measures
    (:func:`ecgtool.ml.linear.fit_softmax_regression`: L-BFGS to the
    minimum, no seed), with an L2 penalty ``l2`` on the weights. Beats of
    other labels (``""``, unmatched detections) are left out. The loss is
    weighted by inverse class frequencies to the power ``power``, capped at
    ``cap`` (:func:`ecgtool.ml.train.class_weights`: a handful of Q beats
    must not pull V and N beats into Q). A perceptron with two hidden
    layers, trained by AdamW, scored lower on left-out records (it learnt
    the training patients: ``benchmarks/classify_table.py``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(600, len(TABLE_FEATURES))).astype(np.float32)
    >>> lab = np.where(f[:, 0] < -0.5, "S", "N")
    >>> head = fit_table_head(f, lab)
    >>> p = head.proba(f)
    >>> float((np.array(AAMI_CLASSES)[p.argmax(1)] == lab).mean()) > 0.95
    True
    """
    from ecgtool.ml.linear import fit_softmax_regression
    from ecgtool.ml.train import class_weights

    aami = np.asarray(aami)
    idx = np.array([AAMI_CLASSES.index(a) if a in AAMI_CLASSES else -1 for a in aami], int)
    keep = idx >= 0
    y = idx[keep]
    fit = fit_softmax_regression(np.asarray(features, np.float64)[keep], y, len(AAMI_CLASSES),
                                 class_weights(y, power, cap), l2, iterations,
                                 what="beats-table head")
    return TableHead(*fit.folded(), fit.counts)
