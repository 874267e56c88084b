"""Philips XML resting ECGs, decoded through sierraecg, on a real cart's file
(tests/data/philips/129DYPRG.xml: a HeartStart MRx ECG, XLI-compressed)."""

import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ecgtool.cli import app
from ecgtool.errors import EcgToolError
from ecgtool.io.inputs import expand_inputs
from ecgtool.io.xmlecg import read_xml_ecg
from ecgtool.signal.detect import detect_beats

pytest.importorskip("sierraecg", reason="sierraecg (ecgtool[philips]) is not installed")

FIXTURE = Path(__file__).with_name("data") / "philips" / "129DYPRG.xml"


@pytest.fixture(scope="module")
def rec():
    return read_xml_ecg(FIXTURE, all_leads=True)


def test_a_philips_ecg_reads_its_twelve_leads_in_mv(rec):
    assert rec.leads == ["I", "II", "III", "aVR", "aVL", "aVF",
                         "V1", "V2", "V3", "V4", "V5", "V6"]
    assert rec.lead == "II" and rec.fs == 500.0 and rec.n_samples == 5500
    assert rec.start_clock == "07:27:34"
    assert rec.comments[0].startswith("statements: Sinus bradycardia (rate< 50); ")
    assert rec.comments[2] == ("measurements: heart rate 41 bpm, PR 151 ms, QRS 135 ms, "
                               "QT 476 ms, QTc 393 ms")
    # XLI stores III as what remains after II - I: decoded, Einthoven's law
    # holds within two of the file's 5-uV units (the cart's own rounding).
    x = rec.signals
    ok = ~np.isnan(x[:, 0])
    assert 0.3 < np.ptp(x[ok, 1]) < 5
    assert np.abs(x[ok, 2] - (x[ok, 1] - x[ok, 0])).max() <= 0.010 + 1e-9


def test_the_calibration_pulse_and_the_blank_end_are_unreadable_not_ecg(rec):
    # The cart ends the strip with zeros and a 1-mV, 200-ms pulse in every
    # lead, which detection would take for a beat.
    gone = np.isnan(rec.signals).all(axis=1)
    assert gone.sum() == 236 and gone[5264:].all() and not gone[:5264].any()
    import sierraecg

    raw = sierraecg.read_file(str(FIXTURE)).leads[1].samples * 0.005
    assert len(detect_beats(raw, rec.fs).r_peak) == 8  # the pulse read as a beat
    assert len(detect_beats(rec.signal, rec.fs).r_peak) == 7


def test_every_lead_finds_the_carts_rate_at_the_same_beats(rec):
    # The cart: 41 bpm, a mean R-R interval of 1464 ms. Each lead is its own
    # XLI block: all twelve decoded right give the same seven beats.
    peaks = [detect_beats(rec.signals[:, j], rec.fs).r_peak for j in range(12)]
    assert all(len(p) == 7 for p in peaks)
    spread = np.ptp(np.array(peaks), axis=0)
    assert spread.max() <= 0.05 * rec.fs  # leads peak within 50 ms of one another
    rr = np.diff(peaks[1]) / rec.fs * 1e3
    assert abs(60e3 / rr.mean() - 41) < 1 and abs(rr.mean() - 1464) < 30


def test_detect_reads_a_philips_file_and_a_folder_of_them(tmp_path):
    (tmp_path / "ecg.xml").write_bytes(FIXTURE.read_bytes())
    (tmp_path / "other.xml").write_text("<?xml version='1.0'?><config/>")
    assert [s.kind for s in expand_inputs([str(tmp_path)])] == ["xml"]
    res = CliRunner().invoke(app, ["detect", str(tmp_path), "--out", "-", "-q"])
    assert res.exit_code == 0, res.output
    assert len(res.stdout.splitlines()) == 8


@pytest.mark.parametrize("change, said", [
    (lambda s: s.replace("<signalresolution>5</signalresolution>", ""), "signalresolution"),
    (lambda s: s.replace("<samplingrate>500</samplingrate>", "<samplingrate>0</samplingrate>"),
     "samplingrate"),
    (lambda s: s.replace("<documentversion>1.03", "<documentversion>9.9"),
     "unreadable Philips waveform"),
    (lambda s: s[:len(s) // 2] + "</parsedwaveforms></waveforms></restingecgdata>",
     "unreadable Philips waveform"),
])
def test_a_damaged_philips_file_is_a_one_line_error(tmp_path, change, said):
    p = tmp_path / "bad.xml"
    p.write_text(change(FIXTURE.read_text()))
    res = CliRunner().invoke(app, ["detect", str(p), "--out", str(tmp_path / "b.h5")])
    assert res.exit_code == 1 and said in res.stderr, res.output
    assert "Traceback" not in res.output and not (tmp_path / "b.h5").exists()


def test_bytes_changed_in_the_waveform_give_a_record_or_the_one_line_error(tmp_path):
    data = bytearray(FIXTURE.read_bytes())
    start = data.index(b"nbitspersample")
    rng = np.random.default_rng(0)
    p = tmp_path / "x.xml"
    for _ in range(40):
        bad = data.copy()
        for at in rng.integers(start, len(data) - 60, 3):
            bad[at] = ord(rng.choice(list("AZaz09+/")))
        p.write_bytes(bytes(bad))
        try:
            read_xml_ecg(p)
        except EcgToolError:
            pass


def test_philips_without_sierraecg_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sierraecg", None)
    with pytest.raises(EcgToolError, match=r"pip install 'ecgtool\[philips\]'"):
        read_xml_ecg(FIXTURE)
