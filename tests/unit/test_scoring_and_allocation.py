"""Scoring, aggregation, ranking and allocation: examples, and properties checked by hypothesis."""

from hypothesis import given, settings
from hypothesis import strategies as st

from grants.decisions import allocation
from grants.decisions.allocation import Line, fill_by_rank
from grants.review import scoring
from grants.review.scoring import Candidate, CriterionSpec
from tests.conftest import examples

CRITERIA = [CriterionSpec(1, 3, 1, 6), CriterionSpec(2, 1, 1, 6)]


def test_weighted_score_is_the_weighted_mean():
    assert scoring.weighted_score(CRITERIA, {1: 6, 2: 2}) == 5.0
    assert scoring.weighted_score(CRITERIA, {1: 6}) is None


def test_comment_required_at_the_two_lowest_levels():
    assert scoring.score_problems(CRITERIA, {1: 2, 2: 6}, {}) == {1: "comment_required"}
    assert scoring.score_problems(CRITERIA, {1: 2, 2: 6}, {1: "Svak plan"}) == {}
    assert scoring.score_problems(CRITERIA, {1: 3, 2: 7}, {}) == {2: "out_of_scale"}
    assert scoring.score_problems(CRITERIA, {2: 4}, {}) == {1: "missing"}


def test_aggregate_flags_reviewers_who_differ():
    agg = scoring.aggregate([5.5, 2.0], threshold=1.5)
    assert agg.mean == 3.75 and agg.spread == 3.5 and agg.flagged
    assert not scoring.aggregate([4.0, 4.5], threshold=1.5).flagged
    assert scoring.aggregate([], 1.5).mean is None


def test_rank_breaks_ties_by_amount_then_reference():
    ranked = scoring.rank([
        Candidate(1, "2025-0003", 4.0, 300_000), Candidate(2, "2025-0001", 4.0, 300_000),
        Candidate(3, "2025-0002", 4.0, 100_000), Candidate(4, "2025-0004", None, 1), Candidate(5, "2025-0005", 5.1, 9),
    ])
    assert [c.application_id for c in ranked] == [5, 3, 2, 1, 4]


def test_fill_by_rank_gives_what_was_asked_until_the_money_ends():
    lines = [Line(1, 400_000), Line(2, 500_000, suggested=300_000), Line(3, 600_000), Line(4, 100_000)]
    assert fill_by_rank(lines, 1_000_000) == {1: 400_000, 2: 300_000, 3: 300_000, 4: 0}


lines_strategy = st.lists(
    st.builds(Line, st.integers(1, 10_000), st.integers(1, 5_000_000),
              st.one_of(st.none(), st.integers(0, 5_000_000))),
    max_size=40, unique_by=lambda line: line.application_id,
)


@settings(max_examples=examples(300), deadline=None)
@given(lines=lines_strategy, budget=st.integers(0, 20_000_000), committed=st.integers(0, 20_000_000))
def test_allocation_never_exceeds_the_budget_or_the_amount_applied(lines, budget, committed):
    amounts = fill_by_rank(lines, budget, already_committed=committed)
    assert sum(amounts.values()) <= max(budget - committed, 0)
    for line in lines:
        assert 0 <= amounts[line.application_id] <= line.amount_applied


@settings(max_examples=examples(200), deadline=None)
@given(lines=lines_strategy, budget=st.integers(0, 20_000_000))
def test_allocation_is_deterministic(lines, budget):
    assert fill_by_rank(list(lines), budget) == fill_by_rank(list(lines), budget)


@settings(max_examples=examples(200), deadline=None)
@given(candidates=st.lists(st.builds(Candidate, st.integers(1, 1000), st.text("0123456789-", max_size=9),
                                     st.one_of(st.none(), st.floats(1, 6)), st.integers(1, 10**7)),
                           max_size=30, unique_by=lambda c: c.application_id))
def test_ranking_does_not_depend_on_input_order(candidates):
    assert scoring.rank(candidates) == scoring.rank(list(reversed(candidates)))


def test_budget_check():
    assert allocation.check_within_budget(1_000, 600, 400)
    assert not allocation.check_within_budget(1_000, 600, 401)
