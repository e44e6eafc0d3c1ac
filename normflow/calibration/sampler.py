"""A pyabc sampler whose populations do not depend on scheduling.

pyabc's own parallel samplers accept particles in the order they finish and
reseed each worker from the operating system, so two runs with the same
seed differ. This one numbers the candidate particles of a generation
0, 1, 2, ...; candidate ``i`` of generation ``t`` draws its proposal with
the global NumPy generator seeded from ``(seed, t, i)``; candidates run in
any order on any executor (this process, a process pool, a Dask cluster),
and the population is the first ``n`` accepted *in index order*. The
posterior is then the same for every number of workers. What differs is
only the count of simulations run: with ``k`` workers up to ``2k`` chunks
run ahead and those past the ``n``-th acceptance are discarded (counted in
``computed``, not in pyabc's evaluations).
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Callable
from typing import Any

import numpy as np
from pyabc.sampler import Sampler

from normflow.executors import DaskCluster as _Dask
from normflow.executors import InProcess as _InProcess
from normflow.executors import Pool as _Pool

__all__ = ["OrderedSampler", "evaluate_chunk"]

_CACHE: dict[str, Any] = {}


def _seed_of(seed: int, t: int, index: int) -> int:
    # t is -1 for pyabc's calibration sample (the prior draws that set the first epsilon)
    seq = np.random.SeedSequence(seed, spawn_key=(t + 2, index))
    return int(seq.generate_state(1)[0])


def evaluate_chunk(payload: bytes, key: str, seed: int, t: int, indices: list[int]) -> list[Any]:
    """Run candidates ``indices`` of generation ``t``; ``payload`` is
    pyabc's simulate-one function, pickled (cached per worker by ``key``)."""
    import cloudpickle

    fn = _CACHE.get(key)
    if fn is None:
        _CACHE.clear()
        fn = _CACHE[key] = cloudpickle.loads(payload)
    out = []
    for i in indices:
        s = _seed_of(seed, t, i)
        np.random.seed(s)
        random.seed(s)
        out.append(fn())
    return out


class OrderedSampler(Sampler):
    """Deterministic, parallel pyabc sampler (see the module's docstring).

    ``workers=1`` runs in this process; more start a process pool;
    ``scheduler`` (``"local"``, an address or a Client) uses Dask.
    ``budget`` caps the candidates a generation may evaluate (pyabc then
    stops, keeping the generations already stored). ``on_progress(t,
    accepted, n, evaluated)`` is called as candidates are taken in order."""

    def __init__(
        self,
        seed: int,
        workers: int = 1,
        scheduler: Any = None,
        chunk: int | None = None,
        on_progress: Callable[[int, int, int, int], None] | None = None,
    ):
        super().__init__()
        self.seed = seed
        self.workers = max(1, workers)
        self.scheduler = scheduler
        self.chunk = chunk
        self.on_progress = on_progress
        self.budget: float = np.inf
        self.computed = 0  # simulations run, including look-ahead ones discarded
        self._executor: Any = None

    def _get_executor(self) -> Any:
        if self._executor is None:
            if self.scheduler is not None:
                self._executor = _Dask(self.scheduler, self.workers)
            elif self.workers > 1:
                self._executor = _Pool(
                    self.workers, ("pyabc", "normflow.calibration.sampler", "normflow.simulation")
                )
            else:
                self._executor = _InProcess()
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.close()
            self._executor = None

    def stop(self) -> None:
        """pyabc calls this after each ``run``; the workers outlive it (the
        calibration runs one generation per call) and ``close`` ends them."""

    def sample_until_n_accepted(
        self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None
    ):  # noqa: ARG002 (pyabc's signature)
        import cloudpickle

        ex = self._get_executor()
        local = isinstance(ex, _InProcess)
        payload = simulate_one if local else cloudpickle.dumps(simulate_one)
        key = "" if local else hashlib.sha256(payload).hexdigest() + f"-{os.getpid()}-{t}"
        shared = payload if local else ex.share(payload)
        fn = (lambda p, k, s, tt, idx: _evaluate_local(p, s, tt, idx)) if local else evaluate_chunk
        limit = min(max_eval, self.budget)
        chunk = self.chunk or (1 if local else max(1, min(8, n // (4 * self.workers))))
        in_flight = 1 if local else 2 * self.workers

        sample = self._create_empty_sample()
        accepted = 0
        evaluated = 0  # candidates taken, in index order
        next_index = 0
        next_chunk = 0
        pending: dict[Any, int] = {}
        ready: dict[int, list[Any]] = {}
        try:
            while accepted < n and evaluated < limit:
                while len(pending) < in_flight and next_index < limit:
                    indices = list(range(next_index, int(min(next_index + chunk, limit))))
                    pending[ex.submit(fn, shared, key, self.seed, t, indices)] = next_chunk
                    next_chunk += 1
                    next_index = indices[-1] + 1
                if not pending:
                    break
                for fut in ex.wait_first(list(pending)):
                    c = pending.pop(fut)
                    ready[c] = fut.result()
                    self.computed += len(ready[c])
                # take finished chunks in order
                taken = evaluated // chunk
                while taken in ready and accepted < n:
                    for particle in ready.pop(taken):
                        sample.append(particle)
                        evaluated += 1
                        if particle.accepted:
                            accepted += 1
                            if accepted == n:
                                break
                    taken += 1
                    if self.on_progress is not None:
                        self.on_progress(t, accepted, n, evaluated)
        finally:
            ex.cancel(list(pending))
        self.nr_evaluations_ = evaluated
        self.budget -= evaluated  # --max-runs caps the candidates of all generations together
        if sample.n_accepted < n:
            sample.ok = False
        return sample


def _evaluate_local(simulate_one: Callable[[], Any], seed: int, t: int, indices: list[int]) -> list[Any]:
    out = []
    for i in indices:
        s = _seed_of(seed, t, i)
        np.random.seed(s)
        random.seed(s)
        out.append(simulate_one())
    return out
