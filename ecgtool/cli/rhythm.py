"""``ecgtool rhythm``: episodes of irregular or abnormal rhythm, with their times."""

from __future__ import annotations

from typing import Optional

import typer

from ecgtool.cli import _common as c

AnnOpt = typer.Option(None, "--ann", help="Read beat times from this WFDB annotation "
                      "file of each record (e.g. qrs, atr), or the ISHNE one beside an ISHNE "
                      "recording (ann), instead of detecting.")
AnnLabelsOpt = typer.Option(None, "--ann-labels/--no-ann-labels", help="Use the annotation "
                            "symbols as beat labels (default: only for atr).")
NoClassifyOpt = typer.Option(False, "--no-classify", help="Skip the beat classifier (no "
                             "JAX): rhythm from beat times only, except that a classified "
                             "store's classes are still used.")


def rhythm(
    inputs: Optional[list[str]] = c.InputsArg,
    out: Optional[str] = typer.Option(None, "--out", "-o", help="episodes.csv, episodes.h5, "
                                      "or - for CSV on stdout (default)."),
    ann: Optional[str] = AnnOpt,
    ann_labels: Optional[bool] = AnnLabelsOpt,
    no_classify: bool = NoClassifyOpt,
    window: Optional[int] = typer.Option(None, "--window", min=8, help="Beats per "
                                         "irregularity window (default 30)."),
    rhythm_setting: Optional[list[str]] = c.RhythmSettingOpt,
    model: Optional[str] = c.RelabelModelOpt,
    sample: bool = c.SampleOpt,
    channel: Optional[str] = c.ChannelOpt,
    second_lead: Optional[str] = c.SecondLeadOpt,
    fs: Optional[float] = c.FsOpt,
    column: Optional[str] = c.ColumnOpt,
    units: str | None = c.UnitsOpt,
    detector: Optional[list[str]] = c.DetectorOpt,
    qrs_net: Optional[str] = c.QrsNetOpt,
    p_net: Optional[str] = c.PNetOpt,
    start: Optional[str] = c.StartOpt,
    end: Optional[str] = c.EndOpt,
    jobs: int = c.JobsOpt,
    annotations: Optional[str] = typer.Option(
        None, "--annotations", metavar="DIR", help="Also write each record's beats and "
        "rhythm changes (+ with (AFIB, (N, (B ... as MIT-BIH writes them) as a WFDB "
        "annotation file DIR/RECORD.ecgtool."),
    scheduler: Optional[str] = c.SchedulerOpt,
    resume: bool = c.ResumeOpt,
    quiet: bool = c.QuietOpt,
) -> int:
    """Find AF, VF/flutter, VT/SVT/IVR runs, bigeminy/trigeminy, pauses, brady/tachy, noise."""
    from functools import partial

    from ecgtool import batch
    from ecgtool.cli._write import exit_code, noting, run_and_write, summary, writing_annotations
    from ecgtool.analysis import rhythm_annotations

    settings = c.rhythm_settings(rhythm_setting, window)
    det = c.detector_settings(detector, qrs_net, p_net)
    opts = c.read_options(channel, fs, column, units, second_lead=second_lead)
    srcs, job, model_path = analysis_setup(inputs, sample, ann, ann_labels, no_classify, model,
                                           opts, out, settings, det)
    srcs, stretch = c.stretch(srcs, start, end)
    stdin = any(s.path == "-" for s in srcs)
    c.check_folder(annotations)

    labelled = []

    def run(todo):
        return writing_annotations(noting(batch.run(
            job, todo, jobs=1 if stdin else jobs, progress=not quiet, label="rhythm",
            spawn=model_path is not None, scheduler=scheduler), labelled,
            lambda a: a.labels is not None), annotations,
            rhythm_annotations)

    done, failures, skipped = run_and_write(
        srcs, run, out, partial(write_analysis, detector=det), episodes_header, episodes_rows,
        resume, quiet,
        analysis_job("rhythm", opts, ann, ann_labels, no_classify, model, det,
                     window=settings.window_beats,
                     **c.rhythm_job(settings, leave_out=("window_beats",)), **stretch))
    if not quiet and done:
        summary("rhythm of ", done, failures, out)
    if not quiet:
        warn_unlabelled(labelled, "ectopic beats there can read as AF; VT, SVT and "
                        "idioventricular runs and trigeminy are not looked for, bigeminy comes "
                        "from beat timing")
    return exit_code(done, failures, skipped)


