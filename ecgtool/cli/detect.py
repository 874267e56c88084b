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
    fs: Optional[float] = c.FsOpt,
    column: Optional[str] = c.ColumnOpt,
    units: str = c.UnitsOpt,
    no_signal: bool = typer.Option(False, "--no-signal", help="Leave the signal out of an "
                                   "HDF5 store (smaller, but classify needs it)."),
    jobs: int = c.JobsOpt,
    quiet: bool = c.QuietOpt,
) -> int:
    """Detect every heartbeat: R peak, QRS onset/offset, P and T waves."""
    from functools import partial

    from ecgtool import batch
    from ecgtool.cli._write import summary, write_beats
    from ecgtool.pipeline import detect_job

    opts = c.read_options(channel, fs, column, units)
    srcs = c.sources(inputs, sample)
    c.check_output_path(out)
    outcomes = batch.run(partial(detect_job, opts=opts), srcs, jobs=jobs, progress=not quiet,
                         label="detect")
    done, failures, n = write_beats(outcomes, out, with_signal=not no_signal,
                                    beats_attrs={"detector": "ecgtool"})
    if not quiet and done:
        summary("detected", done, failures, n, out)
    return 1 if failures else 0
