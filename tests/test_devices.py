"""Text exports of consumer devices: an Apple Watch ECG, a Polar H10 recording."""

import io
from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy.signal import resample_poly
from typer.testing import CliRunner

from ecgtool.cli import app
from ecgtool.errors import EcgToolWarning
from ecgtool.io.csvfiles import read_csv
from ecgtool.io.preamble import read_preamble
from ecgtool.io.records import read_sample
from ecgtool.signal.detect import detect_r_peaks
from ecgtool.stream import sample_chunks

APPLE_HEAD = ('Name,Test Person\nDate of Birth,"Jan 15, 1990"\n'
              "Recorded Date,2026-08-26 18:15:35 +0100\nClassification,Sinus Rhythm\n"
              'Symptoms,\nSoftware Version,1.90\nDevice,"Watch6,7"\nSample Rate,512 hertz\n\n\n'
              "Lead,Lead I\nUnit,µV\n\n")


@pytest.fixture(scope="module")
def ecg512():
    """30 s of MIT-BIH 119 at the Apple Watch's 512 Hz, in mV."""
    return resample_poly(read_sample("119").signal[:360 * 30], 512, 360)


def _apple(x, decimal_comma=False):
    values = "".join(f"{v * 1000:.3f}".rstrip("0").rstrip(".") + "\n" for v in x)
    return APPLE_HEAD + (values.replace(".", ",") if decimal_comma else values)


@pytest.mark.parametrize("decimal_comma", [False, True])
def test_an_apple_watch_export_reads_with_its_rate_units_lead_and_time(
        tmp_path, ecg512, decimal_comma):
    p = tmp_path / "ecg_2026-08-26.csv"
    p.write_text(_apple(ecg512, decimal_comma), encoding="utf-8")
    rec = read_csv(p)
    assert rec.fs == 512.0 and rec.lead == "Lead I" and rec.start_clock == "18:15:35"
    # µV to mV, to the 3 decimals written; a decimal comma reads as a point.
    np.testing.assert_allclose(rec.signal, ecg512, atol=1e-6)
    assert "Classification: Sinus Rhythm" in rec.comments
    # Who the wearer is stays out of the record.
    assert not any("Test Person" in c or "1990" in c for c in rec.comments)
    # Piped in, with the rate given, the samples are the file's.
    streamed = np.concatenate(list(sample_chunks(io.StringIO(p.read_text()), 512, chunk=700)))
    assert streamed.tolist() == rec.signal.tolist()


def test_an_apple_watch_export_gives_the_beats_of_its_signal(tmp_path, ecg512):
    p = tmp_path / "apple.csv"
    p.write_text(_apple(ecg512), encoding="utf-8")
    res = CliRunner().invoke(app, ["detect", str(p), "--out", "-", "-q"])
    assert res.exit_code == 0, res.output
    peaks = [int(row.split(",")[1]) for row in res.stdout.splitlines()[1:]]
    assert len(peaks) > 30 and peaks == detect_r_peaks(ecg512, 512.0).tolist()


