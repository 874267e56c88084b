"""``ecgtool train``: train a beat classifier on annotated records."""

from __future__ import annotations

from typing import Optional

import typer

from ecgtool.cli import _common as c
from ecgtool.ml.config import TrainConfig


def train(
    ctx: typer.Context,
    data: list[str] = typer.Option(..., "--data", "-d", help="Annotated records: a folder of "
                                   "WFDB records, record paths, or an .h5 store."),
    out: str = typer.Option(..., "--out", "-o", help="Model directory to write."),
    records: Optional[str] = typer.Option(None, "--records", help="Comma-separated record "
                                          "names and sets to use: 'ds1' (de Chazal's "
                                          "training half of MIT-BIH), 'ds2', 'paced' (its "
                                          "paced records), or 'all' (the default)."),
    val: int = typer.Option(4, "--val", min=0, help="Records held out for early stopping "
                            "(drawn to hold 20 beats each of N, S and V where the records "
                            "allow)."),
    epochs: int = typer.Option(TrainConfig.epochs, "--epochs", min=1),
    seed: int = typer.Option(TrainConfig.seed, "--seed"),
    motion_noise: float = typer.Option(
        TrainConfig.motion_noise, "--motion-noise", min=0.0, max=1.0,
        help="Largest SD, in R amplitudes, of the electrode-motion-like noise added to half "
        "the training beats; 0 for none."),
    polarity_flip: float = typer.Option(
        TrainConfig.polarity_flip, "--polarity-flip", min=0.0, max=1.0,
        help="Share of training beats turned upside down with their template, so that a "
        "lead's polarity does not decide the class; 0 for none."),
    channel: Optional[str] = c.ChannelOpt,
    quiet: bool = c.QuietOpt,
) -> int:
    """Train the CNN beat classifier; writes params.msgpack and a model.json card."""
    from dataclasses import replace

    from ecgtool.io.inputs import ReadOptions, expand_inputs, read_source
    from ecgtool.ml.main import select_records, train_model

    srcs = select_records(expand_inputs(list(data)), records, "--data")
    if not srcs:
        raise c.EcgToolError("no training records")
    opts = ReadOptions(channel=c.parse_channel(channel))
    recs = [read_source(s, opts) for s in srcs]
    config = replace(TrainConfig(), epochs=epochs, seed=seed, motion_noise=motion_noise,
                     polarity_flip=polarity_flip)
    if not quiet:
        from ecgtool.ml.input_pipeline import held_out_count

        held = held_out_count(len({r.name for r in recs}), val)
        c.say(f"ecgtool: {len(recs)} record{'s' * (len(recs) != 1)}: "
              f"{len(recs) - held} to train on, " +
              (f"{held} held out for early stopping" if held else
               "none held out (every epoch runs, the last is kept)"))

    def show(row):
        if not quiet:
            extra = (f"  val loss {row['val_loss']:.4f}  macro-F1 {row['val_macro_f1']:.3f}  accuracy "
                     f"{row['val_accuracy']:.3f}" if "val_macro_f1" in row else "")
            c.say(f"epoch {row['epoch']:>3}  loss {row['train_loss']:.4f}{extra}")

    # The card's command repeats every option that was not left at its default.
    command = [f"--data {d}" for d in data] + [
        f"{p.opts[0]} {ctx.params[p.name]}" for p in ctx.command.params
        if p.name not in ("data", "out", "quiet") and ctx.params[p.name] != p.default]
    res = train_model(recs, out, config, n_val=val, on_epoch=show,
                      extra_card={"command": "ecgtool train " + " ".join(command)})
    if not quiet:
        c.say(f"ecgtool: best epoch {res.best_epoch} of {len(res.history)} in "
              f"{res.seconds:.0f} s -> {out}")
    if res.val_metrics:
        from ecgtool.ml.main import unchecked_classes

        few = unchecked_classes(res.val_metrics)
        if few:
            # split_records found no draw holding 20 of each while leaving
            # half of every class to train on.
            c.warn("the records held out for early stopping hold only " + ", ".join(
                f"{n} {k}" for k, n in few.items()) + " beats, so the epoch was chosen "
                f"blind to {' and '.join(few)}")
    return 0
