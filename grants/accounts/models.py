"""Counties, municipalities (kommuner) and users."""

import enum
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, CheckConstraint, Enum, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from grants.core.text import N_
from grants.db import TimestampMixin, utcnow
from grants.extensions import db


class WrittenStandard(enum.StrEnum):
    bokmal = "bokmal"
    nynorsk = "nynorsk"
    neutral = "neutral"


class Role(enum.StrEnum):
    municipal = "municipal"      # staff of one kommune
    reviewer = "reviewer"        # scores applications assigned to them
    caseworker = "caseworker"    # saksbehandler at IMDi
    approver = "approver"        # approves proposed decisions (four eyes)
    admin = "admin"              # runs rounds, approves kommune administrators, publishes

    @property
    def is_imdi(self):
        return self is not Role.municipal


# What each role is called where people read it (English msgids, translated where shown: grants.vocabulary).
ROLE_TITLES = {Role.municipal: N_("Municipal staff"), Role.reviewer: N_("Reviewer"), Role.caseworker: N_("Caseworker"),
               Role.approver: N_("Approver"), Role.admin: N_("Administrator")}


class UserStatus(enum.StrEnum):
    pending = "pending"      # registered, waiting for approval
    active = "active"
    rejected = "rejected"
    disabled = "disabled"


STATUS_TITLES = {UserStatus.pending: N_("Waiting for approval"), UserStatus.active: N_("Active"),
                 UserStatus.rejected: N_("Not approved"), UserStatus.disabled: N_("Disabled")}


def _enum(cls, name):
    return Enum(cls, name=name, native_enum=False, length=20, validate_strings=True)


class County(db.Model):
    __tablename__ = "counties"

    number: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))


class Municipality(db.Model):
    __tablename__ = "municipalities"
    __table_args__ = (
        CheckConstraint("length(number) = 4", name="number_four_digits"),
        CheckConstraint("substr(number, 1, 2) = county_number", name="number_in_county"),
        CheckConstraint("organisation_number IS NULL OR length(organisation_number) = 9",
                        name="organisation_number_nine_digits"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(4), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    sami_name: Mapped[str | None] = mapped_column(String(80))
    county_number: Mapped[str] = mapped_column(ForeignKey("counties.number"), index=True)
    written_standard: Mapped[WrittenStandard] = mapped_column(
        _enum(WrittenStandard, "written_standard"), default=WrittenStandard.neutral
    )
    # The kommune's number in Enhetsregisteret (9 digits, MOD11), which Ansattporten gives for the organisation a
    # person acts for. Recorded by IMDi's administrator until a register with the numbers is available.
    organisation_number: Mapped[str | None] = mapped_column(String(9), unique=True)

    county: Mapped[County] = relationship(lazy="joined")

    @property
    def display_name(self):
        return f"{self.name} ({self.sami_name})" if self.sami_name else self.name

    def __repr__(self):
        return f"<Municipality {self.number} {self.name}>"


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "(role = 'municipal') = (municipality_id IS NOT NULL)", name="municipal_staff_have_municipality"
        ),
        CheckConstraint("language IN ('nb', 'nn', 'en')", name="language_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(256))
    language: Mapped[str] = mapped_column(String(2), default="nb")
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    status: Mapped[UserStatus] = mapped_column(_enum(UserStatus, "user_status"), default=UserStatus.pending)
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipalities.id"), index=True)
    is_municipality_admin: Mapped[bool] = mapped_column(default=False)
    job_title: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(40))
    email_confirmed_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    password_changed_at: Mapped[datetime | None]

    municipality: Mapped[Municipality | None] = relationship(lazy="joined")
    approved_by = relationship("User", remote_side=[id])

    # Flask-Login keeps the id of a server-side UserSession in the cookie, never the user's primary key:
    # ending that row (logout, password change) makes every copy of the cookie worthless.
    session_token = None

    def get_id(self):
        return self.session_token

    @property
    def is_active(self):
        return self.status == UserStatus.active

    @property
    def is_imdi(self):
        return self.role.is_imdi

    def has_role(self, *roles):
        return self.role == Role.admin or self.role in roles

    def set_password(self, password):
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    def __repr__(self):
        return f"<User {self.email} {self.role}>"


def normalise_email(email):
    return (email or "").strip().lower()


def email_lookup(email):
    return func.lower(User.email) == normalise_email(email)


class UserSession(db.Model):
    """One login: the cookie holds its random id; logout and password changes delete rows."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: secrets.token_urlsafe(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class TotpCredential(db.Model):
    """A staff user's app for one-time codes (the second factor): the shared secret, encrypted with
    MFA_ENCRYPTION_KEY (grants.accounts.mfa), never shown again after enrolment; when it was enrolled; and the
    time step of the last code accepted, so that no code works twice."""

    __tablename__ = "totp_credentials"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret_encrypted: Mapped[str] = mapped_column(String(400))
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_step: Mapped[int | None] = mapped_column(BigInteger)

    user: Mapped[User] = relationship()


class RecoveryCode(db.Model):
    """One of a staff user's one-time recovery codes, kept as a hash; ``used_at`` is set when it is used, and a
    used code is refused with its own message."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
