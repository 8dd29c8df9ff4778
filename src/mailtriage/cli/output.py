"""Printing for commands: JSON for scripts, rich tables for people."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def console() -> Console:
    """stdout for people; when it is not a terminal (a pipe, cron mail) lines may be wide.

    rich is imported here, not with the module: a quiet ``mailtriage run`` with nothing new
    prints nothing and spares the import (a tenth of such a run)."""
    from rich.console import Console

    width = None if sys.stdout.isatty() else 200
    return Console(highlight=False, soft_wrap=False, width=width)


def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def short_time(value: str | None) -> str:
    """'2026-03-17T10:00:00+01:00' → '2026-03-17 10:00'."""
    if not value:
        return "-"
    return value[:16].replace("T", " ")
