"""Use cases of a grant's report (rapport): the kommune writes it (a draft kept as typed, in any order), sends it
with a receipt, and IMDi's caseworker approves it or returns it for changes by a new date; a returned version is
kept as it was and the kommune's changes go into the next version. Approving closes the case, so that a share held
back until the report is approved can be paid. They take the acting user, check the rules, flush and never commit.

The rules behind it: økonomiregelverket 6.3.9 (the grant recipient reports on its use of the grant; the agency
checks the report) and the scheme's conditions (at least ten participants, the own contribution, no ordinary
running costs)."""

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from grants.accounts.models import Role, User, UserStatus
from grants.accounts.permissions import is_caseworker
from grants.applications import attachments as files
from grants.applications import workflow
from grants.applications.operations import MAX_VALUE_CHARS  # as for an application's drafts
from grants.applications.permissions import is_lead_staff
from grants.applications.workflow import Action
from grants.core import audit
from grants.core.timeutil import now_utc, oslo_date
from grants.db import lock_row
from grants.decisions.permissions import has_declared_conflict
from grants.errors import InvalidTransition, NotPermitted, StaleData, ValidationFailed
from grants.extensions import db
from grants.followup import operations
from grants.followup.models import REPORT_LIFE, GrantState, Report, ReportAttachment
from grants.notify.outbox import queue_notice

MAX_MESSAGE_CHARS = 3_000     # a caseworker's message when returning or approving
MAX_ATTACHMENTS = 10
MIN_PARTICIPANTS = 10         # the scheme's condition, shown to the caseworker beside the reported number


def reports_of(grant):
    """Every version of ``grant``'s report, first to last (a list of Report)."""
    return db.session.scalars(select(Report).where(Report.grant_id == grant.id).order_by(Report.number)).all()


def latest_report(grant):
    """The last version of ``grant``'s report, or None before the kommune starts one."""
    return db.session.scalar(select(Report).where(Report.grant_id == grant.id)
                             .order_by(Report.number.desc()).limit(1))


def may_write(grant, user):
    """Whether ``user`` may write ``grant``'s report now: the lead kommune's active staff, for an accepted grant
    whose case is waiting for a report (granted: not yet reported, or returned for changes)."""
    return (is_lead_staff(grant.application, user) and grant.state == GrantState.accepted
            and workflow.may(grant.application, user, Action.report))


def may_assess(grant, user):
    """Whether ``user`` may assess ``grant``'s report: a caseworker free of declared conflict."""
    return is_caseworker(user) and not has_declared_conflict(grant.application, user)


def draft_for(grant, user):
    """The version of ``grant``'s report that ``user`` writes now: the draft there is, or a new one, numbered one
    more than the last, that starts from what the returned version said. Raises NotPermitted when ``user`` may
    not write it (``may_write``). Flushes a new draft."""
    if not may_write(grant, user):
        raise NotPermitted("not_permitted")
    lock_row(grant)  # two saves at once (a double click) make one draft, not two
    last = latest_report(grant)
    if last is not None and last.is_draft:
        return last
    report = Report(grant_id=grant.id, number=(last.number + 1) if last else 1,
                    answers=dict(last.answers) if last else {})
    db.session.add(report)
    db.session.flush()
    return report


def save_draft(report, user, fields, *, base_version=None):
    """Keep what ``user`` typed in ``fields`` ({name: str}, the form's own fields only) on the draft ``report``,
    valid or not: a draft is never lost. ``base_version`` is the report's version the page was opened at; a save
    after someone else's raises StaleData("report_conflict") and writes nothing. Raises NotPermitted,
    InvalidTransition("report_not_draft") for a version already sent, ValidationFailed("too_long_value",
    field=name) for a value beyond MAX_VALUE_CHARS (nothing written)."""
    if not may_write(report.grant, user):
        raise NotPermitted("not_permitted")
    if not report.is_draft:
        raise InvalidTransition("report_not_draft")
    for name, value in fields.items():
        if len(value) > MAX_VALUE_CHARS:
            raise ValidationFailed("too_long_value", field=name)
    if base_version is not None and base_version != report.version:
        raise StaleData("report_conflict")
    report.answers = dict(fields)
    try:
        db.session.flush()
    except StaleDataError as error:
        raise StaleData("report_conflict") from error
    return report


