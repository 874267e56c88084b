"""The command line, through typer's CliRunner: outputs, and one-line errors on bad input."""

import csv
import io
import json
import os
import shutil

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from ecgtool.beats.labels import SYMBOL_TO_AAMI
from ecgtool.beats.table import BEAT_COLUMNS
from ecgtool.cli import app, main
from ecgtool.io.records import sample_path

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _one_line_error(result, *words):
    assert result.exit_code == 1, result.output
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ecgtool: error: "), result.stderr
    assert "Traceback" not in result.output
    for w in words:
        assert w in err[0], err[0]


def _copy(tmp_path, name="119"):
    for ext in ("hea", "dat", "atr"):
        shutil.copy(sample_path(name).with_suffix("." + ext), tmp_path / f"{name}.{ext}")
    return tmp_path / name


def test_a_nan_run_in_a_beats_table_is_unreadable_time_not_a_pause(rec119, tmp_path):
    # Through a beats table (detect --out - | rhythm -) the signal is gone:
    # a 5-s NaN run once read as a 6.7-s pause and an abnormal verdict. The
    # table leaves the R-R interval across it empty, and rhythm and diagnose
    # take that as unreadable time, as they do with the signal.
    x = rec119.signal[: 360 * 120].copy()
    x[360 * 30:360 * 35] = np.nan
    src = tmp_path / "gap.csv"
    src.write_text("ecg\n" + "\n".join("nan" if np.isnan(v) else f"{v:.4f}" for v in x) + "\n")
    table = run("detect", src, "--fs", "360", "--out", "-", "-q")
    assert table.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    empty = [i for i, row in enumerate(rows) if row["rr_prev_ms"] == ""]
    assert len(empty) == 2 and float(rows[empty[1]]["time_s"]) > 35.0  # the first beat, and after the gap
    assert rows[empty[1] - 1]["rr_next_ms"] == ""
    episodes = runner.invoke(app, ["rhythm", "-", "-q"], input=table.stdout)
    kinds = [row["rhythm"] for row in csv.DictReader(io.StringIO(episodes.stdout))]
    assert "noise" in kinds and "pause" not in kinds
    for args in (["-"], [str(src), "--fs", "360"]):
        verdict = runner.invoke(app, ["diagnose", *args, "--no-classify", "-q"], input=table.stdout)
        report = json.loads(verdict.stdout.splitlines()[0])
        assert report["pauses"] == 0 and report["noise_pct"] > 3, args
    # The gap survives a store without its signal, read back.
    from ecgtool.io import store

    out = tmp_path / "b.h5"
    assert run("detect", src, "--fs", "360", "--no-signal", "--out", out, "-q").exit_code == 0
    with store.open_store(str(out)) as f:
        beats = store.read_beats(f, "gap", str(out))
    assert np.flatnonzero(beats.gap_before).tolist() == [empty[1]]


def test_detect_csv_to_stdout():
    r = run("detect", "sample:119")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert list(rows[0]) == ["record"] + list(BEAT_COLUMNS)
    assert 1980 <= len(rows) <= 1995 and rows[0]["record"] == "119"
    assert "beats in 1 record" in r.stderr


def test_detect_store_and_evaluate_it(tmp_path):
    out = tmp_path / "beats.h5"
    r = run("detect", "--sample", "--out", out, "--jobs", 2)
    assert r.exit_code == 0, r.output
    with h5py.File(out) as f:
        assert f.attrs["format"].decode() == "ecgtool-store"  # fixed-length UTF-8
        assert sorted(f["records"]) == ["119", "208"]
        g = f["records/208"]
        assert g.attrs["fs"] == 360.0 and g["signal"].shape == (650000, 1)
        assert [c.decode() for c in g["beats"].attrs["columns"]] == list(BEAT_COLUMNS)
        assert 2930 < g["beats/r_peak"].shape[0] < 2960
    r = run("evaluate", "--sample", "--beats", out, "--out", tmp_path / "s.json")
    assert r.exit_code == 0, r.output
    assert "gross" in r.stdout
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["gross"]["gross"]["se"] > 0.995 and s["gross"]["gross"]["ppv"] > 0.997
    assert "classes" not in s
    # The same beats as a CSV table score the same; a record it lacks is named.
    table = tmp_path / "beats.csv"
    assert run("detect", "--sample", "--out", table, "-q").exit_code == 0
    r = run("evaluate", "--sample", "--beats", table, "--out", tmp_path / "t.json")
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "t.json").read_text())["gross"] == s["gross"]
    _one_line_error(run("evaluate", _copy(tmp_path, "208"), "--beats", tmp_path / "none.csv"),
                    "no such file")


def test_detector_settings_from_the_command_line(tmp_path):
    # Many of 119's PVCs come within 0.6 s of the beat before them: a 600-ms
    # refractory period hides them, and the store says which settings ran.
    default = run("detect", "sample:119", "-q")
    out = tmp_path / "b.h5"
    slow = run("detect", "sample:119", "-q", "--detector", "refractory_ms=600",
               "--detector", "split_rule=off", "--out", out)
    assert default.exit_code == 0 and slow.exit_code == 0, slow.output
    n_default = len(default.stdout.splitlines()) - 1
    with h5py.File(out) as f:
        g = f["records/119/beats"]
        assert n_default - g["r_peak"].shape[0] > 150
        g_count = g["r_peak"].shape[0]
        assert json.loads(g.attrs["detector_settings"]) == {"refractory_ms": 600.0,
                                                            "split_rule": "off"}
    streamed = runner.invoke(app, ["detect", "-", "--fs", "360", "-q", "--detector",
                                   "refractory_ms=600"],
                             input="\n".join(f"{v:.4f}" for v in _signal119()[:36000]) + "\n")
    assert streamed.exit_code == 0, streamed.output
    # The commands that detect before they label use the same settings.
    same = ["--detector", "refractory_ms=600", "--detector", "split_rule=off"]
    labelled = run("classify", "sample:119", "-q", *same)
    assert labelled.exit_code == 0, labelled.output
    assert len(labelled.stdout.splitlines()) - 1 == g_count
    for cmd in ("rhythm", "diagnose"):
        r = run(cmd, "sample:119", "-q", *same, "--out", tmp_path / f"{cmd}.h5")
        assert r.exit_code == 0, r.output
        with h5py.File(tmp_path / f"{cmd}.h5") as f:
            assert f["records/119/beats/r_peak"].shape[0] == g_count
            assert "split_rule" in f["records/119/beats"].attrs["detector_settings"].decode()
    scored = run("evaluate", "sample:119", "-q", *same, "--out", tmp_path / "s.json")
    assert scored.exit_code == 0, scored.output
    gross = json.loads((tmp_path / "s.json").read_text())["gross"]["gross"]
    assert gross["tp"] + gross["fp"] == g_count
    for bad, words in ((["refractory=1"], ["unknown detector setting", "refractory_ms"]),
                       (["threshold=abc"], ["is not a number"]),
                       (["threshold=inf"], ["finite"]), (["lowpass_ms=0"], ["above 0"]),
                       (["split_rule=maybe"], ["'on' or 'off'"]),
                       (["refractory_ms"], ["--detector wants NAME=VALUE"])):
        _one_line_error(run("detect", "sample:119", "--detector", *bad), *words)


