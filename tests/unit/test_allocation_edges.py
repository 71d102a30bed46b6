"""Allocation at the edges: suggestions of nothing, money already committed, and the budget check's bounds."""

from grants.decisions import allocation
from grants.decisions.allocation import Line, fill_by_rank


def test_a_suggestion_of_nothing_or_less_gives_nothing():
    assert fill_by_rank([Line(1, 100_000, suggested=0), Line(2, 50_000, suggested=-5)], 1_000_000) == {1: 0, 2: 0}


def test_money_already_committed_is_not_handed_out_again():
    assert fill_by_rank([Line(1, 300_000), Line(2, 300_000)], 1_000_000, already_committed=500_000) == {
        1: 300_000, 2: 200_000}
    assert fill_by_rank([Line(1, 300_000)], 1_000_000, already_committed=1_200_000) == {1: 0}


def test_totals_are_what_is_allocated_and_what_remains():
    assert allocation.totals(1_000_000, [300_000, 250_000]) == (550_000, 450_000)
    assert allocation.totals(100, []) == (0, 100)
    assert allocation.totals(100, [150]) == (150, -50)


def test_budget_check_takes_a_zero_amount_and_refuses_a_negative_one():
    assert allocation.check_within_budget(1_000, 1_000, 0)
    assert allocation.check_within_budget(1_000, 0, 1)
    assert not allocation.check_within_budget(1_000, 0, -1)
