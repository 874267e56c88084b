"""Readers: WFDB, CinC .mat + .hea, header-less .mat, CSV; store round trip."""

import json
import shutil

import numpy as np
import pytest
import scipy.io

from ecgtool.errors import EcgToolError, EcgToolWarning
from ecgtool.io import store
from ecgtool.io.inputs import ReadOptions, expand_inputs, read_source
from ecgtool.io.csvfiles import read_csv
from ecgtool.io.records import choose_channel, sample_path
from ecgtool.io.storewriter import StoreWriter
from ecgtool.io.wfdbfiles import read_annotations, read_wfdb


def test_sample_record(rec208):
    assert rec208.fs == 360.0 and rec208.lead == "MLII" and rec208.n_samples == 650000
    assert rec208.signals.shape == (650000, 1)
    assert len(rec208.sha256) == 64
    assert "V" in set(rec208.annotations.symbol)
    assert 0.5 < np.percentile(np.abs(rec208.signal), 99.9) < 5  # mV, not ADC units


def test_all_leads_and_channel_choice():
    rec = read_wfdb(sample_path("119"), all_leads=True)
    assert rec.leads == ["MLII", "V1"] and rec.channel == 0 and rec.signals.shape[1] == 2
    rec = read_wfdb(sample_path("119"), channel="v1")
    assert rec.lead == "V1"
    with pytest.raises(EcgToolError, match="no lead named 'X'"):
        read_wfdb(sample_path("119"), channel="X")
    with pytest.raises(EcgToolError, match="out of range"):
        choose_channel(["I"], 3)


def _copy_record(tmp_path, name="119"):
    for ext in ("hea", "dat", "atr"):
        shutil.copy(sample_path(name).with_suffix("." + ext), tmp_path / f"{name}.{ext}")
    return tmp_path / name


def _multi_segment(tmp_path):
    # 90 s of record 119 as a variable-layout multi-segment record, as in
    # MIMIC: both leads for 20 s, a 10-s null segment, 20 s of V1 alone,
    # then 40 s with the leads in the other order.
    import wfdb

    x = read_wfdb(sample_path("119"), all_leads=True, ann=None, sampto=90 * 360).signals
    kw = dict(fs=360, write_dir=str(tmp_path))
    wfdb.wrsamp("m_1", units=["mV", "mV"], sig_name=["MLII", "V1"], p_signal=x[:7200],
                fmt=["212", "212"], adc_gain=[200, 200], baseline=[1024, 1024], **kw)
    wfdb.wrsamp("m_2", units=["mV"], sig_name=["V1"], p_signal=x[10800:18000, 1:],
                fmt=["16"], adc_gain=[200], baseline=[0], **kw)
    wfdb.wrsamp("m_3", units=["mV", "mV"], sig_name=["V1", "MLII"],
                p_signal=x[18000:32400, ::-1], fmt=["16", "16"], adc_gain=[200, 200],
                baseline=[0, 0], **kw)
    (tmp_path / "m_layout.hea").write_text(
        "m_layout 2 360 0\n~ 0 200/mV 12 0 0 0 0 MLII\n~ 0 200/mV 12 0 0 0 0 V1\n")
    (tmp_path / "m.hea").write_text(
        "m/5 2 360 32400\nm_layout 0\nm_1 7200\n~ 3600\nm_2 7200\nm_3 14400\n")
    return tmp_path / "m", x


def test_multi_segment_record_reads_as_one_signal_with_gaps(tmp_path):
    base, x = _multi_segment(tmp_path)
    rec = read_wfdb(base, all_leads=True)
    assert rec.leads == ["MLII", "V1"] and rec.signals.shape == (32400, 2)
    gap = np.isnan(rec.signals)
    assert gap[:, 0].nonzero()[0].tolist() == list(range(7200, 18000))
    assert gap[:, 1].nonzero()[0].tolist() == list(range(7200, 10800))
    assert np.allclose(rec.signals[~gap[:, 0], 0], x[~gap[:, 0], 0], atol=0.005)
    assert np.allclose(rec.signals[~gap[:, 1], 1], x[~gap[:, 1], 1], atol=0.005)
    block = read_wfdb(base, channel="V1", sampfrom=9000, sampto=20000, checksum=False)
    assert np.array_equal(block.signal, rec.signals[9000:20000, 1], equal_nan=True)
    # The folder holds one record: its segments and layout are parts of it.
    assert [s.name for s in expand_inputs([str(tmp_path)])] == ["m"]
    assert [s.name for s in expand_inputs([str(tmp_path / "*.hea")])] == ["m"]
    # Beats only where the lead is; the gaps are unreadable time, not pauses.
    from typer.testing import CliRunner

    from ecgtool.cli import app

    out = CliRunner().invoke(app, ["diagnose", str(base), "--out", "-"])
    report = json.loads(out.stdout.splitlines()[0])
    assert report["analysed_s"] == pytest.approx(60.0) and report["pauses"] == 0
    assert 60 <= report["n_beats"] <= 70
    (tmp_path / "m_2.dat").unlink()
    with pytest.raises(EcgToolError, match="signal file m_2.dat .*missing"):
        read_wfdb(base)


def test_missing_dat(tmp_path):
    base = _copy_record(tmp_path)
    (tmp_path / "119.dat").unlink()
    # Its beat annotations are there: the error says what can read them.
    with pytest.raises(EcgToolError, match="119.dat is missing; rhythm and diagnose read the "
                       "beats of 119.atr with --ann EXT") as e:
        read_wfdb(base)
    assert str(base) in str(e.value)
    (tmp_path / "119.atr").unlink()
    with pytest.raises(EcgToolError, match="signal file 119.dat is missing$"):
        read_wfdb(base)


