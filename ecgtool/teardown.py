"""Leaving a process without the interpreter's teardown.

A process that has classified beats has loaded JAX, Flax, h5py and wfdb, over
a thousand modules; tearing them down took Python 0.5 s after the work was
done (0.2 s for ``detect``), time that a shell pipeline pays once per stage
and a worker pool once per worker. The ``ecgtool`` program and the pool's
worker processes therefore leave through :func:`exit_now` once everything
they write is closed. Library calls never do.
"""

from __future__ import annotations

import logging
import os
import sys


def exit_now(status: int) -> None:
    """Flush stdout and stderr, then end the process with ``status`` at once.

    Only for a process whose outputs are all closed: the atexit handlers of
    the libraries loaded (JAX's, h5py's, logging's) hold nothing to write
    there, and they are skipped with the rest of the teardown. If stdout
    cannot take the last of its output (a full disk, not a reader that went
    away), the status becomes 1.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            pass  # the reader went away (`| head`): not an error
        except (OSError, ValueError) as exc:
            if stream is sys.stdout:
                try:
                    print(f"ecgtool: error: cannot write the output ({exc})", file=sys.stderr)
                    sys.stderr.flush()
                except (OSError, ValueError):
                    pass
                status = status or 1
        except AttributeError:  # stream replaced by None
            pass
    os._exit(status)
