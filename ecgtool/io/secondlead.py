"""The second lead of a recording, for R peaks found on two leads (``--second-lead``).

Which lead ``--second-lead`` names (a name, an index, or ``auto``: the
first other lead whose label names an ECG lead), and how to read it from
the same source: another lead of a WFDB, EDF, ISHNE, ``.mat`` or store
record, another column of a CSV file. The fusion itself is
:func:`ecgtool.signal.leads.fuse_r_peaks`.

An EDF file's signals, and a WFDB record's leads of several samples a
frame, may have rates of their own: a second lead named at another rate
than the first is read onto the first lead's samples (:func:`read_second`).
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np

from ecgtool.errors import EcgToolError, EcgToolWarning
from ecgtool.io.inputs import (BLOCK_KINDS, ReadOptions, Source, read_source,
                               read_source_block, source_length)
from ecgtool.io.records import Record, choose_channel, names_a_lead


def second_lead(src: Source, opts: ReadOptions, rec: Record) -> np.ndarray | None:
    """The lead ``opts.second_lead`` names, read from ``rec``'s source onto
    ``rec``'s samples, for :func:`ecgtool.signal.detect.detect_beats`; None
    where none is named (or ``auto`` finds none)."""
    other = second_lead_options(src, opts, rec.lead)
    return None if other is None else read_second(src, other, rec.fs, 0, rec.n_samples,
                                                  whole=True).signal


def read_second(src: Source, other: ReadOptions, fs: float, start: int, stop: int,
                whole: bool = False) -> Record:
    """The lead ``other`` names (:func:`second_lead_options`) over the first
    lead's samples ``start:stop``, as a record at the first lead's rate
    ``fs``, whatever its own. ``whole``: ``start:stop`` is the whole
    recording, read as such where the rates agree.

    A lead at another rate is read over the same time (and a few of its
    samples more on either side), averaged over one first-lead sample where
    its rate is higher, and interpolated linearly at the first lead's sample
    times: R peaks found on it then fall on the first lead's samples.

    Examples
    --------
    >>> import tempfile, os, edfio
    >>> f = os.path.join(tempfile.mkdtemp(), "x.edf")
    >>> edfio.Edf([edfio.EdfSignal(np.sin(np.arange(2500) / 250), 250, label="II"),
    ...            edfio.EdfSignal(np.sin(np.arange(10000) / 1000), 1000, label="V5")]).write(f)
    >>> rec = read_second(Source("edf", f, "x"), ReadOptions(channel="V5"), 250.0, 100, 110)
    >>> rec.lead, rec.fs, rec.n_samples
    ('V5', 250.0, 10)
    >>> bool(np.allclose(rec.signal, np.sin(np.arange(100, 110) / 250), atol=1e-3))
    True
    """
    size = source_length(src, other.channel) if src.kind in BLOCK_KINDS else None
    if size is None or size[1] == fs:
        if whole:
            return read_source(src, other)
        return read_source_block(src, other, start, stop)
    from ecgtool.signal.filters import moving_mean, sample_at

    n, own = size
    ratio = own / fs
    pad = int(np.ceil(ratio)) + 2
    lo = max(0, int(np.floor(start * ratio)) - pad)
    hi = min(n, int(np.ceil(stop * ratio)) + pad + 1)
    rec = read_source_block(src, other, lo, hi)
    x = rec.signal
    if ratio > 1.5:
        # What lies above the first lead's Nyquist rate would fold into the QRS band.
        x = moving_mean(x, int(round(ratio)) // 2)
    x = sample_at(x, np.arange(start, stop) * ratio - lo)
    return replace(rec, signals=x[:, None], fs=fs, leads=[rec.lead], channel=0)


def second_lead_options(src: Source, opts: ReadOptions,
                        first_lead: str | None = None) -> ReadOptions | None:
    """Read options under which ``src``'s chosen lead is the one
    ``opts.second_lead`` names (a CSV file's: another column); None where
    none is named, or ``auto`` finds none. ``first_lead``: the name of the
    lead the beats are found on, where it was read already (a CSV's column
    as the reader chose it)."""
    if opts.second_lead is None:
        return None
    if src.kind == "stdin":
        raise EcgToolError("--second-lead reads the recording twice: give a file, not stdin",
                           src.path)
    plain = replace(opts, second_lead=None)
    if src.kind == "csv":
        from ecgtool.io.csvfiles import signal_column
        from ecgtool.io.sampletimes import time_column

        names = _csv_names(src)
        if first_lead is None:
            first_lead = names[signal_column(names, opts.column, src.path)]
        leads = [n for i, n in enumerate(names) if i != time_column(names)]
        index = second_lead_index(leads, replace(opts, channel=first_lead), src.path)
        return None if index is None else replace(plain, column=leads[index])
    every = replace(plain, all_leads=True)
    both = (read_source_block(src, every, 0, 1) if src.kind in BLOCK_KINDS
            else read_source(src, every))
    leads = both.leads
    if str(opts.second_lead).lower() == "auto" and len(leads) == 1 and src.kind in ("edf", "wfdb"):
        # The lead alone at its rate: auto looks among the others.
        other = _auto_other_rate(src, plain, leads[0], both.fs)
        if other is not None:
            return other
    # The first lead's place among these, as the reader found it: an index
    # given to --channel counts an EDF file's signals at every rate.
    try:
        index = second_lead_index(leads, opts, src.path, first=both.channel)
    except EcgToolError:
        named = _other_rate(src, plain, opts.second_lead, both.fs)
        if named is None:
            raise
        return named
    if index is None:
        return None
    # By name where the name is the lead's alone: an EDF file lists here only
    # the signals at the first lead's rate, and its reader counts an index
    # among all of them (a temperature channel before the leads).
    by_name = choose_channel(leads, leads[index], src.path) == index
    return replace(plain, channel=leads[index] if by_name else index)


def _other_rate(src: Source, opts: ReadOptions, name, fs: float) -> ReadOptions | None:
    # An EDF file's signals, or a WFDB record's leads of several samples a
    # frame, may have rates of their own: a lead named by --second-lead that
    # is not among the first lead's rate's is read by its name, at its own
    # rate (read_second brings it onto the first lead's samples).
    # Its rate comes from the header, as read_second reads it (None: no
    # such lead, or a source whose leads share one rate).
    if str(name).lstrip("-").isdecimal():
        return None
    size = source_length(src, name)
    if size is None or size[1] == fs:
        return None
    from ecgtool.signal.filters import MAX_FS, MIN_FS

    if not MIN_FS <= size[1] <= MAX_FS:
        raise EcgToolError(f"--second-lead {name} is recorded at {size[1]:g} Hz: no ECG lead "
                           f"(leads are read at {MIN_FS:g} to {MAX_FS:g} Hz)", src.path)
    return replace(opts, channel=name)


def _auto_other_rate(src: Source, opts: ReadOptions, first: str,
                     fs: float) -> ReadOptions | None:
    # The first other signal of an EDF file or a WFDB record (a lead of
    # several samples a frame) whose label names an ECG lead, at a rate a
    # lead may have (read_second brings it onto the first lead's samples),
    # where its label is its own; None where there is none.
    from ecgtool.signal.filters import MAX_FS, MIN_FS

    if src.kind == "edf":
        from ecgtool.io.edffiles import edf_signals

        signals = edf_signals(src.path)
    else:
        from ecgtool.io.wfdbfiles import wfdb_signals

        signals = wfdb_signals(src.path)
    labels = [lab for lab, _ in signals]
    for lab, rate in signals:
        if (lab != first and rate != fs and MIN_FS <= rate <= MAX_FS and names_a_lead(lab)
                and labels.count(lab) == 1):
            return replace(opts, channel=lab)
    return None


def _csv_names(src: Source) -> list[str]:
    # A CSV file's column names, from its first lines alone: a day's CSV is large.
    from ecgtool.io.csvfiles import HEAD_LINES, open_text, read_head

    with open_text(src.path) as f:
        lines = [ln.strip() for _, ln in zip(range(64), f)]
    return read_head([ln for ln in lines if ln and not ln.startswith("#")][:HEAD_LINES],
                     src.path).names


def second_lead_index(leads: list[str], opts: ReadOptions, where: str,
                      first: int | None = None) -> int | None:
    """Which of ``leads`` ``opts.second_lead`` names; an error where it names
    the lead the beats are found on: ``leads[first]``, or else the one
    ``opts.channel`` names. ``auto`` is the first other lead whose label
    names an ECG lead (:func:`ecgtool.io.records.names_a_lead`), else the
    first other; None, with a warning, where the record has one lead. Leads
    are told apart by their place, since some records name two leads alike
    (SVDB: ECG, ECG); an index counts ``leads``.

    Examples
    --------
    >>> second_lead_index(["V1", "MLII"], ReadOptions(second_lead="auto"), "r")
    0
    >>> second_lead_index(["RESP", "MLII", "V5"], ReadOptions(second_lead="auto"), "r")
    2
    >>> second_lead_index(["ECG", "ECG"], ReadOptions(second_lead=1), "r")
    1
    """
    if first is None:
        first = choose_channel(leads, opts.channel, where)
    if str(opts.second_lead).lower() == "auto":
        others = [i for i in range(len(leads)) if i != first]
        if not others:
            warnings.warn("one lead only: --second-lead auto finds no other", EcgToolWarning,
                          stacklevel=2)
            return None
        # A respiration or event channel beside the leads is no second lead.
        named = [i for i in others if names_a_lead(leads[i])]
        return (named or others)[0]
    second = choose_channel(leads, opts.second_lead, where)
    if second == first:
        raise EcgToolError(f"--second-lead names the lead the beats are found on "
                           f"({leads[first]}, lead {first}): name another", where)
    return second
