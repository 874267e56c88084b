"""ISHNE Holter files: read as the records they hold, in blocks when long, and
one-line errors for broken ones."""

import csv
import io
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ecgtool.cli import app
from ecgtool.evaluate import BEAT_SYMBOLS
from ecgtool.io.inputs import ReadOptions, expand_inputs, read_source, read_source_block
from ecgtool.io.ishnefiles import (HEADER_BYTES, crc_ccitt, read_ishne, read_ishne_annotations,
                                   write_ishne, write_ishne_annotations)
from ecgtool.io.records import sample_path
from ecgtool.io.wfdbfiles import read_wfdb
from ecgtool.longrecord import is_long
from ecgtool.signal.detect import detect_beats

#: The first 20 s of the bundled 119 (MLII written as II, and V1), written by
#: ishneholterlib, not by ecgtool (tests/data/make_ishne_fixture.py).
FIXTURE = Path(__file__).with_name("data") / "119_20s.ecg"

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _r_peaks(*args):
    r = run("detect", *args, "--out", "-", "-q")
    assert r.exit_code == 0, r.output
    return [int(row["r_peak"]) for row in csv.DictReader(io.StringIO(r.stdout))]


def _broken(tmp_path, name, edit, checksum=True):
    # The fixture with one fault; its header checksum made right again
    # (unless not ``checksum``), so that the fault is the only one.
    raw = edit(bytearray(FIXTURE.read_bytes()))
    if checksum and len(raw) >= HEADER_BYTES:
        raw[8:10] = np.uint16(crc_ccitt(bytes(raw[10:HEADER_BYTES]))).tobytes()
    f = tmp_path / name
    f.write_bytes(bytes(raw))
    return f


def _put(offset, value, fmt="<i2"):
    def edit(raw):
        b = np.asarray(value, fmt).tobytes()
        raw[offset:offset + len(b)] = b
        return raw
    return edit


def test_a_file_from_another_ishne_writer_reads_as_the_record_it_holds():
    rec = read_ishne(FIXTURE, all_leads=True)
    wfdb = read_wfdb(sample_path("119"), all_leads=True, sampto=7200, ann=None)
    assert rec.leads == ["II", "V1"] and rec.lead == "II" and rec.fs == 360.0
    np.testing.assert_array_equal(rec.signals, wfdb.signals)
    assert read_ishne(FIXTURE, channel="V1").lead == "V1"
    # Through the command line the beats are those of the WFDB record's
    # first 20 s, and the file is found by its magic number in a folder.
    cut = read_wfdb(sample_path("119"), sampto=7200, ann=None)
    found = _r_peaks(FIXTURE)
    ann = read_wfdb(sample_path("119")).annotations
    marked = np.isin(ann.symbol, list(BEAT_SYMBOLS)) & (ann.sample < 7200)
    assert len(found) == marked.sum() and found == _r_peaks(FIXTURE.parent)
    assert found == detect_beats(cut.signal, cut.fs).r_peak.tolist()


def test_ishne_files_among_others_and_read_in_blocks(tmp_path):
    shutil.copy(FIXTURE, tmp_path / "holter.ecg")
    # A WFDB record's annotation file may end in .ecg too: it is no ISHNE file.
    (tmp_path / "100.ecg").write_bytes(b"\x00\x01" * 50)
    (src,) = expand_inputs([str(tmp_path)])
    assert (src.kind, src.name) == ("ishne", "holter")
    whole = read_source(src, ReadOptions(all_leads=True))
    part = read_source_block(src, ReadOptions(all_leads=True), 1000, 1360)
    np.testing.assert_array_equal(part.signals, whole.signals[1000:1360])
    assert part.sha256 == "" and len(whole.sha256) == 64
    # Over two hours, a Holter file is read half an hour at a time.
    long_file = tmp_path / "day.ecg"
    write_ishne(long_file, np.tile(whole.signals, (370, 1)), 360.0, ["II", "V1"])
    (day,) = expand_inputs([str(long_file)])
    assert is_long(day) and not is_long(src)
    block = read_source_block(day, ReadOptions(), 7200 * 200, 7200 * 200 + 10)
    np.testing.assert_array_equal(block.signal, whole.signal[:10])


def test_a_pacemaker_named_in_the_header_is_kept(tmp_path):
    f = _broken(tmp_path, "paced.ecg", _put(230, 2))
    assert read_ishne(f).comments == ["pacemaker: single chamber unipolar"]