def test_qrs_network_chosen_on_the_command_line(tmp_path):
    from ecgtool.signal.qrsnet import DEFAULT_WEIGHTS, load_weights, save_weights

    def table(*args, **kw):
        r = runner.invoke(app, ["detect", *map(str, args), "-q"], **kw)
        assert r.exit_code == 0, r.output
        return {k: np.array([float(row[k] or "nan") for row in csv.DictReader(
            io.StringIO(r.stdout))]) for k in ("r_peak", "qrs_onset", "qrs_ms")}

    default = table("sample:119")
    slope = table("sample:119", "--qrs-net", "none")
    np.testing.assert_array_equal(slope["r_peak"], default["r_peak"])
    assert np.mean(slope["qrs_onset"] != default["qrs_onset"]) > 0.5
    # Weights whose last bias puts the onset 20 ms earlier and the offset
    # 20 ms later (outputs are ms / 50) widen every QRS by 40 ms.
    params = dict(load_weights(DEFAULT_WEIGHTS))
    params["dense1_bias"] = params["dense1_bias"] + np.array([-0.4, 0.4], np.float32)
    wide = tmp_path / "wide.npz"
    save_weights(params, {"trained_on": "test"}, wide)
    got = table("sample:119", "--qrs-net", wide)
    # (nanmedian: the last beat's QRS runs past the end of the record, no duration)
    assert abs(np.nanmedian(got["qrs_ms"] - default["qrs_ms"]) - 40) < 3
    text = "\n".join(f"{v:.4f}" for v in _signal119()[:36000]) + "\n"
    streamed = table("-", "--fs", "360", "--qrs-net", wide, input=text)
    n = streamed["r_peak"].size
    assert abs(np.median(streamed["qrs_ms"] - default["qrs_ms"][:n]) - 40) < 3
    # Every command that detects delineates with it, and a store keeps it.
    out = tmp_path / "r.h5"
    assert run("rhythm", "sample:119", "-q", "--qrs-net", wide, "--out", out).exit_code == 0
    with h5py.File(out) as f:
        g = f["records/119/beats"]
        np.testing.assert_allclose(g["qrs_ms"][:], got["qrs_ms"], atol=0.1)
        assert str(wide) in g.attrs["detector_settings"].decode()
    (tmp_path / "text.npz").write_text("weights")
    np.savez(tmp_path / "part.npz", conv0_kernel=np.zeros((3, 2, 4), np.float32))
    for path, words in ((tmp_path / "none.npz", ["none.npz", "no such QRS network file"]),
                        (tmp_path / "text.npz", ["text.npz", "not a QRS network file"]),
                        (tmp_path / "part.npz", ["part.npz", "incomplete"])):
        _one_line_error(run("classify", "sample:119", "--qrs-net", path), *words)
    # The P-wave network likewise; QRS weights are not P-wave weights.
    r = run("detect", "sample:119", "-q", "--p-net", "none")
    assert r.exit_code == 0, r.output
    p_slope = [row["p_peak"] for row in csv.DictReader(io.StringIO(r.stdout))]
    p_default = [row["p_peak"] for row in csv.DictReader(io.StringIO(run(
        "detect", "sample:119", "-q").stdout))]
    assert len(p_slope) == len(p_default) and p_slope != p_default
    _one_line_error(run("detect", "sample:119", "--p-net", wide), "wide.npz", "P-wave",
                    "wrong shapes")


def _signal119():
    from ecgtool.io.records import read_sample

    return read_sample("119").signal


def test_evaluate_classes_from_a_classified_store(tmp_path):
    out = tmp_path / "c.h5"
    assert run("classify", "sample:208", "--out", out).exit_code == 0
    r = run("evaluate", "sample:208", "--beats", out, "--classes", "--out", tmp_path / "s.json")
    assert r.exit_code == 0, r.output
    assert "V Se%" in r.stdout and "confusion" in r.stdout
    # Labels from the store: no classifier ran, so no warning about its training records.
    assert "trained on records" not in r.stderr
    text = (tmp_path / "s.json").read_text()
    # Standard JSON: 208 has no Q beat, whose Se is unmeasured (null, not NaN).
    assert "NaN" not in text
    g = json.loads(text)["classes"]["gross"]["gross"]
    assert g["V"]["n"] == 992 and g["V"]["se"] > 0.9 and g["V"]["ppv"] > 0.9
    assert np.array(g["confusion"]).shape == (6, 6)
    # EC57's VEB figures: the same sensitivity, and a +P that forgives the
    # fusion beats called V (208 holds 373 fusion beats).
    cm = np.array(g["confusion"])
    assert "EC57 ectopic beats" in r.stdout and g["ec57"]["veb_se"] == g["V"]["se"]
    assert g["ec57"]["veb_fp"] == cm[0, 2] + cm[1, 2] + cm[5, 2]
    assert g["ec57"]["veb_ppv"] >= g["V"]["ppv"]
    # The store given as the input scores its own beats and labels the same way.
    r2 = run("evaluate", out, "--classes", "--out", tmp_path / "s2.json")
    assert r2.exit_code == 0 and "trained on records" not in r2.stderr
    assert json.loads((tmp_path / "s2.json").read_text())["classes"]["gross"]["gross"] == g
    r = run("evaluate", "sample:208", "--classes", "--model", tmp_path / "nomodel")
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1


def test_evaluate_rhythm_episodes(tmp_path):
    # 119 holds 37 reference bigeminy episodes; 208 none.
    r = run("evaluate", "--sample", "--rhythm", "bigeminy", "--out", tmp_path / "r.json")
    assert r.exit_code == 0, r.output
    assert "trained on records named 119, 208" in r.stderr
    d = json.loads((tmp_path / "r.json").read_text())
    assert [x["record"] for x in d["records"]] == ["119", "208"]
    assert d["gross"]["duration_se"] > 0.8 and d["gross"]["episode_se"] > 0.9
    # From the annotation file's beat times and labels: no classifier, no warning.
    r = run("evaluate", "--sample", "--rhythm", "trigeminy", "--ann", "atr")
    assert r.exit_code == 0 and "trigeminy:" in r.stdout and "trained" not in r.stderr
    r = run("evaluate", "--sample", "--ann", "qrs")
    assert r.exit_code == 1 and "annotation file not found" in r.stderr
    # --min-episode leaves the short episodes out of the counts, not of the time.
    counts = {}
    for m in ("0", "8"):
        r = run("evaluate", "sample:119", "--rhythm", "bigeminy", "--ann", "atr",
                "--min-episode", m, "--out", tmp_path / f"m{m}.json")
        assert r.exit_code == 0, r.output
        counts[m] = json.loads((tmp_path / f"m{m}.json").read_text())["gross"]
    assert 0 < counts["8"]["ref_episodes"] < counts["0"]["ref_episodes"] == 37
    assert counts["8"]["duration_se"] == counts["0"]["duration_se"]


def test_detect_csv_file_and_folder_input(tmp_path):
    d = tmp_path / "db"
    d.mkdir()
    _copy(d)
    r = run("detect", d, "--out", tmp_path / "b.csv", "--quiet")
    assert r.exit_code == 0 and r.stderr == ""
    assert (tmp_path / "b.csv").read_text().count("\n") > 1980


