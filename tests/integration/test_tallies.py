"""The tallies of a round, computed in SQL, on a small round with an application in every state (the states are
written directly here; tests/web/test_outcomes.py gets them through the real operations).

"Received" is granted + rejected + dismissed + still open; withdrawn ones are counted apart, drafts not at all."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from grants.accounts.models import Role
from grants.applications.models import ActivityType, Application, ApplicationActivity
from grants.applications.workflow import State
from grants.core.timeutil import now_utc
from grants.extensions import db
from grants.outcomes import tallies
from grants.review.models import Assignment, AssignmentState, Recommendation, Review
from grants.rounds.models import Round
from tests.factories import ApplicationFactory, RoundFactory, UserFactory, municipality, submitted_application

MAPPING, PLAN, RECRUITMENT = ActivityType.mapping, ActivityType.action_plan, ActivityType.recruitment


def add(round_, state, number="0301", applied=100_000, granted=None, activities=(), continues=None):
    if state == State.draft:
        application = ApplicationFactory(round=round_, municipality_id=municipality(number).id,
                                         amount_applied=applied)
    else:
        application = submitted_application(
            round_, number, applied, state=state, amount_granted=granted,
            withdrawn_at=now_utc() if state == State.withdrawn else None,
            withdraw_reason="Trukket" if state == State.withdrawn else None,
            continues_application_id=getattr(continues, "id", None))
    application.activities = [ApplicationActivity(activity=a) for a in activities]
    db.session.flush()
    return application


@pytest.fixture
def rounds(app):
    """A 2024 round with one grant, and a closed 2025 round with one application in every state."""
    earlier = RoundFactory(year=2024, closed=True, budget=500_000, slug="r2024",
                           opens_at=now_utc() - timedelta(days=430),
                           deadline_date=(now_utc() - timedelta(days=400)).date())
    old_grant = add(earlier, State.granted, "4602", 300_000, granted=300_000, activities=[MAPPING])
    round_ = RoundFactory(scheme=earlier.scheme, closed=True, budget=1_000_000, slug="r2025")
    apps = {
        "draft": add(round_, State.draft, "0301", 500_000, activities=[MAPPING]),
        "submitted": add(round_, State.submitted, "0301", 100_000, activities=[MAPPING]),
        "in_review": add(round_, State.in_review, "4601", 200_000, activities=[PLAN]),
        "granted": add(round_, State.granted, "4602", 300_000, 250_000, [MAPPING, PLAN], continues=old_grant),
        "reported": add(round_, State.reported, "5001", 150_000, 150_000, [RECRUITMENT], continues=old_grant),
        "closed": add(round_, State.closed, "0301", 60_000, 50_000),
        "rejected": add(round_, State.rejected, "0301", 120_000, activities=[MAPPING]),
        "dismissed": add(round_, State.dismissed, "4601", 80_000),
        "withdrawn": add(round_, State.withdrawn, "0301", 90_000, activities=[MAPPING], continues=old_grant),
    }
    db.session.commit()
    return earlier, round_, apps


def test_received_is_granted_rejected_dismissed_and_open_withdrawn_and_drafts_apart(rounds):
    _earlier, round_, _apps = rounds
    tally = tallies.for_round(round_.id)
    assert (tally.received, tally.granted, tally.rejected, tally.dismissed, tally.open) == (7, 3, 1, 1, 2)
    assert tally.received == tally.granted + tally.rejected + tally.dismissed + tally.open
    assert (tally.withdrawn, tally.drafts) == (1, 1)


def test_amounts_applied_granted_and_remaining_budget(rounds):
    _earlier, round_, _apps = rounds
    tally = tallies.for_round(round_.id)
    # applied: only what was received (not the draft's 500 000 nor the withdrawn 90 000)
    assert tally.amount_applied == 100_000 + 200_000 + 300_000 + 150_000 + 60_000 + 120_000 + 80_000
    assert tally.amount_granted == 250_000 + 150_000 + 50_000  # granted, reported and closed all count
    assert (tally.budget, tally.remaining) == (1_000_000, 550_000)


def test_new_versus_continuation_counts_received_applications_only(rounds):
    _earlier, round_, _apps = rounds
    tally = tallies.for_round(round_.id)
    assert (tally.continuation, tally.new) == (2, 5)  # the withdrawn continuation is not counted


def test_by_county(rounds):
    _earlier, round_, _apps = rounds
    by_county = {c["county"]: (c["name"], c["received"], c["granted"], c["amount"])
                 for c in tallies.for_round(round_.id).by_county}
    assert by_county == {
        "03": ("Oslo", 3, 1, 50_000),
        "46": ("Vestland", 3, 1, 250_000),
        "50": ("Trøndelag", 1, 1, 150_000),
    }


def test_a_county_or_activity_with_only_drafts_or_withdrawn_applications_is_not_listed(rounds):
    _earlier, round_, _apps = rounds
    add(round_, State.draft, "1103", 70_000, activities=[ActivityType.guide])  # Rogaland
    add(round_, State.withdrawn, "3301", 70_000, activities=[ActivityType.other])  # Buskerud
    db.session.commit()
    tally = tallies.for_round(round_.id)
    assert [c["county"] for c in tally.by_county] == ["03", "46", "50"]
    assert {a["activity"] for a in tally.by_activity} == {"mapping", "action_plan", "recruitment"}
    assert tally.drafts == 2 and tally.withdrawn == 2


def test_by_activity_type(rounds):
    _earlier, round_, _apps = rounds
    by_activity = {a["activity"]: (a["received"], a["granted"]) for a in tallies.for_round(round_.id).by_activity}
    assert by_activity == {"mapping": (3, 1), "action_plan": (2, 1), "recruitment": (1, 1)}


def test_reviewer_progress_counts_live_assignments_and_submitted_reviews(rounds):
    earlier, round_, apps = rounds
    reviewers = [UserFactory(role=Role.reviewer) for _ in range(3)]
    target = apps["in_review"]
    for reviewer, state in zip(reviewers, (AssignmentState.assigned, AssignmentState.active,
                                           AssignmentState.removed), strict=True):
        db.session.add(Assignment(application_id=target.id, reviewer_id=reviewer.id, state=state))
    db.session.add(Review(application_id=target.id, reviewer_id=reviewers[1].id, recommendation=Recommendation.grant,
                          weighted_score=4.5, submitted_at=now_utc()))
    db.session.add(Review(application_id=target.id, reviewer_id=reviewers[0].id))  # a draft, not submitted
    # Another round's reviews are not this round's progress.
    old = db.session.scalars(select(Application).where(Application.round_id == earlier.id)).one()
    db.session.add(Assignment(application_id=old.id, reviewer_id=reviewers[2].id, state=AssignmentState.active))
    db.session.add(Review(application_id=old.id, reviewer_id=reviewers[2].id, recommendation=Recommendation.grant,
                          weighted_score=5.0, submitted_at=now_utc()))
    db.session.commit()
    tally = tallies.for_round(round_.id)
    assert (tally.reviews_submitted, tally.reviews_assigned) == (1, 2)


def test_a_round_counts_only_its_own_applications_and_all_rounds_agree(rounds):
    earlier, round_, _apps = rounds
    old = tallies.for_round(earlier.id)
    assert (old.received, old.granted, old.amount_granted, old.new, old.continuation) == (1, 1, 300_000, 1, 0)
    every = tallies.for_all_rounds()
    assert [t.round_id for t in every] == [earlier.id, round_.id]  # by deadline
    for tally in every:
        one = tallies.for_round(tally.round_id)
        for name in ("received", "granted", "rejected", "dismissed", "withdrawn", "open", "drafts",
                     "amount_applied", "amount_granted", "new", "continuation", "budget", "remaining"):
            assert getattr(tally, name) == getattr(one, name), (tally.round_id, name)


def test_an_empty_round_reads_zero_everywhere(app):
    round_ = RoundFactory(budget=2_000_000)
    db.session.commit()
    tally = tallies.for_round(round_.id)
    assert (tally.received, tally.granted, tally.amount_applied, tally.amount_granted) == (0, 0, 0, 0)
    assert tally.remaining == 2_000_000 and tally.by_county == [] and tally.by_activity == []
    assert tally.reviews_assigned == 0 and tally.reviews_submitted == 0


def test_the_same_number_of_statements_for_a_small_and_a_larger_round(rounds, count_queries):
    _earlier, round_, _apps = rounds
    round_id = round_.id
    db.session.commit()
    db.session.expunge_all()  # both runs begin a transaction and load everything, the round too
    with count_queries() as small:
        tallies.for_round(round_id)
    round_ = db.session.get(Round, round_id)
    states = [State.submitted, State.in_review, State.granted, State.rejected, State.dismissed, State.withdrawn,
              State.draft, State.closed]
    numbers = ["0301", "4601", "4602", "5001", "1103", "3301"]
    for i in range(48):
        state = states[i % len(states)]
        add(round_, state, numbers[i % len(numbers)], 10_000 + i,
            granted=5_000 if state in (State.granted, State.closed) else None,
            activities=list(ActivityType)[: 1 + i % 4])
    db.session.commit()
    db.session.expunge_all()
    with count_queries() as larger:
        tally = tallies.for_round(round_id)
    assert tally.received == 7 + 36 and tally.drafts == 1 + 6 and len(tally.by_county) == 5
    assert small.count == larger.count, "\n\n".join(small.statements + ["-----"] + larger.statements)


def test_rows_kept_per_application_carry_its_round_and_cannot_carry_another(rounds):
    """Assignments, reviews and activities keep their application's round beside it (the tallies count them by
    it): filled in from the application whether the row is made through the relationship or by its id, and a
    wrong round is refused by the composite foreign key."""
    from sqlalchemy.exc import IntegrityError

    earlier, round_, apps = rounds
    target = apps["in_review"]
    reviewer = UserFactory(role=Role.reviewer)
    db.session.add(assignment := Assignment(application_id=target.id, reviewer_id=reviewer.id))
    db.session.add(review := Review(application_id=target.id, reviewer_id=reviewer.id))
    db.session.flush()
    assert assignment.round_id == review.round_id == round_.id
    assert {a.round_id for a in apps["granted"].activities} == {round_.id}
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.add(Assignment(application_id=target.id, round_id=earlier.id,
                                  reviewer_id=UserFactory(role=Role.reviewer).id))
        db.session.flush()
    db.session.rollback()
