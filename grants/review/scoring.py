"""Scoring, aggregation and ranking: plain Python, no database, no Flask."""

from dataclasses import dataclass
from statistics import mean


@dataclass(frozen=True)
class CriterionSpec:
    id: int
    weight: int
    scale_min: int
    scale_max: int


def low_levels(criterion):
    """The two lowest levels of a criterion's scale, where a comment is required."""
    return {criterion.scale_min, criterion.scale_min + 1}


def score_problems(criteria, values, comments):
    """What is missing or wrong in a set of scores: {criterion_id: problem key}. Empty when complete."""
    problems = {}
    for c in criteria:
        value = values.get(c.id)
        if value is None:
            problems[c.id] = "missing"
        elif not c.scale_min <= value <= c.scale_max:
            problems[c.id] = "out_of_scale"
        elif value in low_levels(c) and not (comments.get(c.id) or "").strip():
            problems[c.id] = "comment_required"
    return problems


def weighted_score(criteria, values):
    """The weighted mean of the scores, on the criteria's own scale; None if any score is missing."""
    total_weight = sum(c.weight for c in criteria)
    if not criteria or total_weight == 0 or any(values.get(c.id) is None for c in criteria):
        return None
    return round(sum(values[c.id] * c.weight for c in criteria) / total_weight, 4)


@dataclass(frozen=True)
class Aggregate:
    mean: float | None
    spread: float | None
    count: int
    flagged: bool


def aggregate(review_scores, threshold):
    """Mean and spread (max - min) of the submitted reviews' weighted scores; flagged when they differ by more
    than ``threshold``."""
    scores = [s for s in review_scores if s is not None]
    if not scores:
        return Aggregate(None, None, 0, False)
    spread = round(max(scores) - min(scores), 4)
    return Aggregate(round(mean(scores), 4), spread, len(scores), spread > threshold)


@dataclass(frozen=True)
class Candidate:
    application_id: int
    reference: str
    score: float | None
    amount_applied: int


def rank(candidates):
    """Highest score first; unscored last; ties broken by the smaller amount applied for, then by reference.

    The order is total, so the same input always gives the same ranking.
    """
    return sorted(
        candidates,
        key=lambda c: (c.score is None, -(c.score or 0.0), c.amount_applied, c.reference, c.application_id),
    )
