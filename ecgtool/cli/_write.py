"""Writing per-record results of a batch: one HDF5 store or one CSV, atomically."""

from __future__ import annotations

from typing import Callable, Iterable, Optional

from ecgtool.cli import _common as c


def write_beats(outcomes: Iterable, out: Optional[str], with_signal: bool = True,
                beats_attrs: Optional[dict] = None,
                extra: Optional[Callable] = None) -> tuple[list[str], list[tuple], int]:
    """Write each successful outcome's record and beats; report failures.

    Returns ``(done, failures, n_beats)``. ``extra(group, value)`` may add
    more to each record's HDF5 group (episodes, summaries).
    """
    kind = c.output_kind(out)
    failures, done, n_beats = [], [], 0

    def ok_values():
        nonlocal n_beats
        for o in outcomes:
            c.report_outcome(o)
            if not o.ok:
                failures.append((o.source.name, o.source.path, o.error))
                continue
            n_beats += len(o.value.beats)
            done.append(o.source.name)
            yield o

    if kind == "store":
        from ecgtool.io import store

        with store.atomic_path(out) as tmp:
            f = store.open_store(tmp, "w")
            try:
                for i, o in enumerate(ok_values()):
                    store.write_record(f, o.value.record, o.source.name, o.value.beats,
                                       with_signal=with_signal, beats_attrs=beats_attrs,
                                       order=i)
                    if extra:
                        extra(f["records"][store.group_name(o.source.name)], o.value)
                store.write_errors(f, failures)
            finally:
                f.close()
            if not done:
                raise c.NothingWritten
    else:
        from ecgtool.io.tables import write_beats_csv

        with c.text_output(out) as stream:
            write_beats_csv(stream, ((o.value.record.name, o.value.beats) for o in ok_values()))
            if not done and kind != "stdout":
                raise c.NothingWritten
    return done, failures, n_beats


def summary(verb: str, done: list, failures: list, n_beats: int, out: Optional[str]) -> None:
    where = out if c.output_kind(out) != "stdout" else "stdout"
    c.say(f"ecgtool: {verb} {n_beats} beats in {len(done)} record"
          f"{'s' if len(done) != 1 else ''} -> {where}"
          + (f"; {len(failures)} failed" if failures else ""))
