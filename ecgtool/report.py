"""The HTML report of ``ecgtool diagnose``: one self-contained page, images embedded.

Per record: the verdict and its reasons, a summary table, the heart-rate
trend, the beat-class counts, and an ECG strip of an example of each
abnormal finding (when the signal is at hand). Figures are matplotlib PNGs
embedded as base64, so the page reads offline.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np

from ecgtool.beats.table import AAMI_CLASSES
from ecgtool.variability import MIN_NN_PCT

_CLASS_COLOURS = {"N": "#2b8a3e", "S": "#1971c2", "V": "#c92a2a", "F": "#e67700",
                  "Q": "#868e96"}
_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{font-size:1.6em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
.normal{color:#2b8a3e} .abnormal{color:#c92a2a} .unreadable{color:#e67700}
table{border-collapse:collapse}
td,th{padding:.2em .8em;border-bottom:1px solid #eee;text-align:left} img{max-width:100%}
"""


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _figures():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def hr_trend(times_s: np.ndarray) -> str:
    plt = _figures()
    fig, ax = plt.subplots(figsize=(10, 2.4))
    if times_s.size > 2:
        rr = np.diff(times_s)
        ok = (rr > 0.2) & (rr < 3)
        ax.plot(times_s[1:][ok] / 60, 60 / rr[ok], ".", ms=1.5, color="#444")
    ax.set_xlabel("time (min)")
    ax.set_ylabel("heart rate (bpm)")
    ax.set_title("Heart rate")
    return _png(fig)


def class_counts(counts: dict) -> str:
    plt = _figures()
    fig, ax = plt.subplots(figsize=(4, 2.4))
    ax.bar(list(AAMI_CLASSES), [counts.get(c, 0) for c in AAMI_CLASSES],
           color=[_CLASS_COLOURS[c] for c in AAMI_CLASSES])
    ax.set_yscale("symlog")
    ax.set_title("Beats per class")
    return _png(fig)


def strip(analysis, start_s: float, seconds: float = 10.0, title: str = "") -> str:
    """A 10-s strip of an analysed record from 2 s before ``start_s``, as an
    embeddable PNG (the signal read again for a record analysed in blocks),
    with the second lead below where one was named."""
    from ecgtool.analysis import second_between, signal_between

    a = max(0.0, start_s - 2.0)
    b = min(analysis.duration_s, a + seconds)
    x, fs, offset, _ = signal_between(analysis, a, b)
    opts = analysis.read_options
    # With --second-lead, the lead that found beats where the first did not
    # is drawn below it, as `ecgtool plot` draws it.
    second = second_between(analysis, analysis.source, opts, a, b) \
        if opts is not None and opts.second_lead is not None else None
    return _png(plot_strip(x, fs, analysis.times_s, analysis.labels, analysis.episodes, a, b,
                           title, offset=offset, second=second))


_RHYTHM_COLOURS = {"af": "#ffd8a8", "vf": "#ff8787", "vt": "#ffc9c9", "svt": "#d0ebff",
                   "ivr": "#ffe3e3", "bigeminy": "#e5dbff", "trigeminy": "#f3d9fa", "pause": "#dee2e6",
                   "noise": "#ced4da", "tachy": "#fff3bf", "brady": "#d3f9d8"}


def _ecg_paper(ax, start_s: float, end_s: float, lo_mv: float, hi_mv: float) -> None:
    # The grid of ECG paper (25 mm/s, 10 mm/mV): large squares of 0.2 s by
    # 0.5 mV, small ones of 0.04 s by 0.1 mV, drawn on strips of up to 20 s,
    # where they can still be seen apart.
    steps = [(0.2, 0.5, 0.6)] + ([(0.04, 0.1, 0.25)] if end_s - start_s <= 20 else [])
    for dt, dv, width in steps:
        xs = np.arange(np.ceil(start_s / dt), np.floor(end_s / dt) + 1) * dt
        ys = np.arange(np.ceil(lo_mv / dv), np.floor(hi_mv / dv) + 1) * dv
        ax.vlines(xs, 0, 1, transform=ax.get_xaxis_transform(), color="#f4a6a6",
                  lw=width, zorder=0)
        ax.hlines(ys, 0, 1, transform=ax.get_yaxis_transform(), color="#f4a6a6",
                  lw=width, zorder=0)


