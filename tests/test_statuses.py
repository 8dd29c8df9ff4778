"""The status groups are drawn from the one lifecycle, in its order."""

from __future__ import annotations

import pytest

from mailtriage import statuses


@pytest.mark.parametrize("group, expected", [
    (statuses.ACTIVE_STATUSES, ("new", "open", "waiting")),
    (statuses.DONE_STATUSES, ("resolved", "closed")),
    (statuses.HELD_STATUSES, ("waiting", "resolved", "closed")),
    (statuses.STAFF_STATUSES, ("open", "waiting", "resolved", "closed")),
    (statuses.AFTER_REPLY_STATUSES, ("open", "waiting", "resolved")),
])
def test_groups_follow_the_lifecycle(group: tuple[str, ...], expected: tuple[str, ...]) -> None:
    assert group == expected
    assert list(group) == [s for s in statuses.STATUSES if s in group]


def test_active_and_done_split_the_lifecycle() -> None:
    assert statuses.ACTIVE_STATUSES + statuses.DONE_STATUSES == statuses.STATUSES
