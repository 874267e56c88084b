"""QRS onset and offset from a small convolutional network, run in numpy.

The slope thresholds of :mod:`ecgtool.signal.delineate` place QRS
boundaries 13-15 ms (SD) from cardiologists' marks on LUDB, mostly through
errors that depend on the shape of the complex (a small Q wave, a slurred
S wave, a notch before the QRS). A network that has seen many shapes does
better: it reads 81 samples at 250 Hz around the R peak (+-160 ms), with
their first difference, and returns the onset and offset in ms from the R
peak. It is trained with JAX by :mod:`ecgtool.ml.qrsnet_train`; here it runs
in numpy, so that detection never imports JAX. :func:`forward` is the numpy
twin of the Flax model :class:`ecgtool.ml.qrsnet_train.QrsNet`, and a test
holds them equal.

The shipped weights (``qrsnet.npz`` beside this module) were trained on all
twelve leads of LUDB records 1-100; the QT database was never used.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ecgtool.signal.filters import sample_at

#: The network's sampling rate (Hz) and half-window (samples): +-160 ms.
NET_FS = 250.0
HALF = 40
#: Output scale: the network's outputs are ms / SCALE_MS.
SCALE_MS = 50.0
#: The weights shipped with the package.
DEFAULT_WEIGHTS = Path(__file__).with_name("qrsnet.npz")


def qrs_windows(ecg: np.ndarray, fs: float, r_peaks: np.ndarray) -> np.ndarray:
    """The network's input: +-160 ms around each R peak at 250 Hz, each row
    less its median and divided by its largest absolute value.

    Examples
    --------
    >>> x = np.sin(np.linspace(0, 20, 5000))
    >>> qrs_windows(x, 500.0, np.array([1000, 2000])).shape
    (2, 81)
    """
    return _windows(antialiased(ecg, fs), fs, r_peaks)


def antialiased(ecg: np.ndarray, fs: float) -> np.ndarray:
    # A centred moving mean of (2k+1) samples keeps what lies above the
    # network's Nyquist rate from folding into the window.
    x = np.asarray(ecg, dtype=np.float64)
    k = int(fs // 300)
    if not k or x.size == 0:
        return x
    box = np.ones(2 * k + 1) / (2 * k + 1)
    return np.convolve(np.concatenate([np.full(k, x[0]), x, np.full(k, x[-1])]), box, "valid")


def _windows(x: np.ndarray, fs: float, r_peaks: np.ndarray) -> np.ndarray:
    r = np.asarray(r_peaks, dtype=np.float64)
    at = r[:, None] + np.arange(-HALF, HALF + 1)[None, :] * (fs / NET_FS)
    w = sample_at(x, at)
    w -= np.median(w, axis=1, keepdims=True)
    w /= np.abs(w).max(axis=1, keepdims=True) + 1e-6
    return w.astype(np.float32)


def net_inputs(windows: np.ndarray) -> np.ndarray:
    """Windows ``(n, 81)`` -> channels ``(n, 81, 2)``: the window and 5x its first difference."""
    d = np.diff(windows, axis=1, prepend=windows[:, :1])
    return np.stack([windows, 5.0 * d], axis=-1)


def _conv(h: np.ndarray, kernel: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    # A 1-D convolution with Flax's "SAME" padding: ceil(L / stride) outputs.
    n, length, cin = h.shape
    k, _, cout = kernel.shape
    n_out = -(-length // stride)
    total = max((n_out - 1) * stride + k - length, 0)
    hp = np.pad(h, ((0, 0), (total // 2, total - total // 2), (0, 0)))
    cols = sliding_window_view(hp, k, axis=1)[:, ::stride][:, :n_out]  # (n, L, cin, k)
    cols = np.ascontiguousarray(cols.transpose(0, 1, 3, 2)).reshape(n * n_out, k * cin)
    return (cols @ kernel.reshape(k * cin, cout)).reshape(n, n_out, cout) + bias


def forward(params: dict, windows: np.ndarray) -> np.ndarray:
    """Onset and offset (ms from the R peak) of each window, ``(n, 2)``."""
    return layers_forward(params, net_inputs(np.asarray(windows, dtype=np.float32))) * SCALE_MS


def layers_forward(params: dict, h: np.ndarray) -> np.ndarray:
    """The layers of a wave network (ReLU convolutions, a ReLU dense layer,
    a linear one) over inputs ``(n, length, channels)``: the numpy twin of
    the Flax models of :mod:`ecgtool.ml.qrsnet_train`.

    ``params`` holds ``conv{i}_kernel`` ``(k, cin, cout)``, ``conv{i}_bias``,
    ``conv{i}_stride``, ``dense{j}_kernel`` and ``dense{j}_bias``, as
    :func:`load_weights` reads them.
    """
    i = 0
    while f"conv{i}_kernel" in params:
        h = np.maximum(_conv(h, params[f"conv{i}_kernel"], params[f"conv{i}_bias"],
                             int(params[f"conv{i}_stride"])), 0.0)
        i += 1
    h = h.reshape(h.shape[0], -1)
    h = np.maximum(h @ params["dense0_kernel"] + params["dense0_bias"], 0.0)
    return h @ params["dense1_kernel"] + params["dense1_bias"]


@lru_cache(maxsize=1)
def default_weights_id() -> str:
    """``sha256:`` and the first 16 hex digits of the shipped weights file:
    what a store's beats carry (``qrs_net``) when these weights measured
    their QRS boundaries, so that the classifier can read them from there.

    Examples
    --------
    >>> default_weights_id().startswith("sha256:"), len(default_weights_id())
    (True, 23)
    """
    from ecgtool.io.records import sha256_files

    return "sha256:" + sha256_files([DEFAULT_WEIGHTS])[:16]


@lru_cache(maxsize=8)
def load_weights(path: str | Path = DEFAULT_WEIGHTS) -> dict:
    """The network's parameters from an ``.npz`` written by :func:`save_weights`."""
    with np.load(path) as f:
        return {k: f[k] for k in f.files if k != "card"}


