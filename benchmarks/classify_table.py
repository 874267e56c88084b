"""Labelling beats from a beats table alone, against the network on the waveform.

``ecgtool classify`` given a beats table (a shell pipeline after ``detect``)
has no waveform and labels the beats with the beats-table head
(:mod:`ecgtool.ml.table_head`), its class revised by the rhythm around each
beat (:func:`ecgtool.ml.classify.table_classes`). This scores that head by
leave-one-record-out over the annotated non-paced MIT-BIH DS1 records, end to end (on the beats
``ecgtool detect`` finds; a missed beat counts as wrong), as
``benchmarks/classify.py`` scores the network. The same regression with
plain inverse-frequency class weights is scored beside it: more S beats
found, more normal beats called ectopic.

Usage::

    python benchmarks/classify_table.py      # a few minutes on 2 cores

Writes benchmarks/results/classify_table.json and the "classify_table"
section of RESULTS.md.
"""

from __future__ import annotations

import numpy as np

from _common import command_line, ds1_records, machine, md_table, update_results_md, write_json
from classify import end_to_end, fmt_row, metrics
from ecgtool.beats.labels import class_index
from ecgtool.ml.classify import table_classes
from ecgtool.ml.main import table_rows
from ecgtool.ml.table_head import fit_table_head

HEADS = {"logistic regression, class weights power 0.5 (shipped)": {},
         "logistic regression, class weights power 1": {"power": 1.0}}


def main() -> None:
    recs = ds1_records()
    names = list(recs)
    rows = {n: table_rows(recs[n]) for n in names}
    results = {}
    for head_name, kw in HEADS.items():
        cm = 0
        for n in names:
            others = [m for m in names if m != n]
            head = fit_table_head(np.concatenate([rows[m][1] for m in others]),
                                  np.concatenate([rows[m][2] for m in others]), **kw)
            beats, feats, _ = rows[n]
            pred = class_index(table_classes(head.proba(feats), beats))
            cm = cm + end_to_end(recs[n], beats.r_peak, pred)
        results[head_name] = metrics(cm)
        print(head_name, round(results[head_name]["macro_f1"], 3), flush=True)
    payload = {"command": command_line(), "machine": machine(), "records": names,
               "results": results}
    write_json("classify_table", payload)
    header = ["protocol", "labels from"] + [f"{c} Se / +P / F1 (n)" for c in ("N", "S", "V", "F")] \
        + ["accuracy %", "macro F1"]
    table = md_table(header, [fmt_row("DS1 leave-one-record-out, end to end", h, m)
                              for h, m in results.items()])
    print(table)
    mi = payload["machine"]
    update_results_md("classify_table", (
        "## Beats from a table, without the waveform (`benchmarks/classify_table.py`)\n\n"
        f"Command: `{payload['command']}`  \nMeasured {mi['date']} on {mi['cpu']} "
        f"({mi['cores']} cores), commit {mi['commit']}. What `ecgtool classify` does with a "
        "beats table (`detect --out - | classify -`): the beats-table head on the table's "
        "timing and delineation measures, trained on the other records' detected beats, its "
        "class revised by the rhythm around each beat as the network's is "
        "(`ecgtool.ml.revise.revise_labels`). "
        "Compare with the network on the waveform, end to end, in the classification "
        "section above.\n\n" + table))


if __name__ == "__main__":
    main()
