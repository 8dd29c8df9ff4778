"""Commands that set up mailtriage: ``init`` and ``user add``."""

from __future__ import annotations

import sys

import click

from mailtriage.cli.context import AppContext
from mailtriage.cli.output import print_json
from mailtriage.errors import UsageError


@click.command("init")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def init_command(app: AppContext, as_json: bool) -> None:
    """Create or migrate the database schema; safe to repeat."""
    db = app.db(migrate=False)
    revision = db.migrate()
    app.config.storage.directory.mkdir(parents=True, exist_ok=True)
    if as_json:
        print_json({"database": db.url.split("@")[-1], "revision": revision})
    else:
        click.echo(f"Database ready at schema revision {revision}.")


@click.group("user")
def user_group() -> None:
    """Staff accounts for the web UI and the API."""


@user_group.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input instead of prompting.")
@click.option("--api-token", is_flag=True, help="Also create an API token and print it once.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def user_add(app: AppContext, name: str, password_stdin: bool, api_token: bool,
             as_json: bool) -> None:
    """Create a staff account NAME (password prompted, or read from stdin)."""
    from mailtriage.services.accounts import create_user

    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise UsageError("The password must have at least 8 characters.")
    token = create_user(app.db(), name, password, with_token=api_token)
    if as_json:
        print_json({"user": name, "api_token": token})
    else:
        click.echo(f"Staff account {name!r} created.")
        if token:
            click.echo(f"API token (shown once): {token}")


COMMANDS = [init_command, user_group]
