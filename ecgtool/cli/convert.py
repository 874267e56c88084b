"""``ecgtool convert``: records from any supported format into the HDF5 store or CSV."""

from __future__ import annotations

from typing import Optional

import typer

from ecgtool.cli import _common as c


def convert(
    inputs: Optional[list[str]] = c.InputsArg,
    out: Optional[str] = typer.Option(None, "--out", "-o", help="store.h5, file.csv, or - "
                                      "for CSV on stdout (default; one record only)."),
    sample: bool = c.SampleOpt,
    channel: Optional[str] = typer.Option(None, "--channel", "-c", help="Lead name or index "
                                          "to use (default: MLII, II, first); 'all' keeps "
                                          "every lead."),
    fs: Optional[float] = c.FsOpt,
    column: Optional[str] = c.ColumnOpt,
    units: str = c.UnitsOpt,
    jobs: int = c.JobsOpt,
    quiet: bool = c.QuietOpt,
) -> int:
    """Read records (WFDB, CinC .mat, CSV, ecgtool .h5) and write them as a store or CSV."""
    from functools import partial

    from ecgtool import batch
    from ecgtool.pipeline import read_job

    all_leads = channel is not None and channel.lower() == "all"
    opts = c.read_options(None if all_leads else channel, fs, column, units, all_leads)
    srcs = c.sources(inputs, sample)
    c.check_output_path(out)
    kind = c.output_kind(out)
    if kind != "store" and len(srcs) > 1:
        raise c.EcgToolError(f"{len(srcs)} records given; CSV holds one record, "
                             "write an .h5 store instead")
    outcomes = batch.run(partial(read_job, opts=opts), srcs, jobs=jobs, progress=not quiet,
                         label="convert")
    failures, done = [], []
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
                    store.write_record(f, o.value, o.source.name, order=i)
                    done.append(o.source.name)
                store.write_errors(f, failures)
            finally:
                f.close()
            if not done:
                raise c.NothingWritten
    else:
        o = next(iter(outcomes))
        c.report_outcome(o)
        if not o.ok:
            return 1
        from ecgtool.io.tables import format_table

        rec = o.value
        with c.text_output(out) as stream:
            stream.write(",".join(rec.leads) + "\n")
            cols = {lead: rec.signals[:, i] for i, lead in enumerate(rec.leads)}
            stream.write("\n".join(format_table(cols, float_format="{:.5g}")) + "\n")
        done.append(rec.name)
    if not quiet and done:
        where = out if kind != "stdout" else "stdout"
        c.say(f"ecgtool: {len(done)} record{'s' if len(done) != 1 else ''} -> {where}"
              + (f"; {len(failures)} failed" if failures else ""))
    return 1 if failures else 0
