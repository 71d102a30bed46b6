"""Notices on a calendar: round announcements, deadline and reporting reminders, found by scanning the database.

This module sits beside the app factory and the CLI, above the domain packages whose reminders it writes; it hands
notice rows to notify's outbox, which knows nothing of rounds or applications.

Nothing here puts a future task in the broker; beat runs ``schedule_due_notices`` every few minutes and each
notice's natural key makes a second run add nothing. Days are Oslo calendar days: a reminder "7 days before" is
written on that day, by the first run of the job that day.
"""

from collections import defaultdict
from datetime import timedelta

from celery import shared_task
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from grants.accounts.models import Role, User, UserStatus
from grants.applications.models import Application
from grants.applications.workflow import State
from grants.core.timeutil import days_before, now_utc, oslo_date
from grants.extensions import db
from grants.followup.models import ClaimState, Grant, GrantState, RepaymentClaim
from grants.followup.repayments import notice_context
from grants.notify.outbox import queue_notice
from grants.rounds.models import Round

# Reporting reminders: this many days before a granted application's reporting deadline, and then an overdue
# notice on the day after it.
REPORT_REMINDER_DAYS = (30, 7)
REPORT_OVERDUE_DAYS_AFTER = 1


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


def _staff_by_municipality(municipality_ids):
    """Active staff of each kommune, its administrators first: one query for all of them."""
    staff = defaultdict(list)
    if municipality_ids:
        users = db.session.scalars(
            select(User)
            .where(User.municipality_id.in_(set(municipality_ids)), User.status == UserStatus.active)
            .order_by(User.is_municipality_admin.desc(), User.id)
        ).all()
        for user in users:
            staff[user.municipality_id].append(user)
    return staff


def _recipient(application, staff, *preferred_ids):
    """Who in the kommune hears about ``application``: the first of ``preferred_ids`` who is still active staff
    of that kommune, else its administrator, else its first active user. None if nobody is left."""
    people = staff.get(application.municipality_id, [])
    by_id = {user.id: user for user in people}
    for user_id in preferred_ids:
        if user_id in by_id:
            return by_id[user_id]
    return people[0] if people else None


def announce_open_rounds(at):
    """When a round has opened, tell every registered kommune (each active user, once)."""
    created = 0
    rounds = db.session.scalars(select(Round).where(Round.opens_at <= at, Round.deadline_date >= oslo_date(at))).all()
    users = active_municipal_users() if rounds else []
    for round_ in rounds:
        for user in users:
            if queue_notice("round_opened", to=user.email, user=user, language=user.language,
                            key=f"round_opened:round={round_.id}:user={user.id}",
                            context=_round_context(round_)):
                created += 1
    return created


def deadline_reminders(at):
    """A reminder N days before the deadline (the round's reminder days) to each kommune with an unsubmitted
    draft: one per kommune, to the person who started its first draft (or the kommune's administrator)."""
    created = 0
    rounds = db.session.scalars(select(Round).where(Round.opens_at <= at, Round.deadline_date >= oslo_date(at))).all()
    for round_ in rounds:
        days = days_before(round_.deadline_date, at)
        if days not in round_.reminder_day_list:
            continue
        drafts = db.session.scalars(
            select(Application).where(Application.round_id == round_.id, Application.state == State.draft)
            .order_by(Application.id)
        ).all()
        first_draft = {}
        for application in drafts:
            first_draft.setdefault(application.municipality_id, application)
        staff = _staff_by_municipality(first_draft)
        for municipality_id, application in first_draft.items():
            user = _recipient(application, staff, application.created_by_id, application.last_changed_by_id)
            if user is None:
                continue
            context = _round_context(round_) | {
                "days": days, "municipality_name": application.municipality.name,
                "application_id": application.id,
            }
            if queue_notice("deadline_reminder", to=user.email, user=user, language=user.language,
                            key=f"deadline_reminder:round={round_.id}:municipality={municipality_id}:days={days}",
                            context=context):
                created += 1
    return created


