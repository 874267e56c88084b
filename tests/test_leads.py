"""R peaks from two leads: the judge, the fusion, and --second-lead."""

from pathlib import Path

import numpy as np
import pytest
import wfdb
from typer.testing import CliRunner

import ecgtool
from ecgtool.cli import app
from ecgtool.errors import EcgToolError, EcgToolWarning
from ecgtool.evaluate.beats import match_beats, reference_beats
from ecgtool.io.records import sample_path
from ecgtool.io.wfdbfiles import read_wfdb
from ecgtool.signal.detect import detect_beats, detect_r_peaks
from ecgtool.signal.leads import (FEATURES, WINDOW_S, _has_twin, fuse_r_peaks, judge_inputs,
                                  load_judge, second_lead_probability, window_quality)
from ecgtool.stream import StreamDetector


@pytest.fixture(scope="module")
def both119():
    rec = wfdb.rdrecord(str(sample_path("119")), sampto=int(600 * 360))
    ref = reference_beats(read_wfdb(sample_path("119")).annotations)
    return rec.p_signal[:, 0].copy(), rec.p_signal[:, 1].copy(), float(rec.fs), \
        ref[ref < rec.sig_len]


def errors(ref, peaks, fs):
    m = match_beats(ref, peaks, int(0.15 * fs))
    return m.fn + m.fp


def burst(n, lo, hi, sd, seed):
    # Broadband noise on one stretch, as an electrode pulled off the skin makes.
    out = np.zeros(n)
    out[lo:hi] = np.random.default_rng(seed).normal(0.0, sd, hi - lo)
    return out


def test_the_judge_is_a_valid_tree_ensemble():
    j = load_judge()
    n_in = 3 * len(FEATURES)
    inner = j["left"] >= 0
    assert j["feature"][inner].min() >= 0 and j["feature"][inner].max() < n_in
    # Children lie after their parent, so every path ends at a leaf.
    rows = np.nonzero(inner)
    assert (j["left"][rows] > rows[1]).all() and (j["right"][rows] > rows[1]).all()
    p = second_lead_probability(np.random.default_rng(0).normal(size=(50, n_in)))
    assert ((p > 0) & (p < 1)).all()


def test_noise_on_one_lead_sends_its_windows_to_the_other(both119):
    first, second, fs, ref = both119
    n = first.size
    lo, hi = int(120 * fs), int(300 * fs)
    noisy = first + burst(n, lo, hi, 0.6, 1)
    alone = detect_r_peaks(noisy, fs)
    fused = fuse_r_peaks(noisy, second, fs)
    w = int(WINDOW_S * fs)
    taken = np.flatnonzero(fused.second_windows)
    assert taken.size > 3 and taken.min() >= lo // w and taken.max() <= hi // w
    assert errors(ref, fused.r_peak, fs) < errors(ref, alone, fs) / 3
    # And the other way round: noise on the second lead leaves the first's beats.
    other = fuse_r_peaks(first, second + burst(n, lo, hi, 0.6, 2), fs)
    assert not other.second_windows.any()
    assert errors(ref, other.r_peak, fs) <= errors(ref, detect_r_peaks(first, fs), fs)


def test_clean_leads_cost_no_beats(rec208):
    # 208 as recorded: its second lead misses PVCs the first finds.
    rec = wfdb.rdrecord(str(sample_path("208")))
    ref = reference_beats(rec208.annotations)
    x, y, fs = rec.p_signal[:, 0], rec.p_signal[:, 1], float(rec.fs)
    assert errors(ref, fuse_r_peaks(x, y, fs).r_peak, fs) <= errors(ref, detect_r_peaks(x, fs), fs)
    assert errors(ref, detect_r_peaks(y, fs), fs) > 100


def test_a_flat_or_missing_second_lead_leaves_the_first(both119):
    first, _, fs, _ = both119
    alone = detect_r_peaks(first, fs)
    with pytest.warns(EcgToolWarning, match="the second lead shows no QRS complex"):
        flat = fuse_r_peaks(first, np.zeros_like(first), fs)
    assert np.array_equal(flat.r_peak, alone) and not flat.second.any()
    with pytest.raises(EcgToolError, match="differ in length"):
        fuse_r_peaks(first, first[:-5], fs)