def warn_unlabelled(labelled: list, consequence: str) -> None:
    """Warn when some records' beats were not classified (beat times alone)."""
    n_bare = labelled.count(False)
    if n_bare:
        n = len(labelled)
        c.warn(f"beats not classified in {n_bare} of {n} record{'s' if n != 1 else ''} "
               f"(beat times alone, or --no-classify): {consequence}")


def analysis_setup(inputs, sample, ann, ann_labels, no_classify, model, opts, out,
                   settings=None, detector=None, formats=c.TABLE_FORMATS):
    """Sources, the per-record job and the model path, shared by rhythm and diagnose."""
    from functools import partial

    from ecgtool.analysis import analyse_job, expand_beat_sources, needs_classifier
    from ecgtool.pipeline import BEAT_KINDS
    from ecgtool.signal.detect import DEFAULT_SETTINGS

    srcs = expand_beat_sources(list(inputs or []), sample, ann)
    if not srcs:
        raise c.EcgToolError("no input: give records, beats tables, a store, '-' or --sample")
    c.warn_unused_fs(srcs, opts.fs)
    c.check_output_path(out, formats)
    model_path = None
    # A classified store keeps its classes (perhaps from an adapted model);
    # --model labels them again.
    relabel = model is not None
    signals = [s for s in srcs if s.kind not in ("ann",) + BEAT_KINDS]
    if not no_classify and signals and (relabel or needs_classifier(signals)):
        from ecgtool.ml.model_io import load_model

        model_path = load_model(model).path  # a bad model fails once, before any work
    job = partial(analyse_job, opts=opts, model=model_path, classify=not no_classify,
                  ann_labels=ann_labels, settings=settings,
                  detector=detector or DEFAULT_SETTINGS, relabel=relabel)
    return srcs, job, model_path


def analysis_job(command, opts, ann, ann_labels, no_classify, model, detector, **more):
    """What shapes the records of rhythm and diagnose (see :func:`_common.job`)."""
    from pathlib import Path

    return c.job(command, opts, ann=ann, ann_labels=ann_labels, classify=not no_classify,
                 model=str(Path(model).resolve()) if model else None,
                 detector=detector.changed(), **more)


def write_analysis(w, a, name, summary: dict | None = None, detector=None,
                   tables: dict | None = None):
    """One analysed record into a store: signal and beats when known, episodes, summary,
    more column ``tables`` ({name: columns}); the ``detector`` settings beside the
    beats when they were changed."""
    from ecgtool.io import store

    attrs = c.detector_attrs(detector) if detector is not None and detector.changed() else None
    g = w.begin(name, a.record, a.beats, beats_attrs=a.beats_attrs(attrs),
                fs=None if a.record or a.beats is not None else a.fs)
    g.attrs["duration_s"] = a.duration_s
    if a.start_clock and "start_clock" not in g.attrs:
        # A long recording analysed in blocks keeps no signal here, but its clock.
        store.set_attr(g, "start_clock", a.start_clock)
    if a.record is None and a.beats is None:
        # Beat times alone (annotation files, a time_s table): kept, so that
        # the store serves rhythm and diagnose as its input did.
        store.write_beat_times(g, a.times_s, a.labels)
    store.write_table(g, "episodes", a.episodes.columns())
    if summary is not None:
        store.write_summary(g, summary)
    for table, cols in (tables or {}).items():
        store.write_table(g, table, cols)
    w.finish(g)


def episodes_header(a) -> str:
    from ecgtool.rhythm import EPISODE_COLUMNS

    return ",".join(("record",) + EPISODE_COLUMNS) + "\n"


def episodes_rows(a) -> str:
    from ecgtool.io.tables import format_table

    lines = format_table(a.episodes.columns(), a.name, float_format="{:.3f}")
    return "\n".join(lines) + "\n" if lines else ""
