"""HL7 aECG: the annotated ECGs of the FDA's ECG warehouse and of clinical trials.

An ``<AnnotatedECG>`` document (namespace ``urn:hl7-org:v3``) holds its
rhythm waveforms in a ``series`` whose ``sequenceSet`` lists sequences: one
of sample times (``TIME_ABSOLUTE``: a start date and time and an increment,
or ``TIME_RELATIVE``), and one per lead (``MDC_ECG_LEAD_II``...), each an
origin, a scale and the digits, the value of a sample being origin plus
scale times its digit, in the units they name. The representative beats
(``derivedSeries``) and the annotations are not read; limb leads a file
leaves out are derived from I and II, as for MUSE.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np

from ecgtool.errors import EcgToolError, EcgToolWarning
from ecgtool.io.records import clock_text, mv_per
from ecgtool.io.twelvelead import lead_name
from ecgtool.io.xmlecg import Waveform, child, children, descendants

#: Seconds per unit of a time increment.
_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def aecg_waveform(root, shown: str) -> Waveform:
    """The rhythm strip of a parsed aECG ``<AnnotatedECG>`` document (read
    files with :func:`ecgtool.io.xmlecg.read_xml_ecg`)."""
    fs, start = None, ""
    leads, columns = [], []
    for seq in _rhythm_sequences(root, shown):
        code = _code(seq)
        value = child(seq, "value")
        if value is None:
            continue
        if code in ("TIME_ABSOLUTE", "TIME_RELATIVE"):
            fs, start = _times(value, code, shown)
        elif code.startswith("MDC_ECG_LEAD_"):
            leads.append(lead_name(code[len("MDC_ECG_LEAD_"):]))
            columns.append(_values(value, leads[-1], shown))
    if fs is None:
        raise EcgToolError("no TIME_ABSOLUTE or TIME_RELATIVE sequence: the sampling rate is "
                           "unknown", shown)
    if not leads:
        raise EcgToolError("the rhythm series holds no MDC_ECG_LEAD_ sequence", shown)
    return Waveform(fs, leads, columns, start_clock=start)


def _code(el) -> str:
    c = child(el, "code")
    return c.get("code", "") if c is not None else ""


def _rhythm_sequences(root, shown: str) -> list:
    # The sequences of the first rhythm series' first sequence set (a series
    # coded RHYTHM where one is, else the first series).
    series = descendants(root, "series")
    if not series:
        raise EcgToolError("no <series> in the document: no waveform", shown)
    rhythm = next((s for s in series if _code(s) == "RHYTHM"), series[0])
    sets = descendants(rhythm, "sequenceSet")
    if not sets:
        raise EcgToolError("the series holds no <sequenceSet>", shown)
    if len(sets) > 1:
        # Sets of their own times (a printout's 2.5-s columns) are no one
        # recording: the first is read, and the user told.
        warnings.warn(f"{shown}: the rhythm series holds {len(sets)} sequence sets, each of its "
                      "own times: the first is read", EcgToolWarning, stacklevel=4)
    return [seq for comp in children(sets[0], "component") for seq in children(comp, "sequence")]


def _quantity(el, what: str, shown: str) -> tuple[float, str]:
    try:
        return float(el.get("value")), (el.get("unit") or "").strip()
    except (TypeError, ValueError):
        raise EcgToolError(f"{what}: value {el.get('value')!r} is not a number", shown) from None


def _times(value, code: str, shown: str) -> tuple[float, str]:
    inc = child(value, "increment")
    if inc is None:
        raise EcgToolError(f"{code} has no increment: the sampling rate is unknown", shown)
    step, unit = _quantity(inc, f"{code} increment", shown)
    if unit.lower() not in _SECONDS or not step > 0:
        raise EcgToolError(f"{code} increment {step:g} {unit!r}: the sampling rate is unknown",
                           shown)
    fs = 1.0 / (step * _SECONDS[unit.lower()])
    fs = float(round(fs)) if abs(fs - round(fs)) < 0.01 else round(fs, 6)
    head = child(value, "head")
    start = ""
    if code == "TIME_ABSOLUTE" and head is not None:
        # HL7 timestamps: YYYYMMDDHHMMSS[.fff][+ZZZZ].
        m = re.match(r"\d{8}(\d{2})(\d{2})(\d{2})", head.get("value", ""))
        start = clock_text(tuple(map(int, m.groups()))) if m else ""
    return fs, start


def _values(value, name: str, shown: str) -> np.ndarray:
    origin, scale = child(value, "origin"), child(value, "scale")
    digits = child(value, "digits")
    if scale is None or digits is None:
        raise EcgToolError(f"lead {name}: no scale or no digits", shown)
    step, unit = _quantity(scale, f"lead {name} scale", shown)
    zero, zero_unit = (0.0, unit) if origin is None else _quantity(
        origin, f"lead {name} origin", shown)
    per_mv, zero_per_mv = mv_per(unit), mv_per(zero_unit or unit)
    if per_mv is None or zero_per_mv is None:
        raise EcgToolError(f"lead {name}: unknown unit {unit or zero_unit!r}", shown)
    zero *= zero_per_mv / per_mv
    try:
        d = np.array((digits.text or "").split(), dtype=np.float64)
    except ValueError:
        raise EcgToolError(f"lead {name}: digits that are not numbers", shown) from None
    return (zero + step * d) * per_mv


def write_aecg(path: str | os.PathLike, signals: np.ndarray, fs: float, leads: list[str],
               uv_per_step: float = 5.0, start: str = "20000101000000") -> None:
    """Write ``signals`` (mV, one column per lead) as an HL7 aECG rhythm
    series, for tests and for tools that read aECG.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "flat.xml")
    >>> write_aecg(f, np.zeros((500, 1)), 500.0, ["II"], start="20021122091000")
    >>> from ecgtool.io.xmlecg import read_xml_ecg
    >>> rec = read_xml_ecg(f)
    >>> rec.n_samples, rec.start_clock
    (500, '09:10:00')
    """
    x = np.asarray(signals, dtype=np.float64).reshape(len(signals), -1)
    seq = ('<component><sequence><code code="{code}" codeSystem="{system}"/>'
           '<value xsi:type="{kind}">{body}</value></sequence></component>')
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<AnnotatedECG xmlns="urn:hl7-org:v3" '
             'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
             '<component><series><code code="RHYTHM" codeSystem="2.16.840.1.113883.5.4"/>',
             '<component><sequenceSet>',
             seq.format(code="TIME_ABSOLUTE", system="2.16.840.1.113883.5.4", kind="GLIST_TS",
                        body=f'<head value="{start}.000"/>'
                             f'<increment value="{1.0 / fs:.9g}" unit="s"/>')]
    for j, lead in enumerate(leads):
        d = np.round(x[:, j] * 1e3 / uv_per_step).astype(np.int64)
        parts.append(seq.format(
            code=f"MDC_ECG_LEAD_{lead.upper()}", system="2.16.840.1.113883.6.24",
            kind="SLIST_PQ", body=f'<origin value="0" unit="uV"/><scale value="{uv_per_step:g}" '
                                  f'unit="uV"/><digits>{" ".join(map(str, d))}</digits>'))
    parts += ["</sequenceSet></component>", "</series></component>", "</AnnotatedECG>"]
    Path(path).write_text("\n".join(parts) + "\n", encoding="utf-8")
