"""The ``mailtriage sla`` commands: deadlines, change windows and the office calendar.

* ``deadline --received ISO8601 --priority P [--customer ADDRESS] [--json]``. A ``--received``
  time without an offset is read as local time of the calendar's zone (in the autumn's repeated
  hour, its first occurrence). The customer address decides the SLA level; without one the
  configured default level applies.
* ``change-window --start DATE --hours H --workload low|high [--generic] [--agreed DATE] [--json]``.
* ``calendar --year YYYY [--json]``: the year's effective closing days and part days.

JSON times are ISO 8601 with the calendar's offset; dates are ``YYYY-MM-DD``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import click
from rich.table import Table

from mailtriage.cli.output import console, print_json
from mailtriage.config import WEEKDAYS, Config, SlaLevel
from mailtriage.errors import UsageError
from mailtriage.sla.calendar import BusinessCalendar
from mailtriage.sla.changes import ChangeWindow, change_window
from mailtriage.sla.commitments import commitment_for, sla_level_for

_DAYS_NL = ("ma", "di", "wo", "do", "vr", "za", "zo")
_MONTHS_NL = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov",
              "dec")


def dutch_date(day: date) -> str:
    """'di 11 mrt 2025'."""
    return f"{_DAYS_NL[day.weekday()]} {day.day} {_MONTHS_NL[day.month - 1]} {day.year}"


def dutch_datetime(moment: datetime) -> str:
    """'di 11 mrt 2025 12:00' (seconds shown only when there are any)."""
    clock = f"{moment:%H:%M:%S}" if moment.second or moment.microsecond else f"{moment:%H:%M}"
    return f"{dutch_date(moment.date())} {clock}"


def _config(ctx: click.Context) -> Config:
    config = getattr(ctx.obj, "config", None)
    if not isinstance(config, Config):
        raise UsageError("No configuration was loaded for the sla commands.")
    return config


def _parse_received(text: str, calendar: BusinessCalendar) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--received \"{text}\" is not an ISO 8601 date and time.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=calendar.zone)
    return moment.astimezone(calendar.zone)


def _parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option} \"{text}\" is not a date written as YYYY-MM-DD.") from None


@click.group("sla")
@click.pass_context
def sla_group(ctx: click.Context) -> None:
    """Office-hour deadlines, change-request windows and the office calendar."""


@sla_group.command("deadline")
@click.option("--received", required=True, metavar="ISO8601",
              help="When our mail server received the mail; without an offset, local time.")
@click.option("--priority", required=True, metavar="P", help="high, medium or low.")
@click.option("--customer", metavar="ADDRESS", default=None,
              help="The sender's address; decides guaranteed, aim or none.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def deadline_command(ctx: click.Context, received: str, priority: str, customer: str | None,
                     as_json: bool) -> None:
    """The response and resolution deadlines of an incident."""
    config = _config(ctx)
    calendar = BusinessCalendar.from_config(config.calendar)
    priority = priority.strip().lower()
    if priority not in config.sla.targets:
        raise UsageError(f"--priority \"{priority}\" is not a priority; use high, medium or low.")
    moment = _parse_received(received, calendar)
    level: SlaLevel = (sla_level_for(customer, config.sla) if customer
                       else config.sla.default_sla)
    c = commitment_for(priority, moment, level, calendar, config.sla)
    if as_json:
        print_json({
            "response_due": c.response_due.isoformat(),
            "resolution_due": c.resolution_due.isoformat(),
            "guaranteed": c.guaranteed,
        })
        return
    table = Table(title=f"SLA {priority} ({level})", show_header=False)
    table.add_column("")
    table.add_column("")
    table.add_row("Ontvangen / received", dutch_datetime(moment))
    table.add_row("Klok start / clock starts", dutch_datetime(c.clock_start))
    table.add_row("Reactie / response", dutch_datetime(c.response_due))
    table.add_row("Oplossing / resolution", dutch_datetime(c.resolution_due))
    table.add_row("Garantie / guaranteed", "ja / yes" if c.guaranteed else "nee / no (streven)")
    console().print(table)


def _window_json(window: ChangeWindow) -> dict[str, Any]:
    if window.kind == "window":
        assert window.earliest is not None and window.latest is not None
        return {"kind": "window", "earliest": window.earliest.isoformat(),
                "latest": window.latest.isoformat()}
    if window.kind == "agreed":
        return {"kind": "agreed",
                "agreed": window.agreed.isoformat() if window.agreed else None}
    return {"kind": "next_release"}


@sla_group.command("change-window")
@click.option("--start", required=True, metavar="DATE",
              help="The day the estimate was accepted (or the request received), YYYY-MM-DD.")
@click.option("--hours", required=True, type=float, metavar="H", help="The estimate in hours.")
@click.option("--workload", required=True, type=click.Choice(["low", "high"]),
              help="The current workload.")
@click.option("--generic", is_flag=True, help="The change needs the generic code: next release.")
@click.option("--agreed", metavar="DATE", default=None,
              help="A date agreed with the customer (must be a delivery day).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def change_window_command(ctx: click.Context, start: str, hours: float, workload: str,
                          generic: bool, agreed: str | None, as_json: bool) -> None:
    """The target delivery window of a change request."""
    config = _config(ctx)
    calendar = BusinessCalendar.from_config(config.calendar)
    day = _parse_date(start, "--start")
    agreed_day = _parse_date(agreed, "--agreed") if agreed else None
    window = change_window(day, hours, "high" if workload == "high" else "low", calendar,
                           generic=generic, agreed=agreed_day)
    if as_json:
        print_json(_window_json(window))
        return
    table = Table(title=f"Wijziging / change: {hours:g} h, workload {workload}",
                  show_header=False)
    table.add_column("")
    table.add_column("")
    if window.kind == "window":
        assert window.earliest is not None and window.latest is not None
        table.add_row("Vroegst / earliest", dutch_date(window.earliest))
        table.add_row("Uiterlijk / latest", dutch_date(window.latest))
    elif window.kind == "agreed":
        table.add_row("Deadline", dutch_date(window.agreed) if window.agreed
                      else "in overleg met klant / agreed with the customer")
    else:
        table.add_row("Planning", "volgende release / next release")
    console().print(table)


@sla_group.command("calendar")
@click.option("--year", required=True, type=int, metavar="YYYY", help="The year to list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def calendar_command(ctx: click.Context, year: int, as_json: bool) -> None:
    """The closing days and part days of a year."""
    if not 1966 <= year <= 9998:
        raise UsageError(f"--year {year} is out of range (1966-9998).")
    config = _config(ctx)
    calendar = BusinessCalendar.from_config(config.calendar)
    days = calendar.closing_days(year)
    if as_json:
        print_json([
            {"date": d.day.isoformat(), "weekday": WEEKDAYS[d.day.weekday()],
             "name": d.name, "kind": d.kind,
             "closes": d.closes.strftime("%H:%M") if d.closes else None}
            for d in days
        ])
        return
    table = Table(title=f"Sluitingsdagen / closing days {year} ({config.calendar.timezone})")
    table.add_column("Datum / date")
    table.add_column("Naam / name")
    table.add_column("Dicht / closed")
    for d in days:
        closed = f"vanaf / from {d.closes:%H:%M}" if d.closes else "hele dag / all day"
        table.add_row(dutch_date(d.day), d.name, closed)
    console().print(table)


@sla_group.command("workload")
@click.argument("level", required=False, type=click.Choice(["low", "high", "auto"]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def workload_command(ctx: click.Context, level: str | None, as_json: bool) -> None:
    """Show or set the current change-request workload (low, high, or auto from the backlog).

    The workload chooses the target terms the acknowledgement of a change request states.
    """
    from mailtriage.services.replies import open_change_hours, workload_now
    from mailtriage.store.models import Setting

    app = ctx.obj
    db = app.db()
    with db.session() as s:
        if level is not None:
            row = s.get(Setting, "workload")
            if level == "auto":
                if row is not None:
                    s.delete(row)
            elif row is None:
                s.add(Setting(key="workload", value={"level": level}))
            else:
                row.value = {"level": level}
            s.flush()
        setting = s.get(Setting, "workload")
        source = "staff" if setting is not None else (
            "config" if _config(ctx).sla.workload != "auto" else "backlog")
        data = {"workload": workload_now(s, _config(ctx)), "set_by": source,
                "open_change_hours": open_change_hours(s),
                "capacity_hours": _config(ctx).sla.change_capacity_hours}
    if as_json:
        print_json(data)
    else:
        click.echo(f"Workload {data['workload']} (set by {source}); open change requests "
                   f"{data['open_change_hours']:g} h of {data['capacity_hours']:g} h capacity.")
