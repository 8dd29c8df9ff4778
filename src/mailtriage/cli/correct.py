"""``mailtriage correct`` and ``tickets status``: staff corrections from the command line."""

from __future__ import annotations

import getpass
import os

import click

from mailtriage.classify.decision import PRIORITIES, TYPES
from mailtriage.cli.context import AppContext
from mailtriage.cli.output import print_json
from mailtriage.statuses import STATUSES


def actor_name() -> str:
    """Who is correcting: $MAILTRIAGE_ACTOR, else the login name."""
    return os.environ.get("MAILTRIAGE_ACTOR") or getpass.getuser()


@click.command("correct")
@click.argument("number", type=int)
@click.option("--type", "type_", type=click.Choice(TYPES))
@click.option("--priority", type=click.Choice(PRIORITIES))
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--hours", type=float, help="The estimate of a change request, in hours.")
@click.option("--generic/--not-generic", default=None,
              help="A change to the generic code (goes into a next release).")
@click.option("--note", default="", help="Why; kept in the correction history.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def correct_command(app: AppContext, number: int, type_: str | None, priority: str | None,
                    status: str | None, hours: float | None, generic: bool | None, note: str,
                    as_json: bool) -> None:
    """Correct ticket NUMBER: recorded with who and when, recomputes the commitment, feeds
    training, and tells the customer when the commitment changed."""
    from mailtriage.services.corrections import apply_correction

    result = apply_correction(app.config, app.db(), number, actor=actor_name(), type_=type_,
                              priority=priority, status=status, note=note, now=app.now(),
                              change_hours=hours, generic=generic)
    if as_json:
        print_json({"number": result.ticket_number, "before": result.before,
                    "after": result.after, "commitment_changed": result.commitment_changed,
                    "customer_update": result.customer_update})
        return
    changes = [f"{k}: {result.before[k]} → {result.after[k]}" for k in result.after
               if result.before[k] != result.after[k]]
    click.echo(f"Ticket #{result.ticket_number} corrected." + ("" if changes else
                                                                " Nothing changed."))
    for line in changes:
        click.echo(f"  {line}")
    if result.customer_update != "none":
        click.echo(f"  customer informed: {result.customer_update}")


COMMANDS = [correct_command]
