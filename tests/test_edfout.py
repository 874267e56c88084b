"""convert --out file.edf (or DIR/ --format edf): records written as EDF+ read back
as they were read, by ecgtool's reader and by edfio's own."""

import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from typer.testing import CliRunner

edfio = pytest.importorskip("edfio", reason="EDF output needs edfio (ecgtool[edf])")

from ecgtool.cli import app  # noqa: E402
from ecgtool.io.edffiles import read_edf  # noqa: E402
from ecgtool.io.edfout import write_edf  # noqa: E402
from ecgtool.io.ishnefiles import write_ishne  # noqa: E402
from ecgtool.io.records import Annotations, Record, read_sample, sample_path  # noqa: E402
from ecgtool.io.wfdbfiles import read_wfdb  # noqa: E402
from roundtrip import SHAPES, random_record  # noqa: E402

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_a_converted_record_reads_back_as_its_source(tmp_path):
    out = tmp_path / "208.edf"
    r = run("convert", "sample:208", "--channel", "all", "--out", out, "-q")
    assert r.exit_code == 0, r.output
    src = read_wfdb(sample_path("208"), all_leads=True)
    back = read_edf(out, all_leads=True)
    n = src.n_samples
    # MIT-BIH's 5 uV steps are whole steps of 1 uV: the samples are the same;
    # the last 1-s data record is filled out with the last sample.
    np.testing.assert_allclose(back.signals[:n], src.signals, atol=1e-9)
    assert back.n_samples == -(-n // 360) * 360
    np.testing.assert_allclose(back.signals[n:], np.repeat(src.signals[-1:], back.n_samples - n,
                                                           axis=0), atol=1e-9)
    assert back.leads == src.leads and back.fs == src.fs
    a, b = src.annotations, back.annotations
    np.testing.assert_array_equal(b.sample, a.sample)
    np.testing.assert_array_equal(b.symbol, a.symbol)
    rhythm = a.symbol == "+"
    assert [s.strip("\x00") for s in a.aux_note[rhythm]] == b.aux_note[rhythm].tolist()
    # edfio, reading on its own, finds the leads in uV at 1 uV steps.
    edf = edfio.read_edf(out)
    assert [s.label for s in edf.signals] == src.leads
    assert {s.physical_dimension for s in edf.signals} == {"uV"}
    assert edf.signals[0].physical_range == (-32768, 32767)
    # No date and no patient: neither is kept when records are read.
    assert edf.local_recording_identification.startswith("Startdate X")
    assert edf.local_patient_identification.strip() == "X X X X"


def test_the_edf_file_gives_the_same_beats_and_scores(tmp_path):
    out = tmp_path / "119.edf"
    assert run("convert", "sample:119", "--out", out, "-q").exit_code == 0
    a = run("detect", "sample:119", "--out", "-", "-q")
    b = run("detect", out, "--out", "-", "-q")
    assert a.exit_code == b.exit_code == 0
    rows_a = [ln.split(",", 1)[1] for ln in a.stdout.splitlines()[1:]]
    rows_b = [ln.split(",", 1)[1] for ln in b.stdout.splitlines()[1:]]
    # The same R peaks; edfio's scaling differs from wfdb's in the last bits
    # of the float, which moves a wave boundary by a sample here and there.
    assert [r.split(",")[0] for r in rows_b] == [r.split(",")[0] for r in rows_a]
    assert sum(x == y for x, y in zip(rows_a, rows_b)) >= 0.99 * len(rows_a)
    r = run("evaluate", out)
    assert r.exit_code == 0 and "119" in r.stdout


def test_unreadable_samples_large_leads_and_the_start_time(tmp_path):
    rec = read_wfdb(sample_path("119"), all_leads=True, ann=None)
    x = rec.signals[:3600].copy()
    x[100:200, 0] = np.nan
    x[:, 1] *= 20.0  # up to about 60 mV: beyond 1 uV steps in 16 bits
    rec.signals = x
    rec.annotations = Annotations([50, 400, 900, 1000], ["N", "+", '"', "V"],
                                  ["", "(AFIB", "lead off", ""])
    rec.start_clock = "23:15:00"
    back = read_edf(write_edf(tmp_path / "x.edf", rec), all_leads=True)
    assert back.start_clock == "23:15:00"
    assert (back.signals[100:200, 0] == 0.0).all()  # EDF has no missing-sample mark
    step = edfio.read_edf(tmp_path / "x.edf").signals[1].physical_range.max / 32767
    assert step == 2.0
    np.testing.assert_allclose(back.signals[:, 1], x[:, 1], atol=0.5 * step / 1000)
    ok = ~np.isnan(x[:, 0])
    np.testing.assert_allclose(back.signals[ok, 0], x[ok, 0], atol=5e-4)
    assert back.annotations.symbol.tolist() == ["N", "+", '"', "V"]
    assert back.annotations.aux_note.tolist() == ["", "(AFIB", "lead off", ""]


def test_a_long_recording_is_written_from_its_blocks(tmp_path):
    rec = read_wfdb(sample_path("119"), all_leads=True, sampto=7200, ann=None)
    holter = tmp_path / "day.ecg"
    write_ishne(holter, np.tile(rec.signals, (370, 1)), 360.0, ["II", "V1"])  # 2.06 h
    out = tmp_path / "day.edf"
    r = run("convert", holter, "--channel", "all", "--out", out, "-q")
    assert r.exit_code == 0, r.output
    edf = edfio.read_edf(out)
    assert edf.num_data_records == 370 * 20
    np.testing.assert_allclose(edf.signals[1].data[-7200:] / 1000.0, rec.signals[:, 1],
                               atol=1e-9)


def test_a_failed_write_leaves_no_file(tmp_path):
    rec = read_sample("119")

    def broken():
        yield 0, rec.signals[:1000]
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_edf(tmp_path / "x.edf", rec, broken, rec.n_samples)
    assert list(tmp_path.iterdir()) == []


def test_rates_that_need_longer_data_records(tmp_path):
    x = np.sin(np.arange(1000) / 7.0)[:, None]
    for fs, samples_per_record in ((257.0, 257), (128.5, 257), (100.25, 401)):
        f = write_edf(tmp_path / "r.edf", Record("r", x, fs, ["II"]))
        assert edfio.read_edf(f).signals[0].samples_per_data_record == samples_per_record
        assert read_edf(f).fs == fs
    csv = tmp_path / "odd.csv"
    csv.write_text("".join(f"{v}\n" for v in np.sin(np.arange(2000) / 9.0)))
    r = run("convert", csv, "--fs", "360.1234567", "--out", tmp_path / "odd.edf", "-q")
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "whole number of samples" in r.stderr and not (tmp_path / "odd.edf").exists()


def test_folders_of_edf_files_and_wrong_uses(tmp_path):
    r = run("convert", "sample:119", "sample:208", "--out", f"{tmp_path}/e/", "--format", "edf",
            "-q")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "e").iterdir()) == ["119.edf", "208.edf"]
    r = run("convert", "sample:119", "sample:208", "--out", tmp_path / "two.edf", "-q")
    assert r.exit_code == 1 and "an EDF file holds one record" in r.stderr
    r = run("convert", "sample:119", "--out", tmp_path / "x.csv", "--format", "edf", "-q")
    assert r.exit_code == 1 and "--format is for a folder" in r.stderr
    r = run("convert", "sample:119", "--out", f"{tmp_path}/f/", "--format", "bdf", "-q")
    assert r.exit_code == 1 and "give wfdb or edf" in r.stderr
    r = run("detect", "sample:119", "--out", tmp_path / "beats.edf", "-q")
    assert r.exit_code == 1 and "cannot write a .edf file" in r.stderr
    assert not list(tmp_path.glob("*.edf"))


