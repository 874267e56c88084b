"""Writing records as WFDB (``.hea``, ``.dat`` and ``.atr``), for PhysioNet's
tools and every program that reads PhysioNet's format.

The samples go in format 16 (little-endian 16-bit integers, the leads
interleaved) at 1000 units per mV (1 uV steps) where every sample of a lead
fits in 16 bits (within +-32.767 mV), else at the finest gain at which its
largest fits; unreadable samples (NaN) are WFDB's invalid value, -32768.
The header (written by ``wfdb``) names the leads, the rate, the start time
of day where known and the record's comments; reference annotations go to
``<name>.atr`` (MIT format). A long recording is written block by block, as
it is read.

Each file is written under a temporary name and renamed, the header last,
so that a failure leaves no record that looks complete.
"""

from __future__ import annotations

import datetime
import os
import re
import tempfile
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ecgtool.io.records import Record, clock_fields

#: Units per mV where the signal allows (1 uV steps).
GAIN = 1000.0
_INVALID = -32768
_TOP = 32767

Blocks = Callable[[], Iterable[tuple[int, np.ndarray]]]


def wfdb_name(name: str) -> str:
    """A record name WFDB accepts (letters, digits, ``-`` and ``_``).

    Examples
    --------
    >>> wfdb_name("mitdb/100"), wfdb_name("holter 3.ecg")
    ('mitdb_100', 'holter_3_ecg')
    """
    return re.sub(r"[^A-Za-z0-9_-]", "_", name.strip()) or "record"


def record_blocks(record: Record, blocks: Blocks | None = None,
                  n_samples: int | None = None) -> tuple[Blocks, int]:
    """``blocks`` and ``n_samples`` as a writer takes them: those given (a
    recording too long to hold), else the record's signals as one block.

    Examples
    --------
    >>> rec = Record("r", np.zeros((5, 2)), 250.0, ["I", "II"])
    >>> blocks, n = record_blocks(rec)
    >>> [(start, x.shape) for start, x in blocks()], n
    ([(0, (5, 2))], 5)
    """
    if blocks is not None:
        return blocks, int(n_samples)
    signals = np.asarray(record.signals, dtype=np.float64).reshape(record.n_samples, -1)
    return (lambda: [(0, signals)]), signals.shape[0]


def lead_peaks(blocks: Blocks, n_leads: int) -> np.ndarray:
    """Largest absolute sample (mV) of each lead over ``blocks``, NaN left out.

    Examples
    --------
    >>> x = np.array([[0.5, 40.0], [-1.0, np.nan]])
    >>> lead_peaks(lambda: [(0, x)], 2).tolist()
    [1.0, 40.0]
    """
    peak = np.zeros(n_leads)
    for _, x in blocks():
        if len(x):
            with np.errstate(invalid="ignore"):
                np.fmax(peak, np.nanmax(np.abs(x), axis=0, initial=0.0,
                                        where=np.isfinite(x)), out=peak)
    return peak


def lead_gains(blocks: Blocks, n_leads: int) -> np.ndarray:
    """Units per mV of each lead: :data:`GAIN`, or less where a lead's
    largest sample would not fit in 16 bits.

    Examples
    --------
    >>> x = np.array([[0.5, 40.0], [-1.0, np.nan]])
    >>> lead_gains(lambda: [(0, x)], 2).round(1).tolist()
    [1000.0, 819.2]
    """
    peak = lead_peaks(blocks, n_leads)
    return np.where(peak * GAIN > _TOP, _TOP / np.maximum(peak, 1e-300), GAIN)


