"""A month of incidents through the lifecycle services, and the SLA report counted by hand.

Twenty incidents for March 2026 are written the way the helpdesk lives them: the ticket is
stored with the deadlines the intake gives it, staff answer with ``send_staff_reply`` (some then
wait on the customer), a waiting ticket is set open again with ``apply_correction`` and finally
resolved with it. Every due instant below is worked out by hand (office hours Monday to Friday
08:30-17:00, Europe/Amsterdam; no holidays in March 2026; summer time from Sunday 29 March,
which does not move office hours), and the expected report is a hand count of the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mailtriage.config import Config, DatabaseConfig
from mailtriage.errors import UsageError
from mailtriage.services.commitments import CommitmentCalculator
from mailtriage.services.compliance import monthly_report, row_json
from mailtriage.services.corrections import apply_correction
from mailtriage.services.staff_reply import send_staff_reply
from mailtriage.store.database import Database
from mailtriage.store.models import Message, Ticket

AMS = ZoneInfo("Europe/Amsterdam")


def t(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=AMS)


def mar(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return t(3, day, hour, minute, second)


@dataclass(frozen=True)
class Incident:
    """One incident's life; ``resolution_due`` is the final one (after any pause)."""

    key: str
    priority: str
    received: datetime
    response_due: datetime
    resolution_due: datetime
    reply: datetime
    resolved: datetime | None
    resumed: datetime | None = None
    """Set: the reply put the ticket on waiting, and it went back to open at this instant."""


