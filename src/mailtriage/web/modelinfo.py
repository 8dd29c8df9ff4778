"""What the model page shows: the classification model's metadata, read tolerantly.

The classifier package owns the model files. This module asks it for metadata when it offers a
reader, and otherwise looks for a JSON metadata file in the model directory; a missing or
unreadable model is shown as "no model", never as an error page.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mailtriage.config import ClassifyConfig

_READERS = (
    ("mailtriage.classify.engine", "active_metadata"),
)
_FILES = ("metadata.json", "model.json", "meta.json", "model-meta.json")


@dataclass(frozen=True)
class ModelInfo:
    """The fields the page shows; ``extra`` keeps anything else the metadata had."""

    found: bool
    version: str | None = None
    trained_at: datetime | None = None
    examples: int | None = None
    scores: tuple[tuple[str, str], ...] = ()
    extra: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def _as_mapping(value: Any) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return value
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        data = as_dict()
        return data if isinstance(data, Mapping) else None
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    return None


def _from_classifier(config: ClassifyConfig) -> Mapping[str, Any] | None:
    for module_name, function_name in _READERS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        reader = getattr(module, function_name, None)
        if not callable(reader):
            continue
        try:
            return _as_mapping(reader(config))
        except Exception:  # a broken or missing model is shown as "no model"
            return None
    return None


def _from_files(model_dir: Path) -> Mapping[str, Any] | None:
    candidates = [model_dir / name for name in _FILES]
    if model_dir.is_dir():
        candidates += sorted(model_dir.glob("*.json"))
    for path in candidates:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, Mapping):
            return data
    return None


def _datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    elif isinstance(value, float):
        out.append((prefix, f"{value:.3f}"))
    elif isinstance(value, (str, int, bool)) or value is None:
        out.append((prefix, str(value)))
    else:
        out.append((prefix, json.dumps(value, default=str)[:200]))


def model_info(config: ClassifyConfig) -> ModelInfo:
    """The active model's metadata, or ``ModelInfo(found=False)``."""
    data = _from_classifier(config) or _from_files(config.model_dir)
    if not data:
        return ModelInfo(found=False)
    version = data.get("version") or data.get("model_version")
    trained = _datetime(data.get("trained_at") or data.get("created_at") or data.get("created"))
    examples = (data.get("training_size") or data.get("examples") or data.get("n_examples")
                or data.get("training_examples"))
    scores: list[tuple[str, str]] = []
    raw_scores = data.get("cv") or data.get("scores") or data.get("metrics")
    if raw_scores is not None:
        _flatten("", raw_scores, scores)
    extra: list[tuple[str, str]] = []
    skip = {"version", "model_version", "trained_at", "created_at", "created", "examples",
            "n_examples", "training_examples", "training_size", "cv", "scores", "metrics"}
    for key, value in data.items():
        if key not in skip:
            _flatten(str(key), value, extra)
    return ModelInfo(
        found=True,
        version=None if version is None else str(version),
        trained_at=trained,
        examples=examples if isinstance(examples, int) else None,
        scores=tuple(scores[:40]),
        extra=tuple(extra[:40]),
    )
