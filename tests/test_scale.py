"""Batches: resuming, surviving SIGKILL, Dask, streaming, property-based robustness."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ecgtool.cli import app
from ecgtool.errors import EcgToolError
from ecgtool.evaluate import score_detection
from ecgtool.io.inputs import read_source
from ecgtool.io.csvfiles import read_csv
from ecgtool.io.records import sample_path
from ecgtool.signal.detect import detect_beats, detect_r_peaks
from ecgtool.stream import StreamDetector, stream_detect

runner = CliRunner()


def _many_records(folder, n):
    folder.mkdir()
    for i in range(n):
        src = sample_path("119" if i % 2 else "208")
        for ext in ("hea", "dat", "atr"):
            text = src.with_suffix("." + ext)
            dst = folder / f"r{i:02d}.{ext}"
            if ext == "hea":
                dst.write_text(text.read_text().replace(src.name, f"r{i:02d}", 1)
                               .replace(f"{src.name}.dat", f"r{i:02d}.dat"))
            else:
                shutil.copy(text, dst)
    return folder


def _complete(path):
    with h5py.File(path) as f:
        return sorted(k for k in f["records"] if f["records"][k].attrs["complete"])


def test_a_store_open_in_another_process_is_not_overwritten(tmp_path):
    # Truncating a store that another run is still writing emptied it under
    # that run, which then ended "successfully" with an unreadable file.
    out = tmp_path / "s.h5"
    assert runner.invoke(app, ["detect", "sample:119", "--out", str(out)]).exit_code == 0
    before = out.read_bytes()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import h5py, sys; f = h5py.File(sys.argv[1], 'a'); "
         "print('open', flush=True); sys.stdin.read()", str(out)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        r = runner.invoke(app, ["detect", "sample:208", "--out", str(out)])
        assert r.exit_code == 1 and "in use by another process" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    finally:
        holder.communicate("", timeout=30)
    assert out.read_bytes() == before
    with h5py.File(out) as f:
        assert list(f["records"]) == ["119"]


def test_sigkill_leaves_a_readable_store_and_resume_finishes(tmp_path):
    data = _many_records(tmp_path / "db", 30)
    out = tmp_path / "beats.h5"
    cmd = [sys.executable, "-c", "import sys; from ecgtool.cli import main; "
           "sys.exit(main(sys.argv[1:]))", "detect", str(data), "--out", str(out), "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # Kill it once a few records are in (the store is flushed after each).
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.3)
        if out.exists() and out.stat().st_size > 8_000_000:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = _complete(out)
    assert 0 < len(done) < 30, done
    with h5py.File(out) as f:
        for name in done:
            assert f["records"][name]["beats/r_peak"].shape[0] > 1900
    r = runner.invoke(app, ["detect", str(data), "--out", str(out), "--resume"])
    assert r.exit_code == 0, r.output
    assert f"{len(done)} record{'s' if len(done) > 1 else ''} already complete" in r.stderr
    assert len(_complete(out)) == 30


def test_resume_continues_only_the_same_command_and_options(tmp_path):
    # A store is one kind of result: resuming it with another command or
    # other options would mix two kinds of records in it without a word.
    out = tmp_path / "b.h5"
    assert runner.invoke(app, ["detect", "sample:119", "--out", str(out), "-q"]).exit_code == 0
    for args, words in ((["classify"], "written by ecgtool detect"),
                        (["detect", "--detector", "refractory_ms=250"],
                         "other options (detector)"),
                        (["detect", "--channel", "V1"], "other options (read)")):
        r = runner.invoke(app, args + ["sample:119", "sample:208", "--out", str(out),
                                       "--resume"])
        assert r.exit_code == 1 and words in r.stderr, r.output
        assert len(r.stderr.strip().splitlines()) == 1
        assert _complete(out) == ["119"]
    r = runner.invoke(app, ["detect", "sample:119", "sample:208", "--out", str(out), "--resume"])
    assert r.exit_code == 0 and "1 record already complete" in r.stderr, r.output
    assert _complete(out) == ["119", "208"]
    # Resuming a finished run has nothing to do, and nothing failed.
    r = runner.invoke(app, ["detect", "sample:119", "sample:208", "--out", str(out), "--resume"])
    assert r.exit_code == 0 and "2 records already complete" in r.stderr, r.output
    d = tmp_path / "d.h5"
    assert runner.invoke(app, ["diagnose", "sample:119", "--out", str(d), "-q"]).exit_code == 0
    r = runner.invoke(app, ["diagnose", "sample:119", "sample:208", "--out", str(d), "--resume",
                            "-t", "pvc_burden_pct=5"])
    assert r.exit_code == 1 and "other options (thresholds)" in r.stderr, r.output
    r = runner.invoke(app, ["diagnose", "sample:119", "sample:208", "--out", str(d), "--resume",
                            "--rhythm-setting", "pause_s=3"])
    assert r.exit_code == 1 and "other options (rhythm)" in r.stderr, r.output
    with h5py.File(d, "r+") as f:
        f.attrs["job"] = "{not json"
    r = runner.invoke(app, ["diagnose", "sample:119", "--out", str(d), "--resume"])
    assert r.exit_code == 1 and "damaged store (unreadable job attribute)" in r.stderr


def test_resume_needs_a_store(tmp_path):
    r = runner.invoke(app, ["detect", "sample:119", "--out", str(tmp_path / "b.csv"),
                            "--resume"])
    assert r.exit_code == 1 and "--resume needs an .h5" in r.stderr


def test_dask_local_cluster_gives_the_same_store(tmp_path):
    pytest.importorskip("dask.distributed")
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    assert runner.invoke(app, ["detect", "--sample", "--out", str(a), "-q"]).exit_code == 0
    r = runner.invoke(app, ["detect", "--sample", "--out", str(b), "--scheduler", "local",
                            "--jobs", "2", "-q"])
    assert r.exit_code == 0, r.output
    with h5py.File(a) as fa, h5py.File(b) as fb:
        for n in ("119", "208"):
            np.testing.assert_array_equal(fa[f"records/{n}/beats/r_peak"][:],
                                          fb[f"records/{n}/beats/r_peak"][:])


def test_workers_keep_xla_to_one_core(monkeypatch):
    from ecgtool.batch import one_core_for_xla

    monkeypatch.delitem(sys.modules, "jax", raising=False)
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.delenv("ECGTOOL_XLA_THREADS", raising=False)
    one_core_for_xla()
    assert os.environ["ECGTOOL_XLA_THREADS"] == "1"
    assert "--xla_cpu_multi_thread_eigen=false" in os.environ["XLA_FLAGS"]
    # A user's own choice stands.
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true")
    monkeypatch.setenv("ECGTOOL_XLA_THREADS", "2")
    one_core_for_xla()
    assert os.environ["XLA_FLAGS"] == "--xla_cpu_multi_thread_eigen=true"
    assert os.environ["ECGTOOL_XLA_THREADS"] == "2"


def test_spawned_workers_skip_teardown_but_keep_failures(tmp_path):
    import atexit
    import multiprocessing
    import operator
    from functools import partial

    from ecgtool.batch import worker_context

    def run(ctx, target, args):
        p = ctx.Process(target=target, args=args)
        p.start()
        p.join(60)
        return p.exitcode

    # An atexit handler in the child marks a full interpreter teardown.
    marks = {name: tmp_path / name for name in ("plain", "fast")}
    handler = {k: (partial(f.write_text, "torn down"),) for k, f in marks.items()}
    assert run(multiprocessing.get_context("spawn"), atexit.register, handler["plain"]) == 0
    assert run(worker_context(spawn=True), atexit.register, handler["fast"]) == 0
    assert marks["plain"].exists() and not marks["fast"].exists()
    # A worker that fails leaves the normal way, with its error status.
    assert run(worker_context(spawn=True), operator.truediv, (1, 0)) == 1


_XLA_LOAD = """
import os, time
import ecgtool.ml
from ecgtool.io.records import read_sample
from ecgtool.beats.windows import beat_windows
from ecgtool.ml.classify import predict_proba
from ecgtool.ml.model_io import load_model
rec = read_sample("208")
w = beat_windows(rec.signal, rec.fs, rec.annotations.sample[1:-1])
m = load_model()
predict_proba(w, m)
t, c = time.perf_counter(), time.process_time()
for _ in range(10):
    predict_proba(w, m)
