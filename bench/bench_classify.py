"""Benchmarks of the classifier: model throughput in batches and training time.

Usage: python bench/bench_classify.py [LABELLED.csv]   (default: /work/shared/data/dev.csv if
present, else the seed set repeated). Runs on one core (the thread pools of numpy and scipy are
limited to one thread). Targets: the model step classifies at least 2,000 mails/s in batches;
training (with 5-fold cross-validation) on 5,000 examples takes at most 30 s.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import sys  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

from mailtriage.classify.dataset import Example, read_labelled_csv, seed_examples  # noqa: E402
from mailtriage.classify.decision import ClassifyInput  # noqa: E402
from mailtriage.classify.engine import Classifier  # noqa: E402
from mailtriage.classify.model import train  # noqa: E402
from mailtriage.classify.modelstore import bundled_model_dir, load_model  # noqa: E402
from mailtriage.classify.rules import load_rules  # noqa: E402
from mailtriage.classify.text import model_text  # noqa: E402

DEV = Path("/work/shared/data/dev.csv")


def corpus(path: Path | None) -> list[Example]:
    if path is not None:
        return read_labelled_csv(path)
    if DEV.exists():
        return read_labelled_csv(DEV)
    return seed_examples()


def main() -> int:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    examples = corpus(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    mails = [ClassifyInput(e.subject, e.body, None) for e in examples]
    while len(mails) < 10000:
        mails = mails + mails
    mails = mails[:10000]
    avg = sum(len(m.subject) + len(m.body) for m in mails) / len(mails)
    print(f"corpus: {len(examples)} labelled mails, average {avg:.0f} characters")

    t0 = time.perf_counter()
    model = load_model(bundled_model_dir())
    print(f"load bundled model: {time.perf_counter() - t0:.2f} s")
    texts = [model_text(m.subject, m.body) for m in mails]
    for batch in (256, 1024):
        t0 = time.perf_counter()
        for start in range(0, len(texts), batch):
            model.predict_proba(texts[start:start + batch])
        rate = len(texts) / (time.perf_counter() - t0)
        print(f"model step, batches of {batch}: {rate:,.0f} mails/s (target >= 2,000)")
    classifier = Classifier(load_rules(None), model, 0.6)
    t0 = time.perf_counter()
    for start in range(0, len(mails), 512):
        classifier.classify_batch(mails[start:start + 512])
    rate = len(mails) / (time.perf_counter() - t0)
    print(f"whole classifier (rules + model + decision), batches of 512: {rate:,.0f} mails/s")

    train_set = (examples * (5000 // len(examples) + 1))[:5000]
    t0 = time.perf_counter()
    trained = train(train_set, now=datetime.now(UTC))
    took = time.perf_counter() - t0
    cv = trained.metadata.cv
    print(f"train on {len(train_set)} examples with {cv.folds if cv else 0}-fold "
          f"cross-validation: {took:.1f} s (target <= 30 s)")
    t0 = time.perf_counter()
    train(train_set, now=datetime.now(UTC), cross_validate=False)
    print(f"train on {len(train_set)} examples without cross-validation: "
          f"{time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
