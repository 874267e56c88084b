"""Rhythm benchmark: AF episodes against reference rhythm annotations (EC57 style).

* MIT-BIH (records in $ECGTOOL_DATA/mitdb): end to end (detect, classify,
  rhythm on the signal), from the reference beats and labels, and from the
  reference beat times alone (no labels, as with LTAFDB); plus the
  specificity on records with frequent ectopy but no AF, and the bigeminy,
  trigeminy and VT episodes of records 106 and 208 beside the reference, and
  pooled over all records.
* CPSC 2021 (paroxysmal and persistent AF, 200 Hz): the same three ways.
* 10-second excerpts of the MIT-BIH and CPSC 2021 records, each analysed as
  a record of its own (detect, classify, rhythm, diagnose), as a 12-lead
  resting ECG would be: is the AF verdict right (Se and specificity)?
* Long-Term AF Database (ltafdb-ann: 42 records, about 980 hours): from the
  beat times of the ``.qrs`` files alone, as archives keep them (an automatic
  detector's, unreviewed); from the reviewed beats of the ``.atr`` files, their
  times alone and with their labels; and the processing time.

Statistics: AF duration Se and +P (overlap of reference and detected AF
time), episode Se and +P (an episode counts when it overlaps one of the
other side, as EC57 counts them), the same episode figures for episodes of
at least 30 s alone (the clinical least length of an AF episode; outside
the standard), mean absolute AF-burden error per record (percentage points).
Each record is scored from its first annotated beat to its last
(``ecgtool.evaluate.annotated_span``): a reference rhythm label holds to the
record's end, and LTAFDB's last labels run on through hours without a beat.
The AF parameters were set on MIT-BIH and CPSC 2021; LTAFDB was not used.
End to end, the P waves of the signal also count (the steady-PR rule: its
share set on MIT-BIH alone, its form changed once after a CPSC 2021 run).

Usage: python benchmarks/rhythm.py [--no-end-to-end]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import command_line, data_root, machine, md_table, update_results_md, write_json
from ecgtool.beats.labels import aami_labels
from ecgtool.evaluate import (BEAT_SYMBOLS, annotated_span, gross_episodes,
                              reference_rhythm, score_episodes)
from ecgtool.io.inputs import ReadOptions, Source
from ecgtool.io.wfdbfiles import read_annotations, read_wfdb
from ecgtool.analysis import analyse_job
from ecgtool.rhythm import find_rhythms

ECTOPY_NO_AF_MIN_PCT = 5.0
EXCERPT_S = 10.0
#: The clinical least length of an AF episode: episode counts are also given
#: for episodes at least this long (EC57's own count every episode).
CLINICAL_EPISODE_S = 30.0


def spans(ep, name):
    return [(float(s), float(e)) for s, e, r in zip(ep.start_s, ep.end_s, ep.rhythm) if r == name]


def ref_spans(ref, *names):
    return [(s.start, s.end) for s in ref if s.rhythm in names]


def beat_times_and_labels(a, fs):
    """The annotated beats' times (s) and AAMI classes (Q where a symbol has none)."""
    m = np.isin(a.symbol, list(BEAT_SYMBOLS))
    order = np.argsort(a.sample[m], kind="stable")
    lab = aami_labels(a.symbol[m][order])
    return a.sample[m][order] / fs, np.where(lab == "", "Q", lab)


def summarise(scores, burden_errors, long_scores):
    g = gross_episodes(scores).stats()
    long = gross_episodes(long_scores).stats()
    g.update(ref_episodes_clinical=long["ref_episodes"],
             episode_se_clinical=long["episode_se"],
             episode_ppv_clinical=long["episode_ppv"])
    g["burden_abs_error_pct"] = float(np.mean(burden_errors)) if burden_errors else float("nan")
    g["records"] = len(scores)
    return g


