"""``ecgtool adapt``: carry the classifier to another database without its labels (DANN)."""

from __future__ import annotations

from typing import Optional

import typer

from ecgtool.cli import _common as c


#: Domain-head accuracy over the last 100 steps from which adaptation is said
#: to have failed: the reversed gradient vanishes when that head is always right.
ALIGNED_NEVER = 0.99


def adapt(
    source: str = typer.Option(..., "--source", help="Labelled source: a database name "
                               "under $ECGTOOL_DATA (mitdb), a folder, glob or store."),
    target: str = typer.Option(..., "--target", help="Unlabelled target: database name "
                               "(ptb, cinc2021, svdb ...), folder, glob or store."),
    out: str = typer.Option(..., "--out", "-o", help="Model directory to write."),
    init: Optional[str] = typer.Option(None, "--init", help="Classifier to start from "
                                       "(default: the shipped one)."),
    source_records: Optional[str] = typer.Option("ds1", "--source-records", help="Source "
                                                 "records to use: names and sets ('ds1', "
                                                 "'paced'), comma-separated, or 'all'."),
    source_channel: Optional[str] = typer.Option(None, "--source-channel", help="Source lead, "
                                                 "name or index (default: MLII, else the "
                                                 "first)."),
    target_channel: Optional[str] = typer.Option(None, "--target-channel", help="Target lead, "
                                                 "name or index (default: MLII, else the "
                                                 "first)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=10, help="Adversarial training "
                                        "steps (default 3000)."),
    target_labels: bool = typer.Option(False, "--target-labels", help="Score the target "
                                       "before/after with its annotations, as classify "
                                       "labels it (evaluation only: never used in "
                                       "training)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the initialisation and sampling."),
    quiet: bool = c.QuietOpt,
) -> int:
    """Domain-adversarial adaptation: the output works with `ecgtool classify --model`."""
    from dataclasses import replace

    from ecgtool.batch import progress_bar
    from ecgtool.io.inputs import ReadOptions, expand_inputs, read_source
    from ecgtool.ml.dann import DannConfig
    from ecgtool.ml.main import adapt_model, database_inputs, select_records
    from ecgtool.ml.model_io import load_model

    load_model(init)  # a bad --init fails before reading data
    src_sources = select_records(expand_inputs(database_inputs(source)), source_records,
                                 f"the source ({source})")
    tgt_sources = expand_inputs(database_inputs(target))
    if not src_sources:
        raise c.EcgToolError("no source records", source)
    if not tgt_sources:
        raise c.EcgToolError("no target records", target)
    src_opts = ReadOptions(channel=c.parse_channel(source_channel))
    tgt_opts = ReadOptions(channel=c.parse_channel(target_channel))
    src = [read_source(s, src_opts) for s in src_sources]
    tgt = []
    for s in tgt_sources:
        rec = read_source(s, tgt_opts)
        from ecgtool.signal.detect import validate_fs

        try:
            validate_fs(rec.fs)
        except c.EcgToolError as exc:
            raise c.EcgToolError(exc.problem, rec.source) from None
        tgt.append(rec)
    if not quiet:
        c.say(f"ecgtool: adapting from {len(src)} source records to {len(tgt)} target records")

    config = DannConfig(seed=seed)
    if steps:
        config = replace(config, steps=steps)
    with progress_bar(config.steps, "adapting", not quiet) as tick:
        def show(step, row):
            if tick:
                tick(step, f"adapting (domain accuracy {row['domain_acc']:.2f})")
            elif not quiet:
                c.say(f"step {step:>5}  lambda {row['lambda']:.2f}  label loss "
                      f"{row['label_loss']:.3f}  domain loss {row['domain_loss']:.3f}  "
                      f"domain accuracy {row['domain_acc']:.2f}")

        summary = adapt_model(src, tgt, out, init, config, show, target_labels)
    if not quiet:
        msg = f"ecgtool: adapted model -> {out}"
        if "source_after" in summary:
            b, a = summary["source_before"], summary["source_after"]
            msg += (f"; kept step {summary['kept_step']} of {config.steps}, the last within "
                    f"a point of the source macro F1 on records no training saw "
                    f"({', '.join(summary['source_check_records'])}, which chose it), "
                    f"no class's sensitivity on them 10 points down: "
                    f"{b['macro_f1']:.3f} -> {a['macro_f1']:.3f}")
        if "target_after" in summary:
            b, a = summary["target_before"], summary["target_after"]
            msg += (f"; target macro F1 {b['macro_f1']:.3f} -> {a['macro_f1']:.3f} "
                    "(target labels used for scoring only)")
        c.say(msg)
    last = summary.get("domain_accuracy_last_100_steps")
    if last is not None and last >= ALIGNED_NEVER:
        n = len(summary["target_records"])
        c.warn(f"the domain head still told source from target beats apart on {100 * last:.0f}% "
               f"of them at the end: DANN did not align the two ({summary['target_beats']} "
               f"target beats from {n} record{'s' if n > 1 else ''}; a target of a few "
               "records is told apart by their own beat shapes), so treat the model as not "
               "adapted")
    if "source_after" in summary and summary["kept_step"] == 0:
        c.warn("every adapted step lost source accuracy, so the model written is the "
               "starting one")
    few = summary.get("source_unchecked_classes", {})
    if few:
        c.warn("the held-out source records hold only " + ", ".join(
            f"{n} {k}" for k, n in few.items()) + " beats, so a loss in "
            f"{' or '.join(few)} went unchecked")
    if "source_after" not in summary:
        c.warn("no source record was held out (none is a validation record of the starting "
               "model), so the source accuracy after adaptation is unchecked")
    return 0