def _second_lead(ax, second, fs: float, i: int, j: int, first: np.ndarray) -> None:
    # The other lead over samples [i, j), drawn under the first one's lowest
    # point with half a millivolt between, and named at its left.
    x, off, name = second
    a, b = max(i, off), min(j, off + x.size)
    if b <= a:
        return
    y = np.asarray(x[a - off:b - off], dtype=np.float64)
    if not np.isfinite(y).any():
        return
    shift = float(np.nanmin(first)) - 0.5 - float(np.nanmax(y)) if np.isfinite(first).any() \
        else -float(np.nanmax(y))
    ax.plot(np.arange(a, b) / fs, y + shift, lw=0.7, color="#777")
    ax.text(a / fs, float(np.nanmedian(y)) + shift, f"{name} ", ha="right", va="center",
            fontsize=8, color="#555")


def plot_strip(signal: np.ndarray, fs: float, times_s: np.ndarray, labels, episodes,
               start_s: float, end_s: float, title: str = "", offset: int = 0,
               reference=None, second=None):
    """A matplotlib figure of ``[start_s, end_s]``: the ECG on ECG-paper grid, each
    beat's class above its R peak, rhythm episodes shaded and named (the figure of
    ``ecgtool plot``). ``signal`` starts at sample ``offset`` of the record. With
    ``reference`` (:class:`ecgtool.io.records.Annotations`), its beat symbols
    and rhythm changes are written along the foot of the strip, in grey, for
    comparison. With ``second``, ``(samples, offset, name)`` of another lead
    (``--second-lead``), that lead is drawn below the first, in grey."""
    plt = _figures()
    i, j = max(offset, int(start_s * fs)), min(offset + signal.size, int(end_s * fs))
    t = np.arange(i, j) / fs
    fig, ax = plt.subplots(figsize=(max(8.0, (end_s - start_s) * 0.9), 3.2))
    if episodes is not None:
        for a, b, r in zip(episodes.start_s, episodes.end_s, episodes.rhythm):
            if b < start_s or a > end_s or r == "sinus":
                continue
            ax.axvspan(max(a, start_s), min(b, end_s), color=_RHYTHM_COLOURS.get(r, "#eee"),
                       alpha=0.6, lw=0)
            ax.text(max(a, start_s), 1.0, f" {r}", transform=ax.get_xaxis_transform(),
                    va="top", fontsize=9)
    ax.plot(t, signal[i - offset:j - offset], lw=0.8, color="#222")
    sel = (times_s >= start_s) & (times_s < end_s)
    labs = labels[sel] if labels is not None else np.array(["N"] * int(sel.sum()))
    for tb, lab in zip(times_s[sel], labs):
        k = min(max(int(round(tb * fs)) - offset, 0), signal.size - 1)
        ax.plot(tb, signal[k], "v", ms=4, color=_CLASS_COLOURS.get(str(lab), "#000"))
        if labels is not None:
            ax.annotate(str(lab), (tb, signal[k]), textcoords="offset points", xytext=(0, 7),
                        ha="center", fontsize=8, color=_CLASS_COLOURS.get(str(lab), "#000"))
    if second is not None and j > i:
        _second_lead(ax, second, fs, i, j, signal[i - offset:j - offset])
    if reference is not None:
        _reference_marks(ax, reference, fs, start_s, end_s)
    ax.set_xlim(start_s, end_s)
    if j > i:
        lo, hi = ax.get_ylim()
        _ecg_paper(ax, start_s, end_s, lo, hi)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mV")
    ax.set_title(title)
    return fig


def _reference_marks(ax, reference, fs: float, start_s: float, end_s: float) -> None:
    # The reference's beat symbols at the foot of the strip, its rhythm
    # changes ("(AFIB") just above them.
    from ecgtool.evaluate import BEAT_SYMBOLS

    t = reference.sample / fs
    inside = (t >= start_s) & (t < end_s)
    foot = ax.get_xaxis_transform()
    for tb, sym, aux in zip(t[inside], reference.symbol[inside], reference.aux_note[inside]):
        if sym in BEAT_SYMBOLS:
            ax.text(tb, 0.02, sym, transform=foot, ha="center", fontsize=7, color="#666")
        elif sym == "+" and aux:
            ax.text(tb, 0.09, aux, transform=foot, ha="left", fontsize=7, color="#666")
    ax.text(1.005, 0.02, "reference", transform=ax.transAxes, ha="left", fontsize=7,
            color="#666")


