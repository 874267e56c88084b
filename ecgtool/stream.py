"""Streaming detection: samples in from a pipe, beats out as soon as they are final.

The detector runs on overlapping blocks: each block of ``block_s`` seconds is
analysed together with ``context_s`` seconds before it (so the adaptive
thresholds have settled as they would have in one pass over the record) and
``lookahead_s`` seconds after it (so refractory, search-back and
delineation windows are complete, and the beats after each one that judge
whether it is an artefact, :mod:`ecgtool.signal.artefacts`, or whether its
P wave lies where its neighbours' do, :func:`ecgtool.signal.pnet.p_waves_net`,
15 beats either side: 30 s at 30 bpm, are there). Only the beats inside the block are
emitted; memory stays bounded by ``context_s + block_s + lookahead_s``
whatever the length of the stream. On the records in the test suite the
beats are identical to those of a single pass over the whole signal; after
a NaN run longer than the context, a P wave that the network doubts can be
judged otherwise, having fewer beats before it to compare with. The stream's
rate is the one given, or its own (a device's metadata, its time column:
:class:`SampleStream`).
"""

from __future__ import annotations

import sys
from typing import IO, Iterator

import numpy as np

from ecgtool.errors import EcgToolError
from ecgtool.signal.detect import (DEFAULT_SETTINGS, DetectorSettings, detect_beats, net_qrs_ms,
                                   unreadable_samples, validate_fs)
from ecgtool.signal.quality import unreadable_in


