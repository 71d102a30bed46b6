"""Use cases of the grant (tilsagn) after its decision is released: making the grant record, the kommune's
acceptance or declining of it, and its payments (utbetalinger: proposed, approved by a second person, paid). They
take the acting user, check the rules, flush and never commit."""

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from stdnum.exceptions import ValidationError as NumberInvalid
from stdnum.no import kontonr

from grants.accounts.permissions import is_approver, is_caseworker
from grants.applications import workflow
from grants.applications.models import Application
from grants.applications.permissions import is_lead_staff
from grants.applications.workflow import Action, State
from grants.core import audit
from grants.core.timeutil import now_utc, oslo_date
from grants.db import lock_row
from grants.decisions.models import Decision
from grants.decisions.permissions import has_declared_conflict
from grants.errors import InvalidTransition, NotPermitted, ValidationFailed
from grants.extensions import db
from grants.followup.models import GRANT_LIFE, PAYMENT_LIFE, Grant, GrantState, Payment, PaymentState, Report
from grants.notify.outbox import queue_notice

MAX_REASON_CHARS = 3_000


def grant_of(application):
    """The grant made for ``application``, or None (not granted, or its grant decision not yet released)."""
    return db.session.scalar(select(Grant).where(Grant.application_id == application.id))


def make_grant(application, decision):
    """The grant record for a released grant ``decision`` on ``application``: the decision's amount (whole
    kroner), its reporting deadline (else the round's), and the day by which the kommune answers: the release's
    Oslo date plus the round's acceptance days. Added to the session, not flushed: a release of many decisions
    writes them together. An application is granted once (the workflow leads nowhere from granted back to a state
    a grant comes from), and the database holds one grant per application (unique)."""
    round_ = application.round
    released = decision.released_at or now_utc()
    grant = Grant(application_id=application.id, decision_id=decision.id, round_id=application.round_id,
                  amount=decision.amount, reporting_deadline=decision.reporting_deadline or round_.reporting_deadline,
                  answer_by=oslo_date(released) + timedelta(days=round_.acceptance_days))
    db.session.add(grant)
    return grant


def _on_grant_released(case, actor, facts):
    """Follower of the workflow's grant (the release of a grant decision): the grant record follows."""
    make_grant(case, db.session.get(Decision, facts["decision_id"]))


def account_number(value):
    """The account number ``value`` (str, as typed: spaces, dots and dashes allowed) as its 11 digits, checked by the
    Norwegian MOD11 rule (python-stdnum's no.kontonr). Raises ValidationFailed("account_number_invalid",
    field="account_number") for anything else."""
    digits = kontonr.compact(value or "")
    try:
        if len(digits) != 11:
            raise ValidationFailed("account_number_invalid", field="account_number")
        return kontonr.validate(digits)
    except NumberInvalid as error:
        raise ValidationFailed("account_number_invalid", field="account_number") from error


def _require_answerable(grant, user):
    if not is_lead_staff(grant.application, user):
        raise NotPermitted("not_permitted")
    if not GRANT_LIFE.can(grant, "accept"):
        raise InvalidTransition("grant_answered")


def accept_grant(grant, user, *, account, confirms_conditions):
    """The lead kommune's staff (``user``) accept ``grant`` on its conditions (``confirms_conditions`` must be
    true) and give the account (``account``, str) it is paid to. Recorded, and a receipt goes to the user.
    Raises NotPermitted for anyone else, InvalidTransition("grant_answered") when it was answered already,
    ValidationFailed for an unconfirmed acceptance or an invalid account number (both checked before anything
    changes)."""
    _require_answerable(grant, user)
    if not confirms_conditions:
        raise ValidationFailed("conditions_not_confirmed", field="confirms_conditions")
    number = account_number(account)
    GRANT_LIFE.move(grant, "accept")
    grant.account_number, grant.answered_by_id, grant.answered_at = number, user.id, now_utc()
    db.session.flush()
    application = grant.application
    audit.record(user, application, "accept_grant", grant_id=grant.id, amount=grant.amount)
    queue_notice("grant_accepted", to=user.email, user=user, language=user.language,
                 key=f"grant_accepted:{grant.id}",
                 context={"reference": application.reference, "title": application.title, "amount": grant.amount,
                          "account_number": number, "municipality_name": application.municipality.name,
                          "reporting_deadline": grant.reporting_deadline.isoformat()
                          if grant.reporting_deadline else None, "application_id": application.id})
    return grant