def changes_draft(grant, fields):
    """Whether keeping ``fields`` ({name: str}, or None when the request carried none of the report's fields) would
    change the report being written on ``grant``: what they hold differs from the draft (or from the returned
    version a new draft would start from); with no report yet, anything typed. Leaving the page as it came
    (a language button, a link) then keeps nothing and makes no new draft, as an application's sections do."""
    if fields is None:
        return False
    last = latest_report(grant)
    if last is None:
        return any(value.strip() for value in fields.values())
    saved = last.answers or {}
    return any(value != saved.get(name, "") for name, value in fields.items())


def keep_typed(grant, user, fields, *, base_version=None):
    """What ``user`` typed on the report's page (``fields``: {name: str}, or None when the request carried none of
    the report's fields) kept on the draft they write (``draft_for``), valid or not; ``base_version`` is the
    version of the draft the page was opened at (ignored when there was no draft then). Returns the draft. Raises
    as ``draft_for`` and ``save_draft``."""
    last = latest_report(grant)
    draft = draft_for(grant, user)
    if fields is not None:
        save_draft(draft, user, fields, base_version=base_version if last is not None and last.is_draft else None)
    return draft


def submit(report, user, *, participants, spending, own_contribution, unused):
    """``user`` sends the draft ``report``: ``participants`` (int, people who took part), ``spending`` (a list of
    whole kroner spent, one per line of the granted budget), ``own_contribution`` and ``unused`` (whole kroner: the
    kommune's own money spent, and the part of the paid grant not used). The case moves to reported (workflow:
    report), a receipt goes to ``user`` and IMDi is told. Returns the report.

    Raises NotPermitted, InvalidTransition("report_not_draft"), ValidationFailed("report_unused_above_paid",
    field="unused") when more is said to be unused than was paid, or ("report_spending_lines", field="spending")
    when the lines do not match the budget's."""
    grant = report.grant
    if not may_write(grant, user):
        raise NotPermitted("not_permitted")
    if not REPORT_LIFE.can(report, "submit"):
        raise InvalidTransition("report_not_draft")
    application = grant.application
    if len(spending) != len(application.cost_lines) or any(v is None or v < 0 for v in spending):
        raise ValidationFailed("report_spending_lines", field="spending")
    paid = operations.paid_on_grant(grant)
    if unused > paid:
        raise ValidationFailed("report_unused_above_paid", field="unused", paid=paid)
    REPORT_LIFE.move(report, "submit")
    report.participants, report.spent = participants, sum(spending)
    report.own_contribution, report.unused = own_contribution, unused
    report.submitted_at, report.submitted_by_id = now_utc(), user.id
    workflow.apply(application, Action.report, user, workflow.MUNICIPAL, report_id=report.id, number=report.number)
    db.session.flush()
    context = _context(report)
    queue_notice("report_received", to=user.email, user=user, language=user.language,
                 key=f"report_received:{report.id}", context=context)
    for person in _imdi_readers(grant):
        queue_notice("report_submitted", to=person.email, user=person, language=person.language,
                     key=f"report_submitted:{report.id}:{person.id}", context=context)
    return report


def _require_assessable(report, actor):
    if not may_assess(report.grant, actor):
        raise NotPermitted("not_permitted")
    lock_row(report)
    if not report.awaits_assessment:
        raise InvalidTransition("report_assessed")


def _approve_version(report, actor, note):
    _require_assessable(report, actor)
    note = (note or "").strip()
    if len(note) > MAX_MESSAGE_CHARS:
        raise ValidationFailed("too_long_value", field="note")
    REPORT_LIFE.move(report, "approve")
    report.assessed_at, report.assessed_by_id, report.assessment = now_utc(), actor.id, note or None


