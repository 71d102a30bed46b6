"""Read side of the review: the inbox, the ranked list, a case. A fixed number of statements per page."""

from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
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


# The reviewer's list (fagvurderers arbeidsliste): which rounds it shows when the reviewer has chosen none.
OPEN_ROUNDS = "open"
ALL_ROUNDS = "all"


@dataclass
class ReviewerRound:
    """A round the reviewer has applications in: ``open`` of its ``total`` are still to be scored."""

    round: object
    open: int
    total: int


@dataclass
class ReviewerPage:
    """One page of the reviewer's list: rows of (assignment, own review or None, open?), the reviewer's rounds, and
    the round filter in force (OPEN_ROUNDS, ALL_ROUNDS or a round id)."""

    rows: list
    total: int
    page: int
    pages: int
    rounds: list
    shown: object


def _open_to_reviewer():
    """SQL truth of "still to be scored by this reviewer": the application is being assessed and the reviewer's own
    review is not submitted (none, or a draft). The rule of the list's order: open work first."""
    return and_(Application.state == State.in_review, Review.submitted_at.is_(None))


def _reviewer_base(user):
    return (
        select(Assignment)
        .join(Application, Application.id == Assignment.application_id)
        .outerjoin(Review, and_(Review.application_id == Assignment.application_id,
                                Review.reviewer_id == Assignment.reviewer_id))
        .where(Assignment.reviewer_id == user.id, Assignment.state != AssignmentState.removed)
    )


def reviewer_rounds(user):
    """The rounds in which ``user`` has applications assigned (not taken off), newest deadline first, each with how
    many are still open to them and how many in all: one statement."""
    from grants.rounds.models import Round

    is_open = _open_to_reviewer()
    counts = (
        _reviewer_base(user)
        .with_only_columns(Application.round_id.label("round_id"),
                           func.sum(case((is_open, 1), else_=0)).label("open"), func.count().label("total"))
        .group_by(Application.round_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Round, counts.c.open, counts.c.total).join(counts, counts.c.round_id == Round.id)
        .order_by(Round.deadline_at.desc(), Round.id.desc())
    ).all()
    return [ReviewerRound(round_, int(open_ or 0), total) for round_, open_, total in rows]


def reviewer_list(user, *, rounds=OPEN_ROUNDS, page=1, page_size=PAGE_SIZE):
    """The applications assigned to reviewer ``user``, open work first (not yet scored by them, the longest waiting
    first), then what they have scored or what is decided (newest first), a page of ``page_size``.

    ``rounds`` is a round id, ALL_ROUNDS, or OPEN_ROUNDS (the default): the rounds where the reviewer has work left,
    or every round of theirs when none has. Two statements, however many applications there are: the rounds with
    their counts (which also give the number of rows shown), and the page's rows with their application, kommune
    and round."""
    mine = reviewer_rounds(user)
    query = _reviewer_base(user)
    if isinstance(rounds, int):
        shown, chosen = rounds, [r for r in mine if r.round.id == rounds]
    elif rounds == OPEN_ROUNDS and any(r.open for r in mine):
        shown, chosen = OPEN_ROUNDS, [r for r in mine if r.open]
    else:
        shown, chosen = ALL_ROUNDS, mine
    if shown != ALL_ROUNDS:
        query = query.where(Application.round_id.in_([r.round.id for r in chosen]))
    total = sum(r.total for r in chosen)
    pages = max((total + page_size - 1) // page_size, 1)
    page = min(max(page, 1), pages)
    is_open = _open_to_reviewer()
    rows = db.session.execute(
        query.add_columns(Review, is_open.label("is_open"))
        .options(joinedload(Assignment.application).options(joinedload(Application.municipality),
                                                            joinedload(Application.round)))
        .order_by(case((is_open, 0), else_=1), case((is_open, Assignment.assigned_at), else_=None),
                  Review.submitted_at.desc().nulls_last(), Assignment.assigned_at.desc(), Assignment.id)
        .limit(page_size).offset((page - 1) * page_size)
    ).all()
    return ReviewerPage([(a, r, bool(o)) for a, r, o in rows], total, page, pages, mine, shown)


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
