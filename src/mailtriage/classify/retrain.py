"""Trains a new model version, stores it, and activates it only when it is no worse.

The flow behind ``mailtriage train``: the caller gathers the examples (seed, CSV rows, staff
corrections; see ``learning.training_set``), this module trains, saves the version in
``ClassifyConfig.model_dir`` and compares it with the model in use (``learning.may_replace``).
A refused model stays stored, so staff can inspect it and activate it by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mailtriage.classify.dataset import Example
from mailtriage.classify.engine import active_metadata
from mailtriage.classify.learning import ReplaceVerdict, may_replace
from mailtriage.classify.model import ModelMetadata, Progress, train
from mailtriage.config import ClassifyConfig


@dataclass(frozen=True)
class RetrainResult:
    """The stored model's metadata, whether it became active, and why."""

    metadata: ModelMetadata
    activated: bool
    verdict: ReplaceVerdict


def retrain(cfg: ClassifyConfig, examples: Sequence[Example], *, now: datetime,
            progress: Progress | None = None, force: bool = False,
            tolerance: float = 0.0) -> RetrainResult:
    """Train on ``examples``, store the version and activate it unless it scores worse.

    ``force`` activates regardless (the verdict is still reported). Raises ``TrainingError``
    when the examples cannot train a model and ``ModelError`` when storing fails.
    """
    from mailtriage.classify.modelstore import ModelStore

    store = ModelStore(cfg.model_dir)
    taken = set(store.versions())
    base = f"{now:%Y%m%d-%H%M%S}-n{len(examples)}"
    version, n = base, 1
    while version in taken:  # two trainings within one second
        n += 1
        version = f"{base}-{n}"
    model = train(examples, progress, now=now, version=version)
    current = active_metadata(cfg)
    verdict = may_replace(model.metadata, current, tolerance=tolerance)
    meta = store.save(model)
    activate = verdict.allowed or force
    if activate:
        store.activate(meta.version)
    return RetrainResult(metadata=meta, activated=activate, verdict=verdict)
