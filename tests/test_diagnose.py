"""Verdicts, thresholds and the HTML report."""

import csv
import io
import json

import numpy as np
import pytest

from ecgtool.diagnose import Thresholds, diagnose, diagnose_analysis, heart_rate
from ecgtool.rhythm import find_rhythms
from ecgtool.variability import hrv


def _run(rr, lab=None, **kw):
    t = np.concatenate([[0.0], np.cumsum(rr)])
    return diagnose("x", float(t[-1]), t, lab, find_rhythms(t, lab), **kw)


def test_normal_record():
    r = _run(np.full(600, 0.85), np.array(["N"] * 601))
    assert r.verdict == "normal" and r.findings == []
    assert r.hr_mean == pytest.approx(60 / 0.85)


def test_pvc_burden_and_override():
    lab = np.array(["N"] * 601)
    lab[::50] = "V"  # 13 of 601 beats (2.2%), but 92 an hour
    r = _run(np.full(600, 0.85), lab)
    assert r.verdict == "abnormal" and [f.code for f in r.findings] == ["pvc"]
    assert r.findings[0].text == "PVC burden 2.2% (13 beats, 92/h)"
    relaxed = Thresholds.with_overrides({"pvc_per_hour": "1000", "pvc_burden_pct": "5"})
    assert _run(np.full(600, 0.85), lab, thresholds=relaxed).verdict == "normal"
    with pytest.raises(ValueError, match="unknown threshold"):
        Thresholds.with_overrides({"nope": 1})
    with pytest.raises(ValueError, match="threshold pause_s: 'long' is not a number"):
        Thresholds.with_overrides({"pause_s": "long"})
    with pytest.raises(ValueError, match="vt_min_beats: '2.5' is not a whole number"):
        Thresholds.with_overrides({"vt_min_beats": "2.5"})


def test_s_beats_inside_af_are_not_counted_as_pacs():
    rng = np.random.default_rng(3)
    af_rr = rng.uniform(0.33, 0.6, 200)
    rr = np.concatenate([np.full(200, 0.8), af_rr, np.full(200, 0.8)])
    lab = np.array(["N"] * (rr.size + 1))
    lab[201:401][af_rr < 0.47] = "S"
    lab[50] = "S"  # one real PAC in sinus rhythm
    r = _run(rr, lab)
    codes = [f.code for f in r.findings]
    assert "af" in codes and "svt" not in codes and "pac" in codes
    pac = r.findings[codes.index("pac")]
    # The one PAC and a few S beats at the blurred edges of the AF episode:
    # under a tenth of the S labels.
    n_s = int((lab == "S").sum())
    assert n_s > 80 and 1 <= int(pac.text.split("(")[1].split()[0]) <= n_s // 10
    assert r.counts["S"] > 50  # the class counts still hold every S label


def test_af_vt_pause_findings_with_times():
    rng = np.random.default_rng(0)
    rr = np.concatenate([np.full(100, 0.8), rng.uniform(0.35, 1.1, 150), np.full(60, 0.8),
                         [3.5], np.full(50, 0.8), np.full(5, 0.45), np.full(50, 0.8)])
    lab = np.array(["N"] * (rr.size + 1))
    lab[362:367] = "V"
    r = _run(rr, lab)
    codes = {f.code: f for f in r.findings}
    assert {"af", "vt", "pause"} <= set(codes)
    t = np.concatenate([[0.0], np.cumsum(rr)])
    assert abs(codes["pause"].start_s - t[310]) < 1e-9
    assert abs(codes["vt"].start_s - t[362]) < 1e-9 and r.vt_longest_beats == 5
    assert 20 < r.af_burden_pct < 60


def test_flutter_is_a_finding_with_its_time_even_without_labels():
    rr = np.concatenate([np.full(100, 0.8), np.full(40, 0.25), np.full(100, 0.8)])
    t = np.concatenate([[0.0], np.cumsum(rr)])
    ep = find_rhythms(t, vf_spans=[(t[100], t[140])])
    r = diagnose("r", float(t[-1]), t, None, ep)
    codes = {f.code: f for f in r.findings}
    assert r.verdict == "abnormal" and "vf" in codes
    assert codes["vf"].start_s == t[100] and codes["vf"].end_s == t[140]
    assert "Ventricular flutter/fibrillation 10 s" in codes["vf"].text
    assert r.vf_s == pytest.approx(10.0) and r.as_row()["vf_s"] == pytest.approx(10.0)
    # Raised above the episode's length, the threshold leaves it out.
    r = diagnose("r", float(t[-1]), t, None, ep, thresholds=Thresholds(vf_min_s=11))
    assert "vf" not in {f.code for f in r.findings}
    # Flutter waves called V are no PVCs: not counted, no PVC finding.
    lab = np.array(["N"] * t.size)
    lab[101:140] = "V"
    r = diagnose("r", float(t[-1]), t, lab, find_rhythms(t, lab, vf_spans=[(t[100], t[140])]))
    assert r.counts["V"] == 0 and r.counts["N"] == t.size - 41
    assert {f.code for f in r.findings} == {"vf"}