class StreamDetector:
    """Feed samples with :meth:`feed`; collect final beats; call :meth:`finish` at the end.

    Examples
    --------
    >>> from ecgtool.io.records import read_sample
    >>> rec = read_sample("119")
    >>> sd = StreamDetector(rec.fs)
    >>> parts = [sd.feed(c) for c in np.array_split(rec.signal[:72000], 7)] + [sd.finish()]
    >>> peaks = np.concatenate([p[0] for p in parts])
    >>> batch = detect_beats(rec.signal[:72000], rec.fs).r_peak
    >>> bool(np.array_equal(peaks, batch))
    True
    """

    def __init__(self, fs: float, settings: DetectorSettings = DEFAULT_SETTINGS,
                 block_s: float = 60.0, context_s: float = 30.0, lookahead_s: float = 30.0):
        self.fs = validate_fs(fs)
        self.settings = settings
        self.block = int(block_s * self.fs)
        self.context = int(context_s * self.fs)
        self.lookahead = int(lookahead_s * self.fs)
        self.buf = np.zeros(0)
        self.second = None          # another lead, sample for sample (feed's `second`)
        self.buf_start = 0          # absolute index of buf[0]
        self.done_until = 0         # beats before this absolute index were emitted
        self.last_emitted = -1      # absolute index of the last emitted R peak
        # (start, signal, all R peaks, emitted, their QRS durations for the
        # classifier or None: see ecgtool.signal.detect.net_qrs_ms, their PR
        # intervals) per run
        self.runs: list = []
        self.samples = 0            # how many samples were fed in all
        self.last_bad_dropped = -1  # absolute index of the last unreadable sample dropped
        self.warnings: list[str] = []  # what the detector said about blocks, once each

    def _run(self, stop: int | None) -> tuple[np.ndarray, dict]:
        lo = max(self.buf_start, self.done_until - self.context)
        # A block needs its look-ahead, not the rest of the buffer: a caller that
        # feeds half an hour at once would otherwise have it analysed thrice.
        hi = self.buf.size if stop is None else stop + self.lookahead - self.buf_start
        data = self.buf[lo - self.buf_start:hi]
        other = None if self.second is None else self.second[lo - self.buf_start:hi]
        if data.size == 0:
            return np.zeros(0, np.int64), {}
        import warnings

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            b = detect_beats(data, self.fs, self.settings, second=other)
        for w in caught:
            if str(w.message) not in self.warnings:
                self.warnings.append(str(w.message))
        cols = b.columns()
        r = b.r_peak + lo
        keep = r >= self.done_until
        if stop is not None:
            keep &= r < stop
        idx = np.flatnonzero(keep)
        out = {k: v[idx] for k, v in cols.items()}
        for k in ("r_peak", "qrs_onset", "qrs_offset", "p_onset", "p_peak", "p_offset",
                  "t_onset", "t_peak", "t_offset"):
            v = out[k]
            out[k] = np.where(v >= 0, v + lo, -1)
        out["time_s"] = out["r_peak"] / self.fs
        # R-R across block edges, from the neighbours on either side; none
        # across unreadable samples (see Beats.gap_before).
        n = idx.size
        prev = np.concatenate([[self.last_emitted], out["r_peak"][:-1]])[:n]
        after = r[idx[-1] + 1] if n and idx[-1] + 1 < r.size else -1
        nxt = np.concatenate([out["r_peak"][1:], [after]])[:n]
        gap_prev, gap_next = self._unreadable_between(
            np.concatenate([prev, out["r_peak"]]), np.concatenate([out["r_peak"], nxt])
        ).reshape(2, n)
        ok = (prev >= 0) & ~gap_prev
        out["rr_prev_ms"] = np.where(ok, (out["r_peak"] - prev) * (1000.0 / self.fs), np.nan)
        ok = (nxt >= 0) & ~gap_next
        out["rr_next_ms"] = np.where(ok, (nxt - out["r_peak"]) * (1000.0 / self.fs), np.nan)
        if n:
            self.last_emitted = int(out["r_peak"][-1])
        # What this run saw and emitted, for callers that label beats in context.
        self.runs.append((lo, data, r, out["r_peak"], net_qrs_ms(b, self.settings), b.pr_ms))
        return out["r_peak"], out

    def _unreadable_between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # Whether unreadable samples lie between absolute indices a < b
        # (either end may lie before the buffer, whose dropped part is
        # remembered by its last unreadable sample); one pass over the buffer.
        a, b = np.asarray(a), np.asarray(b)
        inside = unreadable_in(unreadable_samples(self.buf), a + 1 - self.buf_start,
                               b - 1 - self.buf_start)
        return inside | (self.last_bad_dropped > a)

    def feed(self, samples: np.ndarray, second: np.ndarray | None = None
             ) -> tuple[np.ndarray, dict]:
        """Add samples; return ``(r_peaks, columns)`` of the beats now final.

        ``second``, the same samples of another lead, has the R peaks found
        on both (:func:`ecgtool.signal.leads.fuse_r_peaks`, its 3-s windows
        counted from each run's start); give it with every block or never.
        """
        samples = np.asarray(samples, dtype=np.float64)
        if self.samples and (second is None) != (self.second is None):
            raise ValueError("give the second lead with every block or with none")
        if second is not None:
            second = np.asarray(second, dtype=np.float64)
            if second.shape != samples.shape:
                raise ValueError("the second lead's block differs in length")
            self.second = second if self.second is None else \
                np.concatenate([self.second, second])
        self.samples += samples.size
        self.buf = np.concatenate([self.buf, samples])
        peaks, tables = [], []
        end = self.buf_start + self.buf.size
        while end - self.done_until >= self.block + self.lookahead:
            stop = self.done_until + self.block
            p, cols = self._run(stop)
            peaks.append(p)
            tables.append(cols)
            self.done_until = stop
            keep_from = max(self.buf_start, self.done_until - self.context)
            bad = np.flatnonzero(unreadable_samples(self.buf[:keep_from - self.buf_start]))
            if bad.size:
                self.last_bad_dropped = self.buf_start + int(bad[-1])
            self.buf = self.buf[keep_from - self.buf_start:]
            if self.second is not None:
                self.second = self.second[keep_from - self.buf_start:]
            self.buf_start = keep_from
        return _join(peaks, tables)

    def finish(self) -> tuple[np.ndarray, dict]:
        """The beats of what is left at the end of the stream."""
        p, cols = self._run(None)
        self.done_until = self.buf_start + self.buf.size
        return _join([p], [cols])


def _join(peaks, tables):
    tables = [t for t in tables if t]
    if not tables:
        return np.zeros(0, np.int64), {}
    return (np.concatenate(peaks),
            {k: np.concatenate([t[k] for t in tables]) for k in tables[0]})


