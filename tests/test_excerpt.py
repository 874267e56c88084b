"""convert --start/--end: a stretch of a recording as a record of its own."""

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from ecgtool.cli import app
from ecgtool.evaluate import BEAT_SYMBOLS
from ecgtool.io.inputs import expand_inputs, read_source
from ecgtool.io.ishnefiles import read_ishne, write_ishne, write_ishne_annotations
from ecgtool.io.records import sample_path
from ecgtool.io.wfdbfiles import read_wfdb

runner = CliRunner()
#: The first 20 s of the bundled 119 as an ISHNE file, its beat labels beside it.
FIXTURE = Path(__file__).with_name("data") / "119_20s.ecg"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _stored(path):
    (src,) = expand_inputs([str(path)])
    return read_source(src)


def test_an_excerpt_keeps_its_stretch_and_the_reference_in_force(tmp_path):
    out = tmp_path / "cut.h5"
    r = run("convert", "sample:208", "--start", "5:00", "--end", "600", "--out", out, "-q")
    assert r.exit_code == 0, r.output
    cut, whole = _stored(out), read_wfdb(sample_path("208"))
    a, b = 300 * 360, 600 * 360
    np.testing.assert_allclose(cut.signal, whole.signal[a:b], atol=1e-6)  # stored as float32
    assert cut.comments[-1] == "excerpt of 208: 300-600 s"
    ann, ref = cut.annotations, whole.annotations
    inside = (ref.sample >= a) & (ref.sample < b)
    np.testing.assert_array_equal(ann.sample[ann.sample > 0], ref.sample[inside] - a)
    # It begins with the rhythm the reference was in at 5:00.
    in_force = ref.aux_note[(ref.symbol == "+") & (ref.sample < a)][-1]
    assert (ann.symbol[0], ann.aux_note[0], ann.sample[0]) == ("+", in_force, 0)
    # Scored against its own stretch of the reference, as the whole record is.
    r = run("evaluate", out)
    assert r.exit_code == 0, r.output
    gross = next(line.split() for line in r.stdout.splitlines() if line.startswith("gross"))
    assert int(gross[1]) == np.isin(ref.symbol[inside], list(BEAT_SYMBOLS)).sum()
    assert float(gross[6]) > 99.0 and float(gross[7]) > 99.0


def test_an_excerpt_of_a_holter_reads_only_its_stretch(tmp_path):
    rec = read_ishne(FIXTURE, all_leads=True)
    day = tmp_path / "day.ecg"
    write_ishne(day, np.tile(rec.signals, (370, 1)), 360.0, rec.leads, start_clock="23:15:00")
    beats = rec.annotations.sample
    write_ishne_annotations(day.with_suffix(".ann"), np.concatenate(
        [beats + 7200 * k for k in range(370)]), "N" * (370 * beats.size), 360.0)
    # One hour in, 20 s: read as a block of the 2-hour file.
    out = tmp_path / "hour.h5"
    r = run("convert", day, "--start", "1:00:00", "--end", "1:00:20", "--channel", "all",
            "--out", out, "-q")
    assert r.exit_code == 0, r.output
    cut = _stored(out)
    np.testing.assert_allclose(cut.signals, rec.signals, atol=1e-6)  # 3600 s: 180 repeats of 20 s
    assert cut.start_clock == "00:15:00"
    np.testing.assert_array_equal(cut.annotations.sample, beats)
    # Still over two hours: written in blocks from where it starts.
    out = tmp_path / "rest.h5"
    r = run("convert", day, "--start", "20", "--out", out, "-q")
    assert r.exit_code == 0, r.output
    rest = _stored(out)
    assert rest.n_samples == 369 * 7200 and rest.start_clock == "23:15:20"
    np.testing.assert_allclose(rest.signal[-7200:], rec.signal, atol=1e-6)


def test_bad_times_are_one_line_errors(tmp_path):
    for args, words in ((["--start", "abc"], "is no time"),
                        (["--start", "-5"], "is no time"),
                        (["--start", "10", "--end", "5"], "must be after"),
                        (["--start", "99999"], "past the end of the recording (1805.6 s)")):
        r = run("convert", "sample:208", *args, "--out", tmp_path / "x.h5")
        assert r.exit_code == 1 and words in r.stderr, r.output
        assert len(r.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "x.h5").exists()



def _rows(result, cols):
    assert result.exit_code == 0, result.output
    return [",".join(line.split(",")[1:cols]) for line in result.stdout.splitlines()[1:]]


