"""Conduction intervals (PR, QRS, QT, QTc) and the verdict rules that use them."""

import numpy as np
import pytest

from ecgtool.beats.table import Beats
from ecgtool.diagnose import Thresholds, diagnose
from ecgtool.intervals import MIN_BEATS, conduction_intervals, marked_intervals
from ecgtool.rhythm import find_rhythms
from ecgtool.signal.detect import detect_beats


def _beats(n=20, rr_s=1.0, pr=160, qrs=100, qt=400, fs=1000.0, p_found=True):
    r = 500 + np.arange(n) * int(rr_s * fs)
    on = r - 40
    return Beats(fs=fs, r_peak=r, qrs_onset=on, qrs_offset=on + qrs,
                 p_onset=on - pr if p_found else None, t_offset=on + qt)


def test_intervals_and_rate_correction():
    iv = conduction_intervals(_beats())
    assert (iv.pr_ms, iv.qrs_ms, iv.qt_ms) == (160.0, 100.0, 400.0)
    assert iv.qtc_bazett_ms == pytest.approx(400.0)  # RR 1 s: no correction
    fast = conduction_intervals(_beats(rr_s=0.64))
    assert fast.qtc_bazett_ms == pytest.approx(400 / 0.8)
    assert fast.qtc_fridericia_ms == pytest.approx(400 / 0.64 ** (1 / 3))
    assert iv.p_found_pct == 100.0


def test_only_normal_beats_and_too_few():
    b = _beats(n=12)
    b.qrs_offset[::2] += 60  # every other beat wide
    lab = np.where(np.arange(12) % 2 == 0, "V", "N")
    assert conduction_intervals(b, lab).qrs_ms == 100.0
    assert conduction_intervals(b).qrs_ms == 130.0
    few = conduction_intervals(_beats(n=MIN_BEATS - 1))
    assert np.isnan(few.qrs_ms) and few.qrs_beat == -1
    none = conduction_intervals(_beats(p_found=False))
    assert np.isnan(none.pr_ms) and none.p_found_pct == 0.0


def _report(beats, th=Thresholds(), labels=None):
    t = beats.r_peak / beats.fs
    iv = conduction_intervals(beats, labels)
    return diagnose("x", float(t[-1]) + 1, t, labels, find_rhythms(t, labels), None, th, iv)


def test_interval_rules_are_off_by_default_and_on_when_set():
    b = _beats(qrs=130, pr=240, qt=520)
    rep = _report(b)
    assert rep.verdict == "normal" and rep.intervals.qrs_ms == 130.0
    on = Thresholds.with_overrides({"qrs_wide_ms": "120", "pr_long_ms": "200",
                                    "qtc_long_ms": "470"})
    rep = _report(b, on)
    assert [f.code for f in rep.findings] == ["qrs_wide", "pr_long", "qtc_long"]
    assert rep.findings[0].text == "Wide QRS: median 130 ms"
    # Each finding points at a beat with the median interval.
    assert rep.findings[0].start_s == pytest.approx(b.r_peak[0] / b.fs)
    assert _report(_beats(), on).verdict == "normal"


def test_pr_not_judged_without_p_waves():
    b = _beats(pr=240)
    b.p_onset[: 15] = -1  # P found in 5 of 20 beats
    on = Thresholds(pr_long_ms=200.0)
    assert _report(b, on).findings == []
    assert [f.code for f in _report(_beats(pr=240), on).findings] == ["pr_long"]


def test_marked_intervals_pairs_waves_with_their_qrs():
    # Second QRS has no P wave; a P wave far before the first QRS is ignored.
    s = [0, 5, 10, 500, 520, 540, 560, 600, 680, 900, 920, 940, 1100, 1120, 1140]
    iv = marked_intervals(np.array(s), list("(p)(N)(t)(N)(t)"), 1000.0)
    assert np.isnan(iv["pr_ms"]) and iv["qrs_ms"] == 40.0 and iv["qt_ms"] == 210.0
    s[:3] = [400, 420, 460]  # now 100 ms before the first QRS
    iv = marked_intervals(np.array(s), list("(p)(N)(t)(N)(t)"), 1000.0)
    assert iv["pr_ms"] == 100.0


def test_bundled_records_are_physiological(rec119):
    iv = conduction_intervals(detect_beats(rec119.signal, rec119.fs))
    assert 50 < iv.qrs_ms < 120
    assert 120 < iv.pr_ms < 220
    assert 350 < iv.qtc_fridericia_ms < 470


def test_ludb_intervals_against_cardiologists_marks(data):
    """Never worse than the measured record-level accuracy (LUDB 1-100,
    lead II: PR +9 +- 8 ms, QRS -11 +- 18 ms, QT -3 +- 29 ms), on records 1-30."""
    wfdb = pytest.importorskip("wfdb")
    root = data / "ludb" / "data"
    if not (root / "1.hea").is_file():
        pytest.skip("LUDB not in $ECGTOOL_DATA")
    err = {"pr_ms": [], "qrs_ms": [], "qt_ms": []}
    for rid in range(1, 31):
        rec = wfdb.rdrecord(str(root / str(rid)))
        j = [n.lower() for n in rec.sig_name].index("ii")
        iv = conduction_intervals(detect_beats(rec.p_signal[:, j], rec.fs))
        ann = wfdb.rdann(str(root / str(rid)), "ii")
        ref = marked_intervals(ann.sample, ann.symbol, rec.fs)
        for k in err:
            err[k].append(getattr(iv, k) - ref[k])
    e = {k: np.asarray(v)[np.isfinite(v)] for k, v in err.items()}
    assert e["pr_ms"].size >= 20 and abs(np.median(e["pr_ms"])) < 20
    assert np.mean(np.abs(e["pr_ms"]) <= 20) >= 0.8
    assert abs(np.median(e["qrs_ms"])) < 25
    assert np.mean(np.abs(e["qt_ms"]) <= 40) >= 0.8