def decline_grant(grant, user, reason):
    """The lead kommune's staff decline ``grant`` with ``reason`` (str, required, at most 3,000 characters): the
    grant and its application are declined (workflow: granted -> declined), the amount no longer counts against
    the round's budget, and the people who proposed and approved the decision are told. Raises as accept_grant,
    and ValidationFailed("reason_required" or "too_long_value", field="reason")."""
    _require_answerable(grant, user)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason_required", field="reason")
    if len(reason) > MAX_REASON_CHARS:
        raise ValidationFailed("too_long_value", field="reason")
    application = grant.application
    GRANT_LIFE.move(grant, "decline")
    grant.decline_reason, grant.answered_by_id, grant.answered_at = reason, user.id, now_utc()
    workflow.apply(application, Action.decline, user, workflow.MUNICIPAL, grant_id=grant.id, reason=reason)
    db.session.flush()
    decision = grant.decision
    for person in {p.id: p for p in (decision.proposed_by, decision.approved_by) if p is not None}.values():
        queue_notice("grant_declined", to=person.email, user=person, language=person.language,
                     key=f"grant_declined:{grant.id}:{person.id}",
                     context={"reference": application.reference, "title": application.title,
                              "municipality_name": application.municipality.name, "amount": grant.amount,
                              "reason": reason, "application_id": application.id})
    return grant


# --- payments (utbetalinger) ---------------------------------------------------------------------------------

def paid_on_grant(grant):
    """Kroner paid out on ``grant`` (payments in state paid)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.grant_id == grant.id, Payment.state == PaymentState.paid)))


def paid_or_promised(grant):
    """Kroner of the grant's payments that are proposed, approved or paid (withdrawn ones are not counted)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.grant_id == grant.id, Payment.state != PaymentState.withdrawn)))