def test_convert_then_detect_from_csv_via_stdin(tmp_path):
    r = run("convert", "sample:119", "--out", "-")
    assert r.exit_code == 0
    head = r.stdout.splitlines()[:2]
    from ecgtool.io.records import read_sample

    assert head[0] == "time_s,MLII" and head[1].startswith("0.000000,")
    assert float(head[1].split(",")[1]) == pytest.approx(read_sample("119").signal[0])
    csv_path = tmp_path / "119.csv"
    csv_path.write_text(r.stdout)
    r2 = runner.invoke(app, ["detect", "-", "--fs", "360"], input=csv_path.read_text())
    assert r2.exit_code == 0, r2.output
    assert 1980 <= r2.stdout.count("\n") - 1 <= 1995
    # The time column carries the rate: read back, the file needs no --fs.
    r3 = runner.invoke(app, ["detect", str(csv_path), "--out", "-"])
    assert r3.exit_code == 0, r3.output
    assert r3.stdout.count("\n") == r2.stdout.count("\n")


def test_a_record_is_written_to_csv_a_block_at_a_time(tmp_path, monkeypatch):
    # Blocks of 1000 samples here: the lines and times run on unbroken.
    from ecgtool.cli import convert as convert_module
    from ecgtool.io.records import read_sample

    monkeypatch.setattr(convert_module, "CSV_BLOCK", 1000)
    out = tmp_path / "x.csv"
    assert run("convert", "sample:119", "--end", "10", "--out", out, "-q").exit_code == 0
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    assert table.shape == (3600, 2)
    np.testing.assert_allclose(table[:, 0], np.arange(3600) / 360.0, atol=1e-6)
    np.testing.assert_allclose(table[:, 1], read_sample("119").signal[:3600], atol=1e-4)


def test_names_with_commas_survive_a_csv_pipeline(tmp_path):
    # A file (or lead) named with a comma is one quoted CSV field: unquoted,
    # it shifted every column and rhythm read r_peak as times.
    import wfdb

    x = wfdb.rdrecord(str(sample_path("119")), sampto=36000).p_signal[:, 0]
    src = tmp_path / "pat 1, visit 2.csv"
    src.write_text('"ECG, lead II",other\n' + "".join(f"{v:.4f},0\n" for v in x))
    beats = run("detect", src, "--fs", "360", "--column", "ECG, lead II", "--out", "-", "-q")
    assert beats.exit_code == 0, beats.output
    rows = list(csv.DictReader(io.StringIO(beats.stdout)))
    assert {r["record"] for r in rows} == {"pat 1, visit 2"} and len(rows) > 100
    episodes = runner.invoke(app, ["rhythm", "-", "-q"], input=beats.stdout)
    assert episodes.exit_code == 0, episodes.output
    ep = list(csv.DictReader(io.StringIO(episodes.stdout)))
    assert {r["record"] for r in ep} == {"pat 1, visit 2"}
    assert float(ep[-1]["end_s"]) == pytest.approx(float(rows[-1]["time_s"]), abs=1e-3)
    lead = run("convert", src, "--fs", "360", "--out", "-", "-q")
    assert lead.stdout.splitlines()[0] == 'time_s,"ECG, lead II"'


def test_convert_store_keeps_all_leads(tmp_path):
    out = tmp_path / "s.h5"
    assert run("convert", "sample:208", "--channel", "all", "--out", out).exit_code == 0
    with h5py.File(out) as f:
        g = f["records/208"]
        assert [x.decode() for x in g.attrs["leads"]] == ["MLII", "V1"] and g["signal"].shape == (650000, 2)
        assert g["annotations/symbol"].shape[0] > 3000
        assert len(g.attrs["sha256"]) == 64
    # The store is an input like any other.
    r = run("detect", out, "--out", "-")
    assert r.exit_code == 0 and r.stdout.count("\n") > 2900


def test_missing_dat(tmp_path):
    base = _copy(tmp_path)
    (tmp_path / "119.dat").unlink()
    out = tmp_path / "o.h5"
    _one_line_error(run("detect", base, "--out", out), "119.hea", "119.dat is missing")
    assert list(tmp_path.glob("o.h5*")) == [] and list(tmp_path.glob(".o.h5*")) == []
    # A store of an earlier run is not lost to a run that writes nothing.
    assert run("detect", "sample:208", "--out", out, "-q").exit_code == 0
    before = out.read_bytes()
    _one_line_error(run("detect", base, "--out", out), "119.hea", "119.dat is missing")
    assert out.read_bytes() == before


def test_truncated_dat(tmp_path):
    base = _copy(tmp_path)
    data = (tmp_path / "119.dat").read_bytes()
    (tmp_path / "119.dat").write_bytes(data[:1000])
    _one_line_error(run("detect", base, "--out", tmp_path / "o.csv"), "119.hea", "truncated")
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("line,words", [("119 2 0 650000", ["sampling rate"]),
                                        ("this is not a header", ["unreadable header"])])
def test_bad_header(tmp_path, line, words):
    base = _copy(tmp_path)
    hea = tmp_path / "119.hea"
    hea.write_text("\n".join([line] + hea.read_text().splitlines()[1:]) + "\n")
    _one_line_error(run("detect", base), "119.hea", *words)


def test_unsupported_rate_in_header(tmp_path):
    base = _copy(tmp_path)
    hea = tmp_path / "119.hea"
    hea.write_text(hea.read_text().replace("119 2 360 650000", "119 2 40000 650000"))
    _one_line_error(run("detect", base), "119", "40000 Hz is not supported")


