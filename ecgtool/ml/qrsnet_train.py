"""Training of the wave networks with JAX: QRS boundaries
(:mod:`ecgtool.signal.qrsnet`) and P waves (:mod:`ecgtool.signal.pnet`).

Beats are found by ecgtool's detector (so the networks learn around the R
peaks they will be given), matched to the reference marks within 150 ms, and
every annotated lead of a record is used. The shipped weights come from::

    python -m ecgtool.ml.qrsnet_train --data $ECGTOOL_DATA/ludb --out ecgtool/signal/qrsnet.npz
    python -m ecgtool.ml.qrsnet_train --wave p --data $ECGTOOL_DATA/ludb --out ecgtool/signal/pnet.npz

Settings (window, layers, noise, epochs) were chosen by record-grouped
5-fold cross-validation on LUDB records 1-100; the QT database was not used.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

import ecgtool.ml._xla  # noqa: F401, I001  (before JAX: it sets JAX's threads)
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from ecgtool.errors import EcgToolError
from ecgtool.signal import pnet
from ecgtool.signal.qrsnet import SCALE_MS, antialiased, qrs_windows, save_weights

#: LUDB's annotated leads (``<record>.<lead>`` files).
LUDB_LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")


@dataclass(frozen=True)
class QrsNetConfig:
    """Layers and training of a wave network: the QRS-boundary network's by
    default, the P-wave network's in :data:`P_CONFIG`."""

    channels: tuple = (8, 16, 16)
    kernels: tuple = (7, 5, 5)
    strides: tuple = (1, 2, 2)
    hidden: int = 32
    epochs: int = 40
    batch_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    # Each QRS training window is scaled by U(0.7, 1.3) and gets white noise
    # of this SD (in units of its largest deflection); each P-wave window,
    # white noise of an SD drawn from 0 to this (see :func:`augment_p`).
    noise: float = 0.02
    seed: int = 0
    # P-wave network only (see :func:`augment_p`): the largest time stretch
    # (log of the factor), and the largest SDs of muscle-like noise and of
    # baseline wander, in units of the window's largest deflection.
    stretch: float = 0.0
    muscle: float = 0.0
    wander: float = 0.0
    # The share of training windows turned upside down: a lead's polarity
    # comes from where its electrodes sit, not from the beat.
    polarity_flip: float = 0.0


#: The P-wave network: one more stride-2 layer for its longer window,
#: longer training (40 -> 60 epochs: smaller errors on the folds), and
#: windows stretched in time by up to exp(+-0.2) (on MIT-BIH's lead MLII it
#: then found P waves on 94-96 % of normal beats in sinus rhythm, not 88-89 %,
#: for as few in atrial fibrillation; see :func:`augment_p`).
P_CONFIG = QrsNetConfig(channels=(8, 16, 16, 16), kernels=(7, 5, 5, 5), strides=(1, 2, 2, 2),
                        epochs=60, stretch=0.2)


class ConvNet(nn.Module):
    """ReLU convolutions, a ReLU dense layer and a linear one over inputs
    ``(n, length, channels)``: the Flax twin of
    :func:`ecgtool.signal.qrsnet.layers_forward`. With ``first_difference``
    the input is windows ``(n, length)``, read with 5x their first difference
    as a second channel (:func:`ecgtool.signal.qrsnet.net_inputs`)."""

    config: QrsNetConfig
    outputs: int
    first_difference: bool = False

    @nn.compact
    def __call__(self, h):
        if self.first_difference:
            d = jnp.diff(h, axis=1, prepend=h[:, :1])
            h = jnp.stack([h, 5.0 * d], axis=-1)
        c = self.config
        for ch, k, s in zip(c.channels, c.kernels, c.strides):
            h = nn.relu(nn.Conv(ch, (k,), strides=(s,))(h))
        h = h.reshape(h.shape[0], -1)
        h = nn.relu(nn.Dense(c.hidden)(h))
        return nn.Dense(self.outputs)(h)


def QrsNet(config: QrsNetConfig = QrsNetConfig()) -> ConvNet:  # noqa: N802 (a model)
    """Windows ``(n, 81)`` -> QRS onset and offset in ms from the R peak / ``SCALE_MS``."""
    return ConvNet(config, 2, first_difference=True)


@dataclass(frozen=True)
class BoundaryData:
    """Windows around detected R peaks, their reference boundaries (ms from
    the R peak) and the record each comes from."""

    windows: np.ndarray
    targets: np.ndarray
    records: np.ndarray

    def take(self, keep: np.ndarray) -> BoundaryData:
        """The beats where ``keep`` is true."""
        return BoundaryData(self.windows[keep], self.targets[keep], self.records[keep])