def test_gaps_in_either_lead(both119):
    first, second, fs, ref = both119
    lo, hi = int(50 * fs), int(80 * fs)
    gap = second.copy()
    gap[lo:hi] = np.nan
    alone = detect_r_peaks(first, fs)
    assert errors(ref, fuse_r_peaks(first, gap, fs).r_peak, fs) <= errors(ref, alone, fs)
    # Noise on the first lead elsewhere still sends its windows to the second.
    noisy = first + burst(first.size, int(120 * fs), int(300 * fs), 0.6, 1)
    assert errors(ref, fuse_r_peaks(noisy, gap, fs).r_peak, fs) < \
        errors(ref, detect_r_peaks(noisy, fs), fs) / 3
    # No beat where the lead they are measured on has no signal.
    hole = first.copy()
    hole[lo:hi] = np.nan
    peaks = detect_beats(hole, fs, second=second).r_peak
    assert not ((peaks >= lo) & (peaks < hi)).any()
    assert errors(ref[(ref < lo) | (ref >= hi)], peaks, fs) <= errors(ref, alone, fs)


def test_window_quality_measures(both119):
    first, second, fs, _ = both119
    pa, pb = detect_r_peaks(first, fs), detect_r_peaks(second, fs)
    q = window_quality(first, fs, pa, pb, window_s=10.0)
    assert q.shape == (60, len(FEATURES))
    # Clean and steady: beats alike, found on both leads, background low.
    assert np.median(q[:, 1]) > 0.9 and np.median(q[:, 2]) > 0.95 and np.median(q[:, 0]) < 0
    assert judge_inputs(q, q).shape == (60, 3 * len(FEATURES))
    assert window_quality(first, fs, pa, pb).shape[0] == int(np.ceil(600 / WINDOW_S))
    empty = window_quality(first, fs, pa[:0], pb)
    assert (empty[:, 2] == 0).all() and (empty[:, 5] == 0).all()
    assert _has_twin(np.array([100, 200]), np.array([130]), 36).tolist() == [True, False]
    assert _has_twin(np.array([100]), np.array([], dtype=np.int64), 36).tolist() == [False]


def test_beats_where_the_first_lead_is_off_come_from_the_second_and_read_q(both119):
    from ecgtool.analysis import analyse_signal

    first, second, fs, ref = both119
    off = first.copy()
    off[int(100 * fs):int(200 * fs)] = off[int(100 * fs)]      # an electrode off for 100 s
    assert errors(ref, detect_r_peaks(off, fs), fs) > 100
    a = analyse_signal(off, fs, "off", second=second)
    assert errors(ref, np.round(a.times_s * fs).astype(int), fs) <= 2
    inside = (a.times_s > 100.5) & (a.times_s < 199.5)
    # The lead they are classified on shows nothing there: unclassifiable.
    assert inside.sum() > 100 and (np.asarray(a.labels)[inside] == "Q").all()
    assert (np.asarray(a.labels)[~inside] != "Q").mean() > 0.99


def test_the_strip_draws_the_second_lead_below_the_first(both119):
    from ecgtool.report import plot_strip

    first, second, fs, _ = both119
    t = np.arange(0, 10, 0.8)
    fig = plot_strip(first[:3600], fs, t, None, None, 0.0, 10.0, second=(second, 0, "V1"))
    ax = fig.axes[0]
    top, bottom = ax.lines[0].get_ydata(), ax.lines[-1].get_ydata()
    assert bottom.size == 3600 and bottom.max() < top.min()
    assert any(txt.get_text().strip() == "V1" for txt in ax.texts)


def test_detect_beats_takes_a_second_lead(both119):
    first, second, fs, ref = both119
    noisy = first + burst(first.size, int(60 * fs), int(200 * fs), 0.6, 3)
    beats = detect_beats(noisy, fs, second=second)
    assert errors(ref, beats.r_peak, fs) < errors(ref, detect_beats(noisy, fs).r_peak, fs)
    assert (beats.qrs_onset[beats.qrs_onset >= 0] < beats.r_peak[beats.qrs_onset >= 0]).all()


