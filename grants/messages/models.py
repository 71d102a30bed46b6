"""A message on a case."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.db import utcnow
from grants.extensions import db

MAX_BODY_CHARS = 5_000


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
