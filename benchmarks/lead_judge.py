"""Fitting the judge that picks, each 3 s, which of two leads to take beats from.

``ecgtool.signal.leads`` detects on two leads and takes, per 3-s window,
the second lead's beats where a judge says that lead reads the window
better. This script fits that judge: on MIT-BIH DS1 (both leads; the paced
records too, clean) as recorded and with band-limited Gaussian noise bursts
(``detect_noise.noisy``) added to each lead apart at 12 and 6 dB, each
window is a sample, its class whether the second lead's beats have fewer
errors (missed and false beats against the reference, EC57 150 ms) than the
first's, its weight how many fewer or more; windows where both leads make as
many errors teach nothing and are left out. A gradient-boosted tree
ensemble (scikit-learn, 100 trees of depth 3) learns it; its trees are
written to ``ecgtool/signal/leadjudge.npz``, which the package evaluates
with numpy (scikit-learn is not needed to run ecgtool).

It prints, for record-grouped folds (each record's windows, clean and noisy,
scored by a judge fitted on the other records), the errors of the first
lead alone, the second alone, the judge at two probability bars, and the
best pick per window (which needs the reference). The real electrode-motion
noise of the noise stress test is kept out of the fit: ``detect_leads.py``
scores it.

Usage: python benchmarks/lead_judge.py [--out PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from _common import command_line, data_root, machine, md_table, update_results_md, write_json
from detect_noise import noisy

SNRS = (12.0, 6.0)
BARS = (0.5, 0.7)


def window_errors(ref: np.ndarray, peaks: np.ndarray, fs: float, n_win: int,
                  spans: list, window_s: float) -> np.ndarray:
    """Missed and false beats per window of ``window_s`` (EC57 match)."""
    from ecgtool.evaluate.beats import MATCH_WINDOW_S, match_beats, scored_mask

    ref = ref[scored_mask(ref, spans, 0)]
    test = peaks[scored_mask(peaks, spans, 0)]
    m = match_beats(ref, test, int(MATCH_WINDOW_S * fs))
    w = int(round(window_s * fs))
    missed = np.ones(ref.size, bool)
    missed[m.ref_index] = False
    false = np.ones(test.size, bool)
    false[m.test_index] = False
    out = np.zeros(n_win)
    np.add.at(out, np.minimum(ref[missed] // w, n_win - 1), 1)
    np.add.at(out, np.minimum(test[false] // w, n_win - 1), 1)
    return out


def record_windows(path: Path, snr: float | None, seed: int,
                   window_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Judge inputs and per-lead window errors ``(n_win, 2)`` of one record
    version (clean when ``snr`` is None)."""
    from ecgtool.evaluate.beats import excluded_spans, reference_beats
    from ecgtool.io.wfdbfiles import read_wfdb
    from ecgtool.signal.detect import detect_r_peaks
    from ecgtool.signal.leads import judge_inputs, window_quality

    recs = [read_wfdb(path, channel=i) for i in (0, 1)]
    fs = recs[0].fs
    sigs = [r.signal if snr is None else noisy(r, snr, seed + i) for i, r in enumerate(recs)]
    peaks = [detect_r_peaks(x, fs) for x in sigs]
    q = [window_quality(sigs[i], fs, peaks[i], peaks[1 - i], window_s=window_s) for i in (0, 1)]
    ann = recs[0].annotations
    spans = excluded_spans(ann, sigs[0].size)
    ref = reference_beats(ann)
    errs = np.stack([window_errors(ref, p, fs, q[0].shape[0], spans, window_s) for p in peaks],
                    axis=1)
    return judge_inputs(*q), errs


def fit(x: np.ndarray, errs: np.ndarray):
    from sklearn.ensemble import GradientBoostingClassifier

    gain = errs[:, 0] - errs[:, 1]
    m = gain != 0
    clf = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0)
    clf.fit(x[m], (gain[m] > 0).astype(int), sample_weight=np.abs(gain[m]))
    return clf