def test_the_stream_takes_a_second_lead_block_by_block(both119):
    first, second, fs, ref = both119
    noisy = first + burst(first.size, int(60 * fs), int(200 * fs), 0.6, 4)
    det = StreamDetector(fs, block_s=60.0)
    parts = [det.feed(noisy[i:i + 36000], second[i:i + 36000])[0]
             for i in range(0, noisy.size, 36000)]
    peaks = np.concatenate(parts + [det.finish()[0]])
    whole = fuse_r_peaks(noisy, second, fs).r_peak
    assert abs(errors(ref, peaks, fs) - errors(ref, whole, fs)) <= 3
    with pytest.raises(ValueError, match="differs in length"):
        StreamDetector(fs).feed(noisy[:1000], second[:999])
    half = StreamDetector(fs)
    half.feed(noisy[:1000], second[:1000])
    with pytest.raises(ValueError, match="with every block or with none"):
        half.feed(noisy[1000:2000])


def test_a_csv_second_lead_is_another_column(tmp_path, both119):
    first, second, fs, ref = both119
    noisy = first + burst(first.size, int(60 * fs), int(200 * fs), 0.6, 5)
    csv = tmp_path / "two.csv"
    t = np.arange(first.size) / fs
    np.savetxt(csv, np.column_stack([t, noisy, second]), delimiter=",",
               header="time,MLII,V1", comments="")
    run = CliRunner().invoke

    def found(*extra):
        r = run(app, ["detect", str(csv), "--out", "-", "-q", *extra])
        assert r.exit_code == 0, r.output
        return np.array([int(ln.split(",")[1]) for ln in r.stdout.splitlines()[1:]])

    one, named, auto = found(), found("--second-lead", "V1"), found("--second-lead", "auto")
    assert np.array_equal(named, auto)
    assert errors(ref, named, fs) < errors(ref, one, fs) / 3
    r = run(app, ["detect", str(csv), "--second-lead", "MLII", "--out", "-"])
    assert r.exit_code == 1 and "names the lead the beats are found on" in r.stderr
    # The strip draws the other column too (it had looked for a lead V1 among MLII alone).
    r = run(app, ["plot", str(csv), "--second-lead", "V1", "--out", str(tmp_path / "c.png")])
    assert r.exit_code == 0 and (tmp_path / "c.png").exists(), r.output
    # Standard input is read once: no second look for the other lead.
    r = run(app, ["detect", "-", "--fs", "360", "--second-lead", "V1", "--out", "-"],
            input=csv.read_text())
    assert r.exit_code == 1 and "give a file, not stdin" in r.stderr, r.output
    r = run(app, ["diagnose", "-", "--fs", "360", "--second-lead", "V1", "--out", "-"],
            input=csv.read_text())
    assert r.exit_code == 1 and "give a file, not stdin" in r.stderr, r.output


