"""Use cases of the applicant's side. They flush, never commit; the caller commits once."""

from sqlalchemy import update
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict

from grants.applications import permissions, workflow
from grants.applications.models import Application, ApplicationActivity, ApplicationPartner, CostLine
from grants.applications.workflow import Action, State
from grants.core import audit
from grants.core.text import shorten
from grants.core.timeutil import now_utc
from grants.errors import DeadlinePassed, InvalidTransition, NotPermitted, StaleData, ValidationFailed
from grants.extensions import db
from grants.notify.outbox import queue_notice
from grants.rounds.models import Round

META = "_meta"
# The most characters one stored value may have: twice the longest field's own limit (the project description,
# 10 000). A draft keeps what was typed even where it breaks a field's rule; beyond this it is no typing any more.
MAX_VALUE_CHARS = 20_000


def own_fields(form, formdata):
    """Of ``formdata`` (a MultiDict of posted fields), only the fields ``form`` defines, as {name: [values]}: no
    CSRF token, no version, nothing the form does not know (a posted "status" or "municipality_id" is dropped).
    A list field's entries ("cost_lines-0-amount") count as the form's own. Raises ValidationFailed("too_long_value",
    field=name) for a value over MAX_VALUE_CHARS."""
    names, prefixes = set(), []
    for field in form:
        if field.type == "CSRFTokenField" or field.name == "version":
            continue
        if field.type == "FieldList":
            prefixes.append(field.name + "-")
        else:
            names.add(field.name)
    kept = {key: formdata.getlist(key) for key in formdata.keys()
            if key in names or key.startswith(tuple(prefixes))}
    for key, values in kept.items():
        if any(len(value) > MAX_VALUE_CHARS for value in values):
            raise ValidationFailed("too_long_value", field=key)
    return kept


def start_application(round_, user):
    """A new draft for the user's kommune in an open round."""
    if not permissions.can_start_application(round_, user):
        raise NotPermitted("cannot_start")
    application = Application(
        round_id=round_.id, round=round_, municipality_id=user.municipality_id, created_by_id=user.id,
        last_changed_by_id=user.id, state=State.draft, answers={}, title="",
    )
    db.session.add(application)
    db.session.flush()
    audit.record(user, application, "create", to_state=State.draft)
    return application


def section_answers(application, section):
    """What was last saved in a section, as form data (a MultiDict), or None if never saved."""
    stored = (application.answers or {}).get(section)
    if stored is None:
        return None
    return MultiDict([(k, v) for k, values in stored.items() for v in values])


def section_meta(application, section):
    return ((application.answers or {}).get(META) or {}).get(section)


def conflicting_save(application, section, base_version):
    """If someone saved this section after ``base_version``, who and when; else None."""
    meta = section_meta(application, section)
    if meta and base_version is not None and meta["version"] > base_version:
        return meta
    return None


def changes_draft(application, section, form, formdata):
    """Whether saving ``formdata`` (the posted MultiDict) in ``section`` would change the draft: what ``form``'s
    fields hold differs from what was saved, or, in a section never saved, something was typed or chosen. A page
    left as it came (a blank form, or the saved answers untouched) changes nothing, so leaving it saves nothing
    and the section keeps its status. A value too long to keep counts as a change: saving then refuses it."""
    try:
        posted = own_fields(form, formdata)
    except ValidationFailed:
        return True
    stored = (application.answers or {}).get(section)
    if stored is None:
        return any(value.strip() for values in posted.values() for value in values)
    return posted != stored


def save_section(application, user, section, formdata, *, base_version, form):
    """Keep everything typed in the fields of ``section``'s form, valid or not; refresh the typed columns from
    what is valid.

    ``formdata`` is a MultiDict of the posted fields; only the fields ``form`` defines are stored (``own_fields``).
    ``base_version`` is the application version the user started from; if another user saved the same section
    since, StaleData is raised and nothing is written. ValidationFailed("too_long_value") for a value beyond
    MAX_VALUE_CHARS, nothing written. InvalidTransition, DeadlinePassed or NotPermitted when the user may not edit.
    """
    if not permissions.can_edit(application, user):
        if application.state != State.draft:
            raise InvalidTransition("not_editable")
        if application.round.deadline_passed():
            raise DeadlinePassed("deadline_passed")
        raise NotPermitted("not_permitted")
    other = conflicting_save(application, section, base_version)
    if other is not None:
        raise StaleData("conflict", meta=other)
    answers = dict(application.answers or {})
    answers[section] = own_fields(form, formdata)
    meta = dict(answers.get(META) or {})
    meta[section] = {"version": application.version + 1, "by": user.name, "by_id": user.id,
                     "at": now_utc().isoformat()}
    answers[META] = meta
    application.answers = answers
    application.last_changed_by_id = user.id
    application.updated_at = now_utc()
    _copy_typed(application, section, form)
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise StaleData("conflict") from exc
    return application


