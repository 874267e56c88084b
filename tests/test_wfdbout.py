"""convert --out DIR/: records written as WFDB read back as they were read."""

import tempfile

import numpy as np
import pytest
import wfdb
from hypothesis import given, settings
from roundtrip import SHAPES, random_record
from typer.testing import CliRunner

from ecgtool.cli import app
from ecgtool.io.ishnefiles import write_ishne
from ecgtool.io.records import Annotations, read_sample, sample_path
from ecgtool.io.wfdbfiles import read_wfdb
from ecgtool.io.wfdbout import write_wfdb

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _same_checksums(digital):
    # Headers (MIT-BIH's own too) give the 16-bit sum signed; wfdb computes it unsigned.
    return [c % 65536 for c in digital.checksum] == digital.calc_checksum()


def test_a_converted_record_reads_back_as_its_source(tmp_path):
    r = run("convert", "sample:208", "--channel", "all", "--out", f"{tmp_path}/", "-q")
    assert r.exit_code == 0, r.output
    src = read_wfdb(sample_path("208"), all_leads=True)
    back = read_wfdb(tmp_path / "208", all_leads=True)
    # MIT-BIH's 5 uV steps are whole steps of 1 uV: the samples are the same.
    np.testing.assert_allclose(back.signals, src.signals, atol=1e-9)
    assert back.leads == src.leads and back.fs == src.fs
    for field in ("sample", "symbol", "aux_note", "subtype"):
        np.testing.assert_array_equal(getattr(back.annotations, field),
                                      getattr(src.annotations, field))
    # The header's checksums and first values are those WFDB computes itself.
    digital = wfdb.rdrecord(str(tmp_path / "208"), physical=False)
    assert _same_checksums(digital)
    assert digital.init_value == digital.d_signal[0].tolist()


def test_unreadable_samples_large_leads_and_the_start_time(tmp_path):
    rec = read_wfdb(sample_path("119"), all_leads=True, ann=None)
    x = rec.signals[:3600].copy()
    x[100:200, 0] = np.nan
    x[:, 1] *= 20.0  # up to about 60 mV: no longer fits 1 uV steps in 16 bits
    rec.signals, rec.annotations = x, Annotations([50, 400], ["N", "V"], ["", ""])
    rec.start_clock, rec.comments = "23:15:00", ["a comment"]
    back = read_wfdb(write_wfdb(tmp_path, rec, name="x y").with_suffix(""), all_leads=True)
    assert back.name == "x_y" and back.start_clock == "23:15:00"
    assert "a comment" in back.comments
    assert np.isnan(back.signals[100:200, 0]).all()
    gain = wfdb.rdheader(str(tmp_path / "x_y")).adc_gain
    assert gain[0] == 1000.0 and gain[1] < 1000.0
    np.testing.assert_allclose(back.signals[:, 1], x[:, 1], atol=0.5 / gain[1])
    ok = ~np.isnan(x[:, 0])
    np.testing.assert_allclose(back.signals[ok, 0], x[ok, 0], atol=5e-4)
    assert back.annotations.symbol.tolist() == ["N", "V"]


def test_a_long_recording_is_written_block_by_block(tmp_path):
    rec = read_wfdb(sample_path("119"), all_leads=True, sampto=7200, ann=None)
    holter = tmp_path / "day.ecg"
    write_ishne(holter, np.tile(rec.signals, (370, 1)), 360.0, ["II", "V1"])  # 2.06 h
    out = tmp_path / "wfdb"
    r = run("convert", holter, "--channel", "all", "--out", f"{out}/", "-q")
    assert r.exit_code == 0, r.output
    back = wfdb.rdrecord(str(out / "day"), physical=False)
    assert back.sig_len == 370 * 7200 and _same_checksums(back)
    np.testing.assert_allclose(back.d_signal[-7200:] / 1000.0, rec.signals, atol=1e-9)


def test_a_failed_write_leaves_no_record(tmp_path):
    rec = read_sample("119")

    def broken():
        yield 0, rec.signals[:1000]
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_wfdb(tmp_path, rec, broken, rec.n_samples)
    assert list(tmp_path.iterdir()) == []
    # Nor does an annotation file that cannot be written: the signal file
    # stayed behind, its header missing, before it was written first.
    from unittest import mock

    with mock.patch("ecgtool.io.mitann.write_mit_annotations",
                    side_effect=OSError(28, "No space left on device")):
        with pytest.raises(OSError):
            write_wfdb(tmp_path, rec)
    assert list(tmp_path.iterdir()) == []


def test_annotations_of_types_wfdb_does_not_name_are_left_out_with_a_warning(tmp_path):
    # A source's own codes (or ones nothing defines, read as "") cannot go
    # into an MIT file; convert failed with an internal error, leaving the
    # signal file behind.
    rec = read_sample("119")
    rec.signals = rec.signals[:3600]
    rec.annotations = Annotations(np.array([100, 460, 800]), np.array(["N", "", "V"]),
                                  np.array(["", "", ""]))
    with pytest.warns(Warning, match="1 annotations of types WFDB does not name left out"):
        hea = write_wfdb(tmp_path, rec)
    back = read_wfdb(hea.with_suffix(""))
    assert back.annotations.symbol.tolist() == ["N", "V"]
    assert back.annotations.sample.tolist() == [100, 800]


