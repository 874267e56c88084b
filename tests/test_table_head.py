"""Labelling beats from a beats table alone (no waveform): features, head, CLI."""

import numpy as np
import pytest

from ecgtool.beats.features import TABLE_FEATURES, table_features
from ecgtool.beats.table import AAMI_CLASSES, Beats
from ecgtool.errors import EcgToolError
from ecgtool.evaluate import BEAT_SYMBOLS, match_beats
from ecgtool.ml.table_head import TableHead, fit_table_head


def test_features_are_finite_for_every_beat_and_relative_to_the_record():
    r = np.arange(40) * 300
    r[20] -= 120  # early, then a pause
    q_on, q_off = r - 10, r + 15
    q_off[20] = r[20] + 45  # and wide
    b = Beats(fs=300.0, r_peak=r, qrs_onset=q_on, qrs_offset=q_off,
              r_amp_mv=np.where(np.arange(40) == 20, -2.0, 1.0))
    f = table_features(b)
    assert f.shape == (40, len(TABLE_FEATURES)) and np.isfinite(f).all()
    col = {k: f[:, i] for i, k in enumerate(TABLE_FEATURES)}
    assert col["rr_prev_record"][20] == pytest.approx(0.6)
    assert col["qrs_ms_record"][20] == pytest.approx(183.3 - 83.3, abs=0.1)  # ms, 300 Hz
    assert col["polarity_flipped"][20] == 1 and col["polarity_flipped"].sum() == 1
    assert col["p_found"].sum() == 0 and (col["pr_record_ms"] == 0).all()
    # The same beats at another rate give the same measures.
    g = table_features(Beats(fs=600.0, r_peak=2 * r, qrs_onset=2 * q_on, qrs_offset=2 * q_off,
                             r_amp_mv=b.r_amp_mv))
    np.testing.assert_allclose(g, f, rtol=1e-5, atol=1e-3)
    assert table_features(Beats(fs=250.0, r_peak=np.zeros(0, int))).shape == (0, len(f[0]))
    assert np.isfinite(table_features(Beats(fs=250.0, r_peak=np.array([100])))).all()
    # Irregularity: low amid regular beats, high amid random intervals.
    rng = np.random.default_rng(1)
    irregular = np.cumsum(rng.uniform(150, 400, 60)).astype(int)
    h = table_features(Beats(fs=300.0, r_peak=np.r_[r[:30], r[29] + irregular]))
    k = TABLE_FEATURES.index("rr_irregularity")
    assert h[:15, k].max() < 0.03 < 0.1 < h[-30:, k].min()


def test_head_learns_round_trips_and_never_predicts_an_untrained_class():
    rng = np.random.default_rng(2)
    f = rng.normal(size=(2000, len(TABLE_FEATURES))).astype(np.float32)
    lab = np.where(f[:, 0] < -1.0, "V", np.where(f[:, 1] > 1.2, "S", "N"))
    lab[:50] = ""  # unmatched detections: left out
    head = fit_table_head(f, lab)
    p = head.proba(f)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    pred = np.array(AAMI_CLASSES)[p.argmax(axis=1)]
    assert np.mean(pred[50:] == lab[50:]) > 0.95
    assert set(pred) <= {"N", "S", "V"} and (p[:, 3:] == 0).all()  # F and Q never seen
    back = TableHead.from_bytes(head.to_bytes())
    np.testing.assert_allclose(back.proba(f), p, atol=1e-5)


