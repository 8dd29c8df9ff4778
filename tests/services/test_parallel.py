"""Prefetching keeps order, passes errors on and stops its thread when closed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from mailtriage.services.parallel import parse_executor, prefetch


def test_prefetch_keeps_order() -> None:
    assert list(prefetch(iter(range(50)))) == list(range(50))


def test_prefetch_overlaps_producer_and_consumer() -> None:
    def slow() -> Iterator[int]:
        for i in range(4):
            time.sleep(0.1)
            yield i

    start = time.monotonic()
    for _ in prefetch(slow()):
        time.sleep(0.1)
    elapsed = time.monotonic() - start
    assert elapsed < 0.75  # 0.8 s if serial; about 0.5 s overlapped


def test_prefetch_reraises_producer_errors_in_place() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise ConnectionError("dropped")

    seen = []
    with pytest.raises(ConnectionError, match="dropped"):
        for item in prefetch(failing()):
            seen.append(item)
    assert seen == [1]


def test_closing_stops_the_producer() -> None:
    produced = []

    def endless() -> Iterator[int]:
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    gen = prefetch(endless())
    assert next(gen) == 0
    gen.close()
    count = len(produced)
    time.sleep(0.3)
    assert len(produced) <= count + 1
    assert not any(t.name == "mailtriage-prefetch" and t.is_alive()
                   for t in threading.enumerate())


def test_parse_executor_zero_workers_means_in_process() -> None:
    with parse_executor(0) as pool:
        assert pool is None
    with parse_executor(2) as pool:
        assert pool is not None
        assert list(pool.map(abs, [-1, -2])) == [1, 2]


def test_parse_executor_one_worker_is_a_pool() -> None:
    with parse_executor(1) as pool:
        assert pool is not None
        assert list(pool.map(abs, [-3])) == [3]
