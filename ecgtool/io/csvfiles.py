"""Reading one ECG lead from delimited text (CSV, TSV, one value per line)."""

from __future__ import annotations

import hashlib
import io
import lzma
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgtool.errors import EcgToolError, EcgToolWarning
from ecgtool.io.beatfiles import is_beats_header, read_text
from ecgtool.io.preamble import Preamble, read_preamble
from ecgtool.io.sampletimes import time_column, time_unit, times_on_grid
from ecgtool.io.records import (_UNIT_TO_MV, Record, _to_mv, choose_channel, clock_seconds,
                                 date_time_clock, date_time_seconds, over_midnight,
                                 preferred_lead)
from ecgtool.signal.filters import MIN_FS

#: Why a beats table cannot stand in for a signal.
NOT_A_SIGNAL = ("a beats table, not a signal: this command needs the ECG itself (a record, "
                "a store from detect, or the signal CSV that convert --out - writes)")


BINARY = ("binary data, not text: give a CSV of numbers, or the record itself (its .hea, "
          ".edf, .ecg, .dcm or .mat)")


def looks_binary(text: str) -> bool:
    """True for text decoded from binary data: a NUL, or bytes that are no
    UTF-8 (read as replacement characters or escapes).

    Examples
    --------
    >>> looks_binary("0.1,0.2\\n"), looks_binary("\\x00\\x01")
    (False, True)
    """
    return "\x00" in text or sum(ch == "\ufffd" or "\udc80" <= ch <= "\udcff"
                                  for ch in text) > 4


def sniff_delimiter(line: str) -> str | None:
    """The first of comma, semicolon and tab in ``line``; None (whitespace) for none."""
    for d in (",", ";", "\t"):
        if d in line:
            return d
    return None


def sep_hint(line: str) -> str | None:
    """The delimiter Excel's hint line names (``sep=;``), None for any other line."""
    line = line.strip().lower()
    return line[4] if line.startswith("sep=") and len(line) == 5 else None


def decimal_points(line: str, delim: str | None) -> str:
    """The line with decimal commas as points where semicolons separate the
    fields (European spreadsheets: ``0,125;1,5``)."""
    return line.replace(",", ".") if delim == ";" else line


def split_cells(line: str, delim: str | None) -> list[str]:
    """The fields of one line (whitespace-separated where ``delim`` is None),
    decimal commas read as points, quotes taken off."""
    line = decimal_points(line, delim)
    if delim and '"' in line:
        # A quoted field may hold the delimiter ("ECG, lead II").
        import csv

        try:
            return [c.strip().strip("'") for c in next(csv.reader([line], delimiter=delim))]
        except csv.Error:  # a carriage return inside a field: split as unquoted
            pass
    return [c.strip().strip('"').strip("'") for c in (line.split(delim) if delim
                                                      else line.split())]


#: Column names that hold sample numbers ("sample #": rdsamp without -p).
INDEX_COLUMNS = ("sample", "sample #", "sample_#", "index")


def _units_row(cells: list[str]) -> bool:
    # The second line of a PhysioNet export: units ("mV", "seconds",
    # "hh:mm:ss.mmm"), no number among them.
    return bool(cells) and not any(_is_number(c) for c in cells)


def signal_column(names: list[str], column: str | int | None = None, shown: str = "") -> int:
    """Index of the ECG column: ``column`` (a name or an index) when given,
    else the first preferred lead (MLII, II, ECG...), else the first column
    that is not the time.

    Examples
    --------
    >>> signal_column(["time", "V1", "II"]), signal_column(["time", "V1"])
    (2, 1)
    """
    if column is not None:
        return choose_channel(names, column, shown)
    time_col = time_column(names)
    candidates = [i for i in range(len(names))
                  if i != time_col and names[i].strip().lower() not in INDEX_COLUMNS]
    if not candidates:
        raise EcgToolError("no ECG column besides time", shown)
    found = preferred_lead([names[i] for i in candidates])
    return candidates[0 if found is None else found]


#: Compressed text: the suffix after ``.csv``, ``.txt`` or ``.tsv`` that says how.
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")