def test_a_polar_sensor_logger_file_reads_its_rate_from_the_sensor_clock(tmp_path):
    # Semicolons, a phone clock as date and time, the sensor's ns and ms
    # clocks, the ECG in µV: 130 Hz from the ms column, the time of day from
    # the phone's.
    x = resample_poly(read_sample("119").signal[:360 * 20], 13, 36)
    t0, ns0 = datetime(2026, 7, 26, 23, 59, 55, 765000), 838432586543515816
    rows = ["Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]"]
    for i, v in enumerate(x):
        ms = i * 1000 / 130
        phone = (t0 + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds")
        rows.append(f"{phone};{ns0 + int(ms * 1e6)};{ms:.6f};{round(v * 1000)}")
    p = tmp_path / "Polar_H10_ECG.txt"
    p.write_text("\n".join(rows) + "\n")
    rec = read_csv(p)
    assert rec.fs == 130.0 and rec.lead == "ecg [uV]" and rec.start_clock == "23:59:55"
    np.testing.assert_allclose(rec.signal, x, atol=5e-4)
    # A packet of 73 samples lost on the way: unreadable time, the rest in place.
    p.write_text("\n".join(rows[:1001] + rows[1074:]) + "\n")
    with pytest.warns(EcgToolWarning, match="73 samples"):
        rec = read_csv(p)
    assert rec.fs == 130.0 and np.isnan(rec.signal[1000:1073]).all()
    np.testing.assert_allclose(rec.signal[1073:], x[1073:], atol=5e-4)


def test_metadata_lines_need_a_sampling_rate_and_plain_tables_have_none():
    assert read_preamble(["time,ECG"] + [f"{i / 360:.4f},0.{i}" for i in range(9)]) is None
    assert read_preamble(["'Elapsed time','MLII'", "'seconds','mV'", "0.000,0.1",
                          "0.003,0.2", "0.006,0.1"]) is None
    assert read_preamble(["Average Heart Rate,64", "Unit,µV", "12", "13"]) is None
    # A count of samples is no rate; a value in Hz is one under any key.
    assert read_preamble(["Samples,15360", "Abtastrate,512 Hertz", "12", "13"]).fs == 512.0
    assert read_preamble(["Samples,15360", "sampling_frequency,250", "12", "13"]).fs == 250.0
    assert read_preamble(["Samples,15360", "Unit,uV", "12", "13"]) is None
    # A row of names may close the block; the rate may be any key's "Hz" value.
    p = read_preamble(["Abtastrate;250 Hz", "Sample;Amplitude (uV)", "0;10", "1;20", "2;15"])
    assert (p.fs, p.names, p.delim, p.lines, p.decimal_comma) == (
        250.0, ["Sample", "Amplitude (uV)"], ";", 2, False)
    p = read_preamble(["Sample Rate,250", "Sample,Amplitude", "0,10", "1,20", "2,15"])
    assert (p.fs, p.names, p.decimal_comma) == (250.0, ["Sample", "Amplitude"], False)
    # A carriage return inside a line (csv's "new-line character seen in
    # unquoted field") and fields without a row of names crashed the reader.
    assert read_preamble(["Sample Rate,250 Hz", "Note,a\rb", "1", "2"]).comments[-1] == \
        "Note: a\rb"
    p = read_preamble(["Sample Rate,512 hertz", "Unit,uV", "1,2,3", "4,5,6"])
    assert (p.names, p.delim, p.units) == (["col0", "col1", "col2"], ",", "uV")


def test_a_table_after_metadata_reads_its_ecg_column(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("Device,Recorder 2\nSample Rate,250 Hz\nSample,Amplitude (uV)\n"
                 + "".join(f"{i},{(i % 5) * 100}\n" for i in range(600)))
    rec = read_csv(p)
    assert rec.fs == 250.0 and rec.lead == "Amplitude (uV)" and rec.comments == [
        "Device: Recorder 2", "Sample Rate: 250 Hz"]
    assert rec.signal[:6].tolist() == [0.0, 0.1, 0.2, 0.3, 0.4, 0.0]


def test_times_written_as_dates_and_times_give_the_rate_and_the_start(tmp_path):
    # A chest strap's export (BioHarness-like): day/month/year dates, past
    # midnight; and ISO dates with a UTC offset.
    x = read_sample("119").signal[:360 * 10]
    t0 = datetime(2016, 2, 1, 23, 59, 55, 448000)
    p = tmp_path / "strap.csv"
    for stamp in (lambda t: t.strftime("%d/%m/%Y %H:%M:%S.%f")[:-3],
                  lambda t: t.isoformat(timespec="milliseconds") + "+02:00"):
        p.write_text("Time,EcgWaveform\n" + "".join(
            f"{stamp(t0 + timedelta(seconds=i / 360))},{v:.4f}\n" for i, v in enumerate(x)))
        rec = read_csv(p)
        assert rec.fs == 360.0 and rec.start_clock == "23:59:55"
        np.testing.assert_allclose(rec.signal, x, atol=6e-5)
