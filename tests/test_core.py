"""The compiled kernels agree with their pure-Python twins."""

import numpy as np
import pytest

from ecgtool import _core
from ecgtool.signal import _twins
from ecgtool.signal.detect import DEFAULT_SETTINGS, find_r_peaks
from ecgtool.signal.filters import design_qrs_filter, moving_mean, qrs_filter


@pytest.mark.parametrize("half", [0, 1, 3, 27, 200])
def test_moving_mean_matches_direct_sum(half):
    rng = np.random.default_rng(half)
    x = rng.normal(size=150)
    padded = np.concatenate([np.full(half, x[0]), x, np.full(half, x[-1])])
    direct = np.array([padded[i:i + 2 * half + 1].mean() for i in range(x.size)])
    np.testing.assert_allclose(moving_mean(x, half), direct, atol=1e-12)
    np.testing.assert_allclose(_twins.moving_mean(x, half), direct, atol=1e-12)


def test_moving_mean_kernel_matches_twin_on_a_real_record(rec208):
    x = rec208.signal
    for half in (0, 2, 18, 180):
        np.testing.assert_allclose(moving_mean(x, half), _twins.moving_mean(x, half), atol=1e-9)
    short = x[:3]
    np.testing.assert_allclose(moving_mean(short, 5), _twins.moving_mean(short, 5), atol=1e-12)
    gap = x[:1000].copy()
    gap[10] = np.nan  # non-finite input takes the twin
    np.testing.assert_array_equal(moving_mean(gap, 3), _twins.moving_mean(gap, 3))


@pytest.mark.parametrize("fs", [128.0, 360.0, 1000.0])
def test_filter_kernel_matches_twin_on_real_ecg(rec208, fs):
    x = rec208.signal[:20000]
    d = design_qrs_filter(fs)
    c = qrs_filter(x, fs, d, backend="c")
    p = qrs_filter(x, fs, d, backend="python")
    np.testing.assert_allclose(c.band, p.band, atol=1e-9)
    np.testing.assert_allclose(c.feature, p.feature, rtol=1e-9, atol=1e-9 * p.feature.max())


def test_filter_kernel_short_and_wide_windows():
    # Windows longer than the signal exercise the edge branches of the kernel.
    x = np.array([0.0, 1.0, -2.0, 0.5, 3.0])
    d = design_qrs_filter(1000.0)
    c = qrs_filter(x, 1000.0, d, backend="c")
    p = qrs_filter(x, 1000.0, d, backend="python")
    np.testing.assert_allclose(c.feature, p.feature, atol=1e-12)


@pytest.mark.parametrize("fs", [100.0, 257.0, 1000.0, 5000.0])
def test_filter_kernel_matches_twin_at_every_short_length(fs):
    # The kernel keeps no whole-length scratch: each moving mean's inputs
    # wait in a ring, with loops of their own near the ends. Every length
    # up to a few windows crosses each of those edges.
    x = np.random.default_rng(int(fs)).normal(size=400)
    d = design_qrs_filter(fs)
    for n in range(3, 400, 1 if fs < 1000 else 7):
        c = qrs_filter(x[:n], fs, d, backend="c")
        p = qrs_filter(x[:n], fs, d, backend="python")
        np.testing.assert_allclose(c.band, p.band, atol=1e-12, err_msg=str(n))
        np.testing.assert_allclose(c.feature, p.feature, rtol=1e-9,
                                   atol=1e-12 * max(1.0, p.feature.max()), err_msg=str(n))


@pytest.mark.parametrize("start", [0, 150000, 400000])
def test_peak_kernel_matches_twin_exactly(rec208, start):
    x = rec208.signal[start:start + 60000]
    c = find_r_peaks(x, rec208.fs, backend="c")
    p = find_r_peaks(x, rec208.fs, backend="python")
    assert c.size > 100
    np.testing.assert_array_equal(c, p)


def test_peak_kernel_matches_twin_on_noise():
    rng = np.random.default_rng(7)
    x = np.cumsum(rng.normal(size=20000)) * 0.01 + rng.normal(size=20000)
    np.testing.assert_array_equal(find_r_peaks(x, 250.0, backend="c"),
                                  find_r_peaks(x, 250.0, backend="python"))