def _copy_typed(application, section, form):
    """Copy the valid parts of a section into the columns that lists, tallies and checks read."""
    valid = not form.errors
    if section == "project":
        if not form.title.errors and form.title.data:
            application.title = shorten(form.title.data.strip(), 200)
        if not form.participants.errors:
            application.participants = form.participants.data
        if not form.activity_types.errors:
            wanted = set(form.activity_types.data or [])
            application.activities = [a for a in application.activities if a.activity in wanted] + [
                ApplicationActivity(activity=a) for a in sorted(wanted - set(application.activity_types))
            ]
    elif section == "applicant" and not form.partners.errors:
        wanted = {m.id for m in getattr(form, "partner_municipalities", [])}
        application.partners = [p for p in application.partners if p.municipality_id in wanted] + [
            ApplicationPartner(municipality_id=mid)
            for mid in sorted(wanted - {p.municipality_id for p in application.partners})
        ]
    elif section == "budget":
        lines = [e.form for e in form.cost_lines.entries]
        if all(not (f.category.errors or f.description.errors or f.amount.errors) for f in lines):
            application.cost_lines = [
                CostLine(position=i, category=f.category.data, description=f.description.data.strip(),
                         amount=f.amount.amount)
                for i, f in enumerate(lines)
            ]
            application.total_cost = sum(f.amount.amount for f in lines)
        for name in ("amount_applied", "own_contribution", "other_funding"):
            field = getattr(form, name)
            if not field.errors:
                setattr(application, name, field.amount)
    elif section == "history" and valid:
        application.continues_application_id = int(form.continues.data) if form.continues.data else None


def next_reference(round_):
    """The next reference of ``round_`` (str: its prefix and a number, 2025-0007), unique across every round (the
    prefix is the round's own) even when many submit at once: the counter is raised in one UPDATE."""
    number = db.session.execute(
        update(Round)
        .where(Round.id == round_.id)
        .values(last_reference=Round.last_reference + 1)
        .returning(Round.last_reference)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return f"{round_.reference_prefix}-{number:04d}"


def _claim_for_submission(application, key):
    """Take the draft for this submission with a conditional update, which also locks its row until commit.

    Of two concurrent submits, the second waits for the first and then finds the application submitted.
    """
    result = db.session.execute(
        update(Application)
        .where(Application.id == application.id, Application.state == State.draft)
        .values(submission_key=key, version=Application.version + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def submit_application(application, user, *, submission_key, snapshot, problems, at=None):
    """Submit a complete draft while the round is open. Idempotent for the same ``submission_key``.

    ``problems`` is the list of completeness problems found by the caller (the form layer); ``snapshot`` is the
    application as it reads now, kept unchangeable with the submission.
    """
    at = at or now_utc()
    if application.state != State.draft:
        if application.submission_key == submission_key:
            return application  # the same request again: already done
        raise InvalidTransition("already_submitted")
    if not permissions.is_lead_staff(application, user):
        raise NotPermitted("not_permitted")
    if not application.round.is_open(at):
        raise DeadlinePassed("deadline_passed")
    if problems:
        raise ValidationFailed("incomplete", problems=problems)
    if workflow.target(Action.submit, application.state, workflow.MUNICIPAL) is None:
        raise InvalidTransition("not_allowed")
    if not _claim_for_submission(application, submission_key):
        db.session.refresh(application)
        if application.submission_key == submission_key:
            return application
        raise InvalidTransition("already_submitted")
    reference = next_reference(application.round)
    db.session.refresh(application)
    application.reference = reference
    application.received_at = at
    application.submitted_by_id = user.id
    application.channel = "portal"
    application.snapshot = snapshot
    application.last_changed_by_id = user.id
    workflow.apply(application, Action.submit, user, workflow.MUNICIPAL, reference=reference)
    db.session.flush()
    queue_receipts(application, user)
    return application


def queue_receipts(application, submitter):
    """Receipt notices to the submitter and to the contact person, once each."""
    contact_email, contact_name = application.contact_email, application.contact_name
    context = {
        "reference": application.reference,
        "title": application.title,
        "round_title_nb": application.round.title_nb,
        "round_title_nn": application.round.title_nn,
        "round_title_en": application.round.title_en,
        "municipality_name": application.municipality.name,
        "organisation_number": application.municipality.organisation_number,
        "received_at": application.received_at.isoformat(),
        "application_id": application.id,
    }
    queue_notice("receipt", to=submitter.email, user=submitter, language=submitter.language, context=context,
                 key=f"receipt:{application.id}:{submitter.email}")
    if contact_email and contact_email != submitter.email.lower():
        queue_notice("receipt", to=contact_email, name=contact_name, language=submitter.language, context=context,
                     key=f"receipt:{application.id}:{contact_email}")


def withdraw_application(application, user, reason):
    """The kommune's staff (``user``) withdraw ``application`` (submitted or in review) with a reason (str).

    What hangs on the case follows: a decision proposed or approved but not yet released is cancelled, its amount
    no longer counts against the round's budget, and the caseworker and approver are told. Once a decision is
    released the application is decided and cannot be withdrawn (InvalidTransition "not_withdrawable").
    Raises NotPermitted for anyone but the lead kommune's staff, ValidationFailed without a reason."""
    if not permissions.can_withdraw(application, user):
        if application.state not in (State.submitted, State.in_review):
            raise InvalidTransition("not_withdrawable")
        raise NotPermitted("not_permitted")
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", field="reason")
    application.withdrawn_at = now_utc()
    application.withdraw_reason = reason.strip()
    application.last_changed_by_id = user.id
    # The decisions not yet released follow (grants.decisions.operations registers the follower).
    workflow.apply(application, Action.withdraw, user, workflow.MUNICIPAL, reason=reason.strip())
    db.session.flush()
    queue_notice(
        "withdrawn", to=user.email, user=user, language=user.language,
        key=f"withdrawn:{application.id}",
        context={"reference": application.reference, "title": application.title,
                 "municipality_name": application.municipality.name, "reason": reason.strip()},
    )
    return application
