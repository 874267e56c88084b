"""The QRS-boundary network: numpy twin against Flax, shipped weights, use in delineation."""

import numpy as np
import pytest

from ecgtool.signal.qrsnet import (DEFAULT_WEIGHTS, HALF, forward, load_weights, qrs_bounds_net,
                                   qrs_windows, save_weights, weights_card)


def test_numpy_forward_is_the_flax_model():
    # Detection runs the network in numpy (no JAX); it must compute what the
    # trained Flax module computes, strides and padding included.
    import jax
    import jax.numpy as jnp

    from ecgtool.ml.qrsnet_train import QrsNet, QrsNetConfig, numpy_params

    for config in (QrsNetConfig(), QrsNetConfig(channels=(4, 6), kernels=(3, 4),
                                                strides=(2, 3), hidden=5)):
        net = QrsNet(config)
        params = net.init(jax.random.PRNGKey(1), jnp.zeros((1, 2 * HALF + 1)))
        # Random weights of a trained-like size, so that every unit is active somewhere.
        params = jax.tree_util.tree_map(
            lambda p: p + 0.1 * jax.random.normal(jax.random.PRNGKey(2), p.shape), params)
        x = np.random.default_rng(0).normal(size=(37, 2 * HALF + 1)).astype(np.float32)
        want = np.asarray(net.apply(params, jnp.asarray(x))) * 50.0
        got = forward(numpy_params(params, config), x)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_weights_round_trip_with_their_card(tmp_path):
    params = load_weights(DEFAULT_WEIGHTS)
    assert weights_card()["trained_on"].startswith("LUDB")
    save_weights(params, {"format": "x"}, tmp_path / "w.npz")
    again = load_weights(tmp_path / "w.npz")
    assert sorted(again) == sorted(params)
    assert all(np.array_equal(again[k], params[k]) for k in params)
    assert weights_card(tmp_path / "w.npz") == {"format": "x"}


def test_windows_do_not_depend_on_the_rate_they_are_read_at():
    from scipy.signal import resample_poly

    from ecgtool.io.records import read_sample

    rec = read_sample("119")
    r = rec.annotations.sample[5:40]
    w360 = qrs_windows(rec.signal, rec.fs, r)
    w720 = qrs_windows(resample_poly(rec.signal, 2, 1), 2 * rec.fs, 2 * r)
    # Same beats at twice the rate: the same network input, to the smoothing.
    assert np.median(np.abs(w360 - w720)) < 0.02


def test_shipped_network_on_the_bundled_records(rec208_sample):
    rec, r, sym = rec208_sample
    on, off = qrs_bounds_net(rec.signal, rec.fs, r)
    assert np.all(on <= r) and np.all(off >= r)
    qrs_ms = (off - on) * 1000 / rec.fs
    # Ventricular beats are wide, normal ones narrow (208: median 58 and 169
    # ms by the slope method).
    assert 50 < np.median(qrs_ms[sym == "N"]) < 110
    assert np.median(qrs_ms[sym == "V"]) > np.median(qrs_ms[sym == "N"]) + 40
    e = np.zeros(0, dtype=np.int64)
    assert [a.size for a in qrs_bounds_net(rec.signal, rec.fs, e)] == [0, 0]


def test_outputs_do_not_depend_on_how_many_beats_go_through_at_once(rec208_sample):
    from ecgtool.signal.pnet import p_waves_net

    rec, r, _ = rec208_sample
    r = r[:600]
    for f in (qrs_bounds_net, p_waves_net):
        whole = f(rec.signal, rec.fs, r, chunk=r.size)
        for got, want in zip(f(rec.signal, rec.fs, r, chunk=7), whole):
            np.testing.assert_array_equal(got, want)


@pytest.fixture
def rec208_sample():
    from ecgtool.io.records import read_sample

    rec = read_sample("208")
    a = rec.annotations
    keep = np.isin(a.symbol, ["N", "V"]) & (a.sample > 100) & (a.sample < rec.n_samples - 100)
    return rec, a.sample[keep], a.symbol[keep]


