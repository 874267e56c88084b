"""``ecgtool classify``: an AAMI class (N/S/V/F/Q), its probabilities and the MIT-BIH
symbol for every beat."""

from __future__ import annotations

from typing import Optional

import typer

from ecgtool.cli import _common as c


#: Said on stderr whenever beats are labelled from a beats table alone.
TABLE_ONLY = ("labelling beats from the beats table alone (no waveform): less accurate than "
              "from the signal (macro F1 0.59 against 0.68 on left-out MIT-BIH records, "
              "benchmarks/classify_table.py); give classify the signal or a store from detect "
              "when you have them")


def classify(
    inputs: Optional[list[str]] = c.InputsArg,
    out: Optional[str] = typer.Option(None, "--out", "-o", help="labelled.h5, beats.csv, "
                                      "or - for CSV on stdout (default)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model directory "
                                        "(default: the classifier shipped with ecgtool)."),
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
    annotations: Optional[str] = c.AnnotationsOpt,
    scheduler: Optional[str] = c.SchedulerOpt,
    resume: bool = c.ResumeOpt,
    quiet: bool = c.QuietOpt,
) -> int:
    """Label every beat: AAMI class, class probabilities and, where known, the MIT-BIH symbol.

    Records are detected first; beat stores from `detect` are reused. A beats
    table (`detect --out -`) is labelled from its own measures, less accurately
    (a warning says so). The class is the network's, revised by the rhythm
    around the beat: a wide beat shaped and timed as its neighbours is N, a
    beat much wider than the normal beats around it is V, a V call whose
    shape the beats near it call N is N (and an N or S call unlike the usual
    beat that they call V is V), a slow run of wide beats without P waves is
    V, and a V call shaped as no beat near it, amid others, is Q (noise). p_*
    are the network's.
    """
    from functools import partial

    from ecgtool import batch
    from ecgtool.cli._write import (beat_count, beats_header, beats_rows, exit_code, noting,
                                    run_and_write, summary, write_detected,
                                    writing_annotations)
    from ecgtool.ml.classify import table_head
    from ecgtool.ml.model_io import load_model, load_table_model
    from ecgtool.pipeline import BEAT_KINDS, classify_job, table_sources

    settings = c.detector_settings(detector, qrs_net, p_net)
    opts = c.read_options(channel, fs, column, units, second_lead=second_lead)
    srcs, stretch = c.stretch(table_sources(c.sources(inputs, sample, fs)), start, end)
    c.check_output_path(out, c.TABLE_FORMATS)
    c.check_folder(annotations)
    # Beats tables alone need the model's table head, not the network: no JAX.
    network = any(s.kind not in BEAT_KINDS for s in srcs)
    # A bad model fails here, once, before any work.
    clf = load_model(model) if network else load_table_model(model)
    if any(s.kind in BEAT_KINDS for s in srcs):
        table_head(clf)  # a model without one fails here, once
        c.warn(TABLE_ONLY)
    stdin = any(s.path == "-" for s in srcs)
    counted = []

    def run(todo):
        return writing_annotations(noting(batch.run(
            partial(classify_job, opts=opts, model=clf.path, detector=settings), todo,
            jobs=1 if stdin else jobs, progress=not quiet, label="classify", spawn=network,
            scheduler=scheduler), counted, beat_count), annotations)

    attrs = c.detector_attrs(settings, model=clf.path,
                             model_training_records=clf.card.get("training_records", []))
    done, failures, skipped = run_and_write(
        srcs, run, out, write_detected(True, attrs), beats_header, beats_rows, resume, quiet,
        c.job("classify", opts, detector=settings.changed(), model=clf.path, **stretch))
    if not quiet and done:
        summary(f"classified {sum(counted)} beats in ", done, failures, out)
    return exit_code(done, failures, skipped)
