"""``mailtriage sla workload``: staff set the change workload, or leave it to the backlog."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mailtriage.cli.main import root


def test_workload_is_derived_set_and_reset(tmp_path: Path) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n'
                   '[sla]\nchange_capacity_hours = 40\n')

    def call(*args: str) -> dict[str, object]:
        result = CliRunner().invoke(root, ["--config", str(cfg), "sla", "workload", *args,
                                           "--json"])
        assert result.exit_code == 0, result.output
        data: dict[str, object] = json.loads(result.output)
        return data

    assert call() == {"workload": "low", "set_by": "backlog", "open_change_hours": 0.0,
                      "capacity_hours": 40.0}
    assert call("high")["workload"] == "high"
    assert call()["set_by"] == "staff"
    assert call("auto") == {"workload": "low", "set_by": "backlog", "open_change_hours": 0.0,
                            "capacity_hours": 40.0}
