"""The Record every reader returns, and what the readers share.

WFDB records (``.hea`` with ``.dat`` or a CinC ``.mat``) are read by
:mod:`ecgtool.io.wfdbfiles`, header-less ``.mat`` files (CPSC 2018) by
:mod:`ecgtool.io.matfiles`, EDF by :mod:`ecgtool.io.edffiles`, CSV by
:mod:`ecgtool.io.csvfiles`.

Every reader returns a :class:`Record`: signals in mV, the sampling rate, the
lead names, which lead the pipeline uses, the reference annotations when the
source has them, and where the data came from (path and sha256). Here too:
the choice of lead (:func:`choose_channel`), units, the source checksum, and
the MIT-BIH records bundled with the package (:func:`read_sample`). Problems
with the input raise :class:`~ecgtool.errors.EcgToolError` naming the file.
"""
from __future__ import annotations

import hashlib
import os
import re
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ecgtool.errors import EcgToolError, EcgToolWarning

#: Leads preferred for beat detection, best first (MIT-BIH's modified lead II,
#: then standard lead II); otherwise the first lead is used.
PREFERRED_LEADS = ("MLII", "II", "ML2", "ECG")

#: mV in one unit, by the unit's lower-case name; "nu" (WFDB's "no unit") and
#: "" are read as mV.
_UNIT_TO_MV = {"mv": 1.0, "millivolts": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3,
               "microvolts": 1e-3, "nv": 1e-6, "v": 1e3, "volts": 1e3, "nu": 1.0, "": 1.0}

SAMPLE_RECORDS = ("119", "208")


@dataclass
class Annotations:
    """Reference annotations of a record (WFDB-style, one entry per label).

    Attributes
    ----------
    sample : numpy.ndarray
        int64 sample indices.
    symbol : numpy.ndarray
        Annotation codes (``"N"``, ``"V"``, ``"+"``, ...), str.
    aux_note : numpy.ndarray
        Free text per annotation (rhythm changes such as ``"(AFIB"``), str.
    subtype : numpy.ndarray
        WFDB ``subtyp`` per annotation (int16; zeros when not given). On a
        noise mark ``~`` it tells which signals are noisy, and -1 that all
        of them are unreadable from there to the next ``~``.
    """

    sample: np.ndarray
    symbol: np.ndarray
    aux_note: np.ndarray
    subtype: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.sample = np.asarray(self.sample, dtype=np.int64)
        self.symbol = np.asarray(self.symbol, dtype=str)
        self.aux_note = np.asarray(self.aux_note, dtype=str)
        self.subtype = (np.zeros(self.sample.size, np.int16) if self.subtype is None
                        else np.asarray(self.subtype, dtype=np.int16))
        if not (self.sample.size == self.symbol.size == self.aux_note.size
                == self.subtype.size):
            raise ValueError("annotation fields differ in length")

    def __len__(self) -> int:
        return int(self.sample.size)


@dataclass
class Record:
    """One ECG recording.

    Attributes
    ----------
    name : str
        Record name (the file stem unless given).
    signals : numpy.ndarray
        ``(n_samples, n_leads)`` float64 array in mV (only the chosen lead
        unless all leads were asked for); float32 for a long recording that
        ``detect`` read in blocks (:func:`ecgtool.longrecord.long_record_detect`).
    fs : float
        Sampling rate in Hz.
    leads : list of str
        Names of the columns of ``signals``.
    channel : int
        Column of ``signals`` that detection uses.
    source : str
        Path of the file the record was read from.
    sha256 : str
        Hex digest of the source bytes (header then signal files for WFDB).
    annotations : Annotations or None
        Reference annotations, when the source has them.
    comments : list of str
        Header comments (diagnoses, age, sex...), when any.
    start_clock : str
        Time of day of the first sample, ``HH:MM:SS``, where the source
        gives it (a WFDB header's base time, an EDF or ISHNE start time);
        else "". The date is not kept.

    Examples
    --------
    >>> r = Record("mine", np.zeros((2500, 2)), 250.0, ["I", "II"], channel=1)
    >>> r.lead, r.signal.shape, r.duration_s
    ('II', (2500,), 10.0)
    """

    name: str
    signals: np.ndarray
    fs: float
    leads: list[str]
    channel: int = 0
    source: str = ""
    sha256: str = ""
    annotations: Annotations | None = None
    comments: list[str] = field(default_factory=list)
    start_clock: str = ""

    @property
    def signal(self) -> np.ndarray:
        """The lead used for detection, in mV."""
        return self.signals[:, self.channel]

    @property
    def lead(self) -> str:
        """Name of the lead used for detection."""
        return self.leads[self.channel]

    @property
    def n_samples(self) -> int:
        return int(self.signals.shape[0])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs


