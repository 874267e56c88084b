"""Diagnosis benchmark: record-level findings against the labels in the shared data.

Every record goes through the whole pipeline (detect, classify, rhythm,
diagnose) with the default thresholds; its findings are compared with:

* MIT-BIH: findings computed by the same rules from the reference beat
  labels and rhythm annotations (pvc, pac, af, vt, abnormal);
* CPSC 2021: AF present or not (header: paroxysmal / persistent / non AF),
  and AF long enough for the verdict's rule in the reference annotations;
* CinC 2021 samples: SNOMED codes in the headers (sinus rhythm, sinus
  brady/tachycardia, PAC, PVC, AF);
* LUDB records 1-100: the rhythm in ludb.csv (sinus rhythm, sinus
  brady/tachycardia, atrial fibrillation) and its premature beats (atrial
  or ventricular extrasystoles).

Conduction findings (wide QRS, long PR, long QTc) are scored against the
CinC 2021 codes and LUDB's conduction diagnoses (complete bundle branch
block or intraventricular conduction delay; first-degree AV block), and the
intervals themselves against the LUDB cardiologists' marks on the lead the
pipeline measures. These rules are off by default; they are scored here at
their clinical limits. The shipped QRS-boundary network trained on LUDB
records 1-100, so each LUDB record is analysed with a network trained on the
other four fifths of them (the folds of ``benchmarks/delineate.py``).

Reports accuracy, Se, Sp and F1 per label. On MIT-BIH it also compares HRV
(from beat times alone, end to end, and NeuroKit2's ``hrv_time``) and
heart-rate turbulence (end to end) with the figures of the reference beats
and labels. Usage: python benchmarks/diagnose.py
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import asdict

import numpy as np

from _common import command_line, data_root, machine, md_table, update_results_md, write_json
from ecgtool.beats.labels import aami_labels
from ecgtool.diagnose import AF_MARGIN_S, Thresholds, af_spans, diagnose, diagnose_analysis
from ecgtool.hrt import heart_rate_turbulence
from ecgtool.evaluate import BEAT_SYMBOLS, reference_rhythm
from ecgtool.io.inputs import ReadOptions, Source
from ecgtool.io.wfdbfiles import read_wfdb
from ecgtool.analysis import analyse_job
from ecgtool.rhythm import find_rhythms
from ecgtool.signal.delineate import DEFAULT_DELINEATION
from ecgtool.signal.detect import DetectorSettings
from ecgtool.variability import hrv

SNOMED = {"164889003": "af", "427172004": "pvc", "17338001": "pvc", "284470004": "pac",
          "63593006": "pac", "426177001": "brady", "427084000": "tachy",
          "426783006": "sinus",
          # Bundle branch blocks and intraventricular conduction delay: QRS >= 110-120 ms.
          "59118001": "qrs_wide", "713427006": "qrs_wide", "164909002": "qrs_wide",
          "733534002": "qrs_wide", "6374002": "qrs_wide", "698252002": "qrs_wide",
          "270492004": "pr_long", "111975006": "qtc_long"}
INTERVAL_CODES = ("qrs_wide", "pr_long", "qtc_long")
LUDB = {"Atrial fibrillation": "af", "Sinus bradycardia": "brady", "Sinus tachycardia": "tachy",
        "Sinus rhythm": "sinus", "Sinus arrhythmia": "sinus"}
LUDB_CONDUCTION = {"Complete left bundle branch block": "qrs_wide",
                   "Complete right bundle branch block": "qrs_wide",
                   "Non-specific intravintricular conduction delay": "qrs_wide",
                   "I degree av block": "pr_long"}
#: LUDB's "Extrasystolies" column names the premature beats of the 10-s record.
LUDB_ECTOPY = {"Ventricular extrasystole": "pvc", "Atrial extrasystole": "pac"}
AF30 = "af >= 30 s in annotations"


def predicted(report) -> set[str]:
    codes = {f.code for f in report.findings}
    if report.verdict == "abnormal":
        codes.add("abnormal")
    if report.verdict != "unreadable" and not codes & {"af", "brady", "tachy", "vt", "svt"}:
        codes.add("sinus")
    return codes


#: The 12-lead definition of sinus bradycardia (under 60 bpm), which the CinC 2021
#: and LUDB labels follow, beside ecgtool's Holter default (under 50 bpm).
BRADY60 = "brady (threshold 60 bpm)"


def analyse(path, name, model, delineation=None):
    # A LUDB record is delineated with its fold's QRS network.
    detector = DetectorSettings(delineation=delineation or DEFAULT_DELINEATION)
    return analyse_job(Source("wfdb", str(path), name), ReadOptions(), model=model,
                       detector=detector)


def predict(a, thresholds=Thresholds()) -> set[str]:
    return predicted(diagnose_analysis(a, thresholds))


#: The interval rules at their clinical limits (off by default).
CONDUCTION = Thresholds(qrs_wide_ms=120.0, pr_long_ms=200.0, qtc_long_ms=470.0)


def predict_with_brady60(a) -> set[str]:
    """Default findings, plus BRADY60 where a 60-bpm threshold calls bradycardia,
    plus the interval findings at their clinical limits."""
    slow = "brady" in predict(a, Thresholds(brady_bpm=60.0))
    return (predict(a) | ({BRADY60} if slow else set())
            | (predict(a, CONDUCTION) & set(INTERVAL_CODES)))


def mitdb_reference(rec, report) -> set[str]:
    """The reference findings: those of ``report`` (:func:`mitdb_reference_report`),
    and VT wherever the reference marks it."""
    codes = predicted(report)
    if any(s.rhythm == "vt" for s in reference_rhythm(rec.annotations, rec.fs, rec.n_samples)):
        codes.add("vt")
    return codes


def mitdb_reference_report(rec):
    """``diagnose``'s report of a MIT-BIH record's reference beats and labels,
    with the reference's AF episodes for the ones found."""
    a = rec.annotations
    t, lab = reference_beats(rec)
    ep = find_rhythms(t, lab)
    # AF from the reference rhythm annotations, not from the detector.
    ref = reference_rhythm(a, rec.fs, rec.n_samples)
    keep = ep.rhythm != "af"
    af = [(s.start, s.end) for s in ref if s.rhythm == "af"]
    from ecgtool.rhythm import Episodes

    ep = Episodes(np.concatenate([ep.start_s[keep], [s for s, _ in af]]),
                  np.concatenate([ep.end_s[keep], [e for _, e in af]]),
                  np.concatenate([ep.rhythm[keep], ["af"] * len(af)]),
                  np.concatenate([ep.confidence[keep], np.ones(len(af))]),
                  np.concatenate([ep.n_beats[keep], np.ones(len(af), np.int64)]))
    return diagnose(rec.name, rec.duration_s, t, lab, ep, None, Thresholds())


