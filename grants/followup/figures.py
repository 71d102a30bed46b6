"""Figures of what followed the grants: per grant (paid, repaid, where its report stands) and per round (granted,
accepted, declined, paid, reports due, received, approved and overdue, participants, continuations), and the
yearly results that the agency reports (projects, participants, activity types, continuation rate).

A fixed number of statements however many grants there are; amounts in whole kroner; days are Oslo days."""

import enum
from dataclasses import dataclass, field

from sqlalchemy import func, select

from grants.applications.models import Application, ApplicationActivity
from grants.applications.workflow import GRANTED_STATES, RECEIVED_STATES
from grants.core.text import N_
from grants.core.timeutil import now_utc, oslo_date
from grants.extensions import db
from grants.followup import repayments
from grants.followup.models import (
    ClaimState,
    Grant,
    GrantState,
    Payment,
    PaymentState,
    RepaymentClaim,
    Report,
    ReportState,
)
from grants.rounds.models import Round


class ReportStatus(enum.StrEnum):
    """Where a grant's report stands (the open data's ``report_status``)."""

    awaiting_answer = "awaiting_answer"  # the kommune has not accepted the grant yet
    declined = "declined"                # the kommune declined the grant: nothing to report
    due = "due"                          # accepted; the report is not sent and its deadline has not passed
    overdue = "overdue"                  # accepted; the report is not sent (or not sent again) and the day passed
    received = "received"                # sent; IMDi has not assessed it yet
    returned = "returned"                # returned for changes; the next version is not sent yet
    approved = "approved"                # approved: the case is closed


REPORT_STATUS_TITLES = {
    ReportStatus.awaiting_answer: N_("Grant not yet accepted"), ReportStatus.declined: N_("Grant declined"),
    ReportStatus.due: N_("Deadline not passed"), ReportStatus.overdue: N_("Late"),
    ReportStatus.received: N_("Received, waiting for assessment"), ReportStatus.returned: N_("Returned for changes"),
    ReportStatus.approved: N_("Approved"),
}


@dataclass
class GrantFigures:
    """One grant's follow-up: ``paid``, ``claimed`` (repayment claims sent) and ``repaid`` in whole kroner,
    ``report`` a ReportStatus, ``participants`` as its last report sent says (None before one is sent)."""

    grant_id: int
    application_id: int
    reference: str
    amount: int
    paid: int
    claimed: int
    repaid: int
    report: ReportStatus
    participants: int | None
    reporting_deadline: object


def _report_status(grant_state, last_state, deadline, today, resubmit_by):
    if grant_state == GrantState.offered:
        return ReportStatus.awaiting_answer
    if grant_state == GrantState.declined:
        return ReportStatus.declined
    if last_state == ReportState.approved:
        return ReportStatus.approved
    if last_state == ReportState.submitted:
        return ReportStatus.received
    due = resubmit_by if last_state == ReportState.returned else deadline
    if due is not None and today > due:
        return ReportStatus.overdue
    return ReportStatus.returned if last_state == ReportState.returned else ReportStatus.due


def _claimed_by_grant(round_id):
    """Kroner claimed back per grant of the round (claims approved and sent, repaid or not): {grant id: kroner}."""
    return {grant_id: int(kroner) for grant_id, kroner in db.session.execute(
        select(RepaymentClaim.grant_id, func.sum(RepaymentClaim.amount))
        .join(Grant, Grant.id == RepaymentClaim.grant_id)
        .where(Grant.round_id == round_id, RepaymentClaim.state.in_([ClaimState.approved, ClaimState.repaid]))
        .group_by(RepaymentClaim.grant_id)).all()}


def per_grant(round_id, today=None):
    """Every grant of the round with its follow-up (a list of GrantFigures in the order the grants were made).
    ``today`` (an Oslo date; today by default) decides what is overdue. Five statements."""
    today = today or oslo_date(now_utc())
    paid = dict(db.session.execute(
        select(Payment.grant_id, func.sum(Payment.amount)).join(Grant, Grant.id == Payment.grant_id)
        .where(Grant.round_id == round_id, Payment.state == PaymentState.paid).group_by(Payment.grant_id)).all())
    last = (select(Report.grant_id, func.max(Report.number).label("number"))
            .join(Grant, Grant.id == Report.grant_id)
            .where(Grant.round_id == round_id, Report.state != ReportState.draft).group_by(Report.grant_id)
            .subquery())
    rows = db.session.execute(
        select(Grant.id, Grant.application_id, Application.reference, Grant.amount, Grant.state,
               Grant.reporting_deadline, Report.state, Report.participants, Report.resubmit_by)
        .join(Application, Application.id == Grant.application_id)
        .outerjoin(last, last.c.grant_id == Grant.id)
        .outerjoin(Report, (Report.grant_id == last.c.grant_id) & (Report.number == last.c.number))
        .where(Grant.round_id == round_id).order_by(Grant.id)).all()
    repaid = repayments.repaid_by_grant([row[0] for row in rows])
    claimed = _claimed_by_grant(round_id)
    return [GrantFigures(grant_id, application_id, reference, amount, int(paid.get(grant_id, 0)),
                         int(claimed.get(grant_id, 0)), int(repaid.get(grant_id, 0)),
                         _report_status(state, report_state, deadline, today, resubmit_by), participants, deadline)
            for (grant_id, application_id, reference, amount, state, deadline, report_state, participants,
                 resubmit_by) in rows]