# Targets: high 2 h / 4 h, medium 8 h / 16 h, low 16 h / 5 working days (same clock time five
# working days later). A standard day is 8.5 office hours.
MARCH = (
    # Mon 09:00 +2 h = 11:00, +4 h = 13:00. Both met.
    Incident("H1", "high", mar(2, 9), mar(2, 11), mar(2, 13), mar(2, 10), mar(2, 12)),
    # Tue 14:00: response 16:00 (met exactly on time); resolution 3 h Tue + 1 h Wed = Wed 09:30,
    # resolved one second late.
    Incident("H2", "high", mar(3, 14), mar(3, 16), mar(4, 9, 30), mar(3, 16),
             mar(4, 9, 30, 1)),
    # Thu 16:30: response 0.5 h Thu + 1.5 h Fri = Fri 10:00. Resolution would be Fri 12:00, but
    # the ticket waited Fri 09:00-11:00 (2 office hours): 1 h elapsed before, 3 h left from
    # 11:00 = 14:00. Resolved 13:30: met thanks to the pause.
    Incident("H3", "high", mar(5, 16, 30), mar(6, 10), mar(6, 14), mar(6, 9), mar(6, 13, 30),
             resumed=mar(6, 11)),
    # Mon 08:00 counts from 08:30: response 10:30 (answered 10:31, missed), resolution 12:30.
    Incident("H4", "high", mar(9, 8), mar(9, 10, 30), mar(9, 12, 30), mar(9, 10, 31),
             mar(9, 12)),
    # Fri 16:00: 1 h Fri, then Mon: response 09:30, resolution 11:30. Both met.
    Incident("H5", "high", mar(13, 16), mar(16, 9, 30), mar(16, 11, 30), mar(16, 9),
             mar(16, 11)),
    # Tue 31 Mar 15:00 (summer time): response 17:00 (the closing time, not the next morning);
    # resolution 2 h Tue + 2 h Wed 1 April = 10:30, so it counts in April.
    Incident("H6", "high", mar(31, 15), mar(31, 17), t(4, 1, 10, 30), mar(31, 16, 59),
             t(4, 1, 10)),
    # Mon 10:00: response 7 h + 1 h = Tue 09:30; resolution 7 + 8.5 + 0.5 = Wed 09:00.
    Incident("M1", "medium", mar(2, 10), mar(3, 9, 30), mar(4, 9), mar(2, 11), mar(3, 15)),
    # Wed 03:00 counts from 08:30: response 16:30, resolution 8.5 h + 7.5 h = Thu 16:00; both
    # finished exactly on the due instant (met).
    Incident("M2", "medium", mar(4, 3), mar(4, 16, 30), mar(5, 16), mar(4, 16, 30), mar(5, 16)),
    # Thu 12:00: response 5 h + 3 h = Fri 11:30 (answered 11:31, missed); resolution
    # 5 + 8.5 + 2.5 = Mon 9 March 11:00.
    Incident("M3", "medium", mar(5, 12), mar(6, 11, 30), mar(9, 11), mar(6, 11, 31), mar(9, 10)),
    # Tue 09:00: response 09:00 + 8 h = 17:00; resolution 8 h + 8 h = Wed 16:30, resolved Thu
    # (missed).
    Incident("M4", "medium", mar(10, 9), mar(10, 17), mar(11, 16, 30), mar(10, 16), mar(12, 9)),
    # Wed 13:00: response 4 h + 4 h = Thu 12:30. Waiting from Wed 14:00 to Mon 16 March 10:00:
    # 1 h elapsed before, 15 h left from Mon 10:00: 7 h Mon + 8 h Tue = Tue 17 March 16:30
    # (without the pause Fri 13 March 12:00). Resolved Tue 16:00: met.
    Incident("M5", "medium", mar(11, 13), mar(12, 12, 30), mar(17, 16, 30), mar(11, 14),
             mar(17, 16), resumed=mar(16, 10)),
    # Mon 08:30: response 16:30; resolution 8.5 h + 7.5 h = Tue 16:00; never resolved (missed).
    Incident("M6", "medium", mar(16, 8, 30), mar(16, 16, 30), mar(17, 16), mar(16, 9), None),
    # Fri 27 March 15:00 (winter time): 2 h Fri, then Mon 30 March (summer time) from 08:30:
    # response +6 h = 14:30, resolution 2 + 8.5 + 5.5 = Tue 31 March 14:00.
    Incident("M8", "medium", mar(27, 15), mar(30, 14, 30), mar(31, 14), mar(30, 14),
             mar(31, 13)),
    # Fri 27 February 10:00: response 7 h + 8.5 h + 0.5 h = Tue 3 March 09:00; resolution Fri
    # 6 March 10:00. Received in February, counted in March.
    Incident("L1", "low", t(2, 27, 10), mar(3, 9), mar(6, 10), mar(2, 9), mar(5, 16)),
    # Mon 14:00: response 3 + 8.5 + 4.5 = Wed 13:00; resolution Mon 9 March 14:00 (resolved on
    # the dot: met).
    Incident("L2", "low", mar(2, 14), mar(4, 13), mar(9, 14), mar(4, 12), mar(9, 14)),
    # Wed 09:30: response 7.5 + 8.5 = Thu 17:00 (answered then: met); resolution Wed 11 March
    # 09:30, resolved a minute late.
    Incident("L3", "low", mar(4, 9, 30), mar(5, 17), mar(11, 9, 30), mar(5, 17), mar(11, 9, 31)),
    # Tue 11:00: response 6 + 8.5 + 1.5 = Thu 10:00; resolution Tue 17 March 11:00.
    Incident("L4", "low", mar(10, 11), mar(12, 10), mar(17, 11), mar(10, 15), mar(13, 10)),
    # Thu 16:00: response 1 + 8.5 + 6.5 = Mon 16 March 15:00. Resolution target 42.5 h (Thu 19
    # March 16:00 unpaused); waiting Fri 13 10:00 - Tue 17 09:00: 2.5 h elapsed before
    # (Thu 1 h, Fri 1.5 h), 40 h left from Tue 09:00: Tue 8, Wed 8.5, Thu 8.5, Fri 8.5 = 33.5,
    # then 6.5 h Mon 23 March = 15:00. Resolved 14:00: met.
    Incident("L5", "low", mar(12, 16), mar(16, 15), mar(23, 15), mar(13, 10), mar(23, 14),
             resumed=mar(17, 9)),
    # Wed 10:00: response 7 + 8.5 + 0.5 = Fri 09:00; resolution Wed 25 March 10:00.
    Incident("L6", "low", mar(18, 10), mar(20, 9), mar(25, 10), mar(19, 9), mar(24, 10)),
    # Mon 23 March 12:00: response 5 + 8.5 + 2.5 = Wed 11:00; resolution Mon 30 March 12:00
    # (summer time, same clock time).
    Incident("L7", "low", mar(23, 12), mar(25, 11), mar(30, 12), mar(25, 11), mar(30, 11, 59)),
)

