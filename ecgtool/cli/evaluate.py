"""``ecgtool evaluate``: EC57 beat-by-beat scores of detection against reference labels."""

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
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Also write the scores as "
                                      "JSON here."),
    sample: bool = c.SampleOpt,
    channel: Optional[str] = c.ChannelOpt,
    jobs: int = c.JobsOpt,
    quiet: bool = c.QuietOpt,
) -> int:
    """Score detection per record and gross (Se, +P, F1); paced records apart."""
    import json
    from functools import partial

    from ecgtool import batch
    from ecgtool.scoring import score_job, score_table

    opts = c.read_options(channel)
    srcs = c.sources(inputs, sample)
    if out:
        c.check_output_path(out)
    job = partial(score_job, opts=opts, beats_store=beats, skip_learning=skip_learning,
                  window_s=window)
    scores, failed = [], 0
    for o in batch.run(job, srcs, jobs=jobs, progress=not quiet, label="evaluate"):
        c.report_outcome(o)
        if o.ok:
            scores.append(o.value)
        else:
            failed += 1
    if not scores:
        raise c.EcgToolError("no record could be scored")
    table = score_table(scores)
    print(table.text())
    if out:
        with c.text_output(out) as stream:
            json.dump(table.as_dict(skip_learning=skip_learning, window_s=window), stream,
                      indent=2)
    return 1 if failed else 0