def save_weights(params: dict, card: dict, path: str | Path) -> None:
    """Write parameters and a JSON card (training data, settings) as one ``.npz``."""
    from ecgtool.io.store import atomic_path

    arrays = {k: np.asarray(v, dtype=np.float32) if "stride" not in k else np.asarray(v)
              for k, v in params.items()}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, card=np.array(json.dumps(card)), **arrays)


@lru_cache(maxsize=1)
def _blas_controller():
    # Finding the loaded BLAS libraries takes ~2 ms (a walk over every
    # loaded library), paid twice per block of a long record if done per call.
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


#: Beats per pass of a wave network. Smaller passes keep each layer's
#: unrolled inputs small: detection and delineation of five MIT-BIH records
#: (each read twice over, one core) took 0.98 s in passes of 512 beats
#: against 1.11-1.13 s in passes of 4096 (256: 0.97 s; 1024: 1.01-1.04 s).
NET_CHUNK = 512


def net_outputs(ecg: np.ndarray, fs: float, r: np.ndarray, weights: str | Path, windows,
                forward, outputs: int, chunk: int = NET_CHUNK) -> np.ndarray:
    """A wave network's outputs ``(n, outputs)`` for the R peaks ``r`` (int64):
    ``forward(params, windows(x, fs, r))`` on the anti-aliased signal ``x``,
    with the parameters of ``weights``, in chunks of R peaks (bounded memory)."""
    params = load_weights(str(weights))
    x = antialiased(ecg, fs)
    out = np.zeros((r.size, outputs))
    # One BLAS thread: the products are small, and worker processes each
    # have a core of their own (a thread per core in each had two workers
    # fight over the cores).
    with _blas_controller().limit(limits=1, user_api="blas"):
        for lo in range(0, r.size, chunk):
            out[lo:lo + chunk] = forward(params, windows(x, fs, r[lo:lo + chunk]))
    return out


def check_weights(path: str | Path, inputs: tuple = (2 * HALF + 1, 2), outputs: int = 2,
                  what: str = "QRS") -> None:
    """Raise :class:`~ecgtool.errors.EcgToolError` naming ``path`` unless it
    holds weights (a file from :func:`save_weights`) that map ``inputs``
    (length, channels) to ``outputs`` values; ``what`` names the network.

    Examples
    --------
    >>> check_weights(DEFAULT_WEIGHTS)
    >>> check_weights("missing.npz")
    Traceback (most recent call last):
    ...
    ecgtool.errors.EcgToolError: missing.npz: no such QRS network file
    """
    import zipfile

    from ecgtool.errors import EcgToolError

    if not Path(path).is_file():
        raise EcgToolError(f"{path}: no such {what} network file")
    try:
        params = load_weights(str(path))
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        raise EcgToolError(f"{path}: not a {what} network file (an .npz from "
                           "python -m ecgtool.ml.qrsnet_train)") from None
    try:
        out = layers_forward(params, np.zeros((1, *inputs), dtype=np.float32))
    except (KeyError, TypeError, IndexError, ValueError):
        raise EcgToolError(f"{path}: {what} network weights incomplete or of the wrong "
                           "shapes") from None
    if out.shape != (1, outputs):
        raise EcgToolError(f"{path}: {what} network gives {out.shape[-1]} outputs, "
                           f"not {outputs}")


def weights_card(path: str | Path = DEFAULT_WEIGHTS) -> dict:
    """The card saved with the weights (what they were trained on)."""
    with np.load(path) as f:
        return json.loads(str(f["card"]))


def qrs_bounds_net(ecg: np.ndarray, fs: float, r_peaks: np.ndarray,
                   weights: str | Path = DEFAULT_WEIGHTS,
                   chunk: int = NET_CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """QRS onset and offset (sample indices) of each R peak, from the network.

    The onset is kept at or before the R peak and the offset at or after
    it, both within the signal.

    Examples
    --------
    >>> from ecgtool.io.records import read_sample
    >>> rec = read_sample("119")
    >>> r = rec.annotations.sample[1:4]
    >>> on, off = qrs_bounds_net(rec.signal, rec.fs, r)
    >>> bool(np.all((on < r) & (r < off)))
    True
    """
    r = np.asarray(r_peaks, dtype=np.int64)
    out = net_outputs(ecg, fs, r, weights, _windows, forward, 2, chunk)
    at = r[:, None] + np.round(out * (fs / 1000.0)).astype(np.int64)
    onset = np.clip(np.minimum(at[:, 0], r), 0, len(ecg) - 1)
    offset = np.clip(np.maximum(at[:, 1], r), 0, len(ecg) - 1)
    return onset, offset