def test_cli_second_lead(tmp_path):
    run = CliRunner().invoke
    r = run(app, ["detect", "sample:119", "--second-lead", "V1", "--out", str(tmp_path / "b.csv")])
    assert r.exit_code == 0, r.output
    one = run(app, ["detect", "sample:119", "--out", "-", "-q"])
    assert r.stdout == ""  # the table went to the file
    lines = (tmp_path / "b.csv").read_text().splitlines()
    assert abs(len(lines) - len(one.stdout.splitlines())) <= 2
    for lead, words in (("MLII", "names the lead the beats are found on"),
                        ("V9", "no lead named 'V9'")):
        bad = run(app, ["detect", "sample:119", "--second-lead", lead, "--out",
                        str(tmp_path / "x.csv")])
        assert bad.exit_code == 1 and words in bad.stderr, bad.output
        assert len(bad.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "x.csv").exists()
    # SVDB names both its leads ECG: they are told apart by place.
    svdb = tmp_path / "two"
    rec = wfdb.rdrecord(str(sample_path("119")), sampto=36000)
    wfdb.wrsamp("two", fs=rec.fs, units=rec.units, sig_name=["ECGA", "ECGB"],
                p_signal=rec.p_signal, fmt=["16", "16"], write_dir=str(tmp_path))
    hea = tmp_path / "two.hea"  # wfdb writes no two leads of one name
    hea.write_text(hea.read_text().replace("ECGA", "ECG").replace("ECGB", "ECG"))
    r = run(app, ["detect", str(svdb), "--second-lead", "1", "--out", "-", "-q"])
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 109, r.output
    # auto: the first lead other than --channel; none on a one-lead record.
    r = run(app, ["detect", "sample:119", "--second-lead", "auto", "--out", "-", "-q"])
    assert r.exit_code == 0 and r.stdout.splitlines()[1:] == lines[1:], r.output
    one = tmp_path / "one.csv"
    np.savetxt(one, rec.p_signal[:, 0], header="ecg", comments="")
    r = run(app, ["detect", str(one), "--fs", "360", "--second-lead", "auto", "--out", "-"])
    assert r.exit_code == 0 and "one lead only: --second-lead auto finds no other" in r.stderr
    png = tmp_path / "s.png"
    r = run(app, ["plot", "sample:119", "--start", "0:01:00", "--second-lead", "auto",
                  "--out", str(png)])
    assert r.exit_code == 0 and png.read_bytes()[:4] == b"\x89PNG", r.output
    r = run(app, ["evaluate", "sample:119", "--second-lead", "auto"])
    assert r.exit_code == 0 and "gross" in r.stdout and "100.00" in r.stdout, r.output
    r = run(app, ["diagnose", "sample:208", "--second-lead", "1", "--out", "-"])
    assert r.exit_code == 0 and '"record": "208"' in r.stdout, r.output


def test_beats_that_are_read_say_the_options_that_find_beats_find_nothing(tmp_path):
    run = CliRunner().invoke
    store, table = tmp_path / "b.h5", tmp_path / "b.csv"
    for out in (store, table):
        r = run(app, ["detect", "sample:119", "--start", "0", "--end", "60", "--out", str(out)])
        assert r.exit_code == 0, r.output
    said = "--second-lead finds no beats here"
    for cmd, src, why in (("classify", store, "the store's beats are used as they were found"),
                          ("classify", table, "a beats table has no signal"),
                          ("rhythm", table, "beat times have no signal")):
        r = run(app, [cmd, str(src), "--second-lead", "auto", "--out", "-"])
        assert r.exit_code == 0 and f"{said}: {why}" in r.stderr, r.output
    r = run(app, ["classify", str(store), "--detector", "refractory_ms=250", "--second-lead",
                  "auto", "--out", "-"])
    assert r.exit_code == 0 and "--second-lead and --detector find no beats here" in r.stderr
    # Nor do the networks that measure beats measure the beats that are read.
    net = "--qrs-net and --p-net measure nothing here: beats that are read keep"
    for src in (store, table):
        r = run(app, ["classify", str(src), "--qrs-net", "none", "--p-net", str(
            Path(ecgtool.__file__).parent / "signal" / "pnet.npz"), "--out", "-"])
        assert r.exit_code == 0 and net in r.stderr, r.output
    r = run(app, ["rhythm", str(table), "--p-net", "none", "--out", "-"])
    assert r.exit_code == 0 and "measure" not in r.stderr, r.output
    # Where beats are found now, nothing is said.
    r = run(app, ["classify", "sample:119", "--start", "0", "--end", "60", "--second-lead",
                  "auto", "--qrs-net", "none", "--out", "-"])
    assert r.exit_code == 0 and said not in r.stderr and "measure" not in r.stderr, r.output


