"""The classifier end to end: model choice, batches, and a cheap import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mailtriage.classify.decision import ClassifyInput
from mailtriage.classify.engine import Classifier, active_metadata
from mailtriage.classify.model import TrainedModel
from mailtriage.classify.modelstore import MODEL_FILE, ModelStore, read_metadata
from mailtriage.classify.rules import load_rules
from mailtriage.config import ClassifyConfig
from mailtriage.errors import ModelError


def test_import_does_not_load_sklearn() -> None:
    code = ("import sys, mailtriage.classify.engine; "
            "print('sklearn' in sys.modules, 'skops' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "False"]


def test_load_uses_bundled_model_without_active(tmp_path: Path) -> None:
    cfg = ClassifyConfig(model_dir=tmp_path / "none")
    c = Classifier.load(cfg)
    from mailtriage.classify.modelstore import bundled_model_dir
    assert c.model_version == read_metadata(bundled_model_dir()).version
    meta = active_metadata(cfg)
    assert meta is not None and meta.version == c.model_version
    items = [ClassifyInput("Website ligt eruit", "Onze site ligt eruit, niemand kan bestellen.",
                           "nl"),
             ClassifyInput("New page", "Could you please add a new page for our vacancies?",
                           None),
             ClassifyInput("Bedankt", "Bedankt voor de snelle hulp, het werkt weer!", None)]
    d = c.classify_batch(items)
    assert [(x.type, x.priority) for x in d] == [("incident", "high"), ("change", None),
                                                 ("other", None)]
    assert "nl-ligt-eruit" in d[0].rules and "en-request" in d[1].rules
    assert all(x.model_version == c.model_version for x in d)
    assert c.classify_batch([]) == []


def test_active_model_is_used_and_a_tampered_one_refused(small_model: TrainedModel,
                                                         tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "m")
    store.save(small_model)
    store.activate("test-small")
    cfg = ClassifyConfig(model_dir=tmp_path / "m")
    assert Classifier.load(cfg).model_version == "test-small"
    (store.version_dir("test-small") / MODEL_FILE).write_bytes(b"PK\x03\x04tampered")
    with pytest.raises(ModelError, match="sha256"):
        Classifier.load(cfg)


def test_rules_only_classifier_and_review_threshold() -> None:
    c = Classifier(load_rules(None), None, review_threshold=0.95)
    [d] = c.classify_batch([ClassifyInput("Vraagje", "Hoe kan ik een PDF plaatsen?", None)])
    # only the weak 'question' rule: other = e^0.7/(e^0.7+2) = 0.5017
    assert d.type == "other"
    assert d.confidence == pytest.approx(0.5017, abs=1e-4)
    assert d.needs_review and d.model_version is None and d.rules == ("question",)


def test_language_is_guessed_when_missing() -> None:
    c = Classifier(load_rules(None), None, review_threshold=0.5)
    [d] = c.classify_batch([ClassifyInput("", "De website werkt niet meer, wat is er aan de "
                                              "hand met de server?", None)])
    assert "nl-werkt-niet-meer" in d.rules