def ludb_matched_beats(folder: str | Path, records: list[str], leads: tuple = LUDB_LEADS):
    """Each annotated lead of LUDB records (``folder`` holds ``data/<n>.*``) as
    ``(record name, Record, reference points, R peaks)``: the beats ecgtool's
    detector finds, matched within 150 ms to the marked ones, and the
    reference points (:func:`ecgtool.evaluate.reference_waves`) of those beats."""
    from ecgtool.evaluate import match_beats, reference_waves
    from ecgtool.io.wfdbfiles import read_annotations, read_wfdb
    from ecgtool.signal.detect import detect_r_peaks

    folder = Path(folder)
    data = folder / "data" if (folder / "data").is_dir() else folder
    for name in records:
        base = data / name
        for lead in leads:
            ann = read_annotations(base, lead)
            if ann is None:
                continue
            ref = reference_waves(ann).points
            rec = read_wfdb(base, channel=lead, ann=None)
            r = detect_r_peaks(rec.signal, rec.fs)
            m = match_beats(ref["r_peak"], r, int(0.15 * rec.fs))
            if m.test_index.size:
                yield name, rec, {k: v[m.ref_index] for k, v in ref.items()}, r[m.test_index]


def ludb_boundaries(folder: str | Path, records: list[str],
                    leads: tuple = LUDB_LEADS) -> BoundaryData:
    """:class:`BoundaryData` of LUDB records (``folder`` holds ``data/<n>.*``)."""
    wins, targets, names = [], [], []
    for name, rec, ref, rt in ludb_matched_beats(folder, records, leads):
        on, off = ref["qrs_onset"], ref["qrs_offset"]
        ok = (on >= 0) & (off >= 0)
        if not ok.any():
            continue
        wins.append(qrs_windows(rec.signal, rec.fs, rt[ok]))
        targets.append(np.stack([on[ok] - rt[ok], off[ok] - rt[ok]], 1) * (1000 / rec.fs))
        names += [name] * int(ok.sum())
    if not wins:
        raise EcgToolError("no annotated QRS complexes (LUDB records with their "
                           "<record>.<lead> marks) here", str(folder))
    return BoundaryData(np.concatenate(wins), np.concatenate(targets).astype(np.float32),
                        np.array(names))


#: P-wave training segments are this many samples (at 250 Hz) wider on each
#: side than the network's window: room to stretch them in time.
P_MARGIN = 30


@dataclass(frozen=True)
class PWaveData:
    """Segments before detected R peaks (:func:`ecgtool.signal.pnet.segments`
    of the anti-aliased signal, :data:`P_MARGIN` wider each side), whether
    the reference marks a P wave there, its onset, peak and offset (ms from
    the R peak; 0 where absent) and the record each comes from."""

    segments: np.ndarray
    present: np.ndarray
    targets: np.ndarray
    records: np.ndarray

    @property
    def windows(self) -> np.ndarray:
        """The network's input as :func:`ecgtool.signal.pnet.p_windows` reads it."""
        return pnet.normalised(self.segments[:, P_MARGIN:-P_MARGIN])

    def take(self, keep: np.ndarray) -> PWaveData:
        """The beats where ``keep`` is true."""
        return PWaveData(self.segments[keep], self.present[keep], self.targets[keep],
                         self.records[keep])


def ludb_p_waves(folder: str | Path, records: list[str],
                 leads: tuple = LUDB_LEADS) -> PWaveData:
    """:class:`PWaveData` of LUDB records (``folder`` holds ``data/<n>.*``):
    every beat the detector finds inside the annotated stretch, with or
    without a marked P wave."""
    wins, present, targets, names = [], [], [], []
    for name, rec, ref, rt in ludb_matched_beats(folder, records, leads):
        pts = np.stack([ref[k] for k in ("p_onset", "p_peak", "p_offset")], 1)
        has = (pts >= 0).all(axis=1)
        x = antialiased(rec.signal, rec.fs)
        wins.append(pnet.segments(x, rec.fs, rt, pnet.BEFORE + P_MARGIN,
                                  pnet.AFTER + P_MARGIN))
        present.append(has)
        targets.append(np.where(has[:, None], pts - rt[:, None], 0) * (1000 / rec.fs))
        names += [name] * rt.size
    if not wins:
        raise EcgToolError("no annotated beats (LUDB records with their <record>.<lead> "
                           "marks) here", str(folder))
    return PWaveData(np.concatenate(wins), np.concatenate(present),
                     np.concatenate(targets).astype(np.float32), np.array(names))


