"""A message on a case."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.db import StoredFileMixin, utcnow
from grants.extensions import db

MAX_BODY_CHARS = 5_000
MAX_FILES_PER_MESSAGE = 3  # documents attached to one message
MAX_SUPPLEMENTS = 10  # documents the kommune may send afterwards to one application


class CaseMessage(db.Model):
    """One message on an application: from the kommune or from IMDi (``from_imdi``), visible to both sides unless
    ``internal`` (IMDi's own note). A message from IMDi with ``answer_by`` (an Oslo date) asks the kommune for more
    information; the kommune's next message answers it."""

    __tablename__ = "case_messages"
    __table_args__ = (
        CheckConstraint(f"length(body) BETWEEN 1 AND {MAX_BODY_CHARS}", name="body_length"),
        # Only IMDi writes internal notes and asks for information, and a request is never internal.
        CheckConstraint("from_imdi OR NOT internal", name="internal_only_from_imdi"),
        CheckConstraint("answer_by IS NULL OR (from_imdi AND NOT internal)", name="request_from_imdi_to_kommune"),
        Index("ix_case_messages_application_created", "application_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    from_imdi: Mapped[bool]
    internal: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    answer_by: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author = relationship("User", lazy="joined")
    application = relationship("Application")
    # Loaded with the thread in one more statement, whatever the number of messages.
    attachments: Mapped[list["MessageAttachment"]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="MessageAttachment.id", lazy="selectin")


class MessageAttachment(StoredFileMixin, db.Model):
    """A document attached to a message (checked as an application's attachments are: type read from the content,
    the name's ending matching it, size), its file stored outside the static files (UPLOAD_DIR). Whoever may read
    the message may download it: never the kommune for an internal note."""

    __tablename__ = "message_attachments"
    __table_args__ = (CheckConstraint("size > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("case_messages.id", ondelete="CASCADE"), index=True)

    message = relationship(CaseMessage, back_populates="attachments")


class Supplement(db.Model):
    """A document the kommune added to its submitted application while IMDi's request for information
    (``request``) waited for an answer (ettersending). The document is one of the application's attachments, with
    the purpose grants.applications.models.SUPPLEMENT, its uploader and time; the application's submitted snapshot
    stays as it was."""

    __tablename__ = "supplements"

    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("case_messages.id", ondelete="CASCADE"), index=True)

    attachment = relationship("Attachment", lazy="joined")
    request = relationship(CaseMessage, lazy="joined")
