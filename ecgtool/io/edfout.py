"""Writing records as EDF+ files, for EDF viewers (EDFbrowser) and the
clinical and sleep software that reads the European Data Format (through the
edfio library).

Each lead is a 16-bit signal in uV at 1 uV steps where all of its samples
fit (within +-32.767 mV), else at the least whole number of uV per step that
holds its largest sample. EDF has no mark for a missing sample: unreadable
samples (NaN) are written as 0 uV, a flat line at the baseline, which every
command reads as unreadable signal (noise) and a viewer shows at the scale
of the rest (the digital minimum, another choice, would read as a 32-mV
step: a beat at each of its edges). EDF stores whole data records (1 s where
the rate allows), so the last one is filled out by repeating the last sample.

The reference annotations become EDF+ annotations that ecgtool's EDF reader
reads back as they were: a beat or other annotation by its MIT-BIH symbol
(``N``, ``V``, ``~``...), a rhythm change by its text (``(AFIB``), a comment
by its text. Annotation subtypes and beat notes are not kept. The start time
of day is kept; the date is unknown (EDF+ ``X``), the patient fields
anonymous and header comments are not written (EDF has no place for them).

The file is written under a temporary name and renamed, so a failure leaves
no file.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import numpy as np

from ecgtool.errors import EcgToolError
from ecgtool.io.records import Record, clock_fields
from ecgtool.io.store import atomic_path
from ecgtool.io.wfdbout import Blocks, lead_peaks, record_blocks

#: Data record durations tried, shortest first (s): 1 s holds a whole
#: number of samples at any whole rate.
_DURATIONS = (1, 2, 4, 5, 8, 10, 20, 25, 40, 50, 100)
_TOP = 32767
_BOTTOM = -32768
#: Most uV per step: beyond it the physical limits no longer fit EDF's
#: 8-character header fields (a lead of over 9.9 V is no ECG).
_MAX_STEP_UV = 305


def edfio_or_error(shown: str):
    """The edfio module, or a one-line error about ``shown`` saying how to get it."""
    try:
        import edfio
    except ImportError:
        raise EcgToolError("writing EDF needs edfio: pip install 'ecgtool[edf]'",
                           shown) from None
    return edfio


def data_record_duration(fs: float) -> int:
    """The shortest data record (s) that holds a whole number of samples at ``fs``.

    Examples
    --------
    >>> data_record_duration(360.0), data_record_duration(128.5), data_record_duration(100.25)
    (1, 2, 4)
    """
    for d in _DURATIONS:
        if abs(fs * d - round(fs * d)) < 1e-6 * max(1.0, fs * d) and round(fs * d) > 0:
            return d
    raise ValueError(f"no EDF data record of up to {_DURATIONS[-1]} s holds a whole "
                     f"number of samples at {fs:g} Hz")


def lead_steps(peak_mv: np.ndarray) -> np.ndarray:
    """uV per 16-bit step of each lead: 1, or the least whole number at which
    its largest absolute sample (mV) fits.

    Examples
    --------
    >>> lead_steps(np.array([1.5, 32.767, 40.0])).tolist()
    [1, 1, 2]
    """
    return np.maximum(1, np.ceil(np.asarray(peak_mv) * 1000.0 / _TOP - 1e-9)).astype(np.int64)


def write_edf(path: str | os.PathLike, record: Record, blocks: Blocks | None = None,
              n_samples: int | None = None) -> Path:
    """Write ``record`` as an EDF+ file at ``path``; return the path.

    Parameters
    ----------
    path : str or path-like
        The file to write (its folder must exist).
    record : Record
        Its leads, rate, start time and reference annotations; its signals
        unless ``blocks`` is given.
    blocks : callable, optional
        For a recording too long to hold as float: returns ``(start,
        signals)`` blocks in order, and may be called twice (the steps are
        set by a first pass).
    n_samples : int, optional
        Samples per lead over all ``blocks``.

    Examples
    --------
    >>> import tempfile
    >>> from ecgtool.io.records import read_sample
    >>> from ecgtool.io.edffiles import read_edf
    >>> rec = read_sample("119")
    >>> f = write_edf(Path(tempfile.mkdtemp()) / "119.edf", rec)
    >>> back = read_edf(f)
    >>> bool(np.abs(back.signal[:rec.n_samples] - rec.signal).max() < 1e-9)
    True
    >>> back.annotations.symbol[:3].tolist(), str(back.annotations.aux_note[0])
    (['+', 'N', 'V'], '(N')
    """
    edfio = edfio_or_error(str(path))
    path = Path(path)
    fs = float(record.fs)
    try:
        duration = data_record_duration(fs)
    except ValueError as exc:
        raise EcgToolError(str(exc), str(path)) from None
    blocks, n_samples = record_blocks(record, blocks, n_samples)
    n_leads = len(record.leads)
    step = lead_steps(lead_peaks(blocks, n_leads))
    if (step > _MAX_STEP_UV).any():
        lead = record.leads[int(np.argmax(step))]
        raise EcgToolError(f"lead {lead} reaches {step.max() * _TOP / 1000:.0f} mV or more: "
                           "beyond what EDF's 16-bit samples and header hold", str(path))
    digital = _digital(blocks, n_samples, n_leads, step, int(round(fs * duration)))
    signals_out = [
        edfio.EdfSignal.from_digital(digital[i], fs, label=str(lead)[:16],
                                     physical_dimension="uV",
                                     physical_range=(_BOTTOM * int(k), _TOP * int(k)),
                                     digital_range=(_BOTTOM, _TOP))
        for i, (lead, k) in enumerate(zip(record.leads, step))]
    clock = clock_fields(record.start_clock) if record.start_clock else None
    edf = edfio.Edf(signals_out, starttime=datetime.time(*clock) if clock else None,
                    data_record_duration=duration,
                    annotations=_annotations(record, fs, edfio.EdfAnnotation))
    with atomic_path(path) as tmp:
        edf.write(tmp)
    return path


def _digital(blocks: Blocks, n_samples: int, n_leads: int, step: np.ndarray,
             per_record: int) -> np.ndarray:
    # Whole data records of 16-bit samples, a row per lead; NaN as 0, the last
    # record filled out with the last sample.
    n_out = max(1, -(-n_samples // per_record)) * per_record
    d = np.empty((n_leads, n_out), dtype=np.int16)
    written = 0
    scale = 1000.0 / step
    for _, x in blocks():
        x = np.asarray(x, dtype=np.float64).reshape(len(x), n_leads)
        with np.errstate(invalid="ignore"):
            part = np.clip(np.round(x * scale), -_TOP, _TOP)
        part[~np.isfinite(x)] = 0
        d[:, written:written + len(part)] = part.T
        written += len(part)
    if written != n_samples:
        raise ValueError(f"{written} samples written, {n_samples} expected")
    d[:, written:] = d[:, written - 1:written] if written else 0
    return d


def _annotations(record: Record, fs: float, make) -> list:
    # One EDF+ annotation per reference annotation, in the texts the reader
    # maps back: the symbol, or the rhythm or comment text.
    a = record.annotations
    if a is None or not len(a):
        return []
    out = []
    for sample, symbol, aux in zip(a.sample, a.symbol, a.aux_note):
        note = str(aux).strip("\x00 ")
        text = note if symbol in ("+", '"') and note else str(symbol)
        out.append(make(float(sample) / fs, None, text))
    return out
