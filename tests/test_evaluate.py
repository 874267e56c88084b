"""EC57 matching and statistics."""

import numpy as np

from ecgtool.evaluate import (DetectionScore, annotated_span, excluded_spans, gross,
                              match_beats, reference_beats, reference_rhythm, score_detection,
                              score_episodes, unreadable_spans)
from ecgtool.io.records import Annotations


def test_closest_pairs_first():
    # 200 is within reach of both references; it belongs to the closer one.
    m = match_beats(np.array([100, 290]), np.array([200, 300]), 100)
    assert list(zip(m.ref_index, m.test_index)) == [(0, 0), (1, 1)]
    m = match_beats(np.array([190, 400]), np.array([200]), 54)
    assert m.tp == 1 and m.fn == 1 and m.fp == 0


def test_each_beat_used_once():
    m = match_beats(np.array([100]), np.array([95, 105]), 54)
    assert (m.tp, m.fn, m.fp) == (1, 0, 1)


def test_window_edge_is_inclusive():
    assert match_beats(np.array([100]), np.array([154]), 54).tp == 1
    assert match_beats(np.array([100]), np.array([155]), 54).tp == 0


def test_empty_inputs():
    m = match_beats(np.array([], dtype=np.int64), np.array([5]), 54)
    assert (m.tp, m.fn, m.fp) == (0, 0, 1)


def test_non_beat_labels_and_flutter_are_not_scored():
    a = Annotations([100, 200, 300, 400, 500, 600], ["N", "+", "[", "!", "]", "V"],
                    ["", "(N", "", "", "", ""])
    assert reference_beats(a).tolist() == [100, 600]
    assert excluded_spans(a, 700) == [(300, 500)]
    s = score_detection("r", a, np.array([100, 350, 450, 600]), 360.0, 700)
    assert (s.tp, s.fn, s.fp) == (2, 0, 0)


def test_stretches_the_reference_marks_unreadable_are_not_scored():
    # bxb's shutdown: a noise mark of subtype -1 (all signals unreadable) up
    # to the next noise mark; a noise mark of another subtype excludes nothing.
    a = Annotations([100, 200, 400, 500, 600, 700], ["N", "~", "~", "N", "~", "N"],
                    [""] * 6, [0, -1, 0, 0, 1, 0])
    assert unreadable_spans(a, 800) == [(200, 400)]
    s = score_detection("r", a, np.array([100, 300, 500, 650, 700]), 360.0, 800)
    assert (s.tp, s.fn, s.fp) == (3, 0, 1)
    open_end = Annotations([100, 200], ["N", "~"], ["", ""], [0, -1])
    assert excluded_spans(open_end, 800) == [(200, 800)]


def test_unreadable_stretches_of_mitbih(data):
    from ecgtool.io.wfdbfiles import read_annotations

    a = read_annotations(data / "mitdb" / "208")
    (start, end), = unreadable_spans(a, 650000)
    assert 1271 < start / 360 < end / 360 < 1274  # 21:11, about 3 s
    assert not np.any((a.sample > start) & (a.sample < end)
                      & np.isin(a.symbol, list("NVFSQ")))


def test_learning_period_skipped():
    fs = 100.0
    a = Annotations([100, 40000], ["N", "N"], ["", ""])
    s = score_detection("r", a, np.array([5000, 40000]), fs, 50000, skip_learning=True)
    assert (s.tp, s.fn, s.fp) == (1, 0, 0)


def test_statistics():
    s = gross([DetectionScore("a", 98, 2, 1), DetectionScore("b", 100, 0, 1)])
    assert s.tp == 198 and abs(s.se - 0.99) < 1e-12 and abs(s.ppv - 198 / 200) < 1e-12
    assert abs(s.f1 - 2 * 198 / (2 * 198 + 2 + 2)) < 1e-12


def test_class_scores_of_the_reference_itself_are_perfect_and_errors_count(rec208):
    from ecgtool.beats.labels import aami_labels
    from ecgtool.beats.scores import score_classes
    from ecgtool.evaluate import BEAT_SYMBOLS

    a = rec208.annotations
    beat = np.isin(a.symbol, list(BEAT_SYMBOLS))
    pos, lab = a.sample[beat], aami_labels(a.symbol[beat])
    lab = np.where(lab == "", "Q", lab)
    n = rec208.n_samples
    m = score_classes("208", a, pos, lab, rec208.fs, n).metrics()
    assert m["V"]["se"] == m["V"]["ppv"] == m["F"]["se"] == m["N"]["ppv"] == 1.0
    assert m["V"]["n"] == 992 and m["accuracy"] == 1.0
    # A missed V beat, a V called N, and an extra detection in between.
    v = np.flatnonzero(lab == "V")
    lab2 = lab.copy()
    lab2[v[1]] = "N"
    keep = np.ones(pos.size, bool)
    keep[v[0]] = False
    extra = (pos[10] + pos[11]) // 2
    peaks = np.sort(np.concatenate([pos[keep], [extra]]))
    labs = np.concatenate([lab2[keep], ["V"]])[np.argsort(np.concatenate([pos[keep], [extra]]))]
    s = score_classes("208", a, peaks, labs, rec208.fs, n)
    cm = s.confusion
    assert cm[2, 5] == 1 and cm[2, 0] == 1 and cm[5, 2] == 1  # missed, V->N, extra V
    m = s.metrics()
    assert m["V"]["se"] == 990 / 992 and m["V"]["ppv"] == 990 / 991
    # Skipping the learning period scores fewer beats.
    assert score_classes("208", a, pos, lab, rec208.fs, n, skip_learning=True).metrics()["V"]["n"] < 992