def test_the_second_lead_of_an_edf_file_with_another_signal_first(tmp_path):
    # A Holter EDF often begins with a slow channel (events, temperature):
    # the second lead is found among the leads at the first lead's rate, and
    # read by name, not by its place in that shorter list.
    from ecgtool.io.inputs import ReadOptions, expand_inputs, read_source
    from ecgtool.io.secondlead import second_lead

    edfio = pytest.importorskip("edfio")
    rec = read_wfdb(sample_path("119"), all_leads=True)
    x = rec.signals[:36000]
    f = tmp_path / "h.edf"
    edfio.Edf([edfio.EdfSignal(np.full(100, 36.6), 1, label="Temp", physical_dimension="degC"),
               edfio.EdfSignal(x[:, 0], 360, label="MLII", physical_dimension="mV"),
               edfio.EdfSignal(x[:, 1], 360, label="V1", physical_dimension="mV")]).write(f)
    [src] = expand_inputs([str(f)])
    first = read_source(src)
    assert first.lead == "MLII"
    for name in ("auto", "V1", "1"):
        other = second_lead(src, ReadOptions(second_lead=name), first)
        assert np.abs(other - x[:, 1]).max() < 1e-3, name
    # --channel by index counts every signal (V1 is the third); --second-lead
    # then finds the other lead at that rate.
    v1 = read_source(src, ReadOptions(channel=2))
    assert v1.lead == "V1"
    other = second_lead(src, ReadOptions(channel=2, second_lead="auto"), v1)
    assert np.abs(other - x[:, 0]).max() < 1e-3
    with pytest.raises(EcgToolError, match="names the lead the beats are found on"):
        second_lead(src, ReadOptions(channel=2, second_lead="V1"), v1)
    with pytest.raises(EcgToolError, match="Temp is recorded at 1 Hz: no ECG lead"):
        second_lead(src, ReadOptions(second_lead="Temp"), first)


@pytest.mark.parametrize("rate", [250, 1000])
def test_a_second_lead_at_another_rate_is_read_onto_the_first_leads_samples(tmp_path, rate):
    # An EDF file's leads may have rates of their own: the second lead was
    # an error; it is read at its rate and brought onto the first lead's
    # samples, whole or in blocks, and finds the beats the same-rate lead does.
    from scipy.signal import resample_poly

    from ecgtool.io.inputs import ReadOptions, expand_inputs, read_source
    from ecgtool.io.secondlead import read_second, second_lead, second_lead_options
    from ecgtool.signal.detect import detect_beats

    edfio = pytest.importorskip("edfio")
    rec = read_wfdb(sample_path("119"), all_leads=True)
    x = rec.signals[:360 * 120]
    v1 = resample_poly(x[:, 1], rate, 360)
    f = tmp_path / "r.edf"
    edfio.Edf([edfio.EdfSignal(x[:, 0], 360, label="MLII", physical_dimension="mV"),
               edfio.EdfSignal(v1, rate, label="V1", physical_dimension="mV")]).write(f)
    [src] = expand_inputs([str(f)])
    first = read_source(src)
    other = second_lead(src, ReadOptions(second_lead="V1"), first)
    assert other.shape == first.signal.shape
    # The lead itself, within what resampling twice leaves of its QRS complexes.
    assert np.percentile(np.abs(other - x[:, 1]), 99) < 0.05
    opts = second_lead_options(src, ReadOptions(second_lead="V1"))
    block = read_second(src, opts, 360.0, 7200, 10800)
    assert block.fs == 360.0 and block.lead == "V1"
    assert np.allclose(block.signal, other[7200:10800], rtol=0, atol=1e-9)
    same = detect_beats(x[:, 0], 360.0, second=x[:, 1])
    moved = detect_beats(first.signal, 360.0, second=other)
    assert len(moved) == len(same)
    assert np.abs(moved.r_peak - same.r_peak).max() <= 1
    # auto: the one lead at the first lead's rate has no twin there; the
    # signal at another rate whose label names a lead is taken, not Temp.
    g = tmp_path / "t.edf"
    edfio.Edf([edfio.EdfSignal(np.full(120, 36.6), 1, label="Temp", physical_dimension="degC"),
               edfio.EdfSignal(x[:, 0], 360, label="MLII", physical_dimension="mV"),
               edfio.EdfSignal(v1, rate, label="V1", physical_dimension="mV")]).write(g)
    [src] = expand_inputs([str(g)])
    auto = second_lead(src, ReadOptions(second_lead="auto"), read_source(src))
    assert np.array_equal(auto, other)


