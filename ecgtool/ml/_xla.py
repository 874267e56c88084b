"""JAX for ecgtool: import ``jax`` from here, started with ``ECGTOOL_XLA_THREADS`` threads.

Every module of :mod:`ecgtool.ml` that runs the network imports this one
before JAX or Flax, so the thread setting of worker processes (see
:func:`ecgtool.batch.one_core_for_xla`) holds wherever JAX first starts,
and labelling from the beats table, which needs no network, never imports
JAX.
"""

import os
import sys


def start_jax(threads: int) -> bool:
    """Start JAX's CPU runtime with ``threads`` compute threads.

    XLA sizes its thread pool by the CPUs the process may run on when the
    runtime starts, and no flag of the current jaxlib changes that (its
    maintainers point to the CPU affinity; jax-ml/jax#1539). So the calling
    thread is held to ``threads`` CPUs while JAX starts, then every thread
    of the process, XLA's included, gets all the CPUs back: the pool keeps
    its size and the OS places its threads.

    Returns False, changing nothing, where JAX was imported already, where
    ``threads`` is no fewer than the CPUs the process may use, or where the
    OS has no CPU affinity (macOS, Windows).

    Examples
    --------
    >>> import jax  # started already: nothing to change
    >>> start_jax(1)
    False
    """
    if "jax" in sys.modules or not hasattr(os, "sched_getaffinity"):
        return False
    mask = os.sched_getaffinity(0)
    if threads >= len(mask):
        return False
    import jax  # importing does not start the runtime; jax.devices() does

    before = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            before[int(tid)] = os.sched_getaffinity(int(tid))
        except OSError:  # a thread that ended meanwhile
            pass
    cpus = sorted(mask)
    # Workers starting together should not all wait for the same CPU.
    first = os.getpid() % len(cpus)
    os.sched_setaffinity(0, (cpus + cpus)[first:first + max(1, threads)])
    try:
        jax.devices()
    finally:
        # Threads that were there keep their own CPUs; JAX's new ones get the
        # caller's.
        for tid in os.listdir("/proc/self/task"):
            try:
                os.sched_setaffinity(int(tid), before.get(int(tid), mask))
            except OSError:
                pass
    return True


if os.environ.get("ECGTOOL_XLA_THREADS", "").isdecimal():
    start_jax(int(os.environ["ECGTOOL_XLA_THREADS"]))

import jax  # noqa: E402  (after start_jax, which must precede JAX's first import)
