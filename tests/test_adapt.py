"""Domain-adversarial adaptation: gradient reversal, a short run, bad targets."""

import json
import shutil

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from ecgtool.cli import app  # noqa: E402
from ecgtool.io.records import sample_path  # noqa: E402
from ecgtool.ml.dann import DannConfig, adapt, grad_reverse  # noqa: E402
from ecgtool.ml.input_pipeline import detected_dataset, reference_dataset  # noqa: E402
from ecgtool.ml.model_io import load_model  # noqa: E402
from ecgtool.signal.detect import detect_r_peaks  # noqa: E402


def test_gradient_reversal_flips_the_sign():
    f = lambda x: jnp.sum(jnp.sin(x) * 3.0)  # noqa: E731
    x = jnp.array([0.1, 0.7, -1.2])
    plain = jax.grad(f)(x)
    reversed_ = jax.grad(lambda v: f(grad_reverse(v, 0.5)))(x)
    np.testing.assert_allclose(reversed_, -0.5 * plain, rtol=1e-6)
    # Forward is the identity; a numeric derivative agrees with the plain one.
    np.testing.assert_array_equal(grad_reverse(x, 0.5), x)
    eps = 1e-3
    numeric = (f(x + jnp.array([eps, 0, 0])) - f(x - jnp.array([eps, 0, 0]))) / (2 * eps)
    assert float(numeric) == pytest.approx(float(plain[0]), rel=1e-3)


def test_the_domain_head_sees_the_beat_shape_not_the_rr_features():
    from ecgtool.ml.dann import DannModel

    m = DannModel()
    rng = np.random.default_rng(0)
    waves = jnp.asarray(rng.normal(size=(4, 96, 2)), jnp.float32)
    rr = jnp.asarray(rng.uniform(0.5, 1.5, size=(4, 6)), jnp.float32)
    p = m.init(jax.random.PRNGKey(0), waves, rr)
    # lam=1: a zero reversal weight would zero every gradient through the head.
    dom = lambda w, r: jnp.sum(m.apply(p, w, r, 1.0)[1])  # noqa: E731
    label = lambda w, r: jnp.sum(m.apply(p, w, r)[0])  # noqa: E731
    assert float(jnp.abs(jax.grad(dom, argnums=1)(waves, rr)).max()) == 0.0
    assert float(jnp.abs(jax.grad(dom, argnums=0)(waves, rr)).max()) > 0.0
    assert float(jnp.abs(jax.grad(label, argnums=1)(waves, rr)).max()) > 0.0


def test_a_short_adaptation_lowers_the_label_loss(rec119, rec208):
    # Source: 119 (labelled); target: 208's second lead, unlabelled. Starting
    # from random weights (hence a from-scratch learning rate), 300 steps must
    # teach the label head something.
    from ecgtool.io.wfdbfiles import read_wfdb
    from ecgtool.ml.models import BeatClassifier
    from ecgtool.ml.train import TrainConfig

    src = reference_dataset(rec119)
    v1 = read_wfdb(sample_path("208"), channel="V1")
    tgt = detected_dataset(v1, detect_r_peaks(v1.signal, v1.fs))
    cfg = TrainConfig()
    init = BeatClassifier().init(jax.random.PRNGKey(1), src.waves[:2], src.rr[:2])
    res = adapt(src, tgt, init, {"channels": cfg.channels, "kernels": cfg.kernels,
                                 "hidden": cfg.hidden, "dropout": cfg.dropout},
                DannConfig(steps=300, batch_size=64, learning_rate=1e-3))
    first, last = res.history[0]["label_loss"], res.history[-1]["label_loss"]
    assert last < 0.7 * first
    assert 0.0 <= res.history[-1]["domain_acc"] <= 1.0
    # The result is a classifier like any other.
    assert set(res.params["params"]) == {"encoder", "head"}


def test_adapt_cli_errors(tmp_path):
    r = CliRunner().invoke(app, ["adapt", "--source", "sample:119", "--source-records", "all",
                                 "--target", str(tmp_path / "nothing"), "--out",
                                 str(tmp_path / "m")])
    assert r.exit_code == 1 and "no such database or path" in r.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    r = CliRunner().invoke(app, ["adapt", "--source", "sample:119", "--source-records", "all",
                                 "--target", str(empty), "--out", str(tmp_path / "m")])
    assert r.exit_code == 1 and "folder holds no records" in r.stderr
    odd = tmp_path / "odd"
    odd.mkdir()
    for ext in ("hea", "dat"):
        shutil.copy(sample_path("119").with_suffix("." + ext), odd / f"119.{ext}")
    hea = odd / "119.hea"
    hea.write_text(hea.read_text().replace("119 2 360 650000", "119 2 20000 650000"))
    r = CliRunner().invoke(app, ["adapt", "--source", "sample:119", "--source-records", "all",
                                 "--target", str(odd), "--out", str(tmp_path / "m")])
    assert r.exit_code == 1 and "20000 Hz is not supported" in r.stderr
    assert not (tmp_path / "m").exists()