def sample_chunks(stream: IO[str], fs: float | None, column: str | int | None = None,
                  units: str | None = None, chunk: int = 65536) -> Iterator[np.ndarray]:
    """Samples (mV) from a text stream (one per line, or CSV rows), ``chunk`` at a time.

    Read as :func:`ecgtool.io.csvfiles.read_csv` reads a file: the same
    head (delimiter, names, units row, decimal commas), the same choice of
    column and units, and the same rows, so that a file and its content
    piped in give one signal (see :class:`SampleStream`, which also finds
    the rate where ``fs`` is None).

    Examples
    --------
    >>> import io
    >>> text = "time,ECG (uV)\\n" + "".join(f"{i / 250},{i % 7}\\n" for i in range(600))
    >>> chunks = list(sample_chunks(io.StringIO(text), 250.0, chunk=256))
    >>> [c.size for c in chunks], float(chunks[0][3])
    ([256, 256, 88], 0.003)
    """
    yield from SampleStream(stream, fs, column, units, chunk)


class SampleStream:
    """The samples (mV) of a text stream, ``chunk`` rows at a time, and its rate.

    The rate is ``fs`` where given, else the one the stream's metadata gives
    (a device export's), else the one its time column gives over its first
    ``chunk`` rows; it is known once the object is made (attribute ``fs``;
    None for an empty stream). Where it comes from the time column, each
    sample is placed by its time, as a file's are: samples the stream lost
    are NaN (``lost`` counts them), a time that goes back is an error.

    Examples
    --------
    >>> import io
    >>> rows = [f"{i / 250:.4f},{i % 7}" for i in range(600) if not 300 <= i < 310]
    >>> s = SampleStream(io.StringIO("time,II\\n" + "\\n".join(rows)), None, chunk=256)
    >>> x = np.concatenate(list(s))
    >>> s.fs, x.size, int(np.isnan(x).sum()), s.lost
    (250.0, 600, 10, 10)
    """

    def __init__(self, stream: IO[str], fs: float | None = None,
                 column: str | int | None = None, units: str | None = None,
                 chunk: int = 65536) -> None:
        from ecgtool.io.csvfiles import (BINARY, HEAD_LINES, RATE_UNKNOWN, looks_binary,
                                         rate_from_time_column, read_head)

        self.fs, self.lost, self.chunk, self._first = fs, 0, chunk, None
        self._lines = _data_lines(stream)
        rows = [line for _, line in zip(range(HEAD_LINES), self._lines)]
        if not rows:
            return
        if looks_binary("".join(rows)):
            raise EcgToolError(BINARY, "stdin")
        self.head = head = read_head(rows, "stdin")
        pending, first_row = rows[head.skipped:], head.skipped + 1
        # The first block holds a second at least: the column is chosen on it.
        size = max(chunk, int(np.ceil(fs))) if fs else chunk
        pending.extend(line for _, line in zip(range(size - len(pending)), self._lines))
        if not pending:  # names alone
            return
        data = self._rows(pending, first_row)
        self._timed = fs is None and head.fs is None
        if self._timed:
            if head.time_col is None or data.shape[0] < 2:
                raise EcgToolError(RATE_UNKNOWN, "stdin")
            fs = rate_from_time_column(head, data, "stdin", first_row)[0]
        self.fs = float(fs or head.fs)
        self.col, self.scale = head.signal(data, self.fs, column, units, "stdin")
        self._first = (data, first_row, len(pending))
        self._last, self._read = None, 0

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._first is None:
            return
        data, first_row, n = self._first
        self._first = None
        while True:
            x = data[:, self.col] * self.scale
            yield self._placed(data, x, first_row) if self._timed else x
            first_row += n
            pending = [line for _, line in zip(range(self.chunk), self._lines)]
            if not pending:
                return
            data, n = self._rows(pending, first_row), len(pending)

    def _rows(self, pending: list[str], first_row: int) -> np.ndarray:
        from ecgtool.io.csvfiles import BINARY, looks_binary, read_rows

        text = "\n".join(pending)
        if looks_binary(text[:4096]):
            raise EcgToolError(BINARY, "stdin")
        return read_rows(text, self.head, "stdin", first_row)

    def _placed(self, data: np.ndarray, x: np.ndarray, first_row: int) -> np.ndarray:
        # The block's samples, NaN for those lost where the time steps by a
        # sample and a half or more. Each step is measured from the sample
        # before, not from the stream's first time, so that a rate read off
        # the first block, a little off, does not drift over a day.
        from ecgtool.io.csvfiles import sample_seconds
        from ecgtool.io.records import over_midnight

        t = sample_seconds(self.head, data)
        if self.head.times_of_day and self._last is not None:
            t = over_midnight(np.r_[self._last, t])[1:]  # a block past midnight
        prev = t[0] - 1.0 / self.fs if self._last is None else self._last
        self._last = t[-1]
        steps = np.diff(np.r_[prev, t])
        if np.any(~(steps > 0)):
            line = first_row + int(np.argmax(~(steps > 0)))
            raise EcgToolError(f"time column does not increase at line {line}", "stdin")
        lost = np.where(steps * self.fs >= 1.5, np.rint(steps * self.fs) - 1, 0).astype(np.int64)
        self._read += x.size
        if not lost.any():
            return x
        self.lost += int(lost.sum())
        if self.lost > self._read + self.chunk:
            raise EcgToolError("time column misses more time than it holds (at line "
                               f"{first_row + int(np.argmax(lost))}): give one recording",
                               "stdin")
        out = np.full(x.size + int(lost.sum()), np.nan)
        out[np.arange(x.size) + np.cumsum(lost)] = x
        return out


