"""DICOM waveform ECGs (12-lead, general and ambulatory ECG storage), through pydicom.

A DICOM ECG holds multiplex groups of channels: the rhythm strip (``RHYTHM``,
or the first ``ORIGINAL`` group) and often a median beat. pydicom decodes a
group to samples times each channel's sensitivity, in the units the file
names (uV or mV); leads are named by their code meaning (``Lead I
(Einthoven)`` -> ``I``). The cart's statements and measurements become the
record's comments; the patient's fields are not copied.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ecgtool.errors import EcgToolError
from ecgtool.io.records import Record, clock_text, file_bytes, file_head, mv_per
from ecgtool.io.twelvelead import lead_name, twelve_lead_record

#: DICOM files carry "DICM" after a 128-byte preamble.
_MAGIC_AT = 128


def is_dicom(path: str | os.PathLike) -> bool:
    """True for a file with the DICOM magic number.

    Examples
    --------
    >>> is_dicom(__file__)
    False
    """
    return file_head(path, 4, _MAGIC_AT) == b"DICM"


#: SOP classes of DICOM waveforms that hold ECG: 12-lead, general (16- and
#: 32-bit), ambulatory and hemodynamic waveform storage.
ECG_SOP_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.9.1.1", "1.2.840.10008.5.1.4.1.1.9.1.2",
                             "1.2.840.10008.5.1.4.1.1.9.1.3", "1.2.840.10008.5.1.4.1.1.9.1.4",
                             "1.2.840.10008.5.1.4.1.1.9.2.1"})


def is_dicom_ecg(path: str | os.PathLike) -> bool:
    """True for a DICOM file of an ECG waveform class (a study folder holds
    images too); where pydicom is not installed, for any DICOM file, which
    reading then says needs it.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> is_dicom_ecg(get_testdata_file("waveform_ecg.dcm")), is_dicom_ecg(
    ...     get_testdata_file("CT_small.dcm"))
    (True, False)
    """
    if not is_dicom(path):
        return False
    try:
        import pydicom
    except ImportError:
        return True
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID"])
    except Exception:  # damaged: reading it says how
        return True
    return str(ds.get("SOPClassUID", "")) in ECG_SOP_CLASSES


def read_dicom(path: str | os.PathLike, channel: str | int | None = None,
               all_leads: bool = False, name: str | None = None) -> Record:
    """Read the rhythm strip of a DICOM ECG.

    Parameters
    ----------
    path : str or path-like
        The ``.dcm`` file.
    channel : str or int, optional
        Lead name, or index in the file's order of leads (III, aVR, aVL and
        aVF derived from I and II where missing); default lead II.
    all_leads : bool
        Keep every lead.
    name : str, optional
        Record name; default the file stem.

    Returns
    -------
    Record
        Signals in mV.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> rec = read_dicom(get_testdata_file("waveform_ecg.dcm"))
    >>> rec.lead, rec.fs, rec.n_samples
    ('II', 1000.0, 10000)
    """
    p = Path(path)
    shown = str(p)
    try:
        import pydicom
        from pydicom.errors import InvalidDicomError
    except ImportError:
        raise EcgToolError("reading DICOM needs pydicom: pip install 'ecgtool[dicom]'",
                           shown) from None
    raw = file_bytes(p)
    import io

    try:
        ds = pydicom.dcmread(io.BytesIO(raw))
    except InvalidDicomError as exc:
        raise EcgToolError(f"not a readable DICOM file ({exc})", shown) from None
    except Exception as exc:  # a damaged file: pydicom says so in several ways
        raise EcgToolError(f"not a readable DICOM file ({type(exc).__name__}: {exc})",
                           shown) from None
    try:
        return _record(ds, raw, p, channel, all_leads, name)
    except EcgToolError:
        raise
    except Exception as exc:
        # pydicom parses elements when they are first used: damage anywhere
        # in the file shows here, as any of several kinds of exception.
        raise EcgToolError(f"damaged DICOM file ({type(exc).__name__}: {exc})",
                           shown) from None


def _record(ds, raw: bytes, p: Path, channel, all_leads: bool, name) -> Record:
    shown = str(p)
    groups = ds.get("WaveformSequence")
    if not groups:
        raise EcgToolError("a DICOM file without a waveform (an image or a report?)", shown)
    index = _rhythm_group(groups)
    group = groups[index]
    data = np.asarray(ds.waveform_array(index), dtype=np.float64)
    fs = float(group.get("SamplingFrequency") or 0)
    if not fs > 0:
        raise EcgToolError("the waveform has no sampling frequency", shown)
    leads, scale = [], []
    for k, chan in enumerate(group.ChannelDefinitionSequence):
        leads.append(_lead(chan, k))
        scale.append(_mv_per_unit(chan, leads[-1], shown))
    signals = data * np.asarray(scale)
    return twelve_lead_record(p, raw, fs, leads, signals, channel, all_leads, name,
                              _comments(ds), _start(ds))


def _rhythm_group(groups) -> int:
    # The rhythm strip: a group labelled RHYTHM, else the first original one.
    for i, g in enumerate(groups):
        if str(g.get("MultiplexGroupLabel", "")).strip().upper() == "RHYTHM":
            return i
    for i, g in enumerate(groups):
        if str(g.get("WaveformOriginality", "")).strip().upper() == "ORIGINAL":
            return i
    return 0


def _lead(chan, k: int) -> str:
    # "Lead I (Einthoven)", "Lead aVR", "Lead V1" -> "I", "aVR", "V1".
    src = chan.get("ChannelSourceSequence")
    meaning = str(src[0].get("CodeMeaning", "")) if src else ""
    label = re.sub(r"\s*\(.*\)\s*$", "", meaning).strip()
    label = re.sub(r"^lead\s+", "", label, flags=re.I)
    return lead_name(label) if label else f"ch{k}"


def _mv_per_unit(chan, lead: str, shown: str) -> float:
    # pydicom's samples are in the units of the channel's sensitivity.
    units = chan.get("ChannelSensitivityUnitsSequence")
    code = str(units[0].get("CodeValue", "")) if units else "uV"
    mv = mv_per(code)
    if mv is None:
        raise EcgToolError(f"lead {lead}: unknown sensitivity unit {code!r}", shown)
    return mv


def _comments(ds) -> list[str]:
    # The cart's statements and its measurements (RR, PR, QRS, QT...).
    texts, values = [], []
    for a in ds.get("WaveformAnnotationSequence") or []:
        if a.get("UnformattedTextValue"):
            texts.append(str(a.UnformattedTextValue).strip())
        elif a.get("NumericValue") is not None and a.get("ConceptNameCodeSequence"):
            what = str(a.ConceptNameCodeSequence[0].get("CodeMeaning", "")).strip()
            units = a.get("MeasurementUnitsCodeSequence")
            unit = f" {units[0].get('CodeValue', '')}" if units else ""
            values.append(f"{what} {a.NumericValue}{unit}")
    out = [f"statements: {'; '.join(texts)}"] if texts else []
    return out + ([f"measurements: {', '.join(values)}"] if values else [])


def _start(ds) -> str:
    # AcquisitionDateTime (YYYYMMDDHHMMSS...), else AcquisitionTime or ContentTime (HHMMSS).
    stamp = str(ds.get("AcquisitionDateTime", ""))
    m = re.match(r"\d{8}(\d{2})(\d{2})(\d{2})", stamp)
    if not m:
        m = re.match(r"(\d{2})(\d{2})(\d{2})",
                     str(ds.get("AcquisitionTime", "") or ds.get("ContentTime", "")))
    return clock_text(tuple(map(int, m.groups()))) if m else ""
