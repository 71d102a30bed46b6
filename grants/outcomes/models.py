"""Published allocation summaries: each publication is an immutable version."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.db import utcnow
from grants.extensions import db


class AllocationSummary(db.Model):
    __tablename__ = "allocation_summaries"
    __table_args__ = (
        UniqueConstraint("round_id", "version", name="uq_summary_round_version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("version = 1 OR note IS NOT NULL", name="correction_has_note"),
        CheckConstraint("unpublished_at IS NULL OR unpublish_reason IS NOT NULL", name="unpublish_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    version: Mapped[int]
    # The content as published (counts, amounts, grants): never changed after insert.
    data: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    unpublished_at: Mapped[datetime | None]
    unpublished_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unpublish_reason: Mapped[str | None] = mapped_column(Text)

    round = relationship("Round", lazy="joined")
    published_by = relationship("User", foreign_keys=[published_by_id])
