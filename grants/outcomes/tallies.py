"""Tallies of a round, computed in SQL: a fixed number of statements however many applications there are.

"Received" counts every submitted application (granted + rejected + dismissed + still open); withdrawn ones
are counted apart.
"""

from dataclasses import dataclass, field

from sqlalchemy import func, select

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
    """Every figure of one round (``round_id``, int) as a Tally: four SQL statements however many applications.

    The states are counted per county in one pass over the round's applications (the county rows and the totals
    are folded from the same groups); activities, assignments and reviews are counted by the round_id each of
    those rows keeps beside its application (grants.db.round_of_application), on their own indexes, without
    joining every application of every round. bench/tallies.py measures it at 100,000 applications a round."""
    round_ = db.session.get(Round, round_id)
    tally = Tally(round_id, budget=round_.budget)
    by_state, counties = {}, {}
    for number, name, state, count, applied, granted_sum, cont in db.session.execute(
        select(County.number, County.name, *_by_state())
        .join(Municipality, Municipality.id == Application.municipality_id)
        .join(County, County.number == Municipality.county_number)
        .where(Application.round_id == round_id)
        .group_by(County.number, County.name, Application.state)
    ):
        total = by_state.setdefault(state, [0, 0, 0, 0])
        for position, value in enumerate((count, int(applied), int(granted_sum), cont)):
            total[position] += value
        if state in RECEIVED:
            # Received applications only: a county with nothing but drafts or withdrawn ones has no row.
            county = counties.setdefault(number, {"county": number, "name": name, "received": 0, "granted": 0,
                                                  "amount": 0})
            county["received"] += count
            if state in GRANTED:
                county["granted"] += count
                county["amount"] += int(granted_sum)
    _fill(tally, ((state, *figures) for state, figures in by_state.items()))
    tally.by_county = [counties[number] for number in sorted(counties)]
    activities = {}
    for activity, state, count in db.session.execute(
        select(ApplicationActivity.activity, Application.state, func.count())
        .join(Application, (Application.id == ApplicationActivity.application_id)
              & (Application.round_id == ApplicationActivity.round_id))
        .where(ApplicationActivity.round_id == round_id, Application.state.in_(RECEIVED))
        .group_by(ApplicationActivity.activity, Application.state)
    ):
        row = activities.setdefault(str(activity), {"activity": str(activity), "received": 0, "granted": 0})
        row["received"] += count
        if state in GRANTED:
            row["granted"] += count
    tally.by_activity = [activities[key] for key in sorted(activities)]
    tally.reviews_assigned, tally.reviews_submitted = db.session.execute(select(
        select(func.count()).select_from(Assignment)
        .where(Assignment.round_id == round_id, Assignment.state != AssignmentState.removed).scalar_subquery(),
        select(func.count()).select_from(Review)
        .where(Review.round_id == round_id, Review.submitted_at.is_not(None)).scalar_subquery(),
    )).one()
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
