"""Overlapping work: a process pool that parses large batches on every core, and prefetching."""

from __future__ import annotations

import os
import threading
from collections.abc import Generator, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from queue import Empty, Full, Queue
from typing import TypeVar

T = TypeVar("T")


@contextmanager
def parse_executor(workers: int | None) -> Iterator[Executor | None]:
    """A pool of ``workers`` processes, or None for in-process parsing (``workers`` 0).

    The workers parse and classify (each loads the model once); this process fetches, stores
    and sends. The default is one process per core but one, which keeps this process's core
    for its own work and the memory at one model (on one core: everything in this process).
    The pool is created lazily by the executor on first use, so an idle run starts no process.
    """
    count = (os.cpu_count() or 1) - 1 if workers is None else workers
    if count < 1:
        yield None
        return
    pool = ProcessPoolExecutor(max_workers=count)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def prefetch(batches: Iterator[T], depth: int = 1) -> Generator[T, None, None]:
    """Yield from ``batches`` while a thread already fetches the next one (network ∥ CPU).

    Exceptions raised by the producer are re-raised in the consumer, at the point where the
    failed batch would have been yielded. Closing the generator stops the producer.
    """
    queue: Queue[tuple[str, object]] = Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in batches:
                while not stop.is_set():
                    try:
                        queue.put(("item", item), timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(("done", None))
        except BaseException as exc:  # handed over to the consumer
            queue.put(("error", exc))

    thread = threading.Thread(target=produce, name="mailtriage-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = queue.get()
            if kind == "done":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():
            try:
                queue.get_nowait()
            except Empty:
                thread.join(timeout=0.1)
