"""Use cases of the grant (tilsagn) after its decision is released: making the grant record, and the kommune's
acceptance or declining of it. They take the acting user, check the rules, flush and never commit."""

from datetime import timedelta

from sqlalchemy import select
from stdnum.exceptions import ValidationError as NumberInvalid
from stdnum.no import kontonr

from grants.applications import workflow
from grants.applications.permissions import is_lead_staff
from grants.applications.workflow import Action
from grants.core import audit
from grants.core.timeutil import now_utc, oslo_date
from grants.decisions.models import Decision
from grants.errors import InvalidTransition, NotPermitted, ValidationFailed
from grants.extensions import db
from grants.followup.models import GRANT_LIFE, Grant
from grants.notify.outbox import queue_notice

MAX_REASON_CHARS = 3_000


def grant_of(application):
    """The grant made for ``application``, or None (not granted, or its grant decision not yet released)."""
    return db.session.scalar(select(Grant).where(Grant.application_id == application.id))


def make_grant(application, decision):
    """The grant record for a released grant ``decision`` on ``application``: the decision's amount (whole
    kroner), its reporting deadline (else the round's), and the day by which the kommune answers: the release's
    Oslo date plus the round's acceptance days. A grant that exists is returned as it is (a second release of the
    same application, after an appeal, keeps the answer already given)."""
    grant = grant_of(application)
    if grant is not None:
        return grant
    round_ = application.round
    released = decision.released_at or now_utc()
    grant = Grant(application_id=application.id, decision_id=decision.id, round_id=application.round_id,
                  amount=decision.amount, reporting_deadline=decision.reporting_deadline or round_.reporting_deadline,
                  answer_by=oslo_date(released) + timedelta(days=round_.acceptance_days))
    db.session.add(grant)
    db.session.flush()
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


# The grant follows the release of a grant decision (grants.applications.workflow.follow): registered when the app
# is built, so that the decisions never import the follow-up above them.
workflow.follow(Action.grant, _on_grant_released)