def test_a_head_written_before_the_standardisation_was_folded_in_reads_the_same():
    # Earlier versions stored the weights on standardised measures with the
    # mean and scale beside them; such a model directory must label as before.
    from flax import serialization

    from ecgtool.ml.linear import LinearFit

    rng = np.random.default_rng(3)
    d = len(TABLE_FEATURES)
    fit = LinearFit(rng.normal(size=(d, 5)), rng.normal(size=5), rng.normal(500, 100, d),
                    rng.uniform(10, 200, d), np.array([9, 4, 3, 0, 1]))
    old = serialization.msgpack_serialize({
        "kernel": fit.kernel, "bias": fit.bias, "mean": fit.mean, "scale": fit.scale,
        "counts": fit.counts, "features": ",".join(TABLE_FEATURES),
        "classes": "".join(AAMI_CLASSES)})
    x = rng.normal(500, 100, size=(200, d))
    z = (x - fit.mean) / fit.scale @ fit.kernel + fit.bias
    z[:, 3] = -np.inf
    want = np.exp(z - z.max(axis=1, keepdims=True))
    want /= want.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(TableHead.from_bytes(old).proba(x), want, atol=1e-9)


def test_a_model_directory_with_the_older_msgpack_head_labels_as_before(tmp_path):
    # Directories written before table.npz hold table.msgpack (flax's format):
    # read as they were; training again leaves only the new file.
    import shutil

    from flax import serialization

    from ecgtool.ml.classify import classify_table
    from ecgtool.ml.model_io import default_model_dir, load_table_model, save_head

    old = tmp_path / "old"
    shutil.copytree(default_model_dir(), old)
    head = TableHead.from_bytes((old / "table.npz").read_bytes())
    (old / "table.npz").unlink()
    (old / "table.msgpack").write_bytes(serialization.msgpack_serialize({
        "kernel": head.kernel, "bias": head.bias, "counts": head.counts,
        "features": ",".join(TABLE_FEATURES), "classes": "".join(AAMI_CLASSES)}))
    beats = Beats(fs=360.0, r_peak=np.cumsum(np.full(40, 300)))
    want = classify_table(beats, load_table_model(default_model_dir())).proba
    np.testing.assert_array_equal(classify_table(beats, load_table_model(old)).proba, want)
    save_head(old, head)
    assert (old / "table.npz").is_file() and not (old / "table.msgpack").exists()