def numpy_params(params: dict, config: QrsNetConfig) -> dict:
    """Flax parameters -> the flat arrays :func:`ecgtool.signal.qrsnet.layers_forward` takes."""
    p = params["params"]
    out = {}
    for i, s in enumerate(config.strides):
        out[f"conv{i}_kernel"] = np.asarray(p[f"Conv_{i}"]["kernel"])
        out[f"conv{i}_bias"] = np.asarray(p[f"Conv_{i}"]["bias"])
        out[f"conv{i}_stride"] = np.asarray(s)
    for j in range(2):
        out[f"dense{j}_kernel"] = np.asarray(p[f"Dense_{j}"]["kernel"])
        out[f"dense{j}_bias"] = np.asarray(p[f"Dense_{j}"]["bias"])
    return out


def train_qrsnet(data: BoundaryData, config: QrsNetConfig = QrsNetConfig(),
                 progress=None) -> dict:
    """Train on every window of ``data``; returns numpy parameters (see :func:`numpy_params`).

    The loss is the Huber loss (delta 10 ms) of both boundaries, so that a
    few odd marks do not pull the fit.
    """
    net = QrsNet(config)

    def loss(out, y):
        return optax.huber_loss(out - y, delta=10.0 / SCALE_MS).mean()

    x_all, y_all = data.windows, (data.targets / SCALE_MS).astype(np.float32)

    def batch(rng, idx):
        return augment_qrs(rng, x_all[idx], config), y_all[idx]

    return _fit(net, x_all.shape, batch, loss, config, progress)


def augment_qrs(rng: np.random.Generator, windows: np.ndarray,
                config: QrsNetConfig) -> np.ndarray:
    """A training batch of the QRS-boundary network: each window scaled by
    U(0.7, 1.3), a share ``config.polarity_flip`` of them turned upside down
    (the boundaries stay where they are), plus white noise of SD
    ``config.noise`` in units of its largest deflection."""
    gain = rng.uniform(0.7, 1.3, (windows.shape[0],) + (1,) * (windows.ndim - 1))
    x = turned(rng, windows * gain, config.polarity_flip)
    return (x + rng.normal(0.0, config.noise, windows.shape)).astype(np.float32)


def turned(rng: np.random.Generator, x: np.ndarray, share: float) -> np.ndarray:
    """``x`` with a share ``share`` of its rows (training windows) turned
    upside down, drawn at random; with 0, ``x`` itself and no draw, so that
    weights trained before the option stay reproducible."""
    if share <= 0:
        return x
    return np.where(rng.uniform(size=(x.shape[0],) + (1,) * (x.ndim - 1)) < share, -x, x)


def train_pnet(data: PWaveData, config: QrsNetConfig = P_CONFIG, progress=None) -> dict:
    """Train the P-wave network; returns numpy parameters.

    The loss is the cross-entropy of the P-wave logit over every beat, plus
    5 times the Huber loss (delta 10 ms) of the three points over the beats
    with a marked P wave.
    """
    net = ConvNet(config, 4)
    y = np.concatenate([data.present[:, None].astype(np.float32),
                        data.targets / pnet.SCALE_MS], axis=1).astype(np.float32)

    def batch(rng, idx):
        return augment_p(rng, data.segments[idx], y[idx], config)

    def loss(out, y):
        has = y[:, 0]
        cls = optax.sigmoid_binary_cross_entropy(out[:, 0], has).mean()
        point = optax.huber_loss(out[:, 1:] - y[:, 1:], delta=10.0 / pnet.SCALE_MS).mean(1)
        return cls + 5.0 * (point * has).sum() / (has.sum() + 1.0)

    shape = (data.segments.shape[0],) + pnet.INPUT_SHAPE
    return _fit(net, shape, batch, loss, config, progress)


