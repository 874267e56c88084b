"""The ecgtool HDF5 store: one layout, read and written by every command.

Layout (format ``ecgtool-store``, version 2; plain h5py reads it all)::

    /                                 attrs: format, format_version, ecgtool_version,
                                             job (JSON: the command and options)
    /records/<name>/                  attrs: fs, n_samples, leads, channel, units,
                                             source, sha256, comments
    /records/<name>/signal            float32 (n_samples, n_leads), mV   [optional]
    /records/<name>/annotations/      sample int64, symbol str, aux_note str,
                                      subtype int16 (absent in older stores)  [optional]
    /records/<name>/beats/<column>    one 1-D dataset per beats-table column;
                                      attrs: columns (order), fs, detector, model
    /records/<name>/episodes/<column> rhythm episodes (start_s, end_s, rhythm, ...)
    /records/<name>/summary           attrs: json (the diagnose report)
    /errors/{record,source,message}   inputs that failed, one row each

Text is fixed-length UTF-8 (format version 2; version 1 stores, whose text
is variable-length, are read as well). Variable-length strings live in
HDF5's global heap, and a store whose bytes were overwritten there crashed
or hung libhdf5 itself (12 of 21,000 random overwrites; fixed-length text:
0 of 21,000), which no handler can catch. Plain h5py returns fixed-length
text as bytes: ``.decode()`` attributes, ``.asstr()`` datasets. A text
attribute over 60 kB (which an object header cannot hold fixed-length)
stays variable-length.

A group ``/records/<name>`` is complete when its ``complete`` attribute is
true; writers (:class:`ecgtool.io.storewriter.StoreWriter`) set it last.
Files are written to a temporary name and renamed when done, so a reader
never sees a half-written store.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from ecgtool.beats.table import Beats
from ecgtool.errors import EcgToolError
from ecgtool.io.records import Annotations, Record

FORMAT = "ecgtool-store"
FORMAT_VERSION = 2
#: An HDF5 object header holds at most 64 KiB: longer text attributes (a
#: header's comments, say) stay variable-length.
_MAX_FIXED_ATTR = 60_000


def _text_dtype(nbytes: int):
    import h5py

    return h5py.string_dtype("utf-8", max(1, nbytes))


def _encoded(values) -> np.ndarray:
    # Text as fixed-length UTF-8 (at least one byte wide), typed for h5py.
    raw = np.char.encode(np.asarray(values, dtype=str), "utf-8")
    return raw.astype(_text_dtype(raw.dtype.itemsize))


def set_attr(obj, key: str, value) -> None:
    """Set an attribute; text, and lists of text, as fixed-length UTF-8.

    Examples
    --------
    >>> import h5py, io
    >>> with h5py.File(io.BytesIO(), "w") as f:
    ...     set_attr(f, "leads", ["MLII", "V1"])
    ...     attr_text(f.attrs["leads"])
    ['MLII', 'V1']
    """
    if isinstance(value, str) or (isinstance(value, (list, tuple)) and
                                  all(isinstance(v, str) for v in value)):
        raw = _encoded(value)
        if raw.nbytes <= _MAX_FIXED_ATTR:
            obj.attrs.create(key, raw)
            return
        value = list(value) if not isinstance(value, str) else value
    obj.attrs[key] = value  # numbers; and text too long to sit in an object header


def attr_text(value):
    """An attribute's text as ``str`` (or a list of them), whether it was
    stored fixed-length (read as bytes) or variable-length (version 1)."""
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [attr_text(v) for v in value.tolist()]
    return value


#: The suffixes of an HDF5 store.
STORE_SUFFIXES = (".h5", ".hdf5", ".hdf")


def is_store(path: str | os.PathLike) -> bool:
    """True for a path with an HDF5 suffix (:data:`STORE_SUFFIXES`)."""
    return Path(path).suffix.lower() in STORE_SUFFIXES


def group_name(name: str) -> str:
    """Record name made safe as an HDF5 group name.

    Examples
    --------
    >>> group_name("mitdb/100")
    'mitdb_100'
    """
    safe = name.replace("/", "_").strip() or "record"
    return "_" + safe if safe.startswith(".") else safe


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched.
    A ``path`` that is a device or a pipe (``/dev/null``, ``/dev/stdout``)
    is yielded itself.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise EcgToolError("cannot write: folder does not exist", str(target))
    try:
        special = not stat.S_ISREG(os.stat(target).st_mode)
    except OSError:  # no such file yet
        special = False
    if special:
        # A device or a pipe (/dev/null, /dev/stdout, a FIFO) is written in
        # place: renaming a file onto it would replace the device itself
        # (as root, /dev/null became a regular file).
        yield target
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise EcgToolError(f"cannot write ({exc.strerror})", str(target)) from None
    os.close(fd)
    # mkstemp makes the file private; the result should get the usual mode.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _reads(fn):
    # A damaged store makes h5py raise OSError, KeyError, RuntimeError...
    # from deep inside: say which file and that it is damaged, in one line.
    @functools.wraps(fn)
    def guarded(f, *args, **kwargs):
        try:
            return fn(f, *args, **kwargs)
        except EcgToolError:
            raise
        except (OSError, KeyError, RuntimeError, ValueError, TypeError) as exc:
            text = (str(exc).strip().splitlines() or [type(exc).__name__])[0].strip("'\"")
            raise EcgToolError(f"damaged store ({text[:120]})",
                               str(getattr(f, "filename", "") or "")) from None
    return guarded


IN_USE = "in use by another process (HDF5 file lock): wait for it, or write to another file"


def _locked(exc: OSError) -> bool:
    return "unable to lock file" in str(exc)


def check_not_in_use(path: str | os.PathLike) -> None:
    """Raise the one-line error when another process has the HDF5 file at
    ``path`` open. Truncating takes effect before HDF5's lock is tried: a
    store that another process has open would be emptied under it and left
    unreadable. Opening it for writing meets that lock unharmed."""
    import h5py

    if not os.path.exists(path):
        return
    try:
        h5py.File(path, "r+").close()
    except OSError as exc:
        if _locked(exc):
            raise EcgToolError(IN_USE, str(path)) from None


def open_store(path: str | os.PathLike, mode: str = "r"):
    """Open an ecgtool store with h5py, checking its format when reading.

    Examples
    --------
    >>> import os, tempfile
    >>> from ecgtool.io.records import read_sample
    >>> from ecgtool.signal.detect import detect_beats
    >>> rec = read_sample("119")
    >>> path = os.path.join(tempfile.mkdtemp(), "beats.h5")
    >>> with open_store(path, "w") as f:
    ...     write_record(f, rec, "119", detect_beats(rec.signal[:36000], rec.fs))
    >>> with open_store(path) as f:
    ...     record_names(f), len(read_beats(f, "119")), read_record(f, "119").lead
    (['119'], 108, 'MLII')
    """
    import h5py

    if mode == "w":
        check_not_in_use(path)
    try:
        f = h5py.File(path, mode)
    except FileNotFoundError:
        raise EcgToolError("no such file", str(path)) from None
    except OSError as exc:
        if _locked(exc):
            raise EcgToolError(IN_USE, str(path)) from None
        raise EcgToolError(f"not a readable HDF5 file ({str(exc).splitlines()[0][:120]})",
                           str(path)) from None
    if mode == "r" and _reads(lambda f: attr_text(f.attrs.get("format")))(f) != FORMAT:
        f.close()
        raise EcgToolError("not an ecgtool store (no 'format' attribute)", str(path))
    if mode in ("w", "w-", "x"):
        from ecgtool import __version__

        set_attr(f, "format", FORMAT)
        set_attr(f, "format_version", FORMAT_VERSION)
        set_attr(f, "ecgtool_version", __version__)
        f.require_group("records")
    return f


@_reads
def record_names(f) -> list[str]:
    """Names of the complete records in an open store, in stored order: the
    names they were written under (``.hidden``, ``a/b``), which
    :func:`group_name` turns into their groups' keys."""
    recs = f.get("records")
    if recs is None:
        return []
    keys = [k for k in recs if recs[k].attrs.get("complete", False)]
    order = [recs[k].attrs.get("order", i) for i, k in enumerate(keys)]
    names = [str(attr_text(recs[k].attrs.get("name", k))) for k in keys]
    return [n for _, _, n in sorted(zip(order, keys, names))]


