"""Trains and applies the text model: TF-IDF word and character n-grams, a calibrated linear SVM.

Two pipelines: one for the type (incident / change / other) over every example, one for the
priority over the incidents that carry a priority. Both read ``text.model_text`` (subject twice
plus the start of the new text). Probabilities come from ``CalibratedClassifierCV`` (sigmoid), so
they can be combined with rule votes. Training reports out-of-fold (cross-validated) scores, over
all examples and over the staff corrections alone. scikit-learn is imported inside the functions,
so importing this module stays cheap.
"""

from __future__ import annotations

import platform
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from mailtriage.classify.dataset import Example
from mailtriage.classify.decision import PRIORITIES, TYPES
from mailtriage.classify.evaluation import evaluate
from mailtriage.classify.text import model_text
from mailtriage.errors import TrainingError

FORMAT = 1
MAX_FOLDS = 5
MIN_PRIORITY_EXAMPLES = 6

Progress = Callable[[str, int, int], None]
"""Called as ``progress(step, done, total)`` while training."""


@dataclass(frozen=True)
class CvScores:
    """Out-of-fold scores; the ``corrections_*`` figures cover the staff corrections alone."""

    folds: int
    n: int
    type_accuracy: float
    type_macro_f1: float
    priority_n: int
    priority_macro_f1: float | None
    corrections_n: int = 0
    corrections_type_accuracy: float | None = None
    corrections_type_macro_f1: float | None = None


@dataclass(frozen=True)
class ModelMetadata:
    """What is recorded beside a saved model (``metadata.json``)."""

    version: str
    created: str
    training_size: int
    corrections: int
    type_counts: dict[str, int]
    priority_counts: dict[str, int]
    cv: CvScores | None
    sklearn_version: str
    skops_version: str
    python_version: str
    format: int = FORMAT
    sha256: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMetadata:
        cv = data.get("cv")
        return cls(
            version=str(data["version"]), created=str(data["created"]),
            training_size=int(data["training_size"]), corrections=int(data["corrections"]),
            type_counts=dict(data["type_counts"]), priority_counts=dict(data["priority_counts"]),
            cv=CvScores(**cv) if isinstance(cv, dict) else None,
            sklearn_version=str(data["sklearn_version"]),
            skops_version=str(data["skops_version"]),
            python_version=str(data.get("python_version", "")),
            format=int(data["format"]), sha256=str(data.get("sha256", "")),
            extra=dict(data.get("extra", {})),
        )


@dataclass(frozen=True)
class TrainedModel:
    """The fitted model: one feature union shared by the type classifier and the priority
    classifier (None without priority data), and the metadata."""

    features: Any
    type_classifier: Any
    priority_classifier: Any | None
    metadata: ModelMetadata

    @property
    def version(self) -> str:
        return self.metadata.version

    def predict_proba(self, texts: Sequence[str]
                      ) -> tuple[list[dict[str, float]], list[dict[str, float]] | None]:
        """Per text (from ``model_text``): type probabilities and priority probabilities."""
        if not texts:
            return [], ([] if self.priority_classifier is not None else None)
        matrix = self.features.transform(list(texts))
        types = _proba(self.type_classifier, matrix)
        prios = (_proba(self.priority_classifier, matrix)
                 if self.priority_classifier is not None else None)
        return types, prios

    def parts(self) -> dict[str, Any]:
        """What is written to the model file."""
        return {"features": features_state(self.features), "type": self.type_classifier,
                "priority": self.priority_classifier}


def _proba(classifier: Any, matrix: Any) -> list[dict[str, float]]:
    probabilities = classifier.predict_proba(matrix)
    classes = [str(c) for c in classifier.classes_]
    return [dict(zip(classes, (float(p) for p in row), strict=True)) for row in probabilities]


def build_features() -> Any:
    """The unfitted feature union: word 1-2-grams and character 3-4-grams within words."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([
        ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                 token_pattern=r"(?u)\b\w[\w'-]*\b", min_df=1,
                                 max_features=60000, dtype=np.float32)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4), sublinear_tf=True,
                                 min_df=2, max_features=60000, dtype=np.float32)),
    ])


def features_state(features: Any) -> dict[str, Any]:
    """The fitted feature union as plain arrays (terms, their columns, idf weights).

    skops writes a vectorizer's vocabulary dict one node per term, which makes files of tens of
    megabytes that load in seconds; as arrays the same vocabulary takes a few hundred kilobytes.
    """
    import numpy as np

    state: dict[str, Any] = {}
    for name, vectorizer in features.transformer_list:
        terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        state[name] = {"terms": np.asarray(terms, dtype=np.str_),
                       "idf": np.asarray(vectorizer.idf_, dtype=np.float64)}
    return state


def features_from_state(state: Any) -> Any:
    """Rebuild the fitted feature union from ``features_state``; ``ValueError`` if malformed."""
    import numpy as np

    features = build_features()
    for name, vectorizer in features.transformer_list:
        part = state[name]
        terms = [str(t) for t in part["terms"]]
        idf = np.asarray(part["idf"], dtype=np.float64)
        if len(terms) != len(idf) or len(set(terms)) != len(terms):
            raise ValueError(f"the {name} vocabulary and its weights do not match")
        vectorizer.set_params(vocabulary={t: i for i, t in enumerate(terms)})
        vectorizer._validate_vocabulary()
        vectorizer.idf_ = idf
    return features


def build_classifier(min_class_count: int) -> Any:
    """A linear SVM calibrated with ``min(3, min_class_count)`` folds (sigmoid); with a class of
    a single example, a plain logistic regression."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    if min_class_count >= 2:
        return CalibratedClassifierCV(LinearSVC(C=0.5, class_weight="balanced"),
                                      method="sigmoid", cv=min(3, min_class_count))
    return LogisticRegression(C=10.0, max_iter=2000)


