"""GE MUSE XML resting ECGs: the rhythm strip, derived limb leads, statements, bad files."""

import re

import numpy as np
import pytest
from typer.testing import CliRunner

from ecgtool.cli import app
from ecgtool.errors import EcgToolError, EcgToolWarning
from ecgtool.io.inputs import expand_inputs, read_record
from ecgtool.io.musefiles import read_muse, write_muse
from ecgtool.io.records import sample_path
from ecgtool.io.wfdbfiles import read_wfdb
from ecgtool.signal.detect import detect_r_peaks

EIGHT = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]


@pytest.fixture()
def strip(tmp_path):
    """10 s of MIT-BIH 119 as leads I and II of a MUSE file."""
    x = read_wfdb(sample_path("119"), all_leads=True).signals[:3600]
    path = tmp_path / "ecg.xml"
    write_muse(path, x, 360.0, ["I", "II"])
    return path, x


def test_the_rhythm_strip_reads_in_mv_with_the_limb_leads_derived(strip):
    path, x = strip
    rec = read_muse(path, all_leads=True)
    assert rec.fs == 360.0 and rec.leads == ["I", "II", "III", "aVR", "aVL", "aVF"]
    assert rec.lead == "II" and rec.n_samples == 3600
    # 4.88 uV steps.
    np.testing.assert_allclose(rec.signals[:, :2], x, atol=2.5e-3)
    np.testing.assert_allclose(rec.signals[:, 2], rec.signals[:, 1] - rec.signals[:, 0])


def test_derived_limb_leads_match_the_recorded_ones_of_real_12_lead_ecgs(tmp_path, data):
    # PTB (1000 Hz) and a PTB-XL sample of CinC 2021 (500 Hz) record all
    # twelve leads: written as MUSE stores them, eight, and read back.
    for name in ("ptbdb/s0010_re", "cinc2021/E07500"):
        if not (data / (name + ".hea")).is_file():
            pytest.skip(f"{name} is not in ECGTOOL_DATA")
        rec = read_record(str(data / name), all_leads=True)
        low = [lead.lower() for lead in rec.leads]
        write_muse(tmp_path / "x.xml", rec.signals[:, [low.index(n.lower()) for n in EIGHT]],
                   rec.fs, EIGHT)
        back = read_muse(tmp_path / "x.xml", all_leads=True)
        for lead in ("III", "aVR", "aVL", "aVF"):
            np.testing.assert_allclose(back.signals[:, back.leads.index(lead)],
                                       rec.signals[:, low.index(lead.lower())], atol=0.01,
                                       err_msg=f"{name} {lead}")


def test_detect_reads_a_muse_file_and_a_folder_of_them(strip, tmp_path):
    path, x = strip
    (tmp_path / "notes.xml").write_text("<notes/>\n")
    res = CliRunner().invoke(app, ["detect", str(tmp_path), "--out", "-", "-q"])
    assert res.exit_code == 0, res.output
    rows = res.stdout.splitlines()[1:]
    assert {r.split(",")[0] for r in rows} == {"ecg"}
    got = [int(r.split(",")[1]) for r in rows]
    rec = read_muse(path)
    assert len(got) > 8 and got == detect_r_peaks(rec.signal, 360.0).tolist()
    assert [s.kind for s in expand_inputs([str(tmp_path)])] == ["muse"]


def test_statements_and_time_are_kept_and_the_patient_is_not(strip):
    path, _ = strip
    text = path.read_text(encoding="iso-8859-1").replace("<RestingECG>", (
        "<!DOCTYPE RestingECG SYSTEM \"restecg.dtd\">\n<RestingECG>\n"
        "<PatientDemographics><PatientID>12345</PatientID><PatientLastName>Doe"
        "</PatientLastName></PatientDemographics>\n"
        "<TestDemographics><AcquisitionTime>09:41:07</AcquisitionTime>"
        "<AcquisitionDate>03-15-2019</AcquisitionDate></TestDemographics>\n"
        "<Diagnosis><DiagnosisStatement><StmtText>Sinus rhythm</StmtText></DiagnosisStatement>"
        "<DiagnosisStatement><StmtText>Normal ECG</StmtText></DiagnosisStatement></Diagnosis>"))
    text = text.replace("<Waveform>", "<Waveform><WaveformType>Median</WaveformType>"
                        "<SampleBase>500</SampleBase></Waveform>\n<Waveform>", 1)
    path.write_text(text, encoding="iso-8859-1")
    rec = read_muse(path)
    assert rec.n_samples == 3600 and rec.start_clock == "09:41:07"
    assert rec.comments == ["diagnosis: Sinus rhythm; Normal ECG"]
    assert "Doe" not in repr(rec) and "12345" not in repr(rec)


def _break(path, pattern, repl, count=1):
    text = path.read_text(encoding="iso-8859-1")
    path.write_text(re.sub(pattern, repl, text, count=count, flags=re.S), encoding="iso-8859-1")


@pytest.mark.parametrize("pattern, repl, why", [
    (r"<WaveFormData>(.{400}).*?</WaveFormData>", r"<WaveFormData>\1</WaveFormData>",
     "lead I: 150 samples where the file says 3600: truncated"),
    (r"<WaveFormData>", "<WaveFormData>!!", "lead I: WaveFormData is not base64"),
    (r"<WaveformType>Rhythm", "<WaveformType>Median", r"no rhythm waveform \(only Median\)"),
    (r"<SampleBase>360</SampleBase>", "", "SampleBase .the sampling rate. missing"),
    (r"<LeadAmplitudeUnitsPerBit>4.88</LeadAmplitudeUnitsPerBit>", "",
     "lead I: LeadAmplitudeUnitsPerBit missing"),
    (r"</RestingECG>", "", "not readable XML"),
    (r"RestingECG", "Other", "an XML document of <Other>, not a MUSE <RestingECG>"),
])
def test_a_damaged_muse_file_is_a_one_line_error(strip, tmp_path, pattern, repl, why):
    path, _ = strip
    _break(path, pattern, repl, count=0 if repl == "Other" else 1)
    with pytest.raises(EcgToolError, match=why):
        read_muse(path)
    out = tmp_path / "beats.h5"
    res = CliRunner().invoke(app, ["detect", str(path), "--out", str(out), "-q"])
    assert res.exit_code == 1 and not out.exists()
    assert "Traceback" not in res.output and res.output.count("\n") == 1, res.output


def test_a_checksum_that_does_not_match_is_a_warning(strip):
    path, x = strip
    _break(path, r"<LeadDataCRC32>\d+", "<LeadDataCRC32>1")
    with pytest.warns(EcgToolWarning, match="lead I's CRC32 does not match"):
        rec = read_muse(path)
    assert rec.n_samples == x.shape[0]