def _write_columns(g, cols: dict[str, np.ndarray]) -> None:
    for k, v in cols.items():
        v = np.asarray(v)
        if v.dtype.kind in "UOS":
            raw = _encoded(v)
            # One long note makes every row that wide; such columns are
            # mostly padding, which gzip takes out.
            g.create_dataset(k, data=raw, **({"compression": "gzip"}
                                              if raw.nbytes > 1 << 20 else {}))
        else:
            g.create_dataset(k, data=v)
    set_attr(g, "columns", list(cols))


def _read_columns(g) -> dict[str, np.ndarray]:
    order = attr_text(g.attrs["columns"]) if "columns" in g.attrs else list(g)
    out = {}
    for k in order:
        d = g[k]
        out[k] = d.asstr()[...] if d.dtype.kind in "OS" else d[...]
    return out


def write_record(f, record: Record | None, name: str, beats: Beats | None = None,
                 with_signal: bool = True, beats_attrs: dict | None = None,
                 fs: float | None = None, order: int | None = None,
                 complete: bool = True) -> None:
    """Write one record (and its beats) into an open store, replacing any old one.

    With ``complete=False`` the caller adds more (episodes, a summary) and
    then sets the group's ``complete`` attribute itself.
    """
    recs = f.require_group("records")
    key = group_name(name)
    if key in recs:
        del recs[key]
    g = recs.create_group(key)
    g.attrs["complete"] = False
    set_attr(g, "name", name)
    if order is not None:
        g.attrs["order"] = order
    if record is not None:
        g.attrs["fs"] = record.fs
        g.attrs["n_samples"] = record.n_samples
        set_attr(g, "leads", [str(x) for x in record.leads])
        g.attrs["channel"] = record.channel
        set_attr(g, "units", "mV")
        set_attr(g, "source", record.source)
        set_attr(g, "sha256", record.sha256)
        set_attr(g, "comments", json.dumps(record.comments))
        if record.start_clock:
            set_attr(g, "start_clock", record.start_clock)
        if with_signal:
            g.create_dataset("signal", data=np.asarray(record.signals, dtype=np.float32))
        write_reference(g, record.annotations)
    elif fs is not None or beats is not None:
        g.attrs["fs"] = float(fs if fs is not None else beats.fs)
    if beats is not None:
        write_beats(g, beats, beats_attrs)
    g.attrs["complete"] = complete


