"""The beat classifier: a small 1-D CNN over the beat window, R-R features joined
before the head (Flax Linen).

The network is split so that domain adaptation can reuse it: ``BeatEncoder``
turns a beat into a feature vector, ``LabelHead`` turns features into class
logits, and ``BeatClassifier`` is the two in sequence. Parameters are stored
as ``{"encoder": ..., "head": ...}``.
"""

from __future__ import annotations

from typing import Sequence

import ecgtool.ml._xla  # noqa: F401, I001  (before JAX: it sets JAX's threads)
import flax.linen as nn
import jax.numpy as jnp

from ecgtool.beats.table import AAMI_CLASSES


class BeatEncoder(nn.Module):
    """Beat windows ``(batch, WINDOW, 2)`` and R-R features ``(batch, k)`` -> features.

    The two input channels are the beat and its record's median beat.
    """

    channels: Sequence[int] = (16, 32, 32)
    kernels: Sequence[int] = (7, 5, 3)
    hidden: int = 64
    dropout: float = 0.2

    @nn.compact
    def __call__(self, waves, rr, train: bool = False, with_shape: bool = False):
        """Features; with ``with_shape``, also the pooled convolution output
        (the beat's shape alone, before the R-R features join it)."""
        x = jnp.concatenate([waves, waves[..., :1] - waves[..., 1:]], axis=-1)
        for i, (c, k) in enumerate(zip(self.channels, self.kernels)):
            x = nn.Conv(c, (k,), name=f"conv{i}")(x)
            x = nn.relu(x)
            if i < len(self.channels) - 1:
                x = nn.max_pool(x, (2,), (2,))
        # Mean and max over time keep morphology; log R-R ratios make early
        # and late beats symmetric around 0.
        rr = jnp.log(jnp.clip(rr, 1e-3, None))
        shape = jnp.concatenate([x.mean(axis=1), x.max(axis=1)], axis=-1)
        x = nn.Dense(self.hidden, name="dense")(jnp.concatenate([shape, rr], axis=-1))
        x = nn.relu(x)
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        return (x, shape) if with_shape else x


class LabelHead(nn.Module):
    """Features -> logits over the AAMI classes."""

    n_classes: int = len(AAMI_CLASSES)

    @nn.compact
    def __call__(self, features):
        return nn.Dense(self.n_classes, name="out")(features)


class BeatClassifier(nn.Module):
    """Encoder then label head: ``(waves, rr) -> logits``.

    Examples
    --------
    >>> import jax, numpy as np
    >>> m = BeatClassifier()
    >>> p = m.init(jax.random.PRNGKey(0), np.zeros((2, 96, 2), np.float32),
    ...            np.ones((2, 6), np.float32))
    >>> m.apply(p, np.zeros((3, 96, 2), np.float32), np.ones((3, 6), np.float32)).shape
    (3, 5)
    """

    channels: Sequence[int] = (16, 32, 32)
    kernels: Sequence[int] = (7, 5, 3)
    hidden: int = 64
    dropout: float = 0.2

    def setup(self):
        self.encoder = BeatEncoder(self.channels, self.kernels, self.hidden, self.dropout)
        self.head = LabelHead()

    def __call__(self, waves, rr, train: bool = False):
        return self.head(self.encoder(waves, rr, train))

    def features(self, waves, rr, train: bool = False):
        return self.encoder(waves, rr, train)

    def logits(self, features):
        return self.head(features)