def write_wfdb(folder: str | os.PathLike, record: Record, blocks: Blocks | None = None,
               n_samples: int | None = None, name: str | None = None) -> Path:
    """Write ``record`` as a WFDB record in ``folder``; return the header's path.

    Parameters
    ----------
    folder : str or path-like
        An existing folder.
    record : Record
        Its leads, rate, start time, comments and reference annotations; its
        signals unless ``blocks`` is given.
    blocks : callable, optional
        For a recording too long to hold: returns ``(start, signals)``
        blocks in order, and may be called twice (the gains are set by a
        first pass).
    n_samples : int, optional
        Samples per lead over all ``blocks``.
    name : str, optional
        Record name (default ``record.name``), made safe by :func:`wfdb_name`.

    Examples
    --------
    >>> import tempfile
    >>> from ecgtool.io.records import read_sample
    >>> from ecgtool.io.wfdbfiles import read_wfdb
    >>> rec = read_sample("119")
    >>> hea = write_wfdb(tempfile.mkdtemp(), rec)
    >>> back = read_wfdb(hea.with_suffix(""))
    >>> bool(np.abs(back.signal - rec.signal).max() < 1e-9)
    True
    >>> len(back.annotations) == len(rec.annotations)
    True
    """
    import wfdb

    folder = Path(folder)
    base = wfdb_name(name or record.name)
    blocks, n_samples = record_blocks(record, blocks, n_samples)
    n_leads = len(record.leads)
    gain = lead_gains(blocks, n_leads)
    tmp = Path(tempfile.mkdtemp(prefix=f".{base}.", dir=folder))
    try:
        total = np.zeros(n_leads, dtype=np.int64)
        first = np.zeros(n_leads, dtype=np.int64)
        written = 0
        with open(tmp / f"{base}.dat", "wb") as fh:
            for _, x in blocks():
                d = _digital(np.asarray(x, dtype=np.float64).reshape(len(x), n_leads), gain)
                if written == 0 and len(d):
                    first = d[0].astype(np.int64)
                total += d.sum(axis=0, dtype=np.int64)
                written += len(d)
                d.astype("<i2").tofile(fh)
        if written != n_samples:
            raise ValueError(f"{written} samples written, {n_samples} expected")
        # WFDB's checksum: the 16-bit two's-complement sum of a signal's samples.
        checksum = ((total + 32768) % 65536 - 32768).tolist()
        header = wfdb.Record(
            record_name=base, n_sig=n_leads, fs=float(record.fs), sig_len=int(n_samples),
            file_name=[f"{base}.dat"] * n_leads, fmt=["16"] * n_leads,
            adc_gain=[float(g) for g in gain], baseline=[0] * n_leads,
            units=["mV"] * n_leads, adc_res=[16] * n_leads, adc_zero=[0] * n_leads,
            init_value=first.tolist(), checksum=checksum, block_size=[0] * n_leads,
            sig_name=[str(lead) for lead in record.leads],
            comments=[str(c) for c in record.comments] or None,
            base_time=_clock(record.start_clock))
        header.wrheader(write_dir=str(tmp))
        ann = record.annotations
        files = [f"{base}.dat", f"{base}.hea"]
        if ann is not None and len(ann):
            from ecgtool.io.mitann import write_mit_annotations

            write_mit_annotations(tmp / f"{base}.atr", ann.sample, ann.symbol, record.fs,
                                  ann.aux_note, ann.subtype)
            files.insert(1, f"{base}.atr")
        for f in files:  # every file written before any is moved; the header last
            os.replace(tmp / f, folder / f)
    finally:
        for leftover in tmp.iterdir():
            leftover.unlink()
        tmp.rmdir()
    return folder / f"{base}.hea"


def _digital(x: np.ndarray, gain: np.ndarray) -> np.ndarray:
    # Samples in units of 1/gain mV; NaN as WFDB's invalid value.
    with np.errstate(invalid="ignore"):
        d = np.clip(np.round(x * gain), -_TOP, _TOP)
    d[~np.isfinite(x)] = _INVALID
    return d.astype(np.int16)


def _clock(text: str) -> datetime.time | None:
    if not text:
        return None
    return datetime.time(*clock_fields(text))
