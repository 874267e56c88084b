"""DICOM waveform ECGs, read through pydicom (its own sample: a real 12-lead ECG)."""

import shutil
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from ecgtool.cli import app
from ecgtool.errors import EcgToolError
from ecgtool.io.dicomfiles import read_dicom
from ecgtool.io.inputs import expand_inputs
from ecgtool.signal.detect import detect_beats

pydicom = pytest.importorskip("pydicom", reason="pydicom (ecgtool[dicom]) is not installed")


@pytest.fixture(scope="module")
def ecg_dcm():
    from pydicom.data import get_testdata_file

    return get_testdata_file("waveform_ecg.dcm")


def test_a_12_lead_dicom_ecg_reads_its_rhythm_strip_in_mv(ecg_dcm):
    rec = read_dicom(ecg_dcm, all_leads=True)
    assert rec.leads == ["I", "II", "III", "aVR", "aVL", "aVF",
                         "V1", "V2", "V3", "V4", "V5", "V6"]
    assert rec.lead == "II" and rec.fs == 1000.0 and rec.n_samples == 10000
    assert rec.start_clock == "10:59:19"
    assert rec.comments[0] == "statements: RITMO SINUSALE; ECG NORMALE"
    assert "QRS Duration 75 ms" in rec.comments[1]
    # The rhythm group (not the 1.2-s median beat), 1.25 uV steps, in mV:
    # the recorded limb leads obey Einthoven's law to the step.
    x = rec.signals
    assert 0.3 < np.ptp(x[:, 1]) < 5
    np.testing.assert_allclose(x[:, 2], x[:, 1] - x[:, 0], atol=2.6e-3)


def test_the_beats_found_are_the_carts_fiducial_points(ecg_dcm):
    # The cart marks each beat of the strip (after its median beat's marks).
    ds = pydicom.dcmread(ecg_dcm)
    marks = [int(a.ReferencedSamplePositions) for a in ds.WaveformAnnotationSequence
             if "ConceptNameCodeSequence" in a
             and a.ConceptNameCodeSequence[0].CodeMeaning == "Fiducial Point"][1:]
    rec = read_dicom(ecg_dcm)
    peaks = detect_beats(rec.signal, rec.fs).r_peak
    assert len(marks) == len(peaks) == 10
    assert np.abs(peaks - np.array(marks)).max() <= 3  # ms


def test_detect_reads_a_dicom_file_and_a_folder_of_them(ecg_dcm, tmp_path):
    # A study folder holds images too: only the ECG waveforms are records.
    from pydicom.data import get_testdata_file

    shutil.copy(ecg_dcm, tmp_path / "rest.dcm")
    shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / "ct.dcm")
    (tmp_path / "not.dcm").write_bytes(b"\0" * 200)
    assert [s.kind for s in expand_inputs([str(tmp_path)])] == ["dicom"]
    res = CliRunner().invoke(app, ["detect", str(tmp_path), "--out", "-", "-q"])
    assert res.exit_code == 0, res.output
    assert len(res.stdout.splitlines()) == 11
    # Archives name DICOM files without a suffix, or by their UID.
    shutil.move(tmp_path / "rest.dcm", tmp_path / "IM0001")
    shutil.copy(tmp_path / "IM0001", tmp_path / "1.2.840.113619.2.55")
    shutil.move(tmp_path / "ct.dcm", tmp_path / "IM0002")
    (tmp_path / "RECORDS").write_text("IM0001\n")
    assert [(s.kind, s.name) for s in expand_inputs([str(tmp_path)])] == [
        ("dicom", "1.2.840.113619.2.55"), ("dicom", "IM0001")]
    assert [s.kind for s in expand_inputs([str(tmp_path / "1.2.840.113619.2.55")])] == ["dicom"]


def test_a_dicom_file_that_is_no_ecg_or_no_dicom_is_a_one_line_error(tmp_path):
    from pydicom.data import get_testdata_file

    with pytest.raises(EcgToolError, match="a DICOM file without a waveform"):
        read_dicom(get_testdata_file("CT_small.dcm"))
    (tmp_path / "x.dcm").write_bytes(b"\0" * 200)
    out = tmp_path / "b.h5"
    res = CliRunner().invoke(app, ["detect", str(tmp_path / "x.dcm"), "--out", str(out)])
    assert res.exit_code == 1 and not out.exists()
    assert "not a readable DICOM file" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("cut", [1000, 200000, 290000])
def test_a_dicom_file_cut_short_is_a_one_line_error(ecg_dcm, tmp_path, cut):
    # pydicom reads elements when first used: damage anywhere raises its own
    # kinds of exception (OSError "No tag to read", ...), said in one line.
    p = tmp_path / "cut.dcm"
    p.write_bytes(open(ecg_dcm, "rb").read()[:cut])
    with pytest.raises(EcgToolError, match="DICOM file"):
        read_dicom(p)


def test_dicom_without_pydicom_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pydicom", None)
    with pytest.raises(EcgToolError, match=r"pip install 'ecgtool\[dicom\]'"):
        read_dicom(tmp_path / "x.dcm")
