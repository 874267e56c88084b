"""The QRS-enhancing filter chain and its design.

The chain follows Pan & Tompkins (1985): band-pass, derivative, squaring and
moving-window integration. Every stage is a centred moving mean (or a central
difference), so the chain is linear-phase, adds no delay, and costs O(1) per
sample whatever the window. The widths are set in milliseconds and turned
into samples here, which is what makes the detector rate-agnostic. After the
low-pass, the signal is kept at a processing rate of 180 Hz or more (every
``step``-th sample): QRS energy lies below 40 Hz, and a 1000 Hz record then
costs little more than a 200 Hz one. Rates up to 10 kHz (amplifiers that
sample fast for pacemaker spikes, EDF/BDF files at 2048 Hz) are read as they
are.

References
----------
Pan J, Tompkins WJ. A real-time QRS detection algorithm. IEEE Trans Biomed
Eng 1985;32(3):230-236.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtool.signal._twins import compiled

MIN_FS = 100.0
MAX_FS = 10000.0
#: Lowest processing rate after decimation (Hz).
PROCESSING_FS = 180.0


@dataclass(frozen=True)
class QrsFilterDesign:
    """Widths (in samples) of the moving means that make up the filter chain.

    Attributes
    ----------
    fs : float
        Sampling rate of the input (Hz).
    step : int
        Decimation after the low-pass: the processing rate is ``fs / step``.
    lp_half, hp_half, int_half : int
        Half-widths: the low-pass (applied twice, in input samples), the
        high-pass baseline and the integration window (in processing-rate
        samples) are ``2*half+1`` samples long.
    scale : float
        Multiplies the central difference so that it is in units per second.
    """

    fs: float
    step: int
    lp_half: int
    hp_half: int
    int_half: int
    scale: float


@dataclass(frozen=True)
class QrsFiltered:
    """Output of :func:`qrs_filter`.

    Attributes
    ----------
    band : numpy.ndarray
        The band-passed ECG (about 6-13 Hz), same units as the input, at the
        processing rate.
    feature : numpy.ndarray
        The integrated squared slope of ``band``: peaks at each QRS complex.
    step : int
        ``band[j]`` and ``feature[j]`` belong to input sample ``j * step``.
    """

    band: np.ndarray
    feature: np.ndarray
    step: int


def moving_mean(x: np.ndarray, half: int) -> np.ndarray:
    """Centred mean over ``2*half+1`` samples, edges repeating the end samples.

    A running sum (``ecgtool._core._moving_mean_1d``, the filter chain's own
    loop): one pass over the signal, where the numpy form
    (``ecgtool.signal._twins.moving_mean``, a cumulative sum) makes four.
    Non-finite input goes to the numpy form.

    Examples
    --------
    >>> moving_mean(np.array([0.0, 3.0, 0.0, 3.0]), 1).tolist()
    [1.0, 1.0, 2.0, 2.0]
    """
    if half < 0:
        raise ValueError("moving_mean needs a half-width of at least 0")
    return _series(x, half, "_moving_mean_1d", "moving_mean")


def sample_at(x: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``x`` read at fractional sample positions ``at`` (any shape), linearly
    interpolated, positions beyond the ends taking the end values.

    The values of ``np.interp(at, np.arange(x.size), x)``, without the index
    array and the binary searches: for a day-long recording that array was
    250 MB per chunk of beats, and the searches a third of ``detect``'s time.

    Examples
    --------
    >>> x = np.array([0.0, 10.0, 20.0, 40.0])
    >>> sample_at(x, np.array([-1.0, 0.5, 2.25, 3.0, 7.0])).tolist()
    [0.0, 5.0, 25.0, 40.0, 40.0]
    """
    x = np.asarray(x, dtype=np.float64)
    at = np.asarray(at, dtype=np.float64)
    if x.size < 2:
        return np.full(at.shape, x[0] if x.size else np.nan)
    pos = np.clip(at, 0.0, x.size - 1.0)
    i = np.minimum(pos.astype(np.intp), x.size - 2)
    left = x[i]
    # np.interp's arithmetic (slope times distance plus the left value, and
    # the last value itself at the end), so that the values are its values
    # to the last bit.
    out = (x[i + 1] - left) * (pos - i) + left
    out[pos == x.size - 1] = x[-1]
    return out


def median_filter(x: np.ndarray, size: int) -> np.ndarray:
    """Running median of a series: each value's ``size`` neighbours, ends repeated.

    Gives what ``scipy.ndimage.median_filter(x, size, mode="nearest")`` gives
    (for an even ``size`` the upper of the two middle values, the window
    starting ``size // 2`` before each value) without importing
    ``scipy.ndimage``, which costs a command 0.3-0.5 s. Compiled
    (``ecgtool._core._running_rank``); non-finite input goes to the numpy twin.

    Examples
    --------
    >>> median_filter(np.array([1.0, 9.0, 2.0, 3.0, 4.0]), 3).tolist()
    [1.0, 2.0, 3.0, 3.0, 4.0]
    """
    if size < 1:
        raise ValueError("median_filter needs a size of at least 1")
    return _series(x, size, "_running_rank", "running_rank")


