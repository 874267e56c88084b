"""``ecgtool evaluate``: EC57 beat-by-beat scores of detection (and of the beat
classes) against reference labels."""

from __future__ import annotations

import os
from typing import Optional

import typer

from ecgtool.cli import _common as c


def evaluate(
    inputs: Optional[list[str]] = c.InputsArg,
    beats: Optional[str] = typer.Option(None, "--beats", help="Score the beats in this "
                                        "store or beats CSV (from `ecgtool detect` or "
                                        "`classify`) instead of detecting."),
    skip_learning: bool = typer.Option(False, "--skip-learning", help="Leave out the first "
                                       "5 minutes (EC57's learning period)."),
    window: float = typer.Option(0.15, "--window", min=0.01, max=1.0,
                                 help="Match window in seconds."),
    classes: bool = typer.Option(False, "--classes", help="Also score the AAMI class of "
                                 "each beat (from a classified --beats store or table, else "
                                 "classified now): Se, +P and F1 per class, end to end."),
    rhythm: Optional[str] = typer.Option(None, "--rhythm", help="Score episodes of this "
                                         "rhythm (af, vf, vt, bigeminy ...) against the reference "
                                         "rhythm changes, instead of the beats."),
    ann: Optional[str] = typer.Option(None, "--ann", help="Score the beats of this WFDB "
                                      "annotation file beside each record (e.g. qrs from "
                                      "another detector; with --classes, their symbols as "
                                      "classes), or with --rhythm take beat times from it, "
                                      "instead of detecting."),
    min_episode: float = typer.Option(0.0, "--min-episode", min=0.0,
                                      help="With --rhythm: leave episodes shorter than this "
                                      "(seconds), reference and found, out of the episode "
                                      "counts (0: every episode, as EC57; 30: the clinical "
                                      "least length of an AF episode)."),
    rhythm_setting: Optional[list[str]] = c.RhythmSettingOpt,
    model: Optional[str] = typer.Option(None, "--model", help="Classifier for --classes "
                                        "and --rhythm (default: the shipped one)."),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Also write the scores as "
                                      "JSON here."),
    sample: bool = c.SampleOpt,
    start: Optional[str] = c.StartOpt,
    end: Optional[str] = c.EndOpt,
    channel: Optional[str] = c.ChannelOpt,
    second_lead: Optional[str] = c.SecondLeadOpt,
    detector: Optional[list[str]] = c.DetectorOpt,
    qrs_net: Optional[str] = c.QrsNetOpt,
    p_net: Optional[str] = c.PNetOpt,
    jobs: int = c.JobsOpt,
    quiet: bool = c.QuietOpt,
) -> int:
    """Score detection (--classes: and beat classes; --rhythm: episodes) against the reference.

    Detection: Se, +P and F1 per record and gross, records with paced beats
    apart; ventricular flutter and the stretches the reference marks unreadable
    are not scored (EC57). With --classes, also the beat classes: a missed beat
    counts as wrong and an extra detection as a false positive of its class; and
    EC57's ectopic-beat figures (VEB, SVEB), which forgive fusion and
    unclassifiable beats called V. With --rhythm, the episodes `ecgtool rhythm`
    finds instead (duration and episode Se and +P, burden error), from the
    reference's first annotated beat to its last.
    """
    import json
    from functools import partial

    from ecgtool.io.tables import json_ready
    from ecgtool.scoring import score_job, score_table

    opts = c.read_options(channel, second_lead=second_lead)
    if (start is not None or end is not None) and (beats or ann):
        raise c.EcgToolError("--start/--end score what is found in the stretch now, not "
                             "--beats or --ann")
    if rhythm:
        return _evaluate_rhythm(inputs, sample, ann, rhythm, model, opts, out, jobs, quiet,
                                c.detector_settings(detector, qrs_net, p_net), min_episode,
                                start, end, c.rhythm_settings(rhythm_setting))
    if rhythm_setting:
        raise c.EcgToolError("--rhythm-setting changes the episodes --rhythm scores: "
                             "give --rhythm too")
    if ann and beats:
        raise c.EcgToolError("give the beats to score with --beats or --ann, not both")
    if beats and not os.path.isfile(beats):
        raise c.EcgToolError("no such file", beats)
    srcs, _ = c.stretch(c.sources(inputs, sample), start, end)
    if out:
        c.check_output_path(out, (".json",))
    if classes:
        from ecgtool.ml.model_io import load_model

        model = str(load_model(model).path)  # a bad model directory fails once, here
    job = partial(score_job, opts=opts, beats_store=beats, skip_learning=skip_learning,
                  window_s=window, classes=classes, model=model,
                  detector=c.detector_settings(detector, qrs_net, p_net), test_ann=ann)
    scores, failed = _scores(job, srcs, jobs, quiet, spawn=classes)
    if not scores:
        return 1  # each record's error is on stderr already
    if classes:
        _warn_fitted([s.detection.record for s in scores if s.classified_now], model)
    table = score_table(scores)
    print(table.text())
    if out:
        with c.text_output(out) as stream:
            json.dump(json_ready(table.as_dict(skip_learning=skip_learning, window_s=window)),
                      stream, indent=2, allow_nan=False)
    return 1 if failed else 0


def _evaluate_rhythm(inputs, sample, ann, rhythm, model, opts, out, jobs, quiet,
                     detector, min_episode: float = 0.0, start=None, end=None,
                     settings=None) -> int:
    import json
    from functools import partial

    from ecgtool.cli.rhythm import analysis_setup
    from ecgtool.io.tables import json_ready
    from ecgtool.scoring import rhythm_score_job, rhythm_table

    srcs, analyse, model_path = analysis_setup(inputs, sample, ann, None, False, model, opts,
                                               out, settings, detector, formats=(".json",))
    srcs, _ = c.stretch(srcs, start, end)
    job = partial(rhythm_score_job, analyse=analyse, rhythm=rhythm.lower(),
                  min_episode_s=min_episode)
    scores, failed = _scores(job, srcs, jobs, quiet, spawn=not ann)
    if not scores:
        return 1
    if model_path is not None:
        _warn_fitted([s.record for s in scores], model_path)
    text, data = rhythm_table(scores, rhythm.lower(), min_episode)
    print(text)
    if out:
        with c.text_output(out) as stream:
            json.dump(json_ready(data), stream, indent=2, allow_nan=False)
    return 1 if failed else 0


def _warn_fitted(records: list[str], model_path: str) -> None:
    # Scores on the classifier's own training records say little about new patients.
    from ecgtool.ml.model_io import load_model

    card = load_model(model_path).card
    seen = set(card.get("training_records", []) + card.get("validation_records", []))
    fitted = sorted(set(records) & seen)
    if fitted:
        c.warn(f"the classifier was trained on records named {', '.join(fitted)}: their "
               "scores show how it fits them, not how it does on patients it never saw")


def _scores(job, srcs, jobs, quiet, spawn) -> tuple[list, int]:
    # Run the scoring job over the records; failures are reported and counted.
    from ecgtool import batch

    scores, failed = [], 0
    for o in batch.run(job, srcs, jobs=jobs, progress=not quiet, label="evaluate",
                       spawn=spawn):
        c.report_outcome(o)
        if o.ok:
            scores.append(o.value)
        else:
            failed += 1
    if not scores and not failed:
        raise c.EcgToolError("no record could be scored")
    return scores, failed