@pytest.mark.parametrize("name, edit, words", [
    ("magic.ecg", _put(0, list(b"ISHNE0.9"), "u1"), ["not an ISHNE file"]),
    ("short.ecg", lambda raw: raw[:300], ["header cut short", "truncated"]),
    ("cut.ecg", lambda raw: raw[:HEADER_BYTES + 4000], ["truncated", "7200"]),
    ("rate.ecg", _put(272, 0), ["unknown sampling rate", "0 Hz"]),
    ("leads.ecg", _put(156, 0), ["0 leads"]),
    ("gain.ecg", _put(208, 0), ["lead 2", "amplitude resolution"]),
    ("slow.ecg", _put(272, 40), ["40 Hz", "not supported"]),
    ("empty.ecg", lambda raw: _put(14, 0, "<i4")(raw[:HEADER_BYTES]), ["no samples"]),
])
def test_broken_ishne_files_give_one_line_errors(tmp_path, name, edit, words):
    f = _broken(tmp_path, name, edit)
    out = tmp_path / "beats.h5"
    r = run("detect", f, "--out", out, "-q", *(["--channel", "V1"] if name == "gain.ecg"
                                                else []))
    assert r.exit_code == 1, r.output
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ecgtool: error: "), r.stderr
    assert name in err[0] and all(w in err[0] for w in words), err[0]
    assert not out.exists()


def test_a_wrong_header_checksum_is_read_with_a_warning(tmp_path):
    f = _broken(tmp_path, "crc.ecg", _put(440, list(b"note"), "u1"), checksum=False)
    with pytest.warns(UserWarning, match="checksum"):
        rec = read_ishne(f)
    np.testing.assert_array_equal(rec.signals, read_ishne(FIXTURE).signals)


def test_the_start_time_of_a_holter_names_its_hours(tmp_path):
    # The start time (not the date) is read from ISHNE, WFDB and EDF headers,
    # kept in a store, and labels the rows of diagnose --hourly.
    rec = read_ishne(FIXTURE, all_leads=True)
    day = tmp_path / "day.ecg"
    write_ishne(day, np.tile(rec.signals, (400, 1)), 360.0, rec.leads, start_clock="23:15:00")
    assert read_ishne(day).start_clock == "23:15:00" and read_ishne(FIXTURE).start_clock == ""
    store = tmp_path / "day.h5"
    assert run("convert", day, "--out", store, "-q").exit_code == 0
    (src,) = expand_inputs([str(store)])
    assert read_source(src).start_clock == "23:15:00"
    hours = tmp_path / "h.csv"
    r = run("diagnose", day, "--out", tmp_path / "r.jsonl", "--hourly", hours, "-q")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(hours.read_text())))
    assert [row["clock"] for row in rows] == ["23:15:00", "00:00:00", "01:00:00"]
    assert json.loads((tmp_path / "r.jsonl").read_text())["start_clock"] == "23:15:00"
    # Analysed in blocks, its signal not kept, a store still says when it began.
    assert run("rhythm", day, "--out", tmp_path / "rh.h5", "-q").exit_code == 0
    import h5py

    with h5py.File(tmp_path / "rh.h5") as f:
        assert f["records/day"].attrs["start_clock"].decode() == "23:15:00"
    # A WFDB header's base time; an EDF header's start time.
    for ext in ("dat", "atr"):
        shutil.copy(sample_path("119").with_suffix("." + ext), tmp_path / f"119.{ext}")
    lines = sample_path("119").with_suffix(".hea").read_text().splitlines()
    (tmp_path / "119.hea").write_text("\n".join([lines[0] + " 08:05:30"] + lines[1:]) + "\n")
    assert read_wfdb(tmp_path / "119", sampto=10).start_clock == "08:05:30"
    edfio = pytest.importorskip("edfio")
    import datetime

    from ecgtool.io.edffiles import read_edf

    edfio.Edf([edfio.EdfSignal(rec.signal, 360, label="ECG II", physical_dimension="mV")],
              starttime=datetime.time(6, 0, 1)).write(tmp_path / "e.edf")
    assert read_edf(tmp_path / "e.edf").start_clock == "06:00:01"