def add_af_scores(into, name, ref_af, found, total_s, within):
    """Append one record's AF scores to ``into``, a triple of lists: its
    :class:`EpisodeScore`, its absolute burden error, and its score counting
    episodes of :data:`CLINICAL_EPISODE_S` or more."""
    sc = score_episodes(name, ref_af, found, total_s, within=within)
    into[0].append(sc)
    into[1].append(abs(sc.burden_error))
    into[2].append(score_episodes(name, ref_af, found, total_s, CLINICAL_EPISODE_S, within))


def run_records(folder, names, end_to_end, model_path):
    out = {"reference beats": ([], [], []), "reference beat times only": ([], [], []),
           "end to end": ([], [], [])}
    detail = {}
    for name in names:
        base = folder / name
        rec = read_wfdb(base)
        if rec.annotations is None:
            continue
        ref = reference_rhythm(rec.annotations, rec.fs, rec.n_samples)
        t_ref, lab = beat_times_and_labels(rec.annotations, rec.fs)
        # Beat times without labels: what archives of .qrs files give (as LTAFDB).
        variants = {"reference beats": find_rhythms(t_ref, lab),
                    "reference beat times only": find_rhythms(t_ref)}
        if end_to_end:
            a = analyse_job(Source("wfdb", str(base), name), ReadOptions(), model=model_path)
            variants["end to end"] = a.episodes
        ref_af = ref_spans(ref, "af")
        within = annotated_span(rec.annotations, rec.fs)
        for k, ep in variants.items():
            add_af_scores(out[k], name, ref_af, spans(ep, "af"), rec.duration_s, within)
        ectopy = 100.0 * np.isin(lab, ["S", "V", "F"]).mean() if lab.size else 0.0
        detail[name] = {"episodes": variants, "ref": ref, "ectopy_pct": ectopy,
                        "duration_s": rec.duration_s, "within": within,
                        "excerpts": excerpt_verdicts(rec, ref, model_path) if end_to_end else []}
        print(f"{folder.name} {name}", flush=True)
    return out, detail


def excerpt_verdicts(rec, ref, model_path) -> list[tuple[bool, bool]]:
    """(reference AF, verdict AF) for each 10-s excerpt of ``rec`` analysed on
    its own. An excerpt is AF in the reference when half of it is, and not AF
    when none of it is; those in between, and those with atrial flutter, are
    left out. The verdict is diagnose's (its longest AF episode lasts half the
    excerpt)."""
    from ecgtool.diagnose import diagnose_analysis
    from ecgtool.analysis import analyse_signal

    n = int(EXCERPT_S * rec.fs)
    out = []
    for start in range(0, rec.n_samples - n + 1, n):
        window = [(start / rec.fs, (start + n) / rec.fs)]
        share = {r: score_episodes(rec.name, ref_spans(ref, r), window, EXCERPT_S).overlap_s
                 / EXCERPT_S for r in ("af", "afl")}
        if share["afl"] > 0 or 0 < share["af"] < 0.5:
            continue
        report = diagnose_analysis(analyse_signal(rec.signal[start:start + n], rec.fs, rec.name,
                                                  model_path))
        out.append((share["af"] >= 0.5, any(f.code == "af" for f in report.findings)))
    return out


def excerpt_row(db: str, detail: dict) -> tuple[list, dict]:
    pairs = np.array([p for d in detail.values() for p in d["excerpts"]], dtype=bool).reshape(-1, 2)
    ref, found = pairs[:, 0], pairs[:, 1]
    af_recs = sum(any(r for r, _ in d["excerpts"]) for d in detail.values())
    g = {"excerpts": int(ref.size), "af": int(ref.sum()), "af_records": af_recs,
         "se": float((ref & found).sum() / max(ref.sum(), 1)),
         "specificity": float((~ref & ~found).sum() / max((~ref).sum(), 1)),
         "false_af": int((~ref & found).sum())}
    return [db, len(detail), f"{g['af']} ({af_recs})", f"{100 * g['se']:.1f}",
            f"{int((~ref).sum())}", f"{100 * g['specificity']:.1f}", g["false_af"]], g


