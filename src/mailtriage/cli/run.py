"""``mailtriage run``: one scheduled cycle, safe to start from cron every minute."""

from __future__ import annotations

import sys
from typing import Any

import click

from mailtriage.cli.context import AppContext
from mailtriage.cli.output import console, err_console, print_json


def _report_json(report: Any) -> dict[str, Any]:
    return {
        "dry_run": report.dry_run,
        "exit_status": report.exit_status,
        "mailboxes": [
            {"mailbox": m.mailbox, "folder": m.folder, "fetched": m.fetched,
             "outcomes": m.outcomes, "error": m.error,
             "uidvalidity_changed": m.uidvalidity_changed}
            for m in report.mailboxes
        ],
        "messages": [
            {"uid": o.uid, "outcome": o.kind, "reason": o.reason, "ticket": o.ticket_number,
             "reply": o.reply}
            for o in report.details
        ],
        "delivery": None if report.delivery is None else vars(report.delivery),
    }


@click.command("run")
@click.option("--dry-run", is_flag=True,
              help="Show what would be stored and sent, and why; store and send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's report as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing unless something needs "
                                                   "attention (for cron).")
@click.option("--workers", type=click.IntRange(0, 64), default=None,
              help="Processes that parse and classify large batches (default: the number "
                   "of cores minus one; 0 does everything in this process).")
@click.pass_obj
def run_command(app: AppContext, dry_run: bool, as_json: bool, quiet: bool,
                workers: int | None) -> int:
    """Fetch every mailbox, store, classify, compute commitments and send due mail."""

    show_progress = not (as_json or quiet) and sys.stderr.isatty()
    progress_cb = None
    progress_ctx: Any = None
    if show_progress:
        from rich.progress import Progress

        progress_ctx = Progress(console=err_console(), transient=True)
        task = progress_ctx.add_task("fetching", total=None)

        def progress_cb(label: str, n: int) -> None:
            progress_ctx.update(task, advance=n, description=label)

    from mailtriage.services.idle import idle_report

    report = idle_report(app.config, dry_run=dry_run)
    if report is None:
        from mailtriage.services.parallel import parse_executor  # the process pool's modules
        from mailtriage.services.pipeline import run_once

        with parse_executor(workers) as executor:
            if progress_ctx is not None:
                with progress_ctx:
                    report = run_once(app.config, dry_run=dry_run, executor=executor,
                                      progress=progress_cb)
            else:
                report = run_once(app.config, dry_run=dry_run, executor=executor)
    if as_json:
        print_json(_report_json(report))
    elif not quiet or report.needs_attention:
        _print_report(report)
    return report.exit_status


def _print_report(report: Any) -> None:
    out = console()
    title = "Dry run: nothing was stored or sent" if report.dry_run else "Run finished"
    from rich.table import Table

    table = Table(title=title)
    for col in ("mailbox", "fetched", "tickets", "follow-ups", "attached", "ignored",
                "quarantined", "duplicates", "error"):
        table.add_column(col)
    for m in report.mailboxes:
        table.add_row(f"{m.mailbox}/{m.folder}", str(m.fetched), str(m.count("ticket")),
                      str(m.count("followup")), str(m.count("attached")),
                      str(m.count("ignored")), str(m.count("quarantined")),
                      str(m.count("duplicate")), m.error or "")
    out.print(table)
    for m in report.mailboxes:
        if m.error:  # the table cuts long texts; the whole reason matters here
            out.print(f"{m.mailbox}/{m.folder}: {m.error}", markup=False, soft_wrap=True)
    if report.dry_run:
        for o in report.details:
            line = f"{o.uid}: {o.kind}"
            if o.ticket_number:
                line += f" #{o.ticket_number}"
            if o.reason:
                line += f" ({o.reason})"
            if o.reply:
                line += f"; reply: {o.reply}"
            out.print(line, markup=False, soft_wrap=True)  # one line per mail, for grep
    if report.delivery is not None:
        d = report.delivery
        out.print(f"Outgoing mail: {d.sent} sent, {d.retry_later} to retry, {d.failed} failed, "
                  f"{d.uncertain} uncertain.")
        if d.setup_error:
            out.print(f"Sending stopped: {d.setup_error}", markup=False, soft_wrap=True)


COMMANDS = [run_command]