def _fit(matrix: Any, labels: Sequence[str], weights: Sequence[float]) -> Any:
    import numpy as np

    classifier = build_classifier(min(Counter(labels).values()))
    classifier.fit(matrix, np.asarray(labels), sample_weight=np.asarray(weights))
    return classifier


def _folds(labels: Sequence[str]) -> int:
    return max(0, min(MAX_FOLDS, min(Counter(labels).values()))) if labels else 0


def train(examples: Sequence[Example], progress: Progress | None = None, *,
          now: datetime, version: str | None = None, cross_validate: bool = True
          ) -> TrainedModel:
    """Fit both pipelines on ``examples`` and measure them by cross-validation.

    ``TrainingError`` when there are fewer than two types, or a type has a single example.
    The priority pipeline is left out when the incidents carry fewer than two priorities.
    """
    import sklearn
    import skops

    if not examples:
        raise TrainingError("There are no examples to train on.")
    texts = [model_text(e.subject, e.body) for e in examples]
    types = [e.label_type for e in examples]
    weights = [e.weight for e in examples]
    type_counts = Counter(types)
    if len(type_counts) < 2:
        raise TrainingError(f"All {len(examples)} examples have the type {types[0]}; at least "
                            "two types are needed.")
    lonely = sorted(c for c, n in type_counts.items() if n < 2)
    if lonely:
        raise TrainingError(f"The type {lonely[0]} has a single example; give it at least two.")
    p_idx = [i for i, e in enumerate(examples)
             if e.label_type == "incident" and e.label_priority is not None]
    p_labels = [str(examples[i].label_priority) for i in p_idx]
    p_counts = Counter(p_labels)
    with_priority = (len(p_counts) >= 2 and len(p_idx) >= MIN_PRIORITY_EXAMPLES
                     and min(p_counts.values()) >= 2)
    folds = _folds(types) if cross_validate else 0
    total = folds + 1
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress("training", done, total)

    if progress is not None:
        progress("training", 0, total)
    cv = _cross_validate(examples, texts, p_idx, folds, with_priority, tick) if folds >= 2 else None
    features = build_features()
    matrix = features.fit_transform(texts)
    type_classifier = _fit(matrix, types, weights)
    priority_classifier = None
    if with_priority:
        priority_classifier = _fit(matrix[p_idx], p_labels, [weights[i] for i in p_idx])
    tick()
    meta = ModelMetadata(
        version=version or f"{now:%Y%m%d-%H%M%S}-n{len(examples)}",
        created=now.isoformat(timespec="seconds"), training_size=len(examples),
        corrections=sum(1 for e in examples if e.source == "correction"),
        type_counts=dict(sorted(type_counts.items())),
        priority_counts=dict(sorted(p_counts.items())), cv=cv,
        sklearn_version=sklearn.__version__, skops_version=skops.__version__,
        python_version=platform.python_version(),
    )
    return TrainedModel(features, type_classifier, priority_classifier, meta)


def _cross_validate(examples: Sequence[Example], texts: Sequence[str], p_idx: Sequence[int],
                    folds: int, with_priority: bool, tick: Callable[[], None]) -> CvScores:
    """Stratified k-fold on the type; each fold's features also serve its incidents' priority."""
    from sklearn.model_selection import StratifiedKFold

    types = [e.label_type for e in examples]
    weights = [e.weight for e in examples]
    has_priority = set(p_idx) if with_priority else set()
    oof = [""] * len(examples)
    p_oof: dict[int, str] = {}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for train_idx, test_idx in splitter.split(list(texts), types):
        features = build_features()
        train_m = features.fit_transform([texts[i] for i in train_idx])
        test_m = features.transform([texts[i] for i in test_idx])
        clf = _fit(train_m, [types[i] for i in train_idx], [weights[i] for i in train_idx])
        for i, label in zip(test_idx, clf.predict(test_m), strict=True):
            oof[i] = str(label)
        p_rows = [r for r, i in enumerate(train_idx) if i in has_priority]
        p_train = [str(examples[train_idx[r]].label_priority) for r in p_rows]
        p_test = [r for r, i in enumerate(test_idx) if i in has_priority]
        if p_test and len(set(p_train)) >= 2:
            p_clf = _fit(train_m[p_rows], p_train, [weights[train_idx[r]] for r in p_rows])
            for r, label in zip(p_test, p_clf.predict(test_m[p_test]), strict=True):
                p_oof[int(test_idx[r])] = str(label)
        tick()
    m = evaluate(types, oof, TYPES)
    corr = [i for i, e in enumerate(examples) if e.source == "correction"]
    cm = evaluate([types[i] for i in corr], [oof[i] for i in corr], TYPES) if corr else None
    p_f1: float | None = None
    if p_oof:
        keys = sorted(p_oof)
        p_f1 = evaluate([str(examples[i].label_priority) for i in keys],
                        [p_oof[i] for i in keys], PRIORITIES).macro_f1
    return CvScores(folds=folds, n=len(examples), type_accuracy=m.accuracy,
                    type_macro_f1=m.macro_f1, priority_n=len(p_oof), priority_macro_f1=p_f1,
                    corrections_n=len(corr),
                    corrections_type_accuracy=cm.accuracy if cm else None,
                    corrections_type_macro_f1=cm.macro_f1 if cm else None)