def file_head(path: str | os.PathLike, size: int, offset: int = 0) -> bytes:
    """``size`` bytes of a file from ``offset`` on (fewer at its end), to tell
    its format by a magic number or its first element; b"" where it cannot
    be read.

    Examples
    --------
    >>> file_head(sample_path("119").with_suffix(".hea"), 7)
    b'119 2 3'
    """
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(size)
    except OSError:
        return b""


def file_bytes(path: str | os.PathLike) -> bytes:
    """A whole file's bytes; a missing or unreadable file is an
    :class:`~ecgtool.errors.EcgToolError` naming it."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise EcgToolError("no such file", str(path)) from None
    except OSError as exc:
        raise EcgToolError(f"cannot read ({exc.strerror})", str(path)) from None


def sha256_files(paths: list[Path]) -> str:
    """Hex sha256 of the concatenated bytes of ``paths``.

    Examples
    --------
    >>> len(sha256_files([]))
    64
    """
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def choose_channel(leads: list[str], channel: str | int | None, source: str = "") -> int:
    """Index of the lead to use: by name, by index, or the preferred default.

    Examples
    --------
    >>> choose_channel(["V1", "MLII"], None)
    1
    >>> choose_channel(["I", "II"], "ii")
    1
    >>> choose_channel(["I", "II"], 0)
    0
    >>> choose_channel(["ECG I", "ECG II"], None), choose_channel(["Lead I", "Lead II"], "II")
    (1, 1)
    """
    if channel is None or channel == "":
        found = preferred_lead(leads)
        return 0 if found is None else found
    if isinstance(channel, (int, np.integer)) or str(channel).lstrip("-").isdecimal():
        idx = int(channel)
        if not 0 <= idx < len(leads):
            raise EcgToolError(f"channel index {idx} is out of range (the record has "
                               f"{len(leads)} lead{'s' if len(leads) != 1 else ''})", source)
        return idx
    found = _find_lead(leads, (str(channel).strip().upper(),))
    if found is None:
        raise EcgToolError(f"no lead named {channel!r} (leads: {', '.join(leads)})", source)
    return found


#: Words of a signal label that name an ECG lead ("Lead II", "ECG V5", "MLIII";
#: D1-D4 as some European recorders name the limb leads, Frank's X, Y and Z
#: leads as PTB names them, and the bipolar Holter leads CM2-CM5, CC5).
LEAD_WORDS = frozenset({"ECG", "EKG", "LEAD", "MLI", "MLII", "MLIII", "ML2", "ML5", "I", "II",
                        "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6", "D1",
                        "D2", "D3", "D4", "VX", "VY", "VZ", "CM2", "CM3", "CM4", "CM5", "CC5"})


def names_a_lead(label: str) -> bool:
    """True when a signal's label names an ECG lead: it says ECG or EKG, or
    one of its words is a lead's name (:data:`LEAD_WORDS`).

    Examples
    --------
    >>> [names_a_lead(x) for x in ("ECG 2", "Lead II", "V5", "RESP", "Temp", "EEG Fpz-Cz")]
    [True, True, True, False, False, False]
    """
    u = label.upper()
    return "ECG" in u or "EKG" in u or bool(LEAD_WORDS & set(re.split(r"[^A-Z0-9]+", u)))


def preferred_lead(leads: list[str]) -> int | None:
    """Index of the first of :data:`PREFERRED_LEADS` among ``leads`` (labels
    such as ``ECG II`` or ``Lead II`` name lead II too); None if none.

    Examples
    --------
    >>> preferred_lead(["V1", "MLII"]), preferred_lead(["EEG", "ECG II"]), preferred_lead(["V1"])
    (1, 1, None)
    >>> preferred_lead(["timestamp [ms]", "ecg [uV]"])
    1
    """
    return _find_lead(leads, PREFERRED_LEADS)


def _find_lead(leads: list[str], wanted: tuple[str, ...]) -> int | None:
    # The first of `wanted` (upper case) among the labels as they are, then
    # among them without an "ECG"/"EKG"/"Lead" prefix.
    for names in ([name.strip().upper() for name in leads], [lead_key(n) for n in leads]):
        for want in wanted:
            if want in names:
                return names.index(want)
    return None


def lead_key(name: str) -> str:
    """A lead's label in upper case without an "ECG"/"EKG"/"Lead" prefix or
    units after it.

    Examples
    --------
    >>> lead_key("ECG II"), lead_key("ecg [uV]"), lead_key("Lead I")
    ('II', 'ECG', 'I')
    """
    n = re.sub(r"\s*[(\[][^()\[\]]*[)\]]$", "", name.strip().upper())
    m = re.fullmatch(r"(?:ECG|EKG|LEAD)[\s_\-:]*(\w+)", n)
    return m.group(1) if m else n


def mv_per(unit: str) -> float | None:
    """mV in one ``unit`` of voltage (``uV``, ``MICROVOLTS``, ``nV``...);
    None for a name that is no unit of voltage, or none.

    Examples
    --------
    >>> mv_per("uV"), mv_per("MICROVOLTS"), mv_per("furlongs"), mv_per("")
    (0.001, 0.001, None, None)
    """
    key = (unit or "").strip().lower()
    return None if key in ("", "nu") else _UNIT_TO_MV.get(key)


def _to_mv(units: str) -> float:
    key = (units or "").strip().lower()
    if key not in _UNIT_TO_MV:
        warnings.warn(f"unknown unit {units!r}: read as mV", EcgToolWarning,
                      stacklevel=3)
        return 1.0
    return _UNIT_TO_MV[key]


def clock_text(t) -> str:
    """A time of day (``datetime.time``, or hours, minutes and seconds) as
    ``HH:MM:SS``; "" for None, an impossible time, or 00:00:00, which ISHNE
    and EDF writers (and EDF anonymisers) leave where they have no time.

    Examples
    --------
    >>> import datetime
    >>> clock_text(datetime.time(8, 5, 30, 250000)), clock_text((25, 0, 0)), clock_text(None)
    ('08:05:30', '', '')
    >>> clock_text((0, 0, 0))
    ''
    """
    if t is None:
        return ""
    h, m, s = (t.hour, t.minute, t.second) if hasattr(t, "hour") else t
    if not (0 <= h < 24 and 0 <= m < 60 and 0 <= s < 60) or h == m == s == 0:
        return ""
    return f"{int(h):02d}:{int(m):02d}:{int(s):02d}"


def clock_seconds(text: str) -> float:
    """Seconds in ``h:mm:ss.mmm``, ``m:ss`` or plain seconds (quoted or not).

    Raises ValueError for other text.

    Examples
    --------
    >>> clock_seconds("1:02:03.5"), clock_seconds("90"), clock_seconds("'2:00'")
    (3723.5, 90.0, 120.0)
    """
    parts = text.strip().strip("'\"").split(":")
    if len(parts) > 3:
        raise ValueError(f"not a time: {text!r}")
    return sum(float(p) * 60 ** k for k, p in enumerate(reversed(parts)))


#: A date and time as devices write them: ``2026-07-26T21:56:26.765``,
#: ``2026-07-26 21:56:26+02:00``, ``01/02/2016 10:08:18.448``; the date is
#: group 1, the time of day group 2, a UTC offset group 4.
DATE_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4})[T ]\s*"
                        r"(\d{1,2}:\d{2}:\d{2})(\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?$")


def date_time_seconds(text: str) -> float:
    """Seconds since 1970 of an ISO 8601 date and time (a time without an
    offset counted as UTC: only differences matter); of another date's
    (``01/02/2016``, whose order of day and month no text tells), seconds
    since its midnight, which :func:`over_midnight` carries on past the next.

    Examples
    --------
    >>> date_time_seconds("1970-01-02T00:00:01.5"), date_time_seconds("1970-01-01 01:00:00+01:00")
    (86401.5, 0.0)
    >>> date_time_seconds("01/02/2016 10:08:18.448")
    36498.448
    """
    m = DATE_TIME.match(text.strip().strip('"'))
    if m is None:
        raise ValueError(f"not a date and time: {text!r}")
    t = clock_seconds(m[2] + (m[3] or ""))
    if "-" not in m[1] or len(m[1]) != 10:
        return t
    from datetime import date

    y, mo, d = map(int, m[1].split("-"))
    zone = 0.0
    if m[4] and m[4] != "Z":
        sign = -1.0 if m[4][0] == "-" else 1.0
        zone = sign * (int(m[4][1:3]) * 3600 + int(m[4][-2:]) * 60)
    return (date(y, mo, d).toordinal() - 719163) * 86400.0 + t - zone


def over_midnight(t: np.ndarray) -> np.ndarray:
    """Times of day ``t`` (s) carried on by a day wherever they fall back by
    more than half of one (a recording past midnight).

    Examples
    --------
    >>> over_midnight(np.array([86399.0, 0.0, 1.0])).tolist()
    [86399.0, 86400.0, 86401.0]
    """
    return t + 86400.0 * np.cumsum(np.r_[0, np.diff(t) < -43200.0])


def date_time_clock(text: str) -> str:
    """The time of day (``HH:MM:SS``) of a date and time as :data:`DATE_TIME`
    reads it; "" for other text.

    Examples
    --------
    >>> date_time_clock("2026-08-26 18:15:35 +0100"), date_time_clock("II")
    ('18:15:35', '')
    """
    m = DATE_TIME.match(text.strip().strip('"'))
    return clock_text(tuple(map(int, m[2].split(":")))) if m else ""


def clock_fields(text: str) -> tuple[int, int, int]:
    """Hours, minutes and seconds of a time of day ``HH:MM:SS`` (as
    :func:`clock_text` writes it), for writers that store them apart.

    Examples
    --------
    >>> clock_fields("08:05:30")
    (8, 5, 30)
    """
    return _hms(int(round(clock_seconds(text))))


def _hms(t: int) -> tuple[int, int, int]:
    return t // 3600, t // 60 % 60, t % 60


def clock_at(start_clock: str, offset_s: float) -> str:
    """``start_clock`` (``HH:MM:SS``) moved on by ``offset_s``, round the clock;
    "" where the start time is unknown.

    Examples
    --------
    >>> clock_at("23:30:00", 5400.4), clock_at("", 10.0)
    ('01:00:00', '')
    """
    if not start_clock:
        return ""
    t = int(round(clock_seconds(start_clock) + offset_s)) % 86400
    return "{:02d}:{:02d}:{:02d}".format(*_hms(t))


def cut_annotations(ann: Annotations | None, start: int, stop: int) -> Annotations | None:
    """The annotations of samples ``start`` to ``stop``, counted from ``start``.

    The rhythm and the signal quality in force at ``start`` (the last
    rhythm change, ``+``, and the last ``~`` before it) are repeated at
    its first sample, so that the excerpt's reference says what it begins in.

    Examples
    --------
    >>> a = Annotations([10, 50, 300, 420], ["+", "N", "N", "V"], ["(AFIB", "", "", ""])
    >>> cut = cut_annotations(a, 100, 400)
    >>> cut.sample.tolist(), cut.symbol.tolist(), cut.aux_note.tolist()
    ([0, 200], ['+', 'N'], ['(AFIB', ''])
    """
    if ann is None:
        return None
    inside = (ann.sample >= start) & (ann.sample < stop)
    before = np.flatnonzero(ann.sample < start)
    carried = [before[(ann.symbol[before] == sym) & (ann.aux_note[before] != "" if sym == "+"
                                                     else True)][-1:]
               for sym in ("+", "~")]
    keep = np.concatenate(carried + [np.flatnonzero(inside)])
    return Annotations(np.maximum(ann.sample[keep] - start, 0), ann.symbol[keep],
                       ann.aux_note[keep], ann.subtype[keep])


def excerpt(rec: Record, start: int, stop: int, signals: np.ndarray | None = None) -> Record:
    """Samples ``start`` to ``stop`` of ``rec`` as a record of its own: its
    annotations cut (:func:`cut_annotations`), its start time of day moved,
    a comment saying where it was cut from; ``signals`` when they were read
    apart (a long recording's block).

    Examples
    --------
    >>> r = Record("x", np.zeros((3600, 1)), 360.0, ["II"], start_clock="08:00:00")
    >>> e = excerpt(r, 720, 1080)
    >>> e.n_samples, e.start_clock, e.comments
    (360, '08:00:02', ['excerpt of x: 2-3 s'])
    """
    from dataclasses import replace

    cut = rec.signals[start:stop] if signals is None else signals
    return replace(rec, signals=cut, annotations=cut_annotations(rec.annotations, start, stop),
                   start_clock=clock_at(rec.start_clock, start / rec.fs),
                   comments=list(rec.comments)
                   + [f"excerpt of {rec.name}: {start / rec.fs:g}-{stop / rec.fs:g} s"])


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


# ------------------------------------------------------------------ samples

def sample_path(name: str) -> Path:
    """Path (without suffix) of a record bundled with ecgtool.

    The bundled records are MIT-BIH Arrhythmia Database records 119 and 208
    (PhysioNet, ODC-By 1.0), with their reference annotations.

    Examples
    --------
    >>> sample_path("119").with_suffix(".hea").is_file()
    True
    """
    if name not in SAMPLE_RECORDS:
        raise EcgToolError(f"no bundled sample {name!r} (samples: {', '.join(SAMPLE_RECORDS)})")
    return Path(str(resources.files("ecgtool") / "data" / name))


def read_sample(name: str = "208", channel: str | int | None = None) -> Record:
    """Read a bundled MIT-BIH sample record (see :func:`sample_path`).

    Examples
    --------
    >>> read_sample("119").duration_s
    1805.5555555555557
    """
    from ecgtool.io.wfdbfiles import read_wfdb

    return read_wfdb(sample_path(name), channel=channel)