def test_an_idioventricular_run_is_a_finding_of_its_own():
    rr = np.concatenate([np.full(100, 0.8), np.full(12, 1.3), np.full(100, 0.8)])
    lab = np.array(["N"] * (rr.size + 1))
    lab[101:113] = "V"
    codes = {f.code: f for f in _run(rr, lab).findings}
    assert "ivr" in codes and "vt" not in codes
    t = np.concatenate([[0.0], np.cumsum(rr)])
    assert abs(codes["ivr"].start_s - t[101]) < 1e-9 and "12 beats" in codes["ivr"].text


def test_rate_and_hrv_helpers():
    assert heart_rate(np.array([0.0]))[0] != heart_rate(np.array([0.0]))[0]  # nan
    h = hrv(np.cumsum(np.tile([0.8, 0.82], 50)), None)
    assert h.sdnn_ms == pytest.approx(10.05, abs=0.1) and h.rmssd_ms == pytest.approx(20.0)
    # 100 s: no two 5-minute segments for SDANN and the SDNN index.
    assert np.isnan(h.sdann_ms) and np.isnan(h.sdnn_index_ms)


def test_mean_rate_lies_between_the_minimum_and_maximum_of_a_short_record():
    # The beats of CinC 2021 JS20002 (10 s, PACs): its 14 intervals gave a
    # mean of 85 bpm beside a maximum of 82 over 8-beat spans, which missed
    # the quick beats at both ends.
    t = np.array([0.026, 0.548, 1.042, 2.044, 2.942, 3.456, 4.004, 4.984, 5.958, 6.492,
                  6.948, 7.878, 8.896, 9.432, 9.894])
    mean, lo, hi = heart_rate(t)
    assert lo <= mean <= hi
    assert mean == pytest.approx(60 * 14 / (9.894 - 0.026))
    # A long regular record keeps its 8-beat extremes.
    rr = np.r_[np.full(50, 1.0), np.full(8, 0.5), np.full(50, 1.0)]
    assert heart_rate(np.cumsum(rr))[1:] == pytest.approx((60.0, 120.0))


def test_hrv_from_beat_times_alone_leaves_out_ectopic_beats(rec119):
    # 119 has 444 PVCs, many in bigeminy. From its beat times alone (as from
    # a .qrs file), HRV must come near the figures of its normal-to-normal
    # intervals; counting the PVCs' intervals gave 6x the SDNN, 14x the RMSSD.
    from ecgtool.beats.labels import aami_labels

    ann = rec119.annotations
    lab = aami_labels(np.asarray(ann.symbol))
    keep = lab != ""
    t = np.asarray(ann.sample)[keep] / rec119.fs
    ref, bare = hrv(t, lab[keep]), hrv(t, None)
    assert ref.sdnn_ms < bare.sdnn_ms < 1.25 * ref.sdnn_ms
    assert ref.rmssd_ms < bare.rmssd_ms < 1.5 * ref.rmssd_ms
    # Thirty minutes: six 5-minute segments.
    assert ref.sdann_ms < ref.sdnn_ms and 0 < ref.sdnn_index_ms < ref.sdnn_ms
    assert 0 <= ref.pnn50_pct <= 100


def test_rate_leaves_out_intervals_across_unreadable_spans(rec119):
    # Two minutes of lost signal (a lead off, an EDF+D gap): the beats on
    # either side are 2 minutes apart, which says nothing about the heart.
    from ecgtool.signal.detect import detect_beats
    from ecgtool.signal.quality import noise_spans

    fs = rec119.fs
    x = rec119.signal[: int(600 * fs)].copy()
    whole = detect_beats(x, fs).r_peak / fs
    x[int(200 * fs):int(320 * fs)] = np.nan
    t = detect_beats(x, fs).r_peak / fs
    noise = noise_spans(x, fs)
    assert noise and noise[0][0] <= 200 and noise[0][1] >= 320
    rep = diagnose("119", 600.0, t, None, find_rhythms(t, None, None, noise), noise)
    ref = diagnose("119", 600.0, whole, None, find_rhythms(whole))
    assert rep.hr_mean == pytest.approx(ref.hr_mean, rel=0.03)
    assert rep.hr_min == pytest.approx(ref.hr_min, rel=0.05)
    assert not [f for f in rep.findings if f.code in ("pause", "brady")]


def test_unlabelled_beats_leave_the_classes_unmeasured_not_zero():
    t = np.cumsum(np.full(100, 0.8))
    bare = diagnose("x", 80.0, t, None, find_rhythms(t))
    assert not bare.labelled and bare.vt_longest_beats is None
    assert set(bare.counts.values()) == {None} and set(bare.burden_pct.values()) == {None}
    d = bare.as_dict()
    assert d["counts"]["V"] is None and d["vt_longest_beats"] is None
    lab = np.array(["N"] * 100)
    known = diagnose("x", 80.0, t, lab, find_rhythms(t, lab))
    assert known.counts["V"] == 0 and known.vt_longest_beats == 0
    assert bare.ectopy is None and bare.as_row()["v_couplets"] is None
    assert known.ectopy["V"] == {"singles": 0, "couplets": 0, "runs": 0, "longest_run": 0}
    assert known.as_row()["v_couplets"] == 0