def _data_lines(lines):
    # Lines that are neither blank nor comments, a byte-order mark off.
    for i, line in enumerate(lines):
        line = line.strip()
        if i == 0:
            line = line.removeprefix("\ufeff")
        if line and not line.startswith("#"):
            yield line


def stream_detect(opts, quiet: bool = False, stream: IO[str] | None = None,
                  out: IO[str] | None = None, name: str = "stdin",
                  settings: DetectorSettings = DEFAULT_SETTINGS) -> int:
    """``ecgtool detect -``: read samples from stdin, write beats CSV as they
    are final; returns the exit code. The rate is ``opts.fs``, else the
    stream's own (:class:`SampleStream`).

    Examples
    --------
    >>> import io
    >>> from ecgtool.io.inputs import ReadOptions
    >>> from ecgtool.io.records import read_sample
    >>> x = read_sample("119").signal[:3600]
    >>> out = io.StringIO()
    >>> stream_detect(ReadOptions(fs=360.0), True, io.StringIO("\\n".join(map(str, x))), out)
    0
    >>> rows = out.getvalue().splitlines()
    >>> len(rows) - 1 == len(detect_beats(x, 360.0)), rows[1].split(",")[:3]
    (True, ['stdin', '309', '0.8583'])
    """
    from ecgtool.beats.table import BEAT_COLUMNS
    from ecgtool.io.tables import format_table

    stream = stream or sys.stdin
    out = out or sys.stdout
    samples = SampleStream(stream, opts.fs, opts.column, opts.units)
    if samples.fs is None:
        raise EcgToolError("no samples on standard input", name)
    det = StreamDetector(samples.fs, settings)
    n = 0

    def emit(cols):
        nonlocal n
        if cols:
            lines = format_table({k: cols[k] for k in BEAT_COLUMNS}, name)
            if lines:
                out.write("\n".join(lines) + "\n")
                out.flush()
                n += len(lines)

    for chunk in samples:
        if not det.samples:
            # The header waits for the first samples: an empty stream is an
            # error, as an empty file is, and leaves nothing on stdout.
            out.write(",".join(("record",) + BEAT_COLUMNS) + "\n")
        emit(det.feed(chunk)[1])
    if not det.samples:
        raise EcgToolError("no samples on standard input", name)
    emit(det.finish()[1])
    if samples.lost and not quiet:
        from ecgtool.io.csvfiles import lost_samples_text

        print(f"ecgtool: warning: {name}: {lost_samples_text(samples.lost, samples.fs)}",
              file=sys.stderr)
    if not quiet:
        if not n:
            # A block's warning (a flat stretch) matters when it is the whole
            # stream's story, as it would be in the batch result.
            for msg in det.warnings:
                print(f"ecgtool: warning: {name}: {msg}", file=sys.stderr)
        print(f"ecgtool: detected {n} beats in 1 record -> stdout (streamed)", file=sys.stderr)
    return 0
