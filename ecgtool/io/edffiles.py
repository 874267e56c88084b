"""Reading EDF and BDF recordings (the European Data Format of many Holter and
sleep recorders), through the edfio library.

Signals of one file may have different rates (an ECG at 256 Hz beside a
1-Hz temperature); the ECG lead is read at its own rate, and ``all_leads``
keeps the signals that share it. The patient identification fields of the
header are not copied into ecgtool's outputs.

EDF+ annotations become reference annotations: a text that is a MIT-BIH
annotation symbol (``N``, ``V``, ``~``...) is that annotation; a text that
starts with ``(`` is a rhythm change (``+`` with the text as its
``aux_note``, as in MIT-BIH: the rhythm holds until the next change; an
EDF+ duration is not kept); any other text is a comment (``"``).

A discontinuous EDF+D file is read on its own clock: each data record is
placed at the onset its time-keeping annotation gives, and the gaps between
them are NaN, which every command treats as unreadable signal (no beats,
a ``noise`` span, never a pause). Sample indices and annotation times then
agree with the recorder's time.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from ecgtool.errors import EcgToolError, EcgToolWarning
from ecgtool.io.records import (Annotations, Record, _brief, _to_mv, choose_channel,
                                clock_text, names_a_lead, preferred_lead, sha256_files)

EDF_SUFFIXES = (".edf", ".bdf")
#: Longest stretch an EDF+D file's data records may span (from the first onset).
MAX_SPAN_S = 31 * 86400.0


def _default_channel(labels: list[str]) -> int:
    # MLII, II or ECG by name; else the first label that says ECG/EKG; else
    # the first that names a lead ("Lead II"); else the first, said aloud when
    # there are others (a sleep study's first signal is an EEG).
    found = preferred_lead(labels)
    if found is not None:
        return found
    upper = [lab.upper() for lab in labels]
    for i, u in enumerate(upper):
        if "ECG" in u or "EKG" in u:
            return i
    for i, lab in enumerate(labels):
        if names_a_lead(lab):
            return i
    if len(labels) > 1:
        warnings.warn(f"no signal is labelled as an ECG lead: {labels[0]!r} is read "
                      f"(signals: {', '.join(labels)}; choose one with --channel)",
                      EcgToolWarning, stacklevel=4)
    return 0


def _open(p: Path, shown: str):
    try:
        import edfio
    except ImportError:
        raise EcgToolError("reading EDF needs edfio: pip install 'ecgtool[edf]'", shown) from None
    if not p.is_file():
        raise EcgToolError("no such file", shown)
    declared = _declared_records(p)
    try:
        with warnings.catch_warnings():
            # edfio reads a short file as far as it goes; it is said below, in one line.
            warnings.filterwarnings("ignore", "(Incomplete data record|EDF header indicates)")
            edf = edfio.read_edf(p, lazy_load_data=True)
        signals = list(edf.signals)
    except Exception as exc:
        raise EcgToolError(f"not a readable EDF file ({_brief(exc)})", shown) from None
    if not signals:
        raise EcgToolError("holds no signals", shown)
    if declared > edf.num_data_records:
        raise EcgToolError(f"truncated: the header gives {declared} data records, the file "
                           f"holds {edf.num_data_records}", shown)
    return edf, signals


def _declared_records(p: Path) -> int:
    # The data record count the header gives (-1: unknown, as a recorder
    # still writing leaves it).
    with open(p, "rb") as fh:
        field = fh.read(256)[236:244]
    try:
        return int(field)
    except ValueError:
        return -1


def _labels(signals) -> list[str]:
    return [s.label.strip() or f"ch{i}" for i, s in enumerate(signals)]


def _pick(signals, channel, shown) -> tuple[list[str], int]:
    labels = _labels(signals)
    chan = (choose_channel(labels, channel, shown) if channel not in (None, "")
            else _default_channel(labels))
    return labels, chan


def _samples(edf, signal, layout: np.ndarray | None = None) -> int:
    # A signal's length from the header (and the data records' onsets) alone.
    spr = int(signal.samples_per_data_record)
    if layout is not None and layout.size:
        return int(layout[-1]) + spr
    return spr * int(edf.num_data_records)


def _record_onsets(p: Path, shown: str) -> np.ndarray | None:
    """Onset (s, from the first) of every data record of an EDF+D/BDF+D
    file, from the first TAL of its time-keeping signal; None for a file
    that is not marked discontinuous."""
    try:
        return _read_onsets(p, shown)
    except EcgToolError:
        raise
    except Exception as exc:  # a damaged header: sizes that do not fit the file
        raise EcgToolError(f"unreadable EDF+D data record onsets ({_brief(exc)})",
                           shown) from None


def _read_onsets(p: Path, shown: str) -> np.ndarray | None:
    with open(p, "rb") as fh:
        head = fh.read(256)
        if not head[192:236].strip().upper().endswith(b"+D"):
            return None
        try:
            ns = int(head[252:256])
            header_bytes = int(head[184:192])
            n_records = int(head[236:244])
            fields = fh.read(ns * 256)
        except ValueError:
            raise EcgToolError("EDF+D header fields are not numbers", shown) from None
    labels = [fields[16 * i:16 * (i + 1)].strip() for i in range(ns)]
    at = ns * 216  # samples per data record, after six blocks of per-signal fields
    spr = [int(fields[at + 8 * i:at + 8 * (i + 1)] or 0) for i in range(ns)]
    width = 3 if head[:1] == b"\xff" else 2  # BDF samples are 24-bit
    keeper = next((i for i, lab in enumerate(labels)
                   if lab in (b"EDF Annotations", b"BDF Annotations")), None)
    if keeper is None or spr[keeper] <= 0:
        raise EcgToolError("EDF+D file without a time-keeping annotation signal", shown)
    record_bytes = sum(spr) * width
    start = sum(spr[:keeper]) * width
    raw = np.memmap(p, np.uint8, "r", header_bytes, (n_records, record_bytes))
    tals = np.ascontiguousarray(raw[:, start:start + spr[keeper] * width])
    del raw
    # Each record's first TAL is "+<onset>\x14\x14": the text before the first
    # \x14, parsed for all records at once (a block read of a long recording
    # needs them again).
    text = np.char.partition(tals.view(f"S{tals.shape[1]}").ravel(), b"\x14")[:, 0]
    try:
        onsets = text.astype(np.float64)
    except ValueError:
        raise EcgToolError("a data record has no readable onset", shown) from None
    if not np.isfinite(onsets).all() or (onsets.size and np.ptp(onsets) > MAX_SPAN_S):
        raise EcgToolError("EDF+D data record onsets are not finite or span more than "
                           f"{MAX_SPAN_S / 86400:g} days", shown)
    return onsets - onsets[0] if n_records else onsets


def _layout(p: Path, edf, signal, shown: str) -> np.ndarray | None:
    """First sample of each data record on the recording's clock, at the
    rate of ``signal``; None when the records follow one another."""
    onsets = _record_onsets(p, shown)
    if onsets is None or onsets.size == 0:
        return None
    spr = int(signal.samples_per_data_record)
    fs = float(signal.sampling_frequency)
    first = np.round(onsets * fs).astype(np.int64)
    if np.array_equal(first, np.arange(onsets.size) * spr):
        return None
    if (np.diff(first) < spr).any():
        raise EcgToolError("EDF+D data records overlap or are out of order", shown)
    return first


def _placed(data: np.ndarray, layout: np.ndarray, spr: int, first_record: int,
            start: int, stop: int) -> np.ndarray:
    # Back-to-back samples of data records first_record... laid out on the
    # clock, samples start:stop of it, NaN in the gaps.
    out = np.full(stop - start, np.nan)
    k = np.arange(data.size // spr)
    pos = (layout[first_record + k][:, None] + np.arange(spr)[None, :]).ravel() - start
    keep = (pos >= 0) & (pos < out.size)
    out[pos[keep]] = data[: k.size * spr][keep]
    return out


def _annotations(edf, fs: float, n: int, shown: str) -> Annotations | None:
    from ecgtool.io.mitann import mit_symbols

    try:
        items = edf.annotations
    except Exception as exc:
        raise EcgToolError(f"unreadable EDF+ annotations ({_brief(exc)})", shown) from None
    known = set(mit_symbols())
    sample, symbol, aux = [], [], []
    for a in items:
        text = a.text.strip()
        at = int(round(a.onset * fs))
        if not text or not 0 <= at < n:
            continue
        sample.append(at)
        if text in known:
            symbol.append(text)
            aux.append("")
        else:
            symbol.append("+" if text.startswith("(") else '"')
            aux.append(text)
    if not sample:
        return None
    order = np.argsort(sample, kind="stable")
    return Annotations(np.asarray(sample, np.int64)[order], np.asarray(symbol)[order],
                       [aux[i] for i in order])


def read_edf_annotations(path: str | os.PathLike,
                         channel: str | int | None = None) -> Annotations | None:
    """The EDF+ annotations of a recording (see the module), at the rate of
    its ECG signal; None when it has none.

    Examples
    --------
    >>> import tempfile, os, edfio
    >>> f = os.path.join(tempfile.mkdtemp(), "x.edf")
    >>> edfio.Edf([edfio.EdfSignal(np.zeros(2500), 250, label="ECG")],
    ...           annotations=[edfio.EdfAnnotation(1.0, None, "N"),
    ...                        edfio.EdfAnnotation(2.5, None, "(AFIB")]).write(f)
    >>> a = read_edf_annotations(f)
    >>> a.sample.tolist(), a.symbol.tolist(), a.aux_note.tolist()
    ([250, 625], ['N', '+'], ['', '(AFIB'])
    """
    p = Path(path)
    edf, signals = _open(p, str(p))
    _, chan = _pick(signals, channel, str(p))
    s = signals[chan]
    n = _samples(edf, s, _layout(p, edf, s, str(p)))
    return _annotations(edf, float(s.sampling_frequency), n, str(p))


def edf_length(path: str | os.PathLike, channel: str | int | None = None) -> tuple[int, float]:
    """``(samples, fs)`` of the ECG signal, from the header alone (and, for
    EDF+D, the data records' onsets: gaps count)."""
    p = Path(path)
    edf, signals = _open(p, str(p))
    _, chan = _pick(signals, channel, str(p))
    s = signals[chan]
    return _samples(edf, s, _layout(p, edf, s, str(p))), float(s.sampling_frequency)


def edf_signals(path: str | os.PathLike) -> list[tuple[str, float]]:
    """``(label, rate)`` of every signal of an EDF file, from its header
    (the annotation signal of EDF+ is none).

    Examples
    --------
    >>> import tempfile, os, edfio
    >>> f = os.path.join(tempfile.mkdtemp(), "x.edf")
    >>> edfio.Edf([edfio.EdfSignal(np.zeros(2500), 250, label="II"),
    ...            edfio.EdfSignal(np.zeros(10), 1, label="Temp")]).write(f)
    >>> edf_signals(f)
    [('II', 250.0), ('Temp', 1.0)]
    """
    p = Path(path)
    _, signals = _open(p, str(p))
    return [(lab, float(s.sampling_frequency)) for lab, s in zip(_labels(signals), signals)]


def read_edf(path: str | os.PathLike, channel: str | int | None = None,
             all_leads: bool = False, name: str | None = None,
             block: tuple[int, int] | None = None, ann: bool = True) -> Record:
    """Read an EDF/EDF+/BDF recording.

    Parameters
    ----------
    path : str or path-like
        The ``.edf`` or ``.bdf`` file.
    channel : str or int, optional
        Signal label or index; default MLII/II/ECG by name, else the first
        label holding "ECG" or "EKG", else the first naming a lead ("Lead
        II", "V5"), else the first signal (with a warning when there are others).
    all_leads : bool
        Keep every signal recorded at the chosen one's rate.
    name : str, optional
        Record name; default the file stem.
    block : (start, stop), optional
        Read only these samples (no checksum, no annotations).
    ann : bool
        Keep the EDF+ annotations as the record's reference annotations.

    Returns
    -------
    Record

    Examples
    --------
    >>> import tempfile, os, edfio
    >>> f = os.path.join(tempfile.mkdtemp(), "x.edf")
    >>> x = np.sin(np.arange(2500) / 10)
    >>> edfio.Edf([edfio.EdfSignal(x, 250, label="ECG II", physical_dimension="mV"),
    ...            edfio.EdfSignal(np.zeros(10), 1, label="Temp")]).write(f)
    >>> rec = read_edf(f)
    >>> rec.lead, rec.fs, rec.n_samples
    ('ECG II', 250.0, 2500)
    """
    p = Path(path)
    shown = str(p)
    edf, signals = _open(p, shown)
    labels, chan = _pick(signals, channel, shown)
    fs = float(signals[chan].sampling_frequency)
    layout = _layout(p, edf, signals[chan], shown)
    if block is None and layout is not None:
        spr = int(signals[chan].samples_per_data_record)
        gap = (_samples(edf, signals[chan], layout) - spr * layout.size) / fs
        warnings.warn(f"{shown}: discontinuous EDF+D file: {gap:.1f} s of gaps between its "
                      "data records are read as NaN (unreadable signal)", EcgToolWarning,
                      stacklevel=2)
    cols = [i for i, s in enumerate(signals) if float(s.sampling_frequency) == fs] \
        if all_leads else [chan]

    def values(s):
        if layout is not None:
            spr = int(s.samples_per_data_record)
            a, b = block if block is not None else (0, _samples(edf, s, layout))
            # The data records that reach into a:b, read back to back in one slice.
            k0 = int(np.searchsorted(layout + spr, a, side="right"))
            k1 = int(np.searchsorted(layout, b, side="left"))
            dur = spr / fs
            data = s.get_data_slice(k0 * dur, k1 * dur) if k1 > k0 else np.zeros(0)
            return _placed(np.asarray(data, np.float64), layout, spr, k0, a, b)
        if block is None:
            return s.data
        return s.get_data_slice(block[0] / fs, block[1] / fs)

    try:
        data = [np.asarray(values(signals[i]), dtype=np.float64)
                * _to_mv(signals[i].physical_dimension.strip()) for i in cols]
    except Exception as exc:
        raise EcgToolError(f"cannot read the signal ({_brief(exc)}); the file may be "
                           "truncated", shown) from None
    if data[0].size == 0:
        raise EcgToolError("holds no samples (empty record)", shown)
    annotations = None
    if ann and block is None:
        annotations = _annotations(edf, fs, data[0].size, shown)
    try:
        start = edf.starttime
    except Exception:  # an unreadable start time is no reason not to read the signal
        start = None
    return Record(name=name or p.stem, signals=np.column_stack(data), fs=fs,
                  leads=[labels[i] for i in cols], channel=cols.index(chan), source=shown,
                  sha256=sha256_files([p]) if block is None else "",
                  annotations=annotations, start_clock=clock_text(start))