def test_the_report_strips_draw_the_second_lead(monkeypatch):
    import ecgtool.report as report
    from ecgtool.analysis import analyse_job
    from ecgtool.io.inputs import ReadOptions, expand_inputs

    [src] = expand_inputs(["sample:119"])
    drawn = []
    real = report.plot_strip
    monkeypatch.setattr(report, "plot_strip",
                        lambda *a, **kw: drawn.append(kw.get("second")) or real(*a, **kw))
    for opts in (ReadOptions(second_lead="auto"), ReadOptions()):
        a = analyse_job(src, opts, classify=False)
        assert report.strip(a, 60.0).startswith("data:image/png;base64,")
    (x, offset, name), none = drawn
    assert name == "V1" and offset == 0 and x.size == a.record.n_samples
    assert none is None


def test_auto_passes_over_a_channel_that_is_no_ecg_lead(tmp_path, both119):
    from ecgtool.io.inputs import ReadOptions, expand_inputs, read_source
    from ecgtool.io.secondlead import second_lead

    first, second, fs, _ = both119
    n = int(20 * fs)
    resp = np.sin(np.arange(n) / fs * 2 * np.pi * 0.25)
    f = tmp_path / "three.csv"
    np.savetxt(f, np.c_[np.arange(n) / fs, resp, first[:n], second[:n]], delimiter=",",
               header="time,RESP,II,V1", comments="", fmt="%.6f")
    [src] = expand_inputs([str(f)])
    rec = read_source(src)
    assert rec.lead == "II"
    other = second_lead(src, ReadOptions(second_lead="auto"), rec)
    assert np.abs(other - second[:n]).max() < 1e-5
    # Named, the channel is still taken.
    other = second_lead(src, ReadOptions(second_lead="RESP"), rec)
    assert np.abs(other - resp).max() < 1e-5


def test_convert_beats_takes_a_second_lead_and_detector_settings(tmp_path):
    run = CliRunner().invoke
    noisy = tmp_path / "n"
    rec = wfdb.rdrecord(str(sample_path("119")), sampto=int(300 * 360))
    x = rec.p_signal.copy()
    x[:, 0] += burst(x.shape[0], int(60 * 360), int(240 * 360), 0.6, 1)
    wfdb.wrsamp("n", fs=rec.fs, units=rec.units, sig_name=rec.sig_name, p_signal=x,
                fmt=["16", "16"], write_dir=str(tmp_path))
    counts = {}
    for extra in ([], ["--second-lead", "V1"], ["--detector", "threshold=0.4"]):
        key = " ".join(extra)
        out = tmp_path / f"out{len(counts)}"
        r = run(app, ["convert", str(noisy), "--beats", "--out", f"{out}/", *extra])
        assert r.exit_code == 0, r.output
        counts[key] = len(wfdb.rdann(str(out / "n"), "atr").sample)
        d = run(app, ["detect", str(noisy), "--out", "-", "-q", *extra])
        assert counts[key] == len(d.stdout.splitlines()) - 1, key
    assert counts["--second-lead V1"] < counts[""]     # the noise's false beats are gone
    assert counts["--detector threshold=0.4"] != counts[""]
    r = run(app, ["convert", str(noisy), "--second-lead", "V1", "--out", str(tmp_path / "s.h5")])
    assert r.exit_code == 1 and "--second-lead finds beats for --beats" in r.stderr
    assert not (tmp_path / "s.h5").exists()


def test_a_long_recordings_second_lead_at_another_rate_is_read_block_by_block(tmp_path,
                                                                               monkeypatch):
    # Long recordings are read in blocks counted in the first lead's samples;
    # a second lead at its own rate is read over the same time in each.
    edfio = pytest.importorskip("edfio")
    from scipy.signal import resample_poly

    import ecgtool.longrecord as longrecord
    from ecgtool.analysis import analyse_job
    from ecgtool.io.inputs import ReadOptions, expand_inputs

    monkeypatch.setattr(longrecord, "LONG_RECORD_S", 60.0)
    monkeypatch.setattr(longrecord, "READ_S", 100.0)
    rec = read_wfdb(sample_path("119"), all_leads=True)
    x = rec.signals[:360 * 300]
    noisy = x[:, 0] + burst(x.shape[0], int(60 * 360), int(200 * 360), 0.6, 4)
    peaks = {}
    for rate in (360, 500):
        f = tmp_path / f"r{rate}.edf"
        v1 = x[:, 1] if rate == 360 else resample_poly(x[:, 1], rate, 360)
        edfio.Edf([edfio.EdfSignal(noisy, 360, label="MLII", physical_dimension="mV"),
                   edfio.EdfSignal(v1, rate, label="V1", physical_dimension="mV")]).write(f)
        [src] = expand_inputs([str(f)])
        assert longrecord.is_long(src)
        a = analyse_job(src, ReadOptions(second_lead="V1"), classify=False)
        assert a.record is None  # read in blocks
        peaks[rate] = a.beats.r_peak
    assert abs(len(peaks[500]) - len(peaks[360])) <= 2
    common = np.intersect1d(peaks[500], peaks[360])
    assert common.size >= len(peaks[360]) - 4