def test_a_sources_own_annotation_types_are_defined_again_in_the_file(tmp_path):
    # A file's own codes (read as the symbols it defines) were left out when
    # written again; they go on codes WFDB leaves free, and read back as
    # they were, by wfdb and by ecgtool, one character a type.
    rec = read_sample("119")
    rec.signals = rec.signals[:3600]
    rec.annotations = Annotations(np.array([100, 460, 800, 1200, 1500]),
                                  np.array(["N", "k", "V", "z", "k"]),
                                  np.array(["", "", "", "lab", ""]))
    hea = write_wfdb(tmp_path, rec)
    back = read_wfdb(hea.with_suffix(""))
    assert back.annotations.symbol.tolist() == ["N", "k", "V", "z", "k"]
    assert back.annotations.aux_note.tolist() == ["", "", "", "lab", ""]
    theirs = wfdb.rdann(str(hea.with_suffix("")), "atr")
    assert theirs.symbol == ["N", "k", "V", "z", "k"]
    assert theirs.custom_labels.label_store.tolist() == [42, 43]
    # Beyond the free codes, or longer than a character: left out, said.
    from ecgtool.io.mitann import FREE_CODES

    own = list("bcdghiklCGHIKM") + ["zz"]  # none of them a WFDB type
    rec.annotations = Annotations(np.arange(100, 100 + 50 * len(own), 50), np.array(own),
                                  np.array([""] * len(own)))
    (tmp_path / "many").mkdir()
    with pytest.warns(Warning, match=f"{len(own) - len(FREE_CODES)} annotations of types WFDB "
                                     "does not name left out"):
        hea = write_wfdb(tmp_path / "many", rec)
    kept = [s for s in own if len(s) == 1][:len(FREE_CODES)]
    assert read_wfdb(hea.with_suffix("")).annotations.symbol.tolist() == kept


def test_records_whose_safe_names_meet_keep_their_own_files(tmp_path):
    for name in ("a b.csv", "a_b.csv"):
        (tmp_path / name).write_text("".join(f"{v}\n" for v in range(500)))
    r = run("convert", tmp_path / "a b.csv", tmp_path / "a_b.csv", "--fs", "250",
            "--out", f"{tmp_path}/w/", "-q")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "w").glob("*.hea")) == ["a_b.hea", "a_b_2.hea"]


def test_folders_are_an_output_of_convert_only(tmp_path):
    r = run("detect", "sample:119", "--out", f"{tmp_path}/", "-q")
    assert r.exit_code == 1 and "is a folder: this command writes a file" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run("convert", "sample:119", "--out", f"{tmp_path}/no/such/", "-q")
    assert r.exit_code == 1 and "folder does not exist" in r.stderr
    bare = tmp_path / "bare.h5"
    assert run("detect", "sample:119", "--no-signal", "--out", bare, "-q").exit_code == 0
    r = run("convert", bare, "--out", f"{tmp_path}/w/", "-q")
    assert r.exit_code == 1 and "no signal" in r.stderr and not (tmp_path / "w").exists()
    r = run("convert", "sample:119", "--out", f"{tmp_path}/", "--resume", "-q")
    assert r.exit_code == 1 and "--resume needs an .h5 output store" in r.stderr


@settings(max_examples=40, deadline=None)
@given(*SHAPES)
def test_any_signal_reads_back_within_its_step(n, leads, scale, nan_share, seed):
    # Any length, lead count and amplitude (a lead that outgrows 1 uV steps
    # gets a coarser one), NaN anywhere: the samples come back within half
    # a step, the NaN as NaN, and the header's checksums are WFDB's.
    rec = random_record(n, leads, scale, nan_share, seed)
    x = rec.signals
    with tempfile.TemporaryDirectory() as d:
        back = read_wfdb(write_wfdb(d, rec).with_suffix(""), all_leads=True, ann=None)
        digital = wfdb.rdrecord(f"{d}/r", physical=False)
    gain = np.asarray(digital.adc_gain)
    assert back.signals.shape == x.shape and _same_checksums(digital)
    np.testing.assert_array_equal(np.isnan(back.signals), np.isnan(x))
    ok = ~np.isnan(x)
    err = np.abs(back.signals - np.nan_to_num(x)) * gain
    assert (err[ok] <= 0.5 + 1e-6).all()


@settings(max_examples=30, deadline=None)
@given(*SHAPES)
def test_any_signal_reads_back_from_convert_csv_with_its_rate(n, leads, scale, nan_share, seed):
    # convert's CSV carries its rate in a time column: any record read back
    # from it has its rate, its length and its values to 5 significant
    # digits, NaN where they were NaN. One sample gives no rate: an error.
    from ecgtool.errors import EcgToolError
    from ecgtool.io.csvfiles import read_csv

    rec = random_record(n, leads, scale, nan_share, seed)
    with tempfile.TemporaryDirectory() as tmp:
        write_wfdb(tmp, rec)
        out = f"{tmp}/r.csv"
        r = run("convert", f"{tmp}/r", "--channel", "all", "--out", out, "-q")
        assert r.exit_code == 0, r.output
        for k, lead in enumerate(rec.leads):
            if n < 2:
                with pytest.raises(EcgToolError, match="sampling rate unknown"):
                    read_csv(out, column=lead)
                continue
            back = read_csv(out, column=lead)
            assert back.fs == 250.0 and back.n_samples == n and back.lead == lead
            want = read_wfdb(f"{tmp}/r", channel=k).signal
            assert np.array_equal(np.isnan(back.signal), np.isnan(want))
            ok = ~np.isnan(want)
            np.testing.assert_allclose(back.signal[ok], want[ok], rtol=1e-4, atol=1e-300)
