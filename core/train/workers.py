"""Training data made by worker processes, in order, ahead of the training process.

A GPU machine's training process cannot render FoleyWorld fast enough alone: the token cache's
clips took about 0.3 s each, and the codec stage's batches of 32 freshly rendered clips held an H200
to 1.3 steps a second (2026-11-28). Data here is a pure function of an index (a clip, a step), so
any number of processes make exactly what one would, and a resumed run restarts the stream at its
step.
"""
from __future__ import annotations

import collections
import functools
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterator, Sequence

import torch

from maskvat_foley.core.train import dist as D

WORKERS_ENV = "MASKVAT_FOLEY_DATA_WORKERS"


def render_workers(info: D.DistInfo | None = None) -> int:
    """Processes that make data beside the training process: the ``MASKVAT_FOLEY_DATA_WORKERS``
    variable, else none on a machine of fewer than 8 cores (this project's 2-core CPU runs as it
    always has) and all cores but two, shared among the ranks, on a bigger one."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if value:
        return max(0, int(value))
    cores = os.cpu_count() or 1
    world = info.world_size if info else 1
    return 0 if cores < 8 else max(0, (cores - 2) // world)


def one_thread() -> None:
    """A worker's set-up when it needs nothing else: the workers fill the cores between them."""
    torch.set_num_threads(1)


def _nth(fn: Callable[[Any], Any], items: Sequence[Any], k: int) -> Any:
    return fn(items[k])


def in_order(fn: Callable[[Any], Any], indices: Sequence[Any], workers: int,
             initializer: Callable[..., None] = one_thread, initargs: tuple = ()) -> Iterator[Any]:
    """``fn(j)`` for each j of ``indices``, in order, made by ``workers`` processes (a StepFeed over
    their positions). ``fn`` must pickle (a module-level function, or a functools.partial of one)."""
    items = list(indices)
    with StepFeed(functools.partial(_nth, fn, items), workers, initializer, initargs, end=len(items)) as feed:
        for k in range(len(items)):
            yield feed(k)


class StepFeed:
    """``feed(step)``: ``make(step)``, made ahead by ``workers`` processes for the steps that follow
    (at most 2 per worker ahead; none from ``end`` on). Steps are expected in order; any other step
    (a resumed run's first) restarts the queue there, with the same processes. The processes are
    spawned, not forked, so no state of the training process (CUDA, threads) leaks into them; each
    runs ``initializer(*initargs)`` first. ``workers`` 0: made in the calling process, as before.
    Close it (or use it as a context) to stop the processes."""

    def __init__(self, make: Callable[[int], Any], workers: int, initializer: Callable[..., None] = one_thread,
                 initargs: tuple = (), end: int | None = None) -> None:
        self.make, self.workers, self.end = make, int(workers), end
        self._start = (initializer, initargs)
        self._pool: Any = None
        self._pending: collections.deque = collections.deque()
        self._next = self._submit = 0

    def __call__(self, step: int) -> Any:
        if self.workers <= 0:
            return self.make(step)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=self._start[0], initargs=self._start[1])
        elif self._next != step:
            self._drop_pending()
        if not self._pending:
            self._submit = step
        while len(self._pending) < 2 * self.workers and (self.end is None or self._submit < self.end):
            self._pending.append(self._pool.submit(self.make, self._submit))
            self._submit += 1
        self._next = step + 1
        return self._pending.popleft().result()

    def _drop_pending(self) -> None:
        for f in self._pending:
            f.cancel()  # one already running finishes, unread
        self._pending.clear()

    def close(self) -> None:
        self._drop_pending()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "StepFeed":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