def test_auto_takes_a_wfdb_lead_of_its_own_rate(tmp_path):
    # A multi-frequency record: MLII at 2 samples a 180-Hz frame, V1 and RESP
    # at 1. MLII is alone at its rate; auto passes RESP over and reads V1,
    # brought onto MLII's samples, as naming it does.
    import wfdb

    from ecgtool.io.inputs import ReadOptions, expand_inputs, read_source
    from ecgtool.io.secondlead import second_lead
    from ecgtool.io.wfdbfiles import wfdb_signals

    x = read_wfdb(sample_path("119"), all_leads=True).signals[:360 * 60]

    def write(name, names):
        sig = [x[:, 0]] + [x[::2, 1]] * (len(names) - 1)
        n = len(names)
        rec = wfdb.Record(record_name=name, fs=180, n_sig=n, sig_name=names,
                          units=["mV"] * n, fmt=["16"] * n, adc_gain=[200] * n,
                          baseline=[0] * n, samps_per_frame=[2] + [1] * (n - 1),
                          e_p_signal=sig, sig_len=x.shape[0] // 2,
                          file_name=[f"{name}.dat"] * n, block_size=[0] * n,
                          skew=[None] * n, byte_offset=[None] * n, adc_res=[16] * n,
                          adc_zero=[0] * n)
        rec.set_d_features(expanded=True, do_adc=True)
        rec.init_value = [int(d[0]) for d in rec.e_d_signal]
        rec.checksum = [int(d.sum()) % 65536 for d in rec.e_d_signal]
        rec.wrsamp(expanded=True, write_dir=str(tmp_path))
        [src] = expand_inputs([str(tmp_path / name)])
        return src

    src = write("mf", ["MLII", "RESP", "V1"])
    assert wfdb_signals(src.path) == [("MLII", 360.0), ("RESP", 180.0), ("V1", 180.0)]
    first = read_source(src)
    assert first.lead == "MLII" and first.fs == 360.0
    auto = second_lead(src, ReadOptions(second_lead="auto"), first)
    named = second_lead(src, ReadOptions(second_lead="V1"), first)
    assert auto.shape == (first.n_samples,) and np.array_equal(auto, named)
    np.testing.assert_allclose(auto[::2], x[::2, 1], atol=0.005)
    # Beside a channel that names no lead alone, auto finds no second lead.
    src = write("resp", ["MLII", "RESP"])
    with pytest.warns(EcgToolWarning, match="one lead only"):
        assert second_lead(src, ReadOptions(second_lead="auto"), read_source(src)) is None


def test_the_measures_of_some_windows_are_those_of_all_windows(both119):
    # Measured only where asked (the windows to judge), with the QRS feature
    # given or computed: the same rows, bit for bit.
    from ecgtool.signal.filters import design_qrs_filter, qrs_filter
    from ecgtool.signal.leads import window_quality

    a, b, fs, _ = both119
    pa, pb = detect_r_peaks(a, fs), detect_r_peaks(b, fs)
    every = window_quality(a, fs, pa, pb)
    only = np.array([0, 5, 6, 7, 100, every.shape[0] - 1])
    f = qrs_filter(a, fs, design_qrs_filter(fs))
    assert np.array_equal(window_quality(a, fs, pa, pb, only=only), every[only])
    assert np.array_equal(window_quality(a, fs, pa, pb, only=only,
                                         feature=(f.feature, f.step)), every[only])
