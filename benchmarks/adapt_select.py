"""Choosing DANN's settings without target labels: a proxy lead shift inside the source half.

The lead shift of ``benchmarks/adapt.py`` splits MIT-BIH DS1 into halves A
and B: the source model learns A on MLII, DANN adapts it to B's second lead,
and B is scored there. Choosing DANN's settings on B's labels would tune them
to the test. Here only A is read: it is split again into A1 (the source,
MLII) and A2, whose second lead is the proxy target; A2's labels, which a
user holds for their own source records, score each candidate setting. The
setting with the best mean gain of A2 macro F1 (of what ``classify --model``
outputs) over the seeds is the one to take; B is never read.

Usage: python benchmarks/adapt_select.py [--seeds N] [--steps N]
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import asdict, replace

import numpy as np

from _common import command_line, data_root, machine, md_table, update_results_md, write_json
from adapt import guarded_adapt, other_lead, record_order
from ecgtool.io.wfdbfiles import read_wfdb
from ecgtool.ml.dann import DannConfig
from ecgtool.ml.input_pipeline import BeatDataset, reference_dataset
from ecgtool.ml.main import DS1, detected_beats, evaluate_labels, train_model
from ecgtool.ml.model_io import load_model

#: The candidates: plain DANN and the target-entropy term, each with a weaker,
#: the paper's, and a stronger reversal weight.
CANDIDATES = {f"entropy {e:g}, reversal {d:g}": {"entropy_weight": e, "domain_weight": d}
              for e in (0.0, 1.0) for d in (0.3, 1.0, 3.0)}


def proxy_split(half_a: list[str]) -> tuple[list[str], list[str]]:
    """A1 (source) and A2 (proxy target): a seeded split of A, 208 in A1."""
    order = record_order(half_a, seed=11)
    cut = (len(order) + 1) // 2
    return sorted(order[:cut]), sorted(order[cut:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="DANN seeds per candidate")
    ap.add_argument("--steps", type=int, default=DannConfig().steps)
    args = ap.parse_args()
    mit = data_root() / "mitdb"
    ds1 = [n for n in DS1 if (mit / f"{n}.dat").is_file()]
    if len(ds1) < 8:
        raise SystemExit("benchmark skipped: needs the MIT-BIH DS1 records")
    perm = record_order(ds1)
    half_a = sorted(perm[: len(perm) // 2])
    a1, a2 = proxy_split(half_a)
    recs = [read_wfdb(mit / n, channel="MLII") for n in a1]
    source = BeatDataset.concat([reference_dataset(r) for r in recs])
    tgt = [read_wfdb(mit / n, channel=other_lead(mit / n)) for n in a2]
    target_train = detected_beats(tgt)
    target_test = BeatDataset.concat([reference_dataset(r) for r in tgt])
    fs = {r.name: r.fs for r in tgt}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        train_model(recs, f"{tmp}/a1", n_val=2)
        clf = load_model(f"{tmp}/a1")
        cfg = clf.card["config"]
        before = evaluate_labels(clf.params, cfg, target_test, fs)
        print(f"source-only: A2 second-lead macro F1 {before['macro_f1']:.3f}", flush=True)
        for name, kw in CANDIDATES.items():
            runs = []
            for seed in range(args.seeds):
                config = replace(DannConfig(), steps=args.steps, seed=seed, **kw)
                res = guarded_adapt(clf, source, target_train, config)
                after = evaluate_labels(res.params, cfg, target_test, fs)
                runs.append({"seed": seed, "macro_f1": after["macro_f1"],
                             "kept_step": res.kept_step,
                             "per_class": {c: after[c] for c in ("N", "S", "V", "F")}})
                print(f"{name}, seed {seed}: {after['macro_f1']:.3f} "
                      f"(kept step {res.kept_step})", flush=True)
            gains = [r["macro_f1"] - before["macro_f1"] for r in runs]
            results[name] = {"settings": kw, "runs": runs, "mean_gain": float(np.mean(gains))}
    best = max(results, key=lambda k: results[k]["mean_gain"])
    default = {k: getattr(DannConfig(), k) for k in ("entropy_weight", "domain_weight")}
    payload = {"command": command_line(), "machine": machine(), "a1": a1, "a2": a2,
               "target_leads": [r.lead for r in tgt], "source_only": before,
               "candidates": results, "chosen": best, "chosen_settings": results[best]["settings"],
               "default": default, "dann_config": asdict(DannConfig())}
    write_json("adapt_select", payload)
    rows = [[name, " ".join(f"{r['macro_f1']:.3f}" for r in r_["runs"]),
             " ".join(str(r["kept_step"]) for r in r_["runs"]),
             f"{100 * r_['mean_gain']:+.1f}",
             "chosen" if name == best else ("default" if r_["settings"] == default else "")]
            for name, r_ in results.items()]
    table = md_table(["DANN setting", "A2 macro F1 per seed", "kept step per seed",
                      "mean gain (points)", ""], rows)
    print(table)
    mi = payload["machine"]
    update_results_md("adapt_select", (
        f"## Choosing DANN's settings on a proxy shift (`benchmarks/adapt_select.py`)\n\n"
        f"Command: `{payload['command']}`  \nMeasured {mi['date']}, commit "
        f"{mi['commit'] or '?'}. The lead shift's source half A only: a source model learns "
        f"A1 ({', '.join(a1)}) on MLII; DANN adapts it to the second lead "
        f"({', '.join(payload['target_leads'])}) of A2 ({', '.join(a2)}), whose labels score "
        f"it. Source-only A2 macro F1: {before['macro_f1']:.3f}. Half B, which "
        f"`benchmarks/adapt.py` scores, is not read.\n\n" + table + "\n"))


if __name__ == "__main__":
    main()
