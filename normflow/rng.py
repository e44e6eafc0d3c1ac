"""Named random streams spawned from one seed.

Every source of randomness in a run (each core process, each plugin, the
world's construction) draws from its own stream. Streams are children of one
``numpy.random.SeedSequence`` keyed by a stable hash of their name, so adding
a stream, or a plugin that draws more numbers, never shifts another stream's
draws. Replication k of an experiment uses the k-th child of the base seed.
"""

from __future__ import annotations

import zlib

import numpy as np


class Streams:
    """``streams("agenda")`` returns the same Generator for the same name."""

    def __init__(self, seed: int | np.random.SeedSequence):
        self.root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self._cache: dict[str, np.random.Generator] = {}

    def __call__(self, name: str) -> np.random.Generator:
        gen = self._cache.get(name)
        if gen is None:
            key = zlib.crc32(name.encode("utf-8"))
            seq = np.random.SeedSequence(entropy=self.root.entropy, spawn_key=(*self.root.spawn_key, key))
            gen = self._cache[name] = np.random.Generator(np.random.PCG64(seq))
        return gen


def replication_seeds(base_seed: int, n: int) -> list[np.random.SeedSequence]:
    """The seed of each of ``n`` replications: the children of the base seed."""
    return np.random.SeedSequence(base_seed).spawn(n)