print((time.process_time() - c) / (time.perf_counter() - t), len(os.sched_getaffinity(0)))
"""


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs CPU affinity and at least 2 CPUs")
def test_xla_threads_setting_keeps_the_classifier_on_one_cpu():
    # XLA ignores the XLA_FLAGS thread settings of current jaxlib releases: the
    # classifier kept two CPUs busy in each worker, so two workers fought over them.
    env = dict(os.environ, ECGTOOL_XLA_THREADS="1")
    out = subprocess.run([sys.executable, "-c", _XLA_LOAD], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    busy, cpus = out.stdout.split()
    assert float(busy) < 1.3
    # The process, XLA's threads included, keeps every CPU it had.
    assert int(cpus) == len(os.sched_getaffinity(0))


def test_unreachable_scheduler(tmp_path):
    pytest.importorskip("dask.distributed")
    r = runner.invoke(app, ["detect", "sample:119", "--scheduler", "tcp://127.0.0.1:9",
                            "-q"])
    assert r.exit_code == 1 and "Dask scheduler" in r.stderr


def test_stream_equals_batch_on_real_records(rec208):
    batch = detect_beats(rec208.signal, rec208.fs).columns()
    sd = StreamDetector(rec208.fs)
    parts = [sd.feed(c) for c in np.array_split(rec208.signal, 53)] + [sd.finish()]
    got = {k: np.concatenate([p[1][k] for p in parts if p[1]]) for k in batch}
    for k in batch:
        np.testing.assert_array_equal(got[k], batch[k], err_msg=k)
    # Memory stays bounded: the buffer never holds much more than a block.
    assert sd.buf.size < 100 * rec208.fs


@pytest.mark.parametrize("gap_s", [(59.0, 3.0), (150.0, 20.0), (88.0, 0.01), (150.0, 45.0)])
def test_stream_equals_batch_across_a_nan_run(rec208, gap_s):
    # R-R intervals across unreadable samples are NaN in both (Beats.gap_before),
    # also when the gap straddles a block edge or outlasts the 30-s context.
    x = rec208.signal[: int(300 * rec208.fs)].copy()
    a, n = int(gap_s[0] * rec208.fs), max(1, int(gap_s[1] * rec208.fs))
    x[a:a + n] = np.nan
    batch = detect_beats(x, rec208.fs).columns()
    assert np.isnan(batch["rr_prev_ms"][1:]).sum() == 1
    sd = StreamDetector(rec208.fs)
    parts = [sd.feed(c) for c in np.array_split(x, 17)] + [sd.finish()]
    got = {k: np.concatenate([p[1][k] for p in parts if p[1]]) for k in batch}
    # Past the context, a P wave that the network doubts, judged by the 15
    # beats on either side (pnet.STEADY_BEATS), has fewer of them in the
    # stream: its beats and intervals still match, not every P wave.
    same = batch if gap_s[1] < 30 else ("r_peak", "rr_prev_ms", "rr_next_ms", "qrs_onset")
    for k in same:
        np.testing.assert_array_equal(got[k], batch[k], err_msg=k)


def test_stream_fed_in_long_chunks_analyses_each_block_once(rec208):
    # The long-record path feeds half an hour at a time: each block must be
    # analysed with its context and look-ahead only, not with the rest of the
    # chunk (which once made a 24-hour recording take 2.5 times as long).
    fs = rec208.fs
    batch = detect_beats(rec208.signal, fs).columns()
    sd = StreamDetector(fs, block_s=120)
    got, sizes = [], []
    for chunk in (rec208.signal[: int(900 * fs)], rec208.signal[int(900 * fs):]):
        sd.runs.clear()
        got.append(sd.feed(chunk)[1])
        sizes += [data.size for _, data, *_ in sd.runs]
    got.append(sd.finish()[1])
    assert max(sizes) <= sd.context + sd.block + sd.lookahead
    cols = {k: np.concatenate([g[k] for g in got if g]) for k in batch}
    for k in batch:
        np.testing.assert_array_equal(cols[k], batch[k], err_msg=k)


def test_stream_cli_matches_batch_csv(rec119, tmp_path):
    import io

    from ecgtool.io.inputs import ReadOptions

    text = "MLII\n" + "\n".join(f"{v:.3f}" for v in rec119.signal[:200000]) + "\n"
    out = io.StringIO()
    stream_detect(ReadOptions(fs=360.0), quiet=True, stream=io.StringIO(text), out=out,
                  name="x")
    streamed = out.getvalue()
    batch = runner.invoke(app, ["detect", "-", "--fs", "360", "--out", str(tmp_path / "b.csv"),
                                "-q"], input=text)
    assert batch.exit_code == 0
    assert streamed.replace("x,", "stdin,") == (tmp_path / "b.csv").read_text()


def test_stream_takes_the_lead_not_the_time_column(rec119, tmp_path):
    # "time,V1": no preferred lead name, so the first column that is not the
    # time; the stream had read the time ramp as the ECG (no beats).
    import io

    from ecgtool.io.inputs import ReadOptions

    x = rec119.signal[:36000]
    text = "time,V1\n" + "".join(f"{i / 360:.5f},{v:.3f}\n" for i, v in enumerate(x))
    out = io.StringIO()
    stream_detect(ReadOptions(fs=360.0), quiet=True, stream=io.StringIO(text), out=out,
                  name="x")
    (tmp_path / "s.csv").write_text(text)
    batch = runner.invoke(app, ["detect", str(tmp_path / "s.csv"), "--out", "-", "-q"])
    assert batch.exit_code == 0 and batch.stdout.count("\n") > 100
    assert out.getvalue().replace("x,", "s,") == batch.stdout


def test_stream_of_nothing_is_an_error_and_writes_nothing():
    import io

    from ecgtool.io.inputs import ReadOptions

    out = io.StringIO()
    with pytest.raises(EcgToolError, match="no samples"):
        stream_detect(ReadOptions(fs=360.0), quiet=True, stream=io.StringIO("MLII\n"), out=out)
    assert out.getvalue() == ""


def test_a_stream_that_carries_its_rate_streams_without_fs(rec119, tmp_path):
    # convert's CSV has a time column: piped into detect, it streams with the
    # rate its first rows give, and gives the file's beats.
    piped = runner.invoke(app, ["convert", "sample:119", "--end", "300", "--out", "-", "-q"])
    (tmp_path / "s.csv").write_text(piped.stdout)
    streamed = runner.invoke(app, ["detect", "-"], input=piped.stdout)
    assert streamed.exit_code == 0 and "(streamed)" in streamed.stderr
    batch = runner.invoke(app, ["detect", str(tmp_path / "s.csv"), "--out", "-", "-q"])
    assert streamed.stdout.replace("stdin,", "s,") == batch.stdout
    assert batch.stdout.count("\n") > 300


def test_a_stream_that_lost_samples_places_the_rest_by_their_times():
    # Lost samples in a later block are NaN, as a file's are; a time going
    # back, or a jump longer than what was read, is an error.
    import io

    from ecgtool.io.csvfiles import read_csv
    from ecgtool.stream import SampleStream

    x = np.sin(np.arange(5000) / 9.0)
    rows = [f"{i / 250:.4f},{v:.4f}" for i, v in enumerate(x) if not 3000 <= i < 3040]
    text = "time,II\n" + "\n".join(rows) + "\n"
    s = SampleStream(io.StringIO(text), None, chunk=1000)
    got = np.concatenate(list(s))
    want = read_csv("f.csv", text=text).signal.ravel()
    assert s.fs == 250.0 and s.lost == 40 and got.size == want.size == 5000
    assert np.array_equal(np.isnan(got), np.isnan(want)) and np.isnan(got[3000:3040]).all()
    assert np.array_equal(got[~np.isnan(got)], want[~np.isnan(want)])
    back = "time,II\n" + "\n".join(rows[:2000] + rows[1500:]) + "\n"
    with pytest.raises(EcgToolError, match="time column does not increase at line 2002"):
        list(SampleStream(io.StringIO(back), None, chunk=1000))
    far = [f"{i / 250 + (1e5 if i >= 2500 else 0):.4f},0.1" for i in range(3000)]
    with pytest.raises(EcgToolError, match="misses more time than it holds"):
        list(SampleStream(io.StringIO("time,II\n" + "\n".join(far)), None, chunk=1000))


def test_a_stream_of_times_of_day_runs_on_past_midnight():
    # Date-time stamps that pass midnight between two blocks, to the ms.
    import datetime as dt
    import io

    from ecgtool.io.csvfiles import read_csv
    from ecgtool.stream import SampleStream

    t0 = dt.datetime(2026, 1, 1, 23, 59, 58)
    stamps = [(t0 + dt.timedelta(seconds=i / 130)).strftime("%d/%m/%Y %H:%M:%S.%f")[:-3]
              for i in range(3000)]
    text = "time,ECG\n" + "".join(f"{t},{np.sin(i / 9):.4f}\n" for i, t in enumerate(stamps))
    s = SampleStream(io.StringIO(text), None, chunk=200)
    got = np.concatenate(list(s))
    assert s.lost == 0 and got.size == 3000
    assert np.array_equal(got, read_csv("f.csv", text=text).signal.ravel())


def test_stream_too_short_or_flat_warns_as_batch_does(capsys):
    import io

    from ecgtool.io.inputs import ReadOptions

    for text, why in (("0.1\n0.2\n0.3\n", "signal is shorter than 2 s"),
                      ("0\n" * 36000, "signal is flat")):
        out = io.StringIO()
        assert stream_detect(ReadOptions(fs=360.0), stream=io.StringIO(text), out=out) == 0
        assert out.getvalue().startswith("record,r_peak,")
        assert out.getvalue().count("\n") == 1
        assert f"warning: stdin: {why}: no beats" in capsys.readouterr().err


# ------------------------------------------------------ property-based tests

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(0, 20000), fs=st.sampled_from([100.0, 128.0, 250.0, 257.0, 360.0,
                                                     500.0, 1000.0]),
       amp=st.floats(1e-3, 1e4), seed=st.integers(0, 2**16),
       nan_run=st.integers(0, 3000), const_run=st.integers(0, 3000))
def test_detector_never_crashes_and_indices_are_sane(n, fs, amp, seed, nan_run, const_run):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    x = amp * (np.exp(-0.5 * ((t % 0.9 - 0.45) / 0.012) ** 2) + 0.05 * rng.normal(size=n))
    if n:
        a = rng.integers(0, n)
        x[a:a + nan_run] = np.nan
        b = rng.integers(0, n)
        x[b:b + const_run] = x[b]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = detect_r_peaks(x, fs)
        beats = detect_beats(x, fs)
    assert p.dtype == np.int64
    assert np.all(np.diff(p) > 0) and (p.size == 0 or (p[0] >= 0 and p[-1] < n))
    assert np.all(np.isfinite(x[p]) | np.isnan(x[p]))
    np.testing.assert_array_equal(beats.r_peak, p)
    for col in ("qrs_onset", "qrs_offset", "p_peak", "t_offset"):
        v = getattr(beats, col)
        assert np.all((v == -1) | ((v >= 0) & (v < max(n, 1))))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_csv_reader_fails_only_with_our_error(tmp_path_factory, blob):
    p = tmp_path_factory.mktemp("fz") / "x.csv"
    p.write_bytes(blob)
    try:
        rec = read_csv(p, fs=250.0)
    except EcgToolError:
        return
    assert rec.signals.ndim == 2 and rec.fs == 250.0


_CSV_NAMES = st.sampled_from(["MLII", "II", "ECG", "EKG (uV)", "time", "Zeit", "t [ms]",
                                "V1", "Kanal 1", "sample #", "'Elapsed time'"])


@st.composite
def csv_texts(draw):
    # Spreadsheet-like text: optional hint line, names, units row, comment
    # and blank lines, rows of numbers (some columns never falling), in one
    # of the delimiters with its decimal mark.
    delim = draw(st.sampled_from([",", ";", "\t", " "]))
    ncol = draw(st.integers(1, 3))
    lines = ["sep=;"] if delim == ";" and draw(st.booleans()) else []
    if draw(st.booleans()):
        lines.append(delim.join(draw(st.lists(_CSV_NAMES, min_size=ncol, max_size=ncol))))
        if draw(st.booleans()):
            lines.append(delim.join(draw(st.lists(st.sampled_from(["mV", "uV", "s", "'sec'"]),
                                                  min_size=ncol, max_size=ncol))))
    nrow = draw(st.integers(0, 400))
    ramp = draw(st.lists(st.booleans(), min_size=ncol, max_size=ncol))
    noise = np.random.default_rng(draw(st.integers(0, 1000))).normal(size=(nrow, ncol))
    for i in range(nrow):
        cells = [f"{i / 250 if up else noise[i, j]:.4f}" for j, up in enumerate(ramp)]
        if delim == ";":
            cells = [c.replace(".", ",") for c in cells]
        lines.append(delim.join(cells))
        if draw(st.integers(0, 60)) == 0:
            lines.append(draw(st.sampled_from(["", "# note", "   "])))
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(csv_texts(), st.sampled_from([None, 0]))
def test_csv_file_and_stream_read_alike(tmp_path_factory, text, column):
    # The stream reader (detect -) and the file reader share one head
    # parser: the same text gives the same samples, or an error from both.
    import io

    from ecgtool.stream import sample_chunks

    p = tmp_path_factory.mktemp("cs") / "x.csv"
    p.write_text(text)
    try:
        want = read_csv(p, fs=250.0, column=column).signal.ravel().tolist()
    except EcgToolError:
        want = "error"
    try:
        got = np.concatenate([np.zeros(0)] + list(
            sample_chunks(io.StringIO(text), 250.0, column, chunk=97))).tolist()
    except EcgToolError:
        got = "error"
    if want == "error" or got == "error":
        # A header with no sample after it: the file is an error, the
        # stream is empty (detect then says so).
        assert want == got or (want == "error" and got == []), (want, got)
    else:
        assert got == want


def test_csv_column_choice_does_not_depend_on_the_rows_read(tmp_path):
    # Found by the test above: a first column that stays flat for the first
    # second and rises once after it read as a clock in the whole file but
    # not in the stream's first block, so the two took different columns.
    import io

    from ecgtool.stream import sample_chunks

    text = "\n".join(f"{i // 250},{i % 250 * 40:04d}" for i in range(251)) + "\n"
    p = tmp_path / "x.csv"
    p.write_text(text)
    want = read_csv(p, fs=250.0).signal.ravel()
    got = np.concatenate(list(sample_chunks(io.StringIO(text), 250.0, chunk=97)))
    np.testing.assert_array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_header_reader_fails_only_with_our_error(tmp_path_factory, text):
    from ecgtool.io.wfdbfiles import read_wfdb

    d = tmp_path_factory.mktemp("hz")
    (d / "r.hea").write_text(text)
    (d / "r.dat").write_bytes(b"\x00" * 3000)
    try:
        read_wfdb(d / "r")
    except EcgToolError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600), st.booleans(), st.booleans())
# wfdb.rdann read this one into fields of different lengths.
@example(b"\x00\x04\x00\x04\x00D\x00\xf4\x00\xf4", False, True)
def test_annotation_reader_fails_only_with_our_error(tmp_path_factory, blob, beats_first,
                                                     terminated):
    # Random bytes, and random bytes after a few well-formed beats (so that
    # the SKIP/AUX payload walk and the modifiers see odd input too), ended
    # with the end-of-file word or not.
    from ecgtool.io.wfdbfiles import read_annotations

    if beats_first:
        blob = np.array([(1 << 10) | 100] * 4, "<u2").tobytes() + blob
    if terminated:
        blob = blob[: len(blob) // 2 * 2] + b"\x00\x00"
    d = tmp_path_factory.mktemp("az")
    (d / "r.atr").write_bytes(blob)
    try:
        a = read_annotations(d / "r")
    except EcgToolError:
        return
    assert a is not None and a.sample.size == a.symbol.size == a.aux_note.size


def test_long_edf_recording_is_analysed_in_blocks(tmp_path, rec119):
    # Over 2 hours, an EDF recording goes the bounded-memory way of long WFDB
    # records: read in blocks, streamed through the detector; the beats are
    # those of one pass over the whole signal.
    edfio = pytest.importorskip("edfio")
    from ecgtool.io.inputs import ReadOptions, expand_inputs, read_source_block, source_length
    from ecgtool.longrecord import is_long
    from ecgtool.analysis import analyse_job

    x = np.tile(rec119.signal, 5)[: 360 * 7300]  # 2 h 1 min 40 s
    # Half a minute of flutter across the turn of the third 30-min block.
    x[360 * 5390:360 * 5420] = 0.8 * np.sin(2 * np.pi * 4.0 * np.arange(360 * 30) / 360)
    f = tmp_path / "long.edf"
    edfio.Edf([edfio.EdfSignal(x, 360, label="MLII", physical_dimension="mV")]).write(f)
    [src] = expand_inputs([str(f)])
    assert is_long(src) and source_length(src) == (x.size, 360.0)
    whole = read_source(src).signal
    parts = [read_source_block(src, ReadOptions(), a, min(x.size, a + 1000003)).signal
             for a in range(0, x.size, 1000003)]
    assert np.array_equal(np.concatenate(parts), whole)
    a = analyse_job(src, ReadOptions(), classify=False)
    assert a.record is None  # the signal was not kept whole
    assert np.array_equal(a.beats.r_peak, detect_r_peaks(whole, 360.0))
    vf = a.episodes.of("vf")
    assert len(vf) == 1 and abs(vf.start_s[0] - 5390) < 2.5 and abs(vf.end_s[0] - 5420) < 2.5
    # detect keeps the signal (as float32, as the store holds it) and every column.
    from ecgtool.pipeline import detect_job

    d = detect_job(src, ReadOptions())
    one = detect_beats(whole, 360.0)
    assert d.record.signals.dtype == np.float32 and d.record.n_samples == x.size
    assert np.array_equal(d.record.signal, whole.astype(np.float32))
    for k, v in one.columns().items():
        assert np.array_equal(d.beats.columns()[k], v, equal_nan=v.dtype.kind == "f"), k
    # Strips of a record analysed in blocks read their stretch of signal again.
    png = tmp_path / "s.png"
    r = CliRunner().invoke(app, ["plot", str(f), "--start", "7000", "--out", str(png),
                                 "--no-classify"])
    assert r.exit_code == 0, r.output
    assert png.stat().st_size > 10000


def test_a_long_edf_lead_at_another_rate_is_read_in_its_own_samples(tmp_path, rec119):
    # --channel picking a lead slower than the default one: its blocks and
    # stretches are counted in its own samples. They were counted in the
    # default lead's, and the reading ran past the file's end.
    edfio = pytest.importorskip("edfio")
    from scipy.signal import resample_poly

    from ecgtool.io.inputs import ReadOptions, expand_inputs, source_length
    from ecgtool.pipeline import detect_job

    slow = resample_poly(np.tile(rec119.signal, 5)[: 360 * 7300], 16, 45)  # 128 Hz
    fast = resample_poly(slow, 2, 1)  # 256 Hz
    f = tmp_path / "two.edf"
    edfio.Edf([edfio.EdfSignal(fast, 256, label="ECG II", physical_dimension="mV"),
               edfio.EdfSignal(slow, 128, label="ECG V1", physical_dimension="mV")]).write(f)
    [src] = expand_inputs([str(f)])
    assert source_length(src) == (fast.size, 256.0)
    assert source_length(src, "ECG V1") == (slow.size, 128.0)
    d = detect_job(src, ReadOptions(channel="ECG V1"))
    assert d.record.fs == 128.0 and d.record.n_samples == slow.size
    assert np.array_equal(d.beats.r_peak, detect_r_peaks(slow, 128.0))
    r = CliRunner().invoke(app, ["detect", str(f), "--channel", "ECG V1", "--start", "1:00:00",
                                 "--end", "1:01:00", "--out", "-", "-q"])
    assert r.exit_code == 0, r.output
    first = int(r.stdout.splitlines()[1].split(",")[1])
    peaks = detect_r_peaks(slow[128 * 3600:128 * 3660], 128.0)
    assert first == peaks[0]


def test_evaluate_scores_a_long_annotated_record_in_blocks(tmp_path, rec208):
    # 208 five times over (2.5 hours) with its annotations: scored through the
    # block path, each copy is found as 208 alone is.
    import wfdb

    x = np.tile(np.round(rec208.signal * 200).astype(np.int16), 5)
    wfdb.wrsamp("long", fs=360, units=["mV"], sig_name=["MLII"], d_signal=x[:, None],
                fmt=["212"], adc_gain=[200.0], baseline=[0], write_dir=str(tmp_path))
    a, n = rec208.annotations, rec208.n_samples
    wfdb.wrann("long", "atr", np.concatenate([a.sample + k * n for k in range(5)]),
               list(np.tile(a.symbol, 5)), write_dir=str(tmp_path))
    out = tmp_path / "s.json"
    r = CliRunner().invoke(app, ["evaluate", str(tmp_path / "long"), "--classes", "-q",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    s = json.loads(out.read_text())
    one = score_detection("208", a, detect_r_peaks(rec208.signal, 360.0), 360.0, n)
    g = s["gross"]["gross"]
    assert abs(g["tp"] - 5 * one.tp) <= 5 and abs(g["fp"] - 5 * one.fp) <= 5
    assert s["classes"]["gross"]["gross"]["V"]["se"] > 0.9


def test_a_long_recording_is_labelled_with_the_qrs_durations_detection_measured(
        tmp_path, rec208, monkeypatch):
    # Each block of a long recording is labelled with the QRS durations the
    # streaming detector measured in it: the labels are those of measuring
    # them again.
    import wfdb

    import ecgtool.stream as stream
    from ecgtool.io.inputs import ReadOptions, expand_inputs
    from ecgtool.longrecord import is_long
    from ecgtool.pipeline import classify_job

    x = np.tile(np.round(rec208.signal * 200).astype(np.int16), 5)
    wfdb.wrsamp("long", fs=360, units=["mV"], sig_name=["MLII"], d_signal=x[:, None],
                fmt=["212"], adc_gain=[200.0], baseline=[0], write_dir=str(tmp_path))
    [src] = expand_inputs([str(tmp_path / "long")])
    assert is_long(src)
    d = classify_job(src, ReadOptions())
    assert d.qrs_ms is not None and d.qrs_ms.size == len(d.beats) > 14000
    monkeypatch.setattr(stream, "net_qrs_ms", lambda beats, settings: None)
    again = classify_job(src, ReadOptions())
    assert np.array_equal(d.beats.labels.aami, again.beats.labels.aami)
    assert 0.25 < (d.beats.labels.aami == "V").mean() < 0.4


def test_convert_writes_a_long_recording_in_blocks(tmp_path):
    # Over 2 hours, convert reads and writes half an hour at a time, every
    # lead kept; the store and the CSV hold what one whole read gives.
    import h5py
    import wfdb

    from ecgtool.io.inputs import ReadOptions, expand_inputs
    from ecgtool.io.records import sample_path
    from ecgtool.io.wfdbfiles import read_wfdb
    from ecgtool.longrecord import LongRecord
    from ecgtool.pipeline import read_job

    r = wfdb.rdrecord(str(sample_path("208")), physical=False)
    wfdb.wrsamp("long", fs=360, units=r.units, sig_name=r.sig_name,
                d_signal=np.tile(r.d_signal, (5, 1)).astype(np.int32), fmt=["212", "212"],
                adc_gain=r.adc_gain, baseline=r.baseline, write_dir=str(tmp_path))
    [src] = expand_inputs([str(tmp_path / "long")])
    job = read_job(src, ReadOptions(all_leads=True))
    assert isinstance(job, LongRecord) and job.n_samples == 5 * r.sig_len
    whole = read_wfdb(tmp_path / "long", all_leads=True)
    h5, csv = tmp_path / "c.h5", tmp_path / "c.csv"
    for out in (h5, csv):
        res = CliRunner().invoke(app, ["convert", str(tmp_path / "long"), "--channel", "all",
                                       "--out", str(out), "-q"])
        assert res.exit_code == 0, res.output
    with h5py.File(h5) as f:
        g = f["records"]["long"]
        assert g.attrs["n_samples"] == whole.n_samples and [x.decode() for x in g.attrs["leads"]] == ["MLII", "V1"]
        assert g.attrs["sha256"].decode() == whole.sha256
        assert np.array_equal(g["signal"][...], whole.signals.astype(np.float32))
    text = csv.read_text().splitlines()
    assert text[0] == "time_s,MLII,V1" and len(text) == whole.n_samples + 1
    table = np.loadtxt(text[1:], delimiter=",")
    # Block by block, the sample times run on from one block to the next.
    np.testing.assert_allclose(table[:, 0], np.arange(whole.n_samples) / whole.fs, atol=1e-6)
    assert np.allclose(table[:, 1:], whole.signals, rtol=1e-4, atol=5e-5)