@dataclass
class RoundFigures:
    """A round's follow-up for IMDi: counts and whole kroner."""

    round_id: int
    grants: int = 0
    amount: int = 0
    awaiting_answer: int = 0
    amount_awaiting: int = 0
    accepted: int = 0
    amount_accepted: int = 0
    declined: int = 0
    amount_declined: int = 0
    paid: int = 0
    claimed: int = 0
    repaid: int = 0
    reports: dict = field(default_factory=lambda: {status: 0 for status in ReportStatus})
    participants: int = 0
    continuations: int = 0


def for_round(round_id, today=None, follow_up=None):
    """The round's follow-up figures (RoundFigures), added up from ``follow_up`` (the round's per_grant, read
    here when not given): six statements, one when given."""
    figures = RoundFigures(round_id)
    for grant in per_grant(round_id, today) if follow_up is None else follow_up:
        figures.grants += 1
        figures.amount += grant.amount
        figures.paid += grant.paid
        figures.claimed += grant.claimed
        figures.repaid += grant.repaid
        figures.reports[grant.report] += 1
        if grant.report == ReportStatus.awaiting_answer:
            figures.awaiting_answer += 1
            figures.amount_awaiting += grant.amount
        elif grant.report == ReportStatus.declined:
            figures.declined += 1
            figures.amount_declined += grant.amount
        else:
            figures.accepted += 1
            figures.amount_accepted += grant.amount
        if grant.report == ReportStatus.approved:  # counted once IMDi has approved the report that says it
            figures.participants += grant.participants or 0
    figures.continuations = _continuations(round_id)
    return figures


def _continuations(round_id):
    return db.session.scalar(select(func.count()).select_from(Application).where(
        Application.round_id == round_id, Application.continues_application_id.is_not(None),
        Application.state.in_(list(RECEIVED_STATES))))


@dataclass
class YearResults:
    """What the grants of one year's round(s) came to, as the agency reports it: ``projects`` granted (and not
    declined), ``participants`` that the approved reports count (and in how many reports: ``reports_sent`` counts
    the approved ones), the activity types of the projects granted ({activity key: projects}), applications
    received and how many continue an earlier grant."""

    year: int
    projects: int = 0
    amount: int = 0
    reports_sent: int = 0
    participants: int = 0
    received: int = 0
    continuations: int = 0
    activities: dict = field(default_factory=dict)

    @property
    def continuation_rate(self):
        """Share of the applications received that continue an earlier grant (0.0 to 1.0; 0.0 with none)."""
        return self.continuations / self.received if self.received else 0.0


def yearly_results(round_ids=None):
    """The results per year of the rounds given (ids; every round when None), newest year first: a list of
    YearResults. Four statements whatever the number of rounds and grants."""
    rounds = db.session.execute(select(Round.id, Round.year)).all()
    year_of = {rid: year for rid, year in rounds if round_ids is None or rid in round_ids}
    years = {year: YearResults(year) for year in year_of.values()}
    received = RECEIVED_STATES
    for rid, state, count, amount, continuing in db.session.execute(
            select(Application.round_id, Application.state, func.count(),
                   func.coalesce(func.sum(Application.amount_granted), 0),
                   func.count(Application.continues_application_id))
            .where(Application.round_id.in_(list(year_of))).group_by(Application.round_id, Application.state)):
        result = years[year_of[rid]]
        if state in received:
            result.received += count
            result.continuations += continuing
        if state in GRANTED_STATES:
            result.projects += count
            result.amount += int(amount)
    last = (select(Report.grant_id, func.max(Report.number).label("number"))
            .where(Report.state == ReportState.approved).group_by(Report.grant_id).subquery())
    for rid, reports, participants in db.session.execute(
            select(Grant.round_id, func.count(), func.coalesce(func.sum(Report.participants), 0))
            .join(last, last.c.grant_id == Grant.id)
            .join(Report, (Report.grant_id == last.c.grant_id) & (Report.number == last.c.number))
            .where(Grant.round_id.in_(list(year_of))).group_by(Grant.round_id)):
        years[year_of[rid]].reports_sent += reports
        years[year_of[rid]].participants += int(participants)
    for rid, activity, count in db.session.execute(
            select(Application.round_id, ApplicationActivity.activity, func.count())
            .join(Application, Application.id == ApplicationActivity.application_id)
            .where(Application.round_id.in_(list(year_of)), Application.state.in_(GRANTED_STATES))
            .group_by(Application.round_id, ApplicationActivity.activity)):
        activities = years[year_of[rid]].activities
        activities[str(activity)] = activities.get(str(activity), 0) + count
    return [years[year] for year in sorted(years, reverse=True)]
