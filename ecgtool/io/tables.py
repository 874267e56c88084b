"""Text output: the beats CSV (one header, a ``record`` column first), JSON-ready values."""

from __future__ import annotations

from typing import IO, Iterable

import numpy as np

from ecgtool.beats.table import Beats

_FLOAT_FORMATS = {"time_s": "{:.4f}", "r_amp_mv": "{:.4f}"}


def _cells(name: str, values: np.ndarray, float_format: str | None = None) -> list[str]:
    if values.dtype.kind in "iu":
        return [str(v) for v in values.tolist()]
    if values.dtype.kind == "b":
        return ["true" if v else "false" for v in values.tolist()]
    if values.dtype.kind == "f":
        fmt = float_format or _FLOAT_FORMATS.get(
            name, "{:.4f}" if name.startswith("p_") else "{:.1f}")
        return ["" if v != v else fmt.format(v) for v in values.tolist()]
    return [str(v) for v in values.tolist()]


def quoted(text: str) -> str:
    """``text`` as one CSV field: in double quotes (doubled inside) where it
    holds a comma, a quote or a line break, as csv readers expect.

    Examples
    --------
    >>> quoted("119"), quoted("visit 1, day 2"), len(quoted('say "hi"'))
    ('119', '"visit 1, day 2"', 12)
    """
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def format_table(columns: dict[str, np.ndarray], record: str | None = None,
                 float_format: str | None = None) -> list[str]:
    """CSV lines (no header) for a table of equal-length columns.

    Examples
    --------
    >>> format_table({"r_peak": np.array([5]), "qrs_ms": np.array([np.nan])}, "r1")
    ['r1,5,']
    >>> format_table({"r_peak": np.array([5])}, "visit 1, day 2")
    ['"visit 1, day 2",5']
    """
    cols = [_cells(k, np.asarray(v), float_format) for k, v in columns.items()]
    if record is not None:
        n = len(cols[0]) if cols else 0
        cols.insert(0, [quoted(record)] * n)
    return [",".join(row) for row in zip(*cols)]


def write_beats_csv(stream: IO[str], tables: Iterable[tuple[str, Beats]],
                    header: bool = True) -> int:
    """Write beats tables as CSV with a leading ``record`` column; return rows written.

    The header goes out with the first table, so no tables means no output.
    Every table must have the same columns (all classified or none).
    """
    rows = 0
    names: list[str] | None = None
    for record, beats in tables:
        cols = beats.columns()
        if names is None:
            names = list(cols)
            if header:
                stream.write(",".join(["record"] + names) + "\n")
        elif list(cols) != names:
            raise ValueError("beats tables with different columns in one CSV")
        lines = format_table(cols, record)
        if lines:
            stream.write("\n".join(lines) + "\n")
        rows += len(lines)
    return rows


def csv_line(values: Iterable) -> str:
    """One CSV line: text quoted where it holds a comma or a quote, numbers
    to 3 decimals, None and NaN empty, booleans ``true``/``false`` (as in
    the beats CSV).

    Examples
    --------
    >>> print(csv_line(["r1", 66.0625, None, True, "PVC 22.4% (445 beats, 887/h)"]), end="")
    r1,66.062,,true,"PVC 22.4% (445 beats, 887/h)"
    """
    def cell(v) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return ""
        if isinstance(v, (bool, np.bool_)):
            return "true" if v else "false"
        if isinstance(v, (float, np.floating)):
            return f"{v:.3f}"
        return quoted(str(v))

    return ",".join(cell(v) for v in values) + "\n"


def json_ready(value):
    """``value`` with every non-finite number as ``None`` and numpy scalars as
    Python ones: json.dumps writes NaN and Infinity, which strict JSON readers
    (JavaScript's JSON.parse, most JSON libraries outside Python) refuse.

    Examples
    --------
    >>> json_ready({"a": [1.5, float("nan")], "b": np.int64(2)})
    {'a': [1.5, None], 'b': 2}
    """
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
