"""``mailtriage train``: labelled CSV rows and staff corrections reach a new, checked model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from mailtriage.config import ClassifyConfig, Config, DatabaseConfig
from mailtriage.services.training import import_csv, retrain, stored_examples
from mailtriage.store.database import Database
from mailtriage.store.models import TrainingExample

CSV = '''id,subject,body,label_type,label_priority,language
t1,Website plat,"Sinds vanochtend een 500 fout, niemand kan bestellen.",incident,high,nl
t2,Nieuwe pagina,"Kunnen jullie een nieuwe pagina met vacatures toevoegen?",change,,nl
t3,Slow checkout,"The checkout has been slow for some customers since Monday.",incident,medium,en
t4,"Typo, footer","There is a small typo in the footer, not urgent.",incident,low,en
'''


def test_csv_rows_are_imported_once_and_updated(tmp_path: Path, sqlite_url: str) -> None:
    db = Database(sqlite_url)
    db.migrate()
    path = tmp_path / "h.csv"
    path.write_text(CSV, encoding="utf-8")
    assert import_csv(db, path) == 4
    assert import_csv(db, path) == 4
    with db.session() as s:
        assert s.scalar(select(func.count(TrainingExample.id))) == 4
    history, corrections = stored_examples(db)
    assert [e.label_type for e in history] == ["incident", "change", "incident", "incident"]
    assert history[1].label_priority is None and corrections == []


def test_retrain_stores_and_activates_a_model_that_is_no_worse(tmp_path: Path,
                                                               sqlite_url: str) -> None:
    config = Config(database=DatabaseConfig(sqlite_url),
                    classify=ClassifyConfig(model_dir=tmp_path / "model"))
    db = Database(sqlite_url)
    db.migrate()
    path = tmp_path / "h.csv"
    path.write_text(CSV, encoding="utf-8")
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    first = retrain(config, db, now, csv=path, force=True)
    assert first.activated and first.imported == 4
    assert first.examples == {"seed": first.examples["seed"], "csv": 4}
    # the same data again scores the same: not worse, so it replaces the active model
    second = retrain(config, db, now, csv=None)
    assert second.activated, second.reason
    from mailtriage.classify.modelstore import ModelStore

    assert ModelStore(config.classify.model_dir).active_version() == second.version


def test_train_command_prints_json(tmp_path: Path) -> None:
    from mailtriage.cli.main import root

    cfg = tmp_path / "m.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n'
                   f'[classify]\nmodel_dir = "{tmp_path / "model"}"\n')
    path = tmp_path / "h.csv"
    path.write_text(CSV, encoding="utf-8")
    result = CliRunner().invoke(root, ["--config", str(cfg), "train", "--csv", str(path),
                                       "--force", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["activated"] is True and data["imported"] == 4
    assert 0.0 <= data["type_macro_f1"] <= 1.0
