"""The alert watch: stored and read back, and when it holds (same facts, same config, in time)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mailtriage.config import Config, NotifyConfig, SlaConfig
from mailtriage.services.alert_watch import AlertWatch, config_fingerprint

CONFIG = Config(notify=NotifyConfig(staff_alert_address="dienst@example.test"))
UNTIL = datetime(2025, 3, 11, 11, 30, tzinfo=UTC)
WATCH = AlertWatch(UNTIL, "nothing to report", config_fingerprint(CONFIG), (3, 3, 7, 9, 0, 0))


def test_round_trip_through_json() -> None:
    assert AlertWatch.from_json(WATCH.as_json()) == WATCH
    assert WATCH.as_json()["until"] == "2025-03-11T11:30:00+00:00"


@pytest.mark.parametrize("value", [
    None, "text", [], {}, {**WATCH.as_json(), "until": "soon"},
    {**WATCH.as_json(), "until": "2025-03-11T11:30:00"},  # no offset: not ours
    {**WATCH.as_json(), "facts": ["x"]}, {k: v for k, v in WATCH.as_json().items()
                                         if k != "config"},
])
def test_anything_else_is_no_watch(value: Any) -> None:
    assert AlertWatch.from_json(value) is None


@pytest.mark.parametrize(("config", "facts", "now", "holds"), [
    (CONFIG, (3, 3, 7, 9, 0, 0), UNTIL - timedelta(microseconds=1), True),
    # the instant itself: a clock may change status then
    (CONFIG, (3, 3, 7, 9, 0, 0), UNTIL, False),
    # a new event, a correction, a ticket committed late with a lower id (the count moves)
    (CONFIG, (3, 3, 8, 10, 0, 0), UNTIL - timedelta(hours=1), False),
    (CONFIG, (3, 3, 7, 9, 1, 1), UNTIL - timedelta(hours=1), False),
    (CONFIG, (4, 3, 7, 9, 0, 0), UNTIL - timedelta(hours=1), False),
    (CONFIG, None, UNTIL - timedelta(hours=1), False),
    # other targets, another at-risk fraction or another address: computed for another config
    (replace(CONFIG, sla=SlaConfig(at_risk_fraction=0.5)), (3, 3, 7, 9, 0, 0),
     UNTIL - timedelta(hours=1), False),
    (replace(CONFIG, notify=NotifyConfig(staff_alert_address="x@example.test")),
     (3, 3, 7, 9, 0, 0), UNTIL - timedelta(hours=1), False),
])
def test_holds_only_for_the_same_facts_and_config_before_its_instant(
        config: Config, facts: tuple[int, ...] | None, now: datetime, holds: bool) -> None:
    assert WATCH.holds(config, facts, now) is holds


def test_another_release_does_not_trust_the_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    # A new release may know other holidays (it pins the holidays package) or judge clocks
    # otherwise: its first run takes the full pass.
    import mailtriage

    monkeypatch.setattr(mailtriage, "__version__", "99.0.0")
    assert not WATCH.holds(CONFIG, (3, 3, 7, 9, 0, 0), UNTIL - timedelta(hours=1))
