"""The leads of a 12-lead ECG: their order, their names, and the limb leads
that follow from two of them.

Resting-ECG formats (GE MUSE, HL7 aECG, DICOM) store eight leads, or twelve;
III, aVR, aVL and aVF are derived from I and II (Einthoven's and
Goldberger's relations), as the cart derives them, where a file leaves them out.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ecgtool.io.records import Record, choose_channel

#: The order of a 12-lead ECG's leads.
TWELVE_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def lead_name(label: str) -> str:
    """A lead label as the 12-lead order names it: ``AVR`` -> ``aVR``."""
    known = {lead.upper(): lead for lead in TWELVE_LEADS}
    return known.get(label.upper(), label)


def with_limb_leads(leads: list[str], signals: np.ndarray) -> tuple[list[str], np.ndarray]:
    """``leads`` and ``signals`` with III, aVR, aVL and aVF derived from I and
    II (Einthoven's and Goldberger's relations) where they are missing, in
    the 12-lead order, other leads after.

    Examples
    --------
    >>> leads, x = with_limb_leads(["II", "I"], np.array([[2.0, 1.0]]))
    >>> leads, x.tolist()
    (['I', 'II', 'III', 'aVR', 'aVL', 'aVF'], [[1.0, 2.0, 1.0, -1.5, 0.0, 1.5]])
    """
    have = {lead: signals[:, j] for j, lead in enumerate(leads)}
    if "I" in have and "II" in have:
        i, ii = have["I"], have["II"]
        for lead, x in (("III", ii - i), ("aVR", -(i + ii) / 2), ("aVL", i - ii / 2),
                        ("aVF", ii - i / 2)):
            have.setdefault(lead, x)
    order = [lead for lead in TWELVE_LEADS if lead in have]
    order += [lead for lead in leads if lead not in order]
    return order, np.column_stack([have[lead] for lead in order])


def twelve_lead_record(path: Path, raw: bytes, fs: float, leads: list[str], signals: np.ndarray,
                       channel: str | int | None = None, all_leads: bool = False,
                       name: str | None = None, comments: list[str] | None = None,
                       start_clock: str = "") -> Record:
    """The :class:`Record` of a resting ECG's leads (``signals`` in mV, one
    column each) read from ``path`` (``raw``: its bytes): the limb leads
    derived where missing, the lead ``channel`` names (default II) chosen.

    Examples
    --------
    >>> rec = twelve_lead_record(Path("x.xml"), b"", 500.0, ["I", "II"], np.zeros((5, 2)))
    >>> rec.name, rec.lead, rec.signals.shape
    ('x', 'II', (5, 1))
    """
    shown = str(path)
    leads, signals = with_limb_leads(leads, signals)
    chan = choose_channel(leads, channel, shown)
    cols = list(range(len(leads))) if all_leads else [chan]
    return Record(name=name or path.stem, signals=signals[:, cols], fs=fs,
                  leads=[leads[i] for i in cols], channel=cols.index(chan), source=shown,
                  sha256=hashlib.sha256(raw).hexdigest(), comments=list(comments or []),
                  start_clock=start_clock)
