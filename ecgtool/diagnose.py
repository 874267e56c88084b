"""Per-record summary and verdict: is this recording abnormal, and why.

The summary gathers rate and variability, beat-class counts and burdens,
V and S beats alone, in couplets and in runs (:func:`ecgtool.beats.labels.ectopy_groups`),
rhythm episodes and signal quality. The verdict is ``abnormal`` when any
finding crosses its threshold (:class:`Thresholds`, all overridable), each
finding with its evidence (times, counts); otherwise ``normal``, or
``unreadable`` when too little of the record could be analysed to say so
(``min_analysed_s``). Readable signal without two heartbeats in it (a
``pause_s`` or more) is a finding, ``no_beats``: asystole, or a heart the
detector did not see.

Defaults follow common clinical reading: premature beats matter from 30 an
hour (or 10 % of beats); AF from 30 s; any run of 3 or more ventricular
beats faster than 100 bpm (non-sustained VT); pauses of 3 s; mean rate under
50 or over 100 bpm.

The conduction intervals (median PR, QRS, QT, QTc of the normal beats,
:mod:`ecgtool.intervals`) are reported wherever the beats were delineated,
but they judge the record only when asked (``qrs_wide_ms``, ``pr_long_ms``,
``qtc_long_ms``; 0 leaves the rule off): measured on one lead, the clinical
limits (QRS >= 120 ms, PR > 200 ms, QTc >= 470 ms) matched the LUDB and
CinC 2021 diagnoses too seldom to decide a verdict by default
(``benchmarks/diagnose.py``: wide QRS F1 0.42 on LUDB, 0 of 11 on the CinC
samples; long PR F1 0.32).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ecgtool.beats.labels import ectopy_groups
from ecgtool.beats.table import AAMI_CLASSES
from ecgtool.hrt import heart_rate_turbulence
from ecgtool.intervals import Intervals, conduction_intervals
from ecgtool.rhythm import Episodes
from ecgtool.rr import clear_intervals, in_spans, readable_beats
from ecgtool.variability import hrv


@dataclass(frozen=True)
class Thresholds:
    """When a finding makes a record abnormal (override any of them).

    Examples
    --------
    >>> from ecgtool.rhythm import find_rhythms
    >>> t = np.cumsum(np.full(120, 0.75))
    >>> lab = np.array(["N"] * 120); lab[::20] = "V"
    >>> ep = find_rhythms(t, lab)
    >>> [f.text for f in diagnose("r", 90.0, t, lab, ep).findings]
    ['PVC burden 5.0% (6 beats, 240/h)']
    >>> diagnose("r", 90.0, t, lab, ep, thresholds=Thresholds(pvc_per_hour=1000)).verdict
    'normal'
    """

    pvc_per_hour: float = 30.0
    pvc_burden_pct: float = 10.0
    pac_per_hour: float = 30.0
    pac_burden_pct: float = 10.0
    af_min_s: float = 30.0
    #: Seconds of ventricular flutter or fibrillation (read from the signal)
    #: that make a record abnormal: any.
    vf_min_s: float = 0.0
    vt_min_beats: int = 3
    svt_min_beats: int = 3
    #: Runs of V beats at 100 bpm or slower (idioventricular rhythm).
    ivr_min_beats: int = 3
    pause_s: float = 3.0
    brady_bpm: float = 50.0
    tachy_bpm: float = 100.0
    pattern_min_s: float = 30.0
    #: The per-hour rules of PVCs and PACs count only from this many beats:
    #: one PVC in a 10-s strip is 360 an hour. 1 keeps a single beat a
    #: finding (a 12-lead reader reports it); 2 or more asks for repetition.
    min_beats_per_hour_rule: int = 1
    #: Interval rules, off (0) unless set; clinical limits: 120, 200, 470 ms.
    qrs_wide_ms: float = 0.0
    pr_long_ms: float = 0.0
    qtc_long_ms: float = 0.0
    #: PR is judged only where P onsets were found in this share of normal beats.
    pr_min_p_found_pct: float = 50.0
    #: With less analysable signal than this (s), or than half of a shorter
    #: record, a record without findings is ``unreadable``, never ``normal``.
    min_analysed_s: float = 10.0

    @classmethod
    def with_overrides(cls, items: dict) -> "Thresholds":
        """The defaults with some thresholds given as text (``--threshold``):
        counts, rates, durations and shares, none negative or NaN (inf is
        "never", e.g. ``-t tachy_bpm=inf``)."""
        from ecgtool.settings import apply_overrides

        return apply_overrides(cls(), items, "threshold")


@dataclass(frozen=True)
class Finding:
    """One reason for the verdict."""

    code: str
    text: str
    start_s: float | None = None
    end_s: float | None = None


#: Columns of the one-row-per-record summary table (:meth:`Report.as_row`).
REPORT_COLUMNS = (("record", "verdict", "start_clock", "lead", "duration_s", "analysed_s",
                   "n_beats", "hr_mean", "hr_min", "hr_max", "hr_min_at_s", "hr_max_at_s",
                   "sdnn_ms", "rmssd_ms", "pnn50_pct", "sdann_ms", "sdnn_index_ms", "triangular_index",
                   "tinn_ms", "ulf_ms2", "vlf_ms2", "lf_ms2", "hf_ms2", "lf_hf",
                   "total_power_ms2", "nn_pct", "hrt_pvcs",
                   "hrt_onset_pct", "hrt_slope_ms")
                  + tuple(f"n_{c}" for c in AAMI_CLASSES)
                  + tuple(f"burden_{c}_pct" for c in AAMI_CLASSES)
                  + ("af_burden_pct", "af_longest_s", "vf_s", "vt_longest_beats", "v_couplets",
                     "v_runs", "v_run_longest", "s_couplets", "s_runs", "s_run_longest", "pauses",
                     "pause_longest_s", "noise_pct", "pr_ms", "qrs_ms", "qt_ms",
                     "qtc_fridericia_ms", "qtc_bazett_ms", "p_found_pct", "labelled",
                     "findings", "reasons"))


@dataclass
class Report:
    """Summary of one record.

    Where the beats were not classified (``labelled`` False: beat times or an
    unlabelled beats table), the class ``counts`` and ``burden_pct`` and
    ``vt_longest_beats`` were not measured and are None, not 0: the verdict
    then rests on rate, rhythm, pauses and intervals alone.

    ``n_beats`` counts every beat detected; ``counts`` and ``burden_pct``
    only those in readable signal (outside the unreadable stretches that
    ``noise_pct`` measures), where a beat's class can be trusted.
    """

    record: str
    duration_s: float
    analysed_s: float
    n_beats: int
    hr_mean: float
    hr_min: float
    hr_max: float
    #: The fields of :class:`ecgtool.variability.Hrv`, flat in the report.
    sdnn_ms: float
    rmssd_ms: float
    pnn50_pct: float
    sdann_ms: float
    sdnn_index_ms: float
    triangular_index: float
    tinn_ms: float
    ulf_ms2: float
    vlf_ms2: float
    lf_ms2: float
    hf_ms2: float
    lf_hf: float
    total_power_ms2: float
    nn_pct: float
    counts: dict
    burden_pct: dict
    af_burden_pct: float
    af_longest_s: float
    vt_longest_beats: int | None
    pauses: int
    pause_longest_s: float
    noise_pct: float
    verdict: str
    findings: list = field(default_factory=list)
    labelled: bool = True
    intervals: Intervals | None = None
    #: Heart-rate turbulence (:mod:`ecgtool.hrt`): PVCs that qualified, onset
    #: (%) and slope (ms per RR interval); None without beat labels.
    hrt_pvcs: int | None = None
    hrt_onset_pct: float | None = None
    hrt_slope_ms: float | None = None
    #: Time of day of the recording's first sample (``HH:MM:SS``), where known:
    #: findings' ``start_s`` plus this is their clock time.
    start_clock: str = ""
    #: The lead analysed (its intervals and QRS widths are this lead's); ""
    #: where beat times alone were given.
    lead: str = ""
    #: When (s) the spans of the slowest and the fastest rate begin
    #: (:func:`rate_extremes_at`).
    hr_min_at_s: float = float("nan")
    hr_max_at_s: float = float("nan")
    #: V and S beats alone, in couplets and in runs of three or more
    #: (:class:`ecgtool.beats.labels.EctopyGroups` as a dict per class; S
    #: beats inside AF left out, as from the PAC count); None without labels.
    ectopy: dict | None = None
    #: Seconds of ventricular flutter or fibrillation (``vf`` episodes; 0
    #: where the signal was not given).
    vf_s: float = 0.0

    def as_dict(self) -> dict:
        """The report as JSON-ready values: a figure that could not be
        measured (NaN) is ``None``, so that the JSON is standard (``null``)."""
        from ecgtool.io.tables import json_ready

        d = json_ready(asdict(self))
        d["reasons"] = [f.text for f in self.findings]
        return d

    def as_row(self) -> dict:
        """The report flattened to :data:`REPORT_COLUMNS`, for a table with one
        row per record: class counts and burdens one column each, the finding
        codes and reasons joined by ``"; "``; what was not measured is None.

        Examples
        --------
        >>> from ecgtool.rhythm import find_rhythms
        >>> t = np.cumsum(np.full(200, 0.75))
        >>> lab = np.array(["N"] * 200); lab[::10] = "V"
        >>> row = diagnose("r1", 150.0, t, lab, find_rhythms(t, lab)).as_row()
        >>> row["verdict"], round(row["hr_mean"]), row["n_V"], row["findings"]
        ('abnormal', 80, 20, 'pvc')
        """
        d = self.as_dict()
        flat = {**d, **(d["intervals"] or {}),
                "findings": "; ".join(f.code for f in self.findings),
                "reasons": "; ".join(d["reasons"])}
        for c in AAMI_CLASSES:
            flat[f"n_{c}"] = (d["counts"] or {}).get(c)
            flat[f"burden_{c}_pct"] = (d["burden_pct"] or {}).get(c)
        for c in ("V", "S"):
            groups = (d["ectopy"] or {}).get(c) or {}
            for key, col in (("couplets", "couplets"), ("runs", "runs"),
                             ("longest_run", "run_longest")):
                flat[f"{c.lower()}_{col}"] = groups.get(key)
        # The intervals' n_beats counts normal beats only: the record's wins.
        flat["n_beats"] = d["n_beats"]
        return {k: flat.get(k) for k in REPORT_COLUMNS}


def elapsed_text(s: float) -> str:
    """Seconds into a record as ``h:mm:ss``.

    Examples
    --------
    >>> elapsed_text(3751.4)
    '1:02:31'
    """
    s = int(round(s))
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _fmt_dur(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    if s >= 60:
        return f"{s / 60:.1f} min"
    return f"{s:.0f} s"


def _secs(s: float) -> str:
    # Whole seconds, but a fraction of one still shows as such.
    return f"{s:.0f}" if s >= 10 else f"{s:.2g}"


#: The shortest span (R-R intervals) of the minimum and maximum rates.
RATE_BEATS = 8


#: Heart-rate variability leaves out this long (s) before and after each AF
#: episode too: the episodes' edges are found a few beats off, and a few AF
#: intervals weigh on SDNN as much as hundreds of sinus ones.
AF_MARGIN_S = 10.0


def af_spans(episodes: Episodes, margin_s: float = AF_MARGIN_S) -> list[tuple[float, float]]:
    """The ``(start_s, end_s)`` of the AF episodes, ``margin_s`` wider each
    side: heart-rate variability leaves them out, as it does unreadable
    stretches. HRV measures how the sinus node's rate is modulated; in AF the
    intervals vary because the ventricles answer a fibrillating atrium at
    random, which would read as variability many times the sinus rhythm's
    (LTAFDB record 00 from its beat times, AF 10 % of its 21 hours: SDNN
    166 ms with AF kept, 81 ms without, 75 ms with the margins).

    Examples
    --------
    >>> from ecgtool.rhythm import find_rhythms
    >>> rng = np.random.default_rng(0)
    >>> rr = np.r_[np.full(100, 0.8), rng.uniform(0.4, 1.2, 100), np.full(100, 0.8)]
    >>> [(round(a), round(b)) for a, b in af_spans(find_rhythms(np.cumsum(rr)))]
    [(71, 173)]
    """
    af = episodes.of("af")
    return [(float(a) - margin_s, float(b) + margin_s) for a, b in zip(af.start_s, af.end_s)]


def uncounted_spans(noise: list | None, episodes: Episodes) -> list[tuple[float, float]]:
    """Stretches whose beats are not counted by class: the unreadable ones
    (``noise``), where a detection may be no beat, and the ``vf`` episodes,
    whose detections are waves of ventricular flutter or fibrillation, no
    heartbeats (MIT-BIH marks them ``!``, outside every AAMI class).

    Examples
    --------
    >>> from ecgtool.rhythm import find_rhythms
    >>> t = np.arange(0.0, 60.0, 0.5)
    >>> uncounted_spans([(1.0, 2.0)], find_rhythms(t, vf_spans=[(20.2, 30.2)]))
    [(1.0, 2.0), (20.0, 30.5)]
    """
    vf = episodes.of("vf")
    return list(noise or []) + [(float(a), float(b)) for a, b in zip(vf.start_s, vf.end_s)]


def heart_rate(times_s: np.ndarray, beats: int = RATE_BEATS,
               noise: list | None = None) -> tuple[float, float, float]:
    """Mean, minimum and maximum rate (bpm); min/max over spans of ``beats``
    intervals or more.

    Intervals that overlap an unreadable span (``noise``: ``(start_s,
    end_s)`` pairs, e.g. a lead-off stretch or a recording gap) are left
    out: they measure the gap, not the heart.

    Examples
    --------
    >>> heart_rate(np.arange(0, 60, 0.75))
    (80.0, 80.0, 80.0)
    >>> t = np.concatenate([np.arange(0, 30, 1.0), np.arange(90, 120, 1.0)])
    >>> heart_rate(t, noise=[(30.0, 90.0)])
    (60.0, 60.0, 60.0)
    """
    return _rate_figures(times_s, beats, noise)[:3]


def _rate_figures(times_s: np.ndarray, beats: int,
                  noise: list | None) -> tuple[float, float, float, float, float]:
    # Mean, minimum and maximum rate, and when the spans of the minimum and
    # the maximum begin (NaN where there are none).
    nan = float("nan")
    t = np.asarray(times_s, dtype=float)
    if t.size < 2:
        return (nan,) * 5
    ok = clear_intervals(t, noise)
    if not ok.any():
        return (nan,) * 5
    rr = np.diff(t)
    mean = float(60.0 * ok.sum() / rr[ok].sum())
    rate, start = _span_rates(t, ok, beats)
    if not rate.size:
        return mean, mean, mean, nan, nan
    lo, hi = int(np.argmin(rate)), int(np.argmax(rate))
    return mean, float(rate[lo]), float(rate[hi]), float(start[lo]), float(start[hi])


def _span_rates(t: np.ndarray, ok: np.ndarray, beats: int) -> tuple[np.ndarray, np.ndarray]:
    # Rates (bpm) over clear spans of `beats` to 2*beats-1 intervals, and the
    # time each span starts: any longer span splits into such spans, so the
    # extremes hold for spans of `beats` or more, the whole record among
    # them (spans of exactly `beats` missed quick beats at both ends of a
    # 10-s record: a mean above the maximum).
    bad = np.concatenate([[0], np.cumsum(~ok)])
    rates, starts = [], []
    for k in range(beats, 2 * beats):
        if t.size > k:
            clear = bad[k:] - bad[:-k] == 0
            rates.append(60.0 * k / (t[k:] - t[:-k])[clear])
            starts.append(t[:-k][clear])
    if not rates:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(rates), np.concatenate(starts)


def rate_extremes_at(times_s: np.ndarray, beats: int = RATE_BEATS,
                     noise: list | None = None) -> tuple[float, float]:
    """When (s, the first beat of the span) the slowest and the fastest rate
    of :func:`heart_rate` begin; NaN where it has none.

    Examples
    --------
    >>> # 60 bpm, 10 beats at 120 from 20 s, slowing to 41 bpm from 26 s.
    >>> t = np.cumsum(np.r_[np.full(20, 1.0), np.full(10, 0.5), 1 + 0.05 * np.arange(10),
    ...                     np.full(20, 1.0)])
    >>> rate_extremes_at(t)
    (27.05, 20.0)
    """
    return _rate_figures(times_s, beats, noise)[3:]


def ectopy_labels(readable_labels: np.ndarray, in_af: np.ndarray, cls: str) -> np.ndarray:
    """The labels whose ``cls`` beats count as ectopy: AF has no P waves to be
    premature by, so S beats inside it are no PACs (left out, ``""``)."""
    return np.where(in_af, "", readable_labels) if cls == "S" else readable_labels


def pauses(times_s: np.ndarray, pause_s: float, noise: list | None = None) -> np.ndarray:
    """Indices ``i`` of the R-R intervals ``t[i]..t[i+1]`` of ``pause_s`` or
    more whose middle lies outside every unreadable span: a gap inside one
    is not a pause.

    Examples
    --------
    >>> pauses(np.array([0.0, 1.0, 4.5, 5.5, 9.0]), 3.0, noise=[(6.0, 8.5)]).tolist()
    [1]
    """
    t = np.asarray(times_s, dtype=float)
    rr = np.diff(t) if t.size > 1 else np.zeros(0)
    long_rr = np.flatnonzero(rr >= pause_s)
    if noise and long_rr.size:
        mid = (t[long_rr] + t[long_rr + 1]) / 2
        keep = [not any(a <= m <= b for a, b in noise) for m in mid]
        long_rr = long_rr[np.asarray(keep, dtype=bool)]
    return long_rr


def diagnose(name: str, duration_s: float, times_s: np.ndarray, labels: np.ndarray | None,
             episodes: Episodes, noise: list | None = None,
             thresholds: Thresholds = Thresholds(),
             intervals: Intervals | None = None) -> Report:
    """Summarise one record and give the verdict with its reasons.

    Parameters
    ----------
    name : str
        Record name.
    duration_s : float
        Length of the recording.
    times_s : numpy.ndarray
        Beat times (s).
    labels : numpy.ndarray or None
        AAMI class per beat; without them, ectopy is not assessed.
    episodes : Episodes
        From :func:`ecgtool.rhythm.find_rhythms`.
    noise : list of (start_s, end_s), optional
        Unreadable stretches.
    thresholds : Thresholds
    intervals : Intervals, optional
        From :func:`ecgtool.intervals.conduction_intervals` (beats with their
        delineation); without them, intervals are not judged.

    Examples
    --------
    >>> from ecgtool.rhythm import find_rhythms
    >>> t = np.cumsum(np.full(100, 0.8))
    >>> lab = np.array(["N"] * 100); lab[::10] = "V"
    >>> r = diagnose("x", 80.0, t, lab, find_rhythms(t, lab))
    >>> r.verdict, r.findings[0].code, r.burden_pct["V"]
    ('abnormal', 'pvc', 10.0)
    """
    th = thresholds
    t = np.asarray(times_s, dtype=float)
    n = t.size
    noise_s = sum(b - a for a, b in (noise or []))
    analysed = max(duration_s - noise_s, 0.0)
    hours = max(analysed, 1e-9) / 3600.0
    hr_mean, hr_min, hr_max, hr_min_at, hr_max_at = _rate_figures(t, RATE_BEATS, noise)
    uncounted = uncounted_spans(noise, episodes)
    variability = hrv(t, labels, uncounted + af_spans(episodes))
    turbulence = heart_rate_turbulence(t, labels, noise) if labels is not None else None
    findings: list[Finding] = []
    # Without beat labels the classes were not counted: None (JSON null), not 0.
    counts: dict = {c: None for c in AAMI_CLASSES}
    burden: dict = {c: None for c in AAMI_CLASSES}
    # A beat found in an unreadable stretch (noise, a lead off the body) may
    # be no beat at all, and its class is a guess: it counts for nothing; nor
    # does a wave of ventricular flutter.
    readable = readable_beats(t, uncounted)
    n_read = int(readable.sum())
    if labels is not None:
        lab = np.where(readable, np.asarray(labels), "")
        for c in AAMI_CLASSES:
            counts[c] = int(np.sum(lab == c))
            burden[c] = 100.0 * counts[c] / n_read if n_read else 0.0
    af = episodes.of("af")
    ectopy = None
    if labels is not None:
        in_af = in_spans(t, af.start_s, af.end_s)
        ectopy = {c: asdict(ectopy_groups(ectopy_labels(lab, in_af, c), c)) for c in "VS"}
        for code, cls, per_h, pct, what in (
                ("pvc", "V", th.pvc_per_hour, th.pvc_burden_pct, "PVC"),
                ("pac", "S", th.pac_per_hour, th.pac_burden_pct, "PAC")):
            hits = ectopy_labels(lab, in_af, cls) == cls
            k = int(hits.sum())
            pct_k = 100.0 * k / n_read if n_read else 0.0
            per_hour = k >= max(th.min_beats_per_hour_rule, 1) and k / hours >= per_h
            if k and (per_hour or pct_k >= pct):
                first = t[hits][0]
                findings.append(Finding(code, f"{what} burden {pct_k:.1f}% ({k} beat{'s' * (k != 1)}, "
                                        f"{k / hours:.0f}/h)", float(first), float(first)))
    af_s = af.duration("af")
    af_long = float(np.max(af.end_s - af.start_s)) if len(af) else 0.0
    af_pct = 100.0 * af_s / duration_s if duration_s else 0.0
    if af_long >= min(th.af_min_s, 0.5 * duration_s) and len(af):
        i = int(np.argmax(af.end_s - af.start_s))
        findings.append(Finding("af", f"AF {_fmt_dur(af_s)}, {af_pct:.0f}% of the record "
                                f"(longest {_fmt_dur(af_long)} from {elapsed_text(af.start_s[i])})",
                                float(af.start_s[i]), float(af.end_s[i])))
    vf = episodes.of("vf")
    vf_s = vf.duration("vf")
    if len(vf) and vf_s >= th.vf_min_s:
        i = int(np.argmax(vf.end_s - vf.start_s))
        findings.append(Finding("vf", f"Ventricular flutter/fibrillation {_fmt_dur(vf_s)} "
                                f"(longest {_fmt_dur(vf.end_s[i] - vf.start_s[i])} from "
                                f"{elapsed_text(vf.start_s[i])})",
                                float(vf.start_s[i]), float(vf.end_s[i])))
    # VT runs are runs of V beats: unknown without labels.
    vt_long = 0 if labels is not None else None
    for code, name_, need in (("vt", "VT", th.vt_min_beats), ("svt", "SVT", th.svt_min_beats),
                              ("ivr", "Idioventricular", th.ivr_min_beats)):
        ep = episodes.of(code)
        if len(ep):
            longest = int(ep.n_beats.max())
            if code == "vt":
                vt_long = longest
            if longest >= need:
                i = int(np.argmax(ep.n_beats))
                findings.append(Finding(code, f"{name_} runs: {len(ep)}, longest {longest} "
                                        f"beats at {elapsed_text(ep.start_s[i])}",
                                        float(ep.start_s[i]), float(ep.end_s[i])))
    rr = np.diff(t) if n > 1 else np.zeros(0)
    long_rr = pauses(t, th.pause_s, noise)
    pause_long = float(rr[long_rr].max()) if long_rr.size else 0.0
    if long_rr.size:
        j = long_rr[np.argmax(rr[long_rr])]
        findings.append(Finding("pause", f"{long_rr.size} pause{'s' if long_rr.size > 1 else ''}"
                                f" >= {th.pause_s:g} s, longest {pause_long:.1f} s at "
                                f"{elapsed_text(t[j])}", float(t[j]), float(t[j + 1])))
    for code, what in (("bigeminy", "bigeminy"), ("trigeminy", "trigeminy")):
        ep = episodes.of(code)
        total = ep.duration(code)
        if total >= min(th.pattern_min_s, 0.5 * duration_s) and len(ep):
            i = int(np.argmax(ep.end_s - ep.start_s))
            # Beat times show the pattern; only labels tell its origin.
            text = (f"Ventricular {what} {_fmt_dur(total)}" if labels is not None else
                    f"{what.capitalize()} {_fmt_dur(total)} (from beat timing: origin unknown)")
            findings.append(Finding(code, text, float(ep.start_s[i]), float(ep.end_s[i])))
    if np.isfinite(hr_mean) and hr_mean < th.brady_bpm:
        findings.append(Finding("brady", f"Bradycardia: mean rate {hr_mean:.0f} bpm"))
    if np.isfinite(hr_mean) and hr_mean > th.tachy_bpm:
        findings.append(Finding("tachy", f"Tachycardia: mean rate {hr_mean:.0f} bpm"))
    findings += _interval_findings(intervals, t, th, any(f.code == "af" for f in findings))
    if n < 2 and analysed >= th.pause_s:
        # No interval measured in readable signal: asystole, or a heart the
        # detector could not see. Either way a person must look; not normal.
        findings.append(Finding("no_beats", f"{'One heartbeat' if n else 'No heartbeat'} "
                                f"detected in {_fmt_dur(analysed)} of readable signal"))
    verdict = "abnormal" if findings else "normal"
    if not findings and (n < 2 or analysed < min(th.min_analysed_s, 0.5 * duration_s)):
        # A flat line or a lost signal is no evidence of a normal heart.
        verdict = "unreadable"
        findings.append(Finding("unreadable", f"only {_secs(analysed)} s of {_secs(duration_s)}"
                                " s could be analysed (flat, noisy, missing or short signal)"))
    return Report(record=name, duration_s=float(duration_s), analysed_s=float(analysed),
                  n_beats=int(n), hr_mean=float(hr_mean), hr_min=float(hr_min),
                  hr_max=float(hr_max), **asdict(variability), counts=counts,
                  burden_pct=burden, af_burden_pct=af_pct, af_longest_s=af_long,
                  vt_longest_beats=vt_long, pauses=int(long_rr.size),
                  pause_longest_s=pause_long,
                  noise_pct=100.0 * noise_s / duration_s if duration_s else 0.0,
                  verdict=verdict, findings=findings,
                  labelled=labels is not None, intervals=intervals,
                  hrt_pvcs=None if turbulence is None else turbulence.n_pvcs,
                  hrt_onset_pct=None if turbulence is None else turbulence.onset_pct,
                  hrt_slope_ms=None if turbulence is None else turbulence.slope_ms,
                  ectopy=ectopy, vf_s=vf_s,
                  hr_min_at_s=hr_min_at, hr_max_at_s=hr_max_at)


def _interval_findings(iv: Intervals | None, t: np.ndarray, th: Thresholds,
                       af: bool) -> list[Finding]:
    # Each finding points at a beat whose interval is the median one.
    if iv is None:
        return []
    out = []

    def at(i: int) -> tuple:
        return (float(t[i]), float(t[i])) if 0 <= i < t.size else (None, None)

    if th.qrs_wide_ms and iv.qrs_ms >= th.qrs_wide_ms:
        out.append(Finding("qrs_wide", f"Wide QRS: median {iv.qrs_ms:.0f} ms", *at(iv.qrs_beat)))
    # In AF there is no P wave to measure from.
    if (th.pr_long_ms and iv.pr_ms > th.pr_long_ms and not af
            and iv.p_found_pct >= th.pr_min_p_found_pct):
        out.append(Finding("pr_long", f"Long PR: median {iv.pr_ms:.0f} ms", *at(iv.pr_beat)))
    if th.qtc_long_ms and iv.qtc_fridericia_ms >= th.qtc_long_ms:
        out.append(Finding("qtc_long", f"Long QTc: median {iv.qtc_fridericia_ms:.0f} ms "
                           f"(Fridericia; QT {iv.qt_ms:.0f} ms)", *at(iv.qtc_beat)))
    return out


def diagnose_analysis(a, thresholds: Thresholds = Thresholds()) -> Report:
    """:func:`diagnose` of an analysed record (:class:`ecgtool.analysis.Analysis`),
    with its conduction intervals when its beats were delineated.

    Examples
    --------
    >>> from ecgtool.io.inputs import ReadOptions, Source
    >>> from ecgtool.analysis import analyse_job
    >>> from ecgtool.io.records import sample_path
    >>> a = analyse_job(Source("wfdb", str(sample_path("119")), "119"), ReadOptions())
    >>> rep = diagnose_analysis(a)
    >>> rep.verdict, 50 < rep.intervals.qrs_ms < 120
    ('abnormal', True)
    """
    iv = conduction_intervals(a.beats, a.labels) if a.beats is not None else None
    rep = diagnose(a.name, a.duration_s, a.times_s, a.labels, a.episodes, a.noise,
                   thresholds, iv)
    rep.start_clock, rep.lead = a.start_clock, a.lead
    return rep