ECTOPY_COLUMNS = (("V", "couplets"), ("V", "runs"), ("V", "longest_run"), ("S", "couplets"),
                  ("S", "runs"), ("S", "longest_run"))


def ectopy_rows(per_record: list[dict]) -> list[list]:
    """One row per record with a couplet or run in the reference or found, then
    the totals (the longest run: the longest of all)."""
    def cell(r, c, k):
        return f"{r['ref'][c][k]} / {r['e2e'][c][k]}"

    rows = [[r["record"]] + [cell(r, c, k) for c, k in ECTOPY_COLUMNS] for r in per_record
            if any(r[w][c][k] for w in ("ref", "e2e") for c, k in ECTOPY_COLUMNS)]
    total = ["all"]
    for c, k in ECTOPY_COLUMNS:
        agg = max if k == "longest_run" else sum
        total.append(f"{agg(r['ref'][c][k] for r in per_record)} / "
                     f"{agg(r['e2e'][c][k] for r in per_record)}")
    return rows + [total]


HRV_MEASURES = ("sdnn_ms", "rmssd_ms", "pnn50_pct", "sdann_ms", "sdnn_index_ms",
                "triangular_index", "tinn_ms", "vlf_ms2", "lf_ms2", "hf_ms2", "lf_hf")


def reference_beats(rec):
    """Reference beat times (s) and AAMI labels of a MIT-BIH record (unlabelled
    beat symbols as Q)."""
    a = rec.annotations
    m = np.isin(a.symbol, list(BEAT_SYMBOLS))
    order = np.argsort(a.sample[m], kind="stable")
    lab = aami_labels(a.symbol[m][order])
    return a.sample[m][order] / rec.fs, np.where(lab == "", "Q", lab)


