"""Learning curve: how the classifier improves with N staff corrections on top of the seed set.

Usage: python bench/learning_curve.py LABELLED.csv [--sizes 0,50,100,200,400]

The rows are put in a stable order by the sha256 of their id. The first N rows are fed as
corrections (weight ClassifyConfig.correction_weight) on top of the bundled seed set; every row
after the first max(sizes) rows is scored, so each N is measured on the same held-out rows.
Scored is the whole classifier (rules plus model). Type macro-F1 is given over all three types
(a type predicted but never labelled counts with F1 0) and over the labelled types only.
Priority macro-F1 covers the held-out incidents with a labelled priority; a predicted
non-incident counts as a wrong priority.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from mailtriage.classify.dataset import LabelledRow, read_labelled_rows, seed_examples
from mailtriage.classify.decision import PRIORITIES, TYPES, ClassifyInput
from mailtriage.classify.engine import Classifier
from mailtriage.classify.evaluation import evaluate
from mailtriage.classify.learning import training_set
from mailtriage.classify.model import train
from mailtriage.classify.rules import load_rules
from mailtriage.config import ClassifyConfig


def stable_order(rows: list[LabelledRow]) -> list[LabelledRow]:
    return sorted(rows, key=lambda r: hashlib.sha256(r.id.encode("utf-8")).hexdigest())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--sizes", default="0,50,100,200,400")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    cfg = ClassifyConfig()
    rows = stable_order(read_labelled_rows(args.csv, source="correction"))
    test = rows[max(sizes):]
    items = [ClassifyInput(r.example.subject, r.example.body, r.language) for r in test]
    truth = [r.example.label_type for r in test]
    p_rows = [i for i, r in enumerate(test)
              if r.example.label_type == "incident" and r.example.label_priority]
    p_truth = [str(test[i].example.label_priority) for i in p_rows]
    majority_t, majority_n = Counter(truth).most_common(1)[0]
    majority_p, majority_pn = Counter(p_truth).most_common(1)[0]
    base_p = evaluate(p_truth, [majority_p] * len(p_truth), PRIORITIES)
    base_t = evaluate(truth, [majority_t] * len(truth), TYPES)
    print(f"{args.csv}: {len(rows)} rows; held out {len(test)} "
          f"({len(p_rows)} incidents with a priority)")
    print(f"majority baseline: type '{majority_t}' accuracy {majority_n / len(test):.3f}, "
          f"type macro-F1 {base_t.macro_f1:.3f}; priority '{majority_p}' macro-F1 "
          f"{base_p.macro_f1:.3f} (accuracy {majority_pn / len(p_truth):.3f})")
    print()
    print("| N corrections | type accuracy | type macro-F1 | type macro-F1 (labelled types) "
          "| priority macro-F1 | needs review | train s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    seed = seed_examples()
    rules = load_rules(None)
    for n in sizes:
        corrections = [r.example for r in rows[:n]]
        examples = training_set(seed, corrections, cfg)
        t0 = time.perf_counter()
        model = train(examples, now=datetime.now(UTC), cross_validate=False)
        took = time.perf_counter() - t0
        decisions = Classifier(rules, model, cfg.review_threshold).classify_batch(items)
        tm = evaluate(truth, [d.type for d in decisions], TYPES)
        pm = evaluate(p_truth, [decisions[i].priority or "none" for i in p_rows],
                      (*PRIORITIES, "none"))
        review = sum(d.needs_review for d in decisions) / len(decisions)
        print(f"| {n} | {tm.accuracy:.3f} | {tm.macro_f1:.3f} | {tm.macro_f1_labelled:.3f} | "
              f"{pm.macro_f1:.3f} | "
              f"{review:.0%} | {took:.1f} |")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
