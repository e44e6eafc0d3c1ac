"""Byte code for the methods attrs writes, cached like a module's byte code.

attrs writes the source of ``__init__``, ``__eq__``, ``__hash__``, ``__repr__``
and friends of every class it builds, and compiles it when the class is
defined. normflow defines some eighty attrs classes (the events, the scenario
and the world), and compiling their methods was the largest part of
``import normflow`` after numpy; the plugins a run loads through their entry
points (``normflow.plugins``) define more. Python caches a module's byte code in
``__pycache__``; this does the same for those methods: while normflow's
modules are imported, attrs' compile step looks each method block up by its
exact source and file name, and compiles only what it does not find
(``normflow.events``, which ``import normflow`` does not import, enters the
cache for each of its classes, however it comes to be imported). The
cache sits beside normflow's own byte code (``__pycache__``, or
``sys.pycache_prefix``) and is not written where Python writes no byte code
(``-B``, ``PYTHONDONTWRITEBYTECODE``) or cannot write.

The code object is the one ``compile`` returns for the same source and file
name, so the classes are exactly what attrs builds without the cache
(``tests/test_startup.py`` compares them). One part of the source changes from
process to process: attrs writes the hash of a name into each ``__hash__``,
and string hashes are salted per process (``PYTHONHASHSEED``); the cache keys
the source with that number taken out and puts the process's own number into
the stored code's constants (one stored variant per length of the number,
since the code's column table holds its width). Where attrs' compile step is not the function
this expects (another attrs version), nothing is cached.
"""

from __future__ import annotations

import marshal
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import CodeType
from typing import Any, TypeVar

_T = TypeVar("_T")

#: The argument names of the attrs function wrapped here (attrs 23.2 to 26.x).
_SIGNATURE = ("script", "globs", "locs", "filename")

#: The file name attrs gives a class's generated code: what it generates, the
#: class's qualified name, and a counter where the name was taken already.
_FILENAME = re.compile(r"<attrs generated \S+ (.+?)(?:-\d+)?>")

#: Counts of this process's look-ups (for the tests).
stats = {"hits": 0, "misses": 0}


def _hash_literal(filename: str) -> int | None:
    """The number attrs writes into the ``__hash__`` of the class whose code
    has this file name (``hash`` of a name, salted per process)."""
    match = _FILENAME.fullmatch(filename)
    return None if match is None else hash(f"<attrs generated hash {match[1]}>")


def _swap_constant(code: CodeType, old: int, new: int) -> CodeType:
    """``code`` with the integer constant ``old`` replaced by ``new``, nested
    code included."""
    consts = tuple(
        new if type(c) is int and c == old else _swap_constant(c, old, new) if isinstance(c, CodeType) else c
        for c in code.co_consts
    )
    return code.replace(co_consts=consts)


def cache_path() -> str:
    """Where the cache of this interpreter lives. The code depends only on the
    source, the file name and the interpreter, so another attrs version
    writing the same source may use it."""
    import importlib.util

    pyc = importlib.util.cache_from_source(__file__)
    return os.path.join(os.path.dirname(pyc), f"attrs-methods.{sys.implementation.cache_tag}.marshal")


def _load(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            # one read, then unmarshalled from memory: ``marshal.load`` on the
            # file reads it a few bytes at a time (0.9 against 0.55 ms for 400 KB)
            stored = marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return stored if isinstance(stored, dict) else {}


def _store(path: str, codes: dict[str, Any]) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as handle:
            marshal.dump(codes, handle)
        os.replace(temporary, path)  # atomic: a concurrent reader sees the old file or the new
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass


#: What this process read from the cache and what it used, by file name:
#: ``{filename: (source with the hash number taken out, {width: (marshalled code, number)})}``;
#: a code object is unmarshalled only when its class is built
_stored: dict[str, Any] | None = None
#: where ``_stored`` was read from (``cache_path()``, worked out once a process)
_path: str | None = None
_used: dict[str, Any] = {}
_active = False
#: whether ``_used`` holds code compiled in this process that the file lacks
_unstored = False


@contextmanager
def cached_attrs_methods(store: bool = True) -> Iterator[None]:
    """Within the block, attrs compiles a class's methods only when their
    source is not in the cache; afterwards the cache holds what the process
    used (a class whose source changed has its old entry replaced). With
    ``store=False`` the file is written later, by ``store_cached_methods``
    (one write for a module that enters the cache once per class)."""
    global _path, _stored, _active
    if _active:  # within another such block (a module imported by one): its cache serves
        yield
        return
    try:
        from attr import _make

        original = _make._compile_and_eval
        if original.__code__.co_varnames[:4] != _SIGNATURE:
            raise AttributeError("attrs' compile step changed")
        path = _path or cache_path()
    except (ImportError, AttributeError, NotImplementedError):  # NotImplemented: no byte code cache
        original = None
    if original is None:
        yield
        return
    if _stored is None:
        _path, _stored = path, _load(path)
    stored = _stored

    def compile_and_eval(script: str, globs: Any, locs: Any = None, filename: str = "") -> None:
        global _unstored
        number = _hash_literal(filename)
        if number is not None and str(number) in script:
            # the number's length shows in the code's column table: one variant per length
            source, width = script.replace(str(number), "#"), len(str(number))
        else:
            number, source, width = None, script, 0
        entry = _used.get(filename) or stored.get(filename)
        variants = {}
        if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == source and isinstance(entry[1], dict):
            variants = entry[1]
        found = variants.get(width)
        code = None
        if isinstance(found, tuple) and len(found) == 2 and isinstance(found[0], bytes):
            try:
                code = marshal.loads(found[0])
            except (ValueError, EOFError, TypeError):
                code = None
        if isinstance(code, CodeType):
            stats["hits"] += 1
            if number is not None and found[1] != number:
                code = _swap_constant(code, found[1], number)
        else:
            stats["misses"] += 1
            _unstored = True
            code = compile(script, filename, "exec")
            variants = {**variants, width: (marshal.dumps(code), number)}
        _used[filename] = (source, variants)
        eval(code, globs, locs)  # noqa: S307 - what attrs itself does with the code

    _make._compile_and_eval = compile_and_eval
    _active = True
    try:
        yield
    finally:
        _make._compile_and_eval = original
        _active = False
        if store:
            store_cached_methods()


def build_cached(build: Callable[[_T], _T], cls: _T) -> _T:
    """``build(cls)`` (an attrs decorator) with the cache, the file written
    later by ``store_cached_methods``: for a module that builds its classes
    one by one, each through the cache however the module is imported
    (within a block already, the module imported by one, that block serves)."""
    with cached_attrs_methods(store=False):
        return build(cls)


def store_cached_methods() -> None:
    """Write the cache file if this process compiled code it lacks (within
    a block, the block's end does)."""
    global _unstored
    if _active:
        return
    if _unstored and _path is not None and _stored is not None and not sys.dont_write_bytecode:
        _store(_path, {**_stored, **_used})
    _unstored = False
