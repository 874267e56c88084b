"""R peaks in noise: a higher band's beats where the judge reads them better.

Electrode motion and other noise of the body's movement lie in the QRS
filter's own band (7-17 Hz at -3 dB at the default settings, at 360 Hz),
where the detector takes its peaks for beats or lets its threshold rise over
the beats. A higher band (moving means of 8 ms low-pass, 30 ms high-pass,
100 ms integration: 25-58 Hz at 360 Hz; :class:`NoiseBand`) keeps less of
that noise and less of a wide QRS as well, so it cannot replace the default band: on
clean records it misses wide beats the default finds.

So, in noisy stretches only, the detector runs again on the same lead with
the high band, and the two streams of R peaks are fused as two leads are
(:mod:`ecgtool.signal.leads`): in each 3-s window where they disagree, the
same judge reads both streams' quality there and the window takes the
high band's beats where it gives them a probability over
:attr:`NoiseBand.judge_p`. A stretch is noisy where the
QRS feature's median over a 3-s window (its background: beats fill less
than half of it) is over :attr:`NoiseBand.gate` times the beats' level
around it (the median, over 11 windows, of each window's median feature at
its R peaks); it is widened
by :attr:`NoiseBand.spread_windows` windows on either side, and the high
band's detector reads :attr:`NoiseBand.pad_s` more on either side, so that
its thresholds have settled where the stretch begins. Clean records have
few such stretches, and the second pass costs them little.

The band and the gate were chosen on MIT-BIH DS1 clean, its paced records
and DS1 with band-limited Gaussian noise bursts (``benchmarks/detect_noise.py``);
the noise stress test and the real electrode-motion rows were scored
afterwards (see ``docs/accuracy.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ecgtool.signal._twins import compiled


@dataclass(frozen=True)
class NoiseBand:
    """The high band read again in noisy stretches, and what makes a
    stretch noisy (see the module).

    Attributes
    ----------
    lowpass_ms, highpass_ms, integration_ms : float
        The high band's filter windows (as
        :class:`ecgtool.signal.detect.DetectorSettings` names them).
    gate : float
        A 3-s window is noisy where the QRS feature's median there is over
        this many times the beats' level around it.
    spread_windows : int
        Windows on either side of a noisy one read again too.
    pad_s : float
        Signal read on either side of a stretch, for the high band's
        thresholds to settle.
    judge_p : float
        The judge's probability over which a window takes the high band's
        beats: 0.5, the lowest of 0.4-0.7 that cost the choosing sets' clean
        and paced records no error (two leads keep 0.7, see
        :data:`ecgtool.signal.leads.SECOND_LEAD_P`).
    """

    lowpass_ms: float = 8.0
    highpass_ms: float = 30.0
    integration_ms: float = 100.0
    gate: float = 0.1
    spread_windows: int = 1
    pad_s: float = 10.0
    judge_p: float = 0.5


DEFAULT_NOISE_BAND = NoiseBand()
#: Windows on either side whose beats set a window's beat level.
_LEVEL_WINDOWS = 5


def noisy_windows(feat: np.ndarray, step: int, r_peaks: np.ndarray, n: int,
                  fs: float, gate: float, backend: str = "c") -> np.ndarray:
    """Per 3-s window of a signal of ``n`` samples, whether the QRS feature's
    median there is over ``gate`` times the beats' level around it (see the
    module); True too where no beat lies within :data:`_LEVEL_WINDOWS`
    windows, with nothing to compare with.

    ``feat`` is the feature at the processing rate (one value every
    ``step`` samples), ``r_peaks`` the R peaks found on it. Compiled
    (``_core._noisy_windows``); ``backend="python"`` runs its numpy twin.

    Examples
    --------
    >>> feat = np.full(1000, 0.01); feat[100::200] = 1.0       # 4 s at 250 Hz
    >>> r = np.arange(100, 1000, 200)
    >>> noisy_windows(feat, 1, r, 1000, 250.0, 0.1).tolist()
    [False, False]
    >>> noisy_windows(feat, 1, r, 1000, 250.0, 0.005).tolist()
    [True, True]
    """
    from ecgtool.signal.leads import WINDOW_S, _group_quantile

    w = int(round(WINDOW_S * fs))
    n_win = max(1, -(-n // w))
    r = np.asarray(r_peaks, dtype=np.int64)
    feat = np.ascontiguousarray(feat, dtype=np.float64)
    level = _group_quantile(feat[np.minimum(r // step, feat.size - 1)],
                            np.minimum(r // w, n_win - 1), n_win, 0.5)
    if not np.isfinite(level).any():
        return np.ones(n_win, dtype=bool)
    if not compiled(backend):
        from ecgtool.signal._twins import noisy_windows as twin

        return twin(feat, step, level, w, gate, _LEVEL_WINDOWS)
    from ecgtool import _core

    out = np.zeros(n_win, dtype=bool)
    _core._noisy_windows(feat, int(step), level, w, float(gate), _LEVEL_WINDOWS,
                         out.view(np.uint8))
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    # (first, end) of each run of True.
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _bridged(mask: np.ndarray, gap: int) -> np.ndarray:
    # ``mask`` with its runs of False shorter than ``gap`` between two runs
    # of True made True.
    out = mask.copy()
    edges = _runs(~mask)
    for a, b in edges:
        if 0 < a and b < mask.size and b - a < gap:
            out[a:b] = True
    return out


def refine_in_noise(x: np.ndarray, fs: float, r_peaks: np.ndarray, feat: np.ndarray,
                    step: int, settings, backend: str = "c") -> np.ndarray:
    """``r_peaks`` (found on ``x`` with ``settings``, whose QRS feature is
    ``feat``) with the high band's beats instead in the noisy windows where
    the judge reads those better (see the module).

    Examples
    --------
    >>> from scipy.signal import butter, sosfiltfilt
    >>> from ecgtool.io.records import read_sample
    >>> from ecgtool.signal.detect import DEFAULT_SETTINGS, find_r_peaks
    >>> x = read_sample("119").signal[:108000]                 # 5 min, 326 beats
    >>> noise = sosfiltfilt(butter(2, [0.5, 16], "band", fs=360, output="sos"),
    ...                     np.random.default_rng(0).normal(size=x.size))
    >>> x = x + np.r_[np.zeros(36000), 0.3 * noise[36000:] / noise.std()]  # motion after 100 s
    >>> off = replace(DEFAULT_SETTINGS, noise_band=None)
    >>> find_r_peaks(x, 360.0, off).size, find_r_peaks(x, 360.0).size
    (363, 333)
    """
    from ecgtool.signal.detect import _one_band
    from ecgtool.signal.leads import (WINDOW_S, disagreeing_windows, judge_windows,
                                      take_windows)

    band = settings.noise_band
    n = x.size
    w = int(round(WINDOW_S * fs))
    n_win = max(1, -(-n // w))
    noisy = noisy_windows(feat, step, r_peaks, n, fs, band.gate, backend)
    if band.spread_windows:
        noisy = np.convolve(noisy, np.ones(2 * band.spread_windows + 1), "same") > 0
    if not noisy.any():
        return r_peaks
    high = replace(settings, lowpass_ms=band.lowpass_ms, highpass_ms=band.highpass_ms,
                   integration_ms=band.integration_ms, noise_band=None)
    pad = int(band.pad_s * fs)
    found = []
    # The high band's feature where it was read (nothing else of it is
    # measured: the judged windows lie inside the stretches).
    high_feat = np.empty(feat.size)
    # Stretches nearer than their padding are read in one pass.
    for k0, k1 in _runs(_bridged(noisy, 2 + 2 * -(-pad // w))):
        a, b = k0 * w, min(k1 * w, n)
        lo, hi = max(0, a - pad) // step * step, min(n, b + pad)
        pb, f, _ = _one_band(x[lo:hi], fs, high, backend)
        high_feat[lo // step:lo // step + f.size] = f[:feat.size - lo // step]
        pb = pb + lo
        found.append(pb[(pb >= a) & (pb < b)])
    pb = np.concatenate(found)
    judged = disagreeing_windows(r_peaks, pb, fs, n_win)
    judged = judged[noisy[judged]]
    if judged.size == 0:
        return r_peaks
    use = np.zeros(n_win, dtype=bool)
    use[judged] = judge_windows(x, x, fs, r_peaks, pb, judged, settings, high,
                                (feat, step), (high_feat, step), band.judge_p, backend)
    return take_windows(r_peaks, pb, use, fs, settings.refractory_ms).r_peak
