"""The outbox retry schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailtriage.notify.retry import next_attempt_delay


@pytest.mark.parametrize(("attempt", "minutes"), [
    (0, 2), (1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 64), (7, 128), (8, 240), (9, 240),
    (50, 240), (10_000, 240),
])
def test_exponential_backoff_with_cap(attempt: int, minutes: int) -> None:
    assert next_attempt_delay(attempt) == timedelta(minutes=minutes)


def test_never_shrinks() -> None:
    delays = [next_attempt_delay(a) for a in range(1, 40)]
    assert delays == sorted(delays)
