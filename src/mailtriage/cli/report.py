"""``mailtriage report sla``: compliance per month and priority against 100% and 85%."""

from __future__ import annotations

import click
from rich.table import Table

from mailtriage.cli.context import AppContext
from mailtriage.cli.output import console, print_json


@click.group("report")
def report_group() -> None:
    """Reports over the stored tickets."""


@report_group.command("sla")
@click.option("--month", metavar="YYYY-MM", help="Only this month (default: every month).")
@click.option("--sla", "level", type=click.Choice(["guaranteed", "aim", "none"]),
              help="Only customers with this SLA (default: every incident with a clock).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def report_sla(app: AppContext, month: str | None, level: str | None, as_json: bool) -> None:
    """SLA compliance per priority: n, met, percentage and target, response and resolution.

    A ticket counts in the month its deadline falls. With fewer than 7 tickets one miss fails
    the month, so n is shown beside every percentage.
    """
    from mailtriage.services.compliance import monthly_report, row_json

    rows = monthly_report(app.config, app.db(), month, app.now(), level=level)
    if as_json:
        print_json([row_json(r) for r in rows])
        return
    table = Table(title="SLA compliance" + (f" {month}" if month else ""))
    for col in ("month", "priority", "response n", "met", "%", "target", "",
                "resolution n", "met", "%", "target", ""):
        table.add_column(col)

    def cells(m: object) -> list[str]:
        from mailtriage.sla.compliance import MeasureStats

        assert isinstance(m, MeasureStats)
        pct = "-" if m.percentage is None else f"{m.percentage:.1f}"
        verdict = "" if m.passed is None else ("[green]met[/green]" if m.passed
                                               else "[red]missed[/red]")
        return [str(m.n), str(m.met), pct, f"{m.target:g}%", verdict]

    for r in rows:
        table.add_row(r.month, r.priority, *cells(r.response), *cells(r.resolution))
    if not rows:
        console().print("No incidents with an SLA clock" + (f" in {month}." if month else "."))
        return
    console().print(table)


COMMANDS = [report_group]