def test_raw_kernel_call_returns_indices_in_range(rec119):
    f = qrs_filter(rec119.signal[:36000], 360.0)
    x = np.ascontiguousarray(rec119.signal[:36000:f.step])  # at the processing rate
    out = np.empty(x.size // 2 + 1, dtype=np.intp)
    s = DEFAULT_SETTINGS
    args = (f.feature, x, float(f.feature.max()) / 4, 0.0, 180.0, 36, 75, 13, 1, s.threshold,
            s.noise_gain, s.threshold_cap, s.t_ratio, s.searchback, s.searchback_threshold, 0.0,
            s.relearn_noise)
    n = _core._find_qrs(*args, out)
    twin = _twins.find_qrs(*args)
    np.testing.assert_array_equal(out[:n], twin)
    assert n > 100 and out[:n].min() >= 0 and out[:n].max() < x.size


def test_peak_kernel_matches_twin_when_its_levels_tie(rec119):
    # A coarse feature repeats values, so the kernel's sorted rings of the
    # last eight levels hold ties and drop one of several equal values.
    f = qrs_filter(rec119.signal[:72000], 360.0)
    feat = np.round(f.feature / f.feature.max() * 20) / 20
    x = np.ascontiguousarray(rec119.signal[:72000:f.step])
    out = np.empty(x.size // 2 + 1, dtype=np.intp)
    s = DEFAULT_SETTINGS
    args = (feat, x, 0.5, 0.0, 180.0, 36, 75, 13, 1, s.threshold, s.noise_gain,
            s.threshold_cap, s.t_ratio, s.searchback, s.searchback_threshold, 0.0,
            s.relearn_noise)
    n = _core._find_qrs(*args, out)
    np.testing.assert_array_equal(out[:n], _twins.find_qrs(*args))
    assert n > 100


@pytest.mark.parametrize("half", [0, 1, 9, 40])
@pytest.mark.parametrize("mode", ["absolute", "one sign", "sign per centre"])
def test_window_argmax_kernel_matches_twin(half, mode):
    rng = np.random.default_rng(half)
    # Rounded values tie: the first of equal values wins in both.
    values = np.round(rng.normal(size=300), 1)
    # Centres near, at and beyond both ends: the windows are cut there.
    centres = np.r_[-50, -1, 0, 3, rng.integers(0, 300, 60), 296, 299, 300, 350].astype(np.intp)
    sign = (np.where(rng.random(centres.size) < 0.5, -1.0, 1.0) if mode == "sign per centre"
            else np.array([-1.0]))
    out = np.empty(centres.size, dtype=np.intp)
    _core._window_argmax(values, centres, half, sign, mode == "absolute", out)
    twin = _twins.window_argmax(values, centres, half, sign, mode == "absolute")
    np.testing.assert_array_equal(out, twin)
    assert out.min() >= 0 and out.max() < values.size


@pytest.mark.parametrize("n,half", [(2, 1), (5, 2), (31, 15), (400, 15), (1000, 7)])
def test_running_median_kernel_matches_twin(n, half):
    rng = np.random.default_rng(n)
    # Rounded values make ties, which the sorted buffer must remove one at a time.
    x = np.round(rng.normal(size=(6, n)), 1).astype(np.float32)
    out = np.empty_like(x)
    _core._running_median(x, half, out)
    np.testing.assert_array_equal(out, _twins.running_median(x, half))


def test_running_median_kernel_matches_twin_on_real_beats(rec208):
    from ecgtool.beats.windows import beat_windows

    waves = beat_windows(rec208.signal, rec208.fs, rec208.annotations.sample[1:-1]).waves
    rows = np.ascontiguousarray(waves[..., 0].T)
    out = np.empty_like(rows)
    _core._running_median(rows, 15, out)
    np.testing.assert_array_equal(out, _twins.running_median(rows, 15))


@pytest.mark.parametrize("n,size", [(1, 1), (1, 9), (2, 30), (9, 9), (40, 4), (500, 9),
                                    (500, 30), (3000, 31)])
def test_running_rank_kernel_matches_twin_and_scipy(n, size):
    from scipy.ndimage import median_filter as scipy_median

    from ecgtool.signal.filters import median_filter

    rng = np.random.default_rng(n + size)
    # Rounded values make ties; R-R-like positive values as in the rhythm code.
    x = np.round(rng.uniform(0.3, 1.5, n), 2)
    out = np.empty_like(x)
    _core._running_rank(x, size, out)
    np.testing.assert_array_equal(out, _twins.running_rank(x, size))
    np.testing.assert_array_equal(out, scipy_median(x, size=size, mode="nearest"))
    np.testing.assert_array_equal(median_filter(x, size), out)


@pytest.mark.parametrize("n,size", [(1, 9), (5, 9), (9, 9), (40, 4), (40, 9), (500, 30)])
def test_inner_median_keeps_its_windows_inside_the_series(n, size):
    from ecgtool.signal.filters import inner_median, median_filter

    x = np.round(np.random.default_rng(n * size).uniform(0.3, 1.5, n), 2)
    out = inner_median(x, size)
    h = size // 2
    for i in range(n):
        a = i - h
        if 0 <= a and a + size <= n:
            assert out[i] == median_filter(x, size)[i]      # inside: the same window
        else:
            a = min(max(a, 0), max(n - size, 0))
            w = np.sort(x[a:a + size])
            assert out[i] == w[w.size // 2]                # moved inside, no repeats


def test_median_filter_passes_non_finite_values_to_the_twin():
    from ecgtool.signal.filters import median_filter

    x = np.array([1.0, np.nan, 2.0, 3.0, 4.0, 5.0])
    out = median_filter(x, 3)
    np.testing.assert_array_equal(out, _twins.running_rank(x, 3))
    assert out[-1] == 5.0
    with pytest.raises(ValueError):
        median_filter(np.ones((2, 2)), 3)


def _nearest_both(qrs, rows, count, near, span, shift, first=False):
    out = np.full((rows.size, count), -1, dtype=np.intp)
    _core._nearest_shapes(qrs, rows, count, near, span, shift, out, first)
    return out, _twins.nearest_shapes(qrs, rows, count, near, span, shift, first)


def test_nearest_shapes_kernel_matches_twin_on_real_beats(rec208):
    from ecgtool.beats.windows import QRS_SPAN, beat_windows

    waves = beat_windows(rec208.signal, rec208.fs, rec208.annotations.sample[1:-1]).waves
    lo, hi = QRS_SPAN
    for shift, span, count, near in ((5, 250, 10, 0.4), (0, 30, 3, 0.2), (2, 5, 4, 1.0)):
        qrs = np.ascontiguousarray(waves[:, lo - shift:hi + shift, 0])
        rows = np.arange(0, len(qrs), 7, dtype=np.intp)
        kernel, twin = _nearest_both(qrs, rows, count, near, span, shift)
        np.testing.assert_array_equal(kernel, twin)
        # Both kinds of row are exercised: found, and too few within reach.
        assert (kernel[:, 0] >= 0).any() and (kernel[:, 0] < 0).any()
        first, first_twin = _nearest_both(qrs, rows, count, near, span, shift, first=True)
        np.testing.assert_array_equal(first, first_twin)
        # The same rows have count beats within reach, whichever are kept.
        np.testing.assert_array_equal(first[:, 0] < 0, kernel[:, 0] < 0)
        assert (first != kernel).any()


def test_nearest_shapes_kernel_matches_twin_on_ties_and_gaps():
    rng = np.random.default_rng(3)
    # Three shapes, rounded so that many pairs are exactly as near; one beat a gap.
    shapes = np.round(rng.normal(size=(3, 20)), 1)
    qrs = np.ascontiguousarray(shapes[rng.integers(0, 3, 60)], dtype=np.float32)
    qrs[17] = np.nan
    rows = np.arange(60, dtype=np.intp)
    kernel, twin = _nearest_both(qrs, rows, 4, 0.5, 8, 2)
    np.testing.assert_array_equal(kernel, twin)
    assert (kernel[17] == -1).all() and not (kernel == 17).any()
    # Ties are broken by time: beat 30's nearest are the nearest beats of its shape.
    same = np.flatnonzero((qrs == qrs[30]).all(axis=1))
    same = same[same != 30]
    nearest = same[np.argsort(np.abs(same - 30), kind="stable")][:4]
    assert kernel[30].tolist() == sorted(nearest.tolist())
    kernel, twin = _nearest_both(qrs, rows, 4, 0.5, 8, 2, first=True)
    np.testing.assert_array_equal(kernel, twin)


@pytest.mark.parametrize("width", [3, 21, 28])
def test_nearest_shapes_kernel_matches_twin_where_its_bounds_decide(width):
    # Copies of one shape at distances spread around the bar, and the same
    # samples in another order (the same norm, other segment sums): the
    # kernel's lower bounds skip many pairs and must skip no pair the twin
    # keeps. Widths under and not a multiple of the kernel's segment count.
    rng = np.random.default_rng(width)
    base = rng.normal(size=width + 4)
    noisy = base + rng.uniform(0.0, 0.6, (80, 1)) * rng.normal(size=(80, width + 4))
    shuffled = np.stack([rng.permutation(base) for _ in range(40)])
    qrs = np.ascontiguousarray(rng.permutation(np.vstack([noisy, shuffled])), dtype=np.float32)
    rows = np.arange(len(qrs), dtype=np.intp)
    found = []
    for count, near in ((5, 0.4), (1, 0.25), (12, 0.8)):
        kernel, twin = _nearest_both(qrs, rows, count, near, 40, 2)
        np.testing.assert_array_equal(kernel, twin)
        found.append(kernel[:, 0] >= 0)
    assert np.any(found) and not np.all(found)


def test_nearest_shapes_kernel_matches_twin_where_the_norms_alone_decide():
    # One shape at many scales: a beat scaled by c is |c - 1| from it at no
    # shift, so scales around 1 +- near put pairs on the edge of the bound
    # that skips a pair at every shift by its norm alone (samples of +-1:
    # every shift of the span has the same norm, and the edge is sharp).
    rng = np.random.default_rng(11)
    base = rng.choice([-1.0, 1.0], size=32)
    near = 0.4
    edge = np.r_[1 + near, 1 - near, 1 / (1 + near), 1 / (1 - near)]
    scales = np.r_[edge, edge * (1 + 1e-7), edge * (1 - 1e-7), edge * (1 + 1e-3),
                   edge * (1 - 1e-3), rng.uniform(0.5, 1.6, 40), 1.0, 1.0]
    lone = rng.normal(size=(5, 32))                     # shapes of their own
    qrs = np.ascontiguousarray(rng.permutation(np.vstack([scales[:, None] * base, lone])),
                               dtype=np.float32)
    rows = np.arange(len(qrs), dtype=np.intp)
    found = []
    for count, first in ((3, False), (1, False), (12, False), (2, True)):
        kernel, twin = _nearest_both(qrs, rows, count, near, 60, 2, first)
        np.testing.assert_array_equal(kernel, twin)
        found.append(kernel[:, 0] >= 0)
    assert np.any(found) and not np.all(found)


def test_nearest_shapes_wrapper_checks_its_arguments():
    from ecgtool.beats.windows import WINDOW, nearest_shapes

    w = np.zeros((5, WINDOW, 2), np.float32)
    assert nearest_shapes(w, np.array([0]), 2, 0.3, 3).tolist() == [[1, 2]]
    assert nearest_shapes(w, np.array([], dtype=int), 2, 0.3, 3).shape == (0, 2)
    for bad in (dict(count=0), dict(span=-1), dict(shift=WINDOW)):
        args = dict(count=2, near=0.3, span=3) | bad
        with pytest.raises(ValueError):
            nearest_shapes(w, np.array([0]), **args)
    with pytest.raises(ValueError, match="outside"):
        nearest_shapes(w, np.array([5]), 2, 0.3, 3)


def test_window_argmax_wrapper_checks_its_arguments():
    from ecgtool.signal.detect import _window_argmax

    assert _window_argmax(np.zeros(5), np.zeros(0, int), 2).size == 0
    with pytest.raises(ValueError, match="signs"):
        _window_argmax(np.zeros(5), np.array([1, 2, 3]), 1, sign=np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="no values"):
        _window_argmax(np.zeros(0), np.array([0]), 1)


def _split_both(r, amp, fs=360.0):
    # The compiled rule (all passes) and its twin's passes.
    from ecgtool.signal.artefacts import DEFAULT_SPLIT_RULE as rule
    from ecgtool.signal.artefacts import _in_passes

    drop = np.zeros(r.size, dtype=np.uint8)
    _core._split_rule(r.astype(np.intp), amp, fs, rule.span, rule.early, rule.amplitude,
                      rule.irregularity, drop)
    return drop.astype(bool), _in_passes(_twins.split_pass, r, amp, fs, rule)


def test_split_rule_kernel_matches_twin_on_real_beats_with_detections_between(rec208):
    # 208's beats (PVCs, couplets, fusion) with small detections put between
    # every eleventh pair: some split a regular interval, some do not.
    rng = np.random.default_rng(7)
    beats = rec208.annotations.sample[1:-1].astype(np.int64)
    extra = beats[:-1:11] + (np.diff(beats)[::11] * rng.uniform(0.3, 0.7, beats[:-1:11].size))
    r = np.unique(np.r_[beats, extra.astype(np.int64)])
    amp = np.where(np.isin(r, beats), rng.uniform(0.8, 1.2, r.size), rng.uniform(0.2, 1.0, r.size))
    out, twin = _split_both(r, amp)
    np.testing.assert_array_equal(out, twin)
    assert 20 < twin.sum() < extra.size - 20      # the rule decides both ways here


@pytest.mark.parametrize("n", [0, 4, 5, 6, 13, 40])
def test_split_rule_kernel_matches_twin_at_the_ends_and_on_neighbours(n):
    # Short series (contexts held at both ends) and chains of flagged
    # neighbours, of which only the first may go.
    rng = np.random.default_rng(n)
    for _ in range(200):
        r = np.cumsum(rng.choice([150, 300, 300, 300, 310], size=n)).astype(np.int64)
        amp = rng.choice([0.3, 1.0, 1.0], size=n)
        out, twin = _split_both(r, amp)
        np.testing.assert_array_equal(out, twin)


def test_split_rule_gives_the_same_drops_with_either_backend(rec119):
    from ecgtool.signal.artefacts import split_interval_artefacts

    beats = rec119.annotations.sample[1:-1].astype(np.int64)
    r = np.sort(np.r_[beats, beats[5:-5:12] + 140])
    amp = np.where(np.isin(r, beats), 1.0, 0.4)
    c = split_interval_artefacts(r, amp, 360.0)
    np.testing.assert_array_equal(c, split_interval_artefacts(r, amp, 360.0, backend="python"))
    assert c.sum() > 10
    with pytest.raises(ValueError, match="backend"):
        split_interval_artefacts(r, amp, 360.0, backend="fortran")


@pytest.mark.parametrize("q", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_group_quantile_kernel_matches_twin(q):
    # Groups of 1 to 600 values (sorted by insertion up to 24, the rank
    # selected over), empty groups between them, and ties.
    rng = np.random.default_rng(int(q * 10))
    sizes = rng.choice([0, 1, 2, 3, 10, 24, 25, 26, 80, 600], size=80)
    groups = np.repeat(np.arange(sizes.size), sizes)
    values = np.round(rng.normal(size=groups.size), 1)
    values[groups % 7 == 3] = np.sort(values[groups % 7 == 3])      # some groups sorted
    values[groups % 7 == 4] = np.sort(values[groups % 7 == 4])[::-1]  # or reversed
    out = np.full(sizes.size, np.nan)
    _core._group_quantile(values, groups.astype(np.intp), q, out)
    np.testing.assert_array_equal(out, _twins.group_quantile(values, groups, sizes.size, q))
    assert np.isnan(out[sizes == 0]).all() and np.isfinite(out[sizes > 0]).all()


def test_group_quantile_passes_non_finite_values_to_the_twin():
    from ecgtool.signal.leads import _group_quantile

    values, groups = np.array([1.0, np.inf, 3.0, 2.0, np.nan]), np.array([0, 0, 0, 2, 2])
    np.testing.assert_array_equal(_group_quantile(values, groups, 3, 0.5),
                                  _twins.group_quantile(values, groups, 3, 0.5))
    assert _group_quantile(values[:0], groups[:0], 2, 0.5).tolist() == [] or \
        np.isnan(_group_quantile(values[:0], groups[:0], 2, 0.5)).all()


@pytest.mark.parametrize("seed", range(4))
def test_closer_than_sweep_matches_its_twin_in_passes(seed):
    # Chains of close detections (bursts), ties in size, and lone ones: the
    # one sweep must leave what the passes leave.
    from ecgtool.signal.artefacts import closer_than

    rng = np.random.default_rng(seed)
    r = np.cumsum(rng.choice([10, 30, 60, 71, 72, 300], size=400)).astype(np.int64)
    amp = rng.choice([0.5, 1.0, 1.0, 2.0], size=r.size)
    sweep = closer_than(r, amp, 72)
    np.testing.assert_array_equal(sweep, closer_than(r, amp, 72, backend="python"))
    kept = r[~sweep]
    assert np.diff(kept).min() >= 72 and 50 < sweep.sum() < 300
    with pytest.raises(ValueError, match="backend"):
        closer_than(r, amp, 72, backend="fortran")


def _noisy_both(feat, step, level, w, gate, reach=5):
    out = np.zeros(level.size, dtype=np.uint8)
    _core._noisy_windows(feat, step, level, w, gate, reach, out)
    return out.astype(bool), _twins.noisy_windows(feat, step, level, w, gate, reach)


@pytest.mark.parametrize("fs,step", [(360.0, 3), (250.0, 2), (200.0, 1), (257.0, 2), (128.0, 1)])
def test_noisy_windows_kernel_matches_twin_on_a_real_record(rec208, fs, step):
    # 208's feature cut to windows of several rates and steps (windows of
    # whole and of part steps, a last partial window); the level of each
    # window as the detector's median beat feature would give, some windows
    # without beats (NaN), at several gates.
    from ecgtool.signal.filters import design_qrs_filter, qrs_filter

    x = rec208.signal[:200_000]
    feat = qrs_filter(x, 360.0, design_qrs_filter(360.0)).feature
    feat = np.ascontiguousarray(feat[::step])
    w = int(round(3.0 * fs))
    n_win = -(-feat.size * step // w)
    rng = np.random.default_rng(int(fs))
    level = rng.uniform(0.2, 2.0, n_win) * np.median(feat) * 20
    level[rng.random(n_win) < 0.3] = np.nan
    level[5:17] = np.nan                      # beyond the reach of any beat
    level[-1] = np.inf
    for gate in (0.02, 0.1, 0.5):
        out, twin = _noisy_both(feat, step, level, w, gate)
        np.testing.assert_array_equal(out, twin)
        assert out[5:17].sum() >= 2
    out, twin = _noisy_both(feat, step, level, w, 0.1)
    assert 0 < out.sum() < out.size          # both answers seen


def test_noisy_windows_either_backend_through_the_wrapper(rec119):
    from ecgtool.signal.bands import noisy_windows
    from ecgtool.signal.detect import _one_band

    from scipy.signal import butter, sosfiltfilt

    x = rec119.signal[:180_000].copy()
    noise = sosfiltfilt(butter(2, [0.5, 16], "band", fs=360, output="sos"),
                        np.random.default_rng(0).normal(size=30_000))
    x[60_000:90_000] += 0.5 * noise / noise.std()      # motion-like noise for 83 s
    r, feat, step = _one_band(x, 360.0, DEFAULT_SETTINGS, "c")
    c = noisy_windows(feat, step, r, x.size, 360.0, 0.1)
    np.testing.assert_array_equal(c, noisy_windows(feat, step, r, x.size, 360.0, 0.1,
                                                   backend="python"))
    inside = c[60_000 // 1080 + 1:90_000 // 1080]
    assert inside.all() and not c[:50].any()
    assert noisy_windows(feat, step, r[:0], x.size, 360.0, 0.1).all()


def _window_measures_both(x, feat, step, peaks, other, w, rows, fs):
    args = (np.ascontiguousarray(x), np.ascontiguousarray(feat), step, peaks.astype(np.intp),
            np.sort(other).astype(np.intp), w, rows.astype(np.intp), int(0.1 * fs / step),
            int(0.06 * fs), 0.1 * fs, fs)
    out = np.empty((rows.size, 7))
    assert _core._window_measures(*args, out)
    return out, _twins.window_measures(*args)


@pytest.mark.parametrize("fs,step", [(360.0, 3), (250.0, 2), (128.0, 1)])
def test_window_measures_kernel_matches_twin_on_real_beats_and_noise(rec208, fs, step):
    # 208 (PVCs) with noise detections added to one stream and beats taken
    # out of the other; every window, windows without beats or with one, a
    # beat at the very start and end. The likeness sums in another order:
    # equal to rounding; every other measure exactly.
    rng = np.random.default_rng(int(fs))
    x = rec208.signal[:150_000]
    feat = np.abs(np.diff(x, prepend=x[0]))[::step] ** 2
    w = int(round(3.0 * fs))
    beats = rec208.annotations.sample[1:-1]
    beats = beats[beats < x.size].astype(np.int64)
    peaks = np.unique(np.r_[0, beats, rng.integers(0, x.size, 60), x.size - 1])
    peaks = peaks[(peaks < 40 * w) | (peaks > 42 * w)]            # two empty windows
    other = np.delete(beats, rng.choice(beats.size, 40, replace=False))
    n_win = -(-x.size // w)
    for rows in (np.arange(n_win), np.array([0, 5, 40, 41, 42, n_win - 1])):
        out, twin = _window_measures_both(x, feat, step, peaks, other, w, rows, fs)
        np.testing.assert_array_equal(out[:, :6], twin[:, :6])
        np.testing.assert_allclose(out[:, 6], twin[:, 6], rtol=1e-12, atol=1e-14)
        assert np.isnan(out[:, 1]).any() and (out[:, 6] > 0.5).any()


def test_window_quality_reads_non_finite_windows_with_the_twin(rec119):
    from ecgtool.signal.leads import window_quality

    x = rec119.signal[:36_000].copy()
    peaks = rec119.annotations.sample[1:-1]
    peaks = peaks[peaks < x.size]
    x[peaks[40] - 5] = np.inf                  # inside one beat's segment
    q = window_quality(x, 360.0, peaks, peaks, feature=(np.abs(x), 1))
    np.testing.assert_array_equal(q, window_quality(x, 360.0, peaks, peaks,
                                                    feature=(np.abs(x), 1), backend="python"))
    with pytest.raises(ValueError, match="backend"):
        window_quality(x, 360.0, peaks, peaks, backend="fortran")


def test_tree_leaves_kernel_matches_twin_on_the_shipped_judge():
    # Random rows, and rows whose values sit exactly on the trees' thresholds
    # (where "at most" must send them left).
    from ecgtool.signal.leads import load_judge, second_lead_probability

    judge = load_judge()
    rng = np.random.default_rng(3)
    n_in = int(judge["feature"].max()) + 1
    rows = rng.normal(size=(300, n_in))
    inner = judge["left"] >= 0
    for i in range(100):
        t = i % judge["feature"].shape[0]
        f, thr = judge["feature"][t][inner[t]], judge["threshold"][t][inner[t]]
        rows[i, f] = thr
    args = [np.ascontiguousarray(judge[k], dtype=d) for k, d in
            (("feature", np.intp), ("threshold", np.float64), ("left", np.intp), ("right", np.intp))]
    out = np.empty((args[0].shape[0], rows.shape[0]), dtype=np.intp)
    assert _core._tree_leaves(rows, *args, out)
    np.testing.assert_array_equal(out, _twins.tree_leaves(rows, *args))
    p = second_lead_probability(rows)
    np.testing.assert_array_equal(p, second_lead_probability(rows, backend="python"))
    assert 0.05 < (p > 0.5).mean() < 0.95


def test_tree_leaves_refuses_a_broken_ensemble():
    from ecgtool.signal.leads import load_judge, second_lead_probability

    judge = dict(load_judge())
    rows = np.zeros((2, int(judge["feature"].max()) + 1))
    with pytest.raises(ValueError, match="trees"):
        second_lead_probability(rows[:, :3], judge)             # too few measures
    right = judge["right"].copy()
    right[0, 0] = 99
    with pytest.raises(ValueError, match="trees"):
        second_lead_probability(rows, {**judge, "right": right})
    with pytest.raises(ValueError, match="backend"):
        second_lead_probability(rows, backend="fortran")
