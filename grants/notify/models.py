"""The outbox: one row per notice, written in the transaction of the change that causes it."""

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from grants.core.text import N_
from grants.db import utcnow
from grants.extensions import db


class NoticeState(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


# What each state of a notice is called on the outbox pages (English msgids, translated where shown).
NOTICE_STATE_TITLES = {NoticeState.pending: N_("Waiting"), NoticeState.sending: N_("Sending"),
                       NoticeState.sent: N_("Sent"), NoticeState.failed: N_("Failed")}


class Notice(db.Model):
    __tablename__ = "notices"
    __table_args__ = (
        CheckConstraint("state != 'sent' OR sent_at IS NOT NULL", name="sent_has_time"),
        CheckConstraint("state != 'sending' OR lease_until IS NOT NULL", name="sending_has_lease"),
        CheckConstraint("language IN ('nb', 'nn', 'en')", name="language_known"),
        Index("ix_notices_state_next_attempt", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The natural key (e.g. "reminder:round=3:municipality=12:days=7"): a schedule run twice adds nothing.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    recipient_email: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    language: Mapped[str] = mapped_column(String(2), default="nb")
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    attachments: Mapped[list | None] = mapped_column(JSON)
    state: Mapped[NoticeState] = mapped_column(
        Enum(NoticeState, name="notice_state", native_enum=False, length=10), default=NoticeState.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the notice may be sent next. NULL: held until what it waits for is ready (a decision notice until its
    # letter is made); outbox.release_held sets it.
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(300))
    body_text: Mapped[str | None] = mapped_column(Text)