def approve(report, actor, note=""):
    """A caseworker free of conflict approves the submitted ``report``, with an optional ``note`` (str, at most
    3,000 characters) to the kommune. The case is closed (workflow: approve_report) and any share held back can be
    paid; the kommune is told. Two assessing at once: the second gets InvalidTransition("report_assessed").
    Raises NotPermitted, ValidationFailed("too_long_value", field="note")."""
    _approve_version(report, actor, note)
    application = report.grant.application
    workflow.apply(application, Action.approve_report, actor, workflow.CASEWORKER, report_id=report.id,
                   number=report.number)
    db.session.flush()
    _tell_kommune(report, "report_approved")
    return report


def approve_with_claim(report, actor, note="", *, amount, reason, due_on):
    """Approve ``report`` and, in the same transaction, propose that the kommune repay ``amount`` (whole kroner)
    for ``reason`` by ``due_on`` (an Oslo date): the claim names the report, and another person with the approver
    role must approve it before the kommune hears of it (grants.followup.repayments). The case stays open
    (reported) until the claim is repaid or withdrawn (``settle``): only then is it closed, the share held back
    freed and the kommune told that the report is approved. Returns the RepaymentClaim. Raises as ``approve`` and
    as repayments.propose_claim (fields "amount", "reason", "due_on"); nothing is kept when either refuses.

    The rule: DESIGN.md, the life of an application (approve with a repayment claim, four eyes, --repaid-->
    closed); økonomiregelverket 6.3.8."""
    from grants.followup import repayments

    _approve_version(report, actor, note)
    db.session.flush()
    audit.record(actor, report.grant.application, "approve_report_with_claim", report_id=report.id,
                 number=report.number, amount=amount)
    return repayments.propose_claim(report.grant, actor, amount=amount, reason=reason, due_on=due_on,
                                    report_id=report.id)


def settle(grant, actor, actor_kind):
    """Close ``grant``'s case once its approved report's repayment claims are settled: called when a claim is
    repaid in full or withdrawn. Nothing happens unless the case waits in ``reported`` with its last report
    approved and no claim left open (proposed, or approved and not wholly repaid). The kommune is told that the
    report is approved and the case closed. ``actor_kind`` is workflow.CASEWORKER or workflow.APPROVER."""
    from grants.followup.models import ClaimState, RepaymentClaim

    application = grant.application
    report = latest_report(grant)
    if application.state != workflow.State.reported or report is None or not report.is_approved:
        return False
    open_claim = db.session.scalar(select(RepaymentClaim.id).where(
        RepaymentClaim.grant_id == grant.id,
        RepaymentClaim.state.in_([ClaimState.proposed, ClaimState.approved])).limit(1))
    if open_claim is not None:
        return False
    workflow.apply(application, Action.settle, actor, actor_kind, report_id=report.id)
    db.session.flush()
    _tell_kommune(report, "report_approved")
    return True


def return_for_changes(report, actor, message, resubmit_by):
    """A caseworker free of conflict returns the submitted ``report`` for changes, with ``message`` (str, required,
    at most 3,000 characters: what to change) and ``resubmit_by`` (an Oslo date, not in the past), which becomes
    the grant's reporting deadline (the reminders follow it). The version is kept as sent; the case goes back to
    granted (workflow: return_report) and the kommune writes the next version. The kommune is told. Raises
    NotPermitted, InvalidTransition("report_assessed"), ValidationFailed("message_required" or "too_long_value",
    field="message"; "resubmit_by_required" or "resubmit_by_past", field="resubmit_by")."""
    _require_assessable(report, actor)
    message = (message or "").strip()
    if not message:
        raise ValidationFailed("message_required", field="message")
    if len(message) > MAX_MESSAGE_CHARS:
        raise ValidationFailed("too_long_value", field="message")
    if resubmit_by is None:
        raise ValidationFailed("resubmit_by_required", field="resubmit_by")
    if resubmit_by < oslo_date(now_utc()):
        raise ValidationFailed("resubmit_by_past", field="resubmit_by")
    REPORT_LIFE.move(report, "return")
    report.assessed_at, report.assessed_by_id = now_utc(), actor.id
    report.assessment, report.resubmit_by = message, resubmit_by
    grant = report.grant
    before = grant.reporting_deadline
    grant.reporting_deadline = resubmit_by
    workflow.apply(grant.application, Action.return_report, actor, workflow.CASEWORKER, report_id=report.id,
                   number=report.number, resubmit_by=resubmit_by.isoformat(),
                   deadline_before=before.isoformat() if before else None)
    db.session.flush()
    _tell_kommune(report, "report_returned")
    return report


