"""``classify --csv`` and ``model evaluate|info|activate`` through click, on a tiny root group."""

from __future__ import annotations

import json
import types
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mailtriage.cli.classify import COMMANDS
from mailtriage.config import ClassifyConfig, Config

CSV = '''id,subject,body,label_type,label_priority,language
r1,Website ligt eruit,"Hoi,

onze website ligt eruit, niemand kan bestellen.",incident,high,nl
r2,"Nieuwe pagina, graag","Kunnen jullie een ""Vacatures"" pagina toevoegen?",change,,nl
r3,Thanks!,"Thanks for the quick fix, it works again.",other,,en
'''


def make_root(model_dir: Path) -> click.Group:
    @click.group()
    @click.pass_context
    def root(ctx: click.Context) -> None:
        ctx.obj = types.SimpleNamespace(
            config=Config(classify=ClassifyConfig(model_dir=model_dir)))

    for command in COMMANDS:
        root.add_command(command)
    return root


@pytest.fixture()
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_classify_prints_one_json_object_per_row(tmp_path: Path, csv_file: Path) -> None:
    result = CliRunner().invoke(make_root(tmp_path / "models"), ["classify", "--csv",
                                                                  str(csv_file)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [x["id"] for x in lines] == ["r1", "r2", "r3"]
    assert [(x["type"], x["priority"]) for x in lines] == [("incident", "high"),
                                                           ("change", None), ("other", None)]
    for x in lines:
        assert set(x) == {"id", "type", "priority", "confidence", "needs_review", "reasons"}
        assert 0.0 <= x["confidence"] <= 1.0 and x["reasons"]
    assert not (tmp_path / "models").exists()  # stores nothing


def test_evaluate_json(tmp_path: Path, csv_file: Path) -> None:
    result = CliRunner().invoke(make_root(tmp_path / "models"),
                                ["model", "evaluate", "--csv", str(csv_file), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["n"] == 3
    assert data["type"]["accuracy"] == 1.0
    assert data["type"]["confusion"] == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert data["priority"]["n"] == 1


def test_evaluate_table_and_info(tmp_path: Path, csv_file: Path) -> None:
    root = make_root(tmp_path / "models")
    result = CliRunner().invoke(root, ["model", "evaluate", "--csv", str(csv_file)])
    assert result.exit_code == 0, result.output
    assert "accuracy 1.000" in result.stdout and "precision" in result.stdout
    info = CliRunner().invoke(root, ["model", "info", "--json"])
    assert info.exit_code == 0, info.output
    data = json.loads(info.stdout)
    assert data["active"] is None and data["rules"] > 20
    assert data["model"]["training_size"] >= 400


def test_bad_csv_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,subject\n1,a\n", encoding="utf-8")
    from mailtriage.errors import UsageError

    result = CliRunner().invoke(make_root(tmp_path / "m"), ["classify", "--csv", str(bad)])
    assert isinstance(result.exception, UsageError)
    assert "body" in str(result.exception)


def test_activate_unknown_version_fails(tmp_path: Path) -> None:
    from mailtriage.errors import ModelError

    result = CliRunner().invoke(make_root(tmp_path / "m"), ["model", "activate", "v9"])
    assert isinstance(result.exception, ModelError)
