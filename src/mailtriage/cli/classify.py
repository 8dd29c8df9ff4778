"""``mailtriage classify --csv`` and ``mailtriage model evaluate|info|activate``.

``classify`` stores nothing: it prints one JSON object per row. ``model evaluate`` scores the
active classifier (rules plus model) on a labelled CSV. Progress goes to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mailtriage.classify.decision import PRIORITIES, TYPES, ClassifyInput, Decision
from mailtriage.classify.evaluation import Metrics, evaluate
from mailtriage.config import Config

BATCH = 512


def _config(ctx: click.Context) -> Config:
    config: Config = ctx.obj.config
    return config


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Progress]:
    """A rich progress bar on stderr (hidden when stderr is not a terminal)."""
    err = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True,
                  disable=not err.is_terminal) as bar:
        bar.add_task(description, total=total)
        yield bar


def classify_all(items: Sequence[ClassifyInput], ctx: click.Context,
                 description: str) -> tuple[list[Decision], str | None]:
    """Load the classifier for the context's config and classify ``items`` in batches."""
    from mailtriage.classify.engine import Classifier

    cfg = _config(ctx).classify
    with progress_bar("loading model", None) as bar:
        def step(_: str, done: int, total: int) -> None:
            bar.update(bar.task_ids[0], completed=done, total=total,
                       description="training the seed model")

        classifier = Classifier.load(cfg, progress=step)
    out: list[Decision] = []
    with progress_bar(description, len(items)) as bar:
        task = bar.task_ids[0]
        for start in range(0, len(items), BATCH):
            out.extend(classifier.classify_batch(items[start:start + BATCH]))
            bar.update(task, completed=len(out))
    return out, classifier.model_version


@click.command("classify")
@click.option("--csv", "csv_path", required=True, type=click.Path(path_type=Path),
              help="CSV with at least the columns id, subject, body.")
@click.pass_context
def classify_command(ctx: click.Context, csv_path: Path) -> None:
    """Classify every row of a CSV without storing anything; one JSON object per line."""
    from mailtriage.classify.dataset import read_mail_csv

    rows = read_mail_csv(csv_path)
    decisions, _ = classify_all([item for _, item in rows], ctx, "classifying")
    for (rid, _), d in zip(rows, decisions, strict=True):
        sys.stdout.write(json.dumps({
            "id": rid, "type": d.type, "priority": d.priority, "confidence": d.confidence,
            "needs_review": d.needs_review, "reasons": list(d.reasons),
        }, ensure_ascii=False) + "\n")


@click.group("model")
def model_group() -> None:
    """Inspect and evaluate the classification model."""


@model_group.command("evaluate")
@click.option("--csv", "csv_path", required=True, type=click.Path(path_type=Path),
              help="Labelled CSV: id, subject, body, label_type, label_priority.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.pass_context
def evaluate_command(ctx: click.Context, csv_path: Path, as_json: bool) -> None:
    """Score the classifier (rules plus the active model) on a labelled CSV."""
    from mailtriage.classify.dataset import read_labelled_rows

    rows = read_labelled_rows(csv_path)
    items = [ClassifyInput(r.example.subject, r.example.body, r.language) for r in rows]
    decisions, version = classify_all(items, ctx, "evaluating")
    truth = [r.example.label_type for r in rows]
    type_m = evaluate(truth, [d.type for d in decisions], TYPES)
    p_pairs = [(str(r.example.label_priority), d.priority or "none")
               for r, d in zip(rows, decisions, strict=True)
               if r.example.label_type == "incident" and r.example.label_priority]
    prio_m = evaluate([t for t, _ in p_pairs], [p for _, p in p_pairs], (*PRIORITIES, "none"))
    review = sum(1 for d in decisions if d.needs_review)
    result: dict[str, Any] = {
        "model_version": version, "n": len(rows), "needs_review": review,
        "type": type_m.as_dict(), "priority": prio_m.as_dict(),
    }
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
        return
    out = Console(highlight=False)
    out.print(f"model {version or '(rules only)'}, {len(rows)} rows, {review} would need review")
    _print_metrics(out, "type", type_m)
    out.print("priority: incidents whose labelled priority is set; 'none' = not an incident")
    _print_metrics(out, "priority", prio_m)


def _print_metrics(out: Console, title: str, m: Metrics) -> None:
    out.print(f"[bold]{title}[/]: n={m.n} accuracy {m.accuracy:.3f}, macro-F1 {m.macro_f1:.3f} "
              f"(always '{m.majority_label}': accuracy {m.majority_accuracy:.3f})")
    table = Table("label", "precision", "recall", "F1", "n",
                  *[f"→{c}" for c in m.labels])
    for i, c in enumerate(m.per_class):
        table.add_row(c.label, f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}",
                      str(c.support), *[str(v) for v in m.confusion[i]])
    out.print(table)


@model_group.command("info")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def info_command(ctx: click.Context, as_json: bool) -> None:
    """The model in use, the stored versions and the rules file."""
    from mailtriage.classify.engine import active_metadata
    from mailtriage.classify.modelstore import ModelStore
    from mailtriage.classify.rules import load_rules

    cfg = _config(ctx).classify
    store = ModelStore(cfg.model_dir)
    meta = active_metadata(cfg)
    rules = load_rules(cfg.rules_file)
    data: dict[str, Any] = {
        "model_dir": str(cfg.model_dir), "active": store.active_version(),
        "versions": store.versions(), "model": meta.as_dict() if meta else None,
        "rules_file": rules.source, "rules": len(rules.rules),
        "review_threshold": cfg.review_threshold, "correction_weight": cfg.correction_weight,
    }
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    out = Console(highlight=False)
    out.print(f"model directory: {cfg.model_dir} (active: {data['active'] or 'none, bundled'})")
    out.print(f"rules: {len(rules.rules)} from {rules.source}; review below "
              f"{cfg.review_threshold:.2f}")
    if meta is None:
        out.print("no model metadata found; a model is trained on the seed set on first use")
        return
    out.print(f"model {meta.version}: trained {meta.created} on {meta.training_size} examples "
              f"({meta.corrections} corrections), scikit-learn {meta.sklearn_version}")
    if meta.cv is not None:
        cv = meta.cv
        prio = "-" if cv.priority_macro_f1 is None else f"{cv.priority_macro_f1:.3f}"
        out.print(f"cross-validated ({cv.folds} folds): type accuracy {cv.type_accuracy:.3f}, "
                  f"type macro-F1 {cv.type_macro_f1:.3f}, priority macro-F1 {prio}")
    for v in data["versions"]:
        out.print(f"  {'*' if v == data['active'] else ' '} {v}")


@model_group.command("activate")
@click.argument("version")
@click.pass_context
def activate_command(ctx: click.Context, version: str) -> None:
    """Make a stored model version the active one (it is verified first)."""
    from mailtriage.classify.modelstore import ModelStore

    ModelStore(_config(ctx).classify.model_dir).activate(version)
    click.echo(f"model {version} is now active")


COMMANDS: tuple[click.Command, ...] = (classify_command, model_group)