def test_beats_at_the_edges_and_odd_rates_stay_in_range():
    # Windows reach 160 ms past each R peak: a beat at either end of the
    # signal, or a signal shorter than a window, must still give boundaries
    # inside it.
    from ecgtool.io.records import read_sample

    x = read_sample("119").signal
    for fs, n in ((100.0, 50), (257.0, 3000), (10000.0, 40000)):
        sig = x[:n]
        r = np.array([0, n // 2, n - 1])
        on, off = qrs_bounds_net(sig, fs, r)
        assert np.all((0 <= on) & (on <= r) & (r <= off) & (off <= n - 1)), fs
    on, off = qrs_bounds_net(np.zeros(5), 360.0, np.array([2]))
    assert 0 <= on[0] <= 2 <= off[0] <= 4


def test_training_on_a_few_ludb_records_learns_and_writes_usable_weights(data, tmp_path):
    if not (data / "ludb" / "data").is_dir():
        pytest.skip("LUDB not in ECGTOOL_DATA")
    from dataclasses import replace

    from ecgtool.ml.qrsnet_train import QrsNetConfig, ludb_boundaries, main, train_qrsnet

    d = ludb_boundaries(data / "ludb", ["1", "2", "3"], leads=("ii", "v5"))
    assert d.windows.shape[1] == 2 * HALF + 1 and set(d.records) == {"1", "2", "3"}
    # QRS onsets lie before the R peak and offsets after it, in the marks too.
    assert np.all(d.targets[:, 0] < 0) and np.all(d.targets[:, 1] > 0)
    losses = []
    train_qrsnet(d, replace(QrsNetConfig(), epochs=20, batch_size=16),
                 progress=lambda epoch, loss: losses.append(loss))
    assert losses[-1] < 0.7 * losses[0]
    out = tmp_path / "w.npz"
    assert main(["--data", str(data / "ludb"), "--records", "4-5", "--out", str(out),
                 "--polarity-flip", "0.5"]) == 0
    assert weights_card(out)["records"] == ["4", "5"]
    assert weights_card(out)["config"]["polarity_flip"] == 0.5
    assert forward(load_weights(out), d.windows[:3]).shape == (3, 2)


def test_augmentation_scales_turns_and_adds_noise_to_windows():
    from dataclasses import replace

    from ecgtool.ml.qrsnet_train import QrsNetConfig, augment_qrs

    w = np.tile(np.exp(-0.5 * ((np.arange(2 * HALF + 1) - HALF) / 3.0) ** 2), (400, 1))
    quiet = replace(QrsNetConfig(), noise=0.0)
    gain = augment_qrs(np.random.default_rng(0), w, quiet)[:, HALF]
    assert np.all((gain >= 0.7) & (gain <= 1.3))
    gain = augment_qrs(np.random.default_rng(0), w, replace(quiet, polarity_flip=0.5))[:, HALF]
    assert np.all((np.abs(gain) >= 0.7) & (np.abs(gain) <= 1.3))
    assert 150 <= (gain < 0).sum() <= 250
    noisy = augment_qrs(np.random.default_rng(0), w, replace(quiet, noise=0.02))
    assert 0.01 < np.std(noisy[:, :10]) < 0.03


def test_training_without_marks_is_a_one_line_error(tmp_path, capsys):
    from ecgtool.ml.qrsnet_train import main

    out = tmp_path / "w.npz"
    assert main(["--data", str(tmp_path), "--records", "1-3", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path) in err[0] and "no annotated QRS" in err[0]
    assert not out.exists()


def test_reading_at_fractional_positions_is_np_interp_to_the_last_bit():
    from ecgtool.signal.filters import sample_at

    rng = np.random.default_rng(5)
    for n in (1, 2, 3, 17, 1000):
        x = rng.normal(size=n)
        at = rng.uniform(-3, n + 3, size=(40, 9))
        at[0, :4] = [0, n - 1, n - 1.5, 0.5]
        at[1] = np.round(at[1])
        assert np.array_equal(sample_at(x, at), np.interp(at, np.arange(n), x))
