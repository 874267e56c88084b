"""Ventricular flutter and fibrillation from the signal (the VF filter)."""

import numpy as np
import pytest

from ecgtool import _core
from ecgtool.signal import _twins
from ecgtool.signal.fibrillation import LEAKAGE_MAX, _band, vf_spans, vf_windows


def leakage_by_the_formula(y: np.ndarray) -> float:
    # Kuo & Dillman's VF filter written out for one window, sample by sample.
    s_abs = sum(abs(v) for v in y)
    s_diff = sum(abs(y[i] - y[i - 1]) for i in range(1, len(y)))
    n = int(np.floor(np.pi * s_abs / s_diff + 0.5))
    num = sum(abs(y[i] + y[i - n]) for i in range(n, len(y)))
    den = sum(abs(y[i]) + abs(y[i - n]) for i in range(n, len(y)))
    return num / den


def test_windowed_leakage_matches_the_formula_window_by_window(rec208):
    x = rec208.signal[: int(20 * rec208.fs)]
    w = vf_windows(x, rec208.fs)
    y, fs2 = _band(x, rec208.fs)
    n = int(round(4.0 * fs2))
    for k in (0, 5, 13):
        start = int(round(w.start_s[k] * fs2))
        assert w.leakage[k] == pytest.approx(leakage_by_the_formula(y[start:start + n]),
                                             rel=1e-9)


@pytest.mark.parametrize("step", [1, 7, 120])
def test_kernel_matches_its_numpy_twin(rec119, step):
    y, fs2 = _band(rec119.signal[: int(300 * rec119.fs)], rec119.fs)
    t = np.arange(y.size) / fs2
    y[6000:9000] = np.sin(2 * np.pi * 4.2 * t[6000:9000])  # flutter-like stretch
    y[12000:13000] = 0.0                                     # flat: no period
    n = 480
    m = (y.size - n) // step + 1
    out = [np.empty(m) for _ in range(3)]
    _core._vf_filter(y, n, step, *out)
    for got, want in zip(out, _twins.vf_filter(y, n, step)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert np.isnan(out[1]).any() and (out[1] < 0.1).any()


@pytest.mark.parametrize("fs", [128, 250, 360, 500, 1000])
def test_a_fast_sinusoid_is_vf_and_spiky_beats_are_not_at_any_rate(fs):
    t = np.arange(30 * fs) / fs
    ecg = np.sin(2 * np.pi * 1.2 * t) ** 31
    ecg[10 * fs:20 * fs] = 0.8 * np.sin(2 * np.pi * 4.0 * t[10 * fs:20 * fs])
    spans = vf_spans(ecg, fs)
    assert len(spans) == 1
    a, b = spans[0]
    assert 8.5 <= a <= 10.5 and 19.5 <= b <= 21.5
    w = vf_windows(ecg, fs)
    mid = (w.start_s >= 11) & (w.start_s <= 15)
    assert np.all(w.leakage[mid] < 0.1) and np.allclose(w.rate_per_min[mid], 240, rtol=0.05)


def test_a_slow_sinusoid_flat_line_and_nan_are_not_vf():
    fs = 250
    t = np.arange(20 * fs) / fs
    slow = np.sin(2 * np.pi * 2.0 * t)          # 120 per minute: under flutter's rate
    w = vf_windows(slow, fs)
    assert np.nanmedian(w.leakage) < LEAKAGE_MAX and not w.vf_like.any()
    assert vf_spans(np.zeros(20 * fs), fs) == []
    assert vf_spans(np.full(20 * fs, np.nan), fs) == []
    assert vf_spans(np.ones(2 * fs), fs) == []   # shorter than a window


def test_no_flutter_in_the_bundled_records(rec119, rec208):
    for rec in (rec119, rec208):
        assert vf_spans(rec.signal, rec.fs) == []


def test_mitdb_207_flutter_found_and_no_other_record_has_any(data):
    from ecgtool.evaluate import reference_rhythm
    from ecgtool.io.inputs import read_record

    rec = read_record(str(data / "mitdb" / "207"))
    ref = [s for s in reference_rhythm(rec.annotations, rec.fs, rec.n_samples)
           if s.rhythm == "vf"]
    found = vf_spans(rec.signal, rec.fs)
    assert len(ref) == 6
    # Every stretch found lies in a reference flutter episode (give or take
    # a second at its edges), and most episodes are found.
    for a, b in found:
        assert any(r.start - 1.0 <= a and b <= r.end + 1.0 for r in ref), (a, b)
    hit = [r for r in ref if any(a < r.end and b > r.start for a, b in found)]
    assert len(hit) >= 5
    for name in ("106", "203", "208", "119"):
        other = read_record(str(data / "mitdb" / name))
        assert vf_spans(other.signal, other.fs) == [], name
    noisy = read_record(str(data / "nstdb" / "118e00"))
    assert vf_spans(noisy.signal, noisy.fs) == []


def test_flutter_waves_of_mitdb_207_are_labelled_q_and_flutter_symbol(data):
    from ecgtool.evaluate import reference_rhythm
    from ecgtool.io.inputs import read_record
    from ecgtool.ml.classify import classify_beats
    from ecgtool.signal.detect import detect_beats

    rec = read_record(str(data / "mitdb" / "207"))
    ref = [s for s in reference_rhythm(rec.annotations, rec.fs, rec.n_samples)
           if s.rhythm == "vf"]
    lo, hi = int(1500 * rec.fs), int(1660 * rec.fs)   # the long episode, 1540.9-1639.3 s
    x = rec.signal[lo:hi]
    beats = detect_beats(x, rec.fs)
    lab = classify_beats(x, rec.fs, beats.r_peak)
    t = lo / rec.fs + beats.r_peak / rec.fs
    wave = lab.symbol == "!"
    assert wave.sum() > 50 and set(lab.aami[wave]) == {"Q"}
    assert all(any(r.start - 1.0 <= v <= r.end + 1.0 for r in ref) for v in t[wave])
    # Before the flutter, beats keep their classes.
    assert not wave[t < 1539].any() and "N" in set(lab.aami[t < 1539])


def test_rhythm_finds_flutter_from_the_signal_and_from_the_table_classify_wrote(tmp_path,
                                                                               rec119):
    from typer.testing import CliRunner

    from ecgtool.cli import app

    fs = rec119.fs
    x = rec119.signal[: int(60 * fs)].copy()
    n = int(20 * fs)
    # 20-40 s: waves steep enough at their crossings for the detector to find
    # them, as it finds the waves of real flutter.
    wave = np.sin(2 * np.pi * 4.0 * np.arange(n) / fs)
    x[n:2 * n] = 1.5 * np.sign(wave) * np.sqrt(np.abs(wave))
    sig = tmp_path / "sig.csv"
    np.savetxt(sig, x, fmt="%.4f")
    run = CliRunner().invoke
    for src, more in ((str(sig), ["--fs", "360"]), (str(tmp_path / "beats.csv"), [])):
        if not more:
            r = run(app, ["classify", str(sig), "--fs", "360", "--out", src, "-q"])
            assert r.exit_code == 0, r.output
            assert ",Q,!," in (tmp_path / "beats.csv").read_text()
        r = run(app, ["rhythm", src, *more, "--out", "-", "-q"])
        assert r.exit_code == 0, r.output
        vf = [line.split(",") for line in r.stdout.splitlines() if ",vf," in line]
        assert len(vf) == 1, r.stdout
        assert 19 < float(vf[0][1]) < 22 and 38 < float(vf[0][2]) < 41