def test_truncated_dat(tmp_path):
    base = _copy_record(tmp_path)
    data = (tmp_path / "119.dat").read_bytes()
    (tmp_path / "119.dat").write_bytes(data[: len(data) // 3])
    with pytest.raises(EcgToolError, match="truncated"):
        read_wfdb(base)


@pytest.mark.parametrize("line", ["119 2 0 650000", "119 2 abc 650000", "garbage", ""])
def test_bad_header(tmp_path, line):
    base = _copy_record(tmp_path)
    hea = tmp_path / "119.hea"
    lines = hea.read_text().splitlines()
    hea.write_text("\n".join([line] + lines[1:]) + "\n")
    with pytest.raises(EcgToolError, match="119.hea"):
        read_wfdb(base)


def test_a_rate_beyond_any_integer_type_is_an_unsupported_rate_not_a_crash(tmp_path):
    # The robustness run's find: wfdb parses a 23-digit rate as a Python int,
    # which numpy's isfinite refused with a TypeError.
    from ecgtool.signal.detect import detect_beats

    base = _copy_record(tmp_path)
    hea = tmp_path / "119.hea"
    lines = hea.read_text().splitlines()
    hea.write_text("\n".join(["119 2 " + "9" * 23 + " 650000"] + lines[1:]) + "\n")
    rec = read_wfdb(base, sampto=1000)
    with pytest.raises(EcgToolError, match="not supported"):
        detect_beats(rec.signal, rec.fs)


def _cinc_record(tmp_path, record_line):
    fs, n = 500, 5000
    t = np.arange(n) / fs
    ecg = np.zeros(n)
    for beat in np.arange(0.5, 10, 0.8):
        ecg += np.exp(-0.5 * ((t - beat) / 0.01) ** 2)
    val = np.round(np.vstack([ecg, -ecg]) * 1000).astype(np.int16)
    scipy.io.savemat(tmp_path / "A0001.mat", {"val": val}, format="4")
    hea = [record_line,
           "A0001.mat 16+24 1000/mV 16 0 0 0 0 I",
           "A0001.mat 16+24 1000/mV 16 0 0 0 0 II",
           "# Dx: 426783006"]
    (tmp_path / "A0001.hea").write_text("\n".join(hea) + "\n")
    return tmp_path / "A0001"


@pytest.mark.parametrize("line", ["A0001 2 500 5000", "A0001 2 500 5000 2014-05-08 05:05:15",
                                  "A0001 2 500 5000 05-May-2020 09:49:17"])
def test_cinc_mat_with_and_without_odd_dates(tmp_path, line):
    rec = read_wfdb(_cinc_record(tmp_path, line))
    assert rec.fs == 500 and rec.lead == "II" and rec.n_samples == 5000
    assert rec.comments == ["Dx: 426783006"]
    assert abs(rec.signal.min() + 1.0) < 0.01


def _cpsc2018_file(path, rec):
    # The CPSC 2018 layout: struct ECG {sex, age, data (12 leads x samples, mV)}.
    data = np.zeros((12, 5000))
    data[1] = rec.signal[:5000]
    scipy.io.savemat(path, {"ECG": {"sex": "Female", "age": 61, "data": data}})


def test_cpsc2018_mat_needs_no_rate(tmp_path, rec119):
    from ecgtool.io.matfiles import read_mat

    f = tmp_path / "B0001.mat"
    _cpsc2018_file(f, rec119)
    [src] = expand_inputs([str(f)])
    assert src.kind == "mat" and src.name == "B0001"
    rec = read_source(src)
    assert rec.fs == 500 and rec.lead == "II" and rec.n_samples == 5000
    assert np.array_equal(rec.signal, rec119.signal[:5000])
    assert rec.comments == ["Age: 61", "Sex: Female"]
    assert read_mat(f, channel="V1", all_leads=True).leads[6] == "V1"
    with pytest.raises(EcgToolError, match="sampled at 500 Hz, not 250"):
        read_mat(f, fs=250)
    # A folder mixes WFDB records and header-less .mat files; a .mat with a
    # header is a WFDB signal file, not a record of its own.
    _copy_record(tmp_path)
    _cinc_record(tmp_path, "A0001 2 500 5000")
    assert [(s.kind, s.name) for s in expand_inputs([str(tmp_path)])] == \
        [("wfdb", "119"), ("wfdb", "A0001"), ("mat", "B0001")]


def test_generic_mat(tmp_path):
    from ecgtool.io.matfiles import read_mat

    f = tmp_path / "x.mat"
    scipy.io.savemat(f, {"val": np.arange(3000.0).reshape(2, 1500)})
    with pytest.raises(EcgToolError, match="sampling rate unknown: give --fs"):
        read_mat(f)
    rec = read_source(expand_inputs([str(f)])[0], ReadOptions(fs=250, units="uV", channel=1))
    assert rec.fs == 250 and rec.lead == "ch1" and rec.signal[0] == 1.5
    scipy.io.savemat(f, {"ecg": np.ones(1000), "fs": 360})
    assert read_mat(f).fs == 360
    scipy.io.savemat(f, {"a": np.ones((2, 100)), "b": np.ones((2, 100))})
    with pytest.raises(EcgToolError, match="several matrices"):
        read_mat(f, fs=250)
    f.write_bytes(b"not a mat file")
    with pytest.raises(EcgToolError, match="not a readable MATLAB file"):
        read_mat(f, fs=250)
    with pytest.raises(EcgToolError, match="no such file"):
        read_mat(tmp_path / "none.mat", fs=250)


def test_wfdb_header_without_length_or_rate_reads_as_wfdb_defines(tmp_path):
    # WFDB lets a header leave out the length (read to the end of the signal
    # files) and the rate (250 Hz); the rate left out is said, not silent.
    from ecgtool.errors import EcgToolWarning

    src = sample_path("119")
    lines = src.with_suffix(".hea").read_text().splitlines()
    shutil.copy(src.with_suffix(".dat"), tmp_path / "r.dat")
    body = [ln.replace("119.dat", "r.dat") for ln in lines[1:]]
    (tmp_path / "r.hea").write_text("\n".join(["r 2 360"] + body) + "\n")
    whole = read_wfdb(src, ann=None)
    rec = read_wfdb(tmp_path / "r", ann=None)
    assert rec.fs == 360 and np.array_equal(rec.signal, whole.signal)
    (tmp_path / "r.hea").write_text("\n".join(["r 2"] + body) + "\n")
    with pytest.warns(EcgToolWarning, match="no sampling rate: WFDB's default, 250 Hz"):
        rec = read_wfdb(tmp_path / "r", ann=None)
    assert rec.fs == 250 and rec.signal.size == whole.signal.size


def test_csv_variants(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("time,MLII,V1\n0,0.1,1\n0.004,0.2,2\n0.008,0.3,3\n")
    rec = read_csv(p)
    assert rec.fs == 250 and rec.lead == "MLII" and rec.signal.tolist() == [0.1, 0.2, 0.3]
    rec = read_csv(p, fs=250, column="V1", units="uV")
    assert rec.signal.tolist() == [0.001, 0.002, 0.003]
    q = tmp_path / "b.txt"
    q.write_text("1\n2\n3\n")
    assert read_csv(q, fs=100).signal.tolist() == [1, 2, 3]


def test_csv_rate_from_a_time_column_printed_with_few_decimals(tmp_path, rec119):
    # At 360 Hz, times to 3 decimals step by 2 or 3 ms: the rate is the
    # span's (360 Hz), not one step's (333 Hz), and the beats are those of --fs.
    from ecgtool.signal.detect import detect_r_peaks

    x = rec119.signal[:36000]
    t = np.round(np.arange(x.size) / 360.0, 3)
    p = tmp_path / "t.csv"
    np.savetxt(p, np.column_stack([t, x]), delimiter=",", header="time,ecg", comments="",
               fmt=["%.3f", "%.3f"])
    rec = read_csv(p)
    assert rec.fs == 360.0
    np.testing.assert_array_equal(detect_r_peaks(rec.signal, rec.fs),
                                  detect_r_peaks(read_csv(p, fs=360).signal, 360.0))


def test_csv_exported_by_physionet_rdsamp_or_atm(tmp_path, rec119):
    # Quoted names, a units row, times as a clock or in seconds, or a sample
    # number column: read as the same signal at the same rate.
    x = rec119.signal[:7200]
    clock = "'Elapsed time','MLII','V5'\n'hh:mm:ss.mmm','mV','mV'\n" + "".join(
        f"'{int(i / 360 // 60)}:{i / 360 % 60:06.3f}',{v:.3f},0\n" for i, v in enumerate(x))
    secs = "'Elapsed time','MLII','V5'\n'seconds','uV','uV'\n" + "".join(
        f"{i / 360:.3f},{v * 1000:.0f},0\n" for i, v in enumerate(x))
    numbered = "'sample #','V5'\n" + "".join(f"{i},{v:.3f}\n" for i, v in enumerate(x))
    want = np.round(x, 3)
    for name, text, fs in (("c", clock, None), ("s", secs, None), ("n", numbered, 360)):
        (tmp_path / f"{name}.csv").write_text(text)
        rec = read_csv(tmp_path / f"{name}.csv", fs=fs)
        assert rec.fs == 360 and rec.lead in ("MLII", "V5"), name
        np.testing.assert_allclose(rec.signal, want, atol=1e-9)
    # --units still wins over the file's units row.
    rec = read_csv(tmp_path / "s.csv", units="mV")
    np.testing.assert_allclose(rec.signal, np.round(x * 1000), atol=1e-9)


def test_csv_with_a_byte_order_mark_reads_as_without(tmp_path):
    # Excel's "CSV UTF-8" starts with a byte-order mark: it had become part of
    # the first column's name, or, without names, a bogus name taking the
    # first sample.
    import io

    from ecgtool.stream import sample_chunks

    for text in ("MLII,V1\n0.1,1\n0.2,2\n0.3,3\n", "0.1\n0.2\n0.3\n"):
        plain, marked = tmp_path / "a.csv", tmp_path / "b.csv"
        plain.write_text(text, encoding="utf-8")
        marked.write_text(text, encoding="utf-8-sig")
        a, b = read_csv(plain, fs=250), read_csv(marked, fs=250)
        assert a.lead == b.lead and a.signal.tolist() == b.signal.tolist() == [0.1, 0.2, 0.3]
        streamed = np.concatenate(list(sample_chunks(io.StringIO("\ufeff" + text), 250)))
        assert streamed.tolist() == [0.1, 0.2, 0.3]


def test_csv_from_a_european_spreadsheet_file_or_stream(tmp_path):
    # Semicolons between fields, commas as decimal marks, and Excel's "sep=;"
    # line; a tab- or space-separated stream reads as its file does.
    import io

    from ecgtool.stream import sample_chunks

    for text in ("sep=;\nMLII;V1\n0,1;2,5\n0,2;2,5\n0,3;2,5\n",
                 "Zeit;MLII\n0,000;0,1\n0,004;0,2\n0,008;0,3\n",
                 "V1\tMLII\n2.5\t0.1\n2.5\t0.2\n2.5\t0.3\n",
                 "V1 MLII\n2.5 0.1\n2.5 0.2\n2.5 0.3\n"):
        (tmp_path / "e.csv").write_text(text)
        rec = read_csv(tmp_path / "e.csv", fs=250)
        assert rec.lead == "MLII" and rec.signal.ravel().tolist() == [0.1, 0.2, 0.3], text
        streamed = np.concatenate(list(sample_chunks(io.StringIO(text), 250)))
        assert streamed.tolist() == [0.1, 0.2, 0.3], text


def test_csv_blank_lines_and_comments_anywhere(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("# exported\nMLII\n0.1\n\n   \n  # a note\n0.2\r\n0.3 # after\n0.4\n")
    assert read_csv(p, fs=360).signal.ravel().tolist() == [0.1, 0.2, 0.3, 0.4]
    p.write_text("MLII\n0.1\n\n  # a note\n0.3 # after\nabc\n")
    with pytest.raises(EcgToolError, match="non-numeric value on line 4: 'abc'"):
        read_csv(p, fs=360)
    p.write_text("a,b\n1,2\n3,4\n5\n6,7\n")  # a row cut short
    with pytest.raises(EcgToolError, match="1 value where the lines before have 2 on line 4"):
        read_csv(p, fs=360)


def test_a_long_csv_is_parsed_in_pieces_as_it_would_be_whole(tmp_path, monkeypatch):
    # Long files are parsed a piece of lines at a time (memory); pieces of
    # 40 characters here: comments, blank lines, a time column and a
    # piece of comments alone read as the whole, and errors name the line.
    from ecgtool.io import csvfiles

    rows = [f"{i / 250:.3f},{np.sin(i / 9):.4f}\n" for i in range(300)]
    text = ("time,II\n# start\n" + "".join(rows[:70]) + "# a note\n" * 12 + "\n"
            + "".join(rows[70:]))
    p = tmp_path / "long.csv"
    p.write_text(text)
    whole = read_csv(p)
    monkeypatch.setattr(csvfiles, "_PIECE", 40)
    pieces = read_csv(p)
    assert pieces.fs == whole.fs == 250.0 and pieces.sha256 == whole.sha256
    assert np.array_equal(pieces.signal, whole.signal) and pieces.n_samples == 300
    p.write_text(text.replace("0.400,", "0.400,0.1,"))
    with pytest.raises(EcgToolError, match="3 values where the lines before have 2 on line"):
        read_csv(p)


def test_csv_time_column_with_missing_samples_marks_them_unreadable(tmp_path):
    # A wireless sensor's lost packets: the samples are placed by their times
    # and the time between is NaN, unreadable signal, as in an EDF+D file.
    p = tmp_path / "t.csv"
    rows = [f"{i * 0.004:.3f},{i % 7 * 0.1:.1f}" for i in range(200)]
    p.write_text("time,ecg\n" + "\n".join(rows[:100] + rows[150:]) + "\n")
    with pytest.warns(EcgToolWarning, match="50 samples .0.20 s. missing"):
        rec = read_csv(p)
    x = np.array([i % 7 * 0.1 for i in range(200)])
    assert rec.fs == 250.0 and rec.n_samples == 200 and np.isnan(rec.signal[100:150]).all()
    np.testing.assert_allclose(rec.signal[150:], x[150:])
    # More time missing than recorded: two recordings, not one with a gap.
    p.write_text("time,ecg\n" + "\n".join(rows[:50] + rows[160:]) + "\n")
    with pytest.raises(EcgToolError, match="misses more time than it holds"):
        read_csv(p)


def test_an_empty_csv_field_is_a_missing_sample_in_a_file_or_a_stream(tmp_path):
    # It was "unreadable line on line 2", naming a good line.
    import io

    from ecgtool.stream import sample_chunks

    for text in ("time,ecg\n0,0.1\n0.004,\n0.008, \n0.012,0.4\n",
                 "ecg;time\n0,1;0\n;0,004\n\n# c\n  ;0,008\n0,4;0,012\n"):
        (tmp_path / "e.csv").write_text(text)
        rec = read_csv(tmp_path / "e.csv")
        assert rec.fs == 250.0, text
        np.testing.assert_array_equal(rec.signal, [0.1, np.nan, np.nan, 0.4])
        streamed = np.concatenate(list(sample_chunks(io.StringIO(text), 250, chunk=2)))
        np.testing.assert_array_equal(streamed, rec.signal)


def test_csv_time_column_with_a_jump_or_going_back_is_an_error(tmp_path):
    p = tmp_path / "t.csv"
    rows = [f"{i * 0.004:.3f},{i % 7 * 0.1:.1f}" for i in range(200)]
    uneven = rows[:100] + [f"{i * 0.0042:.4f},0.1" for i in range(100, 200)]
    p.write_text("time,ecg\n" + "\n".join(uneven) + "\n")
    with pytest.raises(EcgToolError, match="not evenly spaced .a jump at line"):
        read_csv(p)
    back = rows[:50] + [rows[10]] + rows[51:]
    p.write_text("time,ecg\n" + "\n".join(back) + "\n")
    with pytest.raises(EcgToolError, match="does not increase at line 52"):
        read_csv(p)


def test_csv_errors(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("ecg\n0.1\n0.2\nhello\n")
    with pytest.raises(EcgToolError, match="non-numeric value on line 4"):
        read_csv(p, fs=250)
    p.write_text("ecg\n0.1\n")
    with pytest.raises(EcgToolError, match="sampling rate unknown"):
        read_csv(p)
    p.write_text("")
    with pytest.raises(EcgToolError, match="empty"):
        read_csv(p, fs=250)
    with pytest.raises(EcgToolError, match="no such file"):
        read_csv(tmp_path / "none.csv", fs=250)
    # A beats table is no signal, even with a time_s column that would give a rate.
    p.write_text("time_s,r_peak\n0.5,180\n1.3,468\n")
    with pytest.raises(EcgToolError, match="bad.csv: a beats table, not a signal"):
        read_csv(p)


def test_a_beats_table_piped_where_a_signal_belongs_is_named():
    from typer.testing import CliRunner

    from ecgtool.cli import app

    run = CliRunner().invoke
    beats = run(app, ["detect", "sample:119", "--out", "-", "-q"]).stdout
    res = run(app, ["detect", "-", "--fs", "360"], input=beats)
    assert res.exit_code == 1 and res.stdout == ""
    assert "a beats table, not a signal" in res.stderr and "Traceback" not in res.stderr


def test_expand_inputs(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    _copy_record(a)
    _copy_record(b)
    srcs = expand_inputs([str(a), str(tmp_path / "b" / "*.hea")])
    assert [s.name for s in srcs] == ["a_119", "b_119"]
    with pytest.raises(EcgToolError, match="no file matches"):
        expand_inputs([str(tmp_path / "*.none")])
    with pytest.raises(EcgToolError, match="folder holds no records"):
        (tmp_path / "empty").mkdir()
        expand_inputs([str(tmp_path / "empty")])


def test_store_keeps_names_its_group_keys_cannot(tmp_path, rec119):
    # Group keys make "/" and a leading "." safe; the name read back is the
    # one written, so outputs and --resume speak of the record by its name.
    path = tmp_path / "s.h5"
    with StoreWriter(path) as w:
        for name in (".hidden", "site/7"):
            w.finish(w.begin(name, rec119))
    f = store.open_store(path)
    try:
        assert store.record_names(f) == [".hidden", "site/7"]
        assert store.read_record(f, "site/7").n_samples == rec119.n_samples
    finally:
        f.close()
    with StoreWriter(path, resume=True) as w:
        assert w.done == {".hidden", "site/7"}


def test_store_round_trip(tmp_path, rec119):
    from ecgtool.signal.detect import detect_beats

    beats = detect_beats(rec119.signal[:72000], rec119.fs)
    path = tmp_path / "s.h5"
    f = store.open_store(path, "w")
    store.write_record(f, rec119, "119", beats)
    f.close()
    f = store.open_store(path)
    assert store.record_names(f) == ["119"]
    back = store.read_record(f, "119")
    got = store.read_beats(f, "119")
    f.close()
    np.testing.assert_allclose(back.signal, rec119.signal, atol=1e-6)
    assert back.annotations.symbol.tolist() == rec119.annotations.symbol.tolist()
    assert back.annotations.subtype.tolist() == rec119.annotations.subtype.tolist()
    assert set(rec119.annotations.subtype.tolist()) == {0, 2}  # 119's noise marks
    for k, v in beats.columns().items():
        np.testing.assert_array_equal(got.columns()[k], v)
    rec = read_source(expand_inputs([str(path)])[0], ReadOptions())
    assert rec.name == "119" and rec.fs == 360.0 and rec.leads == ["MLII"]
    # Version 1 stores kept their text variable-length: they read the same.
    import h5py

    with h5py.File(path, "a") as h:
        def to_vlen(obj):
            for k, v in list(obj.attrs.items()):
                if isinstance(v, (bytes, np.ndarray)) and np.asarray(v).dtype.kind == "S":
                    text = store.attr_text(v)
                    del obj.attrs[k]
                    obj.attrs[k] = text
        to_vlen(h)
        h.visititems(lambda name, obj: to_vlen(obj))
        for name in ("records/119/annotations/symbol", "records/119/annotations/aux_note"):
            text = h[name].asstr()[...]
            del h[name]
            h.create_dataset(name, data=text.astype(object), dtype=h5py.string_dtype())
        g = h["records/119/annotations"]  # no subtypes before version 2 either
        del g["subtype"]
        g.attrs["columns"] = [c for c in store.attr_text(g.attrs["columns"]) if c != "subtype"]
        h.attrs["format_version"] = 1
    f = store.open_store(path)
    old, old_beats = store.read_record(f, "119"), store.read_beats(f, "119")
    f.close()
    assert old.name == "119" and old.leads == ["MLII"] and old.sha256 == rec119.sha256
    assert old.annotations.symbol.tolist() == rec119.annotations.symbol.tolist()
    assert not old.annotations.subtype.any()
    assert list(old_beats.columns()) == list(beats.columns())


def test_store_keeps_text_of_any_length(tmp_path):
    # Fixed-length text must fit in an object header (64 KiB); longer text
    # (a long header comment) is stored variable-length and reads the same.
    import h5py

    with h5py.File(tmp_path / "t.h5", "w") as f:
        store.set_attr(f, "short", "héllo")
        store.set_attr(f, "long", "x" * 100_000)
        store.set_attr(f, "empty", "")
        assert store.attr_text(f.attrs["short"]) == "héllo"
        assert store.attr_text(f.attrs["long"]) == "x" * 100_000
        assert store.attr_text(f.attrs["empty"]) == ""


def test_not_a_store(tmp_path):
    p = tmp_path / "x.h5"
    p.write_text("not hdf5")
    with pytest.raises(EcgToolError, match="not a readable HDF5"):
        store.open_store(p)


def test_cpsc2018_records_in_shared_data(data):
    files = sorted((data / "cpsc2018").glob("A*.mat"))
    if not files:
        pytest.skip("cpsc2018/ holds no .mat files")
    from ecgtool.signal.detect import detect_r_peaks

    for src in expand_inputs([str(data / "cpsc2018")]):
        rec = read_source(src, ReadOptions(all_leads=True))
        assert rec.fs == 500 and len(rec.leads) == 12 and rec.lead == "II"
        rate = 60 * len(detect_r_peaks(rec.signal, rec.fs)) / rec.duration_s
        assert 35 < rate < 200, (src.name, rate)


def _same_as_wfdb(path):
    import wfdb

    from ecgtool.io.mitann import decode_mit_annotations

    base, ext = str(path.with_suffix("")), path.suffix[1:]
    a = wfdb.rdann(base, ext)
    sample, symbol, aux, subtype, resolution = decode_mit_annotations(path.read_bytes())
    assert resolution in (None, a.fs), path
    assert np.array_equal(sample, a.sample) and symbol.tolist() == list(a.symbol), path
    assert subtype.tolist() == np.asarray(a.subtype).tolist(), path
    want = np.asarray([x or "" for x in (a.aux_note or [""] * len(a.sample))], dtype=str)
    assert aux.tolist() == want.tolist(), path


def test_annotation_reader_matches_wfdb_on_the_samples():
    for name in ("119", "208"):
        _same_as_wfdb(sample_path(name).with_suffix(".atr"))


def test_annotation_reader_matches_wfdb_on_shared_data(data):
    # Rhythm notes (mitdb, ltafdb), SKIPs and long files (ltafdb .qrs), wave
    # marks with NUM/SUB/CHN fields (qtdb .q1c, .pu0; ludb per-lead files).
    files = sorted((data / "mitdb").glob("*.atr")) + sorted((data / "ltafdb-ann").glob("00.*"))
    files += sorted((data / "qtdb").glob("sel1*.q1c")) + sorted((data / "qtdb").glob("sel1*.pu0"))
    files += [data / "ludb" / "data" / "1.ii", data / "svdb" / "800.atr"]
    files = [f for f in files if f.suffix in (".atr", ".qrs", ".q1c", ".pu0", ".ii") and f.is_file()]
    assert len(files) > 30
    for f in files:
        _same_as_wfdb(f)


def test_a_truncated_or_empty_annotation_file_is_an_error_not_part_of_a_reference(tmp_path):
    # wfdb.rdann reads a file cut short without a word; scoring against it
    # would score a record against part of its reference.
    from ecgtool.io.records import sample_path
    whole = (sample_path("119").with_suffix(".atr")).read_bytes()
    assert whole[-2:] == b"\x00\x00"
    (tmp_path / "r.atr").write_bytes(whole[:3000])
    with pytest.raises(EcgToolError, match="r.atr: annotation file ends without its end-of-file"):
        read_annotations(tmp_path / "r")
    (tmp_path / "r.atr").write_bytes(b"")
    with pytest.raises(EcgToolError, match="annotation file is empty"):
        read_annotations(tmp_path / "r")
    (tmp_path / "r.atr").write_bytes(whole)
    assert len(read_annotations(tmp_path / "r").sample) == len(read_annotations(
        sample_path("119")).sample)


def test_annotation_files_that_name_their_time_resolution(tmp_path):
    import wfdb

    from ecgtool.io.mitann import decode_mit_annotations

    # wrann stores the rate as a "## time resolution" note at sample 0, as
    # ecgtool's own annotation files do: read by the fast reader too.
    wfdb.wrann("r", "atr", np.array([10, 400]), symbol=["N", "V"], fs=360,
               aux_note=["", "(B"], write_dir=str(tmp_path))
    sample, _, aux, _, resolution = decode_mit_annotations((tmp_path / "r.atr").read_bytes())
    assert sample.tolist() == [10, 400] and aux.tolist() == ["", "(B"] and resolution == 360
    a = read_annotations(tmp_path / "r")  # no header: the file's own ticks
    assert a.sample.tolist() == [10, 400] and a.aux_note.tolist() == ["", "(B"]
    # Beside a 180-Hz header, ticks of 1/360 s are frames of 1/180 s.
    (tmp_path / "r.hea").write_text("r 1 180 1000\nr.dat 16 200 16 0 0 0 0 II\n")
    assert read_annotations(tmp_path / "r").sample.tolist() == [5, 200]
    with pytest.raises(ValueError, match="not a whole number of 16-bit words"):
        decode_mit_annotations(b"\x00")


def test_annotation_files_that_define_their_own_codes(tmp_path):
    import pandas as pd
    import wfdb

    labels = pd.DataFrame({"label_store": [42], "symbol": ["k"], "description": ["knot"]})
    wfdb.wrann("r", "atr", np.array([10, 400]), symbol=["N", "k"], custom_labels=labels,
               write_dir=str(tmp_path))
    a = read_annotations(tmp_path / "r")
    want = wfdb.rdann(str(tmp_path / "r"), "atr")
    assert a.sample.tolist() == want.sample.tolist() == [10, 400]
    assert a.symbol.tolist() == list(want.symbol) == ["N", "k"]


def test_a_definition_note_wfdb_does_not_know_is_passed_over_not_a_hang(tmp_path):
    # wfdb.rdann loops forever on a "## " note at time 0 that is neither a
    # time resolution nor a label block (found by the robustness run); such
    # a note is passed over, and a code nothing defines reads as "".
    text = b"## from the lab"
    words = [(22 << 10) | 0, (63 << 10) | len(text)]
    words += np.frombuffer(text + b"\0" * (len(text) % 2), "<u2").tolist()
    words += [(1 << 10) | 10, (42 << 10) | 300, 0]
    (tmp_path / "r.atr").write_bytes(np.array(words, "<u2").tobytes())
    a = read_annotations(tmp_path / "r")
    assert a.sample.tolist() == [10, 310] and a.symbol.tolist() == ["N", ""]
    # A note that runs past the end of the file is damage, said in one line.
    (tmp_path / "r.atr").write_bytes(np.array([(1 << 10) | 10, (63 << 10) | 40, 65, 0],
                                              "<u2").tobytes())
    with pytest.raises(EcgToolError, match="r.atr: unreadable annotation file .a note or a "
                                           "skip runs past the end"):
        read_annotations(tmp_path / "r")


def test_corrupt_mat_gives_our_error_not_a_crash(tmp_path, rec119):
    # scipy's MAT 5 reader trusts the file's tags: a byte changed in a type
    # (to 13) or in a matrix's flags (to 73) crashed the process. Every such
    # change to the tags (the first 400 bytes; the rest is the data) must give
    # a record or the one-line error.
    from ecgtool.io.matfiles import read_mat

    good = tmp_path / "good.mat"
    scipy.io.savemat(good, {"ECG": {"sex": "Male", "age": 52, "data": np.ones((12, 50))}})
    data = good.read_bytes()
    f = tmp_path / "bad.mat"
    errors = 0
    for at in range(128, 400):
        for value in (13, 73):
            f.write_bytes(data[:at] + bytes([value]) + data[at + 1:])
            try:
                read_mat(f)
            except EcgToolError as exc:
                assert "\n" not in str(exc)
                errors += 1
    assert errors > 0


def _edf_of(rec119, path):
    edfio = pytest.importorskip("edfio")
    x = rec119.signals[:36000]  # 100 s: whole 1-s data records
    edfio.Edf([edfio.EdfSignal(x[:, 0], 360, label="MLII", physical_dimension="mV"),
               edfio.EdfSignal(x[:, 1] * 1000, 360, label="V1", physical_dimension="uV"),
               edfio.EdfSignal(np.full(100, 36.6), 1, label="Temp",
                               physical_dimension="degC")]).write(path)
    return x


def test_edf_reads_the_ecg_at_its_own_rate(tmp_path):
    rec119 = read_wfdb(sample_path("119"), all_leads=True)
    f = tmp_path / "h.edf"
    x = _edf_of(rec119, f)
    [src] = expand_inputs([str(f)])
    assert src.kind == "edf" and expand_inputs([str(tmp_path)])[0].kind == "edf"
    rec = read_source(src)
    assert rec.lead == "MLII" and rec.fs == 360 and rec.n_samples == 36000
    assert np.abs(rec.signal - x[:, 0]).max() < 1e-3  # 16-bit samples over the data's range
    both = read_source(src, ReadOptions(all_leads=True))
    assert both.leads == ["MLII", "V1"]  # the 1-Hz channel is left out
    assert np.abs(both.signals[:, 1] - x[:, 1]).max() < 1e-3  # uV read as mV
    with pytest.raises(EcgToolError, match="no lead named 'II'"):
        read_source(src, ReadOptions(channel="II"))
    bad = tmp_path / "bad.edf"
    bad.write_bytes(f.read_bytes()[:300])
    with pytest.raises(EcgToolError, match="not a readable EDF file"):
        read_source(expand_inputs([str(bad)])[0])
    cut = tmp_path / "cut.edf"  # a copy that stopped 40 % of the way
    cut.write_bytes(f.read_bytes()[:int(f.stat().st_size * 0.4)])
    with pytest.raises(EcgToolError, match="truncated: the header gives 100 data records, "
                       "the file holds 39"):
        read_source(expand_inputs([str(cut)])[0])


def test_edf_of_a_sleep_study_reads_the_lead_not_the_eeg(tmp_path):
    # A polysomnogram lists EEG first; "Lead II" names the ECG, and where no
    # signal names one, the first is read and the user is told.
    edfio = pytest.importorskip("edfio")
    from ecgtool.errors import EcgToolWarning

    x = np.sin(np.arange(2560) / 9.0)
    for labels, want in ((["EEG C3-A2", "Lead II"], "Lead II"), (["EEG C3-A2", "EKG"], "EKG"),
                         # lead II is preferred under any label that names it
                         (["ECG I", "ECG II", "ECG III"], "ECG II")):
        f = tmp_path / "psg.edf"
        edfio.Edf([edfio.EdfSignal(x, 256, label=lab, physical_dimension="mV")
                   for lab in labels]).write(f)
        assert read_source(expand_inputs([str(f)])[0]).lead == want
    edfio.Edf([edfio.EdfSignal(x, 256, label=lab, physical_dimension="mV")
               for lab in ("EEG C3-A2", "EOG")]).write(f)
    with pytest.warns(EcgToolWarning, match="no signal is labelled as an ECG lead: 'EEG C3-A2'"):
        assert read_source(expand_inputs([str(f)])[0]).lead == "EEG C3-A2"


def test_edf_plus_annotations_are_the_reference(tmp_path):
    # 119 written as EDF+ with its beat and rhythm annotations as EDF+ text:
    # they come back as the WFDB annotations, and `evaluate` scores against them.
    edfio = pytest.importorskip("edfio")
    from typer.testing import CliRunner

    from ecgtool.cli import app

    rec = read_wfdb(sample_path("119"))
    n = 360 * 600  # 10 minutes: whole 1-s data records
    a = rec.annotations
    keep = a.sample < n
    notes = [edfio.EdfAnnotation(s / 360, None, aux if sym == "+" else sym)
             for s, sym, aux in zip(a.sample[keep], a.symbol[keep], a.aux_note[keep])]
    notes.append(edfio.EdfAnnotation(5.0, None, "Recording note"))
    f = tmp_path / "e.edf"
    edfio.Edf([edfio.EdfSignal(rec.signal[:n], 360, label="MLII", physical_dimension="mV")],
              annotations=notes).write(f)
    got = read_source(expand_inputs([str(f)])[0]).annotations
    note = got.aux_note == "Recording note"
    assert got.symbol[note].tolist() == ['"'] and got.sample[note].tolist() == [1800]
    assert np.array_equal(got.sample[~note], a.sample[keep])
    assert np.array_equal(got.symbol[~note], a.symbol[keep])
    assert np.array_equal(got.aux_note[~note], a.aux_note[keep])
    res = CliRunner().invoke(app, ["evaluate", str(f), "-q", "--out", str(tmp_path / "s.json")])
    assert res.exit_code == 0, res.output
    import json

    g = json.loads((tmp_path / "s.json").read_text())["gross"]["gross"]
    assert g["tp"] >= int(np.isin(a.symbol[keep], list("NV")).sum()) - 2
    assert read_source(expand_inputs([str(f)])[0], ReadOptions(ann=None)).annotations is None


def _gapped_edf(rec, path, gap_s=30, after_s=50):
    # 100 s of 119 as EDF+ (1-s data records, beat annotations), then made
    # EDF+D: data records from `after_s` on are stamped `gap_s` later, as a
    # recorder that paused would write them, and so are their annotations.
    edfio = pytest.importorskip("edfio")
    n = 360 * 100
    a = rec.annotations
    keep = a.sample < n
    shift = np.where(a.sample[keep] >= 360 * after_s, gap_s, 0)
    notes = [edfio.EdfAnnotation(s / 360 + d, None, sym)
             for s, sym, d in zip(a.sample[keep], a.symbol[keep], shift)]
    edfio.Edf([edfio.EdfSignal(rec.signal[:n], 360, label="MLII", physical_dimension="mV")],
              annotations=notes).write(path)
    data = bytearray(path.read_bytes())
    header, record = 768, 360 * 2 + int(path.read_bytes()[256 + 2 * 216 + 8:][:8]) * 2
    for k in range(after_s, 100):
        at = header + k * record + 720
        old = f"+{k}\x14\x14".encode()
        assert bytes(data[at:at + len(old)]) == old
        tail = bytes(data[at + len(old):at + record - 720])
        data[at:at + record - 720] = (f"+{k + gap_s}\x14\x14".encode() + tail)[:record - 720]
    data[192:236] = b"EDF+D".ljust(44)  # the header's reserved field
    path.write_bytes(bytes(data))
    return a.sample[keep] + 360 * shift, a.symbol[keep]


def test_discontinuous_edf_plus_is_read_on_its_own_clock(tmp_path):
    # Samples and annotations after a gap keep the recorder's time; the gap
    # is NaN (unreadable), so no beat is found in it and none moves.
    from ecgtool.errors import EcgToolWarning
    from ecgtool.io.inputs import read_source_block, source_length
    from ecgtool.signal.detect import detect_r_peaks

    rec = read_wfdb(sample_path("119"))
    f = tmp_path / "d.edf"
    ref_sample, ref_symbol = _gapped_edf(rec, f)
    [src] = expand_inputs([str(f)])
    with pytest.warns(EcgToolWarning, match="30.0 s of gaps"):
        got = read_source(src)
    x = got.signal
    assert got.n_samples == 360 * 130 and source_length(src) == (360 * 130, 360.0)
    assert np.isnan(x[360 * 50:360 * 80]).all() and np.isfinite(x[:360 * 50]).all()
    assert np.abs(x[360 * 80:] - rec.signal[360 * 50:360 * 100]).max() < 1e-3
    assert np.array_equal(got.annotations.sample, ref_sample)
    assert np.array_equal(got.annotations.symbol, ref_symbol)
    # Blocks across the gap's edges read the same samples.
    for a, b in [(0, 360 * 60), (360 * 55, 360 * 85), (360 * 79, 360 * 130)]:
        part = read_source_block(src, ReadOptions(), a, b).signal
        assert np.array_equal(np.isnan(part), np.isnan(x[a:b]))
        assert np.allclose(part[~np.isnan(part)], x[a:b][~np.isnan(x[a:b])])
    r = detect_r_peaks(x, 360.0)
    assert not ((r >= 360 * 50) & (r < 360 * 80)).any()
    beats = ref_sample[np.isin(ref_symbol, list("NV"))]
    late = beats[beats > 360 * 81]
    assert np.abs(r[np.searchsorted(r, late - 20)] - late).max() <= 20


def test_edf_plus_d_without_gaps_reads_as_continuous(tmp_path):
    f = tmp_path / "d.edf"
    _gapped_edf(read_wfdb(sample_path("119")), f, gap_s=0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = read_source(expand_inputs([str(f)])[0])
    assert got.n_samples == 36000 and np.isfinite(got.signal).all()


def test_edf_without_edfio_says_what_to_install(tmp_path, monkeypatch):
    import sys

    from ecgtool.io.edffiles import read_edf

    monkeypatch.setitem(sys.modules, "edfio", None)
    with pytest.raises(EcgToolError, match=r"pip install 'ecgtool\[edf\]'"):
        read_edf(tmp_path / "x.edf")


def test_mat_v73_is_read_through_h5py(tmp_path):
    # MATLAB v7.3 files are HDF5 behind a 512-byte MATLAB header; MATLAB
    # writes arrays column-major, so h5py sees them transposed.
    import h5py

    from ecgtool.io.matfiles import read_mat

    f = tmp_path / "v73.mat"
    x = np.random.default_rng(0).normal(size=(2, 3000))
    with h5py.File(f, "w", userblock_size=512) as h:
        h.create_dataset("ecg", data=x.T)
        h.create_dataset("fs", data=np.array([[250.0]]))
    head = b"MATLAB 7.3 MAT-file".ljust(116) + bytes(8) + b"\x00\x02IM"
    with open(f, "r+b") as fh:
        fh.write(head)
    rec = read_mat(f, all_leads=True)
    assert rec.fs == 250 and rec.leads == ["ch0", "ch1"] and np.allclose(rec.signals, x.T)
    f.write_bytes(f.read_bytes()[:700])
    with pytest.raises(EcgToolError, match="not a readable MATLAB v7.3 file"):
        read_mat(f)


def test_damaged_store_gives_our_error(tmp_path, rec119):
    # h5py raises OSError, KeyError or RuntimeError from deep inside a damaged
    # file; each must come out as the one-line error naming the store.
    from ecgtool.signal.detect import detect_beats

    good = tmp_path / "good.h5"
    rec = read_wfdb(sample_path("119"))
    rec.signals = rec.signals[:3600]
    with StoreWriter(good) as w:
        w.finish(w.begin("119", rec, detect_beats(rec.signal, rec.fs)))
    data = good.read_bytes()
    bad = tmp_path / "bad.h5"
    errors = 0
    for at in range(0, min(len(data), 12000), 61):
        bad.write_bytes(data[:at] + b"\xff" * 8 + data[at + 8:])
        try:
            for src in expand_inputs([str(bad)]):
                read_source(src)
        except EcgToolError as exc:
            assert "\n" not in str(exc) and "bad.h5" in str(exc)
            errors += 1
    assert errors > 5


def test_beats_table_rate_and_damage():
    from ecgtool.io.beatfiles import read_beats_table

    good = "record,r_peak,time_s,p_onset,qrs_onset\na,360,1.0000,280,350\na,900,2.5000,820,890\n"
    bt = read_beats_table(good, "b.csv")[0]
    assert bt.fs == 360.0 and bt.beats.pr_ms.tolist() == pytest.approx([70 / 0.36] * 2)
    # Times that no rate explains: times only, no beats.
    assert read_beats_table(good.replace("2.5000", "2.6000"), "b.csv")[0].beats is None
    with pytest.raises(EcgToolError, match="b.csv: not a readable beats table"):
        read_beats_table(good.replace("a,900", "a\r,900"), "b.csv")
    # A class outside AAMI's five counted in no burden (N 33 %, V 33 %, and
    # the third beat nowhere): it is an error naming its line.
    labelled = "record,time_s,aami\na,1.0,N\na,2.0,X\na,3.0, V\n"
    with pytest.raises(EcgToolError, match="line 3: class 'X' is none of N, S, V, F, Q"):
        read_beats_table(labelled, "b.csv")
    assert read_beats_table(labelled.replace("X", "S"), "b.csv")[0].labels.tolist() == \
        ["N", "S", "V"]
    # A table written (or joined) twice doubled every rate: two beats of one
    # record at one time are an error naming both lines.
    twice = good + "a,360,1.0000,280,350\n"
    with pytest.raises(EcgToolError, match="lines 2 and 4: record 'a' has two beats at 1 s"):
        read_beats_table(twice, "b.csv")
    other = good + "b,360,1.0000,280,350\n"  # one time in two records: fine
    assert [b.name for b in read_beats_table(other, "b.csv")] == ["a", "b"]


def test_beats_table_keeps_the_r_amplitude():
    # Measured on the signal, the R amplitude lives only in the table: the
    # beats-table head reads it (it had been read as missing, 1 mV for all).
    from ecgtool.io.beatfiles import read_beats_table

    text = "record,r_peak,time_s,r_amp_mv\na,360,1.0000,1.2500\na,900,2.5000,\n"
    amp = read_beats_table(text, "b.csv")[0].beats.r_amp_mv
    assert amp[0] == 1.25 and np.isnan(amp[1])


def test_a_header_is_parsed_once_while_it_stays_as_it_was(tmp_path):
    import os

    from ecgtool.io.inputs import _header_length, source_length

    for ext in ("hea", "dat"):
        shutil.copy(sample_path("119").with_suffix("." + ext), tmp_path / f"r.{ext}")
    src = expand_inputs([str(tmp_path / "r.hea")])[0]
    _header_length.cache_clear()
    first = source_length(src)
    assert source_length(src) == first and _header_length.cache_info().hits == 1
    # A rewritten header (a new length) is read again.
    hea = tmp_path / "r.hea"
    lines = hea.read_text().splitlines()
    head = lines[0].split()
    head[3] = str(int(head[3]) // 2)
    hea.write_text("\n".join([" ".join(head)] + lines[1:]) + "\n")
    st = os.stat(hea)
    os.utime(hea, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert source_length(src) == (first[0] // 2, first[1])


def test_a_csv_time_column_under_another_name_is_not_taken_for_the_ecg(tmp_path):
    # A German export: "Zeit (s)" is no time column by name, so the first
    # column, a ramp, was read as the ECG (no QRS found). Columns rising in
    # even steps are times or sample numbers; units in a name are read.
    from ecgtool.io.csvfiles import read_csv

    rec119 = read_wfdb(sample_path("119"))
    x = rec119.signal[:3600]
    f = tmp_path / "export.csv"
    f.write_text("Zeit (s);EKG (µV)\n" + "".join(
        f"{i / 360:.4f};{v * 1000:.1f}\n".replace(".", ",") for i, v in enumerate(x)))
    rec = read_csv(f, fs=360)
    assert rec.lead == "EKG (µV)" and np.abs(rec.signal - x).max() < 1e-3
    f.write_text("sample_no,ECG [mV]\n" + "".join(f"{i},{v:.4f}\n" for i, v in enumerate(x)))
    assert read_csv(f, fs=360).lead == "ECG [mV]"
    # A time column named with its unit gives the rate ("Time (s)", "Time [ms]").
    for name, scale in (("Time (s)", 1.0), ("Time [ms]", 1000.0)):
        f.write_text(f"{name},Lead II\n" + "".join(f"{i * scale / 360:.4f},{v:.4f}\n"
                                                   for i, v in enumerate(x)))
        rec = read_csv(f)
        assert rec.fs == 360.0 and rec.lead == "Lead II", name
    # Milliseconds under a plain "time" read as a rate of 0.36 Hz: said so.
    f.write_text(f.read_text().replace("Time [ms]", "time"))
    with pytest.raises(EcgToolError, match="give 0.36 Hz: if they are in ms, name the column"):
        read_csv(f)


def test_one_record_named_twice_is_read_once_under_its_own_name(tmp_path):
    # sample:119 and its path, or overlapping globs: read twice, it came out
    # as "data_119" and "data_119_2". Two records of one name in two folders
    # stay two, named by their folders.
    path = str(sample_path("119").with_suffix(".hea"))
    glob_ = str(sample_path("119").parent / "1*.hea")
    assert [s.name for s in expand_inputs(["sample:119", path, glob_])] == ["119"]
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        for ext in ("hea", "dat"):
            shutil.copy(sample_path("119").with_suffix("." + ext), tmp_path / d / f"119.{ext}")
    names = [s.name for s in expand_inputs([str(tmp_path / "a" / "119.hea"),
                                            str(tmp_path / "b" / "119.hea")])]
    assert names == ["a_119", "b_119"]


def test_the_length_and_the_reading_of_a_record_share_one_parse_of_its_header(
        tmp_path, monkeypatch):
    # wfdb's parser takes 12 ms for a 12-lead header; each 10-s record of a
    # CinC archive asked for it once for its length and again to be read.
    import wfdb

    from ecgtool.io.inputs import source_length

    for ext in ("hea", "dat"):
        shutil.copy(sample_path("119").with_suffix("." + ext), tmp_path / f"119.{ext}")
    calls = []
    real = wfdb.rdheader
    monkeypatch.setattr(wfdb, "rdheader", lambda *a, **k: calls.append(a) or real(*a, **k))
    src = expand_inputs([str(tmp_path / "119.hea")])[0]
    n, fs = source_length(src)
    rec = read_source(src)
    assert rec.n_samples == n and rec.fs == fs and len(calls) == 1


def test_output_to_a_pipe_or_device_is_written_in_place_not_replaced(tmp_path):
    # --out /dev/null or /dev/stdout: a temporary file renamed onto the path
    # would replace the device itself (as root, /dev/null became a file). A
    # FIFO stands in for the device here.
    import os
    import stat
    import threading

    from ecgtool.io.store import atomic_path

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    with atomic_path(fifo) as p:
        p.write_text("beats\n")
    reader.join(timeout=10)
    assert got == ["beats\n"] and stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["pipe"]  # no temporary left


def test_a_folder_of_subfolders_gives_their_records_with_names_kept_apart(tmp_path):
    # Archives keep a folder per patient or site; two may hold the same name.
    from ecgtool.io.inputs import expand_inputs

    for sub in ("site1", "site2"):
        (tmp_path / sub).mkdir()
        for ext in ("hea", "dat"):
            shutil.copy(sample_path("119").with_suffix(f".{ext}"), tmp_path / sub / f"119.{ext}")
    shutil.copy(sample_path("208").with_suffix(".hea"), tmp_path / "site1" / "208.hea")
    shutil.copy(sample_path("208").with_suffix(".dat"), tmp_path / "site1" / "208.dat")
    names = sorted(s.name for s in expand_inputs([str(tmp_path)]))
    assert names == ["208", "site1_119", "site2_119"]
    assert sorted(s.name for s in expand_inputs([str(tmp_path / "**" / "*.hea")])) == names
    (tmp_path / "empty" / "deeper").mkdir(parents=True)
    with pytest.raises(EcgToolError, match="folder holds no records .* nor do its subfolders"):
        expand_inputs([str(tmp_path / "empty")])


def test_a_csv_piped_in_reads_as_its_file(tmp_path):
    # The stream reader had its own head parsing: a time column under an
    # unknown name ("Zeit") was taken for the ECG (no beats), a units row
    # stopped it, and units in a column's name were ignored (uV read as mV).
    import io

    from ecgtool.io.records import read_sample
    from ecgtool.stream import sample_chunks

    x = read_sample("119").signal[:720]
    t = np.arange(x.size) / 360
    texts = {
        "eu": "Zeit;Kanal\n" + "".join(f"{a:.4f};{b:.3f}\n".replace(".", ",")
                                       for a, b in zip(t, x)),
        "units": "'Elapsed time','MLII'\n'seconds','uV'\n" + "".join(
            f"{a:.4f},{b * 1000:.0f}\n" for a, b in zip(t, x)),
        "name": "EKG (uV)\n" + "".join(f"{b * 1000:.0f} # note\n" for b in x),
    }
    for kind, text in texts.items():
        (tmp_path / "s.csv").write_text(text)
        rec = read_csv(tmp_path / "s.csv", fs=360)
        streamed = np.concatenate(list(sample_chunks(io.StringIO(text), 360, chunk=100)))
        np.testing.assert_allclose(rec.signal.ravel(), x, atol=6e-4, err_msg=kind)
        assert streamed.tolist() == rec.signal.ravel().tolist(), kind
    with pytest.raises(EcgToolError, match="non-numeric value on line 4"):
        list(sample_chunks(io.StringIO("ECG\n# c\n0.1\n\n0.2\nx\n"), 360, chunk=1))


def test_read_record_takes_what_the_commands_take(tmp_path):
    import ecgtool

    rec = ecgtool.read_record("sample:119", channel="V1")
    assert (rec.name, rec.lead) == ("119", "V1") and len(rec.annotations) > 2000
    csv_file = tmp_path / "x.csv"
    csv_file.write_text("".join(f"{v}\n" for v in range(1000)))
    assert ecgtool.read_record(csv_file, fs=250).fs == 250.0
    with pytest.raises(ecgtool.EcgToolError, match="names 2 records, not one"):
        ecgtool.read_record(sample_path("119").parent)


def test_a_compressed_csv_reads_as_the_plain_one_and_an_archive_is_named(tmp_path):
    import bz2
    import gzip
    import lzma

    from typer.testing import CliRunner

    from ecgtool.cli import app

    text = "time,MLII,V1\n" + "".join(f"{i / 250:.3f},{i % 7 * 0.1:.1f},0\n" for i in range(600))
    (tmp_path / "r.csv").write_text(text)
    plain = read_csv(tmp_path / "r.csv")
    for suffix, module in ((".gz", gzip), (".bz2", bz2), (".xz", lzma)):
        p = tmp_path / f"rec.csv{suffix}"
        with module.open(p, "wt") as f:
            f.write(text)
        [src] = expand_inputs([str(p)])
        rec = read_source(src)
        assert (src.kind, rec.name, rec.fs, rec.lead) == ("csv", "rec", 250.0, "MLII"), suffix
        assert rec.signal.tolist() == plain.signal.tolist(), suffix
    p = tmp_path / "rec.csv.gz"
    p.write_bytes(p.read_bytes()[:40])
    with pytest.raises(EcgToolError, match="cannot read .Compressed file ended"):
        read_csv(p)
    (tmp_path / "all.zip").write_bytes(b"PK\x03\x04")
    r = CliRunner().invoke(app, ["detect", str(tmp_path / "all.zip"), "--out", "-"])
    assert r.exit_code == 1 and "an archive or a compressed file" in r.output


def test_a_lead_of_several_samples_a_frame_is_read_at_its_own_rate(tmp_path):
    # A multi-frequency record: lead II at 2 samples a 180-Hz frame, RESP at 1.
    # wfdb averages a frame's samples; the lead is read at its 360 Hz, its
    # annotations (in frames, as WFDB counts them) in its samples.
    import wfdb

    from ecgtool.io.inputs import expand_inputs, source_length

    x = read_wfdb(sample_path("119"), all_leads=True).signals[:7200]
    rec = wfdb.Record(record_name="mf", fs=180, n_sig=2, sig_name=["II", "RESP"],
                      units=["mV", "mV"], fmt=["16", "16"], adc_gain=[200, 200],
                      baseline=[0, 0], samps_per_frame=[2, 1], e_p_signal=[x[:, 0], x[::2, 1]],
                      sig_len=3600, file_name=["mf.dat"] * 2, block_size=[0, 0],
                      skew=[None, None], byte_offset=[None, None], adc_res=[16, 16],
                      adc_zero=[0, 0])
    rec.set_d_features(expanded=True, do_adc=True)
    rec.init_value = [int(d[0]) for d in rec.e_d_signal]
    rec.checksum = [int(d.sum()) % 65536 for d in rec.e_d_signal]
    rec.wrsamp(expanded=True, write_dir=str(tmp_path))
    wfdb.wrann("mf", "atr", np.array([100, 900]), ["N", "V"], fs=180, write_dir=str(tmp_path))
    got = read_wfdb(tmp_path / "mf", all_leads=True)
    assert got.fs == 360.0 and got.leads == ["II"] and got.n_samples == 7200
    np.testing.assert_allclose(got.signal, x[:, 0], atol=0.005)  # 200 adu/mV
    assert got.annotations.sample.tolist() == [200, 1800]
    part = read_wfdb(tmp_path / "mf", sampfrom=1001, sampto=3001)
    assert part.signal.tolist() == got.signal[1001:3001].tolist()
    slow = read_wfdb(tmp_path / "mf", channel="RESP")
    assert slow.fs == 180.0 and slow.n_samples == 3600
    [src] = expand_inputs([str(tmp_path / "mf")])
    assert source_length(src) == (7200, 360.0) and source_length(src, "RESP") == (3600, 180.0)
    # A high-resolution annotation file (WFDB's wrann -H) counts ticks at the
    # fastest lead's rate, not frames: beat 1001 lies in frame 500.
    wfdb.wrann("mf", "qrs", np.array([1001, 1799]), ["N", "N"], fs=360, write_dir=str(tmp_path))
    assert read_wfdb(tmp_path / "mf", ann="qrs").annotations.sample.tolist() == [1001, 1799]
    resp = read_wfdb(tmp_path / "mf", channel="RESP", ann="qrs")
    assert resp.annotations.sample.tolist() == [500, 900]  # RESP's samples are the frames
    assert read_annotations(tmp_path / "mf", "qrs").sample.tolist() == [500, 900]
    # Named as the second lead, the slower lead is read onto the first's samples.
    from ecgtool.io.inputs import ReadOptions
    from ecgtool.io.secondlead import second_lead

    other = second_lead(src, ReadOptions(second_lead="RESP"), got)
    assert other.shape == (7200,)
    np.testing.assert_allclose(other[::2], x[::2, 1], atol=0.005)
    np.testing.assert_allclose(other[1:-1:2], (x[:-2:2, 1] + x[2::2, 1]) / 2, atol=0.005)


def test_a_given_rate_unlike_the_files_own_is_used_and_said(tmp_path):
    import warnings

    from ecgtool.errors import EcgToolWarning

    p = tmp_path / "t.csv"
    p.write_text("time,ecg\n" + "".join(f"{i / 500:.4f},{i % 7 * 0.1:.1f}\n" for i in range(900)))
    with pytest.warns(EcgToolWarning, match="--fs 250 Hz where its time column gives 500 Hz"):
        assert read_csv(p, fs=250).fs == 250.0
    p.write_text("Sample Rate,512 hertz\nUnit,uV\n" + "1\n2\n" * 400)
    with pytest.warns(EcgToolWarning, match="--fs 500 Hz where its metadata gives 512 Hz"):
        assert read_csv(p, fs=500).fs == 500.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", EcgToolWarning)
        assert read_csv(p, fs=512).fs == 512.0
