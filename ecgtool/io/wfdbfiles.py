"""Reading WFDB records (``.hea`` plus ``.dat`` or ``.mat``) and their annotations.

The PhysioNet format: single- and multi-segment records, the challenge
headers that wfdb-python rejects, headers that leave the length or the rate
out, and files that do not match their header (named as such, not read as
noise). wfdb-python parses and decodes; this module checks what it is given
and turns it into a :class:`~ecgtool.io.records.Record`.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from ecgtool.errors import EcgToolError, EcgToolWarning
from ecgtool.io.records import (Annotations, Record, _brief, _to_mv, choose_channel,
                                clock_text, sha256_files)

def _header_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    if p.suffix.lower() in (".hea", ".dat", ".mat", ".atr"):
        p = p.with_suffix("")
    return p


def _sanitised_header_dir(hea: Path, tmp: str) -> Path:
    # Some challenge headers (CinC 2017, 2020/21) carry a base date/time that
    # wfdb rejects ("2014-05-08 05:05:15", "05-May-2020 09:49:17"). The date
    # means nothing to ecgtool, so drop everything after the sample count and
    # read the record from a copy of the header beside links to its files.
    lines = hea.read_text(errors="replace").splitlines()
    out, done = [], False
    for line in lines:
        if not done and line.strip() and not line.lstrip().startswith("#"):
            fields = line.split()
            out.append(" ".join(fields[:4]))
            done = True
        else:
            out.append(line)
    target = Path(tmp) / hea.name
    target.write_text("\n".join(out) + "\n")
    for other in hea.parent.glob(hea.stem + ".*"):
        if other.suffix != ".hea":
            link = Path(tmp) / other.name
            try:
                os.symlink(other.resolve(), link)
            except OSError:
                shutil.copy(other, link)
    return target.with_suffix("")


_BITS = {"8": 8, "16": 16, "24": 24, "32": 32, "61": 16, "80": 8, "160": 16, "212": 12,
         "310": 32 / 3, "311": 32 / 3}


def _rate_field(hea: Path) -> str | None:
    # The rate as the record line (the first that is not a comment) writes
    # it, "360", "360/1" or "360(0)"; None when the line leaves it out.
    try:
        with open(hea, encoding="latin-1") as f:
            for line in f:
                if line.strip() and not line.lstrip().startswith("#"):
                    fields = line.split()
                    return fields[2] if len(fields) > 2 else None
    except OSError:
        pass
    return None


def _positive_number(v) -> bool:
    # A rate wfdb parsed: an integer too large for a float (a header line of
    # digits) is no rate either, and numpy's isfinite raised TypeError on it.
    try:
        return isinstance(v, (int, float)) and math.isfinite(float(v)) and v > 0
    except OverflowError:
        return False


def _is_rate(field: str) -> bool:
    try:
        return float(field.split("/")[0].split("(")[0]) > 0
    except ValueError:
        return False


def read_header(base: str | os.PathLike):
    """``wfdb.rdheader`` of a record, parsed once while its ``.hea`` stays as it
    was: wfdb's parser takes 12 ms for a 12-lead header, and one analysis
    asks for it more than once (its length, then its signal). Each caller
    gets its own shallow copy to set fields on."""
    import copy

    try:
        st = os.stat(str(base) + ".hea")
    except OSError:
        import wfdb

        return wfdb.rdheader(str(base))  # its own error for a missing header
    return copy.copy(_parsed_header(str(base), st.st_mtime_ns, st.st_size))


@lru_cache(maxsize=64)
def _parsed_header(base: str, stamp: int, size: int):
    import wfdb

    return wfdb.rdheader(base)


def header_length(header, base: Path) -> int:
    """Samples per signal of a single-segment WFDB record: the header's
    length, or where the header leaves it out (WFDB allows that: read to
    the end), what the signal files hold. 0 when neither says.
    """
    if header.sig_len is not None or getattr(header, "n_seg", None):
        return int(header.sig_len or 0)
    lengths = []
    for name, (offset, bits) in _file_layouts(header).items():
        f = base.parent / name
        if bits is None or not f.is_file():
            return 0
        lengths.append(int((f.stat().st_size - offset) * 8 // bits))
    return max(0, min(lengths)) if lengths else 0


def _file_layouts(header) -> dict[str, tuple[int, float | None]]:
    # Each signal file's byte offset and bits per frame (all its signals'
    # samples at one instant); bits None where its format is mixed or unknown.
    per_file: dict[str, list[int]] = {}
    for i, name in enumerate(header.file_name or []):
        per_file.setdefault(name, []).append(i)
    out = {}
    for name, idx in per_file.items():
        fmts = {header.fmt[i] for i in idx}
        offset = (header.byte_offset or [None] * header.n_sig)[idx[0]] or 0
        if len(fmts) != 1 or next(iter(fmts)) not in _BITS:
            out[name] = (offset, None)
            continue
        spf = sum((header.samps_per_frame or [1] * header.n_sig)[i] or 1 for i in idx)
        out[name] = (offset, spf * _BITS[next(iter(fmts))])
    return out


def _check_sizes(header, base: Path, shown: str) -> None:
    # A file shorter than its header promises is truncated: say so before
    # wfdb fails with a numpy broadcasting message.
    for name, (offset, bits) in _file_layouts(header).items():
        if bits is None:
            continue
        need = offset + int(np.ceil(header.sig_len * bits / 8))
        have = (base.parent / name).stat().st_size
        if have < need:
            raise EcgToolError(f"signal file {name} has {have} bytes but the header needs "
                               f"{need} (truncated file?)", shown)


def _signal_files(header, base: Path) -> list[Path]:
    names = []
    for name in getattr(header, "file_name", None) or []:
        if name and name not in names:
            names.append(name)
    return [base.parent / n for n in names]


_SEGMENTS: dict[tuple, tuple[list[str], list[Path], dict[str, list[str]]]] = {}


def _segments(header, base: Path,
              shown: str) -> tuple[list[str], list[Path], dict[str, list[str]]]:
    # The lead names of a multi-segment record (from its layout segment, or
    # its first segment when every segment has the same layout), the files
    # of all its segments, each checked as a single record is, and each
    # segment's own leads (for reading, without parsing its header again). Kept
    # while the record's header is unchanged: a long recording is read in
    # blocks, and a day of MIMIC-style segments has hundreds of headers.
    stat = base.with_suffix(".hea").stat()
    key = (str(base.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _SEGMENTS:
        if len(_SEGMENTS) >= 16:
            _SEGMENTS.pop(next(iter(_SEGMENTS)))
        _SEGMENTS[key] = _check_segments(header, base, shown)
    return _SEGMENTS[key]


def _check_segments(header, base: Path,
                    shown: str) -> tuple[list[str], list[Path], dict[str, list[str]]]:
    import wfdb

    names: list[str] | None = None
    files: list[Path] = []
    leads_of: dict[str, list[str]] = {}
    lengths = [int(n or 0) for n in header.seg_len or []]
    if len(lengths) != len(header.seg_name or []) or sum(lengths) != header.sig_len:
        raise EcgToolError(f"segment lengths add up to {sum(lengths)} samples but the header "
                           f"gives {header.sig_len}", shown)
    for seg, length in zip(header.seg_name, lengths):
        if seg == "~":  # a null segment: a gap in the recording
            continue
        hea = base.parent / (seg + ".hea")
        if not hea.is_file():
            raise EcgToolError(f"segment header {hea.name} is missing", shown)
        try:
            h = wfdb.rdheader(str(base.parent / seg))
        except Exception as exc:
            raise EcgToolError(f"unreadable segment header {hea.name} ({_brief(exc)})",
                               shown) from None
        if getattr(h, "n_seg", None) or not h.sig_name or h.fs != header.fs or \
                (length and h.sig_len != length):
            raise EcgToolError(f"segment header {hea.name} does not match the record's "
                               f"header (it must give the same rate, {header.fs:g} Hz, its "
                               f"leads, and the length listed for it)", shown)
        if names is None:
            names = list(h.sig_name)
        leads_of[seg] = list(h.sig_name)
        files.append(hea)
        if length == 0:  # the layout segment: names only, no samples
            continue
        for f in _signal_files(h, base):
            if not f.is_file():
                raise EcgToolError(f"signal file {f.name} of segment {seg} is missing", shown)
            files.append(f)
        _check_sizes(h, base, shown)
    return names or [], files, leads_of


def _read_segments(header, base: Path, leads: list[str], leads_of: dict[str, list[str]],
                   sampfrom: int, sampto: int | None) -> np.ndarray:
    # Samples sampfrom..sampto of a multi-segment record's leads, in mV.
    # Segments may hold the leads in any order or lack some (a variable
    # layout); what a segment lacks, and the null segments, stay NaN, which
    # every command treats as unreadable signal.
    import wfdb

    stop = header.sig_len if sampto is None else sampto
    out = np.full((stop - sampfrom, len(leads)), np.nan)
    start = 0
    for seg, length in zip(header.seg_name, header.seg_len):
        a, b, start = start, start + length, start + length
        if seg == "~" or length == 0 or b <= sampfrom or a >= stop:
            continue
        have = [n for n in leads if n in leads_of[seg]]
        if not have:
            continue
        rec = wfdb.rdrecord(str(base.parent / seg), physical=True,
                            channels=[leads_of[seg].index(n) for n in have],
                            sampfrom=max(sampfrom, a) - a, sampto=min(stop, b) - a)
        part = _in_mv(np.asarray(rec.p_signal, dtype=np.float64), rec.units)
        rows = slice(max(sampfrom, a) - sampfrom, min(stop, b) - sampfrom)
        for j, name in enumerate(have):
            out[rows, leads.index(name)] = part[:, j]
    return out


def _beat_times_hint(base: Path) -> str:
    # Archives often keep beat annotations without the signal (LTAFDB):
    # rhythm and diagnose can use those.
    ann = sorted(p.name for p in base.parent.glob(base.name + ".*")
                 if p.suffix in (".qrs", ".atr", ".ecg"))
    return (f"; rhythm and diagnose read the beats of {', '.join(ann)} with --ann EXT"
            if ann else "")


def read_wfdb(path: str | os.PathLike, channel: str | int | None = None,
              all_leads: bool = False, ann: str | None = "atr",
              name: str | None = None, sampfrom: int = 0,
              sampto: int | None = None, checksum: bool = True) -> Record:
    """Read a WFDB record (``.hea`` plus ``.dat`` or ``.mat``) and its annotations.

    Multi-segment records (as in MIMIC and other long-term archives) are read
    as one signal; null segments, and stretches whose segment lacks the
    lead, are NaN.

    Parameters
    ----------
    path : str or path-like
        Record path with or without the ``.hea`` suffix.
    channel : str or int, optional
        Lead name or index for detection; default: MLII, II, else the first.
    all_leads : bool
        Keep every lead in ``signals`` (default: only the chosen lead).
    ann : str or None
        Annotation file extension to read when present (``"atr"``); None
        reads none.
    name : str, optional
        Record name; default the file stem.
    sampfrom, sampto : int, optional
        Read only these samples (for long recordings read in blocks).
    checksum : bool
        Compute the sha256 of the source files (skipped for block reads).

    Returns
    -------
    Record

    Examples
    --------
    >>> from ecgtool.io.records import sample_path
    >>> rec = read_wfdb(sample_path("208"))
    >>> rec.fs, rec.lead, len(rec.annotations) > 3000
    (360.0, 'MLII', True)
    """
    import wfdb

    base = _header_path(path)
    hea = base.with_suffix(".hea")
    shown = str(hea)
    if not hea.is_file():
        raise EcgToolError("no such record (header file not found)", shown)
    with tempfile.TemporaryDirectory(prefix="ecgtool-hea-") as tmp:
        read_base = base
        try:
            header = read_header(base)
        except Exception as exc:
            try:
                read_base = _sanitised_header_dir(hea, tmp)
                header = wfdb.rdheader(str(read_base))
            except Exception:
                raise EcgToolError(f"unreadable header ({_brief(exc)})", shown) from None
        fs = header.fs
        field = _rate_field(hea)
        if field is None:
            warnings.warn("header gives no sampling rate: WFDB's default, 250 Hz, is used",
                          EcgToolWarning, stacklevel=2)
        elif not _is_rate(field):
            # wfdb reads a record line it cannot parse as one without rate or
            # length, and would take 250 Hz.
            raise EcgToolError(f"header gives sampling rate {field!r}; it must be a positive "
                               "number", shown)
        if not _positive_number(fs):
            raise EcgToolError(f"header gives sampling rate {fs!r}; it must be a positive number",
                               shown)
        multi = bool(getattr(header, "n_seg", None))
        if multi:
            names, files, leads_of = _segments(header, base, shown)
        else:
            names, files = header.sig_name or [], _signal_files(header, base)
        leads = lead_names(names)
        if not leads:
            raise EcgToolError("header lists no signals", shown)
        if header.sig_len is None and not multi:
            header.sig_len = header_length(header, base)
        if not header.sig_len:
            raise EcgToolError("header gives a length of 0 samples (empty record)", shown)
        chan = choose_channel(leads, channel, shown)
        for f in files:
            if not f.is_file():
                raise EcgToolError(f"signal file {f.name} is missing{_beat_times_hint(base)}",
                                   shown)
        if not multi:
            _check_sizes(header, base, shown)
        spf = frame_samples(header, chan)
        # A lead of several samples a frame is read at its own rate, with the
        # leads recorded at that rate (wfdb would average each frame's samples).
        channels = ([i for i in range(len(leads)) if frame_samples(header, i) == spf]
                    if all_leads else [chan])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if multi:
                    signals = _read_segments(header, base, [names[c] for c in channels],
                                             leads_of, sampfrom, sampto)
                elif spf > 1:
                    signals = _read_frames(read_base, header, channels, spf, sampfrom, sampto)
                else:
                    rec = wfdb.rdrecord(str(read_base), channels=channels, physical=True,
                                        sampfrom=sampfrom, sampto=sampto)
                    signals = _in_mv(np.asarray(rec.p_signal, dtype=np.float64), rec.units)
        except EcgToolError:
            raise
        except Exception as exc:
            raise EcgToolError(f"cannot read the signal ({_brief(exc)}); the file may be "
                               "truncated or not match its header", shown) from None
    n_total = header.sig_len * spf
    if signals.shape[0] != (sampto if sampto is not None else n_total) - sampfrom:
        raise EcgToolError(f"signal has {signals.shape[0]} samples but the header promises "
                           f"{n_total} (truncated file?)", shown)
    annotations = None
    if ann:
        annotations = _in_samples(*_read_ticks(base, ann), header, spf)
    return Record(name=name or base.name, signals=signals, fs=float(fs) * spf,
                  leads=[leads[c] for c in channels],
                  channel=channels.index(chan), source=str(hea),
                  sha256=sha256_files([hea] + files) if checksum else "",
                  annotations=annotations,
                  comments=list(header.comments or []),
                  start_clock=clock_text(getattr(header, "base_time", None)))


def frame_samples(header, chan: int) -> int:
    """Samples a frame of signal ``chan`` holds (a multi-frequency record's
    faster signals hold several); 1 for a multi-segment record."""
    if getattr(header, "n_seg", None):
        return 1
    spf = (header.samps_per_frame or [1] * (chan + 1))[chan]
    return int(spf or 1)


def _in_samples(annotations: Annotations | None, resolution: float | None, header,
                spf: int) -> Annotations | None:
    # Annotation times, counted in frames (or in ticks of a resolution the
    # file names), in samples of a lead of spf samples a frame of ``header``.
    if annotations is None:
        return None
    rate = float(header.fs or 0) * spf
    if resolution and rate > 0 and resolution != rate:
        step = rate / resolution
    elif resolution is None and spf != 1:
        step = spf  # a frame's first sample
    else:
        return annotations
    from dataclasses import replace

    return replace(annotations, sample=np.rint(annotations.sample * step).astype(np.int64))


def lead_frame_samples(header, channel: str | int | None = None, where: str = "") -> int:
    """Samples a frame of the lead ``channel`` holds (default: the lead
    :func:`read_wfdb` chooses); 1 for a header that names no signal."""
    leads = lead_names(header.sig_name or [])
    return frame_samples(header, choose_channel(leads, channel, where)) if leads else 1


def wfdb_signals(base: str | os.PathLike) -> list[tuple[str, float]]:
    """``(name, rate)`` of every signal of a WFDB record, from its header: a
    lead of several samples a frame has its own rate (a multi-segment
    record's leads share one).

    Examples
    --------
    >>> from ecgtool.io.records import sample_path
    >>> wfdb_signals(sample_path("119"))
    [('MLII', 360.0), ('V1', 360.0)]
    """
    header = read_header(_header_path(base))
    fs = float(header.fs or 0)
    return [(name, fs * frame_samples(header, i))
            for i, name in enumerate(lead_names(header.sig_name or []))]


def lead_names(names: list) -> list[str]:
    """A header's signal names; a signal line without a description has no
    name, and is called by its index (``ch2``)."""
    return [str(n) if n else f"ch{i}" for i, n in enumerate(names)]


def _in_mv(x: np.ndarray, units: list | None) -> np.ndarray:
    # Physical values in the units the header names (mV where it names none), in mV.
    scale = np.array([_to_mv(u) for u in (units or ["mV"] * x.shape[1])])
    return x if np.all(scale == 1.0) else x * scale[None, :]


def read_lead_annotations(base: str | os.PathLike, ext: str,
                          channel: str | int | None = None) -> Annotations | None:
    """:func:`read_annotations` in samples of the lead ``channel`` (default:
    the one :func:`read_wfdb` chooses), which may hold several a frame."""
    header = read_header(_header_path(base))
    a, resolution = _read_ticks(base, ext)
    return _in_samples(a, resolution, header, lead_frame_samples(header, channel))


def _read_frames(read_base: Path, header, channels: list[int], spf: int, sampfrom: int,
                 sampto: int | None) -> np.ndarray:
    # Samples sampfrom..sampto, at spf samples a frame, of leads that all
    # hold spf samples a frame, in mV.
    import wfdb

    first = sampfrom // spf
    last = None if sampto is None else -(-sampto // spf)
    rec = wfdb.rdrecord(str(read_base), channels=channels, physical=True, sampfrom=first,
                        sampto=last, smooth_frames=False)
    x = _in_mv(np.column_stack([np.asarray(c, dtype=np.float64) for c in rec.e_p_signal]),
               rec.units)
    stop = (header.sig_len * spf if sampto is None else sampto) - first * spf
    return x[sampfrom - first * spf:stop]


def read_annotations(base: str | os.PathLike, ext: str = "atr") -> Annotations | None:
    """Read ``<base>.<ext>`` as :class:`Annotations`; None if there is no such file.

    Times are in the record's frames (its samples, for a lead of one sample a
    frame), as WFDB counts them: those of a high-resolution file (one that
    names its own time resolution) are turned into frames of the header
    beside it, where there is one.

    Examples
    --------
    >>> from ecgtool.io.records import sample_path
    >>> a = read_annotations(sample_path("119"))
    >>> str(a.symbol[1])
    'N'
    """
    a, resolution = _read_ticks(base, ext)
    if a is None or resolution is None:
        return a
    try:
        header = read_header(_header_path(base))
    except Exception:
        return a  # no header: the file's own ticks
    return _in_samples(a, resolution, header, 1)


def _read_ticks(base: str | os.PathLike, ext: str) -> tuple[Annotations | None, float | None]:
    # The annotations of <base>.<ext> as the file counts time, and the time
    # resolution it names (None: it counts frames).
    from ecgtool.io.mitann import decode_mit_annotations

    base = _header_path(base)
    f = base.with_suffix("." + ext)
    if not f.is_file():
        return None, None
    try:
        data = f.read_bytes()
    except OSError as exc:
        raise EcgToolError(f"cannot read ({exc.strerror})", str(f)) from None
    if not data:
        raise EcgToolError("annotation file is empty", str(f))
    # Every MIT-format annotation file ends with a zero word; wfdb.rdann reads
    # a file cut short without a word, which would score a record against
    # part of its reference.
    if len(data) % 2 or data[-2:] != b"\x00\x00":
        raise EcgToolError("annotation file ends without its end-of-file marker "
                           "(truncated file?)", str(f))
    try:
        *fields, resolution = decode_mit_annotations(data)
    except ValueError as exc:
        raise EcgToolError(f"unreadable annotation file ({exc})", str(f)) from None
    return Annotations(*fields), resolution
