"""Sample times in a text export: which column holds them, in what unit, and
the sampling rate they give (with the samples a wireless sensor lost placed
by their times)."""

from __future__ import annotations

import re

import numpy as np

from ecgtool.errors import EcgToolError

#: Column names that hold sample times, not a lead ("Elapsed time": PhysioNet's
#: rdsamp and ATM exports).
TIME_COLUMNS = ("time", "time_s", "t", "seconds", "elapsed time", "timestamp")
#: Seconds per unit of a time column's unit ("time [ms]").
_TIME_UNITS = {"s": 1.0, "sec": 1.0, "seconds": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6,
               "ns": 1e-9}


def time_unit(name: str) -> float | None:
    """Seconds per unit of the column ``name`` if it holds sample times
    (``time``, ``Time (s)``, ``time [ms]``), else None.

    Examples
    --------
    >>> time_unit("Time (s)"), time_unit("time [ms]"), time_unit("elapsed time"), time_unit("II")
    (1.0, 0.001, 1.0, None)
    """
    n = name.strip().lower()
    m = re.fullmatch(r"(.*?)\s*[(\[]\s*(\w+)\s*[)\]]", n)
    base, unit = (m.group(1), m.group(2)) if m and m.group(2) in _TIME_UNITS else (n, "s")
    if base == "time_ms":
        base, unit = "time", "ms"
    return _TIME_UNITS[unit] if base in TIME_COLUMNS else None


def time_column(names: list[str]) -> int | None:
    """Index of the column of sample times among ``names`` (None if none)."""
    return next((i for i, n in enumerate(names) if time_unit(n) is not None), None)


def rate_from_times(t: np.ndarray, shown: str = "", first_line: int = 1) -> float:
    """Sampling rate (Hz) of evenly spaced sample times (s): from the whole
    span, not from one step, since a time printed with few decimals rounds
    each step (at 360 Hz to three decimals, steps of 2 and 3 ms: the
    median step said 333 Hz). A rate within 0.01 Hz of a whole number is
    that number. ``first_line`` is the file line of ``t[0]``, for errors.

    Examples
    --------
    >>> rate_from_times(np.round(np.arange(3600) / 360.0, 3))
    360.0
    >>> rate_from_times(np.r_[0.0, 0.004, 0.008, 0.5, 0.504])
    Traceback (most recent call last):
    ...
    ecgtool.errors.EcgToolError: time column is not evenly spaced (a gap or a jump at line 4): give one signal at one rate
    """
    t = np.asarray(t, dtype=np.float64)
    step = np.diff(t)
    bad = np.flatnonzero(~(step > 0))
    if bad.size:
        raise EcgToolError(f"time column does not increase at line {first_line + bad[0] + 1} "
                           "(or has too few decimals for its rate)", shown)
    fs = (t.size - 1) / (t[-1] - t[0])
    # Each time printed to a coarser resolution than the step still lies
    # within half a step of the straight line; a gap or a jump does not.
    off = np.abs(t - (t[0] + np.arange(t.size) / fs))
    if off.max() > 0.5 / fs:
        line = first_line + int(np.argmax(np.abs(step - 1.0 / fs))) + 1
        raise EcgToolError("time column is not evenly spaced (a gap or a jump at line "
                           f"{line}): give one signal at one rate", shown)
    return float(round(fs)) if abs(fs - round(fs)) < 0.01 else round(fs, 6)


def times_on_grid(t: np.ndarray, shown: str = "",
                  first_line: int = 1) -> tuple[float, np.ndarray | None]:
    """Sampling rate (Hz) of sample times ``t`` (s), and each sample's place
    on the rate's grid where samples are missing (None where none is).

    Samples may be missing between stretches that are each evenly spaced
    (a wireless sensor's lost packets): the rate comes from the stretches,
    each is placed at its first time, to the nearest sample, and what lies
    between them is left to the caller to mark unreadable. Missing time
    beyond the time recorded, or a stretch whose start falls on samples
    already placed, is an error, as are uneven steps (:func:`rate_from_times`).

    Examples
    --------
    >>> t = np.r_[np.arange(300), np.arange(310, 600)] / 100.0
    >>> fs, where = times_on_grid(t)
    >>> fs, where[298:302].tolist()
    (100.0, [298, 299, 310, 311])
    >>> times_on_grid(np.arange(5) / 250.0)
    (250.0, None)
    """
    t = np.asarray(t, dtype=np.float64)
    step = np.diff(t)
    if step.size and np.all(step > 0):
        gaps = np.flatnonzero(step > 1.5 * np.median(step))
    else:
        gaps = np.zeros(0, dtype=np.int64)
    if not gaps.size:
        return rate_from_times(t, shown, first_line), None
    starts, ends = np.r_[0, gaps + 1], np.r_[gaps + 1, t.size]
    spans = t[ends - 1] - t[starts]
    fs = float((ends - starts - 1).sum() / spans.sum())
    fs = float(round(fs)) if abs(fs - round(fs)) < 0.01 else round(fs, 6)
    where = np.empty(t.size, dtype=np.int64)
    for a, b in zip(starts, ends):
        # Each stretch on its own: evenly spaced at the common rate.
        off = np.abs(t[a:b] - t[a] - np.arange(b - a) / fs)
        if off.max() > 0.5 / fs:
            line = first_line + a + int(np.argmax(off))
            raise EcgToolError("time column is not evenly spaced (a jump at line "
                               f"{line}): give one signal at one rate, or --fs", shown)
        where[a:b] = round((t[a] - t[0]) * fs) + np.arange(b - a)
        if a and where[a] <= where[a - 1]:
            raise EcgToolError(f"time column jumps by less than a sample at line "
                               f"{first_line + a}: give one signal at one rate", shown)
    if where[-1] + 1 > 2 * t.size:
        raise EcgToolError(f"time column misses more time than it holds ({where[-1] + 1 - t.size}"
                           f" samples missing, {t.size} present): give one recording", shown)
    return fs, where
