"""``mailtriage train``: import labelled history and retrain from everything staff taught it."""

from __future__ import annotations

from pathlib import Path

import click

from mailtriage.cli.context import AppContext
from mailtriage.cli.output import err_console, print_json


@click.command("train")
@click.option("--csv", "csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A CSV of labelled examples (id, subject, body, label_type, label_priority) "
                   "to add first.")
@click.option("--force", is_flag=True, help="Activate the new model even if it scores worse.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def train_command(app: AppContext, csv_path: Path | None, force: bool, as_json: bool) -> int:
    """Retrain from seed data, imported history and staff corrections; the new model replaces
    the active one only when it does not score worse on cross-validation."""
    from rich.progress import Progress

    from mailtriage.services.training import retrain

    if as_json:
        result = retrain(app.config, app.db(), app.now(), csv=csv_path, force=force)
    else:
        with Progress(console=err_console(), transient=True) as bar:
            task = bar.add_task("training", total=None)

            def progress(description: str, done: int, total: int) -> None:
                bar.update(task, description=description, completed=done, total=total)

            result = retrain(app.config, app.db(), app.now(), csv=csv_path, force=force,
                             progress=progress)
    data = {"version": result.version, "activated": result.activated, "reason": result.reason,
            "examples": result.examples, "imported": result.imported,
            "type_macro_f1": result.type_macro_f1,
            "priority_macro_f1": result.priority_macro_f1}
    if as_json:
        print_json(data)
    else:
        if result.imported:
            click.echo(f"Imported {result.imported} labelled rows.")
        click.echo(f"Trained model {result.version} on "
                   + ", ".join(f"{n} {k}" for k, n in result.examples.items()) + ".")
        if result.type_macro_f1 is not None:
            click.echo(f"Cross-validated type macro-F1 {result.type_macro_f1:.3f}"
                       + (f", priority macro-F1 {result.priority_macro_f1:.3f}"
                          if result.priority_macro_f1 is not None else "") + ".")
        verdict = "now active" if result.activated else "NOT activated; the old model stays"
        click.echo(f"Model {result.version} is {verdict}: {result.reason}.")
    return 0 if result.activated else 1


COMMANDS = [train_command]