def test_non_numeric_csv(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("ecg\n0.1\noops\n")
    _one_line_error(run("detect", p, "--fs", 250), "x.csv", "non-numeric value on line 3")
    # Binary data (a .dat renamed, a compressed file) is named as such, not
    # echoed to the terminal as a "value".
    p.write_bytes(sample_path("119").with_suffix(".dat").read_bytes()[:3000])
    _one_line_error(run("detect", p, "--fs", 250), "x.csv", "binary data, not text")


def test_binary_data_on_stdin_is_named_as_such(monkeypatch, capsys):
    # A UTF-8 locale's stdin decodes strictly: the program reads it with
    # escapes, so that the reader can say what it got.
    data = sample_path("119").with_suffix(".dat").read_bytes()[:3000]
    for command in ("detect", "rhythm"):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
        assert main([command, "-", "--fs", "250"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "binary data, not text" in err[0], err


def test_mat_without_rate_or_not_a_mat(tmp_path):
    import scipy.io

    p = tmp_path / "x.mat"
    scipy.io.savemat(p, {"val": np.zeros((1, 5000))})
    _one_line_error(run("detect", p, "--out", tmp_path / "o.csv"), "x.mat", "give --fs")
    p.write_bytes(b"\x00" * 100)
    _one_line_error(run("detect", p, "--fs", 250, "--out", tmp_path / "o.csv"), "x.mat",
                    "not a readable MATLAB file")
    assert not (tmp_path / "o.csv").exists()


def test_unknown_channel():
    _one_line_error(run("detect", "sample:119", "--channel", "V9"), "119.hea", "V9")


def test_unwritable_output(tmp_path):
    _one_line_error(run("detect", "sample:119", "--out", tmp_path / "no" / "dir" / "b.h5"),
                    "folder does not exist")


def test_flat_csv_gives_empty_table_and_warning(tmp_path):
    p = tmp_path / "flat.csv"
    p.write_text("ecg\n" + "0\n" * 5000)
    r = run("detect", p, "--fs", 250)
    assert r.exit_code == 0
    assert r.stdout.strip() == ",".join(["record"] + list(BEAT_COLUMNS))
    assert "warning: flat: signal is flat" in r.stderr


def test_one_bad_input_does_not_stop_the_batch(tmp_path):
    out = tmp_path / "b.h5"
    r = run("detect", "sample:119", tmp_path / "nothere", "--out", out)
    assert r.exit_code == 1 and "nothere.hea: no such record" in r.stderr
    with h5py.File(out) as f:
        assert list(f["records"]) == ["119"]
        assert f["errors/record"].asstr()[...].tolist() == ["nothere"]


def test_no_input():
    _one_line_error(run("detect"), "no input")


def test_main_wrapper_exit_codes(capsys):
    assert main(["detect", "sample:119", "--channel", "V9"]) == 1
    assert "no lead named" in capsys.readouterr().err
    # A superscript passes str.isdigit() and fails int(): a name, not an index.
    assert main(["detect", "sample:119", "--channel", "\u00b2"]) == 1
    assert "no lead named" in capsys.readouterr().err
    assert main(["--version"]) == 0


def test_a_writers_warning_is_one_line_too(tmp_path, capsys):
    # Warnings from outside a record's job (here the WFDB writer's) read as
    # the jobs' do, without Python's source line under them.
    import wfdb

    from ecgtool.io.records import read_sample

    wfdb.wrsamp("u", fs=360, units=["mV"], sig_name=["II"], fmt=["16"],
                p_signal=read_sample("119").signal[:3600, None], write_dir=str(tmp_path))
    words = [(1 << 10) | 10, (42 << 10) | 300, (1 << 10) | 300, 0]
    (tmp_path / "u.atr").write_bytes(np.array(words, "<u2").tobytes())
    assert main(["convert", str(tmp_path / "u"), "--out", f"{tmp_path / 'out'}/", "-q"]) == 0
    err = capsys.readouterr().err
    assert err == "ecgtool: warning: u.atr: 1 annotations of types WFDB does not name left out\n"


def test_nan_csv_is_handled(tmp_path):
    from ecgtool.io.records import read_sample

    x = read_sample("119").signal[:36000].copy()
    x[1000:1500] = np.nan
    p = tmp_path / "n.csv"
    p.write_text("ecg\n" + "\n".join("nan" if v != v else f"{v:.3f}" for v in x) + "\n")
    r = run("detect", p, "--fs", 360)
    assert r.exit_code == 0
    assert 100 < r.stdout.count("\n") < 125


def test_classify_adds_label_columns(tmp_path):
    r = run("classify", "sample:119", "--out", "-")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert list(rows[0])[-8:] == ["aami", "symbol", "p_N", "p_S", "p_V", "p_F", "p_Q",
                                  "anomaly"]
    assert {row["aami"] for row in rows} <= set("NSVFQ")
    # Each named symbol belongs to its beat's AAMI class.
    assert all(SYMBOL_TO_AAMI[row["symbol"]] == row["aami"] for row in rows if row["symbol"])
    assert sum(row["symbol"] == "V" for row in rows) > 300
    assert sum(row["anomaly"] == "true" for row in rows) > 300  # 119 has 444 PVCs


def test_beats_as_wfdb_annotation_files(tmp_path):
    # For PhysioNet's tools (rdann, bxb): the beats of each record, the
    # detected ones as N, the classified ones by their symbol or class.
    import wfdb

    from ecgtool.beats.labels import CLASS_SYMBOL

    r = run("classify", "sample:119", "--annotations", tmp_path, "--out", "-")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    ann = wfdb.rdann(str(tmp_path / "119"), "ecgtool")
    assert ann.sample.tolist() == [int(row["r_peak"]) for row in rows] and ann.fs == 360
    assert ann.symbol == [row["symbol"] or CLASS_SYMBOL[row["aami"]] for row in rows]
    assert run("detect", "sample:119", "--annotations", tmp_path, "-q").exit_code == 0
    assert set(wfdb.rdann(str(tmp_path / "119"), "ecgtool").symbol) == {"N"}
    r = run("detect", "sample:119", "--annotations", tmp_path / "nope", "-q")
    assert r.exit_code == 1 and "folder does not exist" in r.output
    # A record named as no WFDB record may be (a CSV file's name) still gets
    # its file (wfdb.wrann refused the name: an internal error).
    odd = tmp_path / "pat 1, visit 2.csv"
    odd.write_text("".join(f"{v:.4f}\n" for v in
                           wfdb.rdrecord(str(sample_path("119")), sampto=7200).p_signal[:, 0]))
    r = run("detect", odd, "--fs", "360", "--annotations", tmp_path, "-q")
    assert r.exit_code == 0, r.output
    from ecgtool.io.wfdbfiles import read_annotations

    assert len(read_annotations(tmp_path / "pat 1, visit 2", "ecgtool").sample) > 15
    # ... and evaluate scores such a file as it scores ecgtool's own beats.
    for ext in ("hea", "dat", "atr"):
        shutil.copy(sample_path("119").with_suffix("." + ext), tmp_path)
    assert run("classify", tmp_path / "119", "--annotations", tmp_path, "-q",
               "--out", tmp_path / "c.h5").exit_code == 0
    from_file = run("evaluate", tmp_path / "119", "--ann", "ecgtool", "--classes")
    direct = run("evaluate", tmp_path / "119", "--beats", tmp_path / "c.h5", "--classes")
    assert from_file.exit_code == 0 and from_file.stdout == direct.stdout
    r = run("evaluate", tmp_path / "119", "--ann", "qrs")
    assert r.exit_code == 1 and "119.qrs: annotation file not found" in r.output


def test_rhythm_writes_episodes_as_wfdb_rhythm_changes(tmp_path):
    import wfdb

    from ecgtool.rhythm import WFDB_RHYTHM

    r = run("rhythm", "sample:208", "--annotations", tmp_path, "--out", "-")
    assert r.exit_code == 0, r.output
    episodes = list(csv.DictReader(io.StringIO(r.stdout)))
    ann = wfdb.rdann(str(tmp_path / "208"), "ecgtool")
    changes = [(s, a) for s, y, a in zip(ann.sample, ann.symbol, ann.aux_note) if y == "+"]
    rhythms = [e for e in episodes if e["rhythm"] != "noise"]
    assert [a for _, a in changes] == [WFDB_RHYTHM[e["rhythm"]] for e in rhythms]
    assert [s for s, _ in changes] == [round(float(e["start_s"]) * 360) for e in rhythms]
    assert "(T" in {a for _, a in changes} and sum(y == "V" for y in ann.symbol) > 900
    # An unreadable stretch is no rhythm: MIT-BIH marks it with a signal-quality
    # change (~) of subtype -1 (every signal unreadable) and 0 (clean) at its
    # end, which evaluate and --ann read back as unreadable.
    from ecgtool.evaluate import unreadable_spans
    from ecgtool.io.wfdbfiles import read_annotations

    noise = [(round(float(e["start_s"]) * 360), round(float(e["end_s"]) * 360))
             for e in episodes if e["rhythm"] == "noise"]
    marks = [(s, t) for s, y, t in zip(ann.sample, ann.symbol, ann.subtype) if y == "~"]
    assert noise and marks == [m for a, b in noise for m in ((a, -1), (b, 0))]
    assert unreadable_spans(read_annotations(tmp_path / "208", "ecgtool"), 650000) == noise
    # From a classified beats table (a pipeline's line format) the same beats
    # come out: the table's r_peak and time_s give the sampling rate.
    beats = tmp_path / "b.csv"
    assert run("classify", "sample:208", "--out", beats, "-q").exit_code == 0
    (tmp_path / "t").mkdir()
    r = run("rhythm", beats, "--annotations", tmp_path / "t", "-q")
    assert r.exit_code == 0, r.output
    again = wfdb.rdann(str(tmp_path / "t" / "208"), "ecgtool")
    assert again.fs == 360
    assert [(s, y) for s, y in zip(again.sample, again.symbol) if y not in "+~"] == \
        [(s, y) for s, y in zip(ann.sample, ann.symbol) if y not in "+~"]
    lines = beats.read_text().splitlines()
    cells = lines[5].split(",")
    cells[2] = f"{float(cells[2]) + 0.01:.4f}"  # an edited time_s
    lines[5] = ",".join(cells)
    beats.write_text("\n".join(lines) + "\n")
    r = run("rhythm", beats, "--annotations", tmp_path / "t")
    assert r.exit_code == 1 and "no sampling rate" in r.output


def test_rhythm_reads_beat_times_without_sample_positions(tmp_path):
    # Archives keep beat times alone: a table of record,time_s,aami (or a lone
    # time_s column) is a beats table, not a signal, and gives the episodes
    # the full table gives.
    beats = tmp_path / "b.csv"
    assert run("classify", "sample:208", "--out", beats, "-q").exit_code == 0
    rows = list(csv.DictReader(io.StringIO(beats.read_text())))
    full = run("rhythm", beats, "--out", "-", "-q")
    assert full.exit_code == 0, full.output
    short = tmp_path / "times.csv"
    short.write_text("record,time_s,aami\n" + "".join(
        f"{r['record']},{r['time_s']},{r['aami']}\n" for r in rows))
    r = run("rhythm", short, "--out", "-", "-q")
    assert r.exit_code == 0, r.output
    assert r.stdout == full.stdout and "trigeminy" in r.stdout
    alone = tmp_path / "alone.csv"
    alone.write_text("time_s\n" + "".join(f"{r['time_s']}\n" for r in rows))
    r = run("rhythm", alone, "--out", "-", "-q")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[1].startswith("alone,")


def test_rhythm_settings_from_the_command_line():
    # --rhythm-setting changes a rule of the episodes (here what a pause is),
    # in rhythm, diagnose and evaluate --rhythm alike; a bad one is one line.
    def pauses(*more):
        r = run("rhythm", "sample:119", "--ann", "atr", "--out", "-", "-q", *more)
        assert r.exit_code == 0, r.output
        return sum(line.split(",")[3] == "pause" for line in r.stdout.splitlines()[1:])

    assert pauses() == 0 and pauses("--rhythm-setting", "pause_s=1.2") > 0
    assert pauses("--rhythm-setting", "pause_s=1.2", "--window", "40") == \
        pauses("--rhythm-setting", "pause_s=1.2", "--rhythm-setting", "window_beats=40")
    # diagnose counts pauses by its own threshold (-t pause_s); its AF is the episodes'.
    r = run("diagnose", "sample:119", "--ann", "atr", "-q", "--rhythm-setting",
            "af_threshold=0.001")
    assert r.exit_code == 0 and json.loads(r.stdout)["af_burden_pct"] > 20, r.output
    for args, words in ((["rhythm", "--rhythm-setting", "pause=3"], ("unknown rhythm setting",
                                                                    "pause_s")),
                        (["rhythm", "--rhythm-setting", "window_beats=4"], ("8 or more",)),
                        (["diagnose", "--rhythm-setting", "af_min_beats=2.5"],
                         ("af_min_beats", "whole number")),
                        (["evaluate", "--rhythm-setting", "pause_s=3"], ("--rhythm",)),
                        (["plot", "--rhythm-setting", "pause_s=-1"], ("pause_s", "0 or more"))):
        _one_line_error(run(*args, "sample:119"), *words)


def test_bigeminy_from_beat_times_is_not_written_as_ventricular(tmp_path):
    import wfdb

    r = run("rhythm", "sample:119", "--ann", "atr", "--no-ann-labels", "--annotations",
            tmp_path, "-q")
    assert r.exit_code == 0, r.output
    aux = set(wfdb.rdann(str(tmp_path / "119"), "ecgtool").aux_note)
    assert "(BIGEMINY" in aux and "(B" not in aux
    labelled = tmp_path / "l"
    labelled.mkdir()
    assert run("rhythm", "sample:119", "--ann", "atr", "--annotations", labelled,
               "-q").exit_code == 0
    assert "(B" in set(wfdb.rdann(str(labelled / "119"), "ecgtool").aux_note)


def test_a_stretch_the_annotator_marked_unreadable_is_noise_not_a_pause():
    # 208 at 21:11: every signal unreadable for 2.7 s (a noise mark "U"), no
    # beat labelled in it. The beat times alone would read as a 3-s pause.
    r = run("rhythm", "sample:208", "--ann", "atr", "--out", "-", "-q")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    there = [x for x in rows if float(x["start_s"]) < 1273 and float(x["end_s"]) > 1272]
    assert [x["rhythm"] for x in there] == ["noise"]
    assert not [x for x in rows if x["rhythm"] == "pause"]


def test_classify_reuses_a_detect_store(tmp_path):
    beats = tmp_path / "b.h5"
    assert run("detect", "sample:119", "--out", beats, "-q").exit_code == 0
    r = run("classify", beats, "--out", tmp_path / "c.h5", "-q")
    assert r.exit_code == 0, r.output
    with h5py.File(tmp_path / "c.h5") as f:
        g = f["records/119/beats"]
        assert "aami" in g and g["aami"].shape == g["r_peak"].shape
    # Beats found on MLII are not those of another lead: --channel V1 finds
    # them on V1, as from the record itself (it labelled V1's waveform at
    # MLII's beats, with MLII's delineation).
    both, found = tmp_path / "both.h5", tmp_path / "found.h5"
    assert run("convert", "sample:119", "--channel", "all", "--out", both, "-q").exit_code == 0
    assert run("detect", both, "--out", found, "-q").exit_code == 0
    def amplitudes(*args):
        r = run("classify", *args, "--out", "-", "-q")
        assert r.exit_code == 0, r.output
        return np.array([float(row["r_amp_mv"]) for row in csv.DictReader(io.StringIO(r.stdout))])

    v1 = amplitudes(found, "--channel", "V1")
    direct = amplitudes("sample:119", "--channel", "V1")
    # 119's QRS points down in V1, up in MLII (the store's signal is float32,
    # so a few beats may differ from the record read directly).
    assert abs(v1.size - direct.size) <= 5 and np.median(v1) == pytest.approx(np.median(direct))
    assert np.median(v1) < 0 < np.median(amplitudes(found))


def test_classify_reads_the_qrs_durations_a_detect_store_vouches_for(tmp_path, monkeypatch):
    # A store's beats name the QRS network that measured them when it is the
    # shipped one: the classifier reads their durations instead of running
    # it again; beats delineated otherwise are measured again.
    import ecgtool.beats.windows as windows
    from ecgtool.signal.qrsnet import default_weights_id

    shipped, other, labelled = tmp_path / "s.h5", tmp_path / "o.h5", tmp_path / "l.h5"
    assert run("detect", "sample:208", "--out", shipped, "-q").exit_code == 0
    assert run("detect", "sample:208", "--qrs-net", "none", "--out", other, "-q").exit_code == 0
    with h5py.File(shipped) as f, h5py.File(other) as g:
        assert f["records/208/beats"].attrs["qrs_net"].decode() == default_weights_id()
        assert "qrs_net" not in g["records/208/beats"].attrs

    def classes(*args):
        r = run("classify", *args, "-q")
        assert r.exit_code == 0, r.output
        return [row["aami"] for row in csv.DictReader(io.StringIO(r.stdout))]

    direct = classes("sample:208", "--out", "-")
    measured = []
    real = windows.qrs_bounds_net
    monkeypatch.setattr(windows, "qrs_bounds_net",
                        lambda *a, **k: measured.append(1) or real(*a, **k))
    assert classes(shipped, "--out", "-") == direct and not measured
    classes(other, "--out", "-")
    assert measured
    # classify's own store vouches for the durations it was given.
    classes(shipped, "--out", labelled)
    with h5py.File(labelled) as f:
        assert f["records/208/beats"].attrs["qrs_net"].decode() == default_weights_id()
    # So does rhythm's, and a classify from it reads them too.
    rhythm, rhythm_other = tmp_path / "r.h5", tmp_path / "ro.h5"
    assert run("rhythm", "sample:208", "--out", rhythm, "-q").exit_code == 0
    assert run("rhythm", "sample:208", "--qrs-net", "none", "--no-classify",
               "--out", rhythm_other, "-q").exit_code == 0
    with h5py.File(rhythm) as f, h5py.File(rhythm_other) as g:
        assert f["records/208/beats"].attrs["qrs_net"].decode() == default_weights_id()
        assert "qrs_net" not in g["records/208/beats"].attrs
    measured.clear()
    assert classes(rhythm, "--out", "-") == direct and not measured


def test_one_record_name_in_several_stores_and_tables(tmp_path):
    # Record 119 three times: in a store with its signal, in one without, and
    # in a beats table. Each is its own record (119, 119_2, 119_3), read
    # under its name inside its file.
    full, bare, table = tmp_path / "full.h5", tmp_path / "bare.h5", tmp_path / "b.csv"
    for out, *more in ((full,), (bare, "--no-signal"), (table,)):
        assert run("detect", "sample:119", "--out", out, "-q", *more).exit_code == 0
    with h5py.File(full) as f:
        n = f["records/119/beats/r_peak"].shape[0]
    scored = run("evaluate", full, bare, "-q")
    assert scored.exit_code == 0, scored.output
    rows = [line.split() for line in scored.stdout.splitlines()]
    assert [r[0] for r in rows if r and r[0].startswith("119")] == ["119", "119_2"]
    labelled = tmp_path / "c.h5"
    r = run("classify", full, bare, table, "--out", labelled, "-q")
    assert r.exit_code == 0, r.output
    with h5py.File(labelled) as f:
        assert sorted(f["records"]) == ["119", "119_2", "119_3"]
        assert all(f[f"records/{k}/beats/r_peak"].shape[0] == n for k in f["records"])
    r = run("rhythm", full, bare, table, "-q")
    assert [row["record"] for row in csv.DictReader(io.StringIO(r.stdout))][-1] == "119_3"
    # A record that cannot be scored is one error line, whether or not others could.
    _one_line_error(run("evaluate", table), "b.csv", "a beats table, not a signal")
    _one_line_error(run("evaluate", table, "--rhythm", "af"), "b.csv")


def test_a_store_without_signal_reads_as_a_beats_table(tmp_path):
    # detect --no-signal keeps the beats alone: rhythm, diagnose and classify
    # read them as they read the same beats as a CSV table; plot needs the signal.
    store, table = tmp_path / "b.h5", tmp_path / "b.csv"
    assert run("detect", "sample:119", "--no-signal", "--out", store, "-q").exit_code == 0
    assert run("detect", "sample:119", "--out", table, "-q").exit_code == 0
    # The table writes times to 0.1 ms, the store keeps the samples: the
    # confidence and irregularity measures may differ in the last digits, not
    # the episodes.
    def episodes(text):
        return [row[:4] + row[5:6] for row in csv.reader(io.StringIO(text))]

    from_store = run("rhythm", store, "-q")
    assert from_store.exit_code == 0, from_store.output
    assert episodes(from_store.stdout) == episodes(run("rhythm", table, "-q").stdout)
    assert len(episodes(from_store.stdout)) > 10

    def verdict(text):
        r = json.loads(text)
        return r["record"], r["n_beats"], r["verdict"], [f["code"] for f in r["findings"]]

    assert verdict(run("diagnose", store, "-q").stdout) == \
        verdict(run("diagnose", table, "-q").stdout)
    def classes(text):
        rows = list(csv.DictReader(io.StringIO(text)))
        return [(r["r_peak"], r["aami"]) for r in rows]

    labelled = run("classify", store, "--out", "-")
    assert labelled.exit_code == 0 and "beats table alone" in labelled.stderr
    assert classes(labelled.stdout) == classes(run("classify", table, "--out", "-", "-q").stdout)
    _one_line_error(run("plot", store, "--out", tmp_path / "p.png"), "no signal")
    # The store keeps the reference too: its beats are scored as the table's are.
    scored = run("evaluate", store, "--out", tmp_path / "s.json")
    assert scored.exit_code == 0, scored.output
    assert run("evaluate", "sample:119", "--beats", table, "-q").stdout == scored.stdout
    episodes_scored = run("evaluate", store, "--rhythm", "bigeminy")
    assert episodes_scored.exit_code == 0 and "episode Se" in episodes_scored.stdout
    unclassified = run("evaluate", store, "--classes")
    assert unclassified.exit_code == 1 and "no signal to classify" in unclassified.stderr
    # classify writes such a store on with its reference: its classes can be scored.
    labelled_store = tmp_path / "c.h5"
    assert run("classify", store, "--out", labelled_store, "-q").exit_code == 0
    classes_scored = run("evaluate", labelled_store, "--classes", "-q")
    assert classes_scored.exit_code == 0 and "macro F1" in classes_scored.stdout
    # rhythm writes such a store from beat times, and diagnose reads it back.
    written = tmp_path / "r.h5"
    assert run("rhythm", table, "--out", written, "-q").exit_code == 0
    assert verdict(run("diagnose", written, "-q").stdout) == \
        verdict(run("diagnose", table, "-q").stdout)
    # From beat annotations, or a table of beat times alone (no sample
    # positions), rhythm keeps the times (and classes): the store is judged
    # as its input was, at the annotation file's rate.
    annotated = tmp_path / "a.h5"
    assert run("rhythm", "sample:119", "--ann", "atr", "--out", annotated, "-q").exit_code == 0
    from_ann = run("diagnose", annotated, "-q")
    assert from_ann.exit_code == 0, from_ann.output
    assert verdict(from_ann.stdout) == \
        verdict(run("diagnose", "sample:119", "--ann", "atr", "-q").stdout)
    assert "pvc" in verdict(from_ann.stdout)[3]  # the .atr classes came through
    mark = tmp_path / "marks"
    mark.mkdir()
    assert run("rhythm", annotated, "--annotations", mark, "-q").exit_code == 0
    import wfdb

    assert wfdb.rdann(str(mark / "119"), "ecgtool").fs == 360
    times = tmp_path / "times.csv"
    times.write_text("\n".join(",".join(r.split(",")[0:3:2])
                               for r in table.read_text().splitlines()) + "\n")
    assert times.read_text().startswith("record,time_s\n")
    written = tmp_path / "t.h5"
    assert run("rhythm", times, "--out", written, "-q").exit_code == 0
    # rhythm keeps no reference: evaluate says where one is kept.
    scored = run("evaluate", written)
    assert scored.exit_code == 1 and "rhythm and diagnose do not" in scored.stderr
    assert verdict(run("diagnose", written, "-q").stdout) == \
        verdict(run("diagnose", times, "-q").stdout)


def test_rhythm_and_diagnose_keep_the_classes_of_a_classified_store(tmp_path):
    # A store labelled by `classify --model adapted/` must not be labelled
    # again by the default model: its classes stand, unless --model is given.
    # Every beat of 119 is made N here: its bigeminy and PVCs then vanish.
    import subprocess
    import sys

    store = tmp_path / "c.h5"
    assert run("classify", "sample:119", "--out", store, "-q").exit_code == 0
    with h5py.File(store, "r+") as f:
        aami = f["records/119/beats/aami"]
        assert (aami[...] == b"V").sum() > 300
        classes = aami[...]
        classes[:] = b"N"
        aami[...] = classes
    kept = run("rhythm", store, "--out", "-", "-q")
    assert kept.exit_code == 0, kept.output
    assert "bigeminy" not in kept.stdout and "sinus" in kept.stdout
    report = json.loads(run("diagnose", store, "--out", "-", "-q").stdout)
    assert report["counts"]["V"] == 0 and report["counts"]["N"] == report["n_beats"]
    from ecgtool.ml.model_io import default_model_dir

    again = run("rhythm", store, "--model", default_model_dir(), "--out", "-", "-q")
    assert again.exit_code == 0 and "bigeminy" in again.stdout
    # Nothing to label: no JAX (a fresh interpreter, as this one may hold it).
    code = ("import sys; from ecgtool.cli import main; "
            f"rc = main(['diagnose', {str(store)!r}, '--out', {str(tmp_path / 'd.jsonl')!r}, "
            "'-q']); print(rc, 'jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.split() == ["0", "False"], out.stderr

def test_a_store_without_beats_is_detected_as_a_record_is(tmp_path):
    # A store from convert holds the signal: classify and diagnose detect its
    # beats, as they do for the record itself.
    conv = tmp_path / "c.h5"
    assert run("convert", "sample:119", "--out", conv, "-q").exit_code == 0
    from_store = run("classify", conv, "--out", "-", "-q")
    from_record = run("classify", "sample:119", "--out", "-", "-q")
    assert from_store.exit_code == 0, from_store.output

    def peaks_and_classes(text):
        rows = [ln.split(",") for ln in text.splitlines()]
        cols = [rows[0].index("r_peak"), rows[0].index("aami")]
        return [[r[i] for i in cols] for r in rows[1:]]

    # The store keeps the signal in float32: a wave boundary may move a sample.
    assert peaks_and_classes(from_store.stdout) == peaks_and_classes(from_record.stdout)
    assert from_store.stdout.count("\n") > 1900
    d = run("diagnose", conv)
    assert d.exit_code == 0 and json.loads(d.stdout)["n_beats"] > 1900


def test_classify_with_corrupt_model(tmp_path):
    (tmp_path / "model.json").write_text("{")
    _one_line_error(run("classify", "sample:119", "--model", tmp_path), "unreadable model card")


def test_train_tiny_model(tmp_path):
    # Two epochs on the bundled records: checks the command, not accuracy.
    r = run("train", "--data", "sample:119", "--data", "sample:208", "--val", "1",
            "--epochs", "2", "--motion-noise", "0", "--polarity-flip", "0",
            "--out", tmp_path / "m")
    assert r.exit_code == 0, r.output
    assert "2 records: 1 to train on, 1 held out for early stopping" in r.stderr
    # Neither record has 20 S beats: the epoch was chosen without them.
    assert "so the epoch was chosen blind to S\n" in r.stderr
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert len(card["history"]) == 2 and card["validation_records"]
    # Two epochs are fewer than the epochs training waits before keeping one:
    # the last is kept, and its weight average is of trained weights, not the
    # random start (which had labelled every held-out beat wrongly).
    assert card["best_epoch"] == 2 and card["history"][-1]["val_accuracy"] > 0.9
    # The card says how to train the model again, and with what.
    assert card["command"] == ("ecgtool train --data sample:119 --data sample:208 --val 1 "
                               "--epochs 2 --motion-noise 0.0 --polarity-flip 0.0")
    assert card["config"]["motion_noise"] == 0.0 and card["config"]["polarity_flip"] == 0.0
    assert (tmp_path / "m" / "symbols.msgpack").is_file()
    assert card["symbol_head"]["training_beats"]["V"] > 0
    assert run("classify", "sample:119", "--model", tmp_path / "m", "-q").exit_code == 0
    # A name not in --data is an error naming it (--records all: every record).
    _one_line_error(run("train", "--data", "sample:119", "--records", "119,nope", "--out",
                        tmp_path / "n"), "records not found in --data: nope")


def test_plot_writes_a_png(tmp_path):
    out = tmp_path / "s.png"
    r = run("plot", "sample:208", "--start", "130", "--end", "140", "--out", out)
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = run("plot", "sample:208", "--start", "5000", "--out", tmp_path / "t.png")
    assert bad.exit_code == 1 and "past the end" in bad.stderr
    assert not (tmp_path / "t.png").exists()
    # Times as diagnose prints them (H:MM:SS) are taken too, the default end 10 s on.
    r = run("plot", "sample:208", "--start", "0:02:10", "--out", out)
    assert r.exit_code == 0 and "strip 130-140 s of 208" in r.stderr, r.output
    _one_line_error(run("plot", "sample:208", "--start", "2:1O", "--out", tmp_path / "t.png"),
                    "--start '2:1O' is no time")
    assert not (tmp_path / "t.png").exists()
    # A CSV is read with the options the other commands take; -q is quiet.
    import wfdb

    x = wfdb.rdrecord(str(sample_path("208")), sampto=7200).p_signal[:, 0]
    csv_in = tmp_path / "two.csv"
    csv_in.write_text("time,ecg\n" + "".join(f"{i / 360:.4f},{v * 1000:.1f}\n"
                                              for i, v in enumerate(x)))
    quiet = run("plot", csv_in, "--column", "ecg", "--units", "uV", "-q", "--out", out)
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.output
    # The beats drawn are those of the detector settings the other commands took.
    assert run("plot", "sample:208", "--detector", "refractory_ms=250", "-q", "--out",
               out).exit_code == 0
    _one_line_error(run("plot", "sample:208", "--detector", "nope=1", "--out", out),
                    "unknown detector setting")
    # --reference: a CSV has none, and says so.
    r = run("plot", csv_in, "--column", "ecg", "--units", "uV", "--reference", "--out", out)
    assert r.exit_code == 0 and "no reference annotations to show" in r.stderr, r.output


def test_plot_can_show_the_reference_beside_the_beats():
    from ecgtool.io.records import read_sample
    from ecgtool.report import plot_strip
    from ecgtool.rhythm import find_rhythms

    rec = read_sample("208")
    ann = rec.annotations
    t = ann.sample[np.isin(ann.symbol, ["N", "V", "F"])] / rec.fs
    fig = plot_strip(rec.signal, rec.fs, t, None, find_rhythms(t), 130.0, 142.0,
                     reference=ann)
    shown = [x.get_text() for x in fig.axes[0].texts]
    inside = (ann.sample >= 130 * rec.fs) & (ann.sample < 142 * rec.fs)
    beats = [s for s in ann.symbol[inside] if s in "NVF"]
    assert [s for s in shown if s in ("N", "V", "F")] == beats and len(beats) > 15
    assert "(T" in shown and "reference" in shown  # the trigeminy that starts at 131.9 s


def test_plot_reports_warnings_as_one_line(tmp_path):
    # A fresh interpreter: pytest records warnings, which would hide a raw one.
    import subprocess
    import sys

    code = ("from ecgtool.cli import main; "
            f"main(['plot', 'sample:119', '--channel', 'V1', '--out', {str(tmp_path / 'p.png')!r}])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    lines = out.stderr.strip().splitlines()
    assert lines[0].startswith("ecgtool: warning: 119: lead V1"), out.stderr
    assert len(lines) == 2 and lines[1].startswith("ecgtool: strip"), out.stderr


def test_detect_does_not_import_jax(tmp_path):
    # A fresh interpreter: this test process may have imported JAX already.
    import subprocess
    import sys

    code = ("import sys; from ecgtool.cli import main; "
            f"rc = main(['detect', 'sample:119', '--out', {str(tmp_path / 'b.h5')!r}, '-q']); "
            "print(rc, 'jax' in sys.modules, 'flax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.split() == ["0", "False", "False"], out.stderr


def test_classify_does_not_import_the_training_code(tmp_path):
    # Optax and Flax's training state are for `train` and `adapt` only.
    import subprocess
    import sys

    code = ("import sys; from ecgtool.cli import main; "
            f"rc = main(['classify', 'sample:119', '--out', {str(tmp_path / 'c.h5')!r}, '-q']); "
            "print(rc, 'jax' in sys.modules, 'optax' in sys.modules, "
            "'flax.training' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.split() == ["0", "True", "False", "False"], out.stderr


def test_the_program_leaves_without_teardown_and_keeps_output_and_status(tmp_path):
    # The console entry point skips the interpreter's teardown (an atexit
    # handler marks one), yet stdout is complete and errors keep status 1.
    import subprocess
    import sys

    def program(*args):
        code = ("import atexit, sys, pathlib; "
                f"atexit.register(pathlib.Path({str(tmp_path / 'torn')!r}).write_text, 'x'); "
                f"sys.argv = ['ecgtool', *{list(args)!r}]; "
                "from ecgtool.cli import console; console()")
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=120)

    out = program("detect", "sample:119", "--out", "-")
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "torn").exists()
    assert main(["detect", "sample:119", "--out", str(tmp_path / "b.csv"), "-q"]) == 0
    assert out.stdout == (tmp_path / "b.csv").read_text()
    bad = program("detect", str(tmp_path / "missing"), "--out", "-")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1, bad.stderr
    assert "missing" in bad.stderr and bad.stdout == ""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_is_one_line_and_status_1():
    import subprocess
    import sys

    code = "from ecgtool.cli import console; console()"
    with open("/dev/full", "w") as full:
        out = subprocess.run([sys.executable, "-c", code, "detect", "sample:119", "--out", "-"],
                             stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert out.returncode == 1, out.stderr
    assert out.stderr.strip() == "ecgtool: error: output: No space left on device"


def test_classify_warns_on_a_lead_the_shipped_model_never_saw():
    r = run("classify", "sample:119", "--channel", "V1", "--out", "-")
    assert r.exit_code == 0 and "lead V1: the shipped classifier was trained on lead II" in r.stderr
    r = run("classify", "sample:119", "--out", "-")
    assert r.exit_code == 0 and "trained on lead II" not in r.stderr


def test_diagnose_measures_intervals_from_a_beats_table(tmp_path):
    beats = tmp_path / "b.csv"
    assert run("detect", "sample:119", "--out", beats, "-q").exit_code == 0
    from_table = run("diagnose", beats, "-q")
    direct = run("diagnose", "sample:119", "--no-classify", "-q")
    assert from_table.exit_code == 0 and direct.exit_code == 0, from_table.output
    a, b = json.loads(from_table.stdout)["intervals"], json.loads(direct.stdout)["intervals"]
    assert a == b and 50 < a["qrs_ms"] < 120


def test_annotation_input_without_its_header(tmp_path):
    # No record at all: the same message as every other reader gives.
    _one_line_error(run("rhythm", tmp_path / "nope", "--ann", "atr"),
                    "nope.hea", "no such record")
    base = _copy(tmp_path)
    base.with_suffix(".hea").unlink()
    _one_line_error(run("rhythm", base, "--ann", "atr"), "119.hea",
                    "header file not found", "sampling rate")


def test_fs_given_for_a_record_that_states_its_rate_is_flagged():
    r = run("detect", "sample:119", "--fs", "250", "-q", "--out", "-")
    assert r.exit_code == 0
    assert "--fs 250 ignored" in r.stderr
    # The record's own 360 Hz was used: the first beat's time is r_peak / 360.
    first = next(csv.DictReader(io.StringIO(r.stdout)))
    assert abs(float(first["time_s"]) - int(first["r_peak"]) / 360.0) < 1e-3


def test_rhythm_and_diagnose_read_a_signal_on_stdin():
    # convert --out - | rhythm - --fs 360: stdin is looked at once to tell a
    # beats table from a signal, and the signal must still be there to read.
    signal = run("convert", "sample:119", "--out", "-").stdout
    direct = run("rhythm", "sample:119", "--no-classify", "-q", "--out", "-").stdout
    piped = runner.invoke(app, ["rhythm", "-", "--fs", "360", "--no-classify", "-q"],
                          input=signal)
    assert piped.exit_code == 0, piped.output
    assert piped.stdout.replace("stdin,", "119,") == direct
    report = runner.invoke(app, ["diagnose", "-", "--fs", "360", "--no-classify"], input=signal)
    assert report.exit_code == 0 and json.loads(report.stdout)["n_beats"] > 1900
    # Another stdin afterwards is read afresh, not taken from the first.
    other = runner.invoke(app, ["rhythm", "-", "--fs", "360", "-q"], input="ecg\n" + "0\n" * 5)
    assert "stdin: signal is shorter than 2 s: no beats" in other.stderr


def test_p_waves_on_most_beats_are_not_af_unless_they_come_from_the_slope_rules(tmp_path):
    # Irregular intervals with a P wave before every beat at a varying PR: the
    # P-wave network's P waves say the atria are not fibrillating; the slope
    # rules' (--p-net none) find "P waves" in AF too, so they say nothing.
    rng = np.random.default_rng(0)
    fs = 250
    r = np.cumsum(rng.integers(140, 260, 300)) + 500
    qrs_on = r - 10
    p_on = qrs_on - rng.integers(10, 75, r.size)
    table = tmp_path / "beats.csv"
    table.write_text("record,r_peak,time_s,qrs_onset,p_onset\n" + "".join(
        f"x,{a},{a / fs},{b},{c}\n" for a, b, c in zip(r, qrs_on, p_on)))
    net = run("rhythm", table, "--no-classify", "--out", "-", "-q")
    slope = run("rhythm", table, "--no-classify", "--p-net", "none", "--out", "-", "-q")
    assert net.exit_code == 0 and slope.exit_code == 0, net.output + slope.output
    assert ",af," not in net.stdout
    assert ",af," in slope.stdout


def test_the_top_level_names_are_the_functions_whatever_was_imported_first():
    # A lazily exported name that is also a submodule's (ecgtool.diagnose)
    # turns into the module once anything imports that submodule.
    import importlib
    import inspect
    import pkgutil

    import ecgtool

    for m in pkgutil.walk_packages(ecgtool.__path__, "ecgtool."):
        if ".cli" not in m.name and not m.name.endswith("__main__"):
            importlib.import_module(m.name)
    for name in ecgtool.__all__:
        value = getattr(ecgtool, name)
        assert not inspect.ismodule(value), name
