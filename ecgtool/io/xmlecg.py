"""Resting ECGs in XML: what GE MUSE, HL7 aECG and Philips files share, and which one a file is.

Each holds a 12-lead ECG of a few seconds; :func:`read_xml_ecg` reads any
of them by its root element, the formats' modules (:mod:`ecgtool.io.musefiles`,
:mod:`ecgtool.io.aecgfiles`, :mod:`ecgtool.io.philipsfiles`) each giving its
rhythm strip as a :class:`Waveform`.
Here too: parsing with one-line errors and namespace-free element lookup.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecgtool.errors import EcgToolError
from ecgtool.io.records import Record, file_bytes, file_head
from ecgtool.io.twelvelead import twelve_lead_record

#: The start of an XML ECG: a byte-order mark, the XML declaration, a DOCTYPE
#: and comments may come before its root element (group 1).
_HEAD = re.compile(rb"(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!DOCTYPE[^>]*>\s*)?"
                   rb"(?:<!--.*?-->\s*)*<(?:\w+:)?(RestingECG|AnnotatedECG|restingecgdata)[\s>]",
                   re.S)


def xml_ecg_kind(path: str | os.PathLike) -> str | None:
    """``"RestingECG"`` (GE MUSE), ``"AnnotatedECG"`` (HL7 aECG) or
    ``"restingecgdata"`` (Philips) for a file whose root element is one, else None.

    Examples
    --------
    >>> xml_ecg_kind(__file__) is None
    True
    """
    m = _HEAD.match(file_head(path, 4096))
    return m[1].decode() if m else None


@dataclass
class Waveform:
    """An XML ECG's rhythm strip as its format holds it: the rate, each
    lead's samples in mV (leads may differ in length), the statements and
    the time of day of its start."""

    fs: float
    leads: list[str]
    columns: list[np.ndarray]
    comments: list[str] = field(default_factory=list)
    start_clock: str = ""


def read_xml_ecg(path: str | os.PathLike, channel: str | int | None = None,
                 all_leads: bool = False, name: str | None = None) -> Record:
    """Read the rhythm strip of a GE MUSE, HL7 aECG or Philips resting ECG.

    Parameters
    ----------
    path : str or path-like
        The ``.xml`` file.
    channel : str or int, optional
        Lead name, or index in the 12-lead order; default lead II.
    all_leads : bool
        Keep every lead.
    name : str, optional
        Record name; default the file stem.

    Returns
    -------
    Record
        Signals in mV, III, aVR, aVL and aVF derived from I and II where the
        file leaves them out.

    Examples
    --------
    >>> import tempfile, os
    >>> from ecgtool.io.musefiles import write_muse
    >>> from ecgtool.io.records import read_sample
    >>> f = os.path.join(tempfile.mkdtemp(), "ecg.xml")
    >>> x = read_sample("119").signal[:3600]
    >>> write_muse(f, np.c_[x, x], 360.0, ["I", "II"])
    >>> rec = read_xml_ecg(f, all_leads=True)
    >>> rec.leads, rec.lead, rec.fs, rec.n_samples
    (['I', 'II', 'III', 'aVR', 'aVL', 'aVF'], 'II', 360.0, 3600)
    """
    p = Path(path)
    shown = str(p)
    root, raw = parse_xml(p)
    kind = local(root.tag)
    if kind == "RestingECG":
        from ecgtool.io.musefiles import muse_waveform as waveform
    elif kind == "AnnotatedECG":
        from ecgtool.io.aecgfiles import aecg_waveform as waveform
    elif kind == "restingecgdata":
        from ecgtool.io.philipsfiles import philips_waveform as waveform
    else:
        raise EcgToolError(f"an XML document of <{kind}>: ecgtool reads GE MUSE <RestingECG>, "
                           "HL7 aECG <AnnotatedECG> and Philips <restingecgdata> ECGs", shown)
    w = waveform(root, shown)
    return twelve_lead_record(p, raw, w.fs, w.leads, aligned(w.columns), channel, all_leads,
                              name, w.comments, w.start_clock)


def parse_xml(path: str | os.PathLike):
    """The root element of an XML file and the file's bytes; one-line errors."""
    from xml.etree import ElementTree

    raw = file_bytes(path)
    try:
        return ElementTree.fromstring(raw), raw
    except (ElementTree.ParseError, LookupError, ValueError) as exc:
        # LookupError: an encoding the declaration names that Python does not know.
        raise EcgToolError(f"not readable XML ({exc})", str(path)) from None


def local(tag: str) -> str:
    """An element's tag without its namespace: ``{urn:hl7-org:v3}code`` -> ``code``."""
    return tag.rsplit("}", 1)[-1]


def children(el, tag: str) -> list:
    """``el``'s children named ``tag``, whatever their namespace."""
    return [c for c in el if local(c.tag) == tag]


def descendants(el, tag: str) -> list:
    """The elements named ``tag`` at any depth under ``el`` (``el`` too),
    whatever their namespace, in document order."""
    return [d for d in el.iter() if local(d.tag) == tag]


def child(el, tag: str):
    """``el``'s first child named ``tag``, or None."""
    found = children(el, tag)
    return found[0] if found else None


def text(el, tag: str) -> str:
    """The stripped text of ``el``'s first child named ``tag`` ("" if none)."""
    c = child(el, tag)
    return (c.text or "").strip() if c is not None else ""


def aligned(columns: list[np.ndarray]) -> np.ndarray:
    """Leads side by side; a shorter one ends in unreadable signal (NaN), not zeros."""
    n = max(c.size for c in columns)
    out = np.full((n, len(columns)), np.nan)
    for j, c in enumerate(columns):
        out[:c.size, j] = c
    return out
