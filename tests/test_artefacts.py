"""Dropping detections that split a regular R-R interval (ecgtool.signal.artefacts)."""

from dataclasses import replace

import numpy as np
import pytest

from ecgtool.evaluate import score_detection
from ecgtool.io.wfdbfiles import read_wfdb
from ecgtool.signal import detect as detect_module
from ecgtool.signal.artefacts import closer_than, split_interval_artefacts
from ecgtool.signal.detect import DEFAULT_SETTINGS, DetectorSettings, detect_r_peaks

FS = 360.0
KEEP_ALL = DetectorSettings(split_rule=None)


def _regular(n=30, rr=0.8, jitter=0.01, seed=0):
    rng = np.random.default_rng(seed)
    return np.cumsum(np.round((rr + jitter * rng.standard_normal(n)) * FS)).astype(np.int64)


def _insert(r, amp, at, value, frac=0.5):
    # A detection `frac` of the way from beat `at` to the next, QRS size `value`.
    extra = r[at] + int(frac * (r[at + 1] - r[at]))
    i = at + 1
    return np.insert(r, i, extra), np.insert(amp, i, value), i


def test_small_detection_splitting_a_regular_interval_is_dropped():
    r = _regular()
    r, amp, i = _insert(r, np.ones(r.size), 15, 0.4)
    assert np.flatnonzero(split_interval_artefacts(r, amp, FS)).tolist() == [i]


def test_interpolated_beat_with_a_large_qrs_is_kept():
    r = _regular()
    r, amp, _ = _insert(r, np.ones(r.size), 15, 1.6)
    assert not split_interval_artefacts(r, amp, FS).any()


def test_early_beat_with_a_compensatory_pause_is_kept():
    # A small premature beat: the next beat comes a whole interval after it.
    r = _regular()
    early = r[15] + int(0.5 * (r[16] - r[15]))
    r = np.concatenate([r[:16], [early], r[16:] + (early - r[15])])
    amp = np.ones(r.size)
    amp[16] = 0.4
    assert not split_interval_artefacts(r, amp, FS).any()


def test_small_first_beat_of_a_fast_run_is_kept():
    # The onset of AF (or of a run of early beats) after a regular stretch:
    # the first short intervals could look like a split, but the rhythm does
    # not resume after them.
    r = _regular()
    onset = r[15] + np.cumsum(np.round(np.array([0.35, 0.3, 0.4, 0.35, 0.38, 0.33]) * FS))
    r = np.concatenate([r[:16], onset.astype(np.int64)])
    amp = np.ones(r.size)
    amp[16] = 0.5
    assert not split_interval_artefacts(r, amp, FS).any()


def test_nothing_is_dropped_in_an_irregular_rhythm():
    rng = np.random.default_rng(1)
    r = np.cumsum(np.round(rng.uniform(0.4, 1.2, 40) * FS)).astype(np.int64)
    r, amp, _ = _insert(r, np.ones(r.size), 20, 0.4)
    assert not split_interval_artefacts(r, amp, FS).any()


def test_two_neighbouring_artefacts_go_one_pass_after_the_other():
    r = _regular()
    r, amp, i = _insert(r, np.ones(r.size), 15, 0.4, frac=0.35)
    r, amp, j = _insert(r, amp, i, 0.4, frac=0.5)
    assert np.flatnonzero(split_interval_artefacts(r, amp, FS)).tolist() == [i, j]


@pytest.mark.parametrize("n", [0, 1, 4])
def test_too_few_beats_to_judge(n):
    assert split_interval_artefacts(np.arange(n) * 300, np.ones(n), FS).size == n
    assert not split_interval_artefacts(np.arange(n) * 300, np.ones(n), FS).any()


