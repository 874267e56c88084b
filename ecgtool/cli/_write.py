"""Writing the per-record results of a batch: one HDF5 store (incrementally,
resumable) or one CSV (atomically)."""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Optional

from ecgtool.cli import _common as c


def run_and_write(srcs: list, run: Callable[[list], Iterable], out: Optional[str],
                  write_store: Callable, csv_header: Optional[Callable] = None,
                  csv_rows: Optional[Callable] = None, resume: bool = False,
                  quiet: bool = False, job: Optional[dict] = None,
                  write_folder: Optional[Callable] = None) -> tuple[list, list, list]:
    """Run the batch over ``srcs`` and write each outcome as it arrives.

    ``write_store(writer, value, name)`` writes one record into a
    :class:`~ecgtool.io.storewriter.StoreWriter`; ``csv_header(value)`` and
    ``csv_rows(value)`` give CSV text (``csv_rows`` as one string or as an
    iterable of pieces); ``write_folder(folder, value, name)`` writes one
    record's files into a folder given as ``out`` (or one record into the EDF file
    ``out``). With ``resume``, records complete in
    the output store are skipped, if the store was written by the same
    ``job`` (:func:`ecgtool.cli._common.job`). Returns ``(done, failures,
    skipped)``: the records written, those that failed, and those a resumed
    store already held.
    """
    kind = c.output_kind(out)
    done, failures, skipped = [], [], []
    if resume and kind != "store":
        raise c.EcgToolError("--resume needs an .h5 output store")
    if kind == "store":
        from ecgtool.io.storewriter import StoreWriter

        protect = [s.path for s in srcs if s.kind == "store"]
        with StoreWriter(out, resume=resume, protect=protect, job=job) as w:
            todo = [s for s in srcs if s.name not in w.done]
            skipped = [s.name for s in srcs if s.name in w.done]
            if resume and not quiet and skipped:
                n = len(skipped)
                c.say(f"ecgtool: {n} record{'s' if n > 1 else ''} already complete in {out}, "
                      "skipped")
            for o in run(todo):
                c.report_outcome(o)
                if not o.ok:
                    failures.append((o.source.name, o.source.path, o.error))
                    w.fail(o.source.name, o.source.path, o.error)
                    continue
                write_store(w, o.value, o.source.name)
                done.append(o.source.name)
        return done, failures, skipped
    if kind in ("folder", "edf"):
        if write_folder is None:
            raise c.EcgToolError("is a folder: give a file to write", out)
        from pathlib import Path

        for o in run(srcs):
            c.report_outcome(o)
            if not o.ok:
                failures.append((o.source.name, o.source.path, o.error))
                continue
            if kind == "folder":
                Path(out).mkdir(exist_ok=True)  # not before: a run that fails leaves none
            write_folder(out, o.value, o.source.name)
            done.append(o.source.name)
        return done, failures, skipped
    with c.text_output(out) as stream:
        header = False
        for o in run(srcs):
            c.report_outcome(o)
            if not o.ok:
                failures.append((o.source.name, o.source.path, o.error))
                continue
            if not header:
                stream.write(csv_header(o.value))
                header = True
            text = csv_rows(o.value)
            stream.writelines([text] if isinstance(text, str) else text)
            done.append(o.source.name)
        if not done and kind != "stdout":
            raise c.NothingWritten
    return done, failures, skipped


def exit_code(done: list, failures: list, skipped: list) -> int:
    """A command's exit status: 1 when a record failed or none is in the
    output (neither written now nor already complete in a resumed store).

    Examples
    --------
    >>> exit_code([], [], ["119"]), exit_code([], [], [])
    (0, 1)
    >>> exit_code(["119"], [("208", "208.hea", "flat signal")], [])
    1
    """
    return 1 if failures or not (done or skipped) else 0


def beats_header(d) -> str:
    return ",".join(["record"] + list(d.beats.columns())) + "\n"


def beats_rows(d) -> str:
    from ecgtool.io.tables import format_table

    lines = format_table(d.beats.columns(), d.name)
    return "\n".join(lines) + "\n" if lines else ""


def write_detected(with_signal: bool = True, beats_attrs: Optional[dict] = None):
    def write(w, d, name):
        # A record known from a beats table has no signal: its beats and rate
        # only, and the reference a store kept beside them.
        g = w.begin(name, d.record, d.beats, with_signal=with_signal,
                    beats_attrs=d.beats_attrs(beats_attrs),
                    fs=d.beats.fs if d.record is None else None)
        if d.record is None:
            from ecgtool.io.store import write_reference

            write_reference(g, d.reference, d.n_samples)
        w.finish(g)
    return write


def summary(lead: str, done: list, failures: list, out: Optional[str]) -> None:
    """The closing line on stderr: ``ecgtool: <lead>N records -> OUT; K failed``."""
    where = out if c.output_kind(out) != "stdout" else "stdout"
    c.say(f"ecgtool: {lead}{len(done)} record{'s' if len(done) != 1 else ''} -> {where}"
          + (f"; {len(failures)} failed" if failures else ""))


def beat_count(detected) -> int:
    """The beats a job found (what ``noting`` keeps for detect and classify)."""
    return len(detected.beats)


def noting(outcomes: Iterable, noted: list, of: Callable) -> Iterator:
    """Pass outcomes through, appending ``of(value)`` of each successful one
    (its beat count, whether its beats were classified ...)."""
    for o in outcomes:
        if o.ok:
            noted.append(of(o.value))
        yield o


def beat_annotations(d) -> tuple:
    """A detected or classified record's beats as WFDB annotation rows:
    ``(sample, symbol, aux_note or None, fs, subtype or None)``."""
    from ecgtool.pipeline import beats_as_annotations

    a = beats_as_annotations(d.beats)
    return a.sample, a.symbol, None, d.beats.fs, None


def writing_annotations(outcomes: Iterable, folder: Optional[str],
                        rows: Callable = beat_annotations) -> Iterator:
    """Pass outcomes through, writing each record's annotation ``rows`` (see
    :func:`beat_annotations`) to ``folder/<record>.ecgtool`` (a WFDB
    annotation file) when ``folder`` is given."""
    from pathlib import Path

    from ecgtool.io.mitann import write_mit_annotations
    from ecgtool.io.store import group_name

    for o in outcomes:
        if folder is not None and o.ok:
            sample, symbol, aux, fs, subtype = rows(o.value)
            path = Path(folder) / f"{group_name(o.source.name)}.ecgtool"
            try:
                write_mit_annotations(path, sample, symbol, fs, aux, subtype)
            except OSError as exc:
                raise c.EcgToolError(f"cannot write ({exc.strerror})", str(path)) from None
        yield o
