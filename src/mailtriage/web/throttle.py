"""Login rate limiting: failed sign-ins counted per client address and per user name."""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta


class LoginThrottle:
    """At most ``limit`` failures per ``window`` for one address, and for one user name.

    Kept in memory by the one server process; a restart forgets it, which is acceptable for a
    limit measured in minutes. Names are compared case-insensitively.
    """

    def __init__(self, limit: int = 5, window: timedelta = timedelta(minutes=5),
                 max_keys: int = 50_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._failures: dict[tuple[str, str], deque[datetime]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(address: str, user: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("address", address), ("user", user.strip().lower())

    def _recent(self, key: tuple[str, str], now: datetime) -> deque[datetime]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def blocked(self, address: str, user: str, now: datetime) -> bool:
        """True when this address or this user name used up its failures in the window."""
        with self._lock:
            return any(len(self._recent(k, now)) >= self.limit for k in self._keys(address, user))

    def retry_after(self, address: str, user: str, now: datetime) -> int:
        """Seconds until the next attempt is allowed (0 when it is allowed now)."""
        with self._lock:
            wait = timedelta(0)
            for key in self._keys(address, user):
                times = self._recent(key, now)
                if len(times) >= self.limit:
                    wait = max(wait, times[-self.limit] + self.window - now)
            return max(0, int(wait.total_seconds() + 0.999))

    def failure(self, address: str, user: str, now: datetime) -> None:
        with self._lock:
            if len(self._failures) >= self.max_keys:
                for key in list(self._failures):
                    self._recent(key, now)
            for key in self._keys(address, user):
                if len(self._failures) >= self.max_keys and key not in self._failures:
                    continue
                self._failures.setdefault(key, deque()).append(now)

    def success(self, user: str) -> None:
        """A correct password clears the name's failures (the address keeps its own)."""
        with self._lock:
            self._failures.pop(self._keys("", user)[1], None)
