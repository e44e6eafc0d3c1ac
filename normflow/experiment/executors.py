"""Executors: each yields result rows as replications finish, in this
process, in a local process pool, or on a Dask cluster. Rows come back in
any order; the plan's seeds make them the same whatever the executor.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs

from normflow.errors import ExperimentError
from normflow.experiment.replication import (
    PLUGIN_ENV,
    Shared,
    Task,
    error_text,
    run_replication,
    set_worker_shared,
)
from normflow.experiment.workers import Timeout, WorkerLost, call_with_limit, map_with_limits


def _mp_context() -> Any:
    """An explicit start method, never a global one: forkserver where the
    platform has it (fast, and safe with threads), spawn elsewhere."""
    import multiprocessing as mp

    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    return mp.get_context(method)


def _start_worker(env: tuple[tuple[str, str], ...], driver: Any, shared: Shared | None = None) -> None:
    """Pool workers receive the run's shared data once, take the driver's
    plugin selection ``env`` (a forkserver started earlier would hand them an
    older environment), and exit when the driver dies (killed, not shut
    down), so a killed experiment leaves no orphaned processes. ``driver`` is the read end of a pipe whose only write end the
    driver holds: reading it ends (EOF) exactly when the driver is gone. The
    parent process id would not do: a forkserver outlives the driver while
    its children live."""
    set_worker_shared(shared)
    for key in PLUGIN_ENV:
        os.environ.pop(key, None)
    os.environ.update(dict(env))

    def watch() -> None:
        try:
            driver.recv()
        except (EOFError, OSError):
            pass
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


#: How many more times a replication whose worker died is tried.
RETRIES = 2


@attrs.frozen
class Limits:
    """How long a replication may run (seconds; None: no limit) and how many
    more times work lost with a worker is tried."""

    timeout: float | None = None
    retries: int = RETRIES


def _failed_row(task: Task, exc: BaseException) -> dict[str, Any]:
    return {**task.identity(), "status": "failed", "error": error_text(exc)}


def run_replication_limited(task: Task, shared: Shared | None, timeout: float | None) -> dict[str, Any]:
    """``run_replication``, in a forked child killed after ``timeout``
    seconds when one is given: a replication that never ends or that kills
    its process becomes a failed row."""
    if timeout is None:
        return run_replication(task, shared)
    try:
        return call_with_limit(run_replication, (task, shared), timeout)
    except (Timeout, WorkerLost) as exc:
        return _failed_row(task, exc)


def rows_in_process(tasks: list[Task], shared: Shared, limits: Limits = Limits()) -> Iterator[dict[str, Any]]:
    for task in tasks:
        yield run_replication_limited(task, shared, limits.timeout)


def map_in_pool(
    fn: Callable[[Any], Any],
    tasks: Iterable[Any],
    workers: int,
    failed: Callable[[Any, BaseException], Any],
    *,
    shared: Shared | None = None,
    timeout: float | None = None,
    retries: int = RETRIES,
) -> Iterator[Any]:
    """Yield ``fn(task)`` for each task as it finishes, in worker processes
    (forkserver or spawn; workers take the driver's plugin selection and leave
    with the driver), one task per worker at a time so memory stays flat. A
    task that raises, or whose result cannot come back, yields
    ``failed(task, exc)``; so does one that runs longer than ``timeout``
    seconds (its worker is killed and replaced: ``workers.Timeout``) and one
    whose worker dies ``retries + 1`` times (``workers.WorkerLost``)."""
    ctx = _mp_context()
    alive_r, alive_w = ctx.Pipe(duplex=False)
    env = (
        shared.env if shared is not None else tuple((k, os.environ[k]) for k in PLUGIN_ENV if k in os.environ)
    )
    results = map_with_limits(
        fn,
        tasks,
        workers,
        ctx,
        init=_start_worker,
        initargs=(env, alive_r, shared),
        timeout=timeout,
        retries=retries,
    )
    try:
        for task, result, exc in results:
            yield result if exc is None else failed(task, exc)
    finally:
        results.close()
        alive_r.close()
        alive_w.close()


def rows_from_pool(
    tasks: list[Task], shared: Shared, workers: int, limits: Limits = Limits()
) -> Iterator[dict[str, Any]]:
    return map_in_pool(
        run_replication,
        tasks,
        workers,
        _failed_row,
        shared=shared,
        timeout=limits.timeout,
        retries=limits.retries,
    )


def rows_from_dask(
    tasks: list[Task],
    shared: Shared,
    scheduler: Any,
    workers: int,
    limits: Limits = Limits(),
    lost: list[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Rows from a Dask cluster. Work lost with a worker (``KilledWorker``,
    a cancelled future, a closed connection) is submitted again, up to
    ``limits.retries`` times (with the shared data, which may have gone
    too). Then a replication that still kills the workers that run it
    (``KilledWorker``) is a failed row, and other lost work is only named in
    ``lost`` (not stored: ``--resume`` computes it)."""
    try:
        from distributed import Client, LocalCluster, as_completed
        from distributed.scheduler import KilledWorker
    except ImportError:
        raise ExperimentError(
            "--scheduler needs dask and distributed: pip install 'normflow[dask]'"
        ) from None
    import logging

    lost = lost if lost is not None else []
    cluster = None
    own = True
    if isinstance(scheduler, str) and scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    elif isinstance(scheduler, str):
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ExperimentError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    else:
        client, own = scheduler, False
    futures: list[Any] = []
    try:
        # the scenario text goes to the cluster once, not once per task
        [shared_future] = client.scatter([shared], broadcast=True)
        futures = client.map(
            run_replication_limited, tasks, shared=shared_future, timeout=limits.timeout, pure=False
        )
        task_of = {f.key: (t, 1) for f, t in zip(futures, tasks, strict=True)}
        pending = as_completed(futures)
        for fut in pending:
            task, attempt = task_of.pop(fut.key)
            try:
                row = fut.result()
            except Exception as exc:  # lost with its worker: again, a bounded number of times
                if attempt <= limits.retries:
                    # the scattered data may have gone with the worker: this time it travels
                    # with the task (it is small), so no dead worker can take it along again
                    again = client.submit(
                        run_replication_limited,
                        task,
                        shared=shared,
                        timeout=limits.timeout,
                        pure=False,
                    )
                    futures.append(again)
                    task_of[again.key] = (task, attempt + 1)
                    pending.add(again)
                    continue
                if not isinstance(exc, KilledWorker):
                    lost.append(error_text(exc))
                    continue
                # it took down every worker that ran it, each time: its own doing
                row = _failed_row(task, exc)
            yield row
    finally:
        if futures:
            client.cancel(futures)
        if own:
            client.close()
        if cluster is not None:
            cluster.close()


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
