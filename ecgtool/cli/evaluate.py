"""``ecgtool evaluate``: EC57 beat-by-beat scores of detection (and of the beat
classes) against reference labels."""

from __future__ import annotations

from typing import Optional

import typer

from ecgtool.cli import _common as c


def evaluate(
    inputs: Optional[list[str]] = c.InputsArg,
    beats: Optional[str] = typer.Option(None, "--beats", help="Score the beats in this "
                                        "store (from `ecgtool detect`) instead of detecting."),
    skip_learning: bool = typer.Option(False, "--skip-learning", help="Leave out the first "
                                       "5 minutes (EC57's learning period)."),
    window: float = typer.Option(0.15, "--window", min=0.01, max=1.0,
                                 help="Match window in seconds."),
    classes: bool = typer.Option(False, "--classes", help="Also score the AAMI class of "
                                 "each beat (from a classified --beats store, else "
                                 "classified now): Se, +P and F1 per class, end to end."),
    model: Optional[str] = typer.Option(None, "--model", help="Classifier for --classes "
                                        "(default: the shipped one)."),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Also write the scores as "
                                      "JSON here."),
    sample: bool = c.SampleOpt,
    channel: Optional[str] = c.ChannelOpt,
    jobs: int = c.JobsOpt,
    quiet: bool = c.QuietOpt,
) -> int:
    """Score detection per record and gross (Se, +P, F1); paced records apart.

    With --classes, also the beat classes: a missed beat counts as wrong and an
    extra detection as a false positive of its class.
    """
    import json
    from functools import partial

    from ecgtool import batch
    from ecgtool.scoring import score_job, score_table

    opts = c.read_options(channel)
    srcs = c.sources(inputs, sample)
    if out:
        c.check_output_path(out)
    seen = set()
    if classes:
        from ecgtool.ml.model_io import load_model

        clf = load_model(model)  # a bad model directory fails once, here
        model = str(clf.path)
        seen = set(clf.card.get("training_records", []) + clf.card.get("validation_records", []))
    job = partial(score_job, opts=opts, beats_store=beats, skip_learning=skip_learning,
                  window_s=window, classes=classes, model=model)
    scores, failed = [], 0
    for o in batch.run(job, srcs, jobs=jobs, progress=not quiet, label="evaluate",
                       spawn=classes):
        c.report_outcome(o)
        if o.ok:
            scores.append(o.value)
        else:
            failed += 1
    if not scores:
        raise c.EcgToolError("no record could be scored")
    fitted = sorted(s.detection.record for s in scores if s.classified_now
                    and s.detection.record in seen)
    if fitted:
        c.warn(f"the classifier was trained on records named {', '.join(fitted)}: their class "
               "scores show how it fits them, not how it does on patients it never saw")
    table = score_table(scores)
    print(table.text())
    if out:
        with c.text_output(out) as stream:
            json.dump(table.as_dict(skip_learning=skip_learning, window_s=window), stream,
                      indent=2)
    return 1 if failed else 0