def inner_median(x: np.ndarray, size: int) -> np.ndarray:
    """Running median of a series whose windows stay inside it: near an end,
    the median of the first (or last) ``size`` values, where
    :func:`median_filter` fills its windows with repeats of the end value.

    Where the median stands for the local rhythm, repeats of an end value
    make an end interval that is off the rhythm its own reference: a
    premature beat at the end of a 10-second ECG, which has no pause after it
    to tell it by, had passed as a normal interval and doubled its SDNN.

    Examples
    --------
    >>> inner_median(np.array([1000.0, 990, 1010, 1000, 500, 1020]), 5).tolist()
    [1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0]
    """
    x = np.asarray(x, dtype=float)
    out = median_filter(x, size)
    # The windows of median_filter (from size // 2 before each value), those
    # that would run past an end moved inside: the first (last) size values.
    # Those are two windows, one at each end, each sorted once.
    h, n = size // 2, x.size
    for ends, a in ((np.arange(min(h, n)), 0),
                    (np.arange(max(h, n - (size - h) + 1), n), max(n - size, 0))):
        if ends.size:
            w = np.sort(x[a:a + size])
            out[ends] = w[w.size // 2]  # of two middle values the upper, as median_filter
    return out


def _series(x: np.ndarray, n: int, kernel: str, twin: str) -> np.ndarray:
    # One series through a compiled kernel ``_core.<kernel>(x, n, out)``; the
    # checks and the copy live here, and non-finite input goes to its numpy
    # twin ``_twins.<twin>(x, n)``, which handles NaN as numpy does.
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"needs a 1-D series, not {x.ndim}-D")
    if x.size == 0:
        return x.copy()
    if not np.isfinite(x).all():
        from ecgtool.signal import _twins

        return getattr(_twins, twin)(x, n)
    from ecgtool import _core

    out = np.empty_like(x)
    getattr(_core, kernel)(x, int(n), out)
    return out


def _half(ms: float, fs: float) -> int:
    return max(0, int(round(ms * fs / 1000.0)) // 2)


def design_qrs_filter(fs: float, lowpass_ms: float = 25.0, highpass_ms: float = 100.0,
                      integration_ms: float = 150.0) -> QrsFilterDesign:
    """Turn window lengths in milliseconds into the chain's sample widths.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    lowpass_ms : float
        Length of each of the two low-pass moving means; 25 ms puts the
        -3 dB point near 13 Hz, close to Pan & Tompkins' 200 Hz filter.
    highpass_ms : float
        Length of the moving mean subtracted to remove baseline and most of
        the T wave (cut near 6 Hz).
    integration_ms : float
        Length of the moving-window integrator (about one wide QRS).

    Returns
    -------
    QrsFilterDesign

    Examples
    --------
    >>> d = design_qrs_filter(360.0)
    >>> d.step, d.int_half
    (2, 13)
    """
    step = max(1, int(fs // PROCESSING_FS))
    fp = fs / step
    return QrsFilterDesign(fs=float(fs), step=step, lp_half=_half(lowpass_ms, fs),
                           hp_half=_half(highpass_ms, fp),
                           int_half=_half(integration_ms, fp), scale=fp / 2.0)


def qrs_filter(ecg: np.ndarray, fs: float, design: QrsFilterDesign | None = None,
               backend: str = "c") -> QrsFiltered:
    """Band-pass the ECG and compute the QRS feature signal.

    Parameters
    ----------
    ecg : numpy.ndarray
        One lead, finite values, in mV.
    fs : float
        Sampling rate in Hz.
    design : QrsFilterDesign, optional
        Defaults to :func:`design_qrs_filter` ``(fs)``.
    backend : {"c", "python"}
        The compiled kernel or its numpy twin (same result to rounding).

    Returns
    -------
    QrsFiltered

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros(720); x[360] = 1.0
    >>> out = qrs_filter(x, 360.0)
    >>> int(np.argmax(out.feature)) * out.step
    360
    """
    design = design or design_qrs_filter(fs)
    x = np.ascontiguousarray(ecg, dtype=np.float64)
    if x.ndim != 1 or x.size < 3:
        raise ValueError("qrs_filter needs a 1-D signal of at least 3 samples")
    d = design
    if compiled(backend):
        from ecgtool import _core

        m = (x.size + d.step - 1) // d.step
        band = np.empty(m)
        feature = np.empty(m)
        _core._qrs_filter(x, d.step, d.lp_half, d.hp_half, d.int_half, d.scale, band,
                          feature)
    else:
        from ecgtool.signal._twins import qrs_filter as twin

        band, feature = twin(x, d.step, d.lp_half, d.hp_half, d.int_half, d.scale)
    return QrsFiltered(band=band, feature=feature, step=d.step)
