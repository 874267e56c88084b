"""The metadata lines some devices write before the samples of a text export.

An Apple Watch ECG export (Health app, ``electrocardiograms/*.csv``) opens
with ``Key,value`` lines (recorded date, classification, device, sample rate,
lead, unit) and then holds one value per line, in µV, written with a decimal
comma where the phone's language writes one (``-265,868``). :func:`read_preamble`
recognises such a block by its sample-rate line, whatever the language of the
other keys, and says what it holds; :mod:`ecgtool.io.csvfiles` then reads the
samples after it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

import numpy as np

from ecgtool.io.records import date_time_clock

#: A key that names the sampling rate ("Sample Rate", "sampling_frequency", "fs"),
#: not a count of samples ("Samples") nor a heart rate.
_RATE_KEY = re.compile(r"sampl\w*[\s_-]*(rate|freq)|sampling|^(frequency|fs)$", re.I)
#: A rate as a value: "512", "512 hertz", "512,0 Hz".
_RATE_VALUE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(hz|hertz)?", re.I)
_UNIT_KEY = re.compile(r"^units?$|einheit|unité|unidad", re.I)
_LEAD_KEY = re.compile(r"^(lead|channel|ableitung|dérivation|derivación)$", re.I)
#: Keys of a person's identity, left out of the record's comments.
_PRIVATE_KEY = re.compile(r"name|birth|dob|patient|geburt|naissance|nacimiento", re.I)


@dataclass(frozen=True)
class Preamble:
    """What a device's metadata lines say, and how the samples after them are laid out.

    ``lines`` counts the lines it takes (a closing row of column names
    included); ``names`` is that row, or None for samples one per line;
    ``decimal_comma`` says that a comma in a sample is its decimal point.
    """

    fs: float
    lines: int
    units: str | None = None
    lead: str | None = None
    start_clock: str = ""
    comments: list[str] = field(default_factory=list)
    names: list[str] | None = None
    delim: str | None = None
    decimal_comma: bool = False


def read_preamble(lines: list[str]) -> Preamble | None:
    """The :class:`Preamble` opening ``lines`` (stripped, neither blank nor
    comments), or None where they open with no block of metadata that names
    the sampling rate.

    Examples
    --------
    >>> p = read_preamble(["Recorded Date,2026-08-26 18:15:35 +0100", "Sample Rate,512 hertz",
    ...                    "Lead,Lead I", "Unit,µV", "-265,868", "12", "0,5"])
    >>> p.fs, p.units, p.lead, p.start_clock, p.lines, p.decimal_comma
    (512.0, 'µV', 'Lead I', '18:15:35', 4, True)
    >>> read_preamble(["time,ECG", "0.0,0.1"]) is None
    True
    """
    keys: list[tuple[str, str]] = []
    at = 0
    while at < len(lines) and not _starts_with_number(lines[at]):
        keys.append(_key_value(lines[at]))
        at += 1
    data = lines[at:]
    if not keys or not data:
        return None
    delim = _data_delimiter(data)
    width = len(_cells(data[0], delim)) if delim else 1
    names = None
    if width == 2 and delim == "," and not _counter(data):
        # One value per line with a decimal comma: "-265,868", "12", "0,5".
        width, delim = 1, None
    elif (width > 1 and len(_cells(lines[at - 1], delim)) == width
          and _rate(*keys[-1]) is None):
        # A row of column names closes the block (read as a "Key,value" line
        # where the samples have two fields).
        names, keys = _cells(lines[at - 1], delim), keys[:-1]
    elif width > 1:
        names = [f"col{i}" for i in range(width)]
    if any(v is None for _, v in keys):
        return None
    # A value in Hz says it is a rate whatever its key's language; a key alone,
    # where no value says so.
    fs = next((r for k, v in keys if (r := _rate(k, v, hz=True)) is not None),
              next((r for k, v in keys if (r := _rate(k, v)) is not None), None))
    if fs is None:
        return None
    units = next((v for k, v in keys if _UNIT_KEY.search(k)), None)
    lead = next((v for k, v in keys if _LEAD_KEY.search(k)), None)
    clock = next((c for _, v in keys if (c := date_time_clock(v or ""))), "")
    comments = [f"{k}: {v}" for k, v in keys if v and not _PRIVATE_KEY.search(k)]
    return Preamble(fs=fs, lines=at, units=units, lead=lead, start_clock=clock,
                    comments=comments, names=names, delim=delim if width > 1 else None,
                    decimal_comma=width == 1 and any("," in ln for ln in data))


def _starts_with_number(line: str) -> bool:
    first = re.split(r"[,;\t ]", line.strip(), maxsplit=1)[0].strip('"')
    try:
        float(first)
        return True
    except ValueError:
        return False


def _key_value(line: str) -> tuple[str, str | None]:
    # "Key,value" (the value may be quoted and hold commas: 'Device,"Watch6,7"',
    # or a decimal comma unquoted: "Software Version,1,90"), "Key;value",
    # "Key<TAB>value" or "Key: value"; (line, None) for any other line.
    for d in (",", ";", "\t"):
        if d in line:
            try:
                cells = [c.strip() for c in next(csv.reader([line], delimiter=d))]
            except csv.Error:  # a carriage return inside a field, an open quote
                cells = [c.strip() for c in line.split(d)]
            return cells[0], d.join(cells[1:]).strip(d + " ")
    key, sep, value = line.partition(":")
    return (key.strip(), value.strip()) if sep else (line, None)


def _cells(line: str, delim: str | None) -> list[str]:
    return [c.strip().strip('"') for c in (line.split(delim) if delim else line.split())]


def _data_delimiter(data: list[str]) -> str | None:
    for d in (";", "\t", ","):
        if any(d in ln for ln in data):
            return d
    return None


def _counter(data: list[str]) -> bool:
    # A first field that rises by steady steps on every line (sample numbers or
    # times), where the integer parts of decimal-comma values rise and fall.
    try:
        first = np.array([float(ln.split(",")[0]) for ln in data])
    except ValueError:
        return False
    if any("," not in ln for ln in data) or first.size < 3:
        return False
    step = np.diff(first)
    return bool(np.all(step > 0)) and step.max() <= 2 * step.min()


def _rate(key: str, value: str | None, hz: bool = False) -> float | None:
    # The rate a "Key,value" line gives (with hz, only a value in Hz); None if none.
    m = _RATE_VALUE.fullmatch((value or "").strip())
    if not m or not (m[2] if hz else m[2] or _RATE_KEY.search(key)):
        return None
    fs = float(m[1].replace(",", "."))
    return fs if fs > 0 else None
