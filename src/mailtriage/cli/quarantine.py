"""``mailtriage quarantine list | show | replay``: mail that could not be processed."""

from __future__ import annotations

import sys
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import Any

import click
from rich.table import Table

from mailtriage.cli.context import AppContext
from mailtriage.cli.output import console, print_json
from mailtriage.errors import NotFoundError
from mailtriage.services.serialize import iso
from mailtriage.store.files import FileStore
from mailtriage.store.models import QuarantineEntry


@click.group("quarantine")
def quarantine_group() -> None:
    """Mail that could not be processed, with the reason and a way to replay it."""


@quarantine_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also entries already replayed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def quarantine_list(app: AppContext, show_all: bool, as_json: bool) -> None:
    """Quarantined mail, newest first."""
    from mailtriage.services.replay import list_entries

    zone = app.config.calendar.zone
    rows: list[dict[str, Any]] = [
        {"id": e.id, "mailbox": e.mailbox, "folder": e.folder, "uid": e.uid, "size": e.size,
         "reason": e.reason, "detail": e.detail, "status": e.status, "attempts": e.attempts,
         "headers_only": e.headers_only, "created_at": iso(e.created_at, zone)}
        for e in list_entries(app.db(), status=None if show_all else "open")
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} quarantined mail(s)")
    for col in ("id", "mailbox", "uid", "size", "reason", "detail", "status"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["id"]), f"{r['mailbox']}/{r['folder']}", str(r["uid"]),
                      str(r["size"]), str(r["reason"]), str(r["detail"])[:60], str(r["status"]))
    console().print(table)


@quarantine_group.command("show")
@click.argument("entry_id", type=int)
@click.option("--raw", is_flag=True, help="Print the raw bytes kept (to stdout).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def quarantine_show(app: AppContext, entry_id: int, raw: bool, as_json: bool) -> None:
    """One quarantined mail: reason, headers, and optionally the raw bytes."""
    with app.db().session(read_only=True) as s:
        e = s.get(QuarantineEntry, entry_id)
        if e is None:
            raise NotFoundError(f"There is no quarantine entry {entry_id}.")
        data = e.raw if e.raw is not None else FileStore(app.config.storage.directory).get(
            e.raw_key or "")
        info = {"id": e.id, "mailbox": e.mailbox, "folder": e.folder,
                "uidvalidity": e.uidvalidity, "uid": e.uid, "sha256": e.sha256, "size": e.size,
                "reason": e.reason, "detail": e.detail, "status": e.status,
                "headers_only": e.headers_only, "attempts": e.attempts,
                "created_at": iso(e.created_at, app.config.calendar.zone)}
    if raw:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    headers = BytesHeaderParser(policy=default_policy).parsebytes(data[:65536])
    info["headers"] = {k: str(headers.get(k, "")) for k in ("From", "To", "Subject", "Date",
                                                            "Message-ID")}
    if as_json:
        print_json(info)
        return
    out = console()
    for key, value in info.items():
        out.print(f"{key}: {value}", markup=False)


@quarantine_group.command("replay")
@click.argument("entry_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def quarantine_replay(app: AppContext, entry_id: int, as_json: bool) -> int:
    """Run a quarantined mail through the intake again."""
    from mailtriage.services.replay import replay

    outcome = replay(app.config, app.db(), entry_id, app.now())
    result = {"id": entry_id, "outcome": outcome.kind, "reason": outcome.reason,
              "ticket": outcome.ticket_number}
    if as_json:
        print_json(result)
    else:
        ticket = f" as ticket #{outcome.ticket_number}" if outcome.ticket_number else ""
        click.echo(f"Entry {entry_id}: {outcome.kind}{ticket}. {outcome.reason}")
    return 0 if outcome.kind != "quarantined" else 1


COMMANDS = [quarantine_group]
