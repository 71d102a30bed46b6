"""Scoring at the edges of the scale, weights that sum to one or nothing, rounding, and reviewers who agree."""

from grants.review import scoring
from grants.review.scoring import Aggregate, Candidate, CriterionSpec


def test_the_lowest_level_of_the_scale_is_a_valid_score_that_needs_a_comment():
    criteria = [CriterionSpec(1, 1, 1, 6)]
    assert scoring.score_problems(criteria, {1: 1}, {1: "Mangler plan"}) == {}
    assert scoring.score_problems(criteria, {1: 1}, {1: "   "}) == {1: "comment_required"}
    assert scoring.score_problems(criteria, {1: 0}, {1: "x"}) == {1: "out_of_scale"}
    assert scoring.score_problems(criteria, {1: 6}, {}) == {}


def test_a_single_criterion_of_weight_one_scores_its_value():
    assert scoring.weighted_score([CriterionSpec(1, 1, 1, 6)], {1: 4}) == 4.0


def test_criteria_without_weight_give_no_score():
    assert scoring.weighted_score([CriterionSpec(1, 0, 1, 6), CriterionSpec(2, 0, 1, 6)], {1: 4, 2: 5}) is None
    assert scoring.weighted_score([], {}) is None


def test_a_weighted_score_is_rounded_to_four_decimals():
    criteria = [CriterionSpec(1, 1, 1, 6), CriterionSpec(2, 2, 1, 6)]
    assert scoring.weighted_score(criteria, {1: 1, 2: 2}) == 1.6667
    assert scoring.weighted_score([CriterionSpec(1, 3, 1, 6), CriterionSpec(2, 4, 1, 6)], {1: 6, 2: 1}) == 3.1429


def test_no_reviews_aggregate_to_nothing_and_are_not_flagged():
    assert scoring.aggregate([None, None], threshold=0) == Aggregate(None, None, 0, False)
    assert scoring.aggregate([], threshold=1.5) == Aggregate(None, None, 0, False)


def test_mean_spread_and_count_of_the_submitted_reviews():
    agg = scoring.aggregate([4.12345, None, 2.0, 3.0], threshold=3)
    assert agg == Aggregate(3.0412, 2.1235, 3, False)


def test_a_spread_equal_to_the_threshold_is_not_flagged():
    assert not scoring.aggregate([3.0, 4.5], threshold=1.5).flagged
    assert scoring.aggregate([3.0, 4.5001], threshold=1.5).flagged


def test_a_score_of_zero_ranks_below_any_higher_score_and_above_no_score():
    ranked = scoring.rank([Candidate(1, "A", 0.0, 10), Candidate(2, "B", 0.5, 10), Candidate(3, "C", None, 1)])
    assert [c.application_id for c in ranked] == [2, 1, 3]
