"""Allocation within a round's budget: plain Python, no database, no Flask."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    application_id: int
    amount_applied: int
    suggested: int | None = None   # what the reviewers suggested (mean), if anything


def fill_by_rank(ranked_lines, budget, already_committed=0):
    """Amounts that fill the budget in rank order: each gets what it asked for (or the reviewers' suggestion
    when lower) while money remains; the first that does not fit gets what is left; the rest get nothing.

    Never above the amount applied for, never above the budget, and the same input gives the same output.
    """
    remaining = max(budget - already_committed, 0)
    result = {}
    for line in ranked_lines:
        wanted = line.amount_applied
        if line.suggested is not None:
            wanted = min(wanted, max(line.suggested, 0))
        amount = min(wanted, remaining)
        result[line.application_id] = amount
        remaining -= amount
    return result


def totals(budget, amounts):
    """(allocated, remaining) for a set of amounts against a budget."""
    allocated = sum(amounts)
    return allocated, budget - allocated


def check_within_budget(budget, committed, amount):
    """True if ``amount`` fits in what is left of ``budget`` after ``committed``."""
    return amount >= 0 and committed + amount <= budget
