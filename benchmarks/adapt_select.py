"""Choosing DANN's settings without target labels: a proxy lead shift inside the source half.

The lead shift of ``benchmarks/adapt.py`` splits MIT-BIH DS1 into halves A
and B: the source model learns A on MLII, DANN adapts it to B's second lead,
and B is scored there. Choosing DANN's settings on B's labels would tune them
to the test. Here only A is read: it is split again into A1 (the source,
MLII) and A2, whose second lead is the proxy target; A2's labels, which a
user holds for their own source records, score each candidate setting. The
setting with the best mean gain of A2 macro F1 (of what ``classify --model``
outputs) over the seeds replaces the default only when it beats the
default's mean gain by at least :data:`SWITCH_POINTS`: a smaller gain is
within what DANN's seeds move the proxy. B is never read.

Usage: python benchmarks/adapt_select.py [--seeds N] [--steps N] [--report]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import asdict, replace

import numpy as np

from _common import RESULTS_DIR, command_line, data_root, machine, md_table, update_results_md, write_json
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

#: Points of mean A2 macro F1 over the default's that a candidate needs to
#: replace it.
SWITCH_POINTS = 1.0


def proxy_split(half_a: list[str]) -> tuple[list[str], list[str]]:
    """A1 (source) and A2 (proxy target): a seeded split of A, 208 in A1."""
    order = record_order(half_a, seed=11)
    cut = (len(order) + 1) // 2
    return sorted(order[:cut]), sorted(order[cut:])


def decide(results: dict, default: dict) -> tuple[str, str, str | None]:
    """The best candidate, the one to take and the default's name: the best
    mean gain is taken when it beats the default's by :data:`SWITCH_POINTS`,
    else the default.

    >>> r = {"a": {"settings": {"x": 0}, "mean_gain": 0.0},
    ...      "b": {"settings": {"x": 1}, "mean_gain": 0.008}}
    >>> decide(r, {"x": 0})
    ('b', 'a', 'a')
    >>> r["b"]["mean_gain"] = 0.012
    >>> decide(r, {"x": 0})
    ('b', 'b', 'a')
    """
    best = max(results, key=lambda k: results[k]["mean_gain"])
    dflt = next((k for k, r in results.items() if r["settings"] == default), None)
    if dflt is None:
        return best, best, None
    margin = results[best]["mean_gain"] - results[dflt]["mean_gain"]
    return best, (best if 100 * margin >= SWITCH_POINTS else dflt), dflt


def note(name: str, best: str, chosen: str, dflt: str | None) -> str:
    """The table's last column for one candidate."""
    marks = []
    if name == dflt:
        marks.append("default")
    if name == chosen:
        marks.append("chosen")
    elif name == best:
        marks.append(f"best, under the {SWITCH_POINTS:g}-point bar")
    return ", ".join(marks)


def report(payload: dict) -> None:
    """Print the table and write it into RESULTS.md."""
    results = payload["candidates"]
    best, chosen, dflt = decide(results, payload["default"])
    rows = [[name, " ".join(f"{r['macro_f1']:.3f}" for r in r_["runs"]),
             " ".join(str(r["kept_step"]) for r in r_["runs"]),
             f"{100 * r_['mean_gain']:+.1f}", note(name, best, chosen, dflt)]
            for name, r_ in results.items()]
    table = md_table(["DANN setting", "A2 macro F1 per seed", "kept step per seed",
                      "mean gain (points)", ""], rows)
    print(table)
    mi = payload["machine"]
    update_results_md("adapt_select", (
        f"## Choosing DANN's settings on a proxy shift (`benchmarks/adapt_select.py`)\n\n"
        f"Command: `{payload['command']}`  \nMeasured {mi['date']}, commit "
        f"{mi['commit'] or '?'}. The lead shift's source half A only: a source model learns "
        f"A1 ({', '.join(payload['a1'])}) on MLII; DANN adapts it to the second lead "
        f"({', '.join(payload['target_leads'])}) of A2 ({', '.join(payload['a2'])}), whose "
        f"labels score it. Source-only A2 macro F1: {payload['source_only']['macro_f1']:.3f}. "
        f"A candidate replaces the default only with a mean gain at least {SWITCH_POINTS:g} point "
        f"above the default's. Half B, which `benchmarks/adapt.py` scores, is not read.\n\n"
        + table + "\n"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="DANN seeds per candidate")
    ap.add_argument("--steps", type=int, default=DannConfig().steps)
    ap.add_argument("--report", action="store_true",
                    help="rewrite the table from results/adapt_select.json, training nothing")
    args = ap.parse_args()
    if args.report:
        payload = json.loads((RESULTS_DIR / "adapt_select.json").read_text())
        _, chosen, _ = decide(payload["candidates"], payload["default"])
        payload.update(chosen=chosen, chosen_settings=payload["candidates"][chosen]["settings"])
        write_json("adapt_select", payload)
        report(payload)
        return
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
    default = {k: getattr(DannConfig(), k) for k in ("entropy_weight", "domain_weight")}
    _, chosen, _ = decide(results, default)
    payload = {"command": command_line(), "machine": machine(), "a1": a1, "a2": a2,
               "target_leads": [r.lead for r in tgt], "source_only": before,
               "candidates": results, "chosen": chosen, "chosen_settings": results[chosen]["settings"],
               "default": default, "dann_config": asdict(DannConfig())}
    write_json("adapt_select", payload)
    report(payload)

if __name__ == "__main__":
    main()
