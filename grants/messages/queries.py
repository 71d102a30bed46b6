"""The read side of a case's messages: the thread a user may read, IMDi's open request for information, the
documents the kommune sent afterwards."""

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from grants.applications.models import Attachment
from grants.extensions import db
from grants.messages.models import CaseMessage, MessageAttachment, Supplement


def thread(application, *, internal):
    """The messages of ``application``, oldest first, each with its attachments (two statements); IMDi's internal
    notes only if ``internal``."""
    query = select(CaseMessage).where(CaseMessage.application_id == application.id)
    if not internal:
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


def message_attachment(application_id, attachment_id):
    """The document ``attachment_id`` of a message on application ``application_id``, with its message; or None."""
    return db.session.scalar(select(MessageAttachment).join(MessageAttachment.message).where(
        MessageAttachment.id == attachment_id, CaseMessage.application_id == application_id)
        .options(joinedload(MessageAttachment.message)))


def supplements(application):
    """The documents the kommune sent afterwards to ``application`` (Supplement, with its attachment, uploader and
    request), oldest first, in one statement."""
    return db.session.scalars(
        select(Supplement).join(Supplement.attachment).where(Attachment.application_id == application.id)
        .options(joinedload(Supplement.attachment).joinedload(Attachment.uploaded_by),
                 joinedload(Supplement.request))
        .order_by(Attachment.uploaded_at, Attachment.id)).unique().all()


def supplement_count(application):
    """How many documents the kommune has sent afterwards to ``application`` (one statement)."""
    return db.session.scalar(select(func.count()).select_from(Supplement).join(Supplement.attachment)
                             .where(Attachment.application_id == application.id))
