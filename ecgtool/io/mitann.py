"""WFDB annotation files in the MIT format: a vectorised reader, and a writer.

``wfdb.rdann`` decodes annotations one at a time in Python: about 8 us each,
so the 4.2 million beats of 42 Long-Term AF Database records take half a
minute to read, several times longer than ecgtool's rhythm analysis of them.
This reader decodes the same bytes with numpy. The label table is wfdb's own;
a code outside it that the file does not define reads as the symbol ``""``
(no annotation ecgtool knows; wfdb gives NaN). It reads every file itself:
``wfdb.rdann`` loops forever on a definition note it does not know (a
damaged file showed it), so a damaged file is an error here, never handed on.

The format (WFDB Programmer's Guide, "annot(5)"): little-endian 16-bit
words, 6 bits of code over 10 bits of value. Codes 1-49 are annotations whose
value is the time since the previous one; 59 (SKIP) adds the 32-bit interval
in the next two words (high half first) to the next annotation's time; 60-62
(NUM, SUB, CHN) modify the annotation before them; 63 (AUX) is followed by
``value`` bytes of text, padded to a whole word. A zero word ends the file.
A NOTE (22) at time 0 whose text begins ``## `` is a definition, not an
annotation: ``## time resolution: 1000`` says that the file counts time in
ticks of 1/1000 s (WFDB's high-resolution files) rather than in the record's
frames (wfdb's ``wrann`` writes one whenever it is given the rate); notes
between ``## annotation type definitions`` and ``## end of definitions``
define codes (``42 k knot``: code 42 is ``k``). Other definitions are passed over.
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache

import numpy as np

from ecgtool.errors import EcgToolWarning

_SKIP, _NUM, _SUB, _CHN, _AUX = 59, 60, 61, 62, 63
_NOTE = 22
_RESOLUTION = re.compile(r"## time resolution: (\d+\.?\d*)")
_LABEL = re.compile(r"(\d+) (\S+) .+")


@lru_cache(maxsize=1)
def _symbols() -> dict[int, str]:
    from wfdb.io.annotation import ann_label_table

    return {int(k): str(s) for k, s in zip(ann_label_table.label_store, ann_label_table.symbol)}


def mit_symbols() -> list[str]:
    """The MIT annotation symbols (wfdb's label table): ``N``, ``V``, ``+``, ``~``..."""
    return list(_symbols().values())


def _payload(code: np.ndarray, value: np.ndarray) -> np.ndarray:
    # Words that are SKIP intervals or AUX text, not codes: walk the few SKIP
    # and AUX words in order, since a payload word may itself look like one.
    payload = np.zeros(code.size, bool)
    special = np.flatnonzero((code == _SKIP) | (code == _AUX))
    end = -1
    for k in special:
        if k <= end:
            continue
        n = 2 if code[k] == _SKIP else (int(value[k]) + 1) // 2
        end = k + n
        if end >= code.size:
            raise ValueError("a note or a skip runs past the end of the file")
        payload[k + 1:end + 1] = True
    return payload


def decode_mit_annotations(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                  np.ndarray, float | None]:
    """Sample, symbol, aux note and subtype of each annotation in MIT-format
    bytes, and the time resolution the file names (ticks per second; None
    where it names none, and its times count the record's frames).

    Raises ValueError, saying why, for bytes that are no MIT-format file.

    Examples
    --------
    >>> # Two beats: N at sample 10, V 300 samples later with the note "x".
    >>> words = [(1 << 10) | 10, (5 << 10) | 300, (63 << 10) | 1, ord("x"), 0]
    >>> s, sym, aux, sub, res = decode_mit_annotations(np.array(words, "<u2").tobytes())
    >>> s.tolist(), sym.tolist(), aux.tolist(), sub.tolist(), res
    ([10, 310], ['N', 'V'], ['', 'x'], [0, 0], None)
    """
    if len(data) % 2 or len(data) < 2:
        raise ValueError("not a whole number of 16-bit words")
    raw = np.frombuffer(data, dtype="<u2")
    # wfdb reads up to, not including, the last word (the end-of-file zero).
    words = raw[:-1].astype(np.int64)
    code, value = words >> 10, words & 0x3FF
    payload = _payload(code, value)
    is_ann = (code < _SKIP) & ~payload
    # Time steps: annotations carry theirs, a SKIP carries its 32-bit interval.
    step = np.where(is_ann, value, 0)
    for k in np.flatnonzero((code == _SKIP) & ~payload):
        hi, lo = int(words[k + 1]), int(words[k + 2])
        interval = (hi << 16) | lo
        step[k] = interval - (1 << 32) if interval >= 1 << 31 else interval
    sample = np.cumsum(step)[is_ann]
    owner = np.cumsum(is_ann) - 1  # the annotation each modifier word belongs to
    notes = {}
    for k in np.flatnonzero((code == _AUX) & ~payload):
        n = int(value[k])
        text = words[k + 1:k + 1 + (n + 1) // 2].astype("<u2").tobytes()[:n]
        if owner[k] >= 0:
            notes[int(owner[k])] = text.decode("latin-1")
    # SUB holds a signed byte (wfdb's subtyp), e.g. -1 on a noise mark: all
    # signals unreadable.
    subtype = np.zeros(int(is_ann.sum()), np.int16)
    k = np.flatnonzero((code == _SUB) & ~payload)
    k = k[owner[k] >= 0]
    subtype[owner[k]] = (value[k] & 0xFF).astype(np.uint8).view(np.int8)
    # A fixed-width array: millions of beats, a few notes.
    aux = np.zeros(int(is_ann.sum()), f"<U{max(map(len, notes.values()), default=1)}")
    for i, text in notes.items():
        aux[i] = text
    ann_codes = code[is_ann]
    # Code 0 is "not an annotation" (wfdb drops it), as is a sample-0 NOTE:
    # a definition.
    definitions = (ann_codes == _NOTE) & (sample == 0)
    resolution, labels = _definitions(aux[definitions])
    table = {**_symbols(), **labels}
    lut = np.array([table.get(i, "") for i in range(int(ann_codes.max(initial=0)) + 1)])
    symbol = lut[ann_codes] if ann_codes.size else np.zeros(0, "<U1")
    keep = (ann_codes != 0) & ~definitions
    return sample[keep], symbol[keep], aux[keep], subtype[keep], resolution


def _definitions(notes: np.ndarray) -> tuple[float | None, dict[int, str]]:
    # The time resolution (the first given) and the codes a file defines.
    resolution, labels, inside = None, {}, False
    for note in notes.tolist():
        if note == "## annotation type definitions":
            inside = True
        elif note == "## end of definitions":
            inside = False
        elif inside and (m := _LABEL.fullmatch(note)):
            labels[int(m[1])] = m[2]
        elif resolution is None and (m := _RESOLUTION.match(note)):
            resolution = float(m[1]) or None
    return resolution, labels


#: Codes WFDB leaves undefined, for a source's own annotation types.
FREE_CODES = (42, 43, 44, 45, 46, 47, 48, 49, 15, 17)


def _custom_codes(symbol: np.ndarray) -> dict[str, int]:
    # A free code for each of a source's own types (one character, as
    # wfdb's writer takes them), in order of first use, while codes last.
    known = set(mit_symbols())
    own = [s for s in dict.fromkeys(symbol.tolist())
           if s not in known and len(s) == 1 and not s.isspace()]
    return dict(zip(own, FREE_CODES))


def write_mit_annotations(path, sample: np.ndarray, symbol: np.ndarray, fs: float,
                          aux_note: list[str] | None = None,
                          subtype: np.ndarray | None = None) -> None:
    """Write beats as a WFDB annotation file (MIT format) at ``path``
    (``<dir>/<record>.<annotator>``), for PhysioNet's tools (``rdann``,
    ``bxb``) and :func:`ecgtool.io.wfdbfiles.read_annotations`.

    A source's own annotation types (a file's defined codes, read as their
    symbols) are defined again in the file, on codes WFDB leaves free
    (:data:`FREE_CODES`), where their symbol is one character; other types
    WFDB does not name, and ``""`` (a code nothing defined), are left out
    with a warning.

    Written beside ``path`` under a temporary name and renamed, so that a
    failure leaves no half-written file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "rec.ecgtool"
    >>> write_mit_annotations(p, np.array([100, 460]), np.array(["N", "V"]), 360.0)
    >>> from ecgtool.io.wfdbfiles import read_annotations
    >>> a = read_annotations(p.with_suffix(""), "ecgtool")
    >>> np.asarray(a.sample).tolist(), np.asarray(a.symbol).tolist()
    ([100, 460], ['N', 'V'])
    """
    import os
    import shutil
    import tempfile
    from pathlib import Path

    import wfdb

    path = Path(path)
    ext = path.suffix.lstrip(".")
    sample, symbol = np.asarray(sample), np.asarray(symbol).astype(str)
    custom = _custom_codes(symbol)
    known = np.isin(symbol, mit_symbols()) | np.isin(symbol, list(custom))
    if not known.all():
        # Codes nothing defines (read as ""), or more of a source's own than
        # WFDB leaves free, or names longer than a character.
        warnings.warn(f"{path.name}: {int((~known).sum())} annotations of types WFDB does not "
                      "name left out", EcgToolWarning, stacklevel=2)
        sample, symbol = sample[known], symbol[known]
        aux_note = None if aux_note is None else [a for a, k in zip(aux_note, known) if k]
        subtype = None if subtype is None else np.asarray(subtype)[known]
    tmp = tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent)
    # wfdb.wrann takes only letters, digits, - and _ in a record name, which
    # the file does not hold: it writes under a plain name, renamed after.
    written = Path(tmp, f"record.{ext}")
    try:
        if len(sample):
            wfdb.wrann("record", ext, np.asarray(sample, dtype=np.int64),
                       symbol=[str(s) for s in symbol], write_dir=tmp, fs=fs,
                       aux_note=None if aux_note is None else [str(a) for a in aux_note],
                       subtype=None if subtype is None else np.asarray(subtype, dtype=np.int64),
                       custom_labels=[(code, sym, f"defined by the source ({sym})")
                                      for sym, code in custom.items()] or None)
        else:  # no beats: an annotation file that holds none
            written.write_bytes(b"\x00\x00")
        os.replace(written, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