def neurokit_hrv(t):
    """NeuroKit2's hrv_time and hrv_frequency of beat times (all beats: it
    keeps ectopic ones; one Welch spectrum of the whole record's intervals
    resampled to a regular grid)."""
    import warnings

    import neurokit2 as nk

    peaks = np.round(t * 1000).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = nk.hrv_time(peaks, sampling_rate=1000)
        r = r.join(nk.hrv_frequency(peaks, sampling_rate=1000, normalize=False))
    keys = ("HRV_SDNN", "HRV_RMSSD", "HRV_pNN50", "HRV_SDANN5", "HRV_SDNNI5", "HRV_HTI",
            "HRV_TINN", "HRV_VLF", "HRV_LF", "HRV_HF", "HRV_LFHF")
    return {m: float(r[k].iloc[0]) for m, k in zip(HRV_MEASURES, keys)}


def hrv_rows(per_record: list[dict]) -> list[list]:
    """Median absolute difference of each HRV measure from the one of the
    reference labels (pNN50 in points, the others in % of the reference)."""
    rows = []
    for source, what in (("times", "ecgtool, reference beat times alone"),
                         ("e2e", "ecgtool end to end (its own beats and labels)"),
                         ("nk", "NeuroKit2 hrv_time and hrv_frequency, reference beat times (all beats)"),
                         ("nk_clean", "NeuroKit2, records with >= 99 % N beats")):
        cells = []
        for m in HRV_MEASURES:
            d = []
            for r in per_record:
                if source == "nk_clean" and r["n_share"] < 0.99:
                    continue
                got = r["nk" if source == "nk_clean" else source][m]
                ref = r["ref"][m]
                if np.isfinite(got) and np.isfinite(ref) and ref > 0:
                    d.append(abs(got - ref) if m == "pnn50_pct" else 100 * abs(got - ref) / ref)
            cells.append(f"{np.median(d):.1f}" if d else "-")
        kept = [r for r in per_record if source != "nk_clean" or r["n_share"] >= 0.99]
        both = sum(1 for r in kept if np.isfinite(r["ref"]["sdnn_ms"])
                   and np.isfinite(r["nk" if source == "nk_clean" else source]["sdnn_ms"]))
        rows.append([what, len(kept), both] + cells)
    return rows


def interval_errors(a, base) -> dict:
    """Measured minus reference median interval (ms) on the lead analysed."""
    import wfdb

    from ecgtool.intervals import conduction_intervals, marked_intervals

    lead = a.record.leads[a.record.channel]
    iv = conduction_intervals(a.beats, a.labels)
    # LUDB keeps each lead's marks in a file named after the lead.
    ann = wfdb.rdann(str(base), lead.lower())
    ref = marked_intervals(ann.sample, ann.symbol, a.record.fs)
    return {"record": a.name, "lead": lead,
            **{k: {"measured": getattr(iv, k), "reference": ref[k]} for k in ref}}


def interval_table(errors: list[dict]) -> tuple[dict, list]:
    summary, rows = {}, []
    for k, name in (("pr_ms", "PR"), ("qrs_ms", "QRS"), ("qt_ms", "QT")):
        m = np.array([e[k]["measured"] for e in errors])
        r = np.array([e[k]["reference"] for e in errors])
        ok = np.isfinite(m) & np.isfinite(r)
        d = m[ok] - r[ok]

        def stat(f):
            return float(f(d)) if d.size else float("nan")

        s = summary[k] = {
            "records": int(ok.sum()), "no_measure": int(np.sum(np.isfinite(r) & ~np.isfinite(m))),
            "mean_ms": stat(np.mean), "sd_ms": stat(np.std),
            "within_10_ms_pct": stat(lambda x: 100 * np.mean(np.abs(x) <= 10)),
            "within_20_ms_pct": stat(lambda x: 100 * np.mean(np.abs(x) <= 20))}
        rows.append([name, s["records"], s["no_measure"],
                     f"{s['mean_ms']:+.1f} ± {s['sd_ms']:.1f}",
                     f"{s['within_10_ms_pct']:.0f}", f"{s['within_20_ms_pct']:.0f}"])
    return summary, rows