def open_text(path: str | os.PathLike):
    """A text file opened for reading, decompressed where its suffix says
    (``.csv.gz``, ``.txt.bz2``, ``.csv.xz``); a byte-order mark (Excel's
    UTF-8 CSV) is not part of the first column's name.

    Examples
    --------
    >>> import gzip, tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "x.csv.gz")
    >>> with gzip.open(f, "wt") as g:
    ...     _ = g.write("ecg\\n0.1\\n")
    >>> with open_text(f) as t:
    ...     t.read()
    'ecg\\n0.1\\n'
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".gz":
        import gzip as opener
    elif suffix == ".bz2":
        import bz2 as opener
    elif suffix == ".xz":
        opener = lzma
    else:
        return open(path, encoding="utf-8-sig", errors="replace")
    return opener.open(path, "rt", encoding="utf-8-sig", errors="replace")


def read_csv(path: str | os.PathLike, fs: float | None = None, column: str | int | None = None,
             units: str | None = None, name: str | None = None,
             text: str | None = None) -> Record:
    """Read one ECG lead from a delimited text file (CSV, TSV, one value per line).

    A first line that is not numeric is taken as the column names. The rate
    comes from ``fs`` or, failing that, from a ``time``/``time_s`` column.

    Parameters
    ----------
    path : str or path-like
        The file (``-`` is standard input).
    fs : float, optional
        Sampling rate in Hz.
    column : str or int, optional
        Column name or index of the ECG; default: MLII/II/ECG by name, else
        the first column that is not time.
    units : str, optional
        Units of the values (``mV``, ``uV`` or ``V``); default: the file's
        units row (the second line of PhysioNet's rdsamp and ATM exports,
        whose times may be written as a clock, ``'0:01.250'``), else mV.
    name : str, optional
        Record name; default the file stem.
    text : str, optional
        The file's content, when already read.

    Examples
    --------
    >>> rec = read_csv("x.csv", fs=250, text="ecg\\n0.1\\n0.2\\n0.3\\n")
    >>> rec.signal.tolist(), rec.lead
    ([0.1, 0.2, 0.3], 'ecg')
    """
    shown = str(path)
    if text is None:
        if shown == "-":
            # Through the one stdin reader (rhythm and diagnose look at stdin
            # first to tell a beats table from a signal); the signal is its
            # last reader, so the text is not kept beside the parsed samples.
            text = read_text("-", keep=False)
        else:
            try:
                with open_text(path) as f:
                    text = f.read()
            except FileNotFoundError:
                raise EcgToolError("no such file", shown) from None
            except (OSError, EOFError, lzma.LZMAError) as exc:
                # A damaged .gz, .bz2 or .xz file says why in its exception.
                why = getattr(exc, "strerror", None) or str(exc) or "cut short"
                raise EcgToolError(f"cannot read ({why})", shown) from None
    if looks_binary(text[:4096]):
        raise EcgToolError(BINARY, shown)
    # The first lines (hint, names, units, first sample) one by one; the
    # samples as one piece of text: a line list of a day's recording took
    # gigabytes.
    lead, ends = _leading_lines(text, HEAD_LINES)
    head = read_head(lead, shown)
    at = head.skipped
    data = read_rows(text[ends[at - 1]:] if at else text, head, shown, first_row=at + 1)
    if fs is not None:
        _check_given_rate(fs, head, data, shown)
    fs = fs or head.fs
    if fs is None:
        if head.time_col is None or data.shape[0] < 2:
            raise EcgToolError(RATE_UNKNOWN, shown)
        fs, where = rate_from_time_column(head, data, shown, 1 + at)
    else:
        where = None
    col, scale = head.signal(data, fs, column, units, shown)
    signal = data[:, col:col + 1] * scale
    if where is not None:
        read, signal = signal, np.full((int(where[-1]) + 1, 1), np.nan)
        signal[where] = read
        lost = signal.shape[0] - data.shape[0]
        warnings.warn(lost_samples_text(lost, fs), EcgToolWarning, stacklevel=2)
    base = Path(shown)
    return Record(name=name or (base.stem if shown != "-" else "stdin"),
                  signals=signal, fs=float(fs), leads=[head.names[col]],
                  channel=0, source=shown, sha256=_text_sha256(text),
                  comments=list(head.comments), start_clock=head.start_clock)


#: The error for text that gives no rate and was given none.
RATE_UNKNOWN = "sampling rate unknown: give --fs or a 'time' column"


def lost_samples_text(lost: int, fs: float) -> str:
    """The warning for samples missing from a time column.

    Examples
    --------
    >>> lost_samples_text(90, 360.0)
    '90 samples (0.25 s) missing from the time column, read as unreadable signal'
    """
    return (f"{lost} samples ({lost / fs:.2f} s) missing from the time column, read as "
            "unreadable signal")


def rate_from_time_column(head: "CsvHead", data: np.ndarray, shown: str = "",
                          first_line: int = 1) -> tuple[float, np.ndarray | None]:
    """The rate the time column of ``data`` gives, and each row's place on
    its grid where samples are missing (:func:`~ecgtool.io.sampletimes.times_on_grid`).

    Examples
    --------
    >>> head = read_head(["time,II", "0.000,0.1"])
    >>> rate_from_time_column(head, np.c_[np.arange(5) / 250.0, np.zeros(5)])
    (250.0, None)
    """
    fs, where = times_on_grid(sample_seconds(head, data), shown, first_line)
    if fs < MIN_FS <= fs * 1000:
        raise EcgToolError(f"the times of column {head.names[head.time_col]!r} give {fs:g} "
                           "Hz: if they are in ms, name the column 'time [ms]', or give "
                           "--fs", shown)
    return fs, where


def sample_seconds(head: "CsvHead", data: np.ndarray) -> np.ndarray:
    """The time column of ``data`` (rows read under ``head``) in seconds."""
    t = data[:, head.time_col]
    if head.times_of_day:
        t = over_midnight(t)
    return t * time_unit(head.names[head.time_col])


def _check_given_rate(fs: float, head: CsvHead, data: np.ndarray, shown: str) -> None:
    # --fs wins over the file's own rate (a device's metadata, a time
    # column), but a rate unlike the file's is most likely a slip: said.
    own, where = head.fs, "its metadata"
    if own is None and head.time_col is not None and data.shape[0] > 1:
        try:
            own, where = times_on_grid(sample_seconds(head, data), shown)[0], "its time column"
        except EcgToolError:
            return
    if own and abs(own - fs) > 0.01 * own:
        warnings.warn(f"--fs {fs:g} Hz where {where} gives {own:g} Hz: --fs is used",
                      EcgToolWarning, stacklevel=3)


#: Lines that :func:`read_head` needs: a hint or a device's metadata, the
#: names, the units and samples.
HEAD_LINES = 32


@dataclass(frozen=True)
class CsvHead:
    """What the first lines of a delimited text say about its samples.

    ``skipped`` lines (a ``sep=`` hint, a device's metadata, the names, a
    units row) come before the first sample; ``clock`` converts times
    written as a clock or a date and time; ``decimal_comma`` says that a
    comma in a sample is its decimal point. A device's metadata may give
    the rate ``fs``, the time of day of the first sample and comments.
    """

    delim: str | None
    names: list[str]
    units: list[str] | None
    skipped: int
    clock: dict | None
    decimal_comma: bool = False
    fs: float | None = None
    start_clock: str = ""
    comments: tuple[str, ...] = ()

    @property
    def time_col(self) -> int | None:
        return time_column(self.names)

    @property
    def times_of_day(self) -> bool:
        """Whether the time column holds dates and times (times of day,
        carried on past midnight), not times since the start."""
        return bool(self.clock) and self.clock.get(self.time_col) is date_time_seconds

    def signal(self, data: np.ndarray, fs: float, column: str | int | None = None,
               units: str | None = None, shown: str = "") -> tuple[int, float]:
        """The ECG's column among ``data``'s and the factor to mV of its values.

        ``data`` holds the first rows at least: a never-falling column, a
        clock under a name not known as one, is told from the ECG on the
        first second of rows alone, so that a file and the same text read
        in blocks (``detect -``) choose one column.
        """
        names = self.names
        col = signal_column(names, column, shown)
        first = data[:int(np.ceil(fs))]
        if (column is None and preferred_lead([names[col]]) is None
                and first.shape[0] >= fs and _is_clock(first[:, col])):
            # A time or sample-number column under a name not known as one
            # ("Zeit (s)", "ms") is not the ECG.
            col = next((i for i in range(first.shape[1]) if i != col and i != self.time_col
                        and not _is_clock(first[:, i])), col)
        if units is None:
            units = (self.units[col] if self.units and len(self.units) == len(names)
                     else _units_in_name(names[col]) or "mV")
        return col, _to_mv(units)


def read_head(lines: list[str], shown: str = "") -> CsvHead:
    """The :class:`CsvHead` of a text from its first :data:`HEAD_LINES`
    lines that are neither blank nor comments (stripped).

    Examples
    --------
    >>> h = read_head(["sep=;", "Zeit;EKG (uV)", "0,000;12,5"])
    >>> h.delim, h.names, h.skipped
    (';', ['Zeit', 'EKG (uV)'], 2)
    >>> read_head(["EKG (uV)", "12.5", "13"]).names
    ['EKG (uV)']
    >>> h = read_head(["Phone timestamp;timestamp [ms];ecg [uV]",
    ...                "2026-07-26T21:56:26.765;0.0;-166"])
    >>> h.time_col, h.start_clock, sorted(h.clock)
    (1, '21:56:26', [0])
    """
    if not lines:
        raise EcgToolError("file is empty", shown)
    if lines[0].startswith("<"):
        raise EcgToolError("XML, not text of numbers: give the file itself by its name (a "
                           "MUSE, aECG or Philips .xml)", shown)
    pre = read_preamble(lines)
    if pre is not None:
        return _head_after(pre)
    # Excel's hint line ("sep=;") names the delimiter; it is no data.
    sep = sep_hint(lines[0])
    at = 1 if sep else 0
    if at >= len(lines):
        raise EcgToolError("file is empty", shown)
    delim = sep or sniff_delimiter(lines[at])
    first = split_cells(lines[at], delim)
    has_header = not all(_is_number(c) for c in first)
    if has_header and is_beats_header(first):
        raise EcgToolError(NOT_A_SIGNAL, shown)
    if (has_header and delim is None and at + 1 < len(lines)
            and len(lines[at + 1].split("#", 1)[0].split()) == 1):
        # One column under a name with a space in it ("EKG (uV)").
        first = [lines[at].strip().strip('"').strip("'")]
    names = first if has_header else [f"col{i}" for i in range(len(first))]
    at += has_header
    # A units row under the names (PhysioNet's rdsamp and ATM exports).
    units = None
    if has_header and at < len(lines) and _units_row(split_cells(lines[at], delim)):
        units = split_cells(lines[at], delim)
        at += 1
    if at >= len(lines):
        raise EcgToolError("file has no samples", shown)
    time_col = time_column(names)
    raw = decimal_points(lines[at], delim).split(delim) if delim else lines[at].split()
    # Dates and times ("2026-07-26T21:56:26.765", a phone's clock beside a
    # device's samples) read as seconds since 1970, times as a clock
    # ("0:01.250") or quoted as seconds.
    clock = {j: date_time_seconds for j, c in enumerate(raw) if date_time_clock(c)}
    if time_col is not None and time_col < len(raw) and time_col not in clock and \
            any(ch in raw[time_col] for ch in ":'\""):
        clock[time_col] = clock_seconds
    dated = [j for j in clock if clock[j] is date_time_seconds]
    first = time_col if time_col in dated else (dated[0] if dated else None)
    start = date_time_clock(raw[first]) if first is not None else ""
    return CsvHead(delim, names, units, at, clock or None, decimal_comma=delim == ";",
                   start_clock=start)


def _head_after(pre: Preamble) -> CsvHead:
    # The samples after a device's metadata: one value per line under the
    # lead the metadata names, or fields under the row of names that closes it.
    if pre.names is None and pre.delim is None:
        names, units = [pre.lead or "ECG"], [pre.units] if pre.units else None
    else:
        names, units = pre.names, None
    return CsvHead(pre.delim, names, units, pre.lines, None, decimal_comma=pre.decimal_comma,
                   fs=pre.fs, start_clock=pre.start_clock, comments=tuple(pre.comments))


def read_rows(body: str, head: CsvHead, shown: str = "", first_row: int = 1) -> np.ndarray:
    """The samples of ``body`` (text after the head) as rows of numbers.

    ``first_row`` numbers the first of them, counting lines that are
    neither blank nor comments, for errors.
    """
    if head.decimal_comma:
        body = body.replace(",", ".")
    try:
        try:
            data = _loadtxt(body, head.delim, head.clock)
        except ValueError:
            # Lines of blanks or indented comments, which loadtxt takes for
            # rows, and empty fields, which it takes for no number: a sample
            # left out ("0.1,,0.3") is a missing one, NaN.
            body = re.sub(r"(?m)^[ \t\r]*(#.*)?$", "", body)
            if head.delim:
                d = re.escape(head.delim)
                body = re.sub(rf"(?m)^(?=[ \t]*{d})|(?<={d})[ \t]*(?={d}|[ \t]*\r?$)",
                              "nan", body)
            data = _loadtxt(body, head.delim, head.clock)
    except ValueError:
        rows = [ln for ln in body.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        row, why = _bad_line(rows, head.delim, head.clock)
        raise EcgToolError(f"{why} on line {row + first_row}: {rows[row][:60]!r}",
                           shown) from None
    if data.shape[1] != len(head.names):
        raise EcgToolError(f"{data.shape[1]} columns of data but {len(head.names)} names",
                           shown)
    return data


def _is_clock(x: np.ndarray) -> bool:
    # Values that never fall over a second or more: times or
    # sample numbers (rounded times may repeat a value); no ECG does that.
    d = np.diff(x)
    return x.size > 2 and bool(np.all(d >= 0)) and bool(np.any(d > 0))


def _units_in_name(name: str) -> str | None:
    """Units written in a column name: ``ECG (uV)``, ``II [mV]``; None if none.

    Examples
    --------
    >>> _units_in_name("EKG (µV)"), _units_in_name("II [mV]"), _units_in_name("ECG")
    ('µV', 'mV', None)
    """
    m = re.search(r"[(\[]\s*([^()\[\]\s]+)\s*[)\]]$", name.strip())
    return m.group(1) if m and m.group(1).lower() in _UNIT_TO_MV else None


def _leading_lines(text: str, k: int) -> tuple[list[str], list[int]]:
    # The first k lines that are neither blank nor comments (stripped), and
    # the offset in text just after each of them.
    lines, ends, pos = [], [], 0
    while len(lines) < k and pos < len(text):
        nl = text.find("\n", pos)
        end = len(text) if nl < 0 else nl + 1
        line = text[pos:end].strip()
        if line and not line.startswith("#"):
            lines.append(line)
            ends.append(end)
        pos = end
    return lines, ends


#: Characters of text parsed at a time (whole lines).
_PIECE = 1 << 23


def _loadtxt(body: str, delim: str | None, converters: dict | None) -> np.ndarray:
    # In pieces of whole lines: loadtxt reads through io.StringIO, which holds
    # four bytes a character; a day's recording at once took gigabytes.
    def load(text):
        return np.loadtxt(io.StringIO(text), delimiter=delim, comments="#", ndmin=2,
                          dtype=np.float64, converters=converters)

    if len(body) <= _PIECE:
        return load(body)
    parts, at = [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a piece of comments alone
        while at < len(body):
            end = body.find("\n", at + _PIECE)
            end = len(body) if end < 0 else end + 1
            piece = load(body[at:end])
            if piece.size:
                parts.append(piece)
            at = end
    return np.concatenate(parts) if parts else load("")


def _text_sha256(text: str) -> str:
    # Piece by piece: a day's text encoded at once is another copy of it.
    h = hashlib.sha256()
    for at in range(0, len(text), _PIECE):
        h.update(text[at:at + _PIECE].encode())
    return h.hexdigest()


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return s.lower() in ("nan", "")


def _bad_line(rows: list[str], delim: str | None,
              converters: dict | None = None) -> tuple[int, str]:
    # The first row loadtxt refuses, and why: a value that is no number, or a
    # count of values unlike the rows before.
    width = None
    for i, row in enumerate(rows):
        row = row.split("#", 1)[0]  # a comment after the values, as loadtxt reads it
        cells = row.split(delim) if delim else row.split()
        for j, c in enumerate(cells):
            try:
                if converters and j in converters:
                    converters[j](c)
                elif not _is_number(c.strip().strip('"')):
                    return i, "non-numeric value"
            except ValueError:
                return i, "non-numeric value"
        width = len(cells) if width is None else width
        if len(cells) != width:
            return i, (f"{len(cells)} value{'s' * (len(cells) != 1)} where the lines before "
                       f"have {width}")
    return 0, "unreadable line"
