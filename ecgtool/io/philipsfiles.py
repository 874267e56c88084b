"""Philips XML: the resting 12-lead ECGs of Philips carts (PageWriter,
HeartStart) and of the IntelliSpace ECG system (SierraECG and PhilipsECG
documents, versions 1.03-1.04.02).

A ``<restingecgdata>`` document holds every lead's samples in one base64
block (``<parsedwaveforms>``), most often compressed with Philips' XLI
scheme, in which III, aVR, aVL and aVF are stored as what remains after
their relation to I and II. The sierraecg library (``pip install
"ecgtool[philips]"``) decodes both; this module reads the rest: the rate,
the scale (``signalresolution``, microvolts a unit), the cart's statements
and measurements (the record's comments) and the acquisition time. Patient
fields are not copied.

Carts end the strip with a stretch that is no ECG: a 1-mV calibration
pulse, then zeros, the same in every lead. Samples where all the leads hold
one value for 20 ms or more are read as unreadable signal (NaN): no real
12-lead ECG has every lead equal (I = II = III holds only at 0 mV).
"""

from __future__ import annotations

import numpy as np

from ecgtool.errors import EcgToolError
from ecgtool.io.records import _brief, clock_text
from ecgtool.io.twelvelead import lead_name
from ecgtool.io.xmlecg import Waveform, child, children, descendants, text

#: The cart's global measurements kept as a comment: tag, label, unit.
_MEASUREMENTS = (("heartrate", "heart rate", "bpm"), ("meanprint", "PR", "ms"),
                 ("meanqrsdur", "QRS", "ms"), ("meanqtint", "QT", "ms"),
                 ("meanqtc", "QTc", "ms"))

#: The shortest run of samples, in seconds, equal in every lead that is read
#: as no signal.
FLAT_S = 0.02


def philips_waveform(root, shown: str) -> Waveform:
    """The rhythm strip of a parsed Philips ``<restingecgdata>`` document,
    the file at ``shown`` (read files with :func:`ecgtool.io.xmlecg.read_xml_ecg`)."""
    signal = _first(root, "signalcharacteristics")
    if signal is None:
        raise EcgToolError("no <signalcharacteristics>: the rate and scale are unknown", shown)
    fs = _number(text(signal, "samplingrate"), "samplingrate (the sampling rate)", shown)
    uv = _number(text(signal, "signalresolution") or text(signal, "resolution"),
                 "signalresolution (microvolts a unit)", shown)
    leads = _decoded(shown)
    names = [lead_name(str(lead.label).strip()) for lead in leads]
    x = np.column_stack([np.asarray(lead.samples, dtype=np.float64) for lead in leads])
    x = without_flat(x * uv / 1e3, fs)
    return Waveform(fs, names, list(x.T), _comments(root), _start(root))


def _decoded(shown: str) -> list:
    try:
        import sierraecg
    except ImportError:
        raise EcgToolError("reading Philips XML needs sierraecg: pip install "
                           "'ecgtool[philips]'", shown) from None
    try:
        leads = sierraecg.read_file(shown).leads
    except Exception as exc:  # damaged data fails inside the decoder in many ways
        raise EcgToolError(f"unreadable Philips waveform ({_brief(exc)})", shown) from None
    if not leads or any(np.size(lead.samples) == 0 for lead in leads):
        raise EcgToolError("the waveform holds no samples", shown)
    if len({np.size(lead.samples) for lead in leads}) > 1:
        raise EcgToolError("leads of different lengths: the waveform is damaged", shown)
    return leads


def without_flat(x: np.ndarray, fs: float, min_s: float = FLAT_S) -> np.ndarray:
    """``x`` (samples by leads) with every run of ``min_s`` or longer in
    which all the leads hold one value set to NaN; unchanged with fewer than
    three leads.

    Examples
    --------
    >>> x = np.ones((100, 3)); x[:50] = np.random.default_rng(0).normal(size=(50, 3))
    >>> int(np.isnan(without_flat(x, 500.0)[:, 0]).sum())
    50
    """
    if x.shape[1] < 3 or not x.size:
        return x
    same = np.all(x == x[:, :1], axis=1)
    edges = np.flatnonzero(np.diff(np.r_[0, same.astype(np.int8), 0]))
    out = x.copy()
    for start, stop in zip(edges[::2], edges[1::2]):
        if stop - start >= min_s * fs:
            out[start:stop] = np.nan
    return out


def _number(value: str, what: str, shown: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise EcgToolError(f"{what} missing or not a number ({value!r})", shown) from None
    if not v > 0:
        raise EcgToolError(f"{what} is {value}", shown)
    return v


def _first(root, tag: str):
    found = descendants(root, tag)
    return found[0] if found else None


def _comments(root) -> list[str]:
    out = []
    interpretation = _first(root, "interpretation")
    if interpretation is not None:
        said = []
        for s in children(interpretation, "statement"):
            left, right = text(s, "leftstatement"), text(s, "rightstatement")
            if left:
                said.append(f"{left} ({right})" if right else left)
        if said:
            out.append("statements: " + "; ".join(said))
        severity = text(interpretation, "severity").strip(" -")
        if severity:
            out.append(f"severity: {severity}")
        found = child(interpretation, "interpretationmeasurements")
        values = [f"{label} {text(found, tag)} {unit}" for tag, label, unit in _MEASUREMENTS
                  if found is not None and text(found, tag).isdecimal()]
        if values:
            out.append("measurements: " + ", ".join(values))
    return out


def _start(root) -> str:
    acquisition = _first(root, "dataacquisition")
    clock = acquisition.get("time", "") if acquisition is not None else ""
    parts = clock.split(":")
    if len(parts) == 3 and all(p.isdecimal() for p in parts):
        return clock_text(tuple(map(int, parts)))
    return ""