def stats(pairs, label):
    tp = sum(label in p and label in r for r, p in pairs)
    fp = sum(label in p and label not in r for r, p in pairs)
    fn = sum(label not in p and label in r for r, p in pairs)
    tn = len(pairs) - tp - fp - fn
    def d(a, b):
        return a / b if b else float("nan")
    return {"n": len(pairs), "positives": tp + fn, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "accuracy": d(tp + tn, len(pairs)), "se": d(tp, tp + fn), "sp": d(tn, tn + fp),
            "f1": d(2 * tp, 2 * tp + fp + fn)}


def main() -> None:
    root = data_root()
    from ecgtool.ml.model_io import load_model

    model = load_model().path
    datasets = {}
    mit = root / "mitdb"
    if mit.is_dir():
        pairs, variability, turbulence, ectopy = [], [], [], []
        for atr in sorted(mit.glob("*.atr")):
            base = atr.with_suffix("")
            rec = read_wfdb(base)
            a = analyse(base, base.name, model)
            ref_report, report = mitdb_reference_report(rec), diagnose_analysis(a)
            pairs.append((mitdb_reference(rec, ref_report), predicted(report)))
            ectopy.append({"record": base.name, "ref": ref_report.ectopy, "e2e": report.ectopy})
            t, lab = reference_beats(rec)
            # HRV leaves AF out (and AF_MARGIN_S around it), as diagnose does:
            # the reference's AF episodes for the reference figures.
            ref_af = [(s.start - AF_MARGIN_S, s.end + AF_MARGIN_S) for s in reference_rhythm(
                rec.annotations, rec.fs, rec.n_samples) if s.rhythm == "af"]
            variability.append({
                "record": base.name, "n_share": float(np.mean(lab == "N")),
                "ref": asdict(hrv(t, lab, ref_af)),
                "times": asdict(hrv(t, None, af_spans(find_rhythms(t)))),
                "e2e": asdict(hrv(a.times_s, a.labels, list(a.noise) + af_spans(a.episodes))),
                "nk": neurokit_hrv(t)})
            ref, e2e = heart_rate_turbulence(t, lab), heart_rate_turbulence(
                a.times_s, a.labels, a.noise)
            if ref.n_pvcs or e2e.n_pvcs:
                turbulence.append({"record": base.name, "ref": asdict(ref), "e2e": asdict(e2e)})
        datasets["mitdb"] = (pairs, ("abnormal", "pvc", "pac", "af", "vt"))
    cpsc = root / "cpsc2021"
    if cpsc.is_dir():
        pairs = []
        for hea in sorted(cpsc.glob("*.hea")):
            text = hea.read_text().lower()
            ref = {"af"} if ("paroxysmal" in text or "persistent" in text) else set()
            # The header says AF of any length; the verdict needs an episode of
            # 30 s (or half the record), so also score against that rule applied
            # to the reference rhythm annotations.
            rec = read_wfdb(hea.with_suffix(""))
            longest = max((s.end - s.start for s in reference_rhythm(
                rec.annotations, rec.fs, rec.n_samples) if s.rhythm == "af"), default=0.0)
            if longest >= min(Thresholds().af_min_s, 0.5 * rec.duration_s):
                ref.add(AF30)
            pred = predict(analyse(hea.with_suffix(""), hea.stem, model))
            pairs.append((ref, pred | ({AF30} if "af" in pred else set())))
        datasets["cpsc2021"] = (pairs, ("af", AF30))
    cinc = root / "cinc2021"
    if cinc.is_dir():
        pairs = []
        for hea in sorted(cinc.glob("*.hea")):
            codes = set()
            for line in hea.read_text().splitlines():
                if line.startswith("#") and "Dx:" in line:
                    codes |= {SNOMED[c.strip()] for c in line.split(":", 1)[1].split(",")
                              if c.strip() in SNOMED}
            pred = predict_with_brady60(analyse(hea.with_suffix(""), hea.stem, model))
            pairs.append((codes | ({BRADY60} if "brady" in codes else set()), pred))
        datasets["cinc2021"] = (pairs, ("sinus", "brady", BRADY60, "tachy", "pac", "pvc", "af")
                                + INTERVAL_CODES)
    ludb = root / "ludb"
    errors = []
    if (ludb / "ludb.csv").is_file():
        pairs = []
        from delineate import ludb_fold_settings

        tmp = tempfile.TemporaryDirectory()
        folds = ludb_fold_settings(ludb, sorted((h.stem for h in (ludb / "data").glob("*.hea")),
                                                key=int), DEFAULT_DELINEATION, tmp.name)
        with open(ludb / "ludb.csv", newline="") as f:
            for row in csv.DictReader(f):
                rid = row["ID"].strip()
                base = ludb / "data" / rid
                if not base.with_suffix(".hea").is_file():
                    continue
                ref = {LUDB[r.strip()] for r in row["Rhythms"].split(",") if r.strip() in LUDB}
                ref |= {LUDB_CONDUCTION[c.strip()] for c in row["Conduction abnormalities"]
                        .splitlines() if c.strip() in LUDB_CONDUCTION}
                ref |= {code for kind, code in LUDB_ECTOPY.items()
                        if kind in row["Extrasystolies"]}
                a = analyse(base, rid, model, folds.get(rid))
                errors.append(interval_errors(a, base))
                pred = predict_with_brady60(a)
                pairs.append((ref | ({BRADY60} if "brady" in ref else set()), pred))
        datasets["ludb"] = (pairs, ("sinus", "brady", BRADY60, "tachy", "pac", "pvc", "af")
                            + INTERVAL_CODES)
    payload = {"command": command_line(), "machine": machine(), "results": {}}
    rows = []
    for db, (pairs, labels) in datasets.items():
        for lab in labels:
            s = stats(pairs, lab)
            payload["results"].setdefault(db, {})[lab] = s
            if s["positives"] == 0 and s["fp"] == 0:
                continue
            rows.append([db, lab, s["n"], s["positives"], f"{100 * s['accuracy']:.0f}",
                         f"{100 * s['se']:.0f}" if s["positives"] else "-",
                         f"{100 * s['sp']:.0f}" if s["n"] - s["positives"] else "-",
                         f"{s['f1']:.2f}" if s["positives"] else "-"])
    iv_table = ""
    if errors:
        payload["intervals_ludb"], iv_rows = interval_table(errors)
        payload["intervals_ludb"]["per_record"] = errors
        iv_table = md_table(["interval", "records", "not measured", "error mean ± SD (ms)",
                             "within 10 ms %", "within 20 ms %"], iv_rows)
    hrv_table = hrt_table = ectopy_table = ""
    if mit.is_dir():
        payload["hrv_mitdb"] = variability
        payload["hrt_mitdb"] = turbulence
        payload["ectopy_mitdb"] = ectopy
        ectopy_table = md_table(["record"] + [f"{c} {k.replace('_', ' ')} (reference / end to "
                                              "end)" for c, k in ECTOPY_COLUMNS],
                                ectopy_rows(ectopy))
        print(ectopy_table)
        hrv_table = md_table(["HRV from", "records", "measured by both", "SDNN", "RMSSD",
                              "pNN50 (points)", "SDANN", "SDNN index", "triangular index", "TINN",
                              "VLF", "LF", "HF", "LF/HF"],
                             hrv_rows(variability))
        hrt_table = md_table(
            ["record", "qualifying PVCs (reference / end to end)", "onset % (reference / "
             "end to end)", "slope ms/RR (reference / end to end)"],
            [[r["record"], f"{r['ref']['n_pvcs']} / {r['e2e']['n_pvcs']}",
              f"{r['ref']['onset_pct']:.1f} / {r['e2e']['onset_pct']:.1f}",
              f"{r['ref']['slope_ms']:.1f} / {r['e2e']['slope_ms']:.1f}"] for r in turbulence])
        print(hrv_table)
        print(hrt_table)
    write_json("diagnose", payload)
    table = md_table(["data", "label", "records", "positives", "accuracy %", "Se %", "Sp %",
                      "F1"], rows)
    print(table)
    print(iv_table)
    mi = payload["machine"]
    update_results_md("diagnose", (
        f"## Diagnosis (`benchmarks/diagnose.py`)\n\nCommand: `{payload['command']}`  \n"
        f"Measured {mi['date']}, commit {mi['commit'] or '?'}. Whole pipeline per record, "
        f"default thresholds (brady < 50 bpm, tachy > 100 bpm mean rate; PVC/PAC >= 30/h or "
        f">= 10%; AF >= 30 s or half a short record). MIT-BIH reference findings come from "
        f"the same rules applied to the reference labels and rhythm annotations. The CinC "
        f"2021 and LUDB labels call sinus bradycardia under 60 bpm, the 12-lead definition: "
        f"the \"{BRADY60}\" rows score the same runs with `--threshold brady_bpm=60`. "
        f"Conduction findings (one lead, medians over normal beats; off by default, scored "
        f"here at their clinical limits, `-t qrs_wide_ms=120 -t pr_long_ms=200 "
        f"-t qtc_long_ms=470`): QRS >= 120 ms "
        f"(`qrs_wide`; reference: complete bundle branch block or intraventricular conduction "
        f"delay), PR > 200 ms (`pr_long`; first-degree AV block), QTc Fridericia >= 470 ms "
        f"(`qtc_long`). The wave networks shipped with ecgtool (QRS boundaries, P waves) "
        f"trained on LUDB records 1-100: each LUDB record here is analysed with networks "
        f"trained on the other four fifths of them.\n\n"
        + table + "\n"
        + ("\nRecord-level intervals on LUDB records 1-100 against the cardiologists' marks "
           "of the lead analysed (II, the default), medians over each "
           "record's normal beats, measured minus reference:\n\n" + iv_table + "\n"
           if iv_table else "")
        + ("\nHRV on the 26 MIT-BIH records: median absolute difference from the figures of "
           "the reference beats and labels (normal-to-normal intervals as `ecgtool.variability.hrv` "
           "defines them, the reference's AF episodes left out as `diagnose` leaves out the "
           "ones it finds), in % of them (pNN50 in points). NeuroKit2 keeps every interval, "
           "ectopic ones too, so it differs where there is ectopy; on records of normal "
           "beats it shows whether the two compute the same measures (its band powers come "
           "from one Welch spectrum of the whole record's intervals resampled at a regular "
           "rate, ecgtool's are the mean of 5-minute Lomb-Scargle spectra, so they differ "
           "there by method too, VLF most; its TINN sums the squared error over the bins "
           "between the triangle's feet alone, ecgtool's over the whole histogram, as the Task "
           "Force defines it). ecgtool measures no HRV where fewer than "
           f"half the intervals outside noise and AF are NN (`nn_pct`): the reference "
           f"labels' HRV is measured on {sum(np.isfinite(r['ref']['sdnn_ms']) for r in variability)} "
           "records, and the differences are over the records both measure. End to end uses the "
           "shipped model, which trained on 22 of these records: optimistic there.\n\n"
           + hrv_table + "\n\nHeart-rate turbulence (`ecgtool.hrt`) of the MIT-BIH records "
           "where a PVC qualified, from the reference labels and end to end:\n\n"
           + hrt_table + "\n" if hrv_table else "")
        + ("\nEctopic beats in a row on the MIT-BIH records (`Report.ectopy`: couplets, runs of "
           "three or more at any rate, the longest run's beats; S beats inside AF left out, the "
           "reference's AF for the reference figures), from the reference labels and end to "
           "end, records with a couplet or run in either; the shipped model trained on 22 of "
           "these records:\n\n" + ectopy_table + "\n" if ectopy_table else "")))


if __name__ == "__main__":
    main()
