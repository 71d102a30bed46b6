"""Notices on a calendar: round announcements and deadline reminders, found by scanning the database.

Nothing here puts a future task in the broker; beat runs ``schedule_due_notices`` every few minutes and each
notice's natural key makes a second run add nothing.
"""

from sqlalchemy import select

from grants.accounts.models import Role, User, UserStatus
from grants.applications.models import Application
from grants.applications.workflow import State
from grants.core.timeutil import days_before, now_utc
from grants.extensions import db
from grants.notify.outbox import queue_notice
from grants.rounds.models import Round


def _round_context(round_):
    return {
        "round_id": round_.id,
        "round_title_nb": round_.title_nb, "round_title_nn": round_.title_nn, "round_title_en": round_.title_en,
        "deadline_at": round_.deadline_at.isoformat(),
    }


def active_municipal_users():
    return db.session.scalars(
        select(User).where(User.role == Role.municipal, User.status == UserStatus.active).order_by(User.id)
    ).all()


def announce_open_rounds(at):
    """When a round has opened, tell every registered kommune (each active user, once)."""
    created = 0
    rounds = db.session.scalars(select(Round).where(Round.opens_at <= at, Round.deadline_at >= at)).all()
    users = active_municipal_users() if rounds else []
    for round_ in rounds:
        for user in users:
            if queue_notice("round_opened", to=user.email, user=user, language=user.language,
                            key=f"round_opened:round={round_.id}:user={user.id}",
                            context=_round_context(round_)):
                created += 1
    return created


def deadline_reminders(at):
    """Reminders N days before the deadline (Oslo calendar days) to kommuner with an unsubmitted draft."""
    created = 0
    rounds = db.session.scalars(select(Round).where(Round.opens_at <= at, Round.deadline_at >= at)).all()
    for round_ in rounds:
        days = days_before(round_.deadline_date, at)
        if days not in round_.reminder_day_list:
            continue
        drafts = db.session.scalars(
            select(Application).where(Application.round_id == round_.id, Application.state == State.draft)
            .order_by(Application.id)
        ).all()
        seen = set()
        for application in drafts:
            if application.municipality_id in seen:
                continue
            seen.add(application.municipality_id)
            staff = db.session.scalars(
                select(User).where(User.municipality_id == application.municipality_id,
                                   User.status == UserStatus.active).order_by(User.id)
            ).all()
            for user in staff:
                key = f"deadline_reminder:round={round_.id}:municipality={application.municipality_id}" \
                      f":days={days}:user={user.id}"
                context = _round_context(round_) | {
                    "days": days, "municipality_name": application.municipality.name,
                    "application_id": application.id,
                }
                if queue_notice("deadline_reminder", to=user.email, user=user, language=user.language,
                                key=key, context=context):
                    created += 1
    return created


SCHEDULES = [announce_open_rounds, deadline_reminders]


def schedule_due_notices(at=None):
    """Run every schedule for the moment ``at``. Returns how many notices were created."""
    at = at or now_utc()
    return sum(schedule(at) for schedule in SCHEDULES)