def _n(v, fmt: str = ".0f") -> str:
    # A figure (to whole units), "-" where it was not measured (NaN, None).
    return "-" if v is None or v != v else format(v, fmt)


def _at(r, seconds) -> str:
    # " (at 08:25:31)" by the clock where the start time is known, else
    # " (at 0:12:31)" into the record; "" where not measured.
    if seconds is None or seconds != seconds:
        return ""
    from ecgtool.diagnose import elapsed_text
    from ecgtool.io.records import clock_at

    return f" (at {clock_at(r.start_clock, seconds) or elapsed_text(seconds)})"


def intervals_text(iv) -> str:
    """``PR 172, QRS 58, QT 417, QTc 423 ms (Fridericia; Bazett 429)``, "-" where not measured."""
    return (f"PR {_n(iv.pr_ms)}, QRS {_n(iv.qrs_ms)}, QT {_n(iv.qt_ms)}, "
            f"QTc {_n(iv.qtc_fridericia_ms)} ms (Fridericia; Bazett {_n(iv.qtc_bazett_ms)})")


def hourly_table(analysis, thresholds=None) -> str:
    """The hour-by-hour table of a record (:func:`ecgtool.hourly.hourly_analysis`)."""
    from ecgtool.diagnose import Thresholds
    from ecgtool.hourly import hourly_analysis

    head = ["Hour", "Analysed (min)", "HR mean / min / max", "SDNN (ms)", "LF/HF", "N", "S",
            "V", "F", "V couplets / runs", "S couplets / runs", "AF (min)", "VT runs",
            "SVT runs", "Pauses"]
    rows = [[h.clock[:5] or f"{h.hour}", f"{h.analysed_s / 60:.0f}",
             f"{_n(h.hr_mean)} / {_n(h.hr_min)} / "
             f"{_n(h.hr_max)}", _n(h.sdnn_ms), _n(h.lf_hf, ".2f"), _n(h.n_N), _n(h.n_S),
             _n(h.n_V), _n(h.n_F), f"{_n(h.v_couplets)} / {_n(h.v_runs)}",
             f"{_n(h.s_couplets)} / {_n(h.s_runs)}", f"{h.af_s / 60:.1f}", f"{h.vt_runs}",
             f"{h.svt_runs}", f"{h.pauses}"]
            for h in hourly_analysis(analysis, thresholds=thresholds or Thresholds())]
    return ("<table><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in rows)
            + "</table>")


def _hrv_text(r) -> str:
    # The HRV row: the measures, or why there are none.
    if r.nn_pct < MIN_NN_PCT:
        return (f"not measured: {_n(r.nn_pct)} % of the intervals are normal-to-normal, "
                f"under the {MIN_NN_PCT:.0f} % it needs")
    return (f"SDNN {_n(r.sdnn_ms)} ms, RMSSD {_n(r.rmssd_ms)} ms, pNN50 {_n(r.pnn50_pct)} %, "
            f"SDANN {_n(r.sdann_ms)} ms, SDNN index {_n(r.sdnn_index_ms)} ms, triangular "
            f"index {_n(r.triangular_index, '.1f')}, TINN {_n(r.tinn_ms)} ms; LF "
            f"{_n(r.lf_ms2)}, HF {_n(r.hf_ms2)} ms², LF/HF {_n(r.lf_hf, '.2f')}"
            + (f"; ULF {_n(r.ulf_ms2)}, total power {_n(r.total_power_ms2)} ms² (whole "
               f"recording)" if np.isfinite(r.ulf_ms2) else "")
            + f"; from {_n(r.nn_pct)} % of the intervals (normal-to-normal)")


def ectopy_text(ectopy: dict) -> str:
    """``"V: 12 single, 3 couplets, 1 run (longest 5 beats); S: ..."`` from
    :attr:`ecgtool.diagnose.Report.ectopy`."""
    def one(g: dict) -> str:
        runs = f"{g['runs']} run{'s' * (g['runs'] != 1)}"
        if g["runs"]:
            runs += f" (longest {g['longest_run']} beats)"
        return (f"{g['singles']} single, {g['couplets']} couplet{'s' * (g['couplets'] != 1)}, "
                + runs)
    return "; ".join(f"{c}: {one(ectopy[c])}" for c in ("V", "S"))


