"""CPU per mail of the stages no triage can skip: parsing, the model and the rules, on one core.

Uses the mails `bench_pipeline.py` generates (same generator and seed), so the figures say what
the whole-pipeline benchmark spends at least before fetching, storing or sending anything. Each
stage is timed over all N mails in this one process; the rules and the model see the texts the
classifier reads (subject and new text, from ``model_text``).

Run: python bench/bench_stages.py [--n 1000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_pipeline import generate  # noqa: E402

from mailtriage.classify.engine import Classifier  # noqa: E402
from mailtriage.classify.text import model_text  # noqa: E402
from mailtriage.config import ClassifyConfig  # noqa: E402
from mailtriage.ingest.message import RawMail  # noqa: E402
from mailtriage.services.intake import classification_inputs, prepare  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of mails (default 1000)")
    args = parser.parse_args()
    now = datetime.now(UTC)
    raws = [RawMail("helpdesk", "INBOX", 1, str(i), data, len(data), at)
            for i, (data, at) in enumerate(generate(args.n))]

    started = time.perf_counter()
    prepared = [prepare(raw, now) for raw in raws]
    parse_ms = (time.perf_counter() - started) * 1000 / len(raws)

    inputs = [item for _, item in classification_inputs(prepared)]
    texts = [model_text(i.subject, i.body) for i in inputs]
    with tempfile.TemporaryDirectory() as model_dir:
        classifier = Classifier.load(ClassifyConfig(model_dir=Path(model_dir)))
    assert classifier.model is not None
    started = time.perf_counter()
    classifier.model.predict_proba(texts)
    model_ms = (time.perf_counter() - started) * 1000 / len(texts)
    started = time.perf_counter()
    for item, text in zip(inputs, texts, strict=True):
        classifier.rules.votes(text, item.language or "nl")
    rules_ms = (time.perf_counter() - started) * 1000 / len(texts)

    total = parse_ms + (model_ms + rules_ms) * len(texts) / len(raws)
    mean = sum(map(len, texts)) / len(texts)
    print(f"{len(raws)} mails, {len(texts)} classified (mean text {mean:.0f} characters)")
    print(f"parse {parse_ms:.2f} ms/mail, model {model_ms:.2f} ms/text, rules {rules_ms:.2f} "
          f"ms/text: {total:.2f} ms of CPU per mail, at least {total / 2 * args.n / 1000:.1f} s "
          f"for {args.n} mails on two cores")
    print(json.dumps({"n": len(raws), "classified": len(texts), "parse_ms": round(parse_ms, 3),
                      "model_ms": round(model_ms, 3), "rules_ms": round(rules_ms, 3),
                      "cpu_ms_per_mail": round(total, 3)}))


if __name__ == "__main__":
    main()
