"""Resting ECGs in XML (GE MUSE, HL7 aECG): the rhythm strip, derived limb leads, bad files."""

import re

import numpy as np
import pytest
from typer.testing import CliRunner

from ecgtool.cli import app
from ecgtool.errors import EcgToolError, EcgToolWarning
from ecgtool.io.inputs import expand_inputs, read_record
from ecgtool.io.aecgfiles import write_aecg
from ecgtool.io.musefiles import write_muse
from ecgtool.io.xmlecg import read_xml_ecg
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
    rec = read_xml_ecg(path, all_leads=True)
    assert rec.fs == 360.0 and rec.leads == ["I", "II", "III", "aVR", "aVL", "aVF"]
    assert rec.lead == "II" and rec.n_samples == 3600
    # 4.88 uV steps.
    np.testing.assert_allclose(rec.signals[:, :2], x, atol=2.5e-3)
    np.testing.assert_allclose(rec.signals[:, 2], rec.signals[:, 1] - rec.signals[:, 0])


@pytest.mark.parametrize("write", [write_muse, write_aecg])
def test_derived_limb_leads_match_the_recorded_ones_of_real_12_lead_ecgs(
        tmp_path, data, write):
    # PTB (1000 Hz) and a PTB-XL sample of CinC 2021 (500 Hz) record all
    # twelve leads: written as MUSE stores them, eight, and read back.
    for name in ("ptbdb/s0010_re", "cinc2021/E07500"):
        if not (data / (name + ".hea")).is_file():
            pytest.skip(f"{name} is not in ECGTOOL_DATA")
        rec = read_record(str(data / name), all_leads=True)
        low = [lead.lower() for lead in rec.leads]
        write(tmp_path / "x.xml", rec.signals[:, [low.index(n.lower()) for n in EIGHT]],
              rec.fs, EIGHT)
        back = read_xml_ecg(tmp_path / "x.xml", all_leads=True)
        assert back.fs == rec.fs and back.n_samples == rec.n_samples
        for lead in ("III", "aVR", "aVL", "aVF"):
            np.testing.assert_allclose(back.signals[:, back.leads.index(lead)],
                                       rec.signals[:, low.index(lead.lower())], atol=0.01,
                                       err_msg=f"{name} {lead}")


def test_an_aecg_file_reads_its_units_origin_and_relative_times(tmp_path):
    x = read_wfdb(sample_path("119"), all_leads=True).signals[:3600]
    path = tmp_path / "a.xml"
    write_aecg(path, x, 360.0, ["II", "V1"], start="20021122234510")
    rec = read_xml_ecg(path, all_leads=True)
    assert rec.leads == ["II", "V1"] and rec.fs == 360.0 and rec.start_clock == "23:45:10"
    np.testing.assert_allclose(rec.signals, x, atol=2.6e-3)
    # Times relative to the start in ms, values in mV about an origin of 1 mV.
    text = path.read_text()
    text = text.replace('code="TIME_ABSOLUTE"', 'code="TIME_RELATIVE"').replace(
        f'<increment value="{1 / 360:.9g}" unit="s"/>', f'<increment value="{1000 / 360:.9g}" '
        'unit="ms"/>').replace('<origin value="0" unit="uV"/><scale value="5" unit="uV"/>',
                               '<origin value="1" unit="mV"/><scale value="0.005" unit="mV"/>')
    path.write_text(text)
    moved = read_xml_ecg(path, all_leads=True)
    assert moved.fs == 360.0 and moved.start_clock == ""
    np.testing.assert_allclose(moved.signals, rec.signals + 1.0, atol=1e-9)


