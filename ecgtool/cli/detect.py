"""``ecgtool detect``: every heartbeat with its timing, to HDF5 or CSV."""

from __future__ import annotations

from typing import Optional

import typer

from ecgtool.cli import _common as c


def detect(
    inputs: Optional[list[str]] = c.InputsArg,
    out: Optional[str] = typer.Option(None, "--out", "-o", help="beats.h5 (HDF5 store), "
                                      "beats.csv, or - for CSV on stdout (default)."),
    sample: bool = c.SampleOpt,
    channel: Optional[str] = c.ChannelOpt,
    second_lead: Optional[str] = c.SecondLeadOpt,
    fs: Optional[float] = c.FsOpt,
    column: Optional[str] = c.ColumnOpt,
    units: str | None = c.UnitsOpt,
    no_signal: bool = typer.Option(False, "--no-signal", help="Leave the signal out of an "
                                   "HDF5 store (smaller; classify then labels the beats from "
                                   "their table alone, less accurately, and plot cannot "
                                   "draw them)."),
    detector: Optional[list[str]] = c.DetectorOpt,
    qrs_net: Optional[str] = c.QrsNetOpt,
    p_net: Optional[str] = c.PNetOpt,
    start: Optional[str] = c.StartOpt,
    end: Optional[str] = c.EndOpt,
    jobs: int = c.JobsOpt,
    annotations: Optional[str] = c.AnnotationsOpt,
    scheduler: Optional[str] = c.SchedulerOpt,
    resume: bool = c.ResumeOpt,
    quiet: bool = c.QuietOpt,
) -> int:
    """Detect every heartbeat: R peak, QRS onset/offset, P and T waves."""
    from functools import partial

    from ecgtool import batch
    from ecgtool.cli._write import (beat_count, beats_header, beats_rows, exit_code, noting,
                                    run_and_write, summary, write_detected,
                                    writing_annotations)
    from ecgtool.pipeline import detect_job

    settings = c.detector_settings(detector, qrs_net, p_net)
    opts = c.read_options(channel, fs, column, units, second_lead=second_lead)
    srcs, stretch = c.stretch(c.sources(inputs, sample, fs), start, end)
    c.check_output_path(out, c.TABLE_FORMATS)
    c.check_folder(annotations)
    # With --second-lead, stdin is not streamed: the job says why it cannot be read.
    if c.output_kind(out) == "stdout" and opts.second_lead is None and \
            any(s.kind == "stdin" for s in srcs) and \
            len(srcs) == 1 and annotations is None:
        from ecgtool.stream import stream_detect

        return stream_detect(opts, quiet, settings=settings)
    counted = []
    attrs = c.detector_attrs(settings)

    def run(todo):
        return writing_annotations(noting(batch.run(
            partial(detect_job, opts=opts, settings=settings), todo, jobs=jobs,
            progress=not quiet, label="detect", scheduler=scheduler), counted, beat_count),
            annotations)

    done, failures, skipped = run_and_write(
        srcs, run, out, write_detected(not no_signal, attrs), beats_header,
        beats_rows, resume, quiet,
        c.job("detect", opts, detector=settings.changed(), signal=not no_signal, **stretch))
    if not quiet and done:
        summary(f"detected {sum(counted)} beats in ", done, failures, out)
    return exit_code(done, failures, skipped)
