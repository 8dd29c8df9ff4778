"""Classifies mails in batches: the rules plus the active model, combined into decisions.

``Classifier.load`` reads the rules and the model chosen by ``ClassifyConfig``: the active version
in ``model_dir``, else the model bundled with the package, else (when the bundled model does not
fit the installed scikit-learn) a model trained on the bundled seed set and cached in
``model_dir``. scikit-learn and skops are imported only then, so importing this module is cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from mailtriage.classify.decision import ClassifyInput, Decision, decide
from mailtriage.classify.model import ModelMetadata, Progress, TrainedModel
from mailtriage.classify.rules import RuleSet, load_rules
from mailtriage.classify.text import guess_language, model_text
from mailtriage.config import ClassifyConfig
from mailtriage.errors import MailtriageError

log = logging.getLogger("mailtriage.classify")


def seed_cache_version() -> str:
    """The version name under which a seed model trained on this installation is cached."""
    import sklearn

    return "seed-sklearn-" + "-".join(sklearn.__version__.split(".")[:2])


def resolve_model(cfg: ClassifyConfig, progress: Progress | None = None) -> TrainedModel:
    """The model to use for ``cfg``; ``ModelError`` when the chosen file is not trustworthy."""
    from mailtriage.classify.modelstore import (
        METADATA_FILE,
        ModelStore,
        bundled_model_dir,
        incompatibility,
        load_model,
        read_metadata,
    )

    store = ModelStore(cfg.model_dir)
    active = store.active_version()
    if active is not None:
        return store.load(active)
    bundled = bundled_model_dir()
    if (bundled / METADATA_FILE).exists() and incompatibility(read_metadata(bundled)) is None:
        return load_model(bundled)
    cached = seed_cache_version()
    if cached in store.versions():
        return store.load(cached)
    from mailtriage.classify.dataset import seed_examples
    from mailtriage.classify.model import train

    model = train(seed_examples(), progress, now=datetime.now(UTC), version=cached,
                  cross_validate=True)
    store.save(model)
    return store.load(cached)


def active_metadata(cfg: ClassifyConfig) -> ModelMetadata | None:
    """The metadata of the model ``resolve_model`` would use without training, if any."""
    from mailtriage.classify.modelstore import (
        METADATA_FILE,
        ModelStore,
        bundled_model_dir,
        read_metadata,
    )

    store = ModelStore(cfg.model_dir)
    active = store.active_version()
    if active is not None:
        return store.metadata(active)
    if seed_cache_version() in store.versions():
        return store.metadata(seed_cache_version())
    bundled = bundled_model_dir()
    return read_metadata(bundled) if (bundled / METADATA_FILE).exists() else None


class Classifier:
    """Rules plus an optional model; call ``classify_batch`` with many mails at once."""

    def __init__(self, rules: RuleSet, model: TrainedModel | None,
                 review_threshold: float) -> None:
        self.rules = rules
        self.model = model
        self.review_threshold = review_threshold

    @classmethod
    def load(cls, cfg: ClassifyConfig, *, with_model: bool = True,
             progress: Progress | None = None) -> Classifier:
        """Rules from ``cfg.rules_file`` (or the bundled file) and the model ``cfg`` selects."""
        rules = load_rules(cfg.rules_file)
        model = resolve_model(cfg, progress) if with_model else None
        return cls(rules, model, cfg.review_threshold)

    @classmethod
    def load_or_rules(cls, cfg: ClassifyConfig) -> tuple[Classifier, str | None]:
        """``load``, or the rules alone when the model cannot be used, with the problem.

        Rules still work without the model; every ticket then waits for review (low
        confidence)."""
        try:
            return cls.load(cfg), None
        except MailtriageError as exc:
            log.error("the model cannot be used, classifying with rules only: %s", exc)
            return cls.load(cfg, with_model=False), f"model: {exc}"

    @property
    def model_version(self) -> str | None:
        return self.model.version if self.model is not None else None

    def classify(self, item: ClassifyInput) -> Decision:
        return self.classify_batch([item])[0]

    def classify_batch(self, items: Sequence[ClassifyInput]) -> list[Decision]:
        """One decision per item, in order; the model sees the whole batch in one call."""
        texts = [model_text(i.subject, i.body) for i in items]
        if self.model is not None:
            type_probs, prio_probs = self.model.predict_proba(texts)
        else:
            type_probs, prio_probs = [], None
        out: list[Decision] = []
        for n, (item, text) in enumerate(zip(items, texts, strict=True)):
            language = item.language if item.language in ("nl", "en") else guess_language(text)
            votes = self.rules.votes(text, language)
            out.append(decide(
                votes,
                type_probs[n] if self.model is not None else None,
                prio_probs[n] if prio_probs is not None else None,
                model_version=self.model_version, review_threshold=self.review_threshold,
            ))
        return out
