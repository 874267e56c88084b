"""MIT-BIH beat symbols, the AAMI EC57 classes they belong to, and how
ectopic beats of a class come (alone, in pairs, in runs)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtool.beats.table import AAMI_CLASSES
from ecgtool.rr import true_runs

#: MIT-BIH symbol -> AAMI class (ANSI/AAMI EC57; de Chazal et al. 2004).
SYMBOL_TO_AAMI = {
    "N": "N", "L": "N", "R": "N", "e": "N", "j": "N",
    "A": "S", "a": "S", "J": "S", "S": "S",
    "V": "V", "E": "V",
    "F": "F",
    "/": "Q", "f": "Q", "Q": "Q",
}

#: MIT-BIH beat symbols a classifier can name, grouped by AAMI class.
SYMBOLS = tuple(SYMBOL_TO_AAMI)


def symbol_index(symbols: np.ndarray) -> np.ndarray:
    """Position in :data:`SYMBOLS`, -1 for other symbols.

    Examples
    --------
    >>> symbol_index(np.array(["N", "L", "V", "+"])).tolist()
    [0, 1, 9, -1]
    """
    lut = {s: i for i, s in enumerate(SYMBOLS)}
    return np.array([lut.get(str(s), -1) for s in np.asarray(symbols).ravel()], dtype=np.int32)


def aami_labels(symbols: np.ndarray) -> np.ndarray:
    """AAMI class per MIT-BIH symbol; ``""`` for symbols outside the mapping.

    Examples
    --------
    >>> aami_labels(np.array(["N", "V", "A", "+", "/"])).tolist()
    ['N', 'V', 'S', '', 'Q']
    """
    lut = np.vectorize(lambda s: SYMBOL_TO_AAMI.get(s, ""), otypes=["<U1"])
    symbols = np.asarray(symbols, dtype=str)
    return lut(symbols) if symbols.size else np.zeros(0, dtype="<U1")


def class_index(aami: np.ndarray) -> np.ndarray:
    """Integer class (position in :data:`AAMI_CLASSES`), -1 for no class.

    Examples
    --------
    >>> class_index(np.array(["N", "S", "V", "F", "Q", ""])).tolist()
    [0, 1, 2, 3, 4, -1]
    """
    out = np.full(len(aami), -1, dtype=np.int32)
    for i, c in enumerate(AAMI_CLASSES):
        out[np.asarray(aami) == c] = i
    return out


#: The MIT-BIH symbol that stands for an AAMI class when no finer one is named.
CLASS_SYMBOL = {"N": "N", "S": "A", "V": "V", "F": "F", "Q": "Q"}


def beat_symbols(aami: np.ndarray | None, symbol: np.ndarray | None, n: int) -> np.ndarray:
    """An MIT-BIH symbol for each of ``n`` beats, as WFDB annotation files
    carry them: the named symbol, else its class's (:data:`CLASS_SYMBOL`),
    else ``N`` for beats that were only detected (as PhysioNet's ``sqrs``
    marks them).

    Examples
    --------
    >>> beat_symbols(np.array(["N", "S", "V"]), np.array(["L", "", ""]), 3).tolist()
    ['L', 'A', 'V']
    >>> beat_symbols(None, None, 2).tolist()
    ['N', 'N']
    """
    if aami is None:
        return np.full(n, "N")
    out = np.array([CLASS_SYMBOL.get(str(c), "Q") for c in aami], dtype="<U1")
    if symbol is not None:
        named = np.asarray(symbol, dtype="<U1") != ""
        out[named] = np.asarray(symbol, dtype="<U1")[named]
    return out


@dataclass(frozen=True)
class EctopyGroups:
    """The beats of one class grouped as a Holter report counts them:
    ``singles`` (alone), ``couplets`` (two in a row), ``runs`` (three or
    more in a row, at any rate) and the beats of the ``longest_run`` (0
    without a run)."""

    singles: int
    couplets: int
    runs: int
    longest_run: int


def ectopy_groups(labels: np.ndarray, cls: str) -> EctopyGroups:
    """Group the consecutive beats that ``labels`` calls ``cls``; any other
    label (another class, or ``""`` for a beat left out) ends a group.

    Examples
    --------
    >>> lab = np.array(list("NVNVVNVVVVNSV"))
    >>> ectopy_groups(lab, "V")
    EctopyGroups(singles=2, couplets=1, runs=1, longest_run=4)
    """
    _, sizes = group_starts(labels, cls)
    return EctopyGroups(singles=int(np.sum(sizes == 1)), couplets=int(np.sum(sizes == 2)),
                        runs=int(np.sum(sizes >= 3)),
                        longest_run=int(sizes.max()) if np.any(sizes >= 3) else 0)


def group_starts(labels: np.ndarray, cls: str) -> tuple[np.ndarray, np.ndarray]:
    """The first beat and the size of each group of consecutive ``cls`` beats.

    Examples
    --------
    >>> starts, sizes = group_starts(np.array(list("NVVNV")), "V")
    >>> starts.tolist(), sizes.tolist()
    ([1, 4], [2, 1])
    """
    runs = true_runs(np.asarray(labels) == cls)
    return (np.array([a for a, _ in runs], dtype=np.int64),
            np.array([b - a for a, b in runs], dtype=np.int64))
