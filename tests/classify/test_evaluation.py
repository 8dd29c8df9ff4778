"""Metrics against hand-computed values."""

from __future__ import annotations

import pytest

from mailtriage.classify.evaluation import evaluate


def test_metrics_by_hand() -> None:
    truth = ["incident", "incident", "incident", "change", "change", "other"]
    pred = ["incident", "incident", "change", "change", "incident", "change"]
    m = evaluate(truth, pred, ("incident", "change", "other"))
    assert m.n == 6
    assert m.accuracy == pytest.approx(3 / 6)
    assert m.confusion == ((2, 1, 0), (1, 1, 0), (0, 1, 0))
    inc, chg, oth = m.per_class
    # incident: tp 2, predicted 3, true 3 -> p 2/3, r 2/3, f1 2/3
    assert (inc.precision, inc.recall, inc.f1) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    # change: tp 1, predicted 3, true 2 -> p 1/3, r 1/2, f1 0.4
    assert (chg.precision, chg.recall, chg.f1) == pytest.approx((1 / 3, 1 / 2, 0.4))
    assert (oth.precision, oth.recall, oth.f1, oth.support) == (0.0, 0.0, 0.0, 1)
    assert m.macro_f1 == pytest.approx((2 / 3 + 0.4 + 0) / 3)
    assert m.majority_label == "incident"
    assert m.majority_accuracy == pytest.approx(0.5)


def test_predicted_only_class_is_left_out_of_the_labelled_macro() -> None:
    m = evaluate(["a", "a", "b"], ["a", "c", "b"])
    assert m.labels == ("a", "b", "c")
    # a: p 1, r 1/2 -> 2/3; b: 1; c: 0
    assert m.macro_f1 == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert m.macro_f1_labelled == pytest.approx((2 / 3 + 1) / 2)


def test_length_mismatch_is_refused() -> None:
    with pytest.raises(ValueError):
        evaluate(["a"], [])
