"""Training of the QRS-boundary network (:mod:`ecgtool.signal.qrsnet`) with JAX.

Beats are found by ecgtool's detector (so the network learns around the R
peaks it will be given), matched to the reference marks within 150 ms, and
every annotated lead of a record is used. The shipped weights come from::

    python -m ecgtool.ml.qrsnet_train --data $ECGTOOL_DATA/ludb --out ecgtool/signal/qrsnet.npz

Settings (window, layers, noise, epochs) were chosen by record-grouped
5-fold cross-validation on LUDB records 1-100; the QT database was not used.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import ecgtool.ml._xla  # noqa: F401, I001  (before JAX: it sets JAX's threads)
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from ecgtool.errors import EcgToolError
from ecgtool.signal.qrsnet import HALF, SCALE_MS, qrs_windows, save_weights

#: LUDB's annotated leads (``<record>.<lead>`` files).
LUDB_LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")


@dataclass(frozen=True)
class QrsNetConfig:
    """Layers and training of the QRS-boundary network."""

    channels: tuple = (8, 16, 16)
    kernels: tuple = (7, 5, 5)
    strides: tuple = (1, 2, 2)
    hidden: int = 32
    epochs: int = 40
    batch_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    # Each training window is scaled by U(0.7, 1.3) and gets white noise of
    # this SD (in units of its largest deflection).
    noise: float = 0.02
    seed: int = 0


class QrsNet(nn.Module):
    """Windows ``(n, 81)`` -> QRS onset and offset in ms from the R peak / ``SCALE_MS``."""

    config: QrsNetConfig = QrsNetConfig()

    @nn.compact
    def __call__(self, windows):
        d = jnp.diff(windows, axis=1, prepend=windows[:, :1])
        h = jnp.stack([windows, 5.0 * d], axis=-1)
        c = self.config
        for ch, k, s in zip(c.channels, c.kernels, c.strides):
            h = nn.relu(nn.Conv(ch, (k,), strides=(s,))(h))
        h = h.reshape(h.shape[0], -1)
        h = nn.relu(nn.Dense(c.hidden)(h))
        return nn.Dense(2)(h)


@dataclass(frozen=True)
class BoundaryData:
    """Windows around detected R peaks, their reference boundaries (ms from
    the R peak) and the record each comes from."""

    windows: np.ndarray
    targets: np.ndarray
    records: np.ndarray


def ludb_boundaries(folder: str | Path, records: list[str],
                    leads: tuple = LUDB_LEADS) -> BoundaryData:
    """:class:`BoundaryData` of LUDB records (``folder`` holds ``data/<n>.*``)."""
    from ecgtool.evaluate import match_beats, reference_waves
    from ecgtool.io.records import read_annotations, read_wfdb
    from ecgtool.signal.detect import detect_r_peaks

    folder = Path(folder)
    data = folder / "data" if (folder / "data").is_dir() else folder
    wins, targets, names = [], [], []
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
            on, off = ref["qrs_onset"][m.ref_index], ref["qrs_offset"][m.ref_index]
            rt = r[m.test_index]
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


def numpy_params(params: dict, config: QrsNetConfig) -> dict:
    """Flax parameters -> the flat arrays :func:`ecgtool.signal.qrsnet.forward` takes."""
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
    key = jax.random.PRNGKey(config.seed)
    params = net.init(key, jnp.zeros((1, 2 * HALF + 1)))
    n = data.windows.shape[0]
    steps_per_epoch = max(1, n // config.batch_size)
    schedule = optax.cosine_decay_schedule(config.learning_rate,
                                           config.epochs * steps_per_epoch)
    opt = optax.adamw(schedule, weight_decay=config.weight_decay)
    state = opt.init(params)

    def loss_fn(p, x, y):
        return optax.huber_loss(net.apply(p, x) - y, delta=10.0 / SCALE_MS).mean()

    @jax.jit
    def train_step(p, s, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
        updates, s = opt.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    rng = np.random.default_rng(config.seed)
    y_all = data.targets / SCALE_MS
    b = config.batch_size
    for epoch in range(config.epochs):
        order = rng.permutation(n)
        losses = []
        for i in range(0, steps_per_epoch * b, b):
            idx = order[i:i + b]
            x = data.windows[idx]
            x = (x * rng.uniform(0.7, 1.3, (idx.size, 1))
                 + rng.normal(0.0, config.noise, x.shape)).astype(np.float32)
            params, state, loss = train_step(params, state, x, y_all[idx])
            losses.append(float(loss))
        if progress:
            progress(epoch + 1, float(np.mean(losses)))
    return numpy_params(params, config)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Train the QRS-boundary network on LUDB.")
    ap.add_argument("--data", required=True, help="LUDB folder (with data/<n>.hea)")
    ap.add_argument("--records", default="1-100", help="record numbers, e.g. 1-100")
    ap.add_argument("--out", required=True, help="weights file (.npz) to write")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    lo, _, hi = args.records.partition("-")
    records = [str(i) for i in range(int(lo), int(hi or lo) + 1)]
    config = QrsNetConfig(seed=args.seed)
    try:
        data = ludb_boundaries(args.data, records)
    except EcgToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{data.windows.shape[0]} annotated beats of {len(set(data.records))} records",
          file=sys.stderr)
    params = train_qrsnet(data, config, progress=lambda e, loss: print(
        f"epoch {e}/{config.epochs}: loss {loss:.4f}", file=sys.stderr))
    from ecgtool import __version__

    card = {"format": "ecgtool-qrsnet", "trained_on": f"LUDB records {args.records}, all leads",
            "records": records, "n_beats": int(data.windows.shape[0]),
            "config": asdict(config), "ecgtool": __version__}
    save_weights(params, card, args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
