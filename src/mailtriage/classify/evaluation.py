"""Scores predictions against labels: accuracy, macro-F1, confusion matrix, per-class figures.

Pure Python over label sequences, so evaluating costs no scikit-learn import. Classes that never
occur in either the labels or the predictions are left out of the macro average.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ClassScore:
    """Precision, recall and F1 of one class, and how often it occurs in the labels."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Metrics:
    """The scores of one set of predictions; ``confusion[i][j]``: label i predicted as j."""

    n: int
    accuracy: float
    macro_f1: float
    labels: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]
    per_class: tuple[ClassScore, ...]
    majority_label: str | None
    majority_accuracy: float

    @property
    def macro_f1_labelled(self) -> float:
        """Macro-F1 over the classes that occur in the labels only (a class that is only ever
        predicted, never labelled, is left out)."""
        present = [c.f1 for c in self.per_class if c.support > 0]
        return sum(present) / len(present) if present else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n, "accuracy": round(self.accuracy, 4), "macro_f1": round(self.macro_f1, 4),
            "macro_f1_labelled": round(self.macro_f1_labelled, 4),
            "majority_label": self.majority_label,
            "majority_accuracy": round(self.majority_accuracy, 4),
            "labels": list(self.labels),
            "confusion": [list(row) for row in self.confusion],
            "per_class": {c.label: {"precision": round(c.precision, 4),
                                    "recall": round(c.recall, 4), "f1": round(c.f1, 4),
                                    "support": c.support} for c in self.per_class},
        }


def evaluate(truth: Sequence[str], predicted: Sequence[str],
             labels: Sequence[str] | None = None) -> Metrics:
    """Score ``predicted`` against ``truth`` (same length). ``labels`` fixes the class order."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predicted differ in length")
    seen = set(truth) | set(predicted)
    order = tuple(labels) if labels is not None else tuple(sorted(seen))
    order = tuple(c for c in order if c in seen) + tuple(sorted(seen - set(order)))
    index = {c: i for i, c in enumerate(order)}
    matrix = [[0] * len(order) for _ in order]
    for t, p in zip(truth, predicted, strict=True):
        matrix[index[t]][index[p]] += 1
    n = len(truth)
    correct = sum(matrix[i][i] for i in range(len(order)))
    scores = []
    for i, c in enumerate(order):
        tp = matrix[i][i]
        pred_c = sum(matrix[r][i] for r in range(len(order)))
        true_c = sum(matrix[i])
        precision = tp / pred_c if pred_c else 0.0
        recall = tp / true_c if true_c else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(ClassScore(c, precision, recall, f1, true_c))
    macro = sum(s.f1 for s in scores) / len(scores) if scores else 0.0
    majority = max(order, key=lambda c: (sum(matrix[index[c]]), -index[c])) if n else None
    majority_acc = sum(matrix[index[majority]]) / n if majority is not None and n else 0.0
    return Metrics(n=n, accuracy=correct / n if n else 0.0, macro_f1=macro, labels=order,
                   confusion=tuple(tuple(r) for r in matrix), per_class=tuple(scores),
                   majority_label=majority, majority_accuracy=majority_acc)