def test_labelling_a_beats_table_imports_neither_jax_nor_flax(tmp_path):
    import os
    import subprocess
    import sys

    from ecgtool.io.records import sample_path

    code = ("import sys; from ecgtool.cli import main; "
            f"rc = main(['classify', {str(tmp_path / 'b.csv')!r}, '--out', '-', '-q']); "
            "print(rc, 'jax' in sys.modules, 'flax' in sys.modules, file=sys.stderr)")
    from typer.testing import CliRunner

    from ecgtool.cli import app

    detected = CliRunner().invoke(app, ["detect", str(sample_path("119")), "--out",
                                        str(tmp_path / "b.csv"), "-q"])
    assert detected.exit_code == 0
    # Also in a worker of `--jobs N`, whose thread setting for JAX used to
    # start JAX wherever ecgtool.ml was imported.
    env = dict(os.environ, ECGTOOL_XLA_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.stderr.strip().splitlines()[-1] == "0 False False", out.stderr


def test_shipped_head_finds_ventricular_beats_in_208(rec208):
    # 208 is a training record of the shipped model: this checks that the
    # head loads and works; benchmarks/classify_table.py scores it on
    # records it never saw.
    from ecgtool.beats.labels import aami_labels
    from ecgtool.ml.classify import classify_table
    from ecgtool.signal.detect import detect_beats

    beats = detect_beats(rec208.signal, rec208.fs)
    labels = classify_table(beats)
    a = rec208.annotations
    mask = np.isin(a.symbol, list(BEAT_SYMBOLS))
    m = match_beats(a.sample[mask], beats.r_peak, 54)
    ref_v = aami_labels(a.symbol[mask])[m.ref_index] == "V"
    got_v = labels.aami[m.test_index] == "V"
    se, ppv = (ref_v & got_v).sum() / ref_v.sum(), (ref_v & got_v).sum() / got_v.sum()
    assert se > 0.8 and ppv > 0.8, (se, ppv)


def test_the_heads_classes_are_revised_by_the_rhythm_as_the_networks_are(data):
    # MIT-BIH 209's supraventricular tachycardias: the head alone (a training
    # record, so optimistic) found 284 of the 383 S beats, revised 333, while
    # 6 normal beats became S.
    from ecgtool.beats.labels import aami_labels
    from ecgtool.io.wfdbfiles import read_wfdb
    from ecgtool.ml.classify import classify_table
    from ecgtool.signal.detect import detect_beats

    rec = read_wfdb(data / "mitdb" / "209")
    beats = detect_beats(rec.signal, rec.fs)
    labels = classify_table(beats)
    a = rec.annotations
    mask = np.isin(a.symbol, list(BEAT_SYMBOLS))
    m = match_beats(a.sample[mask], beats.r_peak, 54)
    ref = aami_labels(a.symbol[mask])[m.ref_index]
    got = labels.aami[m.test_index]
    head = np.array(AAMI_CLASSES)[labels.proba.argmax(axis=1)][m.test_index]
    assert ((ref == "S") & (got == "S")).sum() > ((ref == "S") & (head == "S")).sum() + 30
    assert ((ref == "N") & (got == "S")).sum() <= 15


def test_a_wide_early_beat_of_the_table_is_ventricular_whatever_the_head_says():
    from ecgtool.ml.classify import table_classes

    r = np.arange(40) * 300
    r[20] -= 120                                   # early: the rhythm revision's S
    q_on, q_off = r - 12, r + 15                   # 90 ms at 300 Hz
    scores = np.tile([0.9, 0.05, 0.03, 0.01, 0.01], (40, 1))
    narrow = Beats(fs=300.0, r_peak=r, qrs_onset=q_on, qrs_offset=q_off)
    assert table_classes(scores, narrow)[20] == "S"
    q_off = q_off.copy()
    q_off[20] = r[20] + 36                         # 160 ms: 70 ms wider than the rest
    wide = Beats(fs=300.0, r_peak=r, qrs_onset=q_on, qrs_offset=q_off)
    got = table_classes(scores, wide)
    assert got[20] == "V" and set(np.delete(got, 20)) == {"N"}
    # Beat times alone (no QRS measured): the rhythm revision only.
    assert table_classes(scores, Beats(fs=300.0, r_peak=r))[20] == "S"


def test_a_model_without_table_head_says_so(tmp_path, monkeypatch):
    import shutil

    from typer.testing import CliRunner

    from ecgtool.cli import app
    from ecgtool.ml.classify import classify_table
    from ecgtool.ml.model_io import default_model_dir, load_model

    old = tmp_path / "old"
    shutil.copytree(default_model_dir(), old)
    (old / "table.npz").unlink()
    with pytest.raises(EcgToolError, match="cannot label a beats table"):
        classify_table(Beats(fs=360.0, r_peak=np.arange(5) * 300), load_model(old))
    run = CliRunner().invoke
    beats = run(app, ["detect", "sample:119", "--out", "-", "-q"]).stdout
    res = run(app, ["classify", "-", "--model", str(old)], input=beats)
    assert res.exit_code == 1 and res.stdout == "" and "cannot label a beats table" in res.stderr
    (old / "table.npz").write_bytes(b"\x01junk")
    with pytest.raises(EcgToolError, match="beats-table head is corrupt"):
        load_model(old)
    # A head fitted on an earlier version's measures leaves the network usable.
    import ecgtool.ml.table_head as th

    stale = TableHead(np.zeros((3, 5)), np.zeros(5), np.ones(5))
    monkeypatch.setattr(th, "TABLE_FEATURES", TABLE_FEATURES[:3])
    (old / "table.npz").write_bytes(stale.to_bytes())
    monkeypatch.undo()
    clf = load_model(old)
    assert clf.table is None and clf.params is not None
    with pytest.raises(EcgToolError, match="fitted by an earlier version: retrain"):
        classify_table(Beats(fs=360.0, r_peak=np.arange(5) * 300), clf)


def test_the_whole_pipeline_chains_through_stdin_and_stdout(tmp_path):
    # convert --out - | detect - --fs 360 --out - | classify - --out - | rhythm - --out -
    import csv
    import io

    from typer.testing import CliRunner

    from ecgtool.cli import app

    run = CliRunner().invoke
    signal = run(app, ["convert", "sample:208", "--out", "-", "-q"])
    assert signal.exit_code == 0
    beats = run(app, ["detect", "-", "--fs", "360", "--out", "-", "-q"], input=signal.stdout)
    assert beats.exit_code == 0
    labelled = run(app, ["classify", "-", "--out", "-"], input=beats.stdout)
    assert labelled.exit_code == 0, labelled.output
    assert "labelling beats from the beats table alone" in labelled.stderr
    rows = list(csv.DictReader(io.StringIO(labelled.stdout)))
    assert len(rows) == beats.stdout.count("\n") - 1
    assert {"aami", "symbol", "p_V", "anomaly"} <= set(rows[0])
    assert sum(r["aami"] == "V" for r in rows) > 500  # 208 holds 992 V beats
    episodes = run(app, ["rhythm", "-", "--out", "-", "-q"], input=labelled.stdout)
    assert episodes.exit_code == 0 and "trigeminy" in episodes.stdout
    # The same table into a store: beats and labels, no signal.
    table = tmp_path / "beats.csv"
    table.write_text(beats.stdout)
    res = run(app, ["classify", str(table), "--out", str(tmp_path / "l.h5"), "-q"])
    assert res.exit_code == 0, res.output
    import h5py

    with h5py.File(tmp_path / "l.h5") as f:
        (g,) = f["records"].values()
        assert "signal" not in g and g.attrs["fs"] == 360.0 and "aami" in g["beats"]


def test_bad_beats_tables_get_one_line_errors():
    from typer.testing import CliRunner

    from ecgtool.cli import app

    run = CliRunner().invoke
    for table, message in (("record,r_peak,time_s\n", "-: the beats table holds no beats"),
                           ("record,r_peak,time_s\na,180,0.5\na,x,1.0\n",
                            "-: the beats table's r_peak column is missing, not numeric")):
        for cmd in (["classify", "-"], ["rhythm", "-"]) if "x" not in table else (
                ["classify", "-"],):
            res = run(app, cmd, input=table)
            assert res.exit_code == 1 and res.stdout == "", (cmd, res.output)
            assert message in res.stderr and "Traceback" not in res.stderr, res.stderr
    # Beat times float() reads but no beat has: not a number, infinite, negative.
    for bad in ("nan", "inf", "-3"):
        for cmd in (["rhythm", "-"], ["diagnose", "-"], ["classify", "-"]):
            res = run(app, cmd, input=f"time_s\n0.5\n{bad}\n1.5\n")
            assert res.exit_code == 1 and res.stdout == "", (cmd, res.output)
            assert f"line 3: time_s '{bad}' is not a time" in res.stderr, res.stderr


def test_a_beats_table_needs_only_the_table_head(tmp_path):
    # Labelling a table reads the card and table.npz, not the network's
    # weights (nor builds the network): damaged weights do not stop it.
    import shutil

    from typer.testing import CliRunner

    from ecgtool.cli import app
    from ecgtool.ml.model_io import default_model_dir

    model = tmp_path / "m"
    shutil.copytree(default_model_dir(), model)
    (model / "params.msgpack").write_bytes(b"\x01junk")
    run = CliRunner().invoke
    beats = run(app, ["detect", "sample:119", "--out", "-", "-q"]).stdout
    table = run(app, ["classify", "-", "--model", str(model), "-q"], input=beats)
    assert table.exit_code == 0 and table.stdout.count("\n") > 1900, table.output
    signal = run(app, ["classify", "sample:119", "--model", str(model), "-q"])
    assert signal.exit_code == 1 and "model parameters are corrupt" in signal.stderr
