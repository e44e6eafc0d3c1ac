"""Worker processes that a replication cannot take down with it.

``WorkerPool`` runs tasks in processes of its own, one task per process at a
time, so the driver always knows which task a worker is running and since
when. A task that outlives its time limit has its worker killed (and
replaced) and comes back as ``Timeout``; a task whose worker dies (killed,
out of memory, ``os._exit``) is given to a fresh worker again, up to
``retries`` times, and then comes back as ``WorkerLost``. The caller turns
both into failed rows, so ``--resume`` never trips over them again.

``call_with_limit`` does the same for one call in this process: the call
runs in a forked child, which is killed at the limit (used by the in-process
and Dask executors when a ``--timeout`` is set).
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any


class Timeout(Exception):
    """A task ran longer than its limit; its process was killed."""

    def __init__(self, seconds: float):
        super().__init__(f"no result after {seconds:g} s (--timeout); the replication was stopped")
        self.seconds = seconds


class WorkerLost(Exception):
    """The process running a task died before returning a result."""

    def __init__(self, how: str, attempts: int):
        super().__init__(f"the worker process running it died ({how}) on each of {attempts} attempt(s)")
        self.how = how
        self.attempts = attempts


def _death(exitcode: int | None) -> str:
    if exitcode is None:
        return "no exit code"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


# -- one call, in a forked child ----------------------------------------------------------


def call_with_limit(fn: Callable[..., Any], args: tuple[Any, ...], limit: float) -> Any:
    """``fn(*args)`` in a forked child; its result, or ``Timeout`` /
    ``WorkerLost`` raised here. Exceptions of ``fn`` come back as they are
    (when they pickle). POSIX only."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            os.close(read)
            try:
                payload = pickle.dumps(("ok", fn(*args)))
            except BaseException as exc:  # noqa: BLE001 - handed to the parent
                try:
                    payload = pickle.dumps(("error", exc))
                except Exception:
                    payload = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
            with os.fdopen(write, "wb") as out:
                out.write(payload)
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    chunks: list[bytes] = []
    done = threading.Event()

    def drain() -> None:
        with os.fdopen(read, "rb") as src:
            while True:
                block = src.read(65536)
                if not block:
                    break
                chunks.append(block)
        done.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    finished = done.wait(limit)
    if not finished:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    reader.join()
    if not finished:
        raise Timeout(limit)
    data = b"".join(chunks)
    if not data:
        raise WorkerLost(_death(os.waitstatus_to_exitcode(status)), 1)
    kind, value = pickle.loads(data)
    if kind == "error":
        raise value
    return value


# -- a pool of processes ---------------------------------------------------------------------


def _serve(conn: Any, fn: Callable[[Any], Any], init: Callable[..., None] | None, initargs: tuple) -> None:
    """A worker's loop: one task at a time until told to stop (None) or the
    driver goes away."""
    if init is not None:
        init(*initargs)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        if task is None:
            os._exit(0)
        conn.send(("started", None))  # the task's time counts from here
        try:
            reply = ("ok", fn(task))
        except BaseException as exc:  # noqa: BLE001 - handed to the driver
            reply = ("error", exc)
        try:
            conn.send(reply)
        except Exception as exc:  # the result does not pickle
            conn.send(
                ("error", RuntimeError(f"the result could not be sent back: {type(exc).__name__}: {exc}"))
            )


class _Worker:
    def __init__(self, ctx: Any, fn: Callable[[Any], Any], init: Callable[..., None] | None, initargs: tuple):
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_serve, args=(child, fn, init, initargs), daemon=True)
        self.proc.start()
        child.close()
        self.task: Any = None
        self.attempt = 0
        self.started: float | None = None

    def give(self, task: Any, attempt: int) -> None:
        self.task, self.attempt, self.started = task, attempt, None
        self.conn.send(task)

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.proc.join(1)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)
        self.conn.close()


def map_with_limits(
    fn: Callable[[Any], Any],
    tasks: Iterable[Any],
    workers: int,
    ctx: Any,
    *,
    init: Callable[..., None] | None = None,
    initargs: tuple = (),
    timeout: float | None = None,
    retries: int = 2,
) -> Iterator[tuple[Any, Any, BaseException | None]]:
    """Yield ``(task, result, None)`` or ``(task, None, exception)`` as tasks
    finish, with ``workers`` processes of context ``ctx`` started with
    ``init(*initargs)``. The exception is the task's own, ``Timeout``
    (``timeout`` seconds passed; the worker was killed) or ``WorkerLost`` (its
    worker died ``retries + 1`` times)."""
    from multiprocessing.connection import wait

    todo = iter(tasks)
    again: deque[tuple[Any, int]] = deque()
    pool: list[_Worker] = []
    idle: list[_Worker] = []

    def next_task() -> tuple[Any, int] | None:
        if again:
            return again.popleft()
        task = next(todo, _END)
        return None if task is _END else (task, 1)

    try:
        while True:
            while len(pool) < workers:
                w = _Worker(ctx, fn, init, initargs)
                pool.append(w)
                idle.append(w)
            while idle:
                item = next_task()
                if item is None:
                    break
                w = idle.pop()
                try:
                    w.give(*item)
                except OSError:  # died before it got the task
                    again.appendleft(item)
                    pool.remove(w)
                    w.kill()
            busy = [w for w in pool if w.task is not None]
            if not busy:
                return
            wait_for: float | None = None
            running = [w.started for w in busy if w.started is not None]
            if timeout is not None and running:
                wait_for = max(0.0, min(running) + timeout - time.monotonic())
            ready = set(wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], wait_for))
            now = time.monotonic()
            for w in busy:
                task, attempt = w.task, w.attempt
                if w.conn in ready or (w.proc.sentinel in ready and w.conn.poll()):
                    try:
                        kind, value = w.conn.recv()
                    except (EOFError, OSError):
                        kind, value = "lost", None
                    if kind == "started":
                        w.started = time.monotonic()
                        if not w.conn.poll():
                            continue
                        try:
                            kind, value = w.conn.recv()
                        except (EOFError, OSError):
                            kind, value = "lost", None
                    if kind != "lost":
                        w.task = None
                        idle.append(w)
                        yield (task, value, None) if kind == "ok" else (task, None, value)
                        continue
                if w.proc.sentinel in ready or not w.proc.is_alive():
                    w.proc.join(5)
                    how = _death(w.proc.exitcode)
                    pool.remove(w)
                    w.kill()
                    if attempt <= retries:
                        again.append((task, attempt + 1))
                    else:
                        yield task, None, WorkerLost(how, attempt)
                elif timeout is not None and w.started is not None and now - w.started >= timeout:
                    pool.remove(w)
                    w.kill()
                    yield task, None, Timeout(timeout)
    finally:
        for w in pool:
            if w.task is None:
                w.stop()
            else:
                w.kill()


_END = object()
