"""The audit log: who did what to which object, when, from which state to which."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.db import utcnow
from grants.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(60))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str | None]
    detail: Mapped[dict | None] = mapped_column(JSON)

    actor = relationship("User", lazy="joined")


def record(actor, obj, action, *, from_state=None, to_state=None, reason=None, **detail):
    """Add an audit entry for ``obj`` to the session (the caller commits)."""
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        object_type=obj.__tablename__,
        object_id=obj.id,
        action=action,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        detail=detail or None,
    )
    db.session.add(entry)
    return entry


def entries_for(obj):
    return db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == obj.__tablename__, AuditEntry.object_id == obj.id)
        .order_by(AuditEntry.at, AuditEntry.id)
    ).all()
