"""Detections that split a regular R-R interval in two: artefacts, not beats.

Noise (electrode motion, muscle) makes a detector fire between two beats. A
real early beat (a premature atrial or ventricular one) is usually followed
by a pause, so that it and the next beat do not fit in one normal interval;
an interpolated ventricular beat, which does fit, has a large QRS. A
detection that is early, fits with the next beat into about one local
interval, is smaller than its neighbours and sits in a regular rhythm is
therefore dropped, provided the rhythm resumes after it: the interval that
follows the next beat is not early either (at the onset of atrial
fibrillation, the first short intervals follow a regular rhythm, and the
ones after them are short too). In an irregular rhythm (atrial
fibrillation, frequent ectopy) nothing is dropped: timing says nothing there.

The false detections of every annotated database in the shared data
(noise-stress records included) showed the pattern; the thresholds were
then chosen by a grid search on MIT-BIH DS1, its paced records and the QT
database only (most false detections dropped per true beat lost), and the
noise-stress, SVDB and CPSC 2021 records were only scored. The condition
that the rhythm resumes came after CPSC 2021 showed a true beat dropped at
an AF onset (and that episode lost); on the records that chose the
thresholds it keeps one false detection more (drops 30, not 31), and on the
12 dB noise-stress record it keeps 5 of the 43 the rule dropped without it.
Once the rule ran in passes (see :func:`split_interval_artefacts`) the grid
was searched again: the best thresholds there (span 1.1, amplitude 0.85)
would drop 4 more false detections and one true beat fewer on those
records, but one false detection more on the paced ones; the thresholds
were kept. The counts above were measured before the detector's threshold
rose with the noise (``DetectorSettings.noise_gain``); with it, the 12 dB
noise-stress record holds 75 false detections without this rule and 47
with it.

Two detections can also end up closer than the refractory period: the
detector keeps its peaks apart in the filtered signal, but each is then moved
to the extremum of the raw waveform near it, and a noise burst or a T wave
beside a beat can move towards it. Of the 151,000 reference beats of the
annotated records with signals in the shared data (MIT-BIH, noise stress,
SVDB, CPSC 2021, QT) no two lie under 200 ms apart (6 pairs under 250 ms; the
Long-Term AF Database's beat labels have 14 such pairs in 4.3 million), so one
of the two is dropped (:func:`closer_than`): the smaller QRS,
which was the false one in all 11 such pairs of MIT-BIH DS1 and its paced
records that held a beat (22 more, in ventricular flutter, held none; 30 and
5 false detections fewer, no beat lost; QT database 4 fewer
for 2 beats lost, CPSC 2021 4 for 1). In 0 dB noise the size says little
(the larger was the noise in 31 of 52 pairs): 28 false detections fewer for
23 beats lost, F1 83.6 % before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtool.signal._twins import compiled

#: Intervals each side (beside the beat's own two), and QRS amplitudes each
#: side, that make a detection's local context.
RR_CONTEXT = 5
AMP_CONTEXT = 8


@dataclass(frozen=True)
class SplitRule:
    """When a detection that splits an interval is dropped.

    Attributes
    ----------
    span : float
        The intervals before and after it add up to less than this many
        local median intervals.
    early : float
        The interval before it is shorter than this many local medians, and
        the interval after the next beat is not.
    amplitude : float
        Its band-passed QRS amplitude is below this fraction of the median
        of its neighbours'.
    irregularity : float
        The rhythm around it is regular: the median absolute difference of
        successive context intervals, over their median, is below this.
    """

    span: float = 1.2
    early: float = 0.8
    amplitude: float = 0.8
    irregularity: float = 0.08


DEFAULT_SPLIT_RULE = SplitRule()


def _middle(rows: np.ndarray) -> np.ndarray:
    # Row medians through a sort: several times faster than np.median on
    # many short rows.
    s = np.sort(rows, axis=1)
    m = s.shape[1]
    return s[:, (m - 1) // 2] if m % 2 else 0.5 * (s[:, m // 2 - 1] + s[:, m // 2])


def split_interval_artefacts(r_peaks: np.ndarray, qrs_amp: np.ndarray, fs: float,
                             rule: SplitRule = DEFAULT_SPLIT_RULE,
                             backend: str = "c") -> np.ndarray:
    """Mask of the detections that split a regular R-R interval (see the module).

    Parameters
    ----------
    r_peaks : numpy.ndarray
        Sorted R-peak indices.
    qrs_amp : numpy.ndarray
        Each detection's QRS amplitude (any positive scale, e.g. the largest
        absolute band-passed value near it).
    fs : float
        Sampling rate (Hz).
    rule : SplitRule
        Thresholds.
    backend : {"c", "python"}
        The compiled rule (``ecgtool._core._split_rule``) or its numpy twin.

    Returns
    -------
    numpy.ndarray
        bool, True for detections to drop.

    Notes
    -----
    The rule is applied in passes until one drops nothing. Within a pass,
    of two flagged neighbours only the first goes; the second is judged
    again in the next pass, in a context without the first. A burst of
    noise leaves several false detections in a row, each making the others'
    context look irregular; passes remove them one by one (on the 12 dB
    noise-stress record, 62 false detections left after one pass, 56 after
    all; MIT-BIH DS1 and paced 4 and 1 fewer; no beat lost on any annotated
    record in the shared data).

    Examples
    --------
    >>> r = np.arange(20) * 360
    >>> r = np.sort(np.append(r, 10 * 360 + 150))   # something between beats 10 and 11
    >>> amp = np.ones(r.size); amp[11] = 0.3
    >>> np.flatnonzero(split_interval_artefacts(r, amp, 360.0)).tolist()
    [11]
    >>> amp[11] = 1.5                                # as large as a ventricular beat
    >>> np.flatnonzero(split_interval_artefacts(r, amp, 360.0)).tolist()
    []
    """
    if not compiled(backend):
        from ecgtool.signal._twins import split_pass

        return _in_passes(split_pass, r_peaks, qrs_amp, fs, rule)
    from ecgtool import _core

    r = np.ascontiguousarray(r_peaks, dtype=np.intp)
    drop = np.zeros(r.size, dtype=bool)
    _core._split_rule(r, np.ascontiguousarray(qrs_amp, dtype=np.float64), float(fs), rule.span,
                      rule.early, rule.amplitude, rule.irregularity, drop.view(np.uint8))
    return drop


def _in_passes(one_pass, r_peaks, qrs_amp, *args) -> np.ndarray:
    # Drop mask of one_pass(r, amp, *args) applied to the detections left by
    # the passes before it, until a pass drops nothing.
    r = np.asarray(r_peaks, dtype=np.int64)
    amp = np.asarray(qrs_amp, dtype=np.float64)
    drop = np.zeros(r.size, dtype=bool)
    alive = np.arange(r.size)
    while True:
        hit = one_pass(r[alive], amp[alive], *args)
        if not hit.any():
            return drop
        drop[alive[hit]] = True
        alive = alive[~hit]


def closer_than(r_peaks: np.ndarray, qrs_amp: np.ndarray, min_gap: int,
                backend: str = "c") -> np.ndarray:
    """Mask of the smaller detection of every pair closer than ``min_gap`` samples.

    Pairs are settled from the left; in a chain of close detections the
    survivor of one pair is compared again with the next.

    Parameters
    ----------
    r_peaks : numpy.ndarray
        Sorted R-peak indices.
    qrs_amp : numpy.ndarray
        Each detection's QRS amplitude (on a tie the earlier one stays).
    min_gap : int
        Fewest samples between two beats (the refractory period).
    backend : {"c", "python"}
        One compiled sweep (``ecgtool._core._closer_than``) or its numpy
        twin, which settles the first pair of each chain in passes.

    Returns
    -------
    numpy.ndarray
        bool, True for detections to drop; the ones left are >= ``min_gap`` apart.

    Examples
    --------
    >>> r = np.array([0, 360, 400, 720, 760, 790])
    >>> amp = np.array([1.0, 1.0, 0.4, 0.3, 1.0, 0.5])
    >>> np.flatnonzero(closer_than(r, amp, 72)).tolist()
    [2, 3, 5]
    """
    if not compiled(backend):
        from ecgtool.signal._twins import close_pass

        return _in_passes(close_pass, r_peaks, qrs_amp, min_gap)
    from ecgtool import _core

    r = np.ascontiguousarray(r_peaks, dtype=np.intp)
    drop = np.zeros(r.size, dtype=bool)
    _core._closer_than(r, np.ascontiguousarray(qrs_amp, dtype=np.float64), int(min_gap),
                       drop.view(np.uint8))
    return drop

