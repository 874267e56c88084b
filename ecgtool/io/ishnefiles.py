"""Reading ISHNE Holter recordings (``.ecg``), the output format of the
International Society for Holter and Noninvasive Electrocardiology (Badilini
et al., Ann Noninvasive Electrocardiol 1998;3(3):263-266), in which archives
such as the THEW Holter warehouse hand out their recordings.

A file is an 8-byte magic number (``ISHNE1.0``), a CRC-16 (CCITT, initial
value 0xFFFF) of the header, a fixed header of 512 bytes, a variable-length
text block, and then the samples: little-endian 16-bit integers, the leads
interleaved sample by sample, each lead's amplitude resolution in nV per
unit given by the header. The header says how many leads (1 to 12), what
each is (a code: I, II, V1... or a bipolar Holter lead), the sampling rate
and the pacemaker, if any.

The standard leaves it open whether the header's sample count is per lead
or over all leads, and writers differ; both are accepted, and a file that
holds fewer samples than either reading says is truncated. A header whose
checksum does not match is read with a warning: the fields that matter
(magic number, offsets, leads, rate, resolutions) are checked on their own.
The patient fields (name, ID, birth date) are not copied into ecgtool's
outputs; a pacemaker the header names is kept as a record comment.

Beat labels come in a separate annotation file beside the recording
(``<name>.ann``, as the THEW warehouse hands them out): the same header
under the magic number ``ANN  1.0``, then the sample that the first
interval counts from (32 bits), then 4 bytes per beat: its label, a second
label for the writer's own use, and the samples since the annotation
before it (16 bits, unsigned). A gap longer than 16 bits can count is
bridged by "timeout" entries (label ``!``, 65535 samples). Two independent
readers (ishneholterlib and Llamedo Soria's ECG-kit) read the layout so, and
so does :func:`read_ishne_annotations`; the sample the first interval counts
from is not itself labelled.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgtool.errors import EcgToolError, EcgToolWarning
from ecgtool.io.records import (Annotations, Record, choose_channel, clock_fields, clock_text,
                                file_head, sha256_files)

ISHNE_SUFFIXES = (".ecg", ".ishne")
MAGIC = b"ISHNE1.0"
ANN_MAGIC = b"ANN  1.0"
#: Bytes before the variable-length block: magic, checksum, fixed header.
HEADER_BYTES = 522

#: Lead codes of the standard's Table 1 (ES, AS and AI are the EASI leads).
LEAD_CODES = {1: "bipolar", 2: "X", 3: "Y", 4: "Z", 5: "I", 6: "II", 7: "III", 8: "aVR",
              9: "aVL", 10: "aVF", 11: "V1", 12: "V2", 13: "V3", 14: "V4", 15: "V5", 16: "V6",
              17: "ES", 18: "AS", 19: "AI"}
#: Pacemaker codes of the header (0: none, -9: not said).
PACEMAKER_CODES = {1: "of unknown type", 2: "single chamber unipolar",
                   3: "dual chamber unipolar", 4: "single chamber bipolar",
                   5: "dual chamber bipolar"}


#: The beat labels of ISHNE annotation files, as MIT-BIH symbols: a paced beat
#: is ``/``, an unknown one ``Q`` (both AAMI class Q); a calibration pulse and
#: an artefact are no beats (``|``, MIT-BIH's isolated QRS-like artefact).
ANN_LABELS = {"N": "N", "V": "V", "S": "S", "B": "B", "P": "/", "U": "Q", "C": "|", "X": "|"}
_TIMEOUT = ord("!")
_MAX_TOC = 65535


@dataclass(frozen=True)
class IshneHeader:
    """What ecgtool reads from an ISHNE header.

    Attributes
    ----------
    fs : float
        Sampling rate (Hz).
    n_samples : int
        Samples per lead in the file.
    leads : list of str
        Lead names (from the codes; ``lead<k>`` where the code is unknown,
        numbered from 1, and a number added where two share a name).
    resolution_nv : numpy.ndarray
        Amplitude resolution of each lead, nV per unit.
    data_offset : int
        Byte offset of the first sample.
    pacemaker : str
        The pacemaker the header names, or "".
    checksum_ok : bool or None
        Whether the header's CRC matches (None: not checked).
    start_clock : str
        The start time ``HH:MM:SS``, or "" where the header gives none.
    """

    fs: float
    n_samples: int
    leads: list[str]
    resolution_nv: np.ndarray
    data_offset: int
    pacemaker: str
    checksum_ok: bool | None
    start_clock: str = ""


def is_ishne(path: str | os.PathLike) -> bool:
    """True for a file that begins with the ISHNE magic number.

    Examples
    --------
    >>> is_ishne(__file__)
    False
    """
    return file_head(path, len(MAGIC)) == MAGIC


def crc_ccitt(data: bytes) -> int:
    """CRC-16/CCITT (polynomial 0x1021, initial value 0xFFFF, no reflection),
    the checksum of an ISHNE header.

    Examples
    --------
    >>> hex(crc_ccitt(b"123456789"))
    '0x29b1'
    """
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _names(codes: list[int]) -> list[str]:
    names = [LEAD_CODES.get(c, f"lead{i + 1}") for i, c in enumerate(codes)]
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        seen[n] = seen.get(n, 0) + 1
        if names.count(n) > 1:
            names[i] = f"{n}{seen[n]}"
    return names


def read_ishne_header(path: str | os.PathLike, checksum: bool = True) -> IshneHeader:
    """Parse and check the header of an ISHNE file (its CRC too, unless not
    ``checksum``: then ``checksum_ok`` is None).

    Raises :class:`~ecgtool.errors.EcgToolError` naming the file for a file
    that is not ISHNE, a header that does not fit the file, no leads or more
    than 12, a sampling rate of 0 or below, a lead without an amplitude
    resolution, or fewer samples than the header says (truncated).
    """
    p = Path(path)
    shown = str(p)
    if not p.is_file():
        raise EcgToolError("no such file", shown)
    size = p.stat().st_size
    with open(p, "rb") as fh:
        head = fh.read(HEADER_BYTES)
    if head[:len(MAGIC)] != MAGIC:
        raise EcgToolError("not an ISHNE file (no ISHNE1.0 magic number)", shown)
    if len(head) < HEADER_BYTES:
        raise EcgToolError(f"ISHNE header cut short ({len(head)} of {HEADER_BYTES} bytes): "
                           "the file is truncated", shown)
    var_size, ecg_size, _, data_offset = np.frombuffer(head, "<i4", 4, 10).tolist()
    n_leads = int(np.frombuffer(head, "<i2", 1, 156)[0])
    codes = np.frombuffer(head, "<i2", 12, 158).tolist()
    resolution = np.frombuffer(head, "<i2", 12, 206).astype(np.float64)
    pm = int(np.frombuffer(head, "<i2", 1, 230)[0])
    start = tuple(np.frombuffer(head, "<i2", 3, 150).tolist())
    fs = int(np.frombuffer(head, "<i2", 1, 272)[0])
    if not 1 <= n_leads <= 12:
        raise EcgToolError(f"ISHNE header says {n_leads} leads (1 to 12 allowed)", shown)
    if var_size < 0 or data_offset < HEADER_BYTES or data_offset > size:
        raise EcgToolError(f"ISHNE header offsets do not fit the file (signal at byte "
                           f"{data_offset} of {size})", shown)
    if fs <= 0:
        raise EcgToolError(f"unknown sampling rate (the ISHNE header says {fs} Hz)", shown)
    res = resolution[:n_leads]
    if (res <= 0).any():
        k = int(np.flatnonzero(res <= 0)[0])
        raise EcgToolError(f"lead {k + 1} has no amplitude resolution (header value "
                           f"{int(res[k])} nV)", shown)
    held = (size - data_offset) // (2 * n_leads)
    if ecg_size > 0:
        if held >= ecg_size:
            held = ecg_size  # samples per lead, as most writers count them
        elif held * n_leads != ecg_size:
            raise EcgToolError(f"ISHNE file truncated: its header says {ecg_size} samples, "
                               f"it holds {held} per lead", shown)
    if held == 0:
        raise EcgToolError("holds no samples (empty record)", shown)
    crc_ok = None
    if checksum:
        with open(p, "rb") as fh:
            fh.seek(10)
            crc_ok = crc_ccitt(fh.read(data_offset - 10)) == int(
                np.frombuffer(head, "<u2", 1, 8)[0])
    return IshneHeader(fs=float(fs), n_samples=int(held), leads=_names(codes[:n_leads]),
                       resolution_nv=res, data_offset=int(data_offset),
                       pacemaker=PACEMAKER_CODES.get(pm, ""),
                       checksum_ok=crc_ok, start_clock=clock_text(start))


def annotation_file(path: str | os.PathLike) -> Path | None:
    """The ISHNE annotation file beside a recording (same name, ``.ann``), or None.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> write_ishne_annotations(os.path.join(d, "h.ann"), [100], "N", 200.0)
    >>> annotation_file(os.path.join(d, "h.ecg")).name, annotation_file(os.path.join(d, "x.ecg"))
    ('h.ann', None)
    """
    p = Path(path)
    for suffix in (".ann", ".ANN"):
        if p.with_suffix(suffix).is_file():
            return p.with_suffix(suffix)
    return None


def annotations_beside(path: str | os.PathLike, fs: float | None = None) -> Annotations | None:
    """The beat labels of the annotation file beside ISHNE recording ``path``
    (:func:`annotation_file`, :func:`read_ishne_annotations`), at its rate ``fs``
    (default the recording's); None where there is none."""
    labels = annotation_file(path)
    if labels is None:
        return None
    return read_ishne_annotations(labels, read_ishne_header(path, checksum=False).fs
                                  if fs is None else fs)


def read_ishne_annotations(path: str | os.PathLike, fs: float | None = None) -> Annotations:
    """Read an ISHNE annotation file (see the module) as reference annotations.

    Labels become MIT-BIH symbols by :data:`ANN_LABELS`; a label outside it
    is read as an unclassified beat (``Q``) with a warning; timeout entries
    only carry the count.

    Parameters
    ----------
    path : str or path-like
        The ``.ann`` file.
    fs : float, optional
        The recording's sampling rate: a different rate in the annotation
        file's header is an error (its intervals would not fit the signal).

    Raises
    ------
    EcgToolError
        Naming the file: not an annotation file, a header that does not fit
        it, a rate unlike the recording's, or a last annotation cut short.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "x.ann")
    >>> write_ishne_annotations(f, [100, 460, 700, 90000], "NVNP", 360.0)
    >>> a = read_ishne_annotations(f)
    >>> a.sample.tolist(), a.symbol.tolist()
    ([100, 460, 700, 90000], ['N', 'V', 'N', '/'])
    """
    p = Path(path)
    shown = str(p)
    if not p.is_file():
        raise EcgToolError("no such file", shown)
    data = p.read_bytes()
    if data[:len(ANN_MAGIC)] != ANN_MAGIC:
        raise EcgToolError("not an ISHNE annotation file (no 'ANN  1.0' magic number)", shown)
    if len(data) < HEADER_BYTES:
        raise EcgToolError(f"ISHNE annotation header cut short ({len(data)} of "
                           f"{HEADER_BYTES} bytes): the file is truncated", shown)
    var_size = int(np.frombuffer(data, "<i4", 1, 10)[0])
    first = HEADER_BYTES + var_size  # where the annotations begin
    if var_size < 0 or first + 4 > len(data):
        raise EcgToolError(f"ISHNE annotation header does not fit the file (annotations "
                           f"at byte {first} of {len(data)})", shown)
    ann_fs = int(np.frombuffer(data, "<i2", 1, 272)[0])
    if fs is not None and ann_fs > 0 and ann_fs != fs:
        raise EcgToolError(f"annotation file at {ann_fs} Hz, its recording at {fs:g} Hz",
                           shown)
    left = (len(data) - first - 4) % 4
    if left:
        raise EcgToolError(f"ISHNE annotation file truncated ({left} bytes of a last "
                           "annotation)", shown)
    rows = np.frombuffer(data, np.uint8, offset=first + 4).reshape(-1, 4)
    toc = rows[:, 2:].copy().view("<u2")[:, 0].astype(np.int64)
    sample = int(np.frombuffer(data, "<u4", 1, first)[0]) + np.cumsum(toc)
    label = rows[:, 0]
    beat = label != _TIMEOUT
    symbols = np.array([ANN_LABELS.get(chr(c), "") for c in range(256)], dtype=object)
    symbol = symbols[label[beat]]
    unknown = symbol == ""
    if unknown.any():
        names = sorted({chr(c) if 32 < c < 127 else f"byte {c}" for c in label[beat][unknown]})
        warnings.warn(f"{shown}: {int(unknown.sum())} annotations with labels outside the "
                      f"ISHNE list ({', '.join(names)}) are read as unclassified beats (Q)",
                      EcgToolWarning, stacklevel=2)
        symbol[unknown] = "Q"
    n = int(beat.sum())
    return Annotations(sample=sample[beat], symbol=symbol.astype(str),
                       aux_note=np.full(n, "", dtype=str))


def write_ishne_annotations(path: str | os.PathLike, sample, labels, fs: float) -> None:
    """Write beat ``labels`` (ISHNE letters: ``N``, ``V``, ``S``...) at
    ``sample`` (sorted) as an ISHNE annotation file, for tests and examples:
    intervals count from sample 0, gaps over 65535 samples bridged by
    timeout entries.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "x.ann")
    >>> write_ishne_annotations(f, [10, 100000], "NV", 200.0)
    >>> os.path.getsize(f) - HEADER_BYTES   # first sample, 2 beats and 1 timeout
    16
    """
    sample = np.asarray(sample, dtype=np.int64)
    if sample.size != len(labels) or (np.diff(sample) < 0).any() or (sample < 0).any():
        raise ValueError("one label per sample, and samples sorted and not negative")
    head = bytearray(HEADER_BYTES - 10)
    head[272 - 10:274 - 10] = np.int16(round(fs)).astype("<i2").tobytes()
    head[22 - 10:26 - 10] = np.int32(HEADER_BYTES).astype("<i4").tobytes()
    body = bytearray(np.uint32(0).astype("<u4").tobytes())
    last = 0
    for s, lab in zip(sample.tolist(), labels):
        while s - last > _MAX_TOC:
            body += bytes([_TIMEOUT, 0]) + np.uint16(_MAX_TOC).astype("<u2").tobytes()
            last += _MAX_TOC
        body += lab.encode("ascii")[:1] + b"\0" + np.uint16(s - last).astype("<u2").tobytes()
        last = s
    with open(path, "wb") as fh:
        fh.write(ANN_MAGIC + np.uint16(crc_ccitt(bytes(head))).astype("<u2").tobytes())
        fh.write(bytes(head) + bytes(body))


def ishne_length(path: str | os.PathLike) -> tuple[int, float]:
    """``(samples, fs)`` of an ISHNE recording, from its header."""
    h = read_ishne_header(path, checksum=False)
    return h.n_samples, h.fs


def read_ishne(path: str | os.PathLike, channel: str | int | None = None,
               all_leads: bool = False, name: str | None = None,
               block: tuple[int, int] | None = None, ann: bool = True) -> Record:
    """Read an ISHNE Holter recording.

    Parameters
    ----------
    path : str or path-like
        The ``.ecg`` file.
    channel : str or int, optional
        Lead name (``II``, ``V5``, ``bipolar``...) or index; default lead II
        if recorded, else the first lead.
    all_leads : bool
        Keep every lead.
    name : str, optional
        Record name; default the file stem.
    block : (start, stop), optional
        Read only these samples (no checksum, no annotations), for
        recordings too long to hold whole.
    ann : bool
        Keep the beat labels of an annotation file beside it (``.ann``,
        :func:`read_ishne_annotations`) as the reference annotations.

    Returns
    -------
    Record
        Signals in mV.

    Examples
    --------
    >>> import tempfile, os
    >>> from ecgtool.io.records import read_sample
    >>> f = os.path.join(tempfile.mkdtemp(), "119.ecg")
    >>> write_ishne(f, read_sample("119").signals[:3600], 360.0, ["II"])
    >>> rec = read_ishne(f)
    >>> rec.lead, rec.fs, rec.n_samples
    ('II', 360.0, 3600)
    """
    p = Path(path)
    shown = str(p)
    # A long recording read in blocks has its checksum checked once, with its first block.
    h = read_ishne_header(p, checksum=block is None or block[0] == 0)
    if h.checksum_ok is False:
        warnings.warn(f"{shown}: the ISHNE header's checksum does not match; its fields "
                      "were checked one by one and the file is read", EcgToolWarning,
                      stacklevel=2)
    chan = choose_channel(h.leads, channel, shown)
    cols = list(range(len(h.leads))) if all_leads else [chan]
    start, stop = (0, h.n_samples) if block is None else block
    start, stop = max(0, int(start)), min(h.n_samples, int(stop))
    n_leads = len(h.leads)
    raw = np.memmap(p, "<i2", "r", h.data_offset, (h.n_samples, n_leads))
    data = np.asarray(raw[start:max(start, stop)][:, cols], dtype=np.float64)
    del raw
    data /= 1e6 / h.resolution_nv[cols]  # units per mV, as WFDB gains divide
    comments = [f"pacemaker: {h.pacemaker}"] if h.pacemaker else []
    return Record(name=name or p.stem, signals=data, fs=h.fs,
                  leads=[h.leads[i] for i in cols], channel=cols.index(chan), source=shown,
                  sha256=sha256_files([p]) if block is None else "", comments=comments,
                  start_clock=h.start_clock,
                  annotations=annotations_beside(p, h.fs) if ann and block is None else None)


def write_ishne(path: str | os.PathLike, signals: np.ndarray, fs: float, leads: list[str],
                resolution_nv: int = 5000, start_clock: str = "") -> None:
    """Write ``signals`` (``(n_samples, n_leads)``, mV) as an ISHNE file, for
    tests and examples: leads named as in :data:`LEAD_CODES` keep their
    code, others are written as unknown (0); ``start_clock`` (``HH:MM:SS``)
    is the start time; no patient fields.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "x.ecg")
    >>> write_ishne(f, np.zeros((500, 1)), 250.0, ["II"])
    >>> is_ishne(f), read_ishne_header(f).checksum_ok
    (True, True)
    """
    x = np.asarray(signals, dtype=np.float64).reshape(len(signals), -1)
    n, k = x.shape
    if not 1 <= k <= 12 or len(leads) != k:
        raise ValueError(f"{k} signal columns and {len(leads)} lead names (1 to 12 leads)")
    codes = {v: c for c, v in LEAD_CODES.items()}
    head = bytearray(HEADER_BYTES - 10)

    def put(offset: int, fmt: str, values) -> None:
        b = np.asarray(values, dtype=fmt).tobytes()
        head[offset - 10:offset - 10 + len(b)] = b

    put(10, "<i4", [0, n, HEADER_BYTES, HEADER_BYTES])
    put(26, "<i2", 1)
    put(156, "<i2", k)
    put(158, "<i2", [codes.get(lead, 0) for lead in leads] + [-9] * (12 - k))
    put(182, "<i2", [0] * k + [-9] * (12 - k))
    put(206, "<i2", [resolution_nv] * k + [-9] * (12 - k))
    if start_clock:
        put(150, "<i2", list(clock_fields(start_clock)))
    put(230, "<i2", -9)
    put(272, "<i2", int(round(fs)))
    units = np.clip(np.round(x * 1e6 / resolution_nv), -32768, 32767).astype("<i2")
    with open(path, "wb") as fh:
        fh.write(MAGIC + np.uint16(crc_ccitt(bytes(head))).astype("<u2").tobytes())
        fh.write(bytes(head))
        fh.write(units.tobytes())
