"""Executors: each yields result rows as replications finish, in this
process, in a local process pool, or on a Dask cluster. Rows come back in
any order; the plan's seeds make them the same whatever the executor.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from normflow.errors import ExperimentError
from normflow.experiment.replication import (
    PLUGIN_ENV,
    Shared,
    Task,
    error_text,
    run_replication,
    set_worker_shared,
)


def rows_in_process(tasks: list[Task], shared: Shared) -> Iterator[dict[str, Any]]:
    for task in tasks:
        yield run_replication(task, shared)


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


def map_in_pool(
    fn: Callable[[Any], Any],
    tasks: Iterable[Any],
    workers: int,
    failed: Callable[[Any, BaseException], Any],
    *,
    shared: Shared | None = None,
) -> Iterator[Any]:
    """Yield ``fn(task)`` for each task as it finishes, in a process pool
    (forkserver or spawn; workers take the driver's plugin selection and leave
    with the driver), with at most ``2 * workers`` tasks in flight so memory
    stays flat. A result that cannot come back (e.g. unpicklable) yields
    ``failed(task, exc)``; a dead worker raises ``ExperimentError``."""
    import concurrent.futures as cf
    from concurrent.futures.process import BrokenProcessPool

    ctx = _mp_context()
    alive_r, alive_w = ctx.Pipe(duplex=False)
    env = (
        shared.env if shared is not None else tuple((k, os.environ[k]) for k in PLUGIN_ENV if k in os.environ)
    )
    pool = cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_start_worker, initargs=(env, alive_r, shared)
    )
    todo = iter(tasks)
    pending: dict[cf.Future[Any], Any] = {}
    finished = False

    def fill() -> None:
        while len(pending) < 2 * workers:
            task = next(todo, None)
            if task is None:
                return
            pending[pool.submit(fn, task)] = task

    try:
        fill()
        while pending:
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                task = pending.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    raise ExperimentError(
                        "a worker process died (killed, out of memory, or, in a script, the "
                        "`if __name__ == '__main__':` guard is missing); the finished replications are stored"
                    ) from None
                except Exception as exc:
                    result = failed(task, exc)
                yield result
            fill()
        finished = True
    finally:
        pool.shutdown(wait=finished, cancel_futures=True)
        alive_r.close()
        alive_w.close()


def rows_from_pool(tasks: list[Task], shared: Shared, workers: int) -> Iterator[dict[str, Any]]:
    return map_in_pool(
        run_replication,
        tasks,
        workers,
        lambda task, exc: {**task.identity(), "status": "failed", "error": error_text(exc)},
        shared=shared,
    )


def rows_from_dask(
    tasks: list[Task], shared: Shared, scheduler: Any, workers: int
) -> Iterator[dict[str, Any]]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ExperimentError(
            "--scheduler needs dask and distributed: pip install 'normflow[dask]'"
        ) from None
    import logging

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
    futures = []
    try:
        # the scenario text goes to the cluster once, not once per task
        [shared_future] = client.scatter([shared], broadcast=True)
        futures = client.map(run_replication, tasks, shared=shared_future, pure=False)
        task_of = {f.key: t for f, t in zip(futures, tasks, strict=True)}
        for fut in as_completed(futures):
            try:
                row = fut.result()
            except Exception as exc:  # a worker lost (KilledWorker) is recorded, not fatal
                row = {**task_of[fut.key].identity(), "status": "failed", "error": error_text(exc)}
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
