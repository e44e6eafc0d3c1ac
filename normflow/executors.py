"""Where a study's runs execute: this process, a local process pool, or a
Dask cluster, behind one small interface (submit, wait for the first done,
cancel, share a payload, close). Used by calibration and sensitivity
analysis; the experiment runner has its own (normflow.experiment).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["DaskCluster", "InProcess", "Pool", "make_executor"]


class InProcess:
    """Runs each chunk when it is submitted (one worker, no pickling)."""

    class _Done:
        def __init__(self, value: Any):
            self.value = value

        def result(self) -> Any:
            return self.value

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        state = np.random.get_state()
        try:
            return self._Done(fn(*args))
        finally:
            np.random.set_state(state)

    def wait_first(self, futures: list[Any]) -> list[Any]:
        return futures

    def cancel(self, futures: list[Any]) -> None:
        pass

    def share(self, payload: bytes) -> Any:
        return payload

    def close(self) -> None:
        pass


class Pool:
    """A process pool (forkserver where available), started once per calibration."""

    def __init__(self, workers: int, preload: tuple[str, ...] = ("normflow.simulation",)):
        import concurrent.futures as cf
        import multiprocessing as mp

        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(method)
        if method == "forkserver":
            # workers fork from a server that has imported the heavy modules once
            ctx.set_forkserver_preload(list(preload))
        self.cf = cf
        self.pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.pool.submit(fn, *args)

    def wait_first(self, futures: list[Any]) -> list[Any]:
        done, _ = self.cf.wait(futures, return_when=self.cf.FIRST_COMPLETED)
        return list(done)

    def cancel(self, futures: list[Any]) -> None:
        for f in futures:
            f.cancel()

    def share(self, payload: bytes) -> Any:
        return payload

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskCluster:
    """A Dask cluster: ``"local"`` starts a LocalCluster on loopback; any
    other text is a scheduler address; a ``distributed.Client`` is used as is."""

    def __init__(self, scheduler: Any, workers: int):
        try:
            import distributed
        except ImportError:
            raise RuntimeError(
                "--scheduler needs dask and distributed: pip install 'normflow[dask]'"
            ) from None
        import logging

        self.distributed = distributed
        self.cluster = None
        self.own = True
        if isinstance(scheduler, str) and scheduler == "local":
            self.cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
                silence_logs=logging.ERROR,
            )
            self.client = distributed.Client(self.cluster)
        elif isinstance(scheduler, str):
            try:
                self.client = distributed.Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise RuntimeError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        else:
            self.client, self.own = scheduler, False

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False)

    def wait_first(self, futures: list[Any]) -> list[Any]:
        done, _ = self.distributed.wait(futures, return_when="FIRST_COMPLETED")
        return list(done)

    def cancel(self, futures: list[Any]) -> None:
        if futures:
            self.client.cancel(futures)

    def share(self, payload: bytes) -> Any:
        [future] = self.client.scatter([payload], broadcast=True)
        return future

    def close(self) -> None:
        if self.own:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(
    workers: int = 1, scheduler: Any = None, preload: tuple[str, ...] = ("normflow.simulation",)
) -> Any:
    """A Dask cluster when ``scheduler`` is given, a pool for ``workers`` > 1, else this process."""
    if scheduler is not None:
        return DaskCluster(scheduler, workers)
    if workers > 1:
        return Pool(workers, preload)
    return InProcess()
