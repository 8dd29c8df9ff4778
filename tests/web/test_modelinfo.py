"""Model metadata for the model page, read tolerantly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailtriage.config import ClassifyConfig
from mailtriage.web import modelinfo


def test_active_model_metadata(tmp_path: Path) -> None:
    from mailtriage.classify.engine import active_metadata

    cfg = ClassifyConfig(model_dir=tmp_path)
    expected = active_metadata(cfg)
    info = modelinfo.model_info(cfg)
    if expected is None:
        assert not info.found
    else:
        assert info.found and info.version == expected.version
        assert info.examples == expected.training_size


def test_metadata_file_when_the_classifier_has_none(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modelinfo, "_from_classifier", lambda config: None)
    (tmp_path / "metadata.json").write_text(json.dumps({
        "version": "v7", "created": "2026-03-09T12:00:00+01:00", "training_size": 40,
        "cv": {"type_accuracy": 0.5, "folds": 3}, "sklearn_version": "1.6"}))
    info = modelinfo.model_info(ClassifyConfig(model_dir=tmp_path))
    assert info.version == "v7"
    assert info.examples == 40
    assert info.trained_at is not None and info.trained_at.isoformat().startswith("2026-03-09")
    assert ("type_accuracy", "0.500") in info.scores and ("folds", "3") in info.scores
    assert ("sklearn_version", "1.6") in info.extra


def test_nothing_readable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modelinfo, "_from_classifier", lambda config: None)
    (tmp_path / "metadata.json").write_text("{broken")
    assert not modelinfo.model_info(ClassifyConfig(model_dir=tmp_path)).found
