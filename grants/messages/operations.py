"""Writing a message on a case. Flushes and never commits; the notices go through the outbox."""

from sqlalchemy import select

from grants.accounts.models import Role, User, UserStatus
from grants.core import audit
from grants.core.timeutil import now_utc, oslo_date
from grants.errors import NotPermitted, ValidationFailed
from grants.extensions import db
from grants.messages import permissions
from grants.messages.models import MAX_BODY_CHARS, CaseMessage
from grants.notify.outbox import queue_notice


def thread(application, user):
    """The messages of ``application`` that ``user`` may read, oldest first: IMDi's internal notes only for IMDi."""
    query = select(CaseMessage).where(CaseMessage.application_id == application.id)
    if not permissions.sees_internal(user):
        query = query.where(CaseMessage.internal.is_(False))
    return db.session.scalars(query.order_by(CaseMessage.created_at, CaseMessage.id)).all()


def open_request(application):
    """IMDi's latest request for information that the kommune has not answered (no kommune message after it), or
    None."""
    request = db.session.scalar(select(CaseMessage).where(
        CaseMessage.application_id == application.id, CaseMessage.answer_by.is_not(None))
        .order_by(CaseMessage.id.desc()).limit(1))
    if request is None:
        return None
    answered = db.session.scalar(select(CaseMessage.id).where(
        CaseMessage.application_id == application.id, CaseMessage.from_imdi.is_(False),
        CaseMessage.id > request.id).limit(1))
    return None if answered is not None else request


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


def write(application, user, body, *, internal=False, answer_by=None):
    """``user`` writes ``body`` (str, 1 to 5,000 characters) on ``application``. IMDi's staff may make it an
    internal note (never shown to the kommune) or, as a caseworker, ask for information by ``answer_by`` (an Oslo
    date, not in the past). The other side is told by e-mail (not of an internal note). Returns the message.
    Raises NotPermitted, ValidationFailed ("message_required", "too_long_value", field "body";
    "answer_by_past" or "request_not_internal", field "answer_by")."""
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
    message = CaseMessage(application_id=application.id, author_id=user.id, from_imdi=from_imdi,
                          internal=bool(internal), body=body, answer_by=answer_by)
    db.session.add(message)
    db.session.flush()
    audit.record(user, application, "message", message_id=message.id, internal=bool(internal),
                 answer_by=answer_by.isoformat() if answer_by else None)
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
                                  "application_id": application.id})
    return message
