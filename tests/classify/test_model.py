"""Training: cross-validated scores, weights, refusals."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mailtriage.classify.dataset import Example
from mailtriage.classify.model import TrainedModel, train
from mailtriage.classify.text import model_text
from mailtriage.errors import TrainingError
from tests.classify.conftest import NOW


def test_trained_model_has_metadata_and_cv_scores(small_model: TrainedModel,
                                                   small_examples: list[Example]) -> None:
    meta = small_model.metadata
    assert meta.version == "test-small"
    assert meta.training_size == len(small_examples)
    assert meta.created == "2026-03-02T10:00:00+00:00"
    assert sum(meta.type_counts.values()) == len(small_examples)
    assert meta.cv is not None and meta.cv.folds == 5
    assert 0.0 <= meta.cv.type_macro_f1 <= 1.0
    assert meta.cv.priority_macro_f1 is not None
    assert meta.sklearn_version and meta.skops_version


def test_probabilities_are_distributions(small_model: TrainedModel) -> None:
    types, prios = small_model.predict_proba([model_text("Site ligt eruit", "Alles plat."),
                                              model_text("", "")])
    assert prios is not None
    for dist in (*types, *prios):
        assert sum(dist.values()) == pytest.approx(1.0)
    assert set(types[0]) == {"incident", "change", "other"}
    assert set(prios[0]) == {"high", "medium", "low"}
    assert small_model.predict_proba([]) == ([], [])


def test_progress_reports_every_step(small_examples: list[Example]) -> None:
    calls: list[tuple[str, int, int]] = []
    train(small_examples[:60], lambda s, d, t: calls.append((s, d, t)), now=NOW)
    total = calls[0][2]
    assert [c[1] for c in calls] == list(range(total + 1))


def test_correction_weight_moves_the_model() -> None:
    # Two mails with the same words and different labels: the heavier one wins.
    base = [Example("website", f"website probleem {i}", "incident", "high") for i in range(6)]
    base += [Example("pagina", f"nieuwe pagina {i}", "change", None) for i in range(6)]
    probe = Example("factuur vraag", "factuur vraag over hosting", "other", None)
    wrong = Example("factuur vraag", "factuur vraag over hosting", "change", None)
    heavy = [replace(probe, weight=10.0, source="correction")] * 3 + [wrong] * 3
    light = [replace(probe, weight=0.1, source="correction")] * 3 + [wrong] * 3
    text = [model_text(probe.subject, probe.body)]
    p_heavy = train(base + heavy, now=NOW, cross_validate=False).predict_proba(text)[0][0]
    p_light = train(base + light, now=NOW, cross_validate=False).predict_proba(text)[0][0]
    assert p_heavy["other"] > p_heavy["change"]
    assert p_light["change"] > p_light["other"]


@pytest.mark.parametrize(("examples", "needle"), [
    ([], "no examples"),
    ([Example("a", "b", "incident", "high")] * 5, "at least two types"),
    ([Example("a", "b", "incident", "high")] * 5 + [Example("c", "d", "change", None)],
     "single example"),
])
def test_training_is_refused_without_enough_data(examples: list[Example], needle: str) -> None:
    with pytest.raises(TrainingError, match=needle):
        train(examples, now=NOW)


def test_without_priority_data_there_is_no_priority_model() -> None:
    ex = [Example("a", f"storing {i}", "incident", None) for i in range(4)]
    ex += [Example("b", f"nieuwe pagina {i}", "change", None) for i in range(4)]
    model = train(ex, now=NOW)
    assert model.priority_classifier is None
    assert model.predict_proba([model_text("a", "storing")])[1] is None
