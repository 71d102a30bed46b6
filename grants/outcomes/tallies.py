"""Tallies of a round, computed in SQL: a fixed number of statements however many applications there are.

"Received" counts every submitted application (granted + rejected + dismissed + still open); withdrawn ones
are counted apart.
"""

from dataclasses import dataclass, field

from sqlalchemy import case, func, select

from grants.accounts.models import County, Municipality
from grants.applications.models import Application, ApplicationActivity
from grants.applications.workflow import GRANTED_STATES, State
from grants.extensions import db
from grants.review.models import Assignment, AssignmentState, Review
from grants.rounds.models import Round

GRANTED = GRANTED_STATES
OPEN = (State.submitted, State.in_review)
RECEIVED = (*GRANTED, State.rejected, State.dismissed, State.declined, *OPEN)


@dataclass
class Tally:
    round_id: int
    budget: int = 0
    received: int = 0
    granted: int = 0
    rejected: int = 0
    dismissed: int = 0
    withdrawn: int = 0
    declined: int = 0          # granted, and the kommune declined the grant: not in granted or amount_granted
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


def _by_state():
    """Per state: how many, the amounts applied and granted, and how many continue an earlier grant. Grouping by
    state and folding the groups in Python costs far less per row than one CASE expression per figure."""
    return (
        Application.state,
        func.count(),
        func.coalesce(func.sum(Application.amount_applied), 0),
        func.coalesce(func.sum(Application.amount_granted), 0),
        func.count(Application.continues_application_id),
    )


def _fill(tally, rows):
    """Fold the (state, count, applied, granted, continuing) rows of one round into its figures."""
    for state, count, applied, granted_sum, cont in rows:
        if state in RECEIVED:
            tally.received += count
            tally.amount_applied += int(applied)
            tally.continuation += cont
        if state in GRANTED:
            tally.granted += count
            tally.amount_granted += int(granted_sum)
        if state in OPEN:
            tally.open += count
        if state == State.rejected:
            tally.rejected += count
        elif state == State.dismissed:
            tally.dismissed += count
        elif state == State.withdrawn:
            tally.withdrawn += count
        elif state == State.declined:
            tally.declined += count
        elif state == State.draft:
            tally.drafts += count
    tally.new = tally.received - tally.continuation
    return tally


def for_round(round_id):
    """Every figure of one round: six SQL statements."""
    round_ = db.session.get(Round, round_id)
    tally = _fill(Tally(round_id, budget=round_.budget),
                  db.session.execute(select(*_by_state()).where(Application.round_id == round_id)
                                     .group_by(Application.state)))
    tally.by_county = [
        {"county": number, "name": name, "received": received, "granted": granted, "amount": int(amount)}
        for number, name, received, granted, amount in db.session.execute(
            select(County.number, County.name,
                   func.count(case((Application.state.in_(RECEIVED), 1))),
                   func.count(case((Application.state.in_(GRANTED), 1))),
                   func.coalesce(func.sum(case((Application.state.in_(GRANTED), Application.amount_granted))), 0))
            .join(Municipality, Municipality.id == Application.municipality_id)
            .join(County, County.number == Municipality.county_number)
            # Received applications only: a county with nothing but drafts or withdrawn ones has no row.
            .where(Application.round_id == round_id, Application.state.in_(RECEIVED))
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
            .where(Application.round_id == round_id, Application.state.in_(RECEIVED))
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
    rows = db.session.execute(select(Application.round_id, *_by_state())
                              .group_by(Application.round_id, Application.state)).all()
    by_round = {rid: [] for rid in rounds}
    for row in rows:
        by_round[row[0]].append(row[1:])
    result = {rid: _fill(Tally(rid, budget=r.budget), by_round[rid]) for rid, r in rounds.items()}
    return [result[rid] for rid in sorted(result, key=lambda i: rounds[i].deadline_at)]
