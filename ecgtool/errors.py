"""The one error type that every command turns into a one-line message."""

from __future__ import annotations

import os


class EcgToolError(Exception):
    """A problem with the user's input or output, not a bug.

    The command-line interface prints ``str(error)`` on one line and exits
    with status 1; library callers can catch it like any exception.

    Parameters
    ----------
    problem : str
        What is wrong, in words a user can act on.
    path : str or os.PathLike, optional
        The file the problem is about; it leads the message.

    Examples
    --------
    >>> str(EcgToolError("sampling rate 0 Hz is not supported", "rec.hea"))
    'rec.hea: sampling rate 0 Hz is not supported'
    """

    def __init__(self, problem: str, path: str | os.PathLike | None = None):
        self.problem = problem
        self.path = None if path is None else os.fspath(path)
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class EcgToolWarning(UserWarning):
    """Something was odd but a result was still produced (e.g. a flat signal)."""
