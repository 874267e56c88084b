"""The second lead of a recording, for R peaks found on two leads (``--second-lead``).

Which lead ``--second-lead`` names (a name, an index, or ``auto``: the
first other lead whose label names an ECG lead), and how to read it from
the same source: another lead of a WFDB, EDF, ISHNE, ``.mat`` or store
record, another column of a CSV file. The fusion itself is
:func:`ecgtool.signal.leads.fuse_r_peaks`.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import TYPE_CHECKING

from ecgtool.errors import EcgToolError, EcgToolWarning
from ecgtool.io.inputs import (BLOCK_KINDS, ReadOptions, Source, read_source,
                               read_source_block)
from ecgtool.io.records import Record, choose_channel, names_a_lead

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


def second_lead(src: Source, opts: ReadOptions, rec: Record) -> "np.ndarray | None":
    """The lead ``opts.second_lead`` names, read from ``rec``'s source, for
    :func:`ecgtool.signal.detect.detect_beats`; None where none is named (or
    ``auto`` finds none)."""
    other = second_lead_options(src, opts, rec.lead)
    return None if other is None else read_source(src, other).signal


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
    # The first lead's place among these, as the reader found it: an index
    # given to --channel counts an EDF file's signals at every rate.
    try:
        index = second_lead_index(leads, opts, src.path, first=both.channel)
    except EcgToolError:
        _other_rate(src, plain, opts.second_lead, both.fs)
        raise
    if index is None:
        return None
    # By name where the name is the lead's alone: an EDF file lists here only
    # the signals at the first lead's rate, and its reader counts an index
    # among all of them (a temperature channel before the leads).
    by_name = choose_channel(leads, leads[index], src.path) == index
    return replace(plain, channel=leads[index] if by_name else index)


def _other_rate(src: Source, opts: ReadOptions, name, fs: float) -> None:
    # An EDF file's signals may have rates of their own: a lead named by
    # --second-lead that is not at the first lead's rate is said to be so.
    if src.kind != "edf" or str(name).lstrip("-").isdigit():
        return
    try:
        other = read_source_block(src, replace(opts, channel=name), 0, 1)
    except EcgToolError:
        return
    if other.fs != fs:
        raise EcgToolError(f"--second-lead {name} is recorded at {other.fs:g} Hz, the first "
                           f"lead at {fs:g} Hz: the two leads must share a rate", src.path)


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