def write_reference(g, annotations: Annotations | None, n_samples: int = 0) -> None:
    """A record group's reference annotations (when given), and its length in
    samples (when known and not written yet)."""
    if annotations is not None:
        _write_columns(g.create_group("annotations"),
                       {"sample": annotations.sample, "symbol": annotations.symbol,
                        "aux_note": annotations.aux_note, "subtype": annotations.subtype})
    if n_samples and "n_samples" not in g.attrs:
        g.attrs["n_samples"] = n_samples


def write_signal_blocks(g, n_samples: int, n_leads: int, blocks) -> None:
    """Write record group ``g``'s signal from ``(start, signals)`` blocks, for
    recordings too long to hold whole; sets its ``n_samples``."""
    d = g.create_dataset("signal", shape=(n_samples, n_leads), dtype=np.float32)
    for start, x in blocks:
        d[start:start + x.shape[0]] = x
    g.attrs["n_samples"] = n_samples


def write_beats(g, beats: Beats, attrs: dict | None = None) -> None:
    """(Re)write the beats table of record group ``g``."""
    if "beats" in g:
        del g["beats"]
    b = g.create_group("beats")
    _write_columns(b, beats.columns())
    b.attrs["fs"] = beats.fs
    for k, v in (attrs or {}).items():
        set_attr(b, k, v if isinstance(v, (int, float, str)) else json.dumps(v))


@_reads
def read_record(f, name: str, path: str = "") -> Record:
    """The :class:`Record` stored under ``name`` (needs its signal)."""
    g = _group(f, name, path)
    if "signal" not in g:
        raise EcgToolError(f"record {name!r} holds beats only, no signal", path)
    ann = _annotations(g)
    return Record(name=str(attr_text(g.attrs.get("name", name))),
                  signals=np.asarray(g["signal"][...], dtype=np.float64),
                  fs=float(g.attrs["fs"]),
                  leads=[str(s) for s in attr_text(g.attrs["leads"])],
                  channel=int(g.attrs["channel"]),
                  source=str(attr_text(g.attrs.get("source", ""))),
                  sha256=str(attr_text(g.attrs.get("sha256", ""))), annotations=ann,
                  comments=json.loads(attr_text(g.attrs.get("comments", "[]"))),
                  start_clock=str(attr_text(g.attrs.get("start_clock", ""))))


def _annotations(g) -> Annotations | None:
    if "annotations" not in g:
        return None
    c = _read_columns(g["annotations"])
    return Annotations(c["sample"], c["symbol"], c["aux_note"], c.get("subtype"))