def report_reminders(at):
    """Reporting reminders for granted applications: 30 and 7 days before the grant's reporting deadline (the one
    its decision set, else the round's; grants.followup.models.Grant), and an overdue notice the day after it.
    Only applications still in ``granted`` (a report moves them on; a declined grant is not reported on). The keys
    name the deadline, so that a report returned for changes with a new date is reminded of again."""
    today = oslo_date(at)
    wanted = {today + timedelta(days=d): d for d in REPORT_REMINDER_DAYS}
    wanted[today - timedelta(days=REPORT_OVERDUE_DAYS_AFTER)] = -REPORT_OVERDUE_DAYS_AFTER
    due_date = func.coalesce(Grant.reporting_deadline, Round.reporting_deadline)
    rows = db.session.execute(
        select(Application, due_date)
        .join(Round, Round.id == Application.round_id)
        .outerjoin(Grant, Grant.application_id == Application.id)
        .where(Application.state == State.granted, due_date.in_(list(wanted)))
        .order_by(Application.id)
    ).all()
    staff = _staff_by_municipality([a.municipality_id for a, _due in rows])
    created = 0
    for application, due in rows:
        days = wanted[due]
        user = _recipient(application, staff, application.submitted_by_id, application.created_by_id)
        if user is None:
            continue
        context = {
            "reference": application.reference, "title": application.title, "due": due.isoformat(),
            "days": days, "application_id": application.id, "municipality_name": application.municipality.name,
            "round_title_nb": application.round.title_nb, "round_title_nn": application.round.title_nn,
            "round_title_en": application.round.title_en,
        }
        if days > 0:
            kind, key = "report_reminder", f"report_reminder:application={application.id}:due={due}:days={days}"
        else:
            kind, key = "report_overdue", f"report_overdue:application={application.id}:due={due}"
        if queue_notice(kind, to=user.email, user=user, language=user.language, key=key, context=context):
            created += 1
    return created


# Answering a grant: a reminder this many days before the day to answer by, and a notice the day after it.
ANSWER_REMINDER_DAYS = 7


def grant_answer_reminders(at):
    """Reminders to the kommune of a grant it has not answered (accepted or declined): ANSWER_REMINDER_DAYS before
    the day to answer by, and an overdue notice the day after it. One per grant and kind (natural keys)."""
    today = oslo_date(at)
    wanted = {today + timedelta(days=ANSWER_REMINDER_DAYS): ANSWER_REMINDER_DAYS, today - timedelta(days=1): -1}
    grants = db.session.scalars(select(Grant).where(Grant.state == GrantState.offered,
                                                    Grant.answer_by.in_(list(wanted))).order_by(Grant.id)).all()
    staff = _staff_by_municipality([g.application.municipality_id for g in grants])
    created = 0
    for grant in grants:
        application = grant.application
        user = _recipient(application, staff, application.submitted_by_id, application.created_by_id)
        if user is None:
            continue
        days = wanted[grant.answer_by]
        kind = "grant_answer_reminder" if days > 0 else "grant_answer_overdue"
        if queue_notice(kind, to=user.email, user=user, language=user.language, key=f"{kind}:grant={grant.id}",
                        context={"reference": application.reference, "title": application.title,
                                 "amount": grant.amount, "answer_by": grant.answer_by.isoformat(),
                                 "application_id": application.id,
                                 "municipality_name": application.municipality.name}):
            created += 1
    return created


# Repayment claims: a reminder this many days before the due date, and a notice the day after it when the claim is
# not wholly repaid.
CLAIM_REMINDER_DAYS = 7


def repayment_reminders(at):
    """Reminders to the kommune of an approved repayment claim not yet repaid in full (grants.followup.models
    .RepaymentClaim): CLAIM_REMINDER_DAYS before its due date, and an overdue notice the day after it. In the
    claim letter's language, with what is still owed; one per claim and kind (natural keys
    "repayment_reminder:claim=<id>" and "repayment_overdue:claim=<id>")."""
    today = oslo_date(at)
    wanted = {today + timedelta(days=CLAIM_REMINDER_DAYS): CLAIM_REMINDER_DAYS, today - timedelta(days=1): -1}
    claims = db.session.scalars(select(RepaymentClaim).where(RepaymentClaim.state == ClaimState.approved,
                                                             RepaymentClaim.due_on.in_(list(wanted)))
                                .options(selectinload(RepaymentClaim.repayments), selectinload(RepaymentClaim.grant))
                                .order_by(RepaymentClaim.id)).all()
    staff = _staff_by_municipality([c.grant.application.municipality_id for c in claims])
    created = 0
    for claim in claims:
        application = claim.grant.application
        user = _recipient(application, staff, claim.grant.answered_by_id, application.submitted_by_id,
                          application.created_by_id)
        if user is None:
            continue
        kind = "repayment_reminder" if wanted[claim.due_on] > 0 else "repayment_overdue"
        if queue_notice(kind, to=user.email, user=user, language=claim.letter_language,
                        key=f"{kind}:claim={claim.id}", context=notice_context(claim)):
            created += 1
    return created


SCHEDULES = [announce_open_rounds, deadline_reminders, report_reminders, grant_answer_reminders, repayment_reminders]


def schedule_due_notices(at=None):
    """Run every schedule for the moment ``at``. Returns how many notices were created."""
    at = at or now_utc()
    return sum(schedule(at) for schedule in SCHEDULES)


@shared_task(name="grants.reminders.schedule_notices", ignore_result=True)
def schedule_notices():
    """Beat: write the announcements and reminders that are due now (each once, by its natural key)."""
    created = schedule_due_notices()
    db.session.commit()
    return created

