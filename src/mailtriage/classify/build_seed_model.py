"""Trains the model on the bundled seed set and writes it to ``mailtriage/classify/bundled/``.

Run ``python -m mailtriage.classify.build_seed_model`` after changing the seed set, the features
or the classifier. The result (a few hundred kilobytes) is committed, so a fresh installation
classifies without training; when the installed scikit-learn differs in its minor version the
engine trains the same model on first use and caches it in ``ClassifyConfig.model_dir``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from mailtriage.classify.dataset import seed_examples
from mailtriage.classify.model import train
from mailtriage.classify.modelstore import bundled_model_dir, save_model


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else bundled_model_dir()
    examples = seed_examples()
    model = train(examples, now=datetime.now(UTC).replace(microsecond=0),
                  version=f"seed-{datetime.now(UTC):%Y%m%d}")
    meta = save_model(model, target)
    size = (target / "model.skops").stat().st_size
    cv = meta.cv
    print(f"model {meta.version}: {meta.training_size} examples, {size / 1024:.0f} KiB, "
          f"sklearn {meta.sklearn_version}")
    if cv is not None:
        prio = "-" if cv.priority_macro_f1 is None else f"{cv.priority_macro_f1:.3f}"
        print(f"cross-validated ({cv.folds} folds): type accuracy {cv.type_accuracy:.3f}, "
              f"type macro-F1 {cv.type_macro_f1:.3f}, priority macro-F1 {prio}")
    print(f"written to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