def test_ectopic_beats_counted_alone_in_couplets_and_runs():
    # Sinus at 75 bpm with PVCs: 3 alone, 2 couplets, a run of 4 at the
    # sinus rate (no VT; a run all the same); then AF, whose S calls are no
    # PACs, and 2 S couplets outside it.
    rng = np.random.default_rng(1)
    rr = np.concatenate([np.full(200, 0.8), rng.uniform(0.35, 1.1, 150), np.full(100, 0.8)])
    lab = np.array(["N"] * (rr.size + 1))
    for i in (20, 40, 60):
        lab[i] = "V"
    lab[80:82] = lab[100:102] = "V"
    lab[120:124] = "V"
    lab[230:233] = "S"  # inside the AF
    lab[380:382] = lab[400:402] = "S"
    r = _run(rr, lab)
    assert "af" in {f.code for f in r.findings} and r.vt_longest_beats == 0
    assert r.ectopy["V"] == {"singles": 3, "couplets": 2, "runs": 1, "longest_run": 4}
    assert r.ectopy["S"] == {"singles": 0, "couplets": 2, "runs": 0, "longest_run": 0}
    row = r.as_row()
    assert (row["v_couplets"], row["v_runs"], row["v_run_longest"]) == (2, 1, 4)
    assert (row["s_couplets"], row["s_runs"], row["s_run_longest"]) == (2, 0, 0)


def test_cli_says_when_ectopy_was_not_assessed(tmp_path):
    from typer.testing import CliRunner

    from ecgtool.cli import app

    run = CliRunner().invoke
    beats = run(app, ["detect", "sample:119", "--out", str(tmp_path / "b.csv"), "-q"])
    assert beats.exit_code == 0, beats.output
    res = run(app, ["diagnose", str(tmp_path / "b.csv")])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout.strip())
    assert d["labelled"] is False and d["counts"]["V"] is None
    assert "beats not classified in 1 of 1 record (beat times alone" in res.stderr
    assert "PVC/PAC burden, VT runs and trigeminy are not assessed" in res.stderr
    # 119's bigeminy and trigeminy still show in the beat timing.
    assert any(r.startswith("Bigeminy") and "origin unknown" in r for r in d["reasons"])
    # rhythm says the same of beat times alone, and nothing of classified beats.
    res = run(app, ["rhythm", str(tmp_path / "b.csv"), "--out", "-"])
    assert res.exit_code == 0, res.output
    assert "beats not classified in 1 of 1 record" in res.stderr
    assert "VT, SVT and idioventricular runs and trigeminy are not looked for" in res.stderr
    res = run(app, ["rhythm", "sample:119", "--out", "-"])
    assert res.exit_code == 0, res.output
    assert "not classified" not in res.stderr


def test_readable_signal_without_heartbeats_is_abnormal_never_normal():
    # A minute of clean signal with no beat (or one): asystole, or a heart
    # the detector missed; a person must look.
    for t in (np.zeros(0), np.array([12.0])):
        r = diagnose("e", 60.0, t, None, find_rhythms(t))
        assert r.n_beats == t.size and r.verdict == "abnormal"
        assert [f.code for f in r.findings] == ["no_beats"]
        assert r.findings[0].text.endswith("detected in 1.0 min of readable signal")
    # Too short to hold an interval at all: nothing can be said.
    short = diagnose("s", 0.5, np.zeros(0), None, find_rhythms(np.zeros(0)))
    assert short.verdict == "unreadable"
    assert short.findings[0].text.startswith("only 0.5 s of 0.5 s could be analysed")
    # Two beats are an interval: a 2 s strip of them is judged as usual.
    two = np.array([0.4, 1.2])
    assert diagnose("t", 2.0, two, None, find_rhythms(two)).verdict == "normal"


def test_a_record_with_too_little_signal_is_unreadable_not_normal():
    t = np.zeros(0)
    lost = diagnose("x", 12.0, t, None, find_rhythms(t), noise=[(0.0, 12.0)])
    assert lost.verdict == "unreadable" and [f.code for f in lost.findings] == ["unreadable"]
    # A day with an hour of clean signal is judged on that hour.
    beats = np.cumsum(np.full(4500, 0.8))
    day = diagnose("d", 86400.0, beats, None, find_rhythms(beats), noise=[(3600.0, 86400.0)])
    assert day.verdict == "normal"
    # Findings in what could be read still make the record abnormal.
    lab = np.array(["N"] * 20); lab[::4] = "V"
    few = np.cumsum(np.full(20, 0.8))
    some = diagnose("s", 600.0, few, lab, find_rhythms(few, lab), noise=[(16.0, 600.0)])
    assert some.verdict == "abnormal" and "unreadable" not in [f.code for f in some.findings]


def test_json_report_is_standard_json_for_a_lost_signal(tmp_path):
    import json

    from typer.testing import CliRunner

    from ecgtool.cli import app

    csv = tmp_path / "lost.csv"
    csv.write_text("v\n" + "nan\n" * 3000)
    res = CliRunner().invoke(app, ["diagnose", str(csv), "--fs", "250", "-q"])
    assert res.exit_code == 0, res.output

    def refuse(token):
        raise ValueError(f"non-standard JSON: {token}")

    d = json.loads(res.stdout, parse_constant=refuse)
    assert d["verdict"] == "unreadable" and d["hr_mean"] is None