@settings(max_examples=30, deadline=None)
@given(*SHAPES)
def test_any_signal_reads_back_within_its_step(n, leads, scale, nan_share, seed):
    # Any length, lead count and amplitude (a lead beyond 1 uV steps gets a
    # coarser one), NaN anywhere: the samples come back within half a step,
    # the NaN as 0, the tail of the last data record as the last sample.
    rec = random_record(n, leads, scale, nan_share, seed)
    x = rec.signals
    with tempfile.TemporaryDirectory() as d:
        f = write_edf(f"{d}/r.edf", rec)
        back = read_edf(f, all_leads=True, ann=False)
        step = np.array([s.physical_range.max / 32767 for s in edfio.read_edf(f).signals])
    assert back.n_samples == -(-n // 250) * 250
    want = np.nan_to_num(x, nan=0.0)
    err = np.abs(back.signals[:n] - want) * 1000.0 / step
    assert (err <= 0.5 + 1e-6).all()
    np.testing.assert_array_equal(back.signals[n:], np.repeat(back.signals[n - 1:n],
                                                              back.n_samples - n, axis=0))


def test_the_beats_instead_of_the_reference_for_a_viewer(tmp_path):
    store = tmp_path / "c.h5"
    r = run("classify", "sample:208", "--out", store, "-q")
    assert r.exit_code == 0, r.output
    labelled = run("classify", store, "--out", "-", "-q").stdout.splitlines()
    head = labelled[0].split(",")
    rows = [dict(zip(head, line.split(","))) for line in labelled[1:]]
    out = tmp_path / "c.edf"
    assert run("convert", store, "--beats", "--out", out, "-q").exit_code == 0
    ann = read_edf(out).annotations
    assert ann.sample.tolist() == [int(x["r_peak"]) for x in rows]
    by_class = {"N": "N", "S": "A", "V": "V", "F": "F", "Q": "Q"}
    assert ann.symbol.tolist() == [x["symbol"] or by_class[x["aami"]] for x in rows]
    # A record without beats of its own is detected now; WFDB output takes them too.
    assert run("convert", "sample:119", "--beats", "--out", f"{tmp_path}/w/", "-q").exit_code == 0
    detected = run("detect", "sample:119", "--out", "-", "-q").stdout.splitlines()[1:]
    atr = read_wfdb(tmp_path / "w" / "119").annotations
    assert atr.sample.tolist() == [int(line.split(",")[1]) for line in detected]
    assert set(atr.symbol) == {"N"}
    r = run("convert", "sample:119", "--beats", "--out", tmp_path / "x.csv", "-q")
    assert r.exit_code == 1 and "for EDF+ or WFDB output" in r.stderr
