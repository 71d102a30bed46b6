"""Tallies of a round, computed in SQL: a fixed number of statements however many applications there are.

"Received" counts every submitted application (granted + rejected + dismissed + still open); withdrawn ones
are counted apart.
"""

from dataclasses import dataclass, field

from sqlalchemy import case, func, select

from grants.accounts.models import County, Municipality
from grants.applications.models import Application, ApplicationActivity
from grants.applications.workflow import State
from grants.extensions import db
from grants.review.models import Assignment, AssignmentState, Review
from grants.rounds.models import Round

GRANTED = (State.granted, State.reported, State.closed)
OPEN = (State.submitted, State.in_review)
RECEIVED = (*GRANTED, State.rejected, State.dismissed, *OPEN)


@dataclass
class Tally:
    round_id: int
    budget: int = 0
    received: int = 0
    granted: int = 0
    rejected: int = 0
    dismissed: int = 0
    withdrawn: int = 0
    open: int = 0
    drafts: int = 0
    amount_applied: int = 0
    amount_granted: int = 0
    new: int = 0
    continuation: int = 0
    by_county: list = field(default_factory=list)
    by_activity: list = field(default_factory=list)
    reviews_assigned: int = 0
    reviews_submitted: int = 0

    @property
    def remaining(self):
        return self.budget - self.amount_granted


def _counts():
    state = Application.state
    return (
        func.count(case((state.in_(RECEIVED), 1))).label("received"),
        func.count(case((state.in_(GRANTED), 1))).label("granted"),
        func.count(case((state == State.rejected, 1))).label("rejected"),
        func.count(case((state == State.dismissed, 1))).label("dismissed"),
        func.count(case((state == State.withdrawn, 1))).label("withdrawn"),
        func.count(case((state.in_(OPEN), 1))).label("open"),
        func.count(case((state == State.draft, 1))).label("drafts"),
        func.coalesce(func.sum(case((state.in_(RECEIVED), Application.amount_applied))), 0).label("applied"),
        func.coalesce(func.sum(case((state.in_(GRANTED), Application.amount_granted))), 0).label("granted_sum"),
        func.count(case((state.in_(RECEIVED) & Application.continues_application_id.is_not(None), 1))).label("cont"),
    )


def _fill(tally, row):
    (tally.received, tally.granted, tally.rejected, tally.dismissed, tally.withdrawn, tally.open, tally.drafts,
     applied, granted_sum, cont) = row
    tally.amount_applied, tally.amount_granted = int(applied), int(granted_sum)
    tally.continuation = cont
    tally.new = tally.received - cont
    return tally


def for_round(round_id):
    """Every figure of one round: six SQL statements."""
    round_ = db.session.get(Round, round_id)
    tally = _fill(Tally(round_id, budget=round_.budget),
                  db.session.execute(select(*_counts()).where(Application.round_id == round_id)).one())
    tally.by_county = [
        {"county": number, "name": name, "received": received, "granted": granted, "amount": int(amount)}
        for number, name, received, granted, amount in db.session.execute(
            select(County.number, County.name,
                   func.count(case((Application.state.in_(RECEIVED), 1))),
                   func.count(case((Application.state.in_(GRANTED), 1))),
                   func.coalesce(func.sum(case((Application.state.in_(GRANTED), Application.amount_granted))), 0))
            .join(Municipality, Municipality.id == Application.municipality_id)
            .join(County, County.number == Municipality.county_number)
            .where(Application.round_id == round_id)
            .group_by(County.number, County.name).order_by(County.number)
        )
    ]
    tally.by_activity = [
        {"activity": str(activity), "received": received, "granted": granted}
        for activity, received, granted in db.session.execute(
            select(ApplicationActivity.activity,
                   func.count(case((Application.state.in_(RECEIVED), 1))),
                   func.count(case((Application.state.in_(GRANTED), 1))))
            .join(Application, Application.id == ApplicationActivity.application_id)
            .where(Application.round_id == round_id)
            .group_by(ApplicationActivity.activity).order_by(ApplicationActivity.activity)
        )
    ]
    tally.reviews_assigned = db.session.scalar(
        select(func.count()).select_from(Assignment).join(Application, Application.id == Assignment.application_id)
        .where(Application.round_id == round_id, Assignment.state != AssignmentState.removed))
    tally.reviews_submitted = db.session.scalar(
        select(func.count()).select_from(Review).join(Application, Application.id == Review.application_id)
        .where(Application.round_id == round_id, Review.submitted_at.is_not(None)))
    return tally


def for_all_rounds():
    """The headline figures of every round, in one statement (plus one for the rounds)."""
    rounds = {r.id: r for r in db.session.scalars(select(Round))}
    rows = db.session.execute(select(Application.round_id, *_counts()).group_by(Application.round_id)).all()
    result = {rid: Tally(rid, budget=r.budget) for rid, r in rounds.items()}
    for row in rows:
        _fill(result[row[0]], row[1:])
    return [result[rid] for rid in sorted(result, key=lambda i: rounds[i].deadline_at)]