def _context(report):
    application = report.grant.application
    return {"reference": application.reference, "title": application.title, "number": report.number,
            "municipality_name": application.municipality.name, "application_id": application.id,
            "grant_id": report.grant_id, "participants": report.participants, "spent": report.spent,
            "assessment": report.assessment,
            "resubmit_by": report.resubmit_by.isoformat() if report.resubmit_by else None}


def _tell_kommune(report, kind):
    """The person who sent the report hears of its assessment; if they have left, the kommune's other staff (the
    one who accepted the grant, else its administrator, else its first active user)."""
    from grants.followup.repayments import kommune_recipient

    person = report.submitted_by
    if person is None or person.status != UserStatus.active:
        person = kommune_recipient(report.grant)
    if person is None:
        return
    queue_notice(kind, to=person.email, user=person, language=person.language, key=f"{kind}:{report.id}",
                 context=_context(report))


def _imdi_readers(grant):
    """Who at IMDi hears of a submitted report: the caseworker who proposed the grant decision if still active,
    else every active caseworker."""
    proposer = grant.decision.proposed_by if grant.decision is not None else None
    if proposer is not None and proposer.status == UserStatus.active:
        return [proposer]
    return db.session.scalars(select(User).where(User.role == Role.caseworker, User.status == UserStatus.active)
                              .order_by(User.id)).all()


# --- documents with the report (the project's accounts, for instance) ------------------------------------------

def add_attachment(report, user, filename, content):
    """Attach a document (``content``, bytes, named ``filename``) to the draft ``report``: its type read from its
    content (PDF, DOCX, XLSX or ODT, the name agreeing), within the upload size limit, at most MAX_ATTACHMENTS.
    Raises NotPermitted, InvalidTransition("report_not_draft"), ValidationFailed (field "file": "empty_file",
    "too_large", "report_too_many", "wrong_type", "name_mismatch")."""
    if not may_write(report.grant, user):
        raise NotPermitted("not_permitted")
    if not report.is_draft:
        raise InvalidTransition("report_not_draft")
    if len(report.attachments) >= MAX_ATTACHMENTS:
        raise ValidationFailed("report_too_many", field="file", n=MAX_ATTACHMENTS)
    kind = files.check_file(filename, content)
    attachment = ReportAttachment(report=report, uploaded_by_id=user.id, **files.stored(filename, content, kind))
    db.session.add(attachment)
    db.session.flush()
    audit.record(user, report.grant.application, "add_report_attachment", report_id=report.id,
                 name=attachment.original_name, size=attachment.size)
    return attachment


def remove_attachment(attachment, user):
    """Take a document off the draft report it belongs to; its stored file goes when the change is committed
    (never before: a rollback keeps row and file together). Raises NotPermitted, InvalidTransition
    ("report_not_draft")."""
    report = attachment.report
    if not may_write(report.grant, user):
        raise NotPermitted("not_permitted")
    if not report.is_draft:
        raise InvalidTransition("report_not_draft")
    audit.record(user, report.grant.application, "remove_report_attachment", report_id=report.id,
                 name=attachment.original_name)
    report.attachments.remove(attachment)
    db.session.flush()
    files.unlink_after_commit(files.path_of(attachment))


def may_read_attachment(attachment, user):
    """A document with a version sent: whoever may see the grant (the kommuner on the application, IMDi's staff).
    A document with a draft: only those who may write the draft (the lead kommune's staff) - nobody else reads a
    report before it is sent."""
    from grants.followup import permissions

    report = attachment.report
    if report.is_draft:
        return may_write(report.grant, user)
    return permissions.can_see_grant(report.grant, user)

