"""EC57 matching and statistics."""

import numpy as np

from ecgtool.evaluate import (DetectionScore, excluded_spans, gross, match_beats,
                              reference_beats, score_detection)
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


def test_learning_period_skipped():
    fs = 100.0
    a = Annotations([100, 40000], ["N", "N"], ["", ""])
    s = score_detection("r", a, np.array([5000, 40000]), fs, 50000, skip_learning=True)
    assert (s.tp, s.fn, s.fp) == (1, 0, 0)


def test_statistics():
    s = gross([DetectionScore("a", 98, 2, 1), DetectionScore("b", 100, 0, 1)])
    assert s.tp == 198 and abs(s.se - 0.99) < 1e-12 and abs(s.ppv - 198 / 200) < 1e-12
    assert abs(s.f1 - 2 * 198 / (2 * 198 + 2 + 2)) < 1e-12
