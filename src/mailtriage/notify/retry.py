"""The retry schedule of the outbox: exponential backoff with a cap, no randomness.

Attempt 1 failed → wait 2 minutes, then 4, 8, 16, 32, 64, 128, and at most 4 hours between
attempts. With the default ``smtp.max_attempts`` of 8 a message is retried for about four
hours in all, which outlasts greylisting (minutes) and short server outages.
"""

from __future__ import annotations

from datetime import timedelta

BASE_DELAY = timedelta(minutes=2)
MAX_DELAY = timedelta(hours=4)


def next_attempt_delay(attempt: int) -> timedelta:
    """The wait after failed attempt number ``attempt`` (1 for the first) before the next."""
    n = max(1, attempt)
    if n > 20:  # 2**20 minutes is far beyond the cap; avoid huge numbers
        return MAX_DELAY
    return min(BASE_DELAY * (1 << (n - 1)), MAX_DELAY)
