"""Retraining from the model page: one background thread at a time, its outcome remembered.

The training itself is ``mailtriage.services.training.retrain(config, db, now)``; when an
installation lacks it, the page says how to run ``mailtriage train`` instead.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailtriage.config import Config
from mailtriage.store.database import Database

RetrainFunction = Callable[[Config, Database, datetime], Any]


def find_retrain() -> RetrainFunction | None:
    """The training service's ``retrain``, or None when it is not installed."""
    try:
        module = importlib.import_module("mailtriage.services.training")
    except ImportError:
        return None
    function = getattr(module, "retrain", None)
    return function if callable(function) else None


@dataclass(frozen=True)
class RetrainStatus:
    available: bool
    running: bool
    started_at: datetime | None
    finished_at: datetime | None
    started_by: str | None
    error: str | None
    result: str | None


class Retrainer:
    """Runs ``retrain`` in a daemon thread; a second start while one runs is refused."""

    def __init__(self, config: Config, db: Database, clock: Callable[[], datetime],
                 function: RetrainFunction | None = None) -> None:
        self.config = config
        self.db = db
        self.clock = clock
        self._function = function
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._started_at: datetime | None = None
        self._finished_at: datetime | None = None
        self._started_by: str | None = None
        self._error: str | None = None
        self._result: str | None = None

    def function(self) -> RetrainFunction | None:
        return self._function or find_retrain()

    def status(self) -> RetrainStatus:
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
            return RetrainStatus(self.function() is not None, running, self._started_at,
                                 self._finished_at, self._started_by, self._error, self._result)

    def start(self, actor: str) -> bool:
        """Start training; False when it is unavailable or already running."""
        function = self.function()
        if function is None:
            return False
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._started_at = self.clock()
            self._started_by = actor
            self._finished_at = None
            self._error = None
            self._result = None
            self._thread = threading.Thread(target=self._run, args=(function,),
                                            name="mailtriage-retrain", daemon=True)
            self._thread.start()
        return True

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self, function: RetrainFunction) -> None:
        error: str | None = None
        result: str | None = None
        try:
            outcome = function(self.config, self.db, self.clock())
            result = None if outcome is None else _describe(outcome)
        except Exception as exc:  # shown on the model page; the server keeps running
            error = f"{exc.__class__.__name__}: {exc}"
        with self._lock:
            self._finished_at = self.clock()
            self._error = error
            self._result = result


def _describe(outcome: Any) -> str:
    for name in ("version", "model_version"):
        value = getattr(outcome, name, None)
        if value is None and isinstance(outcome, dict):
            value = outcome.get(name)
        if value is not None:
            return f"version {value}"
    return str(outcome)[:300]