def test_detect_reads_muse_and_aecg_files_and_a_folder_of_them(strip, tmp_path):
    path, x = strip
    write_aecg(tmp_path / "trial.xml", x, 360.0, ["I", "II"])
    (tmp_path / "notes.xml").write_text("<notes/>\n")
    res = CliRunner().invoke(app, ["detect", str(tmp_path), "--out", "-", "-q"])
    assert res.exit_code == 0, res.output
    rows = [r.split(",") for r in res.stdout.splitlines()[1:]]
    assert {r[0] for r in rows} == {"ecg", "trial"}
    rec = read_xml_ecg(path)
    for name in ("ecg", "trial"):
        got = [int(r[1]) for r in rows if r[0] == name]
        assert len(got) > 8 and got == detect_r_peaks(rec.signal, 360.0).tolist(), name
    assert [s.kind for s in expand_inputs([str(tmp_path)])] == ["xml", "xml"]
    res = CliRunner().invoke(app, ["detect", str(tmp_path / "notes.xml"), "--out", "-"])
    assert res.exit_code == 1 and "an XML document of <notes>: ecgtool reads" in res.output


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
    rec = read_xml_ecg(path)
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
    (r"ISO-8859-1", "ISO-88w9-1", "not readable XML .unknown encoding"),
    (r"RestingECG", "Other", "an XML document of <Other>: ecgtool reads GE MUSE"),
])
def test_a_damaged_muse_file_is_a_one_line_error(strip, tmp_path, pattern, repl, why):
    path, _ = strip
    _break(path, pattern, repl, count=0 if repl == "Other" else 1)
    with pytest.raises(EcgToolError, match=why):
        read_xml_ecg(path)
    out = tmp_path / "beats.h5"
    res = CliRunner().invoke(app, ["detect", str(path), "--out", str(out), "-q"])
    assert res.exit_code == 1 and not out.exists()
    assert "Traceback" not in res.output and res.output.count("\n") == 1, res.output


def test_a_checksum_that_does_not_match_is_a_warning(strip):
    path, x = strip
    _break(path, r"<LeadDataCRC32>\d+", "<LeadDataCRC32>1")
    with pytest.warns(EcgToolWarning, match="lead I's CRC32 does not match"):
        rec = read_xml_ecg(path)
    assert rec.n_samples == x.shape[0]


def test_a_count_or_checksum_in_other_digits_is_no_number(strip):
    # str.isdigit() holds for superscripts, which int() refuses: a damaged
    # count ("3133777\u00b954", found by the robustness run) was a traceback.
    path, x = strip
    _break(path, r"<LeadSampleCountTotal>\d+", "<LeadSampleCountTotal>3133777\u00b954")
    _break(path, r"<LeadDataCRC32>\d+", "<LeadDataCRC32>\u00b2")
    assert read_xml_ecg(path).n_samples == x.shape[0]


@pytest.mark.parametrize("old, new, why", [
    ('code="TIME_ABSOLUTE"', 'code="OTHER"', "no TIME_ABSOLUTE or TIME_RELATIVE sequence"),
    ("<digits>", "<digits>x ", "lead I: digits that are not numbers"),
    ('unit="uV"/><digits>', 'unit="furlong"/><digits>', "lead I: unknown unit 'furlong'"),
    ("<series>", "<other>", "not readable XML"),
])
def test_a_damaged_aecg_file_is_a_one_line_error(tmp_path, old, new, why):
    path = tmp_path / "a.xml"
    write_aecg(path, np.zeros((720, 2)), 360.0, ["I", "II"])
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(EcgToolError, match=why):
        read_xml_ecg(path)


def test_an_aecg_series_of_several_sequence_sets_reads_the_first_and_says_so(tmp_path):
    path = tmp_path / "a.xml"
    write_aecg(path, np.zeros((720, 1)), 360.0, ["II"])
    text = path.read_text()
    a, b = text.index("<component><sequenceSet>"), text.index("</sequenceSet></component>")
    one = text[a:b + len("</sequenceSet></component>")]
    path.write_text(text.replace(one, one + one.replace("MDC_ECG_LEAD_II", "MDC_ECG_LEAD_V1")))
    with pytest.warns(EcgToolWarning, match="holds 2 sequence sets, each of its own times"):
        rec = read_xml_ecg(path, all_leads=True)
    assert rec.leads == ["II"]


def test_xml_piped_in_is_named_as_xml(strip):
    path, _ = strip
    res = CliRunner().invoke(app, ["detect", "-", "--out", "-"], input=path.read_text(
        encoding="iso-8859-1"))
    assert res.exit_code == 1 and "XML, not text of numbers: give the file itself" in res.output
