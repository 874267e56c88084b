"""How much the classifier depends on its training seed, and whether averaging helps.

Leave-one-record-out over the annotated non-paced MIT-BIH DS1 records, as in
``benchmarks/classify.py``, with the CNN trained from several seeds (each
seed also draws its own validation records). Reports, at the reference beat
positions, each seed's figures ("cnn": what ``ecgtool classify`` outputs,
the network's class revised by the rhythm; "network only") and those of the
seeds' networks averaged (mean class probabilities; mean logits).

Usage::

    python benchmarks/classify_seeds.py                 # seeds 0 1 2 (about 35-50 min on 2 cores)
    python benchmarks/classify_seeds.py --seeds 0 1 2 3
    python benchmarks/classify_seeds.py --save-logits seeds.npz   # keep the fold networks' logits
    python benchmarks/classify_seeds.py --logits seeds.npz        # score the rules again on them

Training the fold networks takes all the time; the rules that revise their
classes take seconds. ``--logits`` scores the current rules on logits saved
by an earlier run (the file names the commit that saved them, and so does
the RESULTS.md text); logits saved before a change to the network's inputs
or its training are stale.

Writes benchmarks/results/classify_seeds.json and the "classify_seeds"
section of RESULTS.md.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.special import softmax

from _common import command_line, ds1_records, machine, md_table, update_results_md, write_json
from classify import K, cnn_fit, cnn_logits, confusion, fmt_row, metrics
from ecgtool.beats.labels import class_index
from ecgtool.ml.input_pipeline import BeatDataset, reference_dataset


def held_out_logits(names, ref_ds, seeds):
    """{(record, seed): logits of the record's beats by the network trained without it}."""
    out = {}
    for n in names:
        train = ref_ds.of_records([m for m in names if m != n])
        part = ref_ds.of_records([n])
        for seed in seeds:
            out[(n, seed)] = cnn_logits(cnn_fit(train, seed), part)
        print(f"record {n} done", flush=True)
    return out


def load_logits(path, names, seeds):
    """The logits ``--save-logits`` wrote, and the commit that wrote them."""
    saved = np.load(path)
    missing = [f"{n}/seed{s}" for n in names for s in seeds if f"{n}/seed{s}" not in saved]
    if missing:
        raise SystemExit(f"{path}: no logits for {missing[0]} (saved with other seeds?)")
    return {(n, s): saved[f"{n}/seed{s}"] for n in names for s in seeds}, str(saved["_commit"])


def score(names, parts, times, scores_of) -> dict:
    """Confusions of the revised classes ("cnn") and the network's own."""
    from ecgtool.ml.classify import aami_classes

    cm = {"cnn": np.zeros((K + 1, K + 1), int), "network only": np.zeros((K + 1, K + 1), int)}
    for n in names:
        s, part = scores_of(n), parts[n]
        keep = part.labels >= 0
        revised = class_index(aami_classes(s, times[n], part.windows()))
        cm["cnn"] += confusion(part.labels[keep], revised[keep])
        cm["network only"] += confusion(part.labels[keep], s.argmax(axis=1)[keep])
    return {k: metrics(v) for k, v in cm.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--save-logits", metavar="NPZ", help="write the fold networks' logits here")
    ap.add_argument("--logits", metavar="NPZ", help="score logits saved by --save-logits")
    args = ap.parse_args()
    recs = ds1_records()
    names = list(recs)
    parts = {n: reference_dataset(recs[n]) for n in names}
    times = {n: parts[n].r_peak / recs[n].fs for n in names}
    saved_at = None
    if args.logits:
        logits, saved_at = load_logits(args.logits, names, args.seeds)
    else:
        ref_ds = BeatDataset.concat([parts[n] for n in names])
        logits = held_out_logits(names, ref_ds, args.seeds)
    if args.save_logits:
        np.savez(args.save_logits, _commit=np.array(machine()["commit"] or "?"),
                 **{f"{n}/seed{s}": v for (n, s), v in logits.items()})
    results = {f"seed {s}": score(names, parts, times, lambda n, s=s: logits[(n, s)])
               for s in args.seeds}
    if len(args.seeds) > 1:
        results["mean of the seeds' probabilities"] = score(
            names, parts, times,
            lambda n: np.mean([softmax(logits[(n, s)], axis=1) for s in args.seeds], axis=0))
        results["mean of the seeds' logits"] = score(
            names, parts, times, lambda n: np.mean([logits[(n, s)] for s in args.seeds], axis=0))
    payload = {"command": command_line(), "machine": machine(), "records": names,
               "seeds": args.seeds, "logits_saved_at": saved_at, "results": results}
    write_json("classify_seeds", payload)
    header = ["network", "labels"] + [f"{c} Se / +P / F1 (n)" for c in ("N", "S", "V", "F")] \
        + ["accuracy %", "macro F1"]
    rows = [fmt_row(net, kind, m) for net, r in results.items() for kind, m in r.items()]
    table = md_table(header, rows)
    print(table)
    mi = payload["machine"]
    update_results_md("classify_seeds", (
        "## Classifier and training seed (`benchmarks/classify_seeds.py`)\n\n"
        f"Command: `{payload['command']}`  \nMeasured {mi['date']} on {mi['cpu']} "
        f"({mi['cores']} cores), commit {mi['commit']}. DS1 leave-one-record-out at the "
        "reference beats, the CNN trained from each seed (which also draws its validation "
        "records); \"cnn\" is what `ecgtool classify` outputs, \"network only\" the "
        "network's class alone; the last rows average the seeds' networks."
        + (f" Scored on the fold networks' logits saved at commit {saved_at} (valid while "
           "the network's inputs and its training are unchanged)." if saved_at else "")
        + "\n\n" + table))


if __name__ == "__main__":
    main()