# The hand count of MARCH for 2026-03 (H6's resolution falls in April).
#   high   response: H4 late            -> 5 of 6 = 83.33%  (target 100: failed)
#          resolution: H2 late (H6 out) -> 4 of 5 = 80%     (target 85: failed; n < 7)
#   medium response: M3 late            -> 6 of 7 = 85.71%  (failed)
#          resolution: M4 late, M6 open -> 5 of 7 = 71.43%  (failed)
#   low    response: all                -> 7 of 7 = 100%    (passed)
#          resolution: L3 late          -> 6 of 7 = 85.71%  (passed: n = 7)


def measure(n: int, met: int, percentage: float | None, target: float,
            passed: bool | None) -> dict[str, Any]:
    return {"n": n, "met": met, "pending": 0, "percentage": percentage, "target": target,
            "passed": passed}


EXPECTED_MARCH = [
    {"month": "2026-03", "priority": "high",
     "response": measure(6, 5, 83.33, 100.0, False),
     "resolution": measure(5, 4, 80.0, 85.0, False)},
    {"month": "2026-03", "priority": "medium",
     "response": measure(7, 6, 85.71, 100.0, False),
     "resolution": measure(7, 5, 71.43, 85.0, False)},
    {"month": "2026-03", "priority": "low",
     "response": measure(7, 7, 100.0, 100.0, True),
     "resolution": measure(7, 6, 85.71, 85.0, True)},
]
EXPECTED_APRIL = [
    {"month": "2026-04", "priority": "high",
     "response": measure(0, 0, None, 100.0, None),
     "resolution": measure(1, 1, 100.0, 85.0, True)},
]
REPORT_NOW = t(4, 10, 12)
FIRST_NUMBER = 1001


def build_month(config: Config, db: Database) -> dict[str, int]:
    """Write MARCH (plus a change and an 'other' ticket, which have no clock); key -> number."""
    db.migrate()
    calc = CommitmentCalculator(config)
    numbers: dict[str, int] = {}
    with db.session() as s:
        for index, inc in enumerate(MARCH):
            number = FIRST_NUMBER + index
            numbers[inc.key] = number
            requester = f"klant{index}@bedrijf{index}.example"
            # As the intake stores a new ticket: the deadlines of the commitment at receipt.
            c = calc.for_ticket(requester=requester, type_="incident", priority=inc.priority,
                                received_at=inc.received)
            ticket = Ticket(number=number, subject=f"Storing {inc.key}", requester=requester,
                            requester_name=f"Klant {index}", sla_level=c.sla_level,
                            type="incident", priority=inc.priority, status="new",
                            received_at=inc.received, response_due=c.response_due,
                            resolution_due=c.resolution_due)
            s.add(ticket)
            s.flush()
            s.add(Message(ticket_id=ticket.id, mailbox="helpdesk", sha256=f"{index:064x}",
                          message_id=f"<{inc.key}@bedrijf{index}.example>", sender=requester,
                          received_at=inc.received, outcome="ticket"))
        for offset, type_ in enumerate(("change", "other")):
            s.add(Ticket(number=FIRST_NUMBER + len(MARCH) + offset, subject=type_,
                         requester="iemand@elders.example", type=type_, status="new",
                         received_at=mar(10, 10)))
    for inc in MARCH:
        number = numbers[inc.key]
        send_staff_reply(config, db, number, actor="anna", text="We pakken het op.",
                         now=inc.reply, then_status="waiting" if inc.resumed else None)
        if inc.resumed:
            apply_correction(config, db, number, actor="anna", status="open", now=inc.resumed,
                             note="the customer answered")
        if inc.resolved:
            apply_correction(config, db, number, actor="anna", status="resolved",
                             now=inc.resolved)
    return numbers


