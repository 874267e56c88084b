"""Training the beat classifier: pure steps, an epoch loop, early stopping on held-out records.

Follows the Flax examples: ``create_train_state``, a pure
``train_step(state, batch, rng) -> (state, metrics)``, ``eval_step``, and
``train_and_evaluate`` that owns the loop. Class imbalance is handled by
weighting the loss with capped inverse class frequencies (to the power 0.3); beats are
lightly augmented (gain, noise, baseline shift, motion-like noise, polarity). The weights evaluated and
kept are a moving average of the trained ones (Polyak averaging), which made
the result depend far less on the seed. Everything is seeded and runs
deterministically on the CPU of one processor type; XLA's float arithmetic
differs in the last bits between processors, so training elsewhere can stop
at another epoch.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Callable

import ecgtool.ml._xla  # noqa: F401, I001  (before JAX: it sets JAX's threads)
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax.training import train_state

from ecgtool.beats.scores import MACRO_CLASSES, class_metrics, confusion  # noqa: F401
from ecgtool.beats.table import AAMI_CLASSES
from ecgtool.beats.windows import RR_FEATURES, WINDOW
from ecgtool.ml.config import TrainConfig
from ecgtool.ml.input_pipeline import BeatDataset, batches

N_CLASSES = len(AAMI_CLASSES)


class TrainState(train_state.TrainState):
    class_weights: jnp.ndarray
    #: Largest SD of the motion-like noise :func:`augment` adds (0: none).
    motion_noise: jnp.ndarray = 0.0
    #: Share of beats :func:`augment` turns upside down (0: none).
    polarity_flip: jnp.ndarray = 0.0


def class_weights(labels: np.ndarray, power: float, cap: float = np.inf,
                  n_classes: int = N_CLASSES) -> np.ndarray:
    """Per-class loss weights ``min(cap, (n / (k * count)) ** power)``, 0 when absent.

    The cap keeps a class with a handful of examples (Q in MIT-BIH DS1) from
    being memorised.

    Examples
    --------
    >>> [round(float(w), 2) for w in class_weights(np.array([0, 0, 0, 1]), 1.0)]
    [0.67, 2.0, 0.0, 0.0, 0.0]
    """
    counts = np.bincount(labels[labels >= 0], minlength=n_classes).astype(np.float64)
    present = counts > 0
    w = np.zeros(n_classes)
    w[present] = (counts[present].sum() / (present.sum() * counts[present])) ** power
    return np.minimum(w, cap).astype(np.float32)


def create_train_state(rng, config: TrainConfig, weights: np.ndarray) -> TrainState:
    model = config.model()
    params = model.init(rng, jnp.zeros((1, WINDOW, 2)), jnp.ones((1, len(RR_FEATURES))))
    tx = optax.adamw(config.learning_rate, weight_decay=config.weight_decay)
    return TrainState.create(apply_fn=model.apply, params=params, tx=tx,
                             class_weights=jnp.asarray(weights),
                             motion_noise=jnp.asarray(config.motion_noise, jnp.float32),
                             polarity_flip=jnp.asarray(config.polarity_flip, jnp.float32))


#: Samples (at the model rate) of the moving mean that colours the motion noise:
#: its spectrum falls to zero at 128 / 8 = 16 Hz, where electrode motion's energy lies.
_MOTION_SMOOTH = 8


def augment(rng, waves, motion_noise=0.0, polarity_flip=0.0):
    """Random gain (0.8-1.25), white noise and baseline offset on each beat
    (channel 0); the record template (channel 1) keeps the gain only.

    With ``polarity_flip`` > 0, that share of the beats is turned upside
    down, template and all, as a lead with its electrodes the other way
    round reads them.

    With ``motion_noise`` > 0, half the beats also get noise like electrode
    motion: white noise low-passed by a moving mean of :data:`_MOTION_SMOOTH`
    samples, its SD drawn uniformly from 0 to ``motion_noise`` (in units of
    the record's R amplitude). Without it, a beat distorted by noise looks
    unlike its record's template, as an ectopic beat does, and the network
    called such beats V.
    """
    k1, k2, k3 = jax.random.split(rng, 3)
    n = waves.shape[0]
    gain = jnp.exp(jax.random.uniform(k1, (n, 1, 1), minval=-0.22, maxval=0.22))
    noise = 0.03 * jax.random.normal(k2, waves.shape[:2])
    offset = 0.1 * jax.random.normal(k3, (n, 1))
    beat = waves[..., 0] + noise + offset
    # Keys of their own: the draws above stay those of a run without motion noise.
    k4, k5, k6 = jax.random.split(jax.random.fold_in(rng, 1), 3)
    length = waves.shape[1]
    c = jnp.cumsum(jax.random.normal(k4, (n, length + _MOTION_SMOOTH)), axis=1)
    # A mean of m unit-variance samples has SD 1/sqrt(m).
    colored = (c[:, _MOTION_SMOOTH:] - c[:, :-_MOTION_SMOOTH]) / np.sqrt(_MOTION_SMOOTH)
    sd = jax.random.uniform(k5, (n, 1), maxval=motion_noise) * (
        jax.random.uniform(k6, (n, 1)) < 0.5)
    beat = beat + colored * sd
    k7 = jax.random.fold_in(rng, 2)
    sign = jnp.where(jax.random.uniform(k7, (n, 1, 1)) < polarity_flip, -1.0, 1.0)
    return jnp.stack([beat, waves[..., 1]], axis=-1) * gain * sign


def weighted_loss(logits, labels, sample_weight, weights):
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    w = weights[labels] * sample_weight
    return jnp.sum(ce * w) / jnp.maximum(jnp.sum(w), 1e-6)


@jax.jit
def train_step(state: TrainState, batch: dict, rng) -> tuple[TrainState, dict]:
    """One optimisation step; pure: same inputs, same outputs."""
    aug_rng, drop_rng = jax.random.split(rng)
    waves = augment(aug_rng, batch["waves"], state.motion_noise, state.polarity_flip)

    def loss_fn(params):
        logits = state.apply_fn(params, waves, batch["rr"], train=True,
                                rngs={"dropout": drop_rng})
        return weighted_loss(logits, batch["label"], batch["weight"], state.class_weights)

    loss, grads = jax.value_and_grad(loss_fn)(state.params)
    return state.apply_gradients(grads=grads), {"loss": loss}


@partial(jax.jit, static_argnums=2)
def average_params(average, params, decay: float):
    """Exponential moving average of the weights (``decay`` 0 keeps ``params``).

    Examples
    --------
    >>> a = average_params({"w": jnp.zeros(2)}, {"w": jnp.ones(2)}, 0.75)
    >>> a["w"].tolist()
    [0.25, 0.25]
    """
    return jax.tree_util.tree_map(lambda a, p: decay * a + (1 - decay) * p, average, params)


def debiased_average(average, start, decay: float, steps: int):
    """The moving average of :func:`average_params` after ``steps`` updates
    from ``start``, without the share ``decay ** steps`` that ``start`` still
    holds in it (the correction Adam applies to its moments).

    In training from scratch the start is the random initialisation: after
    1,250 steps of decay 0.998 it is still 8 % of the average, and a short run
    (``--epochs 2``) kept an average that was mostly untrained weights.

    Examples
    --------
    >>> a = average_params({"w": jnp.zeros(1)}, {"w": jnp.ones(1)}, 0.75)
    >>> debiased_average(a, {"w": jnp.zeros(1)}, 0.75, 1)["w"].tolist()
    [1.0]
    """
    share = decay ** steps
    if steps == 0 or share == 0.0:
        return average
    return jax.tree_util.tree_map(lambda a, s: (a - share * s) / (1 - share), average, start)


@jax.jit
def eval_step(state: TrainState, batch: dict) -> jnp.ndarray:
    return state.apply_fn(state.params, batch["waves"], batch["rr"], train=False)


def predict_logits(state: TrainState, ds: BeatDataset, batch_size: int = 4096) -> np.ndarray:
    out = []
    n = len(ds)
    for start in range(0, n, batch_size):
        sl = slice(start, min(n, start + batch_size))
        w, r = ds.waves[sl], ds.rr[sl]
        pad = batch_size - w.shape[0]
        if pad:
            w = np.concatenate([w, np.zeros((pad,) + w.shape[1:], w.dtype)])
            r = np.concatenate([r, np.ones((pad,) + r.shape[1:], r.dtype)])
        out.append(np.asarray(eval_step(state, {"waves": w, "rr": r}))[: sl.stop - sl.start])
    return np.concatenate(out) if out else np.zeros((0, N_CLASSES), np.float32)


@dataclass
class TrainResult:
    """Best parameters (by validation loss) and the per-epoch history."""

    params: dict
    config: TrainConfig
    best_epoch: int
    history: list = field(default_factory=list)
    val_metrics: dict = field(default_factory=dict)
    seconds: float = 0.0

    def card(self) -> dict:
        return {"config": asdict(self.config), "best_epoch": self.best_epoch,
                "history": self.history, "validation": self.val_metrics,
                "train_seconds": self.seconds}


def train_and_evaluate(train_ds: BeatDataset, val_ds: BeatDataset | None,
                       config: TrainConfig = TrainConfig(),
                       on_epoch: Callable[[dict], None] | None = None) -> TrainResult:
    """Train on ``train_ds``; keep the epoch (from ``min_epochs`` on) with the
    lowest class-weighted loss on ``val_ds``, stopping after ``patience``
    epochs without improvement. Without a validation set, the last epoch is kept.
    """
    t0 = time.perf_counter()
    rng = jax.random.PRNGKey(config.seed)
    rng, init_rng = jax.random.split(rng)
    state = create_train_state(init_rng, config,
                               class_weights(train_ds.labels, config.class_weight_power,
                                             config.max_class_weight))
    np_rng = np.random.default_rng(config.seed)
    best, best_epoch, best_params, stale, history = -np.inf, 0, state.params, 0, []
    val_metrics = {}
    averaged = start = state.params
    # A run shorter than min_epochs keeps its last epoch, not its untrained start.
    min_epochs = min(config.min_epochs, config.epochs)
    for epoch in range(1, config.epochs + 1):
        losses = []
        for batch in batches(train_ds, config.batch_size, np_rng):
            rng, step_rng = jax.random.split(rng)
            state, m = train_step(state, batch, step_rng)
            averaged = average_params(averaged, state.params, config.ema_decay)
            losses.append(float(m["loss"]))
        row = {"epoch": epoch, "train_loss": float(np.mean(losses)) if losses else float("nan")}
        kept = state.replace(params=debiased_average(averaged, start, config.ema_decay,
                                                     int(state.step)))
        if val_ds is not None and len(val_ds):
            logits = predict_logits(kept, val_ds)
            metrics = class_metrics(confusion(val_ds.labels, logits.argmax(axis=1)), min_count=20)
            row["val_macro_f1"] = metrics["macro_f1"]
            row["val_accuracy"] = metrics["accuracy"]
            # The class-weighted loss on held-out records picks the epoch: a
            # few validation records hold too few S/F beats for their F1 to
            # choose reliably; the first epochs are never kept.
            lab = val_ds.labels >= 0
            row["val_loss"] = float(weighted_loss(
                jnp.asarray(logits[lab]), jnp.asarray(val_ds.labels[lab]),
                jnp.ones(int(lab.sum())), state.class_weights))
            score = -row["val_loss"] if epoch >= min_epochs else -np.inf
            if score > best:
                best, best_epoch, best_params, stale = score, epoch, kept.params, 0
                val_metrics = metrics
            elif epoch >= min_epochs:
                stale += 1
        else:
            best_epoch, best_params = epoch, kept.params
        history.append(row)
        if on_epoch:
            on_epoch(row)
        if val_ds is not None and stale >= config.patience:
            break
    params = jax.tree_util.tree_map(np.asarray, best_params)
    return TrainResult(params=params, config=config, best_epoch=best_epoch, history=history,
                       val_metrics=val_metrics, seconds=time.perf_counter() - t0)
