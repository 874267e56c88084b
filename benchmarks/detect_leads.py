"""R peaks from one lead against two (``--second-lead``), on every two-lead annotated record.

For each database under $ECGTOOL_DATA with two leads (mitdb, nstdb, svdb,
cpsc2021, qtdb), ecgtool detects on its default lead (MLII, else II, else
the first) alone, and on it with the record's other lead
(:func:`ecgtool.signal.leads.fuse_r_peaks`), scored with the EC57 rules of
:mod:`ecgtool.evaluate` as ``detect.py`` scores them (150 ms, the whole
record). Also the noise stress test's own electrode-motion noise, each lead's
(118e00 less MIT-BIH 118, lead by lead), added to both leads of the 21 DS1
records other than 118 on ``detect_noise.py``'s schedule and scale (2
minutes of every 4 after minute 5; 24, 12 and 0 dB as the test measures
them): real noise the lead judge, fitted on DS1 with Gaussian noise
(``lead_judge.py``), never saw. MIT-BIH DS1 is the judge's fitting data:
its clean rows are no held-out test.

Usage: python benchmarks/detect_leads.py [--dbs mitdb nstdb ...] [--no-em]

Prints a table, writes benchmarks/results/detect_leads.json and the
"detect_leads" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import replace

import numpy as np

from _common import (command_line, data_root, machine, md_table, two_leads, update_results_md,
                     write_json)
from detect_noise import electrode_motion, noisy
from ecgtool.evaluate import gross, score_detection
from ecgtool.signal.detect import detect_r_peaks
from ecgtool.signal.leads import WINDOW_S, fuse_r_peaks

DATABASES = ("mitdb", "nstdb", "svdb", "cpsc2021", "qtdb")
EM_SNRS = (24.0, 12.0, 0.0)


def run(rec, second: np.ndarray) -> dict:
    fs = rec.fs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        one = detect_r_peaks(rec.signal, fs)
        t1 = time.perf_counter() - t
        t = time.perf_counter()
        fused = fuse_r_peaks(rec.signal, second, fs)
        t2 = time.perf_counter() - t
    scores = [score_detection(rec.name, rec.annotations, p, fs, rec.n_samples)
              for p in (one, fused.r_peak)]
    return {"scores": scores, "second_windows": int(fused.second_windows.sum()),
            "windows": int(fused.second_windows.size), "t": (t1, t2)}


def main() -> None:
    from ecgtool.ml.main import DS1

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dbs", nargs="+", default=list(DATABASES))
    ap.add_argument("--no-em", action="store_true", help="skip the electrode-motion rows")
    args = ap.parse_args()
    root = data_root()
    groups: dict[str, list] = {}
    for db in args.dbs:
        for hea in sorted((root / db).glob("*.hea")):
            if not hea.with_suffix(".atr").exists():
                continue
            rec, second = two_leads(hea.with_suffix(""))
            if second is None:
                continue
            key = db if db != "nstdb" else f"nstdb {rec.name[-2:]} dB"
            groups.setdefault(key, []).append(run(rec, second.signal))
        print(db, flush=True)
    # Each lead's own electrode motion, on each lead.
    source = None if args.no_em else [electrode_motion(root, ch) for ch in (0, 1)]
    if source is not None and None not in source:
        for snr in EM_SNRS:
            key = f"DS1 but 118 + electrode motion on both leads, as nstdb {snr:g} dB"
            for name in DS1:
                if name == "118" or not (root / "mitdb" / f"{name}.atr").exists():
                    continue
                recs = two_leads(root / "mitdb" / name)
                x, y = (noisy(r, snr, seed=0, source=s) for r, s in zip(recs, source))
                groups.setdefault(key, []).append(run(replace(recs[0], signals=x[:, None]), y))
            print(key, flush=True)
    rows, payload = [], {"command": command_line(), "machine": machine(), "rows": {}}
    for key, runs in groups.items():
        one = gross([r["scores"][0] for r in runs])
        two = gross([r["scores"][1] for r in runs])
        share = sum(r["second_windows"] for r in runs) / max(1, sum(r["windows"] for r in runs))
        ratio = sum(r["t"][1] for r in runs) / max(1e-9, sum(r["t"][0] for r in runs))
        err1, err2 = one.fn + one.fp, two.fn + two.fp
        rows.append([key, len(runs), f"{100 * one.se:.2f} / {100 * one.ppv:.2f}",
                     f"{100 * one.f1:.2f}", f"{100 * two.se:.2f} / {100 * two.ppv:.2f}",
                     f"{100 * two.f1:.2f}", f"{err1} -> {err2}", f"{100 * share:.1f}",
                     f"{ratio:.2f}x"])
        payload["rows"][key] = {"records": len(runs), "one_lead": one.__dict__,
                                "two_leads": two.__dict__, "second_lead_window_share": share,
                                "time_ratio": ratio}
    header = ["data", "records", "one lead Se / +P %", "F1 %", "two leads Se / +P %", "F1 %",
              "errors (missed + false)", f"{WINDOW_S:g}-s windows from lead 2 %",
              "time, two leads / one"]
    table = md_table(header, rows)
    print(table)
    write_json("detect_leads", payload)
    m = machine()
    update_results_md("detect_leads", (
        "## Detection on two leads (`benchmarks/detect_leads.py`)\n\n"
        f"Command: `{command_line()}`  \n"
        f"Measured {m['date']} on {m['cpu']}, commit {m['commit']}. ecgtool on its default "
        "lead alone, and with the record's other lead (`--second-lead`: in each "
        f"{WINDOW_S:g}-s window, the beats of the lead a judge says reads them better), "
        "EC57 150 ms over the whole "
        "record. The judge was fitted on MIT-BIH DS1's two leads, clean and with Gaussian "
        "noise added to each (`benchmarks/lead_judge.py`): the mitdb row is its fitting "
        "data; the noise stress test's electrode-motion noise, lead by lead, on the other "
        "rows, it never saw. Time: the two detections and the judge against one detection.\n\n"
        + table))


if __name__ == "__main__":
    main()
