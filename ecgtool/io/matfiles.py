"""Reading MATLAB ``.mat`` recordings that have no WFDB header.

A ``.mat`` beside a ``.hea`` is a WFDB record (:func:`ecgtool.io.wfdbfiles.read_wfdb`).
Without a header, two layouts are read:

- the CPSC 2018 challenge's: a struct ``ECG`` with fields ``sex``, ``age``
  and ``data`` (12 leads by samples, in mV). The challenge recorded every
  file at 500 Hz in the lead order I, II, III, aVR, aVL, aVF, V1-V6, so no
  rate needs to be given;
- any file holding one numeric matrix (or a variable named ``val``, ``data``,
  ``ecg``, ``signal`` or ``signals``): leads are the shorter side, named
  ``ch0``, ``ch1``...; the rate comes from ``--fs`` or from a scalar
  variable ``fs``/``Fs`` in the file; values are read in ``units``. MATLAB
  v7.3 files (HDF5 inside) are read this way too, through h5py.

scipy reads the file, after ecgtool has checked its data element tags:
scipy trusts them, and a file with one corrupt tag could crash the process.

References
----------
Liu F et al. An open access database for evaluating the algorithms of
electrocardiogram rhythm and morphology abnormality detection. J Med
Imaging Health Inform 2018;8(7):1368-1373 (CPSC 2018).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from ecgtool.errors import EcgToolError
from ecgtool.io.records import Record, _brief, _to_mv, choose_channel, sha256_files

#: Rate and lead order of every CPSC 2018 recording (the challenge's data description).
CPSC2018_FS = 500.0
CPSC2018_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

_SIGNAL_NAMES = ("val", "data", "ecg", "signal", "signals")
_FS_NAMES = ("fs", "Fs", "FS", "sampling_rate", "freq")


_MI_INT8, _MI_INT32, _MI_UINT32, _MI_MATRIX, _MI_COMPRESSED = 1, 5, 6, 14, 15
_MI_TYPES = frozenset({1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 14, 15, 16, 17, 18})
_MX_CELL, _MX_STRUCT, _MX_OBJECT, _MX_CHAR, _MX_SPARSE = 1, 2, 3, 4, 5
_MX_NUMERIC = frozenset(range(6, 16))


def _elements(buf, start: int, end: int, order: str):
    # (type, data offset, size) of each data element in buf[start:end], or
    # None when a tag has an unknown type or a size that does not fit; a
    # "small" element packs type and size (at most 4 bytes) in one word.
    out = []
    p = start
    while p + 8 <= end:
        word, n = struct.unpack_from(order + "II", buf, p)
        if word >> 16:
            if word >> 16 > 4 or word & 0xFFFF not in _MI_TYPES:
                return None
            out.append((word & 0xFFFF, p + 4, word >> 16))
            p += 8
            continue
        if word not in _MI_TYPES or p + 8 + n > end:
            return None
        out.append((word, p + 8, n))
        p += 8 + n + (0 if word in (_MI_MATRIX, _MI_COMPRESSED) else (-n) % 8)
    return out


def _matrix_ok(buf, start: int, n: int, order: str, depth: int) -> bool:
    # The parts scipy expects of a matrix of each class are there: flags,
    # dimensions, name, then one data element (two if complex), or the cells,
    # or the fields of every struct element.
    if n == 0:
        return True  # an empty matrix
    els = _elements(buf, start, start + n, order)
    if els is None or len(els) < 3 or depth > 16:
        return False
    (ft, fo, fn), (dt, do, dn), (nt, _, _) = els[:3]
    if ft != _MI_UINT32 or fn != 8 or dt != _MI_INT32 or dn < 8 or dn % 4 or nt != _MI_INT8:
        return False
    flags = struct.unpack_from(order + "I", buf, fo)[0]
    cls, is_complex = flags & 0xFF, bool(flags & 0x800)
    dims = struct.unpack_from(order + f"{dn // 4}i", buf, do)
    if min(dims) < 0:
        return False
    count = int(np.prod(dims, dtype=np.int64))
    rest = els[3:]
    if cls in _MX_NUMERIC or cls == _MX_CHAR:
        want = 2 if is_complex else 1
        return len(rest) == want and all(t not in (_MI_MATRIX, _MI_COMPRESSED) for t, _, _ in rest)
    if cls == _MX_SPARSE:
        return len(rest) == (4 if is_complex else 3)
    if cls == _MX_CELL:
        children = rest
    elif cls in (_MX_STRUCT, _MX_OBJECT):
        if cls == _MX_OBJECT:
            rest = rest[1:]  # the class name
        if len(rest) < 2 or rest[0][0] != _MI_INT32 or rest[0][2] != 4:
            return False
        name_len = struct.unpack_from(order + "i", buf, rest[0][1])[0]
        if name_len <= 0 or rest[1][2] % name_len:
            return False
        children = rest[2:]
        count *= rest[1][2] // name_len
    else:
        return True  # functions and MATLAB's workspace blobs: not read as ECG
    return len(children) == count and all(
        t == _MI_MATRIX and _matrix_ok(buf, o, size, order, depth + 1) for t, o, size in children)


def _variables_ok(buf, order: str) -> bool:
    import zlib

    els = _elements(buf, 128, len(buf), order)
    if els is None:
        return False
    for t, o, n in els:
        if t == _MI_COMPRESSED:
            try:
                inner = zlib.decompress(buf[o:o + n])
            except zlib.error:
                return False
            sub = _elements(inner, 0, len(inner), order)
            if sub is None or len(sub) != 1 or sub[0][0] != _MI_MATRIX \
                    or not _matrix_ok(inner, sub[0][1], sub[0][2], order, 0):
                return False
        elif t != _MI_MATRIX or not _matrix_ok(buf, o, n, order, 0):
            return False
    return True


def _check_mat5(path: Path, shown: str) -> None:
    # Level 5 files: a 128-byte header ending in the version (0x0100) and the
    # byte order mark; older (level 4) files have none and are left to scipy.
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 128 or buf[126:128] not in (b"IM", b"MI"):
        return
    order = "<" if buf[126:128] == b"IM" else ">"
    if struct.unpack_from(order + "H", buf, 124)[0] != 0x0100:
        return  # v7.3: HDF5 inside, read by h5py
    if not _variables_ok(buf, order):
        raise EcgToolError("corrupt MATLAB file (its data elements do not add up)", shown)


def _load(path: Path, shown: str) -> dict:
    import scipy.io

    try:
        _check_mat5(path, shown)
        return _str_keys(scipy.io.loadmat(str(path), squeeze_me=False))
    except FileNotFoundError:
        raise EcgToolError("no such file", shown) from None
    except EcgToolError:
        raise
    except NotImplementedError:
        return _load_v73(path, shown)
    except Exception as exc:
        raise EcgToolError(f"not a readable MATLAB file ({_brief(exc)})", shown) from None


def _load_v73(path: Path, shown: str) -> dict:
    # MATLAB v7.3 files are HDF5: their top-level numeric arrays, transposed
    # back (MATLAB writes them column-major), as loadmat would give them.
    import h5py

    out = {}
    try:
        with h5py.File(path, "r") as f:
            for k, d in f.items():
                if isinstance(d, h5py.Dataset) and d.dtype.kind in "fiu" and d.ndim <= 2:
                    out[k] = np.asarray(d[...]).T
    except Exception as exc:
        raise EcgToolError(f"not a readable MATLAB v7.3 file ({_brief(exc)})", shown) from None
    return _str_keys(out)


def _str_keys(m: dict) -> dict:
    # A damaged file can give variable names that are not text (bytes).
    return {k.decode("latin-1") if isinstance(k, bytes) else str(k): v for k, v in m.items()}


def _cpsc2018(m: dict) -> tuple[np.ndarray, list[str], list[str]] | None:
    ecg = m.get("ECG")
    if not isinstance(ecg, np.ndarray) or ecg.dtype.names is None \
            or "data" not in ecg.dtype.names or ecg.size != 1:
        return None
    data = np.asarray(ecg["data"].item(), dtype=np.float64)
    if data.ndim != 2 or data.shape[0] != len(CPSC2018_LEADS):
        return None
    comments = []
    for key, label in (("age", "Age"), ("sex", "Sex")):
        if key in ecg.dtype.names:
            v = np.asarray(ecg[key].item()).ravel()
            if v.size:
                comments.append(f"{label}: {v[0]}")
    return data.T, list(CPSC2018_LEADS), comments


def _numeric(v) -> bool:
    return isinstance(v, np.ndarray) and v.dtype.kind in "fiu" and v.size > 1 and v.ndim <= 2


def _generic(m: dict, shown: str) -> np.ndarray:
    variables = {k: v for k, v in m.items() if not k.startswith("__")}
    named = [k for k in _SIGNAL_NAMES if _numeric(variables.get(k))]
    found = named or [k for k, v in variables.items() if _numeric(v)]
    if not found:
        raise EcgToolError("holds no numeric signal matrix", shown)
    if len(found) > 1:
        raise EcgToolError(f"holds several matrices ({', '.join(found)}); cannot tell which is "
                           "the ECG", shown)
    data = np.asarray(variables[found[0]], dtype=np.float64)
    data = data.reshape(-1, 1) if data.ndim == 1 or 1 in data.shape else data
    # Recordings are longer than they are wide: leads are the shorter side.
    return data.T if data.shape[0] < data.shape[1] else data


def _file_fs(m: dict) -> float | None:
    for k in _FS_NAMES:
        v = m.get(k)
        if isinstance(v, np.ndarray) and v.dtype.kind in "fiu" and v.size == 1:
            return float(v.item())
    return None


def read_mat(path: str | os.PathLike, fs: float | None = None, channel: str | int | None = None,
             all_leads: bool = False, units: str = "mV", name: str | None = None) -> Record:
    """Read a header-less MATLAB ``.mat`` recording (CPSC 2018, or one numeric matrix).

    Parameters
    ----------
    path : str or path-like
        The ``.mat`` file.
    fs : float, optional
        Sampling rate in Hz; needed unless the file is CPSC 2018's or holds
        its own ``fs`` variable. Given for a CPSC 2018 file, it must be 500.
    channel : str or int, optional
        Lead name or index; default II (CPSC 2018), else the first.
    all_leads : bool
        Keep every lead in ``signals``.
    units : str
        Units of a generic matrix's values (CPSC 2018 files are in mV).
    name : str, optional
        Record name; default the file stem.

    Returns
    -------
    Record

    Examples
    --------
    >>> import numpy as np, scipy.io, tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "x.mat")
    >>> scipy.io.savemat(f, {"val": np.zeros((2, 1000))})
    >>> rec = read_mat(f, fs=250)
    >>> rec.signals.shape, rec.leads, rec.fs
    ((1000, 1), ['ch0'], 250.0)
    """
    p = Path(path)
    shown = str(p)
    m = _load(p, shown)
    cpsc = _cpsc2018(m)
    comments: list[str] = []
    if cpsc is not None:
        data, leads, comments = cpsc
        if fs is not None and float(fs) != CPSC2018_FS:
            raise EcgToolError(f"CPSC 2018 files are sampled at {CPSC2018_FS:g} Hz, not "
                               f"{fs:g}", shown)
        fs = CPSC2018_FS
    else:
        data = _generic(m, shown) * _to_mv(units)
        leads = [f"ch{i}" for i in range(data.shape[1])]
        fs = fs if fs is not None else _file_fs(m)
        if fs is None:
            raise EcgToolError("sampling rate unknown: give --fs (the file has no header and "
                               "no fs variable)", shown)
    if data.shape[0] == 0:
        raise EcgToolError("holds no samples (empty record)", shown)
    chan = choose_channel(leads, channel, shown)
    cols = list(range(len(leads))) if all_leads else [chan]
    return Record(name=name or p.stem, signals=np.ascontiguousarray(data[:, cols]),
                  fs=float(fs), leads=[leads[c] for c in cols], channel=cols.index(chan),
                  source=shown, sha256=sha256_files([p]),
                  comments=comments)
