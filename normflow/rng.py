"""Named random streams spawned from one seed.

Every source of randomness in a run (each core process, each plugin, the
world's construction) draws from its own stream. Streams are children of one
``numpy.random.SeedSequence`` keyed by a stable hash of their name, so adding
a stream, or a plugin that draws more numbers, never shifts another stream's
draws. Replication k of an experiment uses the k-th child of the base seed.
"""

from __future__ import annotations

import sys
import types
import zlib

import numpy as np


def _import_numpy_random() -> None:
    """Import ``numpy.random`` (numpy loads it on first use) without the
    standard ``secrets`` module, which loads ``hmac``, ``hashlib`` and OpenSSL's
    library: about 18M instructions and 4-5 ms of every run's set-up, for one
    name. numpy's bit generators take ``randbits`` from ``secrets`` to seed
    from the system's entropy when no seed is given; ``secrets.randbits`` is
    the ``getrandbits`` of a ``random.SystemRandom``, so a stand-in module
    giving that very method sits in ``sys.modules`` while numpy.random is
    imported, and is removed after. Any other name asked of it is the real
    module's (imported then, in the stand-in's place). Nothing is done where
    numpy.random or ``secrets`` is loaded already (docs/performance.md,
    "Start-up, ninth round"; tests/test_startup.py)."""
    if "numpy.random" in sys.modules or "secrets" in sys.modules:
        return
    import random

    stand_in = types.ModuleType("secrets")
    stand_in.randbits = random.SystemRandom().getrandbits  # type: ignore[attr-defined]

    def real(name: str) -> object:
        if sys.modules.get("secrets") is stand_in:
            del sys.modules["secrets"]
        import secrets

        return getattr(secrets, name)

    stand_in.__getattr__ = real  # type: ignore[method-assign]
    sys.modules["secrets"] = stand_in
    try:
        import numpy.random  # noqa: F401
    finally:
        if sys.modules.get("secrets") is stand_in:
            del sys.modules["secrets"]


class Streams:
    """``streams("agenda")`` returns the same Generator for the same name."""

    def __init__(self, seed: int | np.random.SeedSequence):
        _import_numpy_random()
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
    _import_numpy_random()
    return np.random.SeedSequence(base_seed).spawn(n)
