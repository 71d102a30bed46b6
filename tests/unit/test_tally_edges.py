"""Tallies at the edges: a county with applications but no grant, an application received without an amount,
reviews in more than one round, and rounds created in another order than their deadlines."""

from datetime import timedelta

from grants.accounts.models import Role
from grants.applications.workflow import State
from grants.core.timeutil import now_utc, oslo_date
from grants.extensions import db
from grants.outcomes import tallies
from grants.review.models import Assignment, AssignmentState, Recommendation, Review
from tests.factories import RoundFactory, UserFactory, submitted_application


def test_a_county_with_received_applications_and_no_grant_reads_zero_kroner(app):
    round_ = RoundFactory(closed=True)
    submitted_application(round_, "4601", 100_000, state=State.rejected)
    submitted_application(round_, "4601", 50_000, state=State.submitted)
    submitted_application(round_, "0301", 70_000, state=State.granted, amount_granted=60_000)
    db.session.commit()
    tally = tallies.for_round(round_.id)
    assert tally.round_id == round_.id
    assert tally.by_county == [
        {"county": "03", "name": "Oslo", "received": 1, "granted": 1, "amount": 60_000},
        {"county": "46", "name": "Vestland", "received": 2, "granted": 0, "amount": 0},
    ]


def test_an_application_registered_without_an_amount_counts_but_adds_no_kroner(app):
    round_ = RoundFactory(closed=True)
    submitted_application(round_, amount_applied=None)
    db.session.commit()
    tally = tallies.for_round(round_.id)
    assert (tally.received, tally.open, tally.amount_applied, tally.amount_granted) == (1, 1, 0, 0)
    assert tallies.for_all_rounds()[0].amount_applied == 0


def test_review_progress_is_counted_per_round(app):
    this, other = RoundFactory(closed=True), RoundFactory(closed=True)
    mine = submitted_application(this, state=State.in_review)
    theirs = [submitted_application(other, state=State.in_review) for _ in range(3)]
    reviewers = [UserFactory(role=Role.reviewer) for _ in range(3)]
    for reviewer in reviewers[:2]:
        db.session.add(Assignment(application_id=mine.id, reviewer_id=reviewer.id, state=AssignmentState.active))
        db.session.add(Review(application_id=mine.id, reviewer_id=reviewer.id, recommendation=Recommendation.grant,
                              weighted_score=4.0, submitted_at=now_utc()))
    for application in theirs:
        for reviewer in reviewers:
            db.session.add(Assignment(application_id=application.id, reviewer_id=reviewer.id,
                                      state=AssignmentState.active))
            db.session.add(Review(application_id=application.id, reviewer_id=reviewer.id,
                                  recommendation=Recommendation.grant, weighted_score=3.0, submitted_at=now_utc()))
    db.session.commit()
    assert (tallies.for_round(this.id).reviews_assigned, tallies.for_round(this.id).reviews_submitted) == (2, 2)
    assert (tallies.for_round(other.id).reviews_assigned, tallies.for_round(other.id).reviews_submitted) == (9, 9)


def test_all_rounds_come_in_deadline_order_not_in_the_order_they_were_made(app):
    today = oslo_date(now_utc())
    later = RoundFactory(deadline_date=today + timedelta(days=60), slug="later")
    earliest = RoundFactory(deadline_date=today - timedelta(days=300), opens_at=now_utc() - timedelta(days=400),
                            slug="earliest")
    middle = RoundFactory(deadline_date=today + timedelta(days=10), slug="middle")
    db.session.commit()
    assert [t.round_id for t in tallies.for_all_rounds()] == [earliest.id, middle.id, later.id]
