"""A small model trained once per test session on part of the seed set."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailtriage.classify.dataset import Example, seed_examples
from mailtriage.classify.model import TrainedModel, train

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def small_examples() -> list[Example]:
    return seed_examples()[:150]


@pytest.fixture(scope="session")
def small_model(small_examples: list[Example]) -> TrainedModel:
    return train(small_examples, now=NOW, version="test-small")
