"""Decides what the model learns from and whether a new model may replace the active one.

Pure functions over examples and metadata. Staff corrections are the ground truth, so they weigh
``ClassifyConfig.correction_weight`` times a seed example. A new model replaces the active one
only when its cross-validated scores are not worse: on the staff corrections when both models
were scored on at least ``MIN_CORRECTIONS`` of them, else over all their examples.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from mailtriage.classify.dataset import Example
from mailtriage.classify.decision import PRIORITIES, TYPES
from mailtriage.classify.model import ModelMetadata
from mailtriage.config import ClassifyConfig
from mailtriage.errors import UsageError

MIN_CORRECTIONS = 20


@dataclass(frozen=True)
class ReplaceVerdict:
    """Whether a new model may become active, and why."""

    allowed: bool
    reason: str


def correction_example(subject: str, body: str, label_type: str, label_priority: str | None,
                       cfg: ClassifyConfig) -> Example:
    """A staff correction as a training example, weighted by ``cfg.correction_weight``."""
    if label_type not in TYPES:
        raise UsageError(f"'{label_type}' is not a type; use {', '.join(TYPES)}.")
    if label_priority is not None and label_priority not in PRIORITIES:
        raise UsageError(f"'{label_priority}' is not a priority; use {', '.join(PRIORITIES)}.")
    return Example(subject=subject, body=body, label_type=label_type,
                   label_priority=label_priority if label_type == "incident" else None,
                   weight=cfg.correction_weight, source="correction")


def training_set(seed: Iterable[Example], corrections: Iterable[Example],
                 cfg: ClassifyConfig, extra: Iterable[Example] = ()) -> list[Example]:
    """Seed examples (weight 1), ``extra`` labelled rows as given, and the corrections weighted
    ``cfg.correction_weight`` and marked ``source="correction"``."""
    out = [replace(e, weight=1.0, source="seed") for e in seed]
    out.extend(extra)
    out.extend(replace(e, weight=cfg.correction_weight, source="correction")
               for e in corrections)
    return out


def may_replace(candidate: ModelMetadata, active: ModelMetadata | None, *,
                tolerance: float = 0.0) -> ReplaceVerdict:
    """Refuse ``candidate`` when it scores worse than ``active`` on cross-validation.

    Compared: type macro-F1 (on the corrections when both were scored on at least
    ``MIN_CORRECTIONS`` of them, else overall), then priority macro-F1 when both have one.
    A drop larger than ``tolerance`` refuses.
    """
    if active is None:
        return ReplaceVerdict(True, "there is no active model")
    new, old = candidate.cv, active.cv
    if new is None:
        return ReplaceVerdict(False, f"the new model {candidate.version} has no cross-validated "
                              "scores to compare")
    if old is None:
        return ReplaceVerdict(True, f"the active model {active.version} has no cross-validated "
                              "scores")
    if (new.corrections_n >= MIN_CORRECTIONS and old.corrections_n >= MIN_CORRECTIONS
            and new.corrections_type_macro_f1 is not None
            and old.corrections_type_macro_f1 is not None):
        what, a, b = ("type macro-F1 on staff corrections", new.corrections_type_macro_f1,
                      old.corrections_type_macro_f1)
    else:
        what, a, b = "type macro-F1", new.type_macro_f1, old.type_macro_f1
    if a < b - tolerance:
        return ReplaceVerdict(False, f"the new model scores worse on {what}: {a:.3f} against "
                              f"{b:.3f} for the active model {active.version}")
    if new.priority_macro_f1 is not None and old.priority_macro_f1 is not None \
            and new.priority_macro_f1 < old.priority_macro_f1 - tolerance:
        return ReplaceVerdict(False, "the new model scores worse on priority macro-F1: "
                              f"{new.priority_macro_f1:.3f} against {old.priority_macro_f1:.3f} "
                              f"for the active model {active.version}")
    return ReplaceVerdict(True, f"{what} {a:.3f} against {b:.3f} for the active model "
                          f"{active.version}")


def count_by_source(examples: Sequence[Example]) -> dict[str, int]:
    """How many examples came from each source."""
    counts: dict[str, int] = {}
    for e in examples:
        counts[e.source] = counts.get(e.source, 0) + 1
    return counts
