"""The process pool that parses large batches on every core."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager


@contextmanager
def parse_executor(workers: int | None) -> Iterator[Executor | None]:
    """A pool of ``workers`` processes (default: one per core), or None for in-process parsing.

    The pool is created lazily by the executor on first use, so an idle run starts no process.
    """
    count = (os.cpu_count() or 1) if workers is None else workers
    if count <= 1:
        yield None
        return
    pool = ProcessPoolExecutor(max_workers=count)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
