"""A missing server skips on a developer's machine and fails in CI."""

from __future__ import annotations

import pytest

from tests.servers.required import unavailable


@pytest.mark.parametrize("value, fails", [
    ("true", True), ("1", True), ("yes", True), ("TRUE", True),
    ("", False), ("false", False), ("0", False), (None, False),
])
def test_unavailable_fails_only_in_ci(monkeypatch: pytest.MonkeyPatch, value: str | None,
                                      fails: bool) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    expected = pytest.fail.Exception if fails else pytest.skip.Exception
    with pytest.raises(expected, match="no server here"):
        unavailable("no server here")