@_reads
def read_reference(f, name: str, path: str = "") -> tuple[Annotations | None, float | None,
                                                          int]:
    """The reference annotations, rate (None when unknown: beat times
    alone) and length in samples of a stored record, whether or not it keeps
    its signal."""
    g = _group(f, name, path)
    fs = float(g.attrs["fs"]) if "fs" in g.attrs else None
    return _annotations(g), fs, int(g.attrs.get("n_samples", 0))


@_reads
def read_beats(f, name: str, path: str = "") -> Beats | None:
    """The beats table stored under ``name``; None when it has none."""
    g = _group(f, name, path)
    if "beats" not in g:
        return None
    b = g["beats"]
    return Beats.from_columns(_read_columns(b), float(b.attrs.get("fs", g.attrs["fs"])))


@_reads
def read_beats_attr(f, name: str, key: str, path: str = "") -> str | None:
    """The text attribute ``key`` of the beats table stored under ``name``
    (``detector``, ``qrs_net``...); None when it or the table is absent."""
    g = _group(f, name, path)
    if "beats" not in g or key not in g["beats"].attrs:
        return None
    return str(attr_text(g["beats"].attrs[key]))


def write_beat_times(g, times_s: np.ndarray, labels: np.ndarray | None = None) -> None:
    """Beat times (s) of a record known without sample positions (beat
    annotations, a beats table of ``time_s`` only), with their AAMI classes
    when known, as the ``beat_times`` column group of record group ``g``."""
    cols = {"time_s": np.asarray(times_s, dtype=np.float64)}
    if labels is not None:
        cols["aami"] = np.asarray(labels, dtype="<U1")
    write_table(g, "beat_times", cols)


@_reads
def read_channel(f, name: str, path: str = "") -> int | None:
    """Index of the lead a stored record's beats were found on (its
    ``channel``); None where the store does not say."""
    g = _group(f, name, path)
    return int(g.attrs["channel"]) if "channel" in g.attrs else None


@_reads
def read_duration(f, name: str, path: str = "") -> float | None:
    """The record's length in seconds as stored (analysed duration, or
    samples over rate); None when the store does not say."""
    g = _group(f, name, path)
    if "duration_s" in g.attrs:
        return float(g.attrs["duration_s"])
    if "n_samples" in g.attrs and "fs" in g.attrs:
        return int(g.attrs["n_samples"]) / float(g.attrs["fs"])
    return None


@_reads
def has_labels(f, name: str, path: str = "") -> bool:
    """Whether the beats stored under ``name`` carry classes (a ``classify`` output)."""
    g = _group(f, name, path)
    return "beats" in g and "aami" in g["beats"]


@_reads
def has_signal(f, name: str) -> bool:
    return "signal" in f["records"][group_name(name)]


def _group(f, name: str, path: str):
    key = group_name(name)
    recs = f.get("records")
    if recs is None or key not in recs or not recs[key].attrs.get("complete", False):
        raise EcgToolError(f"no complete record {name!r} in the store", path)
    return recs[key]


@_reads
def read_errors(f) -> list[tuple[str, str, str]]:
    """The ``(record, source, message)`` rows of the store's error table."""
    if "errors" not in f:
        return []
    c = _read_columns(f["errors"])
    return list(zip(c["record"].tolist(), c["source"].tolist(), c["message"].tolist()))


def write_errors(f, errors: list[tuple[str, str, str]]) -> None:
    """Replace the store's error table with ``(record, source, message)`` rows."""
    if "errors" in f:
        del f["errors"]
    if not errors:
        return
    rows = list(zip(*errors))
    _write_columns(f.create_group("errors"),
                   {"record": np.array(rows[0], dtype=object),
                    "source": np.array(rows[1], dtype=object),
                    "message": np.array(rows[2], dtype=object)})


def write_table(g, name: str, cols: dict, attrs: dict | None = None) -> None:
    """(Re)write a column group (e.g. ``episodes``) under record group ``g``."""
    if name in g:
        del g[name]
    t = g.create_group(name)
    _write_columns(t, cols)
    for k, v in (attrs or {}).items():
        set_attr(t, k, v if isinstance(v, (int, float, str)) else json.dumps(v))


@_reads
def read_table(f, record: str, name: str, path: str = "") -> dict | None:
    """A column group of a record as a dict of arrays; None when absent."""
    g = _group(f, record, path)
    return _read_columns(g[name]) if name in g else None


def write_summary(g, summary: dict) -> None:
    """Store a JSON summary (the diagnose report) as an attribute of ``summary``."""
    if "summary" in g:
        del g["summary"]
    set_attr(g.create_group("summary"), "json", json.dumps(summary))