#: Rhythms that beat labels make, each scored against the reference rhythms
#: that count as it. VT runs that lie in ventricular flutter (MIT-BIH 207)
#: where the signal did not show the flutter are scored once against VT
#: alone, once against VT or flutter. A run of V beats at 100 bpm or slower
#: is ivr; MIT-BIH marks some such runs VT (223's slow ones): scored against
#: IVR, then IVR or VT.
LABEL_PATTERNS = (("bigeminy", ("bigeminy",)), ("trigeminy", ("trigeminy",)), ("vt", ("vt",)),
                  ("vt vs VT or flutter", ("vt", "vf")), ("svt", ("svt",)), ("ivr", ("ivr",)),
                  ("ivr vs IVR or VT", ("ivr", "vt")))


#: Ventricular flutter or fibrillation is read from the signal: end to end only.
SIGNAL_PATTERNS = (("vf", ("vf",)),)

#: LTAFDB marks no flutter.
LTAFDB_PATTERNS = tuple(p for p in LABEL_PATTERNS if "flutter" not in p[0])


def pattern_text(scored: dict, payload: dict, key: str) -> str:
    """Gross episode and duration Se / +P of each rhythm in ``scored``
    (``{rhythm: [(EpisodeScore, reference episodes), ...]}``, one pair per
    record), stored under ``payload["patterns_gross"][key + rhythm]``."""
    parts = []
    for r, pairs in scored.items():
        if not pairs:
            continue
        g = gross_episodes([sc for sc, _ in pairs]).stats()
        payload.setdefault("patterns_gross", {})[key + r] = g
        parts.append(f"{r} ({sum(n for _, n in pairs)} reference episodes): episode Se "
                     f"{100 * g['episode_se']:.0f}% / +P {100 * g['episode_ppv']:.0f}%, "
                     f"duration Se {100 * g['duration_se']:.0f}% / "
                     f"+P {100 * g['duration_ppv']:.0f}%")
    return "; ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-end-to-end", action="store_true",
                    help="skip detect+classify (no JAX); reference beats only")
    args = ap.parse_args()
    root = data_root()
    model_path = None
    if not args.no_end_to_end:
        from ecgtool.ml.model_io import load_model

        model_path = load_model().path
    payload = {"command": command_line(), "machine": machine(), "af": {}}
    rows = []
    header = ["data", "beats from", "records", "AF h (ref / found)", "duration Se %",
              "duration +P %", "episode Se % (episodes)", "episode +P %",
              f"episodes >= {CLINICAL_EPISODE_S:g} s: Se % (episodes)", "+P %",
              "burden error (pp)"]

    def add(db, variant, scores, errs, long_scores):
        g = summarise(scores, errs, long_scores)
        payload["af"][f"{db} / {variant}"] = g
        rows.append([db, variant, g["records"], f"{g['ref_hours']:.2f} / {g['test_hours']:.2f}",
                     f"{100 * g['duration_se']:.1f}", f"{100 * g['duration_ppv']:.1f}",
                     f"{100 * g['episode_se']:.1f} ({g['ref_episodes']})",
                     f"{100 * g['episode_ppv']:.1f}",
                     f"{100 * g['episode_se_clinical']:.1f} ({g['ref_episodes_clinical']})",
                     f"{100 * g['episode_ppv_clinical']:.1f}",
                     f"{g['burden_abs_error_pct']:.1f}"])

    extra = []
    excerpt_rows = []
    mit = root / "mitdb"
    if mit.is_dir():
        names = sorted(p.stem for p in mit.glob("*.atr") if p.with_suffix(".dat").is_file())
        res, detail = run_records(mit, names, not args.no_end_to_end, model_path)
        for variant, (sc, errs, long_sc) in res.items():
            if sc:
                add("mitdb", variant, sc, errs, long_sc)
        # Specificity where there is ectopy but no AF.
        spec = {}
        for variant in res:
            fp_s = tot_s = 0.0
            used = []
            for name, d in detail.items():
                if ref_spans(d["ref"], "af") or d["ectopy_pct"] < ECTOPY_NO_AF_MIN_PCT:
                    continue
                ep = d["episodes"].get(variant)
                if ep is None:
                    continue
                fp_s += sum(e - s for s, e in spans(ep, "af"))
                tot_s += d["duration_s"]
                used.append(name)
            if tot_s:
                spec[variant] = {"records": used, "specificity": 1 - fp_s / tot_s}
        payload["mitdb_ectopy_no_af_specificity"] = spec
        if not args.no_end_to_end:
            row, payload.setdefault("excerpts", {})["mitdb"] = excerpt_row("mitdb", detail)
            excerpt_rows.append(row)
        for variant, v in spec.items():
            extra.append(f"MIT-BIH records with >= {ECTOPY_NO_AF_MIN_PCT:g}% ectopic beats and "
                         f"no AF ({', '.join(v['records'])}), {variant}: AF specificity "
                         f"{100 * v['specificity']:.1f}%.")
        for name in ("106", "208"):
            if name not in detail:
                continue
            d = detail[name]
            for variant, ep in d["episodes"].items():
                found = {r: spans(ep, r) for r in ("bigeminy", "trigeminy", "vt")}
                ref = {r: ref_spans(d["ref"], r) for r in ("bigeminy", "trigeminy", "vt")}
                payload.setdefault("patterns", {})[f"{name} / {variant}"] = {
                    "found": found, "reference": ref}
                parts = []
                for r in ("bigeminy", "trigeminy", "vt"):
                    ov = score_episodes(name, ref[r], found[r], d["duration_s"],
                                        within=d["within"])
                    parts.append(f"{r}: reference {len(ref[r])} episodes "
                                 f"({ov.ref_s / 60:.1f} min), found {len(found[r])} "
                                 f"({ov.test_s / 60:.1f} min), overlap {ov.overlap_s / 60:.1f} min")
                extra.append(f"MIT-BIH {name}, {variant}: " + "; ".join(parts) + ".")
        # The same patterns pooled over every annotated MIT-BIH record.
        for variant in ("reference beats", "reference beat times only", "end to end"):
            # From beat times alone there is only bigeminy (the others need V or S labels).
            patterns = LABEL_PATTERNS if variant != "reference beat times only" else \
                LABEL_PATTERNS[:1]
            if variant == "end to end":
                patterns = patterns + SIGNAL_PATTERNS
            scored = {r: [(score_episodes(name, ref_spans(d["ref"], *refs),
                                          spans(d["episodes"][variant], r.split()[0]),
                                          d["duration_s"], within=d["within"]),
                           len(ref_spans(d["ref"], *refs)))
                          for name, d in detail.items() if variant in d["episodes"]]
                      for r, refs in patterns}
            text = pattern_text(scored, payload, f"{variant} / ")
            if text:
                extra.append(f"MIT-BIH, all {len(detail)} records, {variant}: {text}.")
    cpsc = root / "cpsc2021"
    if cpsc.is_dir():
        names = sorted(p.stem for p in cpsc.glob("*.atr"))
        res, detail = run_records(cpsc, names, not args.no_end_to_end, model_path)
        for variant, (sc, errs, long_sc) in res.items():
            if sc:
                add("cpsc2021", variant, sc, errs, long_sc)
        if not args.no_end_to_end:
            row, payload.setdefault("excerpts", {})["cpsc2021"] = excerpt_row("cpsc2021", detail)
            excerpt_rows.append(row)
    ltaf = root / "ltafdb-ann"
    if ltaf.is_dir():
        import wfdb

        qrs, hours, elapsed, reading = ([], [], []), 0.0, 0.0, 0.0
        # The .qrs beats are an automatic detector's, unreviewed (record 122's
        # miss 40 % of the beats of .atr); the beats of .atr were reviewed, and
        # labelled, so that they show what the rhythm rules make of sound beat
        # times, and of the ectopic beats that classify would take out.
        reviewed = {"reviewed beat times (.atr)": ([], [], []),
                    "reviewed beats and labels (.atr)": ([], [], [])}
        # LTAFDB marks ventricular (B) and atrial (AB) bigeminy; beat times
        # cannot tell them apart, so either counts.
        pattern_refs = {"bigeminy": ("bigeminy", "atrial bigeminy")}
        patterns = {r: [] for r in pattern_refs}
        labelled = {r: [] for r, _ in LTAFDB_PATTERNS}
        for atr in sorted(ltaf.glob("*.atr")):
            base = atr.with_suffix("")
            h = wfdb.rdheader(str(base))
            atr_ann = read_annotations(base, "atr")
            ref = reference_rhythm(atr_ann, h.fs, h.sig_len)
            t0 = time.perf_counter()
            q = read_annotations(base, "qrs")
            reading += time.perf_counter() - t0
            t0 = time.perf_counter()
            m = np.isin(q.symbol, list(BEAT_SYMBOLS))
            ep = find_rhythms(np.sort(q.sample[m]) / h.fs)
            elapsed += time.perf_counter() - t0
            total = h.sig_len / h.fs
            hours += total / 3600
            ref_af = ref_spans(ref, "af")
            within = annotated_span(atr_ann, h.fs)
            add_af_scores(qrs, base.name, ref_af, spans(ep, "af"), total, within)
            for r, refs in pattern_refs.items():
                patterns[r].append(score_episodes(base.name, ref_spans(ref, *refs),
                                                  spans(ep, r), total, within=within))
            t, lab = beat_times_and_labels(atr_ann, h.fs)
            with_labels = find_rhythms(t, lab)
            for variant, found in zip(reviewed, (find_rhythms(t), with_labels)):
                add_af_scores(reviewed[variant], base.name, ref_af, spans(found, "af"), total,
                              within)
            # The patterns that the reviewed labels make.
            for r, refs in LTAFDB_PATTERNS:
                labelled[r].append((score_episodes(base.name, ref_spans(ref, *refs),
                                                   spans(with_labels, r.split()[0]), total,
                                                   within=within),
                                    len(ref_spans(ref, *refs))))
        add("ltafdb", "beat times (.qrs)", *qrs)
        for variant, triple in reviewed.items():
            add("ltafdb", variant, *triple)
        parts = []
        for r, sc in patterns.items():
            g = gross_episodes(sc).stats()
            payload.setdefault("patterns_gross", {})[f"ltafdb beat times (.qrs) / {r}"] = g
            parts.append(f"{r} ({' or '.join(pattern_refs[r])}, "
                         f"{sum(x.ref_episodes for x in sc)} reference episodes, "
                         f"{g['ref_hours']:.1f} h): episode Se {100 * g['episode_se']:.0f}% / "
                         f"+P {100 * g['episode_ppv']:.0f}%, duration Se "
                         f"{100 * g['duration_se']:.0f}% / +P {100 * g['duration_ppv']:.0f}%")
        extra.append("LTAFDB, beat times (.qrs), bigeminy from timing alone (not used to "
                     "set the rule): "
                     + "; ".join(parts) + ".")
        extra.append("LTAFDB, reviewed beats and labels (.atr), the rhythms the labels make "
                     "(no rule was set on LTAFDB; its bigeminy (B) is ventricular, its atrial "
                     "bigeminy (AB) is not scored here): "
                     + pattern_text(labelled, payload, "ltafdb reviewed beats and labels / ")
                     + ".")
        payload["ltafdb_processing"] = {"hours": hours, "seconds": elapsed,
                                        "reading_seconds": reading}
        extra.append(f"LTAFDB: {hours:.0f} hours of beat times analysed in {elapsed:.1f} s; "
                     f"reading their .qrs files took {reading:.1f} s more.")
    write_json("rhythm", payload)
    table = md_table(header, rows)
    print(table)
    excerpts = ""
    if excerpt_rows:
        excerpts = md_table(["data", "records", "AF excerpts (records)", "AF verdict Se %",
                             "excerpts without AF", "specificity %", "false AF verdicts"],
                            excerpt_rows)
        print(excerpts)
        excerpts = (f"\n\nAF verdict on {EXCERPT_S:g}-second excerpts, each analysed as a record of "
                    f"its own, end to end (detect, classify, rhythm, diagnose: AF when its longest "
                    f"episode lasts half the excerpt), as for a resting ECG. An excerpt is AF when "
                    f"half of it is in the reference, without AF when none of it is; the others, "
                    f"and those with atrial flutter, are left out. The AF settings were chosen on "
                    f"whole records of these databases, not on excerpts; that a record shorter "
                    f"than the window is one window (one AF score for all its intervals) was "
                    f"decided on these excerpts (Se 75.0 / 70.6 % before).\n\n" + excerpts)
    print("\n".join(extra))
    mi = payload["machine"]
    update_results_md("rhythm", (
        f"## Rhythm (`benchmarks/rhythm.py`)\n\nCommand: `{payload['command']}`  \n"
        f"Measured {mi['date']}, commit {mi['commit'] or '?'}. AF against the reference rhythm "
        f"annotations; AF parameters were set on MIT-BIH and CPSC 2021, LTAFDB was not used "
        f"to set them. End to end, where the signal shows P waves, irregular intervals amid "
        f"steadily conducted P waves are not AF (`ecgtool.rr.steady_p_waves`: 60 % of a "
        f"window's beats with a PR within 20 ms of its median); its share was set on MIT-BIH "
        f"alone (shares 0.5-0.8 tried: duration Se / +P 83.5 / 84.4, 83.5 / 81.7, 85.2 / "
        f"77.5, 85.2 / 76.3; without it 85.2 / 66.7), but its form was changed once after a "
        f"CPSC 2021 run: a first form (a robust spread of the PR intervals) read the edges "
        f"of short AF episodes as steady and cut CPSC episode Se from 82 to 47 %. Nor is AF "
        f"called where the P-wave network finds P waves on 70 % of a window's beats "
        f"(`RhythmSettings.p_present_share`), set on both (end to end, CPSC duration Se / +P "
        f"at shares 0.5, 0.6, 0.7, 0.8 and without: 88.6 / 100.0, 95.4 / 99.7, 95.5 / 95.6, "
        f"95.5 / 91.8, 95.5 / 87.0; MIT-BIH +P 85.0, 84.1, 80.6, 79.6, 79.6 at Se 86.8). The "
        f"other rows have no signal: beat times, with their labels or without. Each record "
        f"is scored from its first annotated beat to its last "
        f"(`ecgtool.evaluate.annotated_span`): a reference rhythm label holds until the "
        f"next, and in 11 LTAFDB records the last one, AF, runs on after the "
        f"last annotated beat (and the last beat of .qrs) to the record's end, 14.5 h in all "
        f"(3.0 % of its AF; 6.1 h of record 11), time in which no rhythm can be found from "
        f"beats; scored to the record's end, the LTAFDB rows' duration Se is lower (.qrs beat "
        f"times: 93.9 %). Episode Se and +P count every episode, as EC57 "
        f"does; the columns for episodes of at least {CLINICAL_EPISODE_S:g} s (the clinical "
        f"least length of an AF episode) leave the shorter ones, reference and found, out "
        f"of the counts (not of the durations).\n\n" + table + excerpts + "\n\n"
        + "\n".join(f"- {e}" for e in extra) + "\n"))


if __name__ == "__main__":
    main()
