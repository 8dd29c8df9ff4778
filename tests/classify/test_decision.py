"""Combining rule votes with model probabilities: values computed by hand."""

from __future__ import annotations

import math

import pytest

from mailtriage.classify.decision import TYPES, Vote, combine, decide


def vote(name: str, type_: str | None = None, priority: str | None = None,
         weight: float = 1.5) -> Vote:
    return Vote(rule=name, description=f"{name} fired", type=type_, priority=priority,  # type: ignore[arg-type]
                weight=weight)


def test_combine_without_votes_keeps_the_prior() -> None:
    prior = {"incident": 0.2, "change": 0.5, "other": 0.3}
    assert combine(prior, TYPES, []) == pytest.approx(prior)


def test_combine_multiplies_the_odds() -> None:
    # uniform prior, one vote of weight ln(4) for change: 4/6 change, 1/6 each other.
    dist = combine(None, TYPES, [("change", math.log(4))])
    assert dist == pytest.approx({"incident": 1 / 6, "change": 4 / 6, "other": 1 / 6})


def test_strong_rule_beats_a_weak_model() -> None:
    # model: change 0.55, incident 0.35, other 0.10; strong incident rule weight 3.0
    # incident: 0.35*e^3 = 7.030, change 0.55, other 0.10 -> p(incident) = 7.030/7.680 = 0.9154
    prior = {"incident": 0.35, "change": 0.55, "other": 0.10}
    d = decide([vote("nl-ligt-eruit", "incident", weight=3.0)], prior,
               {"high": 0.5, "medium": 0.3, "low": 0.2}, model_version="m1",
               review_threshold=0.3)
    assert d.type == "incident"
    expected_type = 0.35 * math.exp(3) / (0.35 * math.exp(3) + 0.55 + 0.10)
    assert d.confidence == pytest.approx(round(expected_type * 0.5, 4))
    assert d.priority == "high"
    assert d.rules == ("nl-ligt-eruit",)
    assert d.model_version == "m1"
    assert any("nl-ligt-eruit" in r for r in d.reasons)


def test_weak_rule_does_not_beat_a_confident_model() -> None:
    prior = {"incident": 0.05, "change": 0.9, "other": 0.05}
    d = decide([vote("nl-kapot", "incident", weight=0.7)], prior, None, model_version="m1",
               review_threshold=0.6)
    assert d.type == "change"
    assert d.priority is None


def test_low_confidence_needs_review() -> None:
    prior = {"incident": 0.4, "change": 0.35, "other": 0.25}
    d = decide([], prior, {"high": 0.4, "medium": 0.3, "low": 0.3}, model_version="m1",
               review_threshold=0.6)
    assert d.type == "incident"
    assert d.confidence == pytest.approx(0.16)
    assert d.needs_review
    assert any("below the review threshold" in r for r in d.reasons)


def test_high_confidence_passes_without_review() -> None:
    d = decide([], {"incident": 0.02, "change": 0.95, "other": 0.03}, None, model_version="m1",
               review_threshold=0.6)
    assert (d.type, d.confidence, d.needs_review) == ("change", 0.95, False)


def test_priority_votes_only_count_for_incidents() -> None:
    d = decide([vote("r", "change", weight=3.0), vote("p", priority="high", weight=3.0)],
               None, None, model_version=None, review_threshold=0.5)
    assert d.type == "change"
    assert d.priority is None
    assert d.model_version is None
    assert d.rules == ("r", "p")


def test_rules_alone_decide_without_a_model() -> None:
    # uniform prior over types, incident vote 3.0: e^3/(e^3+2) = 0.9094;
    # priority uniform, medium vote 1.5: e^1.5/(e^1.5+2) = 0.6914; product 0.6288
    d = decide([vote("a", "incident", weight=3.0), vote("b", priority="medium", weight=1.5)],
               None, None, model_version=None, review_threshold=0.6)
    t = math.exp(3) / (math.exp(3) + 2)
    p = math.exp(1.5) / (math.exp(1.5) + 2)
    assert (d.type, d.priority) == ("incident", "medium")
    assert d.confidence == pytest.approx(round(t * p, 4))
    assert not d.needs_review
