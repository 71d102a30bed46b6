"""Read side of rounds."""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from grants.core.timeutil import now_utc, oslo_date
from grants.extensions import db
from grants.rounds.models import Round


def open_rounds(at=None):
    at = at or now_utc()
    return db.session.scalars(
        select(Round).where(Round.opens_at <= at, Round.deadline_date >= oslo_date(at)).order_by(Round.deadline_at)
    ).all()


def public_rounds(at=None):
    """(open, upcoming, past) rounds for the public page."""
    at = at or now_utc()
    rounds = db.session.scalars(select(Round).order_by(Round.deadline_at.desc())).all()
    open_ = [r for r in rounds if r.is_open(at)]
    upcoming = [r for r in rounds if not r.has_opened(at)]
    past = [r for r in rounds if r.deadline_passed(at)]
    return open_, upcoming, past


def round_with_criteria(round_id):
    return db.session.scalar(select(Round).options(selectinload(Round.criteria)).where(Round.id == round_id))