@pytest.fixture
def month(db_url: str) -> Iterator[tuple[Config, Database]]:
    config = Config(database=DatabaseConfig(db_url))
    db = Database(db_url)
    build_month(config, db)
    yield config, db
    db.dispose()


def test_the_lifecycle_leaves_the_deadlines_computed_by_hand(
        month: tuple[Config, Database]) -> None:
    _config, db = month
    with db.session() as s:
        rows = {r.number: r for r in s.scalars(select(Ticket))}
    for index, inc in enumerate(MARCH):
        ticket = rows[FIRST_NUMBER + index]
        assert ticket.response_due == inc.response_due, inc.key
        assert ticket.resolution_due == inc.resolution_due, inc.key
        assert ticket.first_response_at == inc.reply, inc.key
        assert ticket.resolved_at == inc.resolved, inc.key
        assert ticket.status == ("resolved" if inc.resolved else "open"), inc.key


def test_march_report_equals_the_hand_count(month: tuple[Config, Database]) -> None:
    config, db = month
    rows = monthly_report(config, db, "2026-03", REPORT_NOW)
    assert [row_json(r) for r in rows] == EXPECTED_MARCH


def test_every_month_without_a_filter(month: tuple[Config, Database]) -> None:
    config, db = month
    rows = monthly_report(config, db, None, REPORT_NOW)
    assert [row_json(r) for r in rows] == EXPECTED_MARCH + EXPECTED_APRIL
    assert monthly_report(config, db, "2026-02", REPORT_NOW) == ()


def test_deadlines_still_ahead_are_pending_not_missed(month: tuple[Config, Database]) -> None:
    config, db = month
    # Asked on Tue 17 March 12:00, a measure finished later has not finished yet: it is
    # pending while its due instant is ahead, missed once that has passed.
    #   high   response: H6 pending; H4 late                   -> 4 of 5, 1 pending
    #          resolution: H1-H5 all finished; H2 late         -> 4 of 5
    #   medium response: M8 pending; M3 late                   -> 5 of 6, 1 pending
    #          resolution: M5 (due 16:30), M6 (due 16:00, never resolved), M8 pending;
    #                      M1-M3 met, M4 late                  -> 3 of 4, 3 pending
    #   low    response: L6, L7 pending                        -> 5 of 5, 2 pending
    #          resolution: L5-L7 pending; L3 late              -> 3 of 4, 3 pending
    def pending(m: dict[str, Any], count: int) -> dict[str, Any]:
        return {**m, "pending": count}

    rows = [row_json(r) for r in monthly_report(config, db, "2026-03", mar(17, 12))]
    assert rows == [
        {"month": "2026-03", "priority": "high",
         "response": pending(measure(5, 4, 80.0, 100.0, False), 1),
         "resolution": measure(5, 4, 80.0, 85.0, False)},
        {"month": "2026-03", "priority": "medium",
         "response": pending(measure(6, 5, 83.33, 100.0, False), 1),
         "resolution": pending(measure(4, 3, 75.0, 85.0, False), 3)},
        {"month": "2026-03", "priority": "low",
         "response": pending(measure(5, 5, 100.0, 100.0, True), 2),
         "resolution": pending(measure(4, 3, 75.0, 85.0, False), 3)},
    ]


def test_a_month_must_be_written_yyyy_mm(month: tuple[Config, Database]) -> None:
    config, db = month
    with pytest.raises(UsageError, match="YYYY-MM"):
        monthly_report(config, db, "March 2026", REPORT_NOW)