def test_adapt_cli_writes_a_usable_model(tmp_path):
    out = tmp_path / "m"
    r = CliRunner().invoke(app, ["adapt", "--source", "sample:119", "--source-records", "all",
                                 "--target", "sample:208", "--target-channel", "V1",
                                 "--steps", "20", "--target-labels", "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    clf = load_model(out)
    a = clf.card["adaptation"]
    assert a["target_records"] == ["208"] and "target_after" in a
    assert CliRunner().invoke(app, ["classify", "sample:119", "--model", str(out),
                                    "-q"]).exit_code == 0


def test_adapt_scores_the_source_on_records_the_model_never_trained_on(tmp_path):
    # A starting model whose validation records include 119: 119 is kept out
    # of the adaptation and scored before and after it.
    init = tmp_path / "init"
    shutil.copytree(load_model(None).path, init)
    card = json.loads((init / "model.json").read_text())
    card["validation_records"] = ["119"]
    (init / "model.json").write_text(json.dumps(card))
    out = tmp_path / "m"
    bundled = str(sample_path("119").parent)  # 119 and 208
    r = CliRunner().invoke(app, ["adapt", "--source", bundled, "--source-records", "all",
                                 "--target", "sample:208", "--target-channel", "V1",
                                 "--init", str(init), "--steps", "20", "--out", str(out)])
    assert r.exit_code == 0, r.output
    a = load_model(out).card["adaptation"]
    assert a["source_records"] == ["208"] and a["source_check_records"] == ["119"]
    assert a["source_before"]["N"]["n"] > 1000 and 0 <= a["source_after"]["macro_f1"] <= 1
    assert "source macro F1 on records no training saw (119, which chose it)" in r.stderr
    # The kept parameters are the last checked ones within a point of the
    # start with no class's sensitivity 10 points down.
    checks = {int(step): (f1, fallen) for step, f1, fallen in a["source_check"]}
    assert checks[0] == (pytest.approx(a["source_before"]["macro_f1"]), [])
    kept = a["kept_step"]
    assert checks[kept][0] >= checks[0][0] - 0.01 and not checks[kept][1]
    assert all(f1 < checks[0][0] - 0.01 or fallen
               for step, (f1, fallen) in checks.items() if step > kept)


def test_the_guard_keeps_no_step_that_lost_a_class(rec119, monkeypatch):
    # Scripted check scores: step 2 holds macro F1 but S sensitivity falls 20
    # points, step 3 loses macro F1, step 4 is fine again but for S.
    import ecgtool.ml.main as ml_main

    def scores(f1, s_se, v_se=0.6):
        return {"macro_f1": f1, "N": {"n": 2000, "se": 0.99}, "S": {"n": 40, "se": s_se},
                "V": {"n": 5, "se": v_se}}

    # V (5 beats) is too rare to judge: its fall at step 1 does not count.
    script = iter([scores(0.80, 0.90), scores(0.80, 0.85, 0.0), scores(0.81, 0.70),
                   scores(0.70, 0.90), scores(0.85, 0.79)])
    monkeypatch.setattr(ml_main, "evaluate_labels", lambda *args: next(script))
    clf = load_model()
    src = reference_dataset(rec119)
    res = adapt(src, src, clf.params, clf.card["config"],
                DannConfig(steps=4, batch_size=16, check_every=1), check=src)
    assert res.kept_step == 1
    assert [c[2] for c in res.source_check] == [[], [], ["S"], [], ["S"]]


def test_the_entropy_term_makes_target_predictions_confident(rec119):
    # From the shipped classifier, 119 (MLII) -> 208's V1: the same run with
    # and without the target-entropy term; only the term differs.
    from ecgtool.io.wfdbfiles import read_wfdb
    clf = load_model()
    src = reference_dataset(rec119)
    v1 = read_wfdb(sample_path("208"), channel="V1")
    tgt = detected_dataset(v1, detect_r_peaks(v1.signal, v1.fs))
    last = {}
    for w in (0.0, 2.0):
        res = adapt(src, tgt, clf.params, clf.card["config"],
                    DannConfig(steps=200, batch_size=64, entropy_weight=w, domain_weight=1.0))
        last[w] = res.history[-1]["target_entropy"]
    assert last[2.0] < 0.8 * last[0.0]


def test_adapt_warns_when_the_domains_were_never_aligned(tmp_path, monkeypatch):
    # A domain head right on every beat to the end passes no gradient back:
    # the encoder was not adapted, whatever the source check says.
    import ecgtool.ml.main as ml_main

    def unaligned(source, target, out, *args, **kwargs):
        return {"domain_accuracy_last_100_steps": 1.0, "target_records": ["s0010_re"],
                "target_beats": 49, "kept_step": 0}

    monkeypatch.setattr(ml_main, "adapt_model", unaligned)
    r = CliRunner().invoke(app, ["adapt", "--source", "sample:119", "--source-records", "all",
                                 "--target", "sample:208", "--steps", "20",
                                 "--out", str(tmp_path / "m"), "-q"])
    assert r.exit_code == 0, r.output
    assert ("told source from target beats apart on 100% of them at the end: DANN did not "
            "align the two (49 target beats from 1 record;") in r.stderr
