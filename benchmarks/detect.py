"""Detection benchmark: ecgtool against its peers on every annotated record, one process.

For each database found under $ECGTOOL_DATA (mitdb, nstdb, svdb, and the
annotated cpsc2021 and qtdb records), every detector runs on the same lead
(ecgtool's default: MLII, else II, else the first) and is scored with the
EC57 rules of :mod:`ecgtool.evaluate` (150 ms window, VF and the stretches
the reference marks unreadable excluded), with and without the 5-minute
learning period. Time is the detection call alone
(reading excluded), the best of ``--repeats`` runs for calls under 2 s.

Usage::

    python benchmarks/detect.py                    # all databases, all detectors
    python benchmarks/detect.py --quick            # mitdb only, fast peers only

Prints a table, writes benchmarks/results/detect.json and the "detect" section
of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from _common import command_line, data_root, machine, md_table, update_results_md, write_json
from ecgtool.evaluate import PACED_RECORDS, DetectionScore, gross, score_detection
from ecgtool.io.wfdbfiles import read_wfdb
from ecgtool.signal.detect import detect_beats, detect_r_peaks

DATABASES = ("mitdb", "nstdb", "svdb", "cpsc2021", "qtdb")


# ----------------------------------------------------------------- detectors

def _ecgtool(x, fs):
    return detect_r_peaks(x, fs)


def _ecgtool_full(x, fs):
    return detect_beats(x, fs).r_peak


def _sleepecg(x, fs):
    import sleepecg

    return sleepecg.detect_heartbeats(x, fs, backend="c")


def _xqrs(x, fs):
    from wfdb import processing

    return processing.xqrs_detect(x, fs, verbose=False)


def _neurokit(x, fs):
    import neurokit2 as nk

    _, info = nk.ecg_peaks(nk.ecg_clean(x, sampling_rate=fs, method="neurokit"),
                           sampling_rate=fs, method="neurokit")
    return np.asarray(info["ECG_R_Peaks"])


def _ecgdetectors(method):
    def run(x, fs):
        from ecgdetectors import Detectors

        return np.asarray(getattr(Detectors(fs), method)(x))
    return run


DETECTORS = {
    "ecgtool": _ecgtool,
    "ecgtool+delineation": _ecgtool_full,
    "sleepecg": _sleepecg,
    "xqrs": _xqrs,
    "neurokit2": _neurokit,
    "pan-tompkins": _ecgdetectors("pan_tompkins_detector"),
    "hamilton": _ecgdetectors("hamilton_detector"),
}
QUICK = ("ecgtool", "ecgtool+delineation", "sleepecg", "neurokit2")


def detect(name, x, fs, repeats):
    """Run one detector; return (sorted unique peaks, seconds)."""
    fn = DETECTORS[name]
    best = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peaks = fn(x, fs)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
        if dt > 2.0:
            break
    peaks = np.unique(np.asarray(peaks, dtype=np.int64))
    return peaks[(peaks >= 0) & (peaks < x.size)], best


# ------------------------------------------------------------------ records

@dataclass
class Item:
    db: str       # reporting group, e.g. "mitdb", "mitdb paced", "nstdb 12 dB"
    path: Path


def discover(root: Path, dbs) -> list[Item]:
    items = []
    for db in dbs:
        folder = root / db
        if not folder.is_dir():
            continue
        for atr in sorted(folder.glob("*.atr")):
            if not atr.with_suffix(".hea").is_file() or not atr.with_suffix(".dat").is_file():
                continue
            name = atr.stem
            group = db
            if db == "mitdb" and name in PACED_RECORDS:
                group = "mitdb paced"
            elif db == "nstdb":
                group = f"nstdb {name[-2:]} dB"
            items.append(Item(group, atr.with_suffix("")))
    return items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--databases", nargs="+", default=list(DATABASES))
    ap.add_argument("--detectors", nargs="+", default=list(DETECTORS), choices=list(DETECTORS))
    ap.add_argument("--quick", action="store_true", help="mitdb only, fast detectors only")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if args.quick:
        args.databases, args.detectors = ["mitdb"], [d for d in QUICK if d in args.detectors]
    root = data_root()
    items = discover(root, args.databases)
    if not items:
        raise SystemExit(f"benchmark skipped: no annotated records under {root}")

    scores = {d: {} for d in args.detectors}      # detector -> group -> [scores]
    scores_skip = {d: {} for d in args.detectors}
    seconds = {d: {} for d in args.detectors}
    hours: dict[str, float] = {}
    per_record = []
    for it in items:
        rec = read_wfdb(it.path)
        x, fs = np.ascontiguousarray(rec.signal), rec.fs
        hours[it.db] = hours.get(it.db, 0.0) + rec.duration_s / 3600
        row = {"db": it.db, "record": rec.name, "lead": rec.lead, "fs": fs}
        for d in args.detectors:
            peaks, dt = detect(d, x, fs, args.repeats)
            s = score_detection(rec.name, rec.annotations, peaks, fs, rec.n_samples)
            s5 = score_detection(rec.name, rec.annotations, peaks, fs, rec.n_samples,
                                 skip_learning=True)
            scores[d].setdefault(it.db, []).append(s)
            scores_skip[d].setdefault(it.db, []).append(s5)
            seconds[d][it.db] = seconds[d].get(it.db, 0.0) + dt
            row[d] = {"tp": s.tp, "fn": s.fn, "fp": s.fp, "seconds": dt}
        per_record.append(row)
        print(f"{it.db:>14} {rec.name:>10}  " + "  ".join(
            f"{d}:{row[d]['fn']}/{row[d]['fp']}" for d in args.detectors), flush=True)

    groups = list(dict.fromkeys(it.db for it in items))
    summary = {}
    for g in groups:
        summary[g] = {"hours": hours[g], "records": sum(it.db == g for it in items)}
        base_t = seconds.get("ecgtool", {}).get(g)
        for d in args.detectors:
            s: DetectionScore = gross(scores[d][g])
            s5: DetectionScore = gross(scores_skip[d][g])
            t = seconds[d][g]
            summary[g][d] = {
                "tp": s.tp, "fn": s.fn, "fp": s.fp, "se": s.se, "ppv": s.ppv, "f1": s.f1,
                "se_skip5": s5.se, "ppv_skip5": s5.ppv, "f1_skip5": s5.f1,
                "seconds": t, "s_per_hour": t / hours[g],
                "time_ratio_to_ecgtool": (t / base_t) if base_t else None,
            }
    payload = {"command": command_line(), "machine": machine(), "summary": summary,
               "records": per_record}
    write_json("detect", payload)

    # Console and RESULTS.md tables.
    header = ["database", "detector", "Se %", "+P %", "F1 %", "Se/+P % (skip 5 min)",
              "s per h of ECG", "time / ecgtool"]
    rows = []
    for g in groups:
        for d in args.detectors:
            m = summary[g][d]
            ratio = m["time_ratio_to_ecgtool"]
            rows.append([f"{g} ({summary[g]['records']} rec, {summary[g]['hours']:.2f} h)", d,
                         f"{100 * m['se']:.2f}", f"{100 * m['ppv']:.2f}", f"{100 * m['f1']:.2f}",
                         f"{100 * m['se_skip5']:.2f} / {100 * m['ppv_skip5']:.2f}",
                         f"{m['s_per_hour']:.4f}", "-" if ratio is None else f"{ratio:.2f}x"])
    table = md_table(header, rows)
    print(table)
    mi = payload["machine"]
    body = (f"## Detection (`benchmarks/detect.py`)\n\n"
            f"Command: `{payload['command']}`  \n"
            f"Measured {mi['date']} on {mi['cpu']} ({mi['cores']} cores), Python {mi['python']},"
            f" commit {mi['commit'] or '?'}, one process. Lead: MLII, else II, else the first; "
            f"EC57 150 ms window, VF episodes and the stretches the reference marks "
            f"unreadable excluded. Time is the detection call only, "
            f"best of {args.repeats}; `time / ecgtool` is each detector's time divided by "
            f"ecgtool's R-peak detection on the same records.\n\n" + table + "\n")
    update_results_md("detect", body)


if __name__ == "__main__":
    main()
