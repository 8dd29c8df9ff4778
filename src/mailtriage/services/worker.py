"""Runs in the parse processes: parses a chunk of fetched mail and classifies its candidates.

Each worker process loads the classifier (scikit-learn and the model) once (``warm_up``, the
pool's first task, or else its first chunk of inbox mail), so the main process, which stores
and sends, never imports scikit-learn when a pool is in use. While a worker is still loading,
the main process parses the first batches itself and hands the worker only what the
classifier reads (``classify_inputs``). Only the results travel back, never the raw bytes.
A worker's classification is the same call the main process would make; if it fails, the
mails come back unclassified and the main process classifies them itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from mailtriage.classify.decision import ClassifyInput, Decision
from mailtriage.config import ClassifyConfig
from mailtriage.ingest.message import ParsedMail, RawMail
from mailtriage.services.intake import classification_inputs, prepare

if TYPE_CHECKING:
    from mailtriage.classify.engine import Classifier

log = logging.getLogger("mailtriage.worker")

PreparedFields = tuple[ParsedMail | None, str | None, str, str, Decision | None]
"""What travels back per mail: parsed mail, failure, its detail, sha256, decision."""

_classifiers: dict[ClassifyConfig, tuple[Classifier, str | None]] = {}


def _classifier(cfg: ClassifyConfig) -> tuple[Classifier, str | None]:
    cached = _classifiers.get(cfg)
    if cached is None:
        from mailtriage.classify.engine import Classifier

        cached = _classifiers[cfg] = Classifier.load_or_rules(cfg)
    return cached


def warm_up(cfg: ClassifyConfig) -> None:
    """Load the classifier for ``cfg`` now (scikit-learn, the model): the pool's first task."""
    try:
        _classifier(cfg)
    except Exception as exc:  # the chunks will try again and fall back as they always do
        log.warning("loading the classifier failed (%s: %s)", exc.__class__.__name__, exc)


def classify_inputs(items: Sequence[ClassifyInput], cfg: ClassifyConfig
                    ) -> tuple[list[Decision] | None, list[str]]:
    """The decisions for mails the main process parsed, in order; None when classifying
    failed here (the main process then classifies them itself)."""
    try:
        classifier, problem = _classifier(cfg)
        results = classifier.classify_batch(items)
    except Exception as exc:
        log.warning("classifying in the worker failed (%s: %s); the main process will",
                    exc.__class__.__name__, exc)
        return None, []
    return results, [problem] if problem else []


def prepare_chunk(raws: Sequence[RawMail], now: datetime, classify: ClassifyConfig | None
                  ) -> tuple[list[PreparedFields], list[str]]:
    """Parse every mail of the chunk and, with ``classify``, classify the ones that may open
    a ticket in one batch. Returns the fields per mail and the problems met."""
    done = [prepare(raw, now) for raw in raws]
    decisions: dict[int, Decision] = {}
    problems: list[str] = []
    wanted = classification_inputs(done) if classify is not None else []
    if classify is not None and wanted:
        results, problems = classify_inputs([item for _, item in wanted], classify)
        if results is not None:
            decisions = {i: d for (i, _), d in zip(wanted, results, strict=True)}
    return [(p.parsed, p.failure, p.failure_detail, p.digest, decisions.get(i))
            for i, p in enumerate(done)], problems