def export(clf, x_check: np.ndarray) -> dict:
    """The ensemble as arrays for :func:`ecgtool.signal.leads.second_lead_probability`."""
    from ecgtool.signal.leads import second_lead_probability

    trees = [est[0].tree_ for est in clf.estimators_]
    width = max(t.node_count for t in trees)

    def pad(get, fill, dtype):
        out = np.full((len(trees), width), fill, dtype=dtype)
        for i, t in enumerate(trees):
            out[i, :t.node_count] = get(t)
        return out

    judge = {"feature": pad(lambda t: t.feature, -2, np.int64),
             "threshold": pad(lambda t: t.threshold, 0.0, np.float64),
             "left": pad(lambda t: t.children_left, -1, np.int64),
             "right": pad(lambda t: t.children_right, -1, np.int64),
             "value": pad(lambda t: t.value[:, 0, 0], 0.0, np.float64),
             "learning_rate": np.float64(clf.learning_rate)}
    lr_sum = sum(t.value[t.apply(x_check[:1].astype(np.float32)), 0, 0] for t in trees)
    raw = clf.decision_function(x_check[:1])[0]
    judge["init"] = np.float64(raw - clf.learning_rate * lr_sum[0])
    # The numpy evaluation must give scikit-learn's probabilities.
    ours = second_lead_probability(x_check, judge)
    theirs = clf.predict_proba(x_check)[:, 1]
    if not np.allclose(ours, theirs, atol=1e-9):
        raise SystemExit(f"exported judge differs from scikit-learn's by "
                         f"{np.abs(ours - theirs).max():.2g}")
    return judge


def main() -> None:
    from ecgtool.evaluate import PACED_RECORDS
    from ecgtool.ml.main import DS1
    from ecgtool.signal.leads import JUDGE, WINDOW_S

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(JUDGE), help="where to write the judge (.npz)")
    ap.add_argument("--window", type=float, default=WINDOW_S,
                    help="window length (s) to fit and score the judge at; the package "
                    "reads leads.WINDOW_S, so another length is for comparing")
    args = ap.parse_args()
    import importlib.util

    if importlib.util.find_spec("sklearn") is None:
        sys.exit("lead_judge.py needs scikit-learn (pip install scikit-learn)")
    mit = data_root() / "mitdb"
    names = [n for n in DS1 if (mit / f"{n}.atr").is_file()]
    paced = [n for n in sorted(PACED_RECORDS) if (mit / f"{n}.atr").is_file()]
    if len(names) < 8:
        sys.exit(f"skipped: needs the MIT-BIH DS1 records in {mit}")
    rows = {}  # (record, version) -> (x, errs)
    for i, name in enumerate(names + paced):
        versions = [None] + ([] if name in paced else list(SNRS))
        for snr in versions:
            rows[name, snr] = record_windows(mit / name, snr, seed=100 * i,
                                             window_s=args.window)
        print(name, flush=True, file=sys.stderr)
    recs = sorted({r for r, _ in rows})
    labels = ["clean"] + [f"{s:g} dB" for s in SNRS]
    table = {lab: {"first lead": 0, "second lead": 0, "best pick (reference)": 0,
                   **{f"judge, bar {b:g}": 0 for b in BARS}} for lab in labels}
    for r in recs:
        train = [v for (name, _), v in rows.items() if name != r]
        clf = fit(np.concatenate([x for x, _ in train]), np.concatenate([e for _, e in train]))
        for (name, snr), (x, e) in rows.items():
            if name != r:
                continue
            t = table["clean" if snr is None else f"{snr:g} dB"]
            p = clf.predict_proba(x)[:, 1]
            t["first lead"] += int(e[:, 0].sum())
            t["second lead"] += int(e[:, 1].sum())
            t["best pick (reference)"] += int(e.min(axis=1).sum())
            for b in BARS:
                t[f"judge, bar {b:g}"] += int(np.where(p > b, e[:, 1], e[:, 0]).sum())
    x_all = np.concatenate([x for x, _ in rows.values()])
    clf = fit(x_all, np.concatenate([e for _, e in rows.values()]))
    np.savez(args.out, **export(clf, x_all))
    cols = list(next(iter(table.values())))
    md = md_table(["data"] + cols, [[lab] + [t[c] for c in cols] for lab, t in table.items()])
    print("Errors (missed + false beats), record-grouped folds:\n" + md)
    m = machine()
    write_json("lead_judge", {"command": command_line(), "machine": m,
                              "records": recs, "folds": table, "judge": str(args.out)})
    update_results_md("lead_judge", (
        "## Fitting the two-lead judge (`benchmarks/lead_judge.py`)\n\n"
        f"Command: `{command_line()}`  \n"
        f"Measured {m['date']} on {m['cpu']}, commit {m['commit']}. MIT-BIH DS1 and its "
        "paced records, both leads, clean, and DS1 with band-limited Gaussian noise bursts "
        f"added to each lead apart at {', '.join(f'{s:g}' for s in SNRS)} dB. Missed plus "
        "false beats (EC57 150 ms, VF excluded), each record scored by a judge fitted on "
        "the other records (its clean and noisy copies together); 'best pick' takes, in "
        f"each {args.window:g}-s window, the lead with fewer errors by the reference. The "
        "shipped judge "
        "is fitted on all of them.\n\n" + md))


if __name__ == "__main__":
    main()
