"""``ecgtool plot``: an ECG strip with beats, their classes and rhythm episodes."""

from __future__ import annotations

from typing import Optional

import typer

from ecgtool.cli import _common as c


def plot(
    input: str = typer.Argument(..., help="A record, sample:NAME, or a store record as "
                                "store.h5 (first record) with --record."),
    start: Optional[str] = typer.Option(None, "--start", metavar="TIME", help="Start time: "
                                        "seconds or H:MM:SS, as diagnose and rhythm print "
                                        "times (default 0)."),
    end: Optional[str] = typer.Option(None, "--end", metavar="TIME", help="End time (default: "
                                      "10 s after the start)."),
    out: str = typer.Option("strip.png", "--out", "-o", help="PNG (or PDF/SVG) to write."),
    record: Optional[str] = typer.Option(None, "--record", help="Record name in a store."),
    no_classify: bool = typer.Option(False, "--no-classify", help="Beats without classes."),
    reference: bool = typer.Option(False, "--reference", help="Also write the reference "
                                   "annotations' beat symbols and rhythm changes (.atr, EDF+, "
                                   "ISHNE .ann, a store's) along the foot of the strip."),
    model: Optional[str] = c.RelabelModelOpt,
    channel: Optional[str] = c.ChannelOpt,
    second_lead: Optional[str] = c.SecondLeadOpt,
    fs: Optional[float] = c.FsOpt,
    column: Optional[str] = c.ColumnOpt,
    units: Optional[str] = c.UnitsOpt,
    detector: Optional[list[str]] = c.DetectorOpt,
    qrs_net: Optional[str] = c.QrsNetOpt,
    p_net: Optional[str] = c.PNetOpt,
    rhythm_setting: Optional[list[str]] = c.RhythmSettingOpt,
    quiet: bool = c.QuietOpt,
) -> int:
    """Draw the stretch from --start to --end of a record, with its beats, classes and rhythm episodes."""
    from functools import partial

    from ecgtool import batch
    from ecgtool.io.inputs import expand_inputs, read_source_annotations
    from ecgtool.analysis import analyse_job, has_signal, second_between, signal_between
    from ecgtool.report import plot_strip

    start, end = c.time_range(start, end)
    end = start + 10.0 if end is None else end
    srcs = expand_inputs([input])
    if record:
        srcs = [s for s in srcs if s.name == record]
        if not srcs:
            raise c.EcgToolError(f"no record {record!r}", input)
    c.warn_unused_fs(srcs, fs)
    c.check_output_path(out, (".png", ".pdf", ".svg", ".svgz", ".eps", ".ps", ".jpg", ".jpeg",
                              ".tif", ".tiff", ".webp"))
    # Through the batch runner, as every command: its warnings reach the user
    # as one line each, and a failure as the one-line error.
    opts = c.read_options(channel, fs, column, units, second_lead=second_lead)
    job = partial(analyse_job, opts=opts, model=model,
                  classify=not no_classify, relabel=model is not None,
                  detector=c.detector_settings(detector, qrs_net, p_net),
                  settings=c.rhythm_settings(rhythm_setting))
    (outcome,) = batch.run(job, srcs[:1], progress=False)
    c.report_outcome(outcome)
    if not outcome.ok:
        raise c.NothingWritten
    a = outcome.value
    if not has_signal(a):
        raise c.EcgToolError("plot needs the signal (a record, or a store made with it)",
                             input)
    if start >= a.duration_s:
        raise c.EcgToolError(f"--start {start:g} s is past the end ({a.duration_s:.1f} s)")
    stop = min(end, a.duration_s)
    x, fs_, offset, lead = signal_between(a, start, stop)
    marks = read_source_annotations(srcs[0], opts) if reference else None
    if reference and marks is None and not quiet:
        c.warn(f"{a.name}: no reference annotations to show")
    other = second_between(a, srcs[0], opts, start, stop)
    fig = plot_strip(x, fs_, a.times_s, a.labels, a.episodes, start, stop,
                     title=f"{a.name} ({lead})", offset=offset, reference=marks, second=other)
    from ecgtool.io.store import atomic_path

    suffix = out.rsplit(".", 1)[-1].lower() if "." in out else "png"
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format=suffix, dpi=100, bbox_inches="tight")
    if not quiet:
        c.say(f"ecgtool: strip {start:g}-{min(end, a.duration_s):g} s of {a.name} -> {out}")
    return 0
