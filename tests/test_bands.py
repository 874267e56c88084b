"""The noise band: R peaks found again in a higher band where the signal is noisy."""

import warnings
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from ecgtool.cli import app
from ecgtool.evaluate import score_detection
from ecgtool.io.records import read_sample
from ecgtool.signal import detect as detect_module
from ecgtool.signal.bands import DEFAULT_NOISE_BAND, noisy_windows
from ecgtool.signal.detect import (DEFAULT_SETTINGS, DetectorSettings, _one_band,
                                   detect_r_peaks, find_r_peaks)

ONE_BAND = replace(DEFAULT_SETTINGS, noise_band=None)


def _motion(rec, scale=0.25, seed=0):
    # Band-limited noise (0.5-16 Hz, as electrode motion) every other minute.
    from scipy.signal import butter, sosfiltfilt

    x, fs = rec.signal, rec.fs
    band = butter(2, [0.5, 16], btype="band", fs=fs, output="sos")
    noise = sosfiltfilt(band, np.random.default_rng(seed).standard_normal(x.size))
    on = (np.arange(x.size) // int(60 * fs)) % 2 == 1
    return x + scale * noise / noise.std() * on, on


def _errors(rec, peaks):
    s = score_detection(rec.name, rec.annotations, peaks, rec.fs, rec.n_samples)
    return s.fn, s.fp


@pytest.mark.parametrize("name", ["119", "208"])
def test_the_noise_band_takes_false_beats_away_in_noise_and_changes_nothing_clean(name):
    rec = read_sample(name)
    y, _ = _motion(rec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = _errors(rec, detect_r_peaks(y, rec.fs, ONE_BAND))
        two = _errors(rec, detect_r_peaks(y, rec.fs))
    # Measured: 119 FN 0 / FP 93 -> 0 / 17; 208 FN 99 / FP 151 -> 92 / 29.
    assert two[1] < 0.4 * one[1] and two[0] <= one[0]
    clean = detect_r_peaks(rec.signal, rec.fs)
    assert np.array_equal(clean, detect_r_peaks(rec.signal, rec.fs, ONE_BAND))


def test_only_noisy_windows_are_read_again(monkeypatch):
    rec = read_sample("119")
    calls = []
    original = detect_module._one_band

    def counting(x, fs, settings, backend):
        calls.append((x.size, settings.noise_band is None))
        return original(x, fs, settings, backend)

    monkeypatch.setattr(detect_module, "_one_band", counting)
    detect_r_peaks(rec.signal, rec.fs)
    assert calls == [(rec.n_samples, False)]   # clean: one band only
    calls.clear()
    y, on = _motion(rec)
    detect_r_peaks(y, rec.fs)
    high = [n for n, inner in calls if inner]
    # The high band reads the noisy minutes (and a little around them), not
    # the whole record.
    assert high and sum(high) < 0.75 * rec.n_samples
    assert sum(high) > 0.4 * on.sum()


def test_the_compiled_kernels_and_their_twins_agree_through_the_noise_band():
    rec = read_sample("208")
    y, _ = _motion(rec, scale=0.3, seed=2)
    y = y[:360 * 240]
    c, py = (find_r_peaks(y, rec.fs, backend=b) for b in ("c", "python"))
    assert np.array_equal(c, py)
    assert not np.array_equal(c, find_r_peaks(y, rec.fs, ONE_BAND))  # the band did work


def test_noisy_windows_tell_noise_from_beats():
    rec = read_sample("119")
    y, on = _motion(rec, scale=0.5)
    x = np.ascontiguousarray(y)
    peaks, feat, step = _one_band(x, rec.fs, DEFAULT_SETTINGS, "c")
    gate = DEFAULT_NOISE_BAND.gate
    noisy = noisy_windows(feat, step, peaks, x.size, rec.fs, gate)
    w = int(3 * rec.fs)
    truth = on[np.minimum(np.arange(noisy.size) * w + w // 2, x.size - 1)]
    assert truth.sum() > 20 and (~truth).sum() > 20
    # Clean windows stay clean even at a fifth of the gate (but for some at
    # the edges of the noise); most noisy ones are over it.
    assert noisy_windows(feat, step, peaks, x.size, rec.fs, gate / 5)[~truth].mean() < 0.05
    assert noisy[truth].mean() > 0.9
    # Beats found nowhere near: nothing to compare with, read as noise.
    far = noisy_windows(feat, step, peaks[peaks < 360 * 60], x.size, rec.fs, gate)
    assert far[-1] and not far[0]


@pytest.mark.parametrize("fs", [250.0, 360.0, 1000.0, 257.0, 731.0])
def test_noisy_windows_count_is_the_median_test(fs):
    # The count of values over the bar decides as the upper median of every
    # sixth value would, whole windows read as rows or (at 731 Hz, where a
    # window is no whole number of steps) gathered.
    rng = np.random.default_rng(int(fs))
    step = max(1, int(fs // 180))
    n = int(fs * 40)
    feat = rng.random(-(-n // step)) ** 4
    # Beats in every window, so that each window's level is its own.
    r = np.arange(int(0.3 * fs), n, int(0.8 * fs)) + rng.integers(-20, 20)
    w = int(round(3 * fs))
    for gate in (0.05, 0.2, 0.5):
        got = noisy_windows(feat, step, r, n, fs, gate)
        idx = np.minimum((np.arange(got.size) * w // step)[:, None]
                         + np.arange(0, max(w // step, 1), 6)[None, :], feat.size - 1)
        vals = np.sort(feat[idx], axis=1)
        background = vals[:, vals.shape[1] // 2]
        level = np.array([np.median(feat[np.minimum(r[r // w == k] // step, feat.size - 1)])
                          for k in range(got.size)])
        level = np.array([np.median(level[max(0, k - 5):k + 6].tolist()
                                    + [level[0]] * max(0, 5 - k)
                                    + [level[-1]] * max(0, k + 6 - got.size))
                          for k in range(got.size)])
        np.testing.assert_array_equal(got, background > gate * level)


def test_the_noise_band_is_a_detector_setting():
    s = DetectorSettings.with_overrides({"noise_band": "off"})
    assert s.noise_band is None and s.changed() == {"noise_band": "off"}
    assert DetectorSettings.with_overrides({"noise_band": "ON"}).noise_band == DEFAULT_NOISE_BAND
    r = CliRunner().invoke(app, ["detect", "sample:119", "--detector", "noise_band=off",
                                 "--out", "-", "--start", "0", "--end", "60"])
    assert r.exit_code == 0 and len(r.stdout.splitlines()) > 60
