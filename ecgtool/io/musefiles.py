"""GE MUSE XML: the resting 12-lead ECGs that GE's MUSE system exports.

A ``<RestingECG>`` document holds a ``Rhythm`` waveform (the whole strip,
usually 10 s) and a ``Median`` one (one representative beat per lead). Each
lead's samples are base64 text of little-endian 16-bit integers, scaled by
``LeadAmplitudeUnitsPerBit`` in ``LeadAmplitudeUnits`` (microvolts), at
``SampleBase`` times ten to the ``SampleExponent`` Hz. MUSE stores eight
leads (I, II, V1-V6); the limb leads III, aVR, aVL and aVF are derived from
I and II, as the cart derives them, where the file leaves them out. The
patient's demographics are not copied; the cart's statements
(``Diagnosis``) become the record's comments.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import warnings
import zlib
from pathlib import Path

import numpy as np

from ecgtool.errors import EcgToolError, EcgToolWarning
from ecgtool.io.records import clock_text, mv_per
from ecgtool.io.twelvelead import lead_name
from ecgtool.io.xmlecg import Waveform, children, descendants, text

def muse_waveform(root, shown: str) -> Waveform:
    """The rhythm strip of a parsed MUSE ``<RestingECG>`` document (read
    files with :func:`ecgtool.io.xmlecg.read_xml_ecg`)."""
    wave = _rhythm(root, shown)
    fs = _rate(wave, shown)
    leads, columns = [], []
    for lead in children(wave, "LeadData"):
        lead_id = text(lead, "LeadID")
        if not lead_id:
            raise EcgToolError("a lead without a LeadID", shown)
        leads.append(lead_name(lead_id))
        columns.append(_samples(lead, leads[-1], shown))
    if not leads:
        raise EcgToolError("the rhythm waveform holds no leads", shown)
    return Waveform(fs, leads, columns, _statements(root), _start(root))


def _rhythm(root, shown: str):
    waves = descendants(root, "Waveform")
    rhythm = [w for w in waves if text(w, "WaveformType").lower() == "rhythm"]
    if rhythm:
        return rhythm[0]
    if waves:
        kinds = sorted({text(w, "WaveformType") or "untyped" for w in waves})
        raise EcgToolError(f"no rhythm waveform (only {', '.join(kinds)}): the strip itself "
                           "is not in the file", shown)
    raise EcgToolError("no <Waveform> in the document", shown)


def _rate(wave, shown: str) -> float:
    try:
        base = float(text(wave, "SampleBase"))
        exponent = int(text(wave, "SampleExponent") or 0)
    except ValueError:
        raise EcgToolError("SampleBase (the sampling rate) missing or not a number",
                           shown) from None
    fs = base * 10.0 ** exponent
    if not fs > 0:
        raise EcgToolError(f"sampling rate {fs:g} Hz", shown)
    return fs


def _samples(lead, name: str, shown: str) -> np.ndarray:
    size = text(lead, "LeadSampleSize") or "2"
    if size != "2":
        raise EcgToolError(f"lead {name}: samples of {size} bytes (MUSE writes 2)", shown)
    try:
        data = base64.b64decode(re.sub(r"\s+", "", text(lead, "WaveFormData")), validate=True)
    except (binascii.Error, ValueError):
        raise EcgToolError(f"lead {name}: WaveFormData is not base64", shown) from None
    if len(data) % 2:
        raise EcgToolError(f"lead {name}: an odd number of bytes, cut inside a sample", shown)
    count = text(lead, "LeadSampleCountTotal")
    if count.isdecimal() and len(data) // 2 < int(count):
        raise EcgToolError(f"lead {name}: {len(data) // 2} samples where the file says "
                           f"{count}: truncated", shown)
    crc = text(lead, "LeadDataCRC32")
    if crc.isdecimal() and zlib.crc32(data) != int(crc):
        warnings.warn(f"{shown}: lead {name}'s CRC32 does not match its samples: read as they "
                      "are", EcgToolWarning, stacklevel=4)
    per_bit = text(lead, "LeadAmplitudeUnitsPerBit")
    units = text(lead, "LeadAmplitudeUnits") or "MICROVOLTS"
    if mv_per(units) is None:
        raise EcgToolError(f"lead {name}: unknown LeadAmplitudeUnits {units!r}", shown)
    try:
        scale = float(per_bit) * mv_per(units)  # mV per bit
    except ValueError:
        raise EcgToolError(f"lead {name}: LeadAmplitudeUnitsPerBit missing or not a number "
                           f"({per_bit!r}): its scale is unknown", shown) from None
    return np.frombuffer(data, "<i2").astype(np.float64) * scale


def _statements(root) -> list[str]:
    # The cart's (or the reader's) interpretation, one comment per block.
    out = []
    for tag in ("Diagnosis", "OriginalDiagnosis"):
        for block in children(root, tag):
            texts = [text(s, "StmtText") for s in descendants(block, "DiagnosisStatement")]
            texts = [t for t in texts if t]
            if texts:
                out.append(f"{tag[0].lower() + tag[1:]}: " + "; ".join(texts))
    return out


def _start(root) -> str:
    for block in children(root, "TestDemographics"):
        m = re.fullmatch(r"(\d{1,2}):(\d{2}):(\d{2})", text(block, "AcquisitionTime"))
        if m:
            return clock_text(tuple(map(int, m.groups())))
    return ""


def write_muse(path: str | os.PathLike, signals: np.ndarray, fs: float, leads: list[str],
               uv_per_bit: float = 4.88) -> None:
    """Write ``signals`` (mV, one column per lead) as a MUSE XML rhythm
    waveform, for tests and for tools that read MUSE files; the rate must be
    a whole number of Hz.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "flat.xml")
    >>> write_muse(f, np.zeros((500, 1)), 500.0, ["II"])
    >>> from ecgtool.io.xmlecg import read_xml_ecg
    >>> read_xml_ecg(f).n_samples
    500
    """
    x = np.asarray(signals, dtype=np.float64).reshape(len(signals), -1)
    parts = ["<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>", "<RestingECG>",
             "<Waveform>", "<WaveformType>Rhythm</WaveformType>",
             f"<SampleBase>{int(round(fs))}</SampleBase>", "<SampleExponent>0</SampleExponent>"]
    for j, lead in enumerate(leads):
        data = np.clip(np.round(x[:, j] * 1e3 / uv_per_bit), -32768, 32767).astype("<i2")
        raw = data.tobytes()
        parts += ["<LeadData>", f"<LeadSampleCountTotal>{data.size}</LeadSampleCountTotal>",
                  f"<LeadAmplitudeUnitsPerBit>{uv_per_bit:g}</LeadAmplitudeUnitsPerBit>",
                  "<LeadAmplitudeUnits>MICROVOLTS</LeadAmplitudeUnits>",
                  f"<LeadID>{lead}</LeadID>", "<LeadSampleSize>2</LeadSampleSize>",
                  f"<LeadDataCRC32>{zlib.crc32(raw)}</LeadDataCRC32>",
                  f"<WaveFormData>{base64.b64encode(raw).decode()}</WaveFormData>",
                  "</LeadData>"]
    parts += ["</Waveform>", "</RestingECG>"]
    Path(path).write_text("\n".join(parts) + "\n", encoding="iso-8859-1")
