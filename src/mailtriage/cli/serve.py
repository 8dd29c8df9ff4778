"""``mailtriage serve``: runs the staff web UI and JSON API with uvicorn."""

from __future__ import annotations

import click

from mailtriage.cli.context import AppContext


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: web.host, "
                                           "127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port to listen on (default: web.port, 8080).")
@click.pass_obj
def serve_command(app: AppContext, host: str | None, port: int | None) -> None:
    """Run the staff web UI (queue, tickets, corrections, SLA report, model) and the JSON API."""
    import uvicorn

    from mailtriage.web import create_app

    config = app.config
    web = create_app(config, app.db())
    bind_host = host or config.web.host
    bind_port = port or config.web.port
    if not config.web.secret_key:
        click.echo("web.secret_key is not set: sessions end when the server stops.", err=True)
    click.echo(f"Serving the staff UI on http://{bind_host}:{bind_port}/", err=True)
    uvicorn.run(web, host=bind_host, port=bind_port, log_level="info", proxy_headers=False,
                server_header=False, access_log=True)


COMMANDS = [serve_command]
