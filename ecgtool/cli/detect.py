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
    from ecgtool.pipeline import detect_job

    opts = c.read_options(channel, fs, column, units)
    srcs = c.sources(inputs, sample)
    c.check_output_path(out)
    kind = c.output_kind(out)
    outcomes = batch.run(partial(detect_job, opts=opts), srcs, jobs=jobs, progress=not quiet,
                         label="detect")
    failures, n_beats, done = [], 0, []
    if kind == "store":
        from ecgtool.io import store

        with store.atomic_path(out) as tmp:
            f = store.open_store(tmp, "w")
            try:
                for i, o in enumerate(outcomes):
                    c.report_outcome(o)
                    if not o.ok:
                        failures.append((o.source.name, o.source.path, o.error))
                        continue
                    store.write_record(f, o.value.record, o.source.name, o.value.beats,
                                       with_signal=not no_signal,
                                       beats_attrs={"detector": "ecgtool"}, order=i)
                    n_beats += len(o.value.beats)
                    done.append(o.source.name)
                store.write_errors(f, failures)
            finally:
                f.close()
            if not done:
                # Each failure was reported; leave no output file behind.
                raise c.NothingWritten
    else:
        from ecgtool.io.tables import write_beats_csv

        def tables():
            nonlocal n_beats
            for o in outcomes:
                c.report_outcome(o)
                if not o.ok:
                    failures.append((o.source.name, o.source.path, o.error))
                    continue
                n_beats += len(o.value.beats)
                done.append(o.source.name)
                yield o.value.record.name, o.value.beats

        with c.text_output(out) as stream:
            write_beats_csv(stream, tables())
            if not done and kind != "stdout":
                raise c.NothingWritten
    if not quiet and done:
        where = out if kind != "stdout" else "stdout"
        c.say(f"ecgtool: {n_beats} beats in {len(done)} record{'s' if len(done) != 1 else ''}"
              f" -> {where}" + (f"; {len(failures)} failed" if failures else ""))
    return 1 if failures else 0
