"""Read side of the review: the inbox, the ranked list, a case. A fixed number of statements per page."""

from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import joinedload, selectinload

from grants.accounts.models import Municipality
from grants.applications.models import Application, ApplicationActivity
from grants.applications.workflow import RECEIVED_STATES, State
from grants.decisions.models import Allocation, Decision, DecisionState
from grants.extensions import db
from grants.review import scoring
from grants.review.models import Assignment, AssignmentState, Review

SORTS = {
    "reference": (Application.reference,),
    "municipality": (Municipality.name, Application.reference),
    "amount": (Application.amount_applied.desc(), Application.reference),
    "received": (Application.received_at, Application.reference),
    "state": (Application.state, Application.reference),
}
PAGE_SIZE = 25


@dataclass
class InboxPage:
    rows: list
    total: int
    page: int
    pages: int
    scores: dict
    reviewers: dict


def _score_subquery():
    return (
        select(Review.application_id, func.avg(Review.weighted_score).label("score"),
               (func.max(Review.weighted_score) - func.min(Review.weighted_score)).label("spread"),
               func.count().label("reviews"))
        .where(Review.submitted_at.is_not(None))
        .group_by(Review.application_id)
        .subquery()
    )


def inbox(round_id, *, state=None, county=None, activity=None, sort="reference", page=1):
    """Every received (and withdrawn) application of a round, filtered, sorted and paginated: 4 statements."""
    scores = _score_subquery()
    query = (
        select(Application, scores.c.score, scores.c.spread, scores.c.reviews)
        .join(Municipality, Municipality.id == Application.municipality_id)
        .outerjoin(scores, scores.c.application_id == Application.id)
        .where(Application.round_id == round_id, Application.state != State.draft)
    )
    if state:
        query = query.where(Application.state == state)
    if county:
        query = query.where(Municipality.county_number == county)
    if activity:
        query = query.where(Application.id.in_(
            select(ApplicationActivity.application_id).where(ApplicationActivity.activity == activity)))
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(page, 1), pages)
    order = SORTS.get(sort, SORTS["reference"])
    if sort == "score":
        order = (scores.c.score.is_(None), scores.c.score.desc(), Application.reference)
    rows = db.session.execute(
        query.options(selectinload(Application.activities)).order_by(*order)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    ids = [r[0].id for r in rows]
    reviewers = {}
    if ids:
        for assignment in db.session.scalars(
            select(Assignment).where(Assignment.application_id.in_(ids), Assignment.state != AssignmentState.removed)
        ):
            reviewers.setdefault(assignment.application_id, []).append(assignment.reviewer.name)
    score_map = {r[0].id: (r[1], r[2], r[3]) for r in rows}
    return InboxPage([r[0] for r in rows], total, page, pages, score_map, reviewers)


@dataclass
class RankedRow:
    application_id: int
    reference: str
    application: Application
    score: float | None
    spread: float | None
    reviews: int
    flagged: bool
    amount_applied: int
    suggested: int | None
    allocated: int | None
    decision: Decision | None


def ranked(round_):
    """Applications in review (and decided ones) of a round in rank order, with their aggregates."""
    scores = _score_subquery()
    suggested = (
        select(Review.application_id, func.avg(Review.suggested_amount).label("suggested"))
        .where(Review.submitted_at.is_not(None), Review.suggested_amount.is_not(None))
        .group_by(Review.application_id).subquery()
    )
    rows = db.session.execute(
        select(Application, scores.c.score, scores.c.spread, scores.c.reviews, suggested.c.suggested,
               Allocation.amount)
        .outerjoin(scores, scores.c.application_id == Application.id)
        .outerjoin(suggested, suggested.c.application_id == Application.id)
        .outerjoin(Allocation, Allocation.application_id == Application.id)
        .where(Application.round_id == round_.id,
               Application.state.in_([State.in_review, State.granted, State.rejected, State.reported,
                                      State.closed]))
    ).all()
    decisions = {d.application_id: d for d in db.session.scalars(
        select(Decision).where(Decision.round_id == round_.id,
                               Decision.state.in_([DecisionState.proposed, DecisionState.approved,
                                                   DecisionState.released])))}
    by_id = {}
    candidates = []
    for application, score, spread, count, suggested_amount, allocated in rows:
        agg_flag = spread is not None and spread > round_.score_spread_threshold
        by_id[application.id] = RankedRow(
            application.id, application.reference, application, None if score is None else round(score, 2),
            None if spread is None else round(spread, 2), count or 0, agg_flag, application.amount_applied or 0,
            None if suggested_amount is None else int(round(suggested_amount)), allocated,
            decisions.get(application.id),
        )
        candidates.append(scoring.Candidate(application.id, application.reference or "", score,
                                            application.amount_applied or 0))
    return [by_id[c.application_id] for c in scoring.rank(candidates)]


def reviews_for(application_id):
    return db.session.scalars(
        select(Review).where(Review.application_id == application_id)
        .options(selectinload(Review.scores)).order_by(Review.id)
    ).all()


def my_assignments(user):
    return db.session.execute(
        select(Assignment, Review)
        .options(joinedload(Assignment.application))
        .outerjoin(Review, and_(Review.application_id == Assignment.application_id,
                                Review.reviewer_id == Assignment.reviewer_id))
        .where(Assignment.reviewer_id == user.id, Assignment.state != AssignmentState.removed)
        .order_by(Assignment.assigned_at)
    ).all()


def received_count(round_id):
    return db.session.scalar(select(func.count()).where(Application.round_id == round_id,
                                                         Application.state.in_(RECEIVED_STATES)))


# --- pages of IMDi's side ------------------------------------------------------

def rounds_with_counts():
    """Every round, newest deadline first, with its applications counted by state: 2 statements."""
    from grants.rounds.models import Round

    rounds = db.session.scalars(select(Round).order_by(Round.deadline_at.desc())).all()
    counts = {}
    for round_id, state, count in db.session.execute(
        select(Application.round_id, Application.state, func.count())
        .where(Application.state != State.draft).group_by(Application.round_id, Application.state)
    ):
        counts.setdefault(round_id, {})[str(state)] = count
    return [(r, counts.get(r.id, {})) for r in rounds]


def counties():
    from grants.accounts.models import County

    return db.session.scalars(select(County).order_by(County.number)).all()


def assignments_for(application_id):
    """Every assignment of an application, removed ones too, with the reviewer."""
    return db.session.scalars(
        select(Assignment).where(Assignment.application_id == application_id).order_by(Assignment.id)
    ).all()


def declarations_for(application_id):
    from grants.decisions.models import Declaration

    return db.session.scalars(
        select(Declaration).where(Declaration.application_id == application_id).order_by(Declaration.id)
    ).all()


def round_pool(round_id):
    """The round's reviewers with their open assignments: [(user, count)]."""
    from grants.review.models import RoundReviewer

    load = dict(db.session.execute(
        select(Assignment.reviewer_id, func.count())
        .join(Application, Application.id == Assignment.application_id)
        .where(Application.round_id == round_id, Assignment.state != AssignmentState.removed)
        .group_by(Assignment.reviewer_id)
    ).all())
    pool = db.session.scalars(select(RoundReviewer).where(RoundReviewer.round_id == round_id)
                              .order_by(RoundReviewer.id)).all()
    return [(rr.user, load.get(rr.user_id, 0)) for rr in pool]


def imdi_people():
    """Active IMDi users who can be put in a round's reviewer pool."""
    from grants.accounts.models import Role, User, UserStatus

    return db.session.scalars(
        select(User).where(User.role.in_([Role.reviewer, Role.caseworker, Role.approver, Role.admin]),
                           User.status == UserStatus.active).order_by(User.name)
    ).all()


def formal_check_of(application_id):
    from grants.review.models import FormalCheck

    return db.session.scalar(select(FormalCheck).where(FormalCheck.application_id == application_id))