def augment_p(rng: np.random.Generator, segments: np.ndarray, y: np.ndarray,
              config: QrsNetConfig) -> tuple[np.ndarray, np.ndarray]:
    """A training batch of the P-wave network from wide segments (see
    :class:`PWaveData`) and targets ``(presence, points / SCALE_MS)``.

    Each segment is stretched in time by a factor drawn log-uniformly within
    ``exp(+-config.stretch)`` (P waves of other PR intervals and widths than
    LUDB's; the point targets scale with it), and gets white noise, muscle-
    like noise (white noise smoothed over 3 samples) and baseline wander (a
    random parabola), each with an SD drawn uniformly from 0 to its setting
    in units of the window's largest deflection; a share
    ``config.polarity_flip`` of them is turned upside down (the targets stay:
    a P wave is there, at the same times, whichever way up the lead shows it);
    then it is normalised as :func:`ecgtool.signal.pnet.normalised` does.
    """
    n = segments.shape[0]
    factor = np.exp(rng.uniform(-config.stretch, config.stretch, n))
    centre = pnet.BEFORE + P_MARGIN
    pos = centre + np.arange(-pnet.BEFORE, pnet.AFTER + 1)[None, :] * factor[:, None]
    if n and (pos.min() < 0 or pos.max() > segments.shape[1] - 2):
        raise ValueError(f"a stretch of exp(+-{config.stretch}) reaches beyond the segments' "
                         f"margin of {P_MARGIN} samples")
    i0 = np.floor(pos).astype(np.int64)
    frac = pos - i0
    rows = np.arange(n)[:, None]
    w = segments[rows, i0] * (1.0 - frac) + segments[rows, i0 + 1] * frac
    scale = np.abs(w - np.median(w, axis=1, keepdims=True)).max(axis=1, keepdims=True)
    length = w.shape[1]
    white = rng.normal(0.0, 1.0, (n, length))
    raw = rng.normal(0.0, 1.0, (n, length + 2))
    muscle = (raw[:, :-2] + raw[:, 1:-1] + raw[:, 2:]) / np.sqrt(3.0)
    t = np.linspace(-1.0, 1.0, length)[None, :]
    wander = (rng.normal(0.0, 1.0, (n, 1)) * t + rng.normal(0.0, 1.0, (n, 1)) * (t * t - 1 / 3))
    sd = rng.uniform(0.0, 1.0, (n, 3)) * np.array([config.noise, config.muscle, config.wander])
    w = w + scale * (sd[:, :1] * white + sd[:, 1:2] * muscle + sd[:, 2:] * wander)
    w = turned(rng, w, config.polarity_flip)
    y = y.copy()
    y[:, 1:] /= factor[:, None]
    return pnet.normalised(w), y


def _fit(net, shape: tuple, batch, loss, config: QrsNetConfig, progress=None) -> dict:
    # AdamW with cosine decay over ``shape[0]`` examples; ``batch(rng, idx)``
    # gives the (augmented) inputs and targets of the examples ``idx``.
    key = jax.random.PRNGKey(config.seed)
    params = net.init(key, jnp.zeros((1,) + tuple(shape[1:])))
    n = shape[0]
    steps_per_epoch = max(1, n // config.batch_size)
    schedule = optax.cosine_decay_schedule(config.learning_rate,
                                           config.epochs * steps_per_epoch)
    opt = optax.adamw(schedule, weight_decay=config.weight_decay)
    state = opt.init(params)

    def loss_fn(p, x, y):
        return loss(net.apply(p, x), y)

    @jax.jit
    def train_step(p, s, x, y):
        value, grads = jax.value_and_grad(loss_fn)(p, x, y)
        updates, s = opt.update(grads, s, p)
        return optax.apply_updates(p, updates), s, value

    rng = np.random.default_rng(config.seed)
    b = config.batch_size
    for epoch in range(config.epochs):
        order = rng.permutation(n)
        losses = []
        for i in range(0, steps_per_epoch * b, b):
            x, y = batch(rng, order[i:i + b])
            params, state, value = train_step(params, state, x, y)
            losses.append(float(value))
        if progress:
            progress(epoch + 1, float(np.mean(losses)))
    return numpy_params(params, config)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Train a wave network (QRS boundaries or P "
                                 "waves) on LUDB.")
    ap.add_argument("--data", required=True, help="LUDB folder (with data/<n>.hea)")
    ap.add_argument("--wave", choices=("qrs", "p"), default="qrs",
                    help="the QRS-boundary network (default) or the P-wave network")
    ap.add_argument("--records", default="1-100", help="record numbers, e.g. 1-100")
    ap.add_argument("--out", required=True, help="weights file (.npz) to write")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--polarity-flip", type=float, default=QrsNetConfig().polarity_flip,
                    help="share of training windows turned upside down (0-1): a network "
                         "for leads of either polarity, a little less accurate on upright "
                         "ones (see docs/accuracy.md, Delineation)")
    args = ap.parse_args(argv)
    if not 0.0 <= args.polarity_flip <= 1.0:
        ap.error("--polarity-flip must lie between 0 and 1")
    lo, _, hi = args.records.partition("-")
    records = [str(i) for i in range(int(lo), int(hi or lo) + 1)]
    config = replace(P_CONFIG if args.wave == "p" else QrsNetConfig(), seed=args.seed,
                     polarity_flip=args.polarity_flip)
    try:
        data = (ludb_p_waves if args.wave == "p" else ludb_boundaries)(args.data, records)
    except EcgToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{data.windows.shape[0]} beats of {len(set(data.records))} records",
          file=sys.stderr)
    train = train_pnet if args.wave == "p" else train_qrsnet
    params = train(data, config, progress=lambda e, loss: print(
        f"epoch {e}/{config.epochs}: loss {loss:.4f}", file=sys.stderr))
    from ecgtool import __version__

    card = {"format": f"ecgtool-{args.wave}net",
            "trained_on": f"LUDB records {args.records}, all leads",
            "records": records, "n_beats": int(data.windows.shape[0]),
            "config": asdict(config), "ecgtool": __version__}
    save_weights(params, card, args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
