"""The ``sla`` commands through click's test runner, with JSON and human output."""

from __future__ import annotations

import json
import types

import click
import pytest
from click.testing import CliRunner

from mailtriage.cli.sla import sla_group
from mailtriage.config import Config, CustomerConfig, SlaConfig
from mailtriage.errors import UsageError


def make_root(config: Config) -> click.Group:
    @click.group()
    @click.pass_context
    def root(ctx: click.Context) -> None:
        ctx.obj = types.SimpleNamespace(config=config)

    root.add_command(sla_group)
    return root


ROOT = make_root(Config())


def run(*args: str, root: click.Group = ROOT) -> click.testing.Result:
    return CliRunner().invoke(root, ["sla", *args])


@pytest.mark.parametrize(
    ("received", "priority", "response", "resolution"),
    [
        ("2025-03-11T10:00:00+01:00", "high", "2025-03-11T12:00:00+01:00",
         "2025-03-11T14:00:00+01:00"),
        # Naive input is calendar-local time.
        ("2025-03-14T16:30", "high", "2025-03-17T10:00:00+01:00", "2025-03-17T12:00:00+01:00"),
        ("2025-03-12T02:00:00Z", "medium", "2025-03-12T16:30:00+01:00",
         "2025-03-13T16:00:00+01:00"),
        ("2026-09-08T09:00", "MEDIUM", "2026-09-08T17:00:00+02:00", "2026-09-09T16:30:00+02:00"),
        ("2025-03-28T16:00:00+01:00", "high", "2025-03-31T09:30:00+02:00",
         "2025-03-31T11:30:00+02:00"),
    ],
)
def test_deadline_json(received: str, priority: str, response: str, resolution: str) -> None:
    result = run("deadline", "--received", received, "--priority", priority, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "response_due": response, "resolution_due": resolution, "guaranteed": False}


def test_deadline_customer_decides_guarantee() -> None:
    root = make_root(Config(sla=SlaConfig(customers=(CustomerConfig("acme.nl", "guaranteed"),))))
    args = ("deadline", "--received", "2025-03-11T10:00", "--priority", "high", "--json")
    assert json.loads(run(*args, "--customer", "piet@acme.nl", root=root).output)["guaranteed"]
    assert not json.loads(run(*args, "--customer", "x@other.nl", root=root).output)["guaranteed"]


def test_deadline_human_output_is_dutch() -> None:
    result = run("deadline", "--received", "2025-03-14T16:30", "--priority", "high")
    assert result.exit_code == 0, result.output
    assert "ma 17 mrt 2025 10:00" in result.output
    assert "ma 17 mrt 2025 12:00" in result.output
    assert "vr 14 mrt 2025 16:30" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--start", "2026-05-13", "--hours", "4", "--workload", "low"),
         {"kind": "window", "earliest": "2026-05-21", "latest": "2026-05-28"}),
        (("--start", "2026-05-13", "--hours", "8", "--workload", "high"),
         {"kind": "window", "earliest": "2026-06-15", "latest": "2026-06-18"}),
        (("--start", "2026-05-13", "--hours", "12", "--workload", "low"),
         {"kind": "agreed", "agreed": None}),
        (("--start", "2026-05-13", "--hours", "12", "--workload", "low", "--agreed",
          "2026-06-02"), {"kind": "agreed", "agreed": "2026-06-02"}),
        (("--start", "2026-05-13", "--hours", "2", "--workload", "low", "--generic"),
         {"kind": "next_release"}),
    ],
)
def test_change_window_json(args: tuple[str, ...], expected: dict[str, object]) -> None:
    result = run("change-window", *args, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == expected


def test_change_window_human_output() -> None:
    result = run("change-window", "--start", "2026-05-13", "--hours", "4", "--workload", "low")
    assert result.exit_code == 0, result.output
    assert "do 21 mei 2026" in result.output
    assert "do 28 mei 2026" in result.output


def test_calendar_json_and_table() -> None:
    result = run("calendar", "--year", "2026", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(d["date"], d["kind"]) for d in data] == [
        ("2026-01-01", "holiday"), ("2026-04-06", "holiday"), ("2026-04-27", "holiday"),
        ("2026-05-14", "holiday"), ("2026-05-25", "holiday"), ("2026-12-24", "part_day"),
        ("2026-12-25", "holiday"),
    ]
    assert data[2] == {"date": "2026-04-27", "weekday": "monday", "name": "Koningsdag",
                       "kind": "holiday", "closes": None}
    assert data[5]["closes"] == "15:00"
    table = run("calendar", "--year", "2025")
    assert table.exit_code == 0, table.output
    assert "Bevrijdingsdag" in table.output
    assert "ma 5 mei 2025" in table.output


@pytest.mark.parametrize(
    "args",
    [
        ("deadline", "--received", "yesterday", "--priority", "high"),
        ("deadline", "--received", "2025-03-11T10:00", "--priority", "urgent"),
        ("change-window", "--start", "13-05-2026", "--hours", "2", "--workload", "low"),
        ("change-window", "--start", "2026-05-13", "--hours", "-2", "--workload", "low"),
        ("change-window", "--start", "2026-05-13", "--hours", "12", "--workload", "low",
         "--agreed", "2026-05-22"),
        ("calendar", "--year", "12"),
    ],
)
def test_bad_arguments_raise_usage_error(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert isinstance(result.exception, UsageError), result.output


def test_click_rejects_a_bad_choice_with_exit_2() -> None:
    result = run("change-window", "--start", "2026-05-13", "--hours", "2", "--workload", "busy")
    assert result.exit_code == 2
    assert "busy" in result.output
