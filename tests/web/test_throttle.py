"""Login rate limiting per address and per user name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailtriage.web.throttle import LoginThrottle

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def test_five_failures_block_the_user_name_from_any_address() -> None:
    th = LoginThrottle(limit=5, window=timedelta(minutes=5))
    for i in range(5):
        assert not th.blocked(f"10.0.0.{i}", "anna", T0 + i * S)
        th.failure(f"10.0.0.{i}", "anna", T0 + i * S)
    assert th.blocked("10.0.0.99", "Anna", T0 + 10 * S)  # names compare case-insensitively
    assert not th.blocked("10.0.0.99", "bert", T0 + 10 * S)


def test_five_failures_block_the_address_for_any_name() -> None:
    th = LoginThrottle()
    for i in range(5):
        th.failure("192.0.2.1", f"user{i}", T0)
    assert th.blocked("192.0.2.1", "someone-else", T0 + S)
    assert not th.blocked("192.0.2.2", "someone-else", T0 + S)


def test_window_slides() -> None:
    th = LoginThrottle(limit=5, window=timedelta(minutes=5))
    for i in range(5):
        th.failure("192.0.2.1", "anna", T0 + i * 60 * S)  # at 0, 1, 2, 3, 4 minutes
    assert th.blocked("192.0.2.1", "anna", T0 + 299 * S)
    assert th.retry_after("192.0.2.1", "anna", T0 + 299 * S) == 1
    # the first failure leaves the window at exactly 5 minutes
    assert not th.blocked("192.0.2.1", "anna", T0 + 300 * S)
    assert th.retry_after("192.0.2.1", "anna", T0 + 300 * S) == 0


def test_success_clears_the_name_but_not_the_address() -> None:
    th = LoginThrottle(limit=2)
    th.failure("192.0.2.1", "anna", T0)
    th.failure("192.0.2.1", "anna", T0)
    th.success("anna")
    assert not th.blocked("192.0.2.9", "anna", T0 + S)
    assert th.blocked("192.0.2.1", "bert", T0 + S)


def test_key_table_is_bounded() -> None:
    th = LoginThrottle(limit=5, max_keys=10)
    for i in range(100):
        th.failure(f"192.0.2.{i}", f"u{i}", T0)
    assert len(th._failures) <= 10
