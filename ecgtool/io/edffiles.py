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
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from ecgtool.errors import EcgToolError, EcgToolWarning
from ecgtool.io.records import (PREFERRED_LEADS, Annotations, Record, _brief, _to_mv,
                                choose_channel, sha256_files)

EDF_SUFFIXES = (".edf", ".bdf")


def _default_channel(labels: list[str]) -> int:
    # MLII, II or ECG by name; else the first label that says ECG/EKG; else the first.
    upper = [lab.upper() for lab in labels]
    if any(u in PREFERRED_LEADS for u in upper):
        return choose_channel(labels, None)
    return next((i for i, u in enumerate(upper) if "ECG" in u or "EKG" in u), 0)


def _open(p: Path, shown: str):
    try:
        import edfio
    except ImportError:
        raise EcgToolError("reading EDF needs edfio: pip install 'ecgtool[edf]'", shown) from None
    if not p.is_file():
        raise EcgToolError("no such file", shown)
    try:
        edf = edfio.read_edf(p, lazy_load_data=True)
        signals = list(edf.signals)
    except Exception as exc:
        raise EcgToolError(f"not a readable EDF file ({_brief(exc)})", shown) from None
    if not signals:
        raise EcgToolError("holds no signals", shown)
    return edf, signals


def _pick(signals, channel, shown) -> tuple[list[str], int]:
    labels = [s.label.strip() or f"ch{i}" for i, s in enumerate(signals)]
    chan = (choose_channel(labels, channel, shown) if channel not in (None, "")
            else _default_channel(labels))
    return labels, chan


def _samples(edf, signal) -> int:
    # A signal's length from the header alone.
    return int(signal.samples_per_data_record * edf.num_data_records)


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
    return _annotations(edf, float(s.sampling_frequency), _samples(edf, s), str(p))


def edf_length(path: str | os.PathLike, channel: str | int | None = None) -> tuple[int, float]:
    """``(samples, fs)`` of the ECG signal, from the header alone."""
    edf, signals = _open(Path(path), str(path))
    _, chan = _pick(signals, channel, str(path))
    s = signals[chan]
    return _samples(edf, s), float(s.sampling_frequency)


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
        label holding "ECG" or "EKG", else the first signal.
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
    if block is None and str(getattr(edf, "reserved", "")).startswith("EDF+D"):
        warnings.warn(f"{shown}: discontinuous EDF+D file: its data records are read back to "
                      "back, so times after a gap come early", EcgToolWarning, stacklevel=2)
    cols = [i for i, s in enumerate(signals) if float(s.sampling_frequency) == fs] \
        if all_leads else [chan]

    def values(s):
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
    return Record(name=name or p.stem, signals=np.column_stack(data), fs=fs,
                  leads=[labels[i] for i in cols], channel=cols.index(chan), source=shown,
                  sha256=sha256_files([p]) if block is None else "",
                  annotations=annotations)