def test_cli_jsonl_and_html(tmp_path):
    from typer.testing import CliRunner

    from ecgtool.cli import app

    html = tmp_path / "r.html"
    res = CliRunner().invoke(app, ["diagnose", "sample:119", "--html", str(html),
                                   "-t", "pvc_burden_pct=50", "-q"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout.strip())
    assert d["record"] == "119" and d["verdict"] == "abnormal"
    assert d["thresholds"]["pvc_burden_pct"] == 50.0
    assert any("PVC" in r for r in d["reasons"])  # 445 PVCs in 30 min: far over 30/h
    page = html.read_text()
    for section in ("119: <span class='abnormal'>abnormal</span>", "Heart-rate trend",
                    "Class counts", "Example: pvc", "data:image/png;base64,",
                    "<th>Ectopic beats in a row</th><td>V: "):
        assert section in page
    assert "http" not in page.split("<body>")[1]  # nothing fetched from the network
    # Beats without their signal, and a record without a measurable rate:
    # no strip, and "-" where a figure was not measured (not "nan").
    beats = tmp_path / "b.csv"
    assert CliRunner().invoke(app, ["detect", "sample:119", "--out", str(beats),
                                    "-q"]).exit_code == 0
    lost = tmp_path / "lost.csv"
    lost.write_text("v\n" + "nan\n" * 3000)
    res = CliRunner().invoke(app, ["diagnose", str(beats), str(lost), "--fs", "250",
                                   "--no-classify", "--html", str(html), "-q"])
    assert res.exit_code == 0, res.output
    page = html.read_text()
    assert "No ECG strips" in page and "Example:" not in page
    assert "not assessed (beats not classified)" in page
    import re

    text = re.sub(r"src='[^']*'", "", page)  # the images' base64 holds any letters
    assert "nan" not in text.lower() and "mean -, min -" in text
    bad = CliRunner().invoke(app, ["diagnose", "sample:119", "-t", "nope=1"])
    assert bad.exit_code == 1 and "unknown threshold" in bad.stderr


def test_csv_report_has_one_row_per_record_with_the_jsonl_figures(tmp_path):
    import csv as csvmod

    from typer.testing import CliRunner

    from ecgtool.cli import app
    from ecgtool.diagnose import REPORT_COLUMNS

    lost = tmp_path / "lost.csv"
    lost.write_text("v\n" + "nan\n" * 3000)
    args = ["diagnose", "sample:119", str(lost), "--fs", "250", "-q"]
    out = tmp_path / "r.csv"
    assert CliRunner().invoke(app, args + ["--out", str(out)]).exit_code == 0
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    reports = {d["record"]: d for d in map(json.loads, res.stdout.splitlines())}
    with open(out, newline="") as f:
        reader = csvmod.DictReader(f)
        assert tuple(reader.fieldnames) == REPORT_COLUMNS
        rows = {r["record"]: r for r in reader}
    assert set(rows) == set(reports) == {"119", "lost"}
    r, d = rows["119"], reports["119"]
    assert r["verdict"] == d["verdict"] == "abnormal"
    assert int(r["n_V"]) == d["counts"]["V"] and int(r["n_beats"]) == d["n_beats"]
    assert float(r["hr_mean"]) == pytest.approx(d["hr_mean"], abs=1e-3)
    assert float(r["qrs_ms"]) == pytest.approx(d["intervals"]["qrs_ms"], abs=1e-3)
    assert r["reasons"] == "; ".join(d["reasons"]) and "," in r["reasons"]  # quoted
    assert r["findings"].split("; ")[0] == "pvc"
    # What was not measured is an empty cell, not 0 or "nan".
    assert rows["lost"]["verdict"] == "unreadable" and rows["lost"]["hr_mean"] == ""
    # --csv gives the same rows on stdout, for a shell pipeline.
    piped = CliRunner().invoke(app, args + ["--csv"])
    assert piped.exit_code == 0 and piped.stdout == out.read_text()
    bad = CliRunner().invoke(app, args + ["--csv", "--out", str(tmp_path / "r.jsonl")])
    assert bad.exit_code == 1 and "--csv writes CSV" in bad.stderr


def _with_gap(rec, kind):
    """Record 119 with 6 s from 100 s replaced: flat at the baseline (asystole),
    the same with mains hum on it, or pinned at +3 mV and drifting back (a
    saturated amplifier)."""
    fs = rec.fs
    x = rec.signal.copy()
    a, b = int(100 * fs), int(106 * fs)
    base = float(np.median(x[a - int(2 * fs):a]))
    wiggle = 0.005 * np.random.default_rng(0).standard_normal(b - a)
    if kind == "asystole":
        x[a:b] = base + wiggle
    elif kind == "asystole with hum":
        x[a:b] = base + wiggle + 0.3 * np.sin(2 * np.pi * 60 * np.arange(b - a) / fs)
    else:
        x[a:b] = base + 3.0 * np.exp(-np.arange(b - a) / (1.5 * fs)) + wiggle
    return x


@pytest.mark.parametrize("kind, pause_reported", [("asystole", True), ("asystole with hum", True),
                                                   ("saturation", False)])
def test_a_flat_gap_is_a_pause_unless_the_signal_was_lost(rec119, kind, pause_reported):
    # Asystole is flat at the baseline and must be reported; a saturated
    # amplifier drifting back hides the beats, and the gap is not a pause.
    from ecgtool.signal.detect import detect_beats
    from ecgtool.signal.quality import noise_spans

    x = _with_gap(rec119, kind)
    t = detect_beats(x, rec119.fs).r_peak / rec119.fs
    noise = noise_spans(x, rec119.fs)
    ep = find_rhythms(t, None, None, noise)
    rep = diagnose("119", x.size / rec119.fs, t, None, ep, noise)
    pauses = [f for f in rep.findings if f.code == "pause"]
    assert bool(pauses) == pause_reported
    assert bool(noise) == (not pause_reported)


def test_two_seconds_of_lost_signal_make_a_span_two_flat_ones_do_not():
    from ecgtool.signal.quality import noise_spans

    fs = 360
    x = 0.002 * np.random.default_rng(1).standard_normal(60 * fs)
    qrs = np.concatenate([np.linspace(0, 1.5, 11), np.linspace(1.5, 0, 11)[1:]])
    for c in range(fs // 2, x.size - 20, fs):             # a 60-ms QRS a second
        x[c - 10:c + 11] += qrs
    gap = slice(int(19.7 * fs), int(22.3 * fs))
    lost, quiet = x.copy(), x.copy()
    lost[gap] = 1.2                                        # pinned to a rail
    quiet[gap] = 0.002                                     # flat at the baseline
    assert noise_spans(lost, fs) == [(20.0, 22.0)]
    assert noise_spans(quiet, fs) == []


def test_a_lead_off_the_body_is_unreadable_not_a_tachycardia_with_pvcs(tmp_path):
    # What a lead off the body records: mains hum, or broadband noise. The
    # detector finds "beats" in both; the verdict must not be a finding.
    from typer.testing import CliRunner

    from ecgtool.cli import app

    fs = 360.0
    t = np.arange(int(120 * fs)) / fs
    hum = 0.3 * np.sin(2 * np.pi * 50 * t)
    white = 0.1 * np.random.default_rng(0).standard_normal(t.size)
    for name, x in (("hum", hum), ("white", white)):
        np.savetxt(tmp_path / f"{name}.csv", x, fmt="%.5f")
        res = CliRunner().invoke(app, ["diagnose", str(tmp_path / f"{name}.csv"), "--fs", "360"])
        assert res.exit_code == 0, res.output
        d = json.loads(res.stdout.strip())
        assert d["verdict"] == "unreadable", d["reasons"]
        assert d["noise_pct"] > 95 and sum(d["counts"].values()) == 0


def test_heavy_mains_on_a_real_ecg_leaves_it_readable(rec119):
    from ecgtool.signal.quality import noise_spans

    x = rec119.signal[:36000]
    hum = 1.0 * np.sin(2 * np.pi * 60 * np.arange(x.size) / rec119.fs)
    assert noise_spans(x + hum, rec119.fs) == noise_spans(x, rec119.fs) == []


def test_a_record_with_no_readable_sample_is_noise_to_its_last_sample():
    # The part second at the end goes with the second before it.
    from ecgtool.signal.quality import noise_spans

    assert noise_spans(np.full(5000, np.nan), 360.0) == [(0.0, 5000 / 360.0)]
    assert noise_spans(np.zeros(5000), 360.0) == [(0.0, 5000 / 360.0)]  # a dropout throughout


def test_readme_python_example_runs(capsys):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = text.index("```python\n") + len("```python\n")
    exec(compile(text[start:text.index("```", start)], "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert out.startswith("abnormal ['PVC burden")


def test_analysing_a_signal_in_memory_is_analysing_its_record():
    import ecgtool
    from ecgtool.io.inputs import ReadOptions, Source
    from ecgtool.io.records import sample_path
    from ecgtool.analysis import analyse_job

    rec = ecgtool.read_sample("119")
    a = ecgtool.analyse_signal(rec.signal, rec.fs, "119", lead="MLII")
    b = analyse_job(Source("wfdb", str(sample_path("119")), "119"), ReadOptions())
    assert np.array_equal(a.times_s, b.times_s) and np.array_equal(a.labels, b.labels)
    assert a.episodes.rhythm.tolist() == b.episodes.rhythm.tolist()
    assert np.allclose(a.episodes.start_s, b.episodes.start_s) and a.noise == b.noise
    ra, rb = ecgtool.diagnose_analysis(a), ecgtool.diagnose_analysis(b)
    assert ra.as_row() == {**rb.as_row(), "record": "119"} and ra.lead == "MLII"


def test_analysing_another_lead_in_memory_warns_as_the_command_does():
    import warnings

    import ecgtool
    from ecgtool.errors import EcgToolWarning

    rec = ecgtool.read_sample("119")
    x = rec.signal[:int(20 * rec.fs)]
    for lead, warned in (("V1", True), ("II", False), ("", False)):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            ecgtool.analyse_signal(x, rec.fs, lead=lead)
        assert any(issubclass(m.category, EcgToolWarning) and "lead V1" in str(m.message)
                   for m in w) is warned, lead


def test_the_per_hour_rule_of_premature_beats_can_ask_for_more_than_one():
    # One PVC in a minute is 60 an hour (over the default 30): a finding,
    # unless the per-hour rule is asked to count from two beats.
    t = np.cumsum(np.full(75, 0.8))
    lab = np.array(["N"] * 75)
    lab[40] = "V"
    one = diagnose("x", 60.0, t, lab, find_rhythms(t, lab))
    assert [f.code for f in one.findings] == ["pvc"]
    two = diagnose("x", 60.0, t, lab, find_rhythms(t, lab),
                   thresholds=Thresholds(min_beats_per_hour_rule=2))
    assert two.verdict == "normal" and two.counts["V"] == 1


def test_a_negative_or_nan_threshold_is_an_error():
    for item in ({"af_min_s": "-1"}, {"pause_s": "nan"}):
        with pytest.raises(ValueError, match="must be a number of 0 or more"):
            Thresholds.with_overrides(item)
    assert Thresholds.with_overrides({"tachy_bpm": "inf"}).tachy_bpm == float("inf")


def test_hours_add_up_to_the_record(rec208):
    # Ten-minute rows of the bundled 208 (so that a short record has
    # several): beats, classes, pauses, runs and unreadable time of the
    # rows add up to the whole record's.
    from ecgtool.hourly import hourly_analysis
    from ecgtool.analysis import analyse_signal

    a = analyse_signal(rec208.signal, rec208.fs, "208")
    rep = diagnose_analysis(a)
    rows = hourly_analysis(a, hour_s=600.0)
    assert [r.hour for r in rows] == [0, 1, 2, 3] and rows[-1].end_s == a.duration_s
    assert sum(r.n_beats for r in rows) == a.times_s.size
    for c in "NSVFQ":
        assert sum(getattr(r, f"n_{c}") for r in rows) == rep.counts[c]
    assert sum(r.vt_runs for r in rows) == len(a.episodes.of("vt"))
    for c in "vs":
        for kind in ("couplets", "runs"):
            assert sum(getattr(r, f"{c}_{kind}") for r in rows) == rep.ectopy[c.upper()][kind]
    assert rep.ectopy["V"]["couplets"] > 50  # 208's PVCs come in pairs too
    assert sum(r.noise_s for r in rows) == pytest.approx(rep.noise_pct / 100 * a.duration_s)
    assert sum(r.pauses for r in rows) == rep.pauses
    assert all(r.hr_min <= r.hr_mean <= r.hr_max for r in rows)
    # A 10-minute row's HRV is that of its own beats: in 208, where fewer
    # than half the intervals are NN, none.
    first = a.times_s < 600.0
    h = hrv(a.times_s[first], a.labels[first], a.noise)
    assert h.nn_pct < 50 and np.isnan(h.sdnn_ms) and np.isnan(rows[0].sdnn_ms)
    assert rows[0].nn_pct == pytest.approx(h.nn_pct, rel=0.01)  # and the next hour's first interval
    assert 10 < hrv(a.times_s[first], a.labels[first], a.noise, min_nn_pct=0).sdnn_ms < 200
    assert min(r.hr_min for r in rows) == pytest.approx(rep.hr_min)


def test_an_hours_hrv_is_that_of_its_own_beats(rec119):
    from ecgtool.hourly import hourly_analysis
    from ecgtool.analysis import analyse_signal

    a = analyse_signal(rec119.signal, rec119.fs, "119")
    rows = hourly_analysis(a, hour_s=600.0)
    first = a.times_s < 600.0
    h = hrv(a.times_s[first], a.labels[first], a.noise)
    assert h.nn_pct >= 50 and rows[0].sdnn_ms == pytest.approx(h.sdnn_ms, rel=0.05)


def test_af_time_splits_across_hours_and_a_pause_counts_once():
    # Two hours at 60 bpm with AF from 50 to 70 min and a 4-s pause across
    # the turn of the hour (no beat from 3598 to 3602 s).
    from ecgtool.hourly import hourly

    rng = np.random.default_rng(0)
    t = np.arange(0.5, 7200.0, 1.0)
    af = (t > 3000) & (t < 4200)
    t = t + np.where(af, rng.uniform(-0.3, 0.3, t.size), 0.0)
    t = t[(t < 3598) | (t > 3602)]
    ep = find_rhythms(t)
    rows = hourly("x", 7200.0, t, None, ep)
    total = ep.duration("af")
    assert 1000 < total < 1300
    assert rows[0].af_s + rows[1].af_s == pytest.approx(total)
    assert rows[0].af_s == pytest.approx(3600 - ep.of("af").start_s[0])
    assert [r.pauses for r in rows] == [1, 0] and rows[0].pause_longest_s > 4
    assert rows[0].n_N is None  # no labels: classes not counted
    # Flutter across the turn of the hour is split between the two rows.
    ep = find_rhythms(t, vf_spans=[(3500.0, 3700.0)])
    rows = hourly("x", 7200.0, t, None, ep)
    assert rows[0].vf_s + rows[1].vf_s == pytest.approx(ep.duration("vf"))
    assert 99 < rows[0].vf_s < 102 and 99 < rows[1].vf_s < 102


def test_cli_hourly_csv(tmp_path):
    from typer.testing import CliRunner

    from ecgtool.cli import app
    from ecgtool.hourly import HOURLY_COLUMNS

    out, hours = tmp_path / "r.jsonl", tmp_path / "h.csv"
    res = CliRunner().invoke(app, ["diagnose", "sample:119", "sample:208", "--out", str(out),
                                   "--hourly", str(hours), "-q"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(hours.read_text())))
    assert tuple(rows[0]) == HOURLY_COLUMNS and [r["record"] for r in rows] == ["119", "208"]
    reports = [json.loads(line) for line in out.read_text().splitlines()]
    for row, rep in zip(rows, reports):
        assert int(row["n_beats"]) == rep["n_beats"] and int(row["n_V"]) == rep["counts"]["V"]
    bad = CliRunner().invoke(app, ["diagnose", "sample:119", "--hourly", "-"])
    assert bad.exit_code == 1 and "both on stdout" in bad.stderr
    # A diagnose store keeps the same table with each record.
    import h5py

    store = tmp_path / "r.h5"
    assert CliRunner().invoke(app, ["diagnose", "sample:208", "--out", str(store),
                                    "-q"]).exit_code == 0
    with h5py.File(store) as f:
        table = f["records/208/hourly"]
        assert table["n_V"][...].tolist() == [int(rows[1]["n_V"])]
        assert table["hr_mean"][0] == pytest.approx(float(rows[1]["hr_mean"]), abs=1e-3)
    # Resumed, the table still holds the record the store already had (its
    # rows read back from it), in the order of the inputs.
    again = tmp_path / "again.csv"
    res = CliRunner().invoke(app, ["diagnose", "sample:119", "sample:208", "--out", str(store),
                                   "--resume", "--hourly", str(again), "--html",
                                   str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
    assert "1 record already complete" in res.stderr
    assert again.read_text() == hours.read_text()
    # The HTML report too, its skipped record analysed again from the store
    # as the first run analysed it: the same text and as many strips (their
    # pixels may differ: a store keeps the signal as float32).
    res = CliRunner().invoke(app, ["diagnose", "sample:119", "sample:208", "--out",
                                   str(tmp_path / "whole.jsonl"), "--html",
                                   str(tmp_path / "whole.html"), "-q"])
    assert res.exit_code == 0, res.output
    import re

    images = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
    resumed, whole = ((tmp_path / f).read_text() for f in ("r.html", "whole.html"))
    assert images.sub("", resumed) == images.sub("", whole) and "208" in resumed
    assert len(images.findall(resumed)) == len(images.findall(whole)) > 2


def test_the_html_report_tabulates_a_long_record_by_the_hour():
    from ecgtool.analysis import Analysis
    from ecgtool.report import html_report

    def page(hours):
        t = np.arange(0.5, hours * 3600, 0.8)
        a = Analysis("x", hours * 3600.0, t, np.full(t.size, "N"), None, find_rhythms(t), [])
        return html_report([(a, diagnose_analysis(a))])

    long_page = page(2.5)
    assert "Hour by hour" in long_page
    assert "<td>2</td><td>30</td><td>75 / 75 / 75</td><td>0</td>" in long_page
    assert "Hour by hour" not in page(0.5)


def _tachogram(pause=1400, coupling=600, after=15):
    # Sinus at 1 s, one PVC, its pause, two quicker beats, then intervals
    # lengthening by 20 ms a beat (turbulence onset -4 %, slope 20 ms/RR).
    post = [960, 960] + [980 + 20 * k for k in range(5)] + [1060] * 10
    rr = [1000] * 8 + [coupling, pause] + post[:after]
    t = np.cumsum(np.r_[0.0, rr]) / 1000.0
    lab = np.full(t.size, "N")
    lab[9] = "V"
    return t, lab


def test_heart_rate_turbulence_counts_only_pvcs_that_meet_its_filters():
    from ecgtool.hrt import heart_rate_turbulence

    t, lab = _tachogram()
    h = heart_rate_turbulence(t, lab)
    assert (h.n_pvcs, round(h.onset_pct, 1), round(h.slope_ms, 1)) == (1, -4.0, 20.0)
    # No compensatory pause (an interpolated PVC), too little prematurity,
    # fewer than 15 sinus intervals after it, an S beat among them, or a
    # gap in the signal: no PVC qualifies.
    for t2, lab2 in (_tachogram(pause=1100), _tachogram(coupling=900), _tachogram(after=12)):
        assert heart_rate_turbulence(t2, lab2).n_pvcs == 0
    odd = lab.copy()
    odd[15] = "S"
    assert heart_rate_turbulence(t, odd).n_pvcs == 0
    assert heart_rate_turbulence(t, lab, noise=[(t[12] + 0.1, t[12] + 0.2)]).n_pvcs == 0
    h = heart_rate_turbulence(t, np.full(t.size, "N"))
    assert h.n_pvcs == 0 and np.isnan(h.onset_pct) and np.isnan(h.slope_ms)


def test_the_report_carries_heart_rate_turbulence_where_beats_are_labelled():
    t, lab = _tachogram()
    rep = diagnose("x", float(t[-1]) + 1, t, lab, find_rhythms(t, lab))
    assert rep.hrt_pvcs == 1 and rep.hrt_onset_pct == pytest.approx(-4.0)
    row = rep.as_row()
    assert row["hrt_slope_ms"] == pytest.approx(20.0) and row["hrt_pvcs"] == 1
    bare = diagnose("x", float(t[-1]) + 1, t, None, find_rhythms(t))
    assert bare.hrt_pvcs is None and bare.as_row()["hrt_onset_pct"] is None


def test_the_report_says_when_the_slowest_and_fastest_rates_begin():
    from ecgtool.analysis import Analysis
    from ecgtool.report import html_report

    t = np.cumsum(np.r_[np.full(20, 1.0), np.full(10, 0.5), 1 + 0.05 * np.arange(10),
                        np.full(20, 1.0)])
    rep = diagnose("x", float(t[-1]) + 1, t, None, find_rhythms(t))
    assert (rep.hr_min_at_s, rep.hr_max_at_s) == pytest.approx((27.05, 20.0))
    assert rep.as_row()["hr_max_at_s"] == pytest.approx(20.0)
    a = Analysis("x", float(t[-1]) + 1, t, None, None, find_rhythms(t), [], start_clock="08:00:00")
    rep = diagnose_analysis(a)
    page = html_report([(a, rep)])
    assert "max 120 (at 08:00:20) bpm" in page
    a.start_clock = ""
    assert "max 120 (at 0:00:20) bpm" in html_report([(a, diagnose_analysis(a))])


def test_hourly_rows_of_a_store_without_the_spectral_columns():
    # A store written before LF and HF were measured: its rows read back
    # with those figures not measured.
    from ecgtool.hourly import hourly, hourly_columns, hours_from_columns

    t = np.cumsum(1.0 + 0.05 * np.sin(np.arange(5400) / 3))
    cols = hourly_columns(hourly("x", 5400.0, t, None, find_rhythms(t)))
    old = {k: v for k, v in cols.items() if k not in ("lf_ms2", "hf_ms2", "lf_hf")}
    rows = hours_from_columns("x", old)
    assert len(rows) == 2 and np.isnan(rows[0].lf_hf) and rows[0].n_beats == cols["n_beats"][0]
    assert np.isfinite(hours_from_columns("x", cols)[0].lf_hf)


def test_hrv_leaves_af_out():
    # Sinus rhythm with a slow swing, then 5 minutes of AF: the report's HRV
    # is the sinus rhythm's, as if the AF were not there.
    rng = np.random.default_rng(4)
    sinus = 0.8 + 0.02 * np.sin(np.arange(900) / 4)
    rr = np.r_[sinus[:450], rng.uniform(0.4, 1.2, 375), sinus[450:]]
    t = np.concatenate([[0.0], np.cumsum(rr)])
    lab = np.array(["N"] * t.size)
    ep = find_rhythms(t, lab)
    assert ep.of("af").n_beats.sum() > 300
    rep = diagnose("x", float(t[-1]), t, lab, ep)
    alone = hrv(np.concatenate([[0.0], np.cumsum(sinus)]), None)
    assert rep.sdnn_ms == pytest.approx(alone.sdnn_ms, rel=0.1)
    assert rep.rmssd_ms == pytest.approx(alone.rmssd_ms, rel=0.1)
    assert hrv(t, lab).sdnn_ms > 5 * alone.sdnn_ms            # what AF would have made of it
    from ecgtool.hourly import hourly
    assert hourly("x", float(t[-1]), t, lab, ep)[0].sdnn_ms == pytest.approx(rep.sdnn_ms)


def test_the_html_report_says_why_a_record_has_no_hrv(rec208):
    # Bundled 208: its PVCs, fusion beats and couplets leave under half the
    # intervals normal-to-normal.
    from ecgtool.analysis import analyse_signal
    from ecgtool.report import record_section

    a = analyse_signal(rec208.signal, rec208.fs, "208")
    rep = diagnose_analysis(a)
    assert rep.nn_pct < 50 and np.isnan(rep.sdnn_ms)
    assert f"not measured: {rep.nn_pct:.0f} % of the intervals" in record_section(a, rep)


def test_a_long_recording_reports_ulf_and_total_power():
    # Two hours of beat times swinging 40 ms over 1000 s: ULF in the report,
    # its JSON and its CSV row, and the HTML's HRV line; none under an hour.
    from ecgtool.report import _hrv_text

    t = [0.0]
    while t[-1] < 7200:
        t.append(t[-1] + 0.8 + 0.04 * np.sin(2 * np.pi * t[-1] / 1000))
    t = np.array(t)
    lab = np.array(["N"] * t.size)
    rep = diagnose("x", float(t[-1]), t, lab, find_rhythms(t, lab))
    assert rep.ulf_ms2 == pytest.approx(800, rel=0.05)
    assert rep.total_power_ms2 >= rep.ulf_ms2
    assert rep.as_dict()["ulf_ms2"] == pytest.approx(rep.ulf_ms2)
    assert rep.as_row()["total_power_ms2"] == pytest.approx(rep.total_power_ms2)
    assert f"ULF {rep.ulf_ms2:.0f}, total power" in _hrv_text(rep)
    short = diagnose("x", 600.0, t[t < 600], lab[t < 600], find_rhythms(t[t < 600], lab[t < 600]))
    assert short.as_dict()["ulf_ms2"] is None and "ULF" not in _hrv_text(short)


def test_the_report_names_the_lead_it_analysed():
    # Intervals and QRS widths are one lead's: the report says which, and
    # nothing where beat times alone were given.
    from typer.testing import CliRunner

    from ecgtool.cli import app

    run = CliRunner().invoke
    res = run(app, ["diagnose", "sample:119", "--channel", "V1", "-q"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["lead"] == "V1"
    beats = run(app, ["detect", "sample:119", "--out", "-", "-q"]).stdout
    res = run(app, ["diagnose", "-", "--csv", "-q"], input=beats)
    assert res.exit_code == 0, res.output
    assert next(csv.DictReader(io.StringIO(res.stdout)))["lead"] == ""
