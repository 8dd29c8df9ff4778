"""The ticket statuses in lifecycle order, and the groups of them the program treats alike.

The store keeps a ticket's status as text; the intake, the SLA clocks, the replies, the staff
alerts, the corrections, the staff UI and the CLI all take their statuses from here.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

TicketStatus = Literal["new", "open", "waiting", "resolved", "closed"]
StaffStatus = Literal["open", "waiting", "resolved", "closed"]
"""What staff set in the web UI and the API; "new" is the intake's alone."""

STATUSES: Final[tuple[TicketStatus, ...]] = get_args(TicketStatus)
STAFF_STATUSES: Final[tuple[StaffStatus, ...]] = get_args(StaffStatus)

ACTIVE_STATUSES: Final = ("new", "open", "waiting")
"""Still to be worked on: the staff queue's default, and the open changes behind a change's
target window."""

DONE_STATUSES: Final = ("resolved", "closed")
"""Finished: a customer's mail reopens it (within the reopen window); no SLA alerts."""

HELD_STATUSES: Final = ("waiting", "resolved", "closed")
"""The resolution clock does not run: waiting on the customer (spec decision 7), and resolved or
closed until the customer reopens it (the office time between a resolution and a reopening is
not the helpdesk's; a resolved ticket's clock has stopped anyway)."""

AFTER_REPLY_STATUSES: Final = ("open", "waiting", "resolved")
"""What a ticket may become when staff answer it from mailtriage."""
