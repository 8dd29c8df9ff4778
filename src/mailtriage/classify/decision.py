"""Combines rule votes and model probabilities into one decision with an honest confidence.

Everything here is pure: the engine hands in what the rules matched and what the model said,
and gets back a frozen ``Decision``. The combination is a naive-Bayes style update: the model's
calibrated probabilities are the prior, and every rule that fired multiplies the odds of the class
it votes for by ``exp(weight)``; the result is normalised again. Without a model the prior is
uniform, so rules alone carry the cold start. For an incident the confidence is the probability
that both type *and* priority are right (their product), because the SLA depends on both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

TicketType = Literal["incident", "change", "other"]
Priority = Literal["high", "medium", "low"]

TYPES: tuple[TicketType, ...] = ("incident", "change", "other")
PRIORITIES: tuple[Priority, ...] = ("high", "medium", "low")


@dataclass(frozen=True)
class ClassifyInput:
    """What the classifier reads: the subject and the new (unquoted) text of one mail."""

    subject: str
    body: str
    language: str | None = None


@dataclass(frozen=True)
class Decision:
    """The classification of one mail, with why it was made.

    ``priority`` is set only for incidents. ``confidence`` lies in [0, 1]; ``needs_review`` is
    true when it is below the configured review threshold. ``rules`` names every rule that
    fired, ``model_version`` the model that contributed (None when rules decided alone).
    """

    type: TicketType
    priority: Priority | None
    confidence: float
    needs_review: bool
    reasons: tuple[str, ...]
    rules: tuple[str, ...]
    model_version: str | None


@dataclass(frozen=True)
class Vote:
    """One fired rule's vote: on the type or on the priority, with a log-odds weight."""

    rule: str
    description: str
    type: TicketType | None
    priority: Priority | None
    weight: float


def combine(prior: Mapping[str, float] | None, classes: Sequence[str],
            votes: Sequence[tuple[str, float]]) -> dict[str, float]:
    """Posterior over ``classes``: the prior (uniform if None) times ``exp(weight)`` per vote.

    ``votes`` are (class, weight) pairs; votes for classes outside ``classes`` are ignored.
    Probabilities of 0 in the prior are floored at 1e-6 so a rule can still overturn them.
    """
    if not classes:
        raise ValueError("combine needs at least one class")
    logits: dict[str, float] = {}
    for c in classes:
        p = 1.0 / len(classes) if prior is None else float(prior.get(c, 0.0))
        logits[c] = math.log(max(p, 1e-6))
    for c, weight in votes:
        if c in logits:
            logits[c] += weight
    top = max(logits.values())
    exp = {c: math.exp(v - top) for c, v in logits.items()}
    total = sum(exp.values())
    return {c: v / total for c, v in exp.items()}


def _best(dist: Mapping[str, float], order: Sequence[str]) -> str:
    """The most probable class; ties go to the earlier class in ``order``."""
    return max(order, key=lambda c: (dist.get(c, 0.0), -order.index(c)))


def decide(votes: Sequence[Vote], type_prior: Mapping[str, float] | None,
           priority_prior: Mapping[str, float] | None, *, model_version: str | None,
           review_threshold: float) -> Decision:
    """One decision from the rule votes and the model's probabilities (either may be absent)."""
    type_votes = [(v.type, v.weight) for v in votes if v.type is not None]
    type_dist = combine(type_prior, TYPES, type_votes)
    type_: TicketType = _best(type_dist, TYPES)  # type: ignore[assignment]
    confidence = type_dist[type_]
    reasons: list[str] = []
    for v in votes:
        reasons.append(f"rule {v.rule}: {v.description}")
    if type_prior is not None:
        shown = ", ".join(f"{c} {type_prior.get(c, 0.0):.2f}" for c in TYPES)
        reasons.append(f"model {model_version}: type {shown}")
    elif not type_votes:
        reasons.append("no rule fired and no model is available; defaulting to the first type")
    priority: Priority | None = None
    if type_ == "incident":
        prio_votes = [(v.priority, v.weight) for v in votes if v.priority is not None]
        prio_dist = combine(priority_prior, PRIORITIES, prio_votes)
        best: Priority = _best(prio_dist, PRIORITIES)  # type: ignore[assignment]
        priority = best
        if priority_prior is not None:
            shown = ", ".join(f"{c} {priority_prior.get(c, 0.0):.2f}" for c in PRIORITIES)
            reasons.append(f"model {model_version}: priority {shown}")
        confidence *= prio_dist[best]
        reasons.append(f"type incident p={type_dist[type_]:.2f}, priority {best} "
                       f"p={prio_dist[best]:.2f}")
    else:
        reasons.append(f"type {type_} p={type_dist[type_]:.2f}")
    confidence = round(min(1.0, max(0.0, confidence)), 4)
    needs_review = confidence < review_threshold
    if needs_review:
        reasons.append(f"confidence {confidence:.2f} is below the review threshold "
                       f"{review_threshold:.2f}")
    fired = tuple(dict.fromkeys(v.rule for v in votes))
    return Decision(type=type_, priority=priority, confidence=confidence,
                    needs_review=needs_review, reasons=tuple(reasons), rules=fired,
                    model_version=model_version if type_prior is not None else None)
