"""``ecgtool convert``: records from any supported format into the HDF5 store or CSV."""

from __future__ import annotations

from typing import Optional

import typer

from ecgtool.cli import _common as c

#: Samples written to CSV at a time: a record's lines at once took several
#: times its samples' memory.
CSV_BLOCK = 1 << 20


def convert(
    inputs: Optional[list[str]] = c.InputsArg,
    out: Optional[str] = typer.Option(None, "--out", "-o", help="store.h5, file.csv, - "
                                      "for CSV on stdout (default; one record only), "
                                      "file.edf (EDF+, one record), or a folder (DIR/) for "
                                      "WFDB records (.hea, .dat, .atr) or EDF+ files."),
    fmt: str = typer.Option("wfdb", "--format", help="What a folder given as --out "
                            "receives: wfdb or edf.", metavar="wfdb|edf"),
    sample: bool = c.SampleOpt,
    channel: Optional[str] = typer.Option(None, "--channel", "-c", help="Lead name or index "
                                          "to use (default: MLII, II, first); 'all' keeps "
                                          "every lead."),
    fs: Optional[float] = c.FsOpt,
    column: Optional[str] = c.ColumnOpt,
    units: str | None = c.UnitsOpt,
    beats: bool = typer.Option(False, "--beats", help="Write the beats as the annotations, "
                               "in place of the reference: a store's (with their classes), "
                               "else detected now; for a viewer (EDFbrowser, WAVE) to show "
                               "them."),
    second_lead: Optional[str] = typer.Option(None, "--second-lead", metavar="LEAD",
                                              help="With --beats: find the beats on this "
                                              "lead too (as detect --second-lead does)."),
    detector: Optional[list[str]] = typer.Option(
        None, "--detector", metavar="NAME=VALUE", help="With --beats: change a detector "
        "setting, as detect --detector does. Repeatable."),
    start: Optional[str] = c.StartOpt,
    end: Optional[str] = c.EndOpt,
    jobs: int = c.JobsOpt,
    scheduler: Optional[str] = c.SchedulerOpt,
    resume: bool = c.ResumeOpt,
    quiet: bool = c.QuietOpt,
) -> int:
    """Read records (WFDB, EDF, ISHNE, XML, DICOM, .mat, CSV, .h5); write a store, CSV, WFDB, EDF+.

    Recordings over 2 hours (WFDB, EDF, ISHNE) are read and written half an hour
    at a time, and of a stretch cut with --start and --end only that stretch is read.
    """
    from functools import partial
    from pathlib import Path

    import numpy as np

    from ecgtool import batch
    from ecgtool.cli._write import exit_code, run_and_write, summary
    from ecgtool.io.store import write_signal_blocks
    from ecgtool.io.tables import format_table, quoted
    from ecgtool.longrecord import LongRecord
    from ecgtool.pipeline import read_beats_job, read_job

    all_leads = channel is not None and channel.lower() == "all"
    for given, name in ((second_lead is not None, "--second-lead"), (bool(detector), "--detector")):
        if given and not beats:
            raise c.EcgToolError(f"{name} finds beats for --beats; without it convert "
                                 "writes the signal as it is")
    settings = c.detector_settings(detector)
    opts = c.read_options(None if all_leads else channel, fs, column, units, all_leads,
                          second_lead=second_lead)
    # A stretch of a stdin signal is cut once it is read whole.
    srcs, cut = c.stretch(c.sources(inputs, sample, fs), start, end, signal_only=False)
    c.check_output_path(out, c.TABLE_FORMATS + ("wfdb", ".edf"))
    kind = c.output_kind(out)
    fmt = fmt.lower()
    if fmt not in ("wfdb", "edf"):
        raise c.EcgToolError(f"--format {fmt}: give wfdb or edf")
    if fmt != "wfdb" and kind != "folder":
        raise c.EcgToolError("--format is for a folder given as --out (DIR/)")
    if kind not in ("store", "folder") and len(srcs) > 1:
        held = "an EDF file" if kind == "edf" else "CSV"
        raise c.EcgToolError(f"{len(srcs)} records given; {held} holds one record, "
                             "write an .h5 store or a folder (DIR/) instead")
    if kind == "edf" or (kind == "folder" and fmt == "edf"):
        from ecgtool.io.edfout import edfio_or_error

        edfio_or_error(out)  # before any record is read
    if beats and kind not in ("edf", "folder"):
        raise c.EcgToolError("--beats writes the beats as annotations, for EDF+ or WFDB "
                             "output (file.edf, DIR/)")
    job = partial(read_beats_job, opts=opts, settings=settings) if beats else \
        partial(read_job, opts=opts)

    def run(todo):
        return batch.run(job, todo, jobs=jobs, progress=not quiet, label="convert",
                         scheduler=scheduler)

    def write(w, rec, name):
        if isinstance(rec, LongRecord):
            g = w.begin(name, rec.head, with_signal=False)
            write_signal_blocks(g, rec.n_samples, len(rec.head.leads), rec.blocks())
            w.finish(g)
        else:
            w.finish(w.begin(name, rec))

    written = set()  # WFDB names given so far: "a b" and "a_b" must not share files

    def write_record_files(where, rec, name):
        from ecgtool.io.edfout import write_edf
        from ecgtool.io.inputs import numbered
        from ecgtool.io.wfdbout import wfdb_name, write_wfdb

        head, blocks, n = ((rec.head, rec.blocks, rec.n_samples) if isinstance(rec, LongRecord)
                           else (rec, None, None))
        try:
            if kind == "edf":
                write_edf(where, head, blocks, n)
            elif fmt == "edf":
                write_edf(Path(where) / f"{numbered(wfdb_name(name), written)}.edf", head,
                          blocks, n)
            else:
                write_wfdb(where, head, blocks, n, numbered(wfdb_name(name), written))
        except OSError as exc:
            raise c.EcgToolError(f"cannot write ({exc.strerror})", where) from None

    def head(rec):
        return rec.head if isinstance(rec, LongRecord) else rec

    # Sample times first, so that the file carries its rate: read back, it
    # needs no --fs.
    def header(rec):
        return ",".join(["time_s"] + [quoted(str(x)) for x in head(rec).leads]) + "\n"

    def rows(rec):
        step = CSV_BLOCK
        blocks = rec.blocks() if isinstance(rec, LongRecord) else (
            (a, rec.signals[a:a + step]) for a in range(0, rec.n_samples, step))
        for start, x in blocks:
            t = (start + np.arange(len(x))) / head(rec).fs
            cols = {lead: x[:, i] for i, lead in enumerate(head(rec).leads)}
            lines = format_table(cols, float_format="{:.5g}")
            yield "\n".join(f"{s:.6f},{line}" for s, line in zip(t.tolist(), lines)) + "\n"

    # An excerpt is another job: a resumed store must hold the same stretch.
    done, failures, skipped = run_and_write(srcs, run, out, write, header, rows, resume,
                                            quiet, c.job("convert", opts, **cut),
                                            write_record_files)
    if not quiet and done:
        summary("", done, failures, out)
    return exit_code(done, failures, skipped)
