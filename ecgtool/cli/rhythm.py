"""``ecgtool rhythm``: episodes of irregular or abnormal rhythm, with their times."""

from __future__ import annotations

from typing import Optional

import typer

from ecgtool.cli import _common as c

AnnOpt = typer.Option(None, "--ann", help="Read beat times from this WFDB annotation "
                      "file of each record (e.g. qrs, atr) instead of detecting.")
AnnLabelsOpt = typer.Option(None, "--ann-labels/--no-ann-labels", help="Use the annotation "
                            "symbols as beat labels (default: only for atr).")
NoClassifyOpt = typer.Option(False, "--no-classify", help="Skip the beat classifier (no "
                             "JAX): rhythm from beat times only.")


def rhythm(
    inputs: Optional[list[str]] = c.InputsArg,
    out: Optional[str] = typer.Option(None, "--out", "-o", help="episodes.csv, episodes.h5, "
                                      "or - for CSV on stdout (default)."),
    ann: Optional[str] = AnnOpt,
    ann_labels: Optional[bool] = AnnLabelsOpt,
    no_classify: bool = NoClassifyOpt,
    window: int = typer.Option(30, "--window", min=8, help="Beats per irregularity window."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Classifier directory."),
    sample: bool = c.SampleOpt,
    channel: Optional[str] = c.ChannelOpt,
    fs: Optional[float] = c.FsOpt,
    column: Optional[str] = c.ColumnOpt,
    units: str = c.UnitsOpt,
    jobs: int = c.JobsOpt,
    quiet: bool = c.QuietOpt,
) -> int:
    """Find AF, VT/SVT runs, bigeminy/trigeminy, pauses, brady/tachycardia and noise."""
    from dataclasses import replace
    from functools import partial

    from ecgtool import batch
    from ecgtool.pipeline import analyse_job, expand_beat_sources
    from ecgtool.rhythm import DEFAULT_RHYTHM

    opts = c.read_options(channel, fs, column, units)
    srcs = expand_beat_sources(list(inputs or []), sample, ann)
    if not srcs:
        raise c.EcgToolError("no input: give records, beats tables, a store, '-' or --sample")
    c.check_output_path(out)
    model_path = None
    if not no_classify and any(s.kind not in ("ann", "beats_csv") for s in srcs):
        from ecgtool.ml.model_io import load_model

        model_path = load_model(model).path
    settings = replace(DEFAULT_RHYTHM, window_beats=window)
    job = partial(analyse_job, opts=opts, model=model_path, classify=not no_classify,
                  ann_labels=ann_labels, settings=settings)
    stdin = any(s.path == "-" for s in srcs)
    outcomes = batch.run(job, srcs, jobs=1 if stdin else jobs, progress=not quiet,
                         label="rhythm", spawn=model_path is not None)
    done, failures = write_analyses(outcomes, out, "episodes")
    if not quiet and done:
        where = out if c.output_kind(out) != "stdout" else "stdout"
        c.say(f"ecgtool: rhythm of {len(done)} record{'s' if len(done) != 1 else ''} -> {where}"
              + (f"; {len(failures)} failed" if failures else ""))
    return 1 if failures else 0


def write_analyses(outcomes, out, table: str, summaries=None):
    """Write episodes (CSV: one row per episode) or whole analyses (HDF5)."""
    from ecgtool.io.tables import format_table
    from ecgtool.rhythm import EPISODE_COLUMNS

    kind = c.output_kind(out)
    done, failures = [], []

    def ok():
        for o in outcomes:
            c.report_outcome(o)
            if not o.ok:
                failures.append((o.source.name, o.source.path, o.error))
                continue
            done.append(o.source.name)
            yield o

    if kind == "store":
        from ecgtool.io import store

        with store.atomic_path(out) as tmp:
            f = store.open_store(tmp, "w")
            try:
                for i, o in enumerate(ok()):
                    a = o.value
                    store.write_record(f, a.record, o.source.name, a.beats, order=i,
                                       fs=None if a.record else 1.0)
                    g = f["records"][store.group_name(o.source.name)]
                    g.attrs["duration_s"] = a.duration_s
                    store.write_table(g, "episodes", a.episodes.columns())
                    if summaries is not None:
                        store.write_summary(g, summaries(a))
                store.write_errors(f, failures)
            finally:
                f.close()
            if not done:
                raise c.NothingWritten
        return done, failures
    with c.text_output(out) as stream:
        header = False
        for o in ok():
            if not header:
                stream.write(",".join(("record",) + EPISODE_COLUMNS) + "\n")
                header = True
            lines = format_table(o.value.episodes.columns(), o.value.name,
                                 float_format="{:.3f}")
            if lines:
                stream.write("\n".join(lines) + "\n")
        if not done and kind != "stdout":
            raise c.NothingWritten
    return done, failures
