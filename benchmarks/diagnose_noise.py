"""Verdicts in noise: does a record's diagnosis survive electrode motion?

The noise stress test's real electrode-motion noise (record 118e00 less
MIT-BIH 118, see ``benchmarks/detect_noise.py``) is added, in bursts of 2
minutes of every 4 after minute 5, to the 21 DS1 records other than 118, at
the levels of the test (24, 12 and 0 dB as it scales them). Each noisy copy
goes through the whole pipeline (detect, classify with the shipped model,
rhythm, diagnose) and its findings are compared with those of the same
record without noise: a finding the clean record lacks was made by the
noise, one it loses was hidden by it. The PVC burden error is the noisy
copy's burden less the clean record's, in points.

The shipped classifier trained on these records, so their clean findings
are optimistic; what this measures is what noise adds to them. No threshold
was tuned on this noise; one rule came from looking at it: an idioventricular
run must keep a steady rate (``RhythmSettings.ivr_max_irregularity``, set
from MIT-BIH's reference IVR runs after this test showed slow runs of V
calls on the noise), so for ``ivr`` findings the test is not blind.

With ``--two-leads`` each lead gets its own electrode-motion noise (the
test's, lead by lead) and the R peaks are found on both (``--second-lead``,
the clean findings too): the "diagnose_noise_two_leads" section.

Usage::

    python benchmarks/diagnose_noise.py            # levels 24, 12 and 0 dB
    python benchmarks/diagnose_noise.py --snr 12
    python benchmarks/diagnose_noise.py --two-leads

Prints a table, writes benchmarks/results/diagnose_noise.json and the
"diagnose_noise" section of benchmarks/RESULTS.md. Skipped, with a message,
without ``nstdb/118e00`` and ``mitdb/118``.
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from _common import (command_line, data_root, ds1_records, machine, md_table, two_leads,
                     update_results_md, write_json)
from detect_noise import electrode_motion, noisy
from ecgtool.diagnose import diagnose_analysis
from ecgtool.analysis import analyse_signal


def findings(y: np.ndarray, fs: float, name: str, second: np.ndarray | None = None) -> dict:
    """The verdict, finding codes, PVC burden (%) and unreadable share (%) of one
    signal (R peaks found on ``second`` too where given)."""
    rep = diagnose_analysis(analyse_signal(y, fs, name, second=second))
    return {"verdict": rep.verdict, "findings": sorted(f.code for f in rep.findings),
            "pvc_burden_pct": float(rep.burden_pct.get("V", 0.0)),
            "noise_pct": float(rep.noise_pct)}


def compare(clean: dict, noisy_: dict) -> dict:
    """What the noise changed: findings added and lost, burden error (points)."""
    return {"added": sorted(set(noisy_["findings"]) - set(clean["findings"])),
            "lost": sorted(set(clean["findings"]) - set(noisy_["findings"])),
            "same_verdict": noisy_["verdict"] == clean["verdict"],
            "pvc_burden_error": noisy_["pvc_burden_pct"] - clean["pvc_burden_pct"]}


def by_count(counts: Counter) -> str:
    """``"vt 4, pvc 2"``: each finding with its number of records, most first."""
    return ", ".join(f"{c} {k}" for c, k in sorted(counts.items(), key=lambda kv: -kv[1])) or "none"


def level_row(snr: float, per_record: list[dict]) -> list:
    rows = [r for r in per_record if r["snr_db"] == snr]
    n = len(rows)
    added = Counter(c for r in rows for c in r["change"]["added"])
    lost = Counter(c for r in rows for c in r["change"]["lost"])
    err = np.array([r["change"]["pvc_burden_error"] for r in rows])
    same = sum(not r["change"]["added"] and not r["change"]["lost"] for r in rows)
    return [f"{snr:g} dB", f"{sum(r['change']['same_verdict'] for r in rows)} / {n}",
            f"{same} / {n}", by_count(added), by_count(lost),
            f"{np.mean(np.abs(err)):.1f} / {err.max():+.1f}",
            f"{np.mean([r['noisy']['noise_pct'] for r in rows]):.1f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snr", nargs="+", type=float, default=[24.0, 12.0, 0.0],
                    help="levels of the electrode-motion noise, as the noise stress test's")
    ap.add_argument("--two-leads", action="store_true",
                    help="noise on both leads, R peaks found on both")
    args = ap.parse_args()
    em = electrode_motion(data_root())
    em2 = electrode_motion(data_root(), 1) if args.two_leads else None
    if em is None:
        print("skipped: mitdb/118 and nstdb/118e00 are needed for the electrode-motion noise")
        return
    per_record = []
    for name, rec in ds1_records().items():
        if name == "118":  # the record the noise stress test added this noise to
            continue
        rec2 = two_leads(data_root() / "mitdb" / name)[1] if args.two_leads else None
        clean = findings(rec.signal, rec.fs, name, None if rec2 is None else rec2.signal)
        for snr in args.snr:
            second = None if rec2 is None else noisy(rec2, snr, seed=0, source=em2)
            got = findings(noisy(rec, snr, seed=0, source=em), rec.fs, name, second)
            change = compare(clean, got)
            per_record.append({"record": name, "snr_db": snr, "clean": clean, "noisy": got,
                               "change": change})
            print(f"{name} {snr:>4g} dB  added {change['added']}  lost {change['lost']}",
                  flush=True)
    header = ["noise", "same verdict", "same findings", "findings added (records)",
              "findings lost (records)", "PVC burden error, mean abs / max (points)",
              "unreadable time flagged (%)"]
    rows = [level_row(snr, per_record) for snr in args.snr]
    table = md_table(header, rows)
    print(table)
    payload = {"command": command_line(), "machine": machine(), "per_record": per_record}
    section = "diagnose_noise_two_leads" if args.two_leads else "diagnose_noise"
    write_json(section, payload)
    mi = payload["machine"]
    two = (" Both leads carry noise, each its own lead of the test's, and the R peaks are "
           "found on both (`--second-lead`), in the clean records too." if args.two_leads
           else "")
    title = ("Verdicts in noise, two leads (`benchmarks/diagnose_noise.py --two-leads`)"
             if args.two_leads else "Verdicts in noise (`benchmarks/diagnose_noise.py`)")
    update_results_md(section, (
        f"## {title}\n\n"
        f"Command: `{payload['command']}`  \n"
        f"Measured {mi['date']} on {mi['cpu']} ({mi['cores']} cores), commit "
        f"{mi['commit'] or '?'}. The noise stress test's electrode-motion noise added to the "
        "21 DS1 records other than 118 (2 minutes of every 4 after minute 5, 40 % of each "
        "record, scaled to each record's QRS as the test scaled it to 118's); each noisy "
        "copy's findings (`ecgtool diagnose`, default thresholds, shipped model) against the "
        "same record's without noise. The model trained on these records: the clean "
        "findings are optimistic, the changes are the noise's. The steady-rate test of "
        "idioventricular runs was added after this test had shown false `ivr` findings: "
        "for them it is not blind." + two + "\n\n" + table + "\n"))


if __name__ == "__main__":
    main()
