"""Identities from OpenID Connect providers (ID-porten, Ansattporten) linked to users, and the invitations by which a
kommune's administrator lets a person link one."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.accounts.models import Municipality, User
from grants.db import utcnow
from grants.extensions import db


class ExternalIdentity(db.Model):
    """A person as a provider knows them, linked to one user. ``subject`` is an HMAC-SHA256 (hex) of the provider's
    identifier for the person under OIDC_SUBJECT_KEY (grants.accounts.oidc.subject_digest): the national identity
    number is never stored, and the digest cannot be turned back into it without the key."""

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("provider", "subject", name="one_link_per_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class Invitation(db.Model):
    """A kommune administrator's invitation of a person (by e-mail) to the kommune. The link carries a random token;
    only its SHA-256 is stored. Used once, before ``expires_at``."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(2), default="nb")
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    municipality: Mapped[Municipality] = relationship(lazy="joined")
    invited_by = relationship(User, foreign_keys=[invited_by_id])