def test_ec57_ectopic_statistics_forgive_fusion_beats_called_v(rec208):
    # 208 holds 373 fusion beats: called V, they lower the per-class V +P but,
    # by EC57's rules, are no false VEB; a V beat called F is a missed VEB.
    from ecgtool.beats.labels import aami_labels
    from ecgtool.beats.scores import score_classes
    from ecgtool.evaluate import BEAT_SYMBOLS

    a = rec208.annotations
    beat = np.isin(a.symbol, list(BEAT_SYMBOLS))
    pos, lab = a.sample[beat], aami_labels(a.symbol[beat])
    lab = np.where(lab == "", "Q", lab)
    f, v = np.flatnonzero(lab == "F"), np.flatnonzero(lab == "V")
    pred = lab.copy()
    pred[f] = "V"
    pred[v[:10]] = "F"
    pred[np.flatnonzero(lab == "N")[:5]] = "V"
    s = score_classes("208", a, pos, pred, rec208.fs, rec208.n_samples)
    e, m = s.ec57(), s.metrics()
    assert (e.veb_tp, e.veb_fn, e.veb_fp) == (982, 10, 5)
    assert e.veb_ppv == 982 / 987 and m["V"]["ppv"] == 982 / (987 + f.size)
    assert e.sveb_tp == m["S"]["n"] and e.sveb_fp == 0


def test_ec57_statistics_follow_bxb_formulas():
    # bxb's sums over its confusion counts (rows reference N S V F Q O,
    # columns test n s v f q o), written out one term at a time.
    from ecgtool.beats.scores import ec57_statistics

    cm = np.random.default_rng(1).integers(0, 50, (6, 6))
    cm[5, 5] = 0
    c = {r + t: int(cm[i, j]) for i, r in enumerate("NSVFQO") for j, t in enumerate("nsvfqo")}
    e = ec57_statistics(cm)
    assert e.veb_tp == c["Vv"]
    assert e.veb_fn == c["Vn"] + c["Vs"] + c["Vf"] + c["Vq"] + c["Vo"]
    assert e.veb_fp == c["Nv"] + c["Sv"] + c["Ov"]
    assert e.veb_tn == sum(c[r + t] for r in "NSFQO" for t in "nsfq")
    assert e.sveb_tp == c["Ss"]
    assert e.sveb_fn == c["Sn"] + c["Sv"] + c["Sf"] + c["Sq"] + c["So"]
    assert e.sveb_fp == c["Ns"] + c["Vs"] + c["Fs"] + c["Os"]
    assert e.veb_fpr == e.veb_fp / (e.veb_tn + e.veb_fp)


def test_paced_records_are_those_with_paced_beats():
    # EC57 reports records with paced beats apart: by their beats, not by
    # name (the Long-Term AF Database has a record 102 too, without paced beats).
    from ecgtool.scoring import ScoreTable

    beats = np.arange(1, 20) * 360
    plain = score_detection("102", Annotations(beats, ["N"] * 19, [""] * 19), beats, 360.0,
                            8000)
    paced = score_detection("x", Annotations(beats, ["/"] * 19, [""] * 19), beats, 360.0, 8000)
    assert not plain.paced and paced.paced
    groups = ScoreTable([plain, paced]).groups()
    assert groups["gross"].tp == 19 and groups["gross paced"].tp == 19


def test_rhythm_scored_where_the_reference_has_beats():
    # AF from 10 s to the record's end at 100 s, but beats only until 60 s
    # (the annotators stopped, as in the Long-Term AF Database): AF found
    # from 10 s to the last beat is all the AF there is to find.
    fs = 100.0
    beats = np.arange(100, 6001, 50)
    a = Annotations(np.r_[0, 1000, beats], np.r_[["+", "+"], ["N"] * beats.size],
                    np.r_[["(N", "(AFIB"], [""] * beats.size])
    ref = [(s.start, s.end) for s in reference_rhythm(a, fs, 10000) if s.rhythm == "af"]
    assert ref == [(10.0, 100.0)]
    found = [(10.0, 60.0)]
    whole = score_episodes("r", ref, found, 100.0).stats()
    assert round(whole["duration_se"], 3) == 0.556
    span = annotated_span(a, fs)
    assert span == (1.0, 60.0)
    st = score_episodes("r", ref, found, 100.0, within=span)
    assert st.stats()["duration_se"] == 1.0 and st.total_s == 59.0
    # Detections outside the span count neither way.
    assert score_episodes("r", ref, [(10.0, 60.0), (70.0, 90.0)], 100.0,
                          within=span).test_s == 50.0