def held_back(grant):
    """Kroner of the grant held back until its report is approved: the round's share, rounded up to whole kroner."""
    return -(-grant.amount * grant.application.round.held_back_percent // 100)


def payable_now(grant):
    """What can be proposed now (whole kroner): the grant less what is paid or promised, and less the share held
    back while the report is not approved (the application not closed)."""
    limit = grant.amount if grant.application.state == State.closed else grant.amount - held_back(grant)
    return max(0, limit - paid_or_promised(grant))


def _require_staff(grant, actor, allowed):
    if not allowed or has_declared_conflict(grant.application, actor):
        raise NotPermitted("not_permitted")


def propose_payment(grant, actor, amount, note=""):
    """A caseworker free of conflict proposes paying ``amount`` (whole kroner) of an accepted grant to the account
    the kommune gave. Raises NotPermitted, InvalidTransition("grant_not_accepted"), ValidationFailed
    ("payment_not_positive" or "payment_above_payable", field "amount", with "payable" in whole kroner)."""
    _require_staff(grant, actor, is_caseworker(actor))
    grant = lock_row(grant)  # payments proposed at once queue up and never add up to more than the grant
    if grant.state != GrantState.accepted:
        raise InvalidTransition("grant_not_accepted")
    if amount is None or amount <= 0:
        raise ValidationFailed("payment_not_positive", field="amount")
    payable = payable_now(grant)
    if amount > payable:
        raise ValidationFailed("payment_above_payable", field="amount", payable=payable)
    payment = Payment(grant_id=grant.id, amount=amount, account_number=grant.account_number,
                      note=(note or "").strip() or None, proposed_by_id=actor.id)
    db.session.add(payment)
    db.session.flush()
    audit.record(actor, grant.application, "propose_payment", payment_id=payment.id, amount=amount)
    return payment


def approve_payment(payment, actor):
    """The second pair of eyes: an approver who did not propose the payment, free of conflict, approves it; it
    then goes into the round's payment file. Two approving at once: the second finds it approved
    (InvalidTransition "payment_handled"). Raises NotPermitted("four_eyes") for the proposer or a conflict."""
    payment = lock_row(payment)
    grant = payment.grant
    if not is_approver(actor) or actor.id == payment.proposed_by_id or has_declared_conflict(grant.application,
                                                                                             actor):
        raise NotPermitted("four_eyes")
    if not PAYMENT_LIFE.can(payment, "approve"):
        raise InvalidTransition("payment_handled")
    PAYMENT_LIFE.move(payment, "approve")
    payment.approved_by_id, payment.approved_at = actor.id, now_utc()
    db.session.flush()
    audit.record(actor, grant.application, "approve_payment", payment_id=payment.id, amount=payment.amount)
    return payment


def mark_paid(payment, actor, paid_on):
    """A caseworker or approver records that the accounting system paid an approved payment on ``paid_on`` (an Oslo
    date, not in the future). The kommune is told. Raises NotPermitted, InvalidTransition("payment_handled"),
    ValidationFailed("paid_on_required", "paid_on_future" or "paid_on_before_approval", field "paid_on")."""
    payment = lock_row(payment)
    grant = payment.grant
    _require_staff(grant, actor, is_caseworker(actor) or is_approver(actor))
    if not PAYMENT_LIFE.can(payment, "pay"):
        raise InvalidTransition("payment_handled")
    if paid_on is None:
        raise ValidationFailed("paid_on_required", field="paid_on")
    if paid_on > oslo_date(now_utc()):
        raise ValidationFailed("paid_on_future", field="paid_on")
    if paid_on < oslo_date(payment.approved_at):
        raise ValidationFailed("paid_on_before_approval", field="paid_on", approved=payment.approved_at)
    PAYMENT_LIFE.move(payment, "pay")
    payment.paid_on = paid_on
    db.session.flush()
    application = grant.application
    audit.record(actor, application, "pay", payment_id=payment.id, amount=payment.amount, paid_on=paid_on.isoformat())
    person = grant.answered_by
    if person is not None:
        queue_notice("payment_made", to=person.email, user=person, language=person.language,
                     key=f"payment_made:{payment.id}",
                     context={"reference": application.reference, "title": application.title,
                              "amount": payment.amount, "account_number": payment.account_number,
                              "paid_on": paid_on.isoformat(), "application_id": application.id})
    return payment


def withdraw_payment(payment, actor):
    """A caseworker or approver takes back a payment not yet paid (proposed or approved). Raises NotPermitted,
    InvalidTransition("payment_handled")."""
    payment = lock_row(payment)
    _require_staff(payment.grant, actor, is_caseworker(actor) or is_approver(actor))
    if not PAYMENT_LIFE.can(payment, "withdraw"):
        raise InvalidTransition("payment_handled")
    PAYMENT_LIFE.move(payment, "withdraw")
    payment.withdrawn_at = now_utc()
    db.session.flush()
    audit.record(actor, payment.grant.application, "withdraw_payment", payment_id=payment.id, amount=payment.amount)
    return payment


PAYMENT_FILE_HEADER = ("payment_id", "reference", "municipality_number", "municipality", "account_number", "amount",
                       "approved")


def _approved_payments(round_id):
    return (select(Payment).join(Grant, Grant.id == Payment.grant_id)
            .where(Grant.round_id == round_id, Payment.state == PaymentState.approved))


def payment_file_rows(round_id):
    """The round's approved payments not yet paid, for the accounting system's payment file: one row per payment
    (id, application reference, kommune number and name, account number, whole kroner, Oslo date approved). Two
    statements whatever the number of payments."""
    payments = db.session.scalars(
        _approved_payments(round_id).options(
            selectinload(Payment.grant).joinedload(Grant.application).joinedload(Application.municipality))
        .order_by(Payment.id)).all()
    return [[p.id, p.grant.application.reference, p.grant.application.municipality.number,
             p.grant.application.municipality.name, p.account_number, p.amount,
             oslo_date(p.approved_at).isoformat()] for p in payments]


def round_overview(round_id):
    """A round's grants for IMDi's overview: (grants in the order made, the number of approved payments waiting to
    be paid, {grant id: the last version of its report, a draft included}). Three statements whatever the number
    of grants; what was paid and where each report stands are grants.followup.figures.per_grant's."""
    grants = db.session.scalars(select(Grant).where(Grant.round_id == round_id).order_by(Grant.id)).all()
    waiting = db.session.scalar(select(func.count()).select_from(_approved_payments(round_id).subquery()))
    last = (select(Report.grant_id, func.max(Report.number).label("number")).join(Grant, Grant.id == Report.grant_id)
            .where(Grant.round_id == round_id).group_by(Report.grant_id).subquery())
    reports = {r.grant_id: r for r in db.session.scalars(select(Report).join(
        last, (last.c.grant_id == Report.grant_id) & (last.c.number == Report.number)))}
    return grants, waiting, reports


# The grant follows the release of a grant decision (grants.applications.workflow.follow): registered when the app
# is built, so that the decisions never import the follow-up above them.
workflow.follow(Action.grant, _on_grant_released)