def record_section(analysis, report, thresholds=None) -> str:
    r = report
    rows = [*([("Start", r.start_clock)] if r.start_clock else []),
            *([("Lead analysed", r.lead)] if r.lead else []),
            ("Duration analysed", f"{r.analysed_s / 60:.1f} min of {r.duration_s / 60:.1f}"),
            ("Beats", f"{r.n_beats}"),
            ("Beat classes", ", ".join(f"{c} {r.counts[c]} ({r.burden_pct[c]:.1f}%)"
                                       for c in AAMI_CLASSES) if r.labelled
             else "not assessed (beats not classified)"),
            ("Heart rate", f"mean {_n(r.hr_mean)}, min {_n(r.hr_min)}{_at(r, r.hr_min_at_s)}, "
             f"max {_n(r.hr_max)}{_at(r, r.hr_max_at_s)} bpm"),
            ("HRV", _hrv_text(r)),
            ("Heart-rate turbulence", "not assessed (beats not classified)"
             if r.hrt_pvcs is None else f"onset {_n(r.hrt_onset_pct, '.1f')} %, slope "
             f"{_n(r.hrt_slope_ms, '.1f')} ms/RR ({r.hrt_pvcs} qualifying PVCs)"),
            *([("Intervals (median, one lead)", intervals_text(r.intervals))]
              if r.intervals is not None else []),
            ("AF burden", f"{r.af_burden_pct:.1f}% (longest {r.af_longest_s:.0f} s)"),
            ("Longest VT run", f"{r.vt_longest_beats} beats" if r.labelled
             else "not assessed (beats not classified)"),
            ("Ectopic beats in a row", ectopy_text(r.ectopy) if r.ectopy is not None
             else "not assessed (beats not classified)"),
            ("Pauses", f"{r.pauses} (longest {r.pause_longest_s:.1f} s)"),
            ("Unreadable", f"{r.noise_pct:.1f}% of the record")]
    parts = [f"<h2>{html.escape(r.record)}: <span class='{r.verdict}'>{r.verdict}</span></h2>"]
    if r.findings:
        parts.append("<ul>" + "".join(f"<li>{html.escape(f.text)}</li>" for f in r.findings)
                     + "</ul>")
    parts.append("<table>" + "".join(f"<tr><th>{k}</th><td>{html.escape(v)}</td></tr>"
                                     for k, v in rows) + "</table>")
    parts.append(f"<h3>Heart-rate trend</h3><img alt='heart rate' src='{hr_trend(analysis.times_s)}'>")
    if r.duration_s > 3600:
        parts.append("<h3>Hour by hour</h3>" + hourly_table(analysis, thresholds))
    if r.labelled:
        parts.append(f"<h3>Class counts</h3><img alt='class counts' src='{class_counts(r.counts)}'>")
    from ecgtool.analysis import has_signal

    if not has_signal(analysis):
        if any(f.start_s is not None for f in r.findings):
            parts.append("<p>No ECG strips: the input holds the beats without the signal "
                         "(give the record itself to see them).</p>")
    else:
        for f in r.findings:
            if f.start_s is None:
                continue
            img = strip(analysis, f.start_s, title=f.text)
            parts.append(f"<h3>Example: {html.escape(f.code)}</h3>"
                         f"<img alt='{html.escape(f.code)} strip' src='{img}'>")
    return "\n".join(parts)


def html_report(items: list, thresholds=None) -> str:
    """The page for ``(analysis, report)`` pairs (judged with ``thresholds``)."""
    from ecgtool import __version__

    body = "\n".join(record_section(a, r, thresholds) for a, r in items)
    n_ab = sum(r.verdict == "abnormal" for _, r in items)
    n_un = sum(r.verdict == "unreadable" for _, r in items)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>ecgtool report</title>"
            f"<style>{_STYLE}</style></head><body><h1>ecgtool report</h1>"
            f"<p>{len(items)} record{'s' if len(items) != 1 else ''}, {n_ab} abnormal"
            f"{f', {n_un} unreadable' if n_un else ''}. "
            f"Made by ecgtool {__version__}; thresholds in the JSON report.</p>"
            f"{body}</body></html>")
