"""The ``mailtriage`` command: global options, the command groups and the exit-status mapping."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from mailtriage import __version__
from mailtriage.cli.context import AppContext
from mailtriage.config import load_config
from mailtriage.errors import MailtriageError

EPILOG = """Exit status: 0 success; 1 finished but something needs attention (a mailbox
unreachable, quarantined mail); 2 usage or configuration error; 75 another run holds the lock."""


class _Root(click.Group):
    """Registers every command on first need, so that ``mailtriage run`` (from cron, every
    minute) imports only its own module and not those of the other commands."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            _register()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        _register()
        return super().list_commands(ctx)


@click.group(cls=_Root, epilog=EPILOG,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH", envvar=None,
              help="Configuration file (default: $MAILTRIAGE_CONFIG, else ./mailtriage.toml, "
                   "else the embedded defaults).")
@click.version_option(__version__, prog_name="mailtriage")
@click.pass_context
def root(ctx: click.Context, config_path: str | None) -> None:
    """mailtriage: turns a helpdesk mailbox into triaged tickets and answers every customer
    with the commitment the helpdesk really makes."""
    app = AppContext(config=load_config(config_path))
    ctx.obj = app
    ctx.call_on_close(app.close)


_registered = False


def _register() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    from mailtriage.cli import (
        admin,
        classify,
        correct,
        outbox,
        quarantine,
        report,
        run,
        serve,
        sla,
        tickets,
        train,
    )

    for module in (admin, run, tickets, correct, quarantine, outbox, report, train, classify,
                   serve):
        for command in module.COMMANDS:
            root.add_command(command)
    root.add_command(sla.sla_group)


def _register_run() -> None:
    from mailtriage.cli import run

    for command in run.COMMANDS:
        root.add_command(command)


_register_run()


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI and map mailtriage errors to exit statuses; never a traceback for them."""
    try:
        result = root.main(args=argv, prog_name="mailtriage", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except MailtriageError as exc:
        click.echo(f"mailtriage: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:  # a fault of ours: one line, never a traceback for cron mail
        if os.environ.get("MAILTRIAGE_DEBUG"):
            raise
        text = str(exc).strip().splitlines()
        click.echo(f"mailtriage: unexpected error {type(exc).__name__}"
                   + (f": {text[0]}" if text else "")
                   + " (set MAILTRIAGE_DEBUG=1 to see where)", err=True)
        sys.exit(1)
    if isinstance(result, int):
        sys.exit(result)
    return result
