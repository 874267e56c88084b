"""Score the label revision rules again on saved leave-one-record-out logits.

Training the 22 fold networks takes most of ``benchmarks/classify.py``'s
time; the rules that revise their classes (``ecgtool.ml.classify.aami_classes``)
take seconds. ``classify.py --save-logits folds.npz`` keeps each DS1 record's
logits, at the reference beats and at the detected ones, from the networks
of the folds that left it out; this script scores the current rules on them
and prints the DS1 rows of classify.py's table (reference beats and end to
end), for trying a rule. It writes nothing: figures to report come from a
full run of ``classify.py``. Logits saved before a change to the network's
inputs (the beat windows, the R-R features) or to its training are stale.

Usage: python benchmarks/classify_rules.py folds.npz
"""

from __future__ import annotations

import argparse

import numpy as np

from _common import data_root, md_table
from classify import (K, MACRO_CLASSES, NETWORK_ONLY, fmt_row, metrics, mitdb_datasets,
                      record_confusions, revised)


def rescore(saved, recs, ref_ds, det) -> dict:
    """``{method: {'ref': cm, 'e2e': cm}}`` summed over the records whose
    logits ``saved`` holds."""
    cms = {m: {k: np.zeros((K + 1, K + 1), int) for k in ("ref", "e2e")}
           for m in ("cnn", NETWORK_ONLY)}
    names = sorted({k.split("/")[0] for k in saved.files})
    for n in names:
        ref_part, fs = ref_ds.of_records([n]), recs[n].fs
        p_ref, net_ref = revised(saved[f"{n}/ref"], ref_part, fs)
        p_det, net_det = revised(saved[f"{n}/det"], det[n], fs)
        for m, (a, b) in (("cnn", (p_ref, p_det)), (NETWORK_ONLY, (net_ref, net_det))):
            cm_ref, cm_e2e = record_confusions(recs[n], ref_part, det[n], a, b)
            cms[m]["ref"] += cm_ref
            cms[m]["e2e"] += cm_e2e
    return cms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("logits", help="the .npz that classify.py --save-logits wrote")
    args = ap.parse_args()
    _, _, recs, ref_ds, det = mitdb_datasets(data_root())
    cms = rescore(np.load(args.logits), recs, ref_ds, det)
    rows = [fmt_row(f"saved folds, {'reference beats' if k == 'ref' else 'end to end'}", m,
                    metrics(cms[m][k]))
            for m in cms for k in ("ref", "e2e")]
    print(md_table(["protocol", "method", "N Se / +P / F1 (n)", "S", "V", "F", "accuracy %",
                    f"macro F1 ({', '.join(MACRO_CLASSES)})"], rows))


if __name__ == "__main__":
    main()
