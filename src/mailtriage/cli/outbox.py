"""``mailtriage outbox list | show | requeue``: the mail mailtriage sends, and its state."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.table import Table
from sqlalchemy import select

from mailtriage.cli.context import AppContext
from mailtriage.cli.output import console, print_json, short_time
from mailtriage.errors import NotFoundError, UsageError
from mailtriage.services.serialize import iso
from mailtriage.store.models import OutboxItem, Ticket

STATUSES = ("pending", "claimed", "sending", "sent", "failed", "uncertain")


@click.group("outbox")
def outbox_group() -> None:
    """Outgoing mail: acknowledgements, updates, staff replies and alerts."""


@outbox_group.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only rows in this state.")
@click.option("--limit", type=click.IntRange(1, 100000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def outbox_list(app: AppContext, status: str | None, limit: int, as_json: bool) -> None:
    """Outgoing mail, newest first, with its delivery state."""
    zone = app.config.calendar.zone
    query = (select(OutboxItem, Ticket.number).outerjoin(Ticket, OutboxItem.ticket_id == Ticket.id)
             .order_by(OutboxItem.id.desc()).limit(limit))
    if status:
        query = query.where(OutboxItem.status == status)
    with app.db().session(read_only=True) as s:
        rows: list[dict[str, Any]] = [
            {"id": o.id, "ticket": number, "kind": o.kind, "to": o.recipients,
             "subject": o.subject, "status": o.status, "attempts": o.attempts,
             "last_error": o.last_error, "message_id": o.message_id,
             "created_at": iso(o.created_at, zone), "sent_at": iso(o.sent_at, zone),
             "next_attempt_at": iso(o.next_attempt_at, zone)}
            for o, number in s.execute(query)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} outgoing mail(s)")
    for col in ("id", "#", "kind", "to", "subject", "status", "tries", "sent", "last error"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["id"]), str(r["ticket"] or "-"), r["kind"], ", ".join(r["to"]),
                      r["subject"][:50], r["status"], str(r["attempts"]),
                      short_time(r["sent_at"]), (r["last_error"] or "")[:60])
    console().print(table)


@outbox_group.command("show")
@click.argument("row_id", type=int)
@click.pass_obj
def outbox_show(app: AppContext, row_id: int) -> None:
    """Print one outgoing mail exactly as it is (or was) handed to the SMTP server."""
    with app.db().session(read_only=True) as s:
        item = s.get(OutboxItem, row_id)
        if item is None:
            raise NotFoundError(f"There is no outgoing mail {row_id}.")
        body = item.body
    sys.stdout.buffer.write(body)
    sys.stdout.flush()


@outbox_group.command("requeue")
@click.argument("row_id", type=int)
@click.pass_obj
def outbox_requeue(app: AppContext, row_id: int) -> None:
    """Send an 'uncertain' or 'failed' mail again with the next run (staff's decision)."""
    from mailtriage.services.delivery import requeue

    if not requeue(app.db(), row_id, app.now()):
        raise UsageError(f"Outgoing mail {row_id} does not exist or is not uncertain or failed.")
    click.echo(f"Outgoing mail {row_id} goes out with the next run.")


COMMANDS = [outbox_group]
