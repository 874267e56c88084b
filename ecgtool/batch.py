"""Running one function over many records, in worker processes, failures kept apart.

Workers only compute; the caller receives results in input order and is the
single writer of any output file.
"""

from __future__ import annotations

import multiprocessing.context
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ecgtool.errors import EcgToolError, EcgToolWarning
from ecgtool.io.inputs import Source


@dataclass
class Outcome:
    """What one record gave: a value, or the reason it failed, plus warnings."""

    source: Source
    value: Any = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


_ALLOCATOR_TUNED = False


def keep_freed_memory() -> None:
    """Let glibc keep freed record-sized buffers instead of returning them to the OS.

    Each record allocates and frees signal-length arrays (megabytes); with
    glibc's defaults, or with the ``MALLOC_TRIM_THRESHOLD_=65536`` that Dask
    workers are started with, each of those goes back to the OS and comes
    back as fresh zeroed pages for the next array, which made a Dask worker
    1.7x slower per record. Buffers up to 32 MB stay in the heap and up to
    256 MB of free heap is kept. Once per process; a no-op off glibc.
    """
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED:
        return
    _ALLOCATOR_TUNED = True
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 1024 * 1024)   # M_MMAP_THRESHOLD
        libc.mallopt(-1, 256 * 1024 * 1024)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass  # not glibc (musl, ...): its defaults stand


def one_core_for_xla() -> None:
    """Keep XLA to one thread in this process (call before JAX is imported).

    Each worker of a pool has a core of its own; XLA's default, a thread per
    core in every worker, makes the workers compete for the same cores (the
    classifier's step ran 2.2x slower with 2 workers than alone). The
    setting takes effect when the network is first used (see
    :func:`ecgtool.ml._xla.start_jax`), so work that never runs it (detection,
    labelling from a beats table) never imports JAX. A user's own
    ``ECGTOOL_XLA_THREADS`` or ``XLA_FLAGS`` stand.
    """
    import os

    if "jax" in sys.modules:
        return
    os.environ.setdefault("ECGTOOL_XLA_THREADS", "1")
    # What older jaxlib releases obey.
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1").strip()


def worker_context(spawn: bool = False):
    """The multiprocessing context of a worker pool: the platform's default
    start (fork on Linux), or ``spawn`` with workers that skip the
    interpreter's teardown once the pool sends them home.

    A worker that has imported JAX, Flax and wfdb spent half a second
    tearing them down at exit, and the pool waits for every worker before
    the command can finish. Workers hold no open files of their own (results
    go back through the pool's queue and the caller writes them), so once
    the pool's loop has returned they leave through
    :func:`ecgtool.teardown.exit_now`. A worker that fails still exits the
    normal way, with its error status.
    """
    # Forked children already leave through os._exit (multiprocessing's
    # fork start); only a fresh interpreter tears itself down.
    return _SpawnContext() if spawn else multiprocessing.get_context()


class _SpawnProcess(multiprocessing.context.SpawnProcess):
    def run(self) -> None:
        super().run()  # an exception here exits the normal way, with status 1
        from ecgtool.teardown import exit_now

        exit_now(0)


class _SpawnContext(multiprocessing.context.SpawnContext):
    Process = _SpawnProcess


def _worker_call(fn: Callable[[Source], Any], src: Source) -> Outcome:
    one_core_for_xla()
    return _call(fn, src)


def _call(fn: Callable[[Source], Any], src: Source) -> Outcome:
    keep_freed_memory()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = fn(src)
        except EcgToolError as exc:
            where = exc.path or src.path
            return Outcome(src, error=f"{where}: {exc.problem}",
                           warnings=_ours(caught))
        except MemoryError:
            return Outcome(src, error=f"{src.path}: out of memory")
        except Exception as exc:  # a bug, but one record must not stop the batch
            return Outcome(src, error=f"{src.path}: internal error: "
                           f"{type(exc).__name__}: {exc}")
    return Outcome(src, value=value, warnings=_ours(caught))


def _ours(caught: list[warnings.WarningMessage]) -> list[str]:
    # Only ecgtool's own warnings concern the user; deprecation notices from
    # the libraries underneath (wfdb under a newer pandas) are not about the data.
    msgs: list[str] = []
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, EcgToolWarning) and text not in msgs:
            msgs.append(text)
    return msgs


def run(fn: Callable[[Source], Any], sources: list[Source], jobs: int = 1,
        progress: bool = True, label: str = "records", spawn: bool = False,
        scheduler: str | None = None) -> Iterator[Outcome]:
    """Yield one :class:`Outcome` per source, in input order.

    Parameters
    ----------
    fn : callable
        Picklable function of a :class:`Source` (module-level or a partial).
    sources : list of Source
        What to process.
    jobs : int
        Worker processes (1: in this process).
    progress : bool
        Show a progress bar on stderr (only when it is a terminal and there
        is more than one source).
    label : str
        Shown beside the bar.
    spawn : bool
        Start workers fresh instead of forking (needed once JAX, which is
        multithreaded, has been imported).
    scheduler : str, optional
        Run on a Dask cluster instead: ``tcp://host:port`` of a running
        scheduler, or ``local`` for an embedded local cluster of ``jobs``
        worker processes. Results still come back here, in order.
    """
    with progress_bar(len(sources), label, progress and len(sources) > 1) as tick:
        for done, out in enumerate(_outcomes(fn, sources, jobs, spawn, scheduler), 1):
            if tick:
                tick(done)
            yield out


@contextmanager
def progress_bar(total: int, label: str, enabled: bool = True):
    """A progress bar on stderr while it is a terminal; yields ``tick(done, text=None)``
    (``text`` replaces the label), or None where no bar is shown (not a terminal, or not
    ``enabled``)."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(),
                   MofNCompleteColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), transient=True)
    task = bar.add_task(label, total=total)

    def tick(done: int, text: str | None = None) -> None:
        bar.update(task, completed=done, **({"description": text} if text else {}))

    with bar:
        yield tick


def _outcomes(fn, sources, jobs, spawn, scheduler) -> Iterator[Outcome]:
    if scheduler:
        yield from _run_dask(fn, sources, jobs, scheduler)
    elif jobs <= 1 or len(sources) <= 1:
        for s in sources:
            yield _call(fn, s)
    else:
        # Forking a process that has imported JAX (multithreaded) can deadlock.
        spawn = spawn or "jax" in sys.modules
        with ProcessPoolExecutor(max_workers=jobs, mp_context=worker_context(spawn)) as pool:
            futures = [pool.submit(_worker_call, fn, s) for s in sources]
            for fut in futures:
                yield fut.result()


def local_cluster(jobs: int):
    """The embedded Dask cluster of ``--scheduler local``: ``jobs`` worker
    processes of one thread each."""
    import dask
    from dask.distributed import LocalCluster

    # No dashboard to show them, so no stack sampling every 10 ms in each
    # worker: tasks ran 2-30 % slower with it.
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        return LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                            dashboard_address=None)


def _run_dask(fn, sources, jobs, scheduler) -> Iterator[Outcome]:
    try:
        from dask.distributed import Client
    except ImportError:
        raise EcgToolError("--scheduler needs dask.distributed: pip install "
                           "'ecgtool[dask]'") from None
    cluster = None
    try:
        if scheduler == "local":
            cluster = local_cluster(jobs)
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=10)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise EcgToolError(f"cannot reach the Dask scheduler ({exc})", scheduler) from None
    try:
        futures = [client.submit(_worker_call, fn, s, pure=False) for s in sources]
        for fut in futures:
            yield fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