def test_the_beat_labels_beside_an_ishne_file_are_its_reference(tmp_path):
    # 119_20s.ann was laid out by hand from the THEW description and read
    # back by ishneholterlib (tests/data/make_ishne_fixture.py).
    ref = read_wfdb(sample_path("119")).annotations
    keep = np.isin(ref.symbol, ["N", "V"]) & (ref.sample < 7200)
    got = read_ishne(FIXTURE).annotations
    np.testing.assert_array_equal(got.sample, ref.sample[keep])
    assert got.symbol.tolist() == ref.symbol[keep].tolist() and "V" in got.symbol
    assert read_ishne(FIXTURE, ann=False).annotations is None
    r = run("evaluate", FIXTURE, "--classes")
    assert r.exit_code == 0, r.output
    gross = next(line.split() for line in r.stdout.splitlines() if line.startswith("gross"))
    assert gross[1:5] == [str(keep.sum()), str(keep.sum()), "0", "0"], r.stdout
    # Without the .ann file there is nothing to score against, and it says what it looked for.
    alone = tmp_path / "alone.ecg"
    shutil.copy(FIXTURE, alone)
    r = run("evaluate", alone)
    assert r.exit_code == 1 and "ISHNE .ann file" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    # A recording read in blocks has its labels too.
    from ecgtool.longrecord import long_record_head

    long_file = tmp_path / "day.ecg"
    rec = read_ishne(FIXTURE)
    write_ishne(long_file, np.tile(rec.signals, (370, 1)), 360.0, ["II"])
    write_ishne_annotations(long_file.with_suffix(".ann"), got.sample, got.symbol, 360.0)
    (day,) = expand_inputs([str(long_file)])
    assert is_long(day)
    np.testing.assert_array_equal(long_record_head(day, ReadOptions()).annotations.sample,
                                  got.sample)


def test_rhythm_and_diagnose_read_beats_from_an_ishne_label_file():
    # As from a WFDB annotator: beat times (and with --ann-labels, classes)
    # from the .ann beside the recording, its header giving rate and length.
    r = run("diagnose", FIXTURE, "--ann", "ann", "--ann-labels", "--out", "-", "-q")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    labels = read_ishne(FIXTURE).annotations.symbol
    assert report["n_beats"] == labels.size
    assert report["counts"]["V"] == (labels == "V").sum() > 0
    assert report["duration_s"] == pytest.approx(20.0)
    r = run("rhythm", FIXTURE, "--ann", "qrs", "--out", "-")
    assert r.exit_code == 1 and "119_20s.qrs: annotation file not found" in r.stderr


def test_ishne_labels_long_gaps_and_unknown_labels(tmp_path):
    f = tmp_path / "x.ann"
    # Gaps over 16 bits of samples are bridged by timeout entries.
    write_ishne_annotations(f, [5, 70000, 200000, 200300, 200600], "NSCPX", 200.0)
    assert f.stat().st_size == HEADER_BYTES + 4 + 4 * (5 + 2)  # one timeout in each long gap
    a = read_ishne_annotations(f, fs=200.0)
    assert a.sample.tolist() == [5, 70000, 200000, 200300, 200600]
    assert a.symbol.tolist() == ["N", "S", "|", "/", "|"]
    write_ishne_annotations(f, [10, 20, 30], "NZZ", 200.0)
    with pytest.warns(UserWarning, match=r"2 annotations .* \(Z\) .* \(Q\)"):
        assert read_ishne_annotations(f).symbol.tolist() == ["N", "Q", "Q"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200_000), st.sampled_from("NVSBPU")), max_size=60))
def test_ishne_labels_of_any_spacing_read_back(beats):
    # Gaps of any length (timeouts over 65,535 samples), one label per beat.
    gaps = np.array([g for g, _ in beats], dtype=np.int64)
    sample = np.cumsum(gaps)
    labels = "".join(lab for _, lab in beats)
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "x.ann"
        write_ishne_annotations(f, sample, labels, 200.0)
        a = read_ishne_annotations(f, 200.0)
    np.testing.assert_array_equal(a.sample, sample)
    mit = {"N": "N", "V": "V", "S": "S", "B": "B", "P": "/", "U": "Q"}
    assert a.symbol.tolist() == [mit[c] for c in labels]


@pytest.mark.parametrize("edit, words", [
    (lambda raw: b"ISHNE1.0" + raw[8:], ["not an ISHNE annotation file"]),
    (lambda raw: raw[:-1], ["truncated", "3 bytes"]),
    (lambda raw: raw[:400], ["cut short", "truncated"]),
    (lambda raw: raw[:272] + np.int16(250).tobytes() + raw[274:], ["250 Hz", "360 Hz"]),
    (lambda raw: raw[:10] + np.int32(5000).tobytes() + raw[14:], ["does not fit"]),
])
def test_broken_ishne_annotation_files_give_one_line_errors(tmp_path, edit, words):
    f = tmp_path / "holter.ecg"
    shutil.copy(FIXTURE, f)
    f.with_suffix(".ann").write_bytes(edit(FIXTURE.with_suffix(".ann").read_bytes()))
    out = tmp_path / "beats.h5"
    r = run("detect", f, "--out", out, "-q")
    assert r.exit_code == 1, r.output
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "holter.ann" in err[0], r.stderr
    assert all(w in err[0] for w in words), err[0]
    assert not out.exists()
