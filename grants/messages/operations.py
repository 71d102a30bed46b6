"""Writing a message on a case, with its documents; the kommune sending documents afterwards while IMDi's request
for information is open. Flushes and never commits; the notices go through the outbox."""


from sqlalchemy import select

from grants.accounts.models import Role, User, UserStatus
from grants.applications import attachments as files
from grants.applications.models import SUPPLEMENT, Attachment
from grants.core import audit
from grants.core.timeutil import now_utc, oslo_date
from grants.errors import NotPermitted, ValidationFailed
from grants.extensions import db
from grants.messages import permissions, queries
from grants.messages.models import (
    MAX_BODY_CHARS,
    MAX_FILES_PER_MESSAGE,
    MAX_SUPPLEMENTS,
    CaseMessage,
    MessageAttachment,
    Supplement,
)
from grants.notify.outbox import queue_notice


def thread(application, user):
    """The messages of ``application`` that ``user`` may read, oldest first, with their documents: IMDi's internal
    notes only for IMDi."""
    return queries.thread(application, internal=permissions.sees_internal(user))


open_request = queries.open_request


def _checked(uploads, field):
    """``uploads`` ((filename, bytes), ...) checked one by one as an application's attachments are: [(kind, name,
    bytes)]. The first refused file raises ValidationFailed("file_refused", field ``field``, name, reason: the
    key of grants.applications.attachments' refusal), so nothing is written."""
    checked = []
    for filename, content in uploads:
        name = files.clean_filename(filename)
        try:
            kind = files.check_file(filename, content)
        except ValidationFailed as error:
            raise ValidationFailed("file_refused", field=field, name=name, reason=error.message) from error
        checked.append((kind, name, content))
    return checked


def _kommune_recipients(application):
    """Who in the kommune hears of IMDi's message: the person who submitted, else its active staff."""
    if application.submitted_by is not None and application.submitted_by.status == UserStatus.active:
        return [application.submitted_by]
    return db.session.scalars(select(User).where(User.municipality_id == application.municipality_id,
                                                 User.role == Role.municipal, User.status == UserStatus.active)
                              .order_by(User.id)).all()


def _imdi_recipients(application):
    """Who at IMDi hears of the kommune's message: those who wrote to the kommune on this case, else every active
    caseworker."""
    writers = db.session.scalars(select(User).join(CaseMessage, CaseMessage.author_id == User.id).where(
        CaseMessage.application_id == application.id, CaseMessage.from_imdi.is_(True),
        User.status == UserStatus.active).distinct().order_by(User.id)).all()
    if writers:
        return writers
    return db.session.scalars(select(User).where(User.role == Role.caseworker, User.status == UserStatus.active)
                              .order_by(User.id)).all()


def write(application, user, body, *, internal=False, answer_by=None, uploads=()):
    """``user`` writes ``body`` (str, 1 to 5,000 characters) on ``application``, with ``uploads`` attached (at most
    MAX_FILES_PER_MESSAGE (filename, bytes) pairs; each checked as an application's attachments are). IMDi's staff
    may make it an internal note (never shown to the kommune) or, as a caseworker, ask for information by
    ``answer_by`` (an Oslo date, not in the past). The other side is told by e-mail (not of an internal note),
    with the number of documents attached (never the documents). Returns the message. Every file is checked
    before anything is written: a refused file leaves no message. Raises NotPermitted, ValidationFailed
    ("message_required", "too_long_value", field "body"; "answer_by_past" or "request_not_internal", field
    "answer_by"; "too_many_files" or "file_refused", field "files")."""
    if not permissions.can_write(application, user):
        raise NotPermitted("not_permitted")
    from_imdi = permissions.sees_internal(user)
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("message_required", field="body")
    if len(body) > MAX_BODY_CHARS:
        raise ValidationFailed("too_long_value", field="body")
    if (internal or answer_by) and not from_imdi:
        raise NotPermitted("not_permitted")
    if answer_by is not None:
        if not permissions.can_ask(application, user):
            raise NotPermitted("not_permitted")
        if internal:
            raise ValidationFailed("request_not_internal", field="answer_by")
        if answer_by < oslo_date(now_utc()):
            raise ValidationFailed("answer_by_past", field="answer_by")
    uploads = list(uploads)
    if len(uploads) > MAX_FILES_PER_MESSAGE:
        raise ValidationFailed("too_many_files", field="files", n=MAX_FILES_PER_MESSAGE)
    checked = _checked(uploads, "files")
    message = CaseMessage(application_id=application.id, author_id=user.id, from_imdi=from_imdi,
                          internal=bool(internal), body=body, answer_by=answer_by)
    for kind, name, content in checked:
        message.attachments.append(MessageAttachment(**files.stored(name, content, kind)))
    db.session.add(message)
    db.session.flush()
    audit.record(user, application, "message", message_id=message.id, internal=bool(internal),
                 answer_by=answer_by.isoformat() if answer_by else None,
                 attachments=[{"name": a.original_name, "size": a.size, "sha256": a.sha256}
                              for a in message.attachments])
    if not internal:
        recipients = _imdi_recipients(application) if not from_imdi else _kommune_recipients(application)
        for person in recipients:
            if person.id == user.id:
                continue
            queue_notice("case_message", to=person.email, user=person, language=person.language,
                         key=f"case_message:{message.id}:{person.id}",
                         context={"reference": application.reference, "title": application.title,
                                  "from_imdi": from_imdi, "author": user.name,
                                  "municipality_name": application.municipality.name,
                                  "answer_by": answer_by.isoformat() if answer_by else None,
                                  "attachments": len(checked), "application_id": application.id})
    return message


def add_supplement(application, user, filename, content):
    """The lead kommune's ``user`` adds a document (``filename``, ``content`` bytes) to its submitted
    ``application`` while IMDi's request for information is open (ettersending). It becomes one of the
    application's attachments with the purpose SUPPLEMENT, recorded as sent in answer to that request; the
    application as submitted (its snapshot) is not changed. Checked as an application's attachments are; at most
    MAX_SUPPLEMENTS to an application. Returns the Supplement. Raises NotPermitted ("not_permitted": not the lead
    kommune's staff; "no_open_request": IMDi is not asking for anything now), ValidationFailed ("file_refused",
    "too_many_supplements", field "file")."""
    if not permissions.can_supplement(application, user):
        raise NotPermitted("not_permitted")
    request = queries.open_request(application)
    if request is None:
        raise NotPermitted("no_open_request")
    if queries.supplement_count(application) >= MAX_SUPPLEMENTS:
        raise ValidationFailed("too_many_supplements", field="file", n=MAX_SUPPLEMENTS)
    [(kind, name, content)] = _checked([(filename, content)], "file")
    attachment = Attachment(application_id=application.id, purpose=SUPPLEMENT, uploaded_by_id=user.id,
                            **files.stored(name, content, kind))
    db.session.add(attachment)
    db.session.flush()
    supplement = Supplement(attachment_id=attachment.id, request_id=request.id)
    db.session.add(supplement)
    db.session.flush()
    audit.record(user, application, "add_supplement", name=name, size=attachment.size, sha256=attachment.sha256,
                 request_id=request.id)
    return supplement