def _add_blips(x, at, fs, mv=2.0):
    # Biphasic electrode-motion-like blips, about 40 ms wide, 1.2 mV peak to peak.
    t = (np.arange(int(0.06 * fs)) - 0.03 * fs) / fs
    blip = mv * -t / 0.01 * np.exp(-0.5 * (t / 0.01) ** 2)
    for m in at:
        x[m - t.size // 2: m - t.size // 2 + t.size] += blip


def test_detector_drops_blips_between_real_beats(rec119):
    # The last 2.5 minutes of 119 hold a regular stretch (the rest is mostly
    # bigeminy, where timing cannot tell a blip from a beat).
    fs = rec119.fs
    x = rec119.signal[int(27.5 * 60 * fs):].copy()
    r = detect_r_peaks(x, fs)
    rr = np.diff(r)
    regular = [k for k in range(8, rr.size - 8)
               if np.all(np.abs(rr[k - 6:k + 7] / np.median(rr[k - 6:k + 7]) - 1) < 0.08)]
    mids = [(r[k] + r[k + 1]) // 2 for k in regular[::12][:3]]
    assert len(mids) == 3
    _add_blips(x, mids, fs)
    every = detect_r_peaks(x, fs, KEEP_ALL)
    assert all(np.min(np.abs(every - m)) < 0.05 * fs for m in mids), \
        "the blips must be detected without the rule, or this test proves nothing"
    assert np.array_equal(detect_r_peaks(x, fs), r)


def test_bundled_records_keep_every_true_beat(rec119, rec208):
    for rec in (rec119, rec208):
        kept = detect_r_peaks(rec.signal, rec.fs)
        every = detect_r_peaks(rec.signal, rec.fs, KEEP_ALL)
        a, b = (score_detection(rec.name, rec.annotations, p, rec.fs, rec.n_samples)
                for p in (kept, every))
        assert a.tp == b.tp and a.fp <= b.fp


def test_noise_stress_record_loses_false_beats_not_true_ones(data):
    path = data / "nstdb" / "118e12"
    if not path.with_suffix(".hea").exists():
        pytest.skip(f"{path}.hea not found")
    rec = read_wfdb(path)
    a, b = (score_detection(rec.name, rec.annotations, detect_r_peaks(rec.signal, rec.fs, s),
                            rec.fs, rec.n_samples) for s in (DetectorSettings(), KEEP_ALL))
    # Measured: TP 2278 both ways; FP 75 -> 47.
    assert a.tp >= b.tp - 1 and a.fp <= b.fp - 20


def test_closer_than_keeps_the_larger_of_two_close_detections():
    r = np.array([0, 288, 330, 576, 864])
    amp = np.array([1.0, 0.3, 1.1, 1.0, 1.0])
    assert np.flatnonzero(closer_than(r, amp, 72)).tolist() == [1]
    amp[1] = 2.0
    assert np.flatnonzero(closer_than(r, amp, 72)).tolist() == [2]


def test_closer_than_settles_a_chain_so_that_survivors_are_apart():
    rng = np.random.default_rng(3)
    r = np.sort(rng.choice(20000, 400, replace=False))
    amp = rng.random(r.size)
    drop = closer_than(r, amp, 72)
    kept = r[~drop]
    assert np.all(np.diff(kept) >= 72)
    # Every dropped detection was close to a larger one that stays, or to one
    # that itself fell to a larger one.
    for i in np.flatnonzero(drop):
        near = np.flatnonzero((np.abs(r - r[i]) < 72) & (np.arange(r.size) != i))
        assert near.size and amp[near].max() >= amp[i]


def test_closer_than_keeps_everything_apart_and_the_earlier_of_a_tie():
    r = np.arange(10) * 300
    assert not closer_than(r, np.ones(10), 72).any()
    assert np.flatnonzero(closer_than(np.array([0, 50]), np.ones(2), 72)).tolist() == [1]
    assert closer_than(np.zeros(0, dtype=np.int64), np.zeros(0), 72).size == 0


def test_paced_record_loses_close_false_detections_not_beats(data, monkeypatch):
    path = data / "mitdb" / "104"
    if not path.with_suffix(".hea").exists():
        pytest.skip(f"{path}.hea not found")
    rec = read_wfdb(path)
    # One band: the noise band's fusion keeps one of two close beats too.
    one = replace(DEFAULT_SETTINGS, noise_band=None)
    peaks = detect_r_peaks(rec.signal, rec.fs, one)
    assert np.diff(peaks).min() >= 0.2 * rec.fs
    monkeypatch.setattr(detect_module, "closer_than", lambda r, amp, *_: np.zeros(r.size, bool))
    every = detect_r_peaks(rec.signal, rec.fs, one)
    a, b = (score_detection(rec.name, rec.annotations, p, rec.fs, rec.n_samples)
            for p in (peaks, every))
    # Measured: TP 2228 both ways; FP 12 -> 8.
    assert a.tp == b.tp and a.fp <= b.fp - 4
