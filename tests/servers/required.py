"""What the test rig does when a real server, a browser or the corpus is missing.

On a developer's machine the tests that need it are skipped with the reason; in CI (``CI`` set
to anything but ``false`` or ``0``) that is a failure, so CI never passes by running less.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "false", "0")


def unavailable(reason: str) -> NoReturn:
    """Fail under CI, else skip, giving ``reason``."""
    if in_ci():
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)
