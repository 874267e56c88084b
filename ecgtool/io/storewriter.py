"""The single writer of an output store (see :mod:`ecgtool.io.store` for the layout).

Every command that writes a store writes it through :class:`StoreWriter`, in
the one process that collects the workers' results: records land one at a
time, complete or not at all, so a killed run leaves a store that opens, and
``--resume`` continues it.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from ecgtool.beats.table import Beats
from ecgtool.errors import EcgToolError
from ecgtool.io.records import Record
from ecgtool.io.store import (atomic_path, attr_text, check_not_in_use, group_name, open_store,
                              read_errors, record_names, set_attr, write_errors, write_record)


class _Discard(Exception):
    pass


class StoreWriter:
    """The single writer of an output store, one complete record at a time.

    Records are written straight into the store and flushed one by one, so
    a run that is killed leaves a store that opens and holds every record
    finished before the kill (a record being written has ``complete`` false
    and is ignored). With ``resume``, an existing store is kept and the
    names of its complete records are in :attr:`done`, to be skipped. When
    the output is also one of the inputs (``protect``), it is written under
    a temporary name and renamed at the end instead. A new store replaces an
    old file of its name when its first record is written: a run that writes
    no record leaves the old file as it was, and no new one.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with StoreWriter(os.path.join(d, "s.h5")) as w:
    ...     g = w.begin("r1", None, fs=250.0)
    ...     w.finish(g)
    >>> with StoreWriter(os.path.join(d, "s.h5"), resume=True) as w:
    ...     sorted(w.done)
    ['r1']
    """

    def __init__(self, path: str | os.PathLike, resume: bool = False, protect=(),
                 job: dict | None = None):
        self.path = Path(path)
        self.resume = resume
        # The command and options that make the records (JSON-ready): a store
        # is resumed only by the same ones, so that it never mixes two kinds.
        self.job = None if job is None else json.loads(json.dumps(job, sort_keys=True))
        self.done: set[str] = set()
        self.errors: list[tuple[str, str, str]] = []
        self.written = 0
        self._tmp: Path | None = None
        self._created = False
        same = False
        for p in protect:
            try:
                same |= self.path.exists() and Path(p).exists() and os.path.samefile(p, self.path)
            except OSError:
                pass
        self._atomic = same and not resume

    def __enter__(self) -> "StoreWriter":
        directory = self.path.parent if str(self.path.parent) else Path(".")
        if not directory.is_dir():
            raise EcgToolError("cannot write: folder does not exist", str(self.path))
        if self._atomic:
            self._ctx = atomic_path(self.path)
            self._tmp = self._ctx.__enter__()
            self.f = open_store(self._tmp, "w")
        elif self.resume and self.path.exists():
            open_store(self.path, "r").close()  # checks the format
            self.f = open_store(self.path, "a")
            try:
                self._check_job()
            except BaseException:
                self.f.close()
                raise
            self.done = set(record_names(self.f))
            self.errors = [e for e in read_errors(self.f) if e[0] not in self.done]
        else:
            # A new store replaces an old one only when its first record is
            # written: a run in which every input fails leaves the old file.
            self._created = True
            if self.path.is_dir() or not os.access(directory, os.W_OK) or (
                    self.path.exists() and not os.access(self.path, os.W_OK)):
                raise EcgToolError("cannot write (permission denied or a folder)",
                                   str(self.path))
            check_not_in_use(self.path)  # before any work, not at the first record
            self.f = None
        if self.f is not None:
            self._stamp_job()
        self._order = len(self.done)
        return self

    def _stamp_job(self) -> None:
        if self.job is not None and "job" not in self.f.attrs:
            set_attr(self.f, "job", json.dumps(self.job, sort_keys=True))

    def _file(self):
        # The open store, created (replacing any old file) at the first write.
        if self.f is None:
            try:
                self.f = open_store(self.path, "w")
            except EcgToolError:
                raise
            except OSError as exc:
                raise EcgToolError(f"cannot write ({exc})", str(self.path)) from None
            self._stamp_job()
        return self.f

    def _check_job(self) -> None:
        # A store written before jobs were recorded is resumed as it is.
        stored = self.f.attrs.get("job")
        if self.job is None or stored is None:
            return
        try:
            before = json.loads(attr_text(stored))
        except (ValueError, TypeError):
            before = None
        if not isinstance(before, dict):
            raise EcgToolError("damaged store (unreadable job attribute)", str(self.path))
        if before == self.job:
            return
        if before.get("command") != self.job.get("command"):
            what = f"by ecgtool {before.get('command')}"
        else:
            keys = sorted(k for k in set(before) | set(self.job)
                          if before.get(k) != self.job.get(k))
            what = "with other options (" + ", ".join(keys) + ")"
        raise EcgToolError(f"--resume: the store was written {what}; it continues only "
                           "the same command with the same options (write to another "
                           "file, or leave out --resume to start again)", str(self.path))

    def begin(self, name: str, record: Record | None, beats: Beats | None = None,
              **kw):
        """Start a record's group (not yet complete); returns it for extras."""
        self.errors = [e for e in self.errors if e[0] != name]
        write_record(self._file(), record, name, beats, order=self._order, complete=False, **kw)
        self._order += 1
        return self.f["records"][group_name(name)]

    def finish(self, group) -> None:
        """Mark a record complete and make it durable."""
        group.attrs["complete"] = True
        self.f.flush()
        self.written += 1

    def fail(self, name: str, source: str, message: str) -> None:
        self.errors.append((name, source, message))

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.f is None:  # nothing written: any old file stays as it was
            return
        try:
            write_errors(self.f, self.errors)
        finally:
            self.f.close()
        if self._atomic:
            if exc_type is None and self.written:
                self._ctx.__exit__(None, None, None)
            else:
                # Throwing into atomic_path removes the temporary file.
                with contextlib.suppress(_Discard):
                    self._ctx.__exit__(_Discard, _Discard(), None)
        elif self._created and not self.written and not self.done:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