def test_every_analysis_reads_the_stretch_as_convert_cuts_it(tmp_path):
    # detect, classify, rhythm and diagnose with --start/--end find in the
    # stretch what they find in the excerpt convert writes.
    cut = tmp_path / "cut.h5"
    assert run("convert", "sample:208", "--start", "5:00", "--end", "600", "--out", cut,
               "-q").exit_code == 0
    stretch = ("--start", "5:00", "--end", "600")
    assert _rows(run("detect", "sample:208", *stretch, "-q"), 4) == \
        _rows(run("detect", cut, "-q"), 4)
    labels = [r.split(",")[0] + r.split(",")[-1] for r in
              _rows(run("classify", "sample:208", *stretch, "-q"), 18)]
    assert labels == [r.split(",")[0] + r.split(",")[-1] for r in
                      _rows(run("classify", cut, "-q"), 18)]
    assert _rows(run("rhythm", "sample:208", *stretch, "-q"), 6) == \
        _rows(run("rhythm", cut, "-q"), 6)
    r = run("diagnose", "sample:208", *stretch, "--no-classify", "-q")
    assert r.exit_code == 0, r.output
    assert '"duration_s": 300.0' in r.stdout and '"n_beats": 491' in r.stdout
    # A store's record is cut too, its stored beats left aside.
    beats = tmp_path / "beats.h5"
    assert run("detect", "sample:208", "--out", beats, "-q").exit_code == 0
    assert _rows(run("classify", beats, *stretch, "-q"), 4) == \
        _rows(run("detect", cut, "-q"), 4)


def test_a_stretch_of_a_holter_is_analysed_alone_and_on_its_clock(tmp_path):
    rec = read_ishne(FIXTURE, all_leads=True)
    day = tmp_path / "day.ecg"
    write_ishne(day, np.tile(rec.signals, (370, 1)), 360.0, rec.leads, start_clock="23:15:00")
    one = _rows(run("detect", FIXTURE, "-q"), 4)
    assert _rows(run("detect", day, "--start", "1:00:00", "--end", "1:00:20", "-q"), 4) == one
    # Still over two hours from 20 s on: read and analysed in blocks from there.
    r = run("diagnose", day, "--start", "20", "--no-classify", "-q")
    assert r.exit_code == 0, r.output
    assert '"duration_s": 7380.0' in r.stdout and '"start_clock": "23:15:20"' in r.stdout
    r = run("detect", day, "--start", "20", "-q")
    assert _rows(r, 4)[:len(one) - 1] == _rows(run("detect", FIXTURE, "-q"), 4)[:len(one) - 1]


def test_what_cannot_be_cut_and_a_resumed_store_of_another_stretch(tmp_path):
    table = tmp_path / "b.csv"
    assert run("detect", "sample:208", "--out", table, "-q").exit_code == 0
    for command in ("rhythm", "classify", "diagnose"):
        r = run(command, table, "--start", "10", "-q")
        assert r.exit_code == 1 and "not a beats table" in r.stderr, r.output
        assert len(r.stderr.strip().splitlines()) == 1
    r = runner.invoke(app, ["detect", "-", "--fs", "250", "--start", "1"], input="1\n2\n")
    assert r.exit_code == 1 and "stdin" in r.stderr
    out = tmp_path / "s.h5"
    assert run("detect", "sample:208", "--start", "10", "--end", "20", "--out", out,
               "-q").exit_code == 0
    r = run("detect", "sample:208", "sample:119", "--out", out, "--resume", "-q")
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1, r.output


def test_evaluate_scores_the_stretch_against_its_own_reference(tmp_path):
    cut = tmp_path / "cut.h5"
    assert run("convert", "sample:208", "--start", "300", "--end", "600", "--out", cut,
               "-q").exit_code == 0
    for extra in ([], ["--classes"], ["--rhythm", "vt"]):
        a = run("evaluate", "sample:208", "--start", "300", "--end", "600", *extra, "-q")
        b = run("evaluate", cut, *extra, "-q")
        assert a.exit_code == b.exit_code == 0, a.output + b.output
        assert a.stdout.replace("sample:208", "208") == b.stdout.replace(str(cut), "208")
    r = run("evaluate", "sample:208", "--start", "10", "--ann", "atr", "-q")
    assert r.exit_code == 1 and "not --beats or --ann" in r.stderr
