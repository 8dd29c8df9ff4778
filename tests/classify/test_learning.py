"""Training sets and the replace-or-refuse decision."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mailtriage.classify.dataset import Example
from mailtriage.classify.learning import (
    MIN_CORRECTIONS,
    correction_example,
    may_replace,
    training_set,
)
from mailtriage.classify.model import CvScores, ModelMetadata
from mailtriage.config import ClassifyConfig
from mailtriage.errors import UsageError


def meta(version: str, type_f1: float, prio_f1: float | None = 0.5, corr_n: int = 0,
         corr_f1: float | None = None) -> ModelMetadata:
    cv = CvScores(folds=5, n=500, type_accuracy=type_f1, type_macro_f1=type_f1, priority_n=200,
                  priority_macro_f1=prio_f1, corrections_n=corr_n,
                  corrections_type_accuracy=corr_f1, corrections_type_macro_f1=corr_f1)
    return ModelMetadata(version=version, created="2026-01-01T00:00:00+00:00",
                         training_size=500, corrections=corr_n, type_counts={},
                         priority_counts={}, cv=cv, sklearn_version="1.9.1",
                         skops_version="0.16.0", python_version="3.11")


def test_worse_retrain_is_refused_with_the_reason() -> None:
    v = may_replace(meta("new", 0.80), meta("old", 0.85))
    assert not v.allowed
    assert "0.800 against 0.850" in v.reason and "old" in v.reason


def test_better_or_equal_retrain_is_allowed() -> None:
    assert may_replace(meta("new", 0.85), meta("old", 0.85)).allowed
    assert may_replace(meta("new", 0.90), meta("old", 0.85)).allowed
    assert may_replace(meta("new", 0.84), meta("old", 0.85), tolerance=0.02).allowed


def test_worse_priority_is_refused() -> None:
    v = may_replace(meta("new", 0.9, prio_f1=0.4), meta("old", 0.9, prio_f1=0.5))
    assert not v.allowed and "priority" in v.reason


def test_corrections_decide_when_both_have_enough() -> None:
    n = MIN_CORRECTIONS
    # better overall but worse on the staff corrections -> refused
    v = may_replace(meta("new", 0.95, corr_n=n, corr_f1=0.70),
                    meta("old", 0.85, corr_n=n, corr_f1=0.75))
    assert not v.allowed and "staff corrections" in v.reason
    # too few corrections on the old model -> overall score decides
    assert may_replace(meta("new", 0.95, corr_n=n, corr_f1=0.70),
                       meta("old", 0.85, corr_n=n - 1, corr_f1=0.75)).allowed


def test_first_model_and_missing_scores() -> None:
    assert may_replace(meta("new", 0.5), None).allowed
    assert not may_replace(replace(meta("new", 0.9), cv=None), meta("old", 0.5)).allowed
    assert may_replace(meta("new", 0.9), replace(meta("old", 0.5), cv=None)).allowed


def test_corrections_weigh_more_than_seed() -> None:
    cfg = ClassifyConfig(correction_weight=5.0)
    seed = [Example("s", "b", "change", None, weight=3.0, source="x")]
    corr = [Example("c", "b", "incident", "high", source="csv")]
    extra = [Example("e", "b", "other", None, weight=1.0, source="csv")]
    out = training_set(seed, corr, cfg, extra)
    assert [(e.source, e.weight) for e in out] == [("seed", 1.0), ("csv", 1.0),
                                                    ("correction", 5.0)]
    ex = correction_example("s", "b", "change", "high", cfg)
    assert (ex.weight, ex.source, ex.label_priority) == (5.0, "correction", None)
    with pytest.raises(UsageError):
        correction_example("s", "b", "bug", None, cfg)


def test_retrain_stores_and_activates_only_when_not_worse(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from mailtriage.classify.dataset import seed_examples
    from mailtriage.classify.modelstore import ModelStore
    from mailtriage.classify.retrain import retrain

    cfg = ClassifyConfig(model_dir=tmp_path / "models")
    good = seed_examples()[:120]
    # 120 mails score below the bundled model (trained on all seed mails): refused unless forced
    first = retrain(cfg, good, now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC), force=True)
    assert first.activated and not first.verdict.allowed
    assert "bundled" not in first.verdict.reason and "scores worse" in first.verdict.reason
    store = ModelStore(cfg.model_dir)
    assert store.active_version() == first.metadata.version
    # the same mails with shuffled labels cannot score as well: refused, but kept
    labels = [e.label_type for e in good]
    shuffled = [replace(e, label_type=labels[(i * 7 + 3) % len(labels)],
                        label_priority="high" if labels[(i * 7 + 3) % len(labels)] == "incident"
                        else None) for i, e in enumerate(good)]
    second = retrain(cfg, shuffled, now=datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    assert not second.activated
    assert "scores worse" in second.verdict.reason
    assert store.active_version() == first.metadata.version
    assert second.metadata.version in store.versions()
