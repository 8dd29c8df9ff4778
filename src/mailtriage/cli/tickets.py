"""``mailtriage tickets list | show | status``: the queue and one ticket, for people or JSON."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import click
from rich.table import Table
from sqlalchemy import select

from mailtriage.cli.context import AppContext
from mailtriage.cli.output import console, err_console, print_json, short_time
from mailtriage.errors import NotFoundError
from mailtriage.services.serialize import ticket_detail, ticket_summary
from mailtriage.statuses import ACTIVE_STATUSES, AFTER_REPLY_STATUSES, STATUSES
from mailtriage.store.models import Ticket


@click.group("tickets")
def tickets_group() -> None:
    """List and show tickets."""


@tickets_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("--status", help="Only tickets with this status (new, open, waiting, resolved, "
                               "closed).")
@click.option("--type", "type_", type=click.Choice(["incident", "change", "other"]),
              help="Only tickets of this type.")
@click.option("--needs-review", is_flag=True, help="Only tickets that need review.")
@click.option("--limit", type=click.IntRange(1, 100000), default=200, show_default=True)
@click.pass_obj
def tickets_list(app: AppContext, as_json: bool, status: str | None, type_: str | None,
                 needs_review: bool, limit: int) -> None:
    """Tickets, newest first."""
    zone = app.config.calendar.zone
    query = select(Ticket).order_by(Ticket.received_at.desc(), Ticket.id.desc()).limit(limit)
    if status:
        query = query.where(Ticket.status == status)
    if type_:
        query = query.where(Ticket.type == type_)
    if needs_review:
        query = query.where(Ticket.needs_review.is_(True))
    with app.db().session(read_only=True) as s:
        rows = [ticket_summary(t, zone) for t in s.scalars(query)]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} ticket(s)")
    for col in ("#", "received", "from", "subject", "type", "prio", "conf", "response due",
                "resolution due", "status"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["number"]), short_time(r["received_at"]), r["requester"] or "-",
            (r["subject"] or "")[:50], (r["type"] or "-") + (" ?" if r["needs_review"] else ""),
            r["priority"] or "-",
            "-" if r["confidence"] is None else f"{r['confidence']:.2f}",
            short_time(r["response_due"]), short_time(r["resolution_due"]), r["status"],
        )
    console().print(table)


@tickets_group.command("show")
@click.argument("number", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def tickets_show(app: AppContext, number: int, as_json: bool) -> None:
    """One ticket with its messages, classification history and corrections."""
    from mailtriage.services.clocks import clocks_for
    from mailtriage.services.commitments import CommitmentCalculator

    zone = app.config.calendar.zone
    now = app.now()
    with app.db().session(read_only=True) as s:
        t = s.scalar(select(Ticket).where(Ticket.number == number))
        if t is None:
            raise NotFoundError(f"There is no ticket #{number}.")
        clocks = clocks_for(s, t, CommitmentCalculator(app.config), now)
        data = ticket_detail(s, t, zone, clocks=clocks, now=now)
    if as_json:
        print_json(data)
        return
    out = console()
    out.print(f"[bold]#{data['number']}[/bold] {data['subject']}")
    out.print(f"From: {data['requester']}  SLA: {data['sla']}  Status: {data['status']}")
    review = " (needs review)" if data["needs_review"] else ""
    out.print(f"Type: {data['type']}  Priority: {data['priority'] or '-'}  "
              f"Confidence: {data['confidence']}{review}")
    out.print(f"Decided by: {data['decided_by']}")
    for reason in data["reasons"]:
        out.print(f"  - {reason}")
    out.print(f"Received: {short_time(data['received_at'])}  Response due: "
              f"{short_time(data['response_due'])}  Resolution due: "
              f"{short_time(data['resolution_due'])}")
    if data["clocks"]:
        out.print("Clocks: " + "  ".join(
            f"{kind} {_clock_words(data['clocks'][kind])}" for kind in ("response", "resolution")))
    for m in data["messages"]:
        reason = f": {m['reason']}" if m["reason"] else ""
        out.print(f"\n[bold]{m['direction']}[/bold] {short_time(m['received_at'])} "
                  f"{m['from']} ({m['origin']}, {m['outcome']}{reason})")
        out.print(m["text"][:2000], markup=False)
        for note in m["notes"]:
            out.print(f"  note: {note}", markup=False)
    if data["corrections"]:
        out.print("\n[bold]Corrections[/bold]")
        for c in data["corrections"]:
            out.print(f"  {short_time(c['at'])} {c['actor']}: {c['before']} → {c['after']} "
                      f"{c['note']}", markup=False)
    if data["outbox"]:
        out.print("\n[bold]Outgoing mail[/bold]")
        for o in data["outbox"]:
            out.print(f"  {o['kind']} to {', '.join(o['to'])}: {o['status']}", markup=False)


def _clock_words(clock: dict[str, Any]) -> str:
    """``running, 1:30 left`` / ``met`` / ``breached`` in office time, for the plain output."""
    state = str(clock["state"]).replace("_", " ")
    if clock["stopped_at"] is None and clock["state"] in ("running", "at_risk", "paused"):
        minutes = clock["remaining_seconds"] // 60
        return f"{state}, {minutes // 60}:{minutes % 60:02d} left"
    return state


@tickets_group.command("status")
@click.argument("number", type=int)
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--note", default="", help="Why; kept in the ticket's history.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def tickets_status(app: AppContext, number: int, status: str, note: str, as_json: bool) -> None:
    """Set the status of ticket NUMBER (waiting pauses the resolution clock)."""
    from mailtriage.cli.correct import actor_name
    from mailtriage.services.corrections import apply_correction

    result = apply_correction(app.config, app.db(), number, actor=actor_name(), status=status,
                              note=note, now=app.now())
    if as_json:
        print_json({"number": result.ticket_number, "before": result.before,
                    "after": result.after})
    else:
        click.echo(f"Ticket #{number}: {result.before['status']} → {result.after['status']}.")


@tickets_group.command("bulk-status")
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--received-before", "before", required=True,
              type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Only tickets received before this day (00:00 in the calendar's zone).")
@click.option("--only-status", "only", multiple=True, show_default=True,
              type=click.Choice(STATUSES),
              default=ACTIVE_STATUSES,
              help="Only tickets with this status now (repeat for several).")
@click.option("--note", default="", help="Why; kept in each ticket's history.")
@click.option("--dry-run", is_flag=True, help="Only list the tickets that would change.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def tickets_bulk_status(app: AppContext, status: str, before: datetime, only: tuple[str, ...],
                        note: str, dry_run: bool, as_json: bool) -> None:
    """Set STATUS on every ticket received before a day, e.g. close the old mail that a first
    run over a long-used mailbox made into tickets. Each change is a correction with who, when
    and the note, as `tickets status` makes it."""
    from mailtriage.cli.correct import actor_name
    from mailtriage.services.corrections import apply_correction, tickets_received_before

    cutoff = before.replace(tzinfo=app.config.calendar.zone)
    numbers = tickets_received_before(app.db(), cutoff, only)
    changed: list[int] = []
    if not dry_run and numbers:
        from mailtriage.services.commitments import CommitmentCalculator

        actor, now, calc = actor_name(), app.now(), CommitmentCalculator(app.config)
        with _progress(not as_json, len(numbers), f"setting {status}") as advance:
            for number in numbers:
                apply_correction(app.config, app.db(), number, actor=actor, status=status,
                                 note=note, now=now, calc=calc)
                changed.append(number)
                advance()
    if as_json:
        print_json({"status": status, "received_before": cutoff.isoformat(),
                    "only_status": list(only), "dry_run": dry_run, "tickets": numbers,
                    "changed": len(changed)})
    elif dry_run:
        click.echo(f"{len(numbers)} ticket(s) would be set to {status}: "
                   f"{', '.join(f'#{n}' for n in numbers) or '-'}.")
    else:
        click.echo(f"{len(changed)} ticket(s) set to {status}.")


@contextmanager
def _progress(show: bool, total: int, label: str) -> Iterator[Callable[[], None]]:
    """A progress bar on standard error while a long bulk change runs."""
    if not show:
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(console=err_console(), transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)


@tickets_group.command("reply")
@click.argument("number", type=int)
@click.option("--text", help="The reply (default: read from standard input).")
@click.option("--then", "then_status", type=click.Choice(AFTER_REPLY_STATUSES),
              help="Status after the reply (waiting pauses the resolution clock).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def tickets_reply(app: AppContext, number: int, text: str | None, then_status: str | None,
                  as_json: bool) -> None:
    """Reply to the requester of ticket NUMBER through the outbox (counts as a response)."""
    import sys

    from mailtriage.cli.correct import actor_name
    from mailtriage.services.staff_reply import send_staff_reply

    body = text if text is not None else sys.stdin.read()
    result = send_staff_reply(app.config, app.db(), number, actor=actor_name(), text=body,
                              now=app.now(), then_status=then_status)
    if as_json:
        print_json({"number": result.ticket_number, "message_id": result.message_id,
                    "to": result.recipient, "first_response": result.first_response,
                    "status": result.status})
    else:
        click.echo(f"Reply to {result.recipient} queued on #{number}; it goes out with the "
                   f"next run. Status: {result.status}.")


COMMANDS = [tickets_group]

