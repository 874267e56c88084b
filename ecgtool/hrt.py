"""Heart-rate turbulence: how sinus rhythm answers a premature ventricular beat.

After a PVC and its compensatory pause a healthy sinus node speeds up for a
beat or two and then slows down (a baroreflex answer); a blunted answer
predicts mortality after myocardial infarction (Schmidt et al., Lancet
1999;353:1390-1396). The two measures and the filters are those of the
method's authors (h-r-t.org):

* turbulence onset (TO): ``((RR1 + RR2) - (RR-2 + RR-1)) / (RR-2 + RR-1)``
  in %, the two sinus intervals after the pause against the two before the
  PVC, for each PVC, then averaged; normal below 0 %;
* turbulence slope (TS): the steepest slope of a regression line through 5
  consecutive intervals among the 15 after the pause, on the tachogram
  averaged over the PVCs, in ms per RR interval; normal above 2.5.

A PVC counts when it is labelled V, comes at least 20 % early against the
mean of the 5 sinus intervals before it (the reference), its pause is at
least 20 % longer than the reference, the 5 intervals before and the 15
after the pause join normal beats (N), and each of those lies within
300-2000 ms, within 200 ms of the one before it and within 20 % of the
reference, and crosses no unreadable stretch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtool.rr import clear_intervals

#: Sinus intervals before the PVC (the reference), and after its pause.
BEFORE, AFTER = 5, 15


@dataclass(frozen=True)
class Turbulence:
    """Heart-rate turbulence of one record (NaN measures where no PVC qualified).

    Attributes
    ----------
    n_pvcs : int
        PVCs that met the filters.
    onset_pct : float
        Turbulence onset, mean over those PVCs (%).
    slope_ms : float
        Turbulence slope of their averaged tachogram (ms per RR interval).
    """

    n_pvcs: int
    onset_pct: float
    slope_ms: float


def _steady(rr: np.ndarray, reference: float) -> bool:
    return bool(np.all((rr >= 300) & (rr <= 2000)) and np.all(np.abs(np.diff(rr)) <= 200)
                and np.all(np.abs(rr - reference) <= 0.2 * reference))


def heart_rate_turbulence(times_s: np.ndarray, labels: np.ndarray,
                          noise: list | None = None) -> Turbulence:
    """Turbulence onset and slope of a record's isolated PVCs.

    Parameters
    ----------
    times_s : numpy.ndarray
        Beat times (s).
    labels : numpy.ndarray
        AAMI class per beat.
    noise : list of (start_s, end_s), optional
        Unreadable stretches.

    Examples
    --------
    >>> # Sinus at 1 s; a PVC 40 % early, a long pause, two quicker beats,
    >>> # then intervals lengthening by 20 ms a beat.
    >>> rr = [1000] * 8 + [600, 1400, 960, 960] + [980 + 20 * k for k in range(5)] + [1060] * 10
    >>> t = np.cumsum(np.r_[0, rr]) / 1000.0
    >>> lab = np.full(t.size, "N"); lab[9] = "V"
    >>> h = heart_rate_turbulence(t, lab)
    >>> h.n_pvcs, round(h.onset_pct, 1), round(h.slope_ms, 1)
    (1, -4.0, 20.0)
    """
    t = np.asarray(times_s, dtype=float)
    lab = np.asarray(labels)
    rr = np.diff(t) * 1000.0
    clear = clear_intervals(t, noise)
    onsets, tachograms = [], []
    normal = lab == "N"
    for p in np.flatnonzero(lab == "V"):
        # Beats p-6..p-1 and p+1..p+16 normal: intervals rr[p-6:p-1] before
        # the PVC, the coupling rr[p-1], the pause rr[p], rr[p+1:p+16] after.
        lo, hi = p - BEFORE - 1, p + AFTER + 1
        if lo < 0 or hi >= t.size or not (normal[lo:p].all() and normal[p + 1:hi + 1].all()):
            continue
        if not clear[lo:hi].all():
            continue
        before, after = rr[lo:p - 1], rr[p + 1:hi]
        reference = float(before.mean())
        if rr[p - 1] > 0.8 * reference or rr[p] < 1.2 * reference:
            continue
        if not (_steady(before, reference) and _steady(after, reference)):
            continue
        onsets.append(100.0 * ((after[0] + after[1]) - (before[-2] + before[-1]))
                      / (before[-2] + before[-1]))
        tachograms.append(after)
    if not onsets:
        return Turbulence(0, float("nan"), float("nan"))
    mean = np.mean(tachograms, axis=0)
    x = np.arange(5) - 2.0
    slopes = [float(np.dot(x, mean[k:k + 5]) / np.dot(x, x)) for k in range(AFTER - 4)]
    return Turbulence(len(onsets), float(np.mean(onsets)), max(slopes))
