"""Use cases for accounts. They flush, never commit, and take the acting user as a parameter."""

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, delete, select

from grants.accounts.models import (
    Municipality,
    Role,
    User,
    UserSession,
    UserStatus,
    email_lookup,
    normalise_email,
)
from grants.accounts.passwords import password_problem
from grants.accounts.permissions import can_approve_user
from grants.core import audit
from grants.core.timeutil import now_utc
from grants.errors import NotPermitted, ValidationFailed
from grants.extensions import db
from grants.notify.outbox import queue_notice

RESET_MAX_AGE = 3600  # one hour
CONFIRM_MAX_AGE = 7 * 24 * 3600


def find_user_by_email(email):
    return db.session.scalar(select(User).where(email_lookup(email)))


def _check_password(password, email):
    problem = password_problem(password, email)
    if problem:
        raise ValidationFailed(problem, field="password")


def municipality_admins(municipality_id):
    return db.session.scalars(
        select(User).where(
            User.municipality_id == municipality_id,
            User.is_municipality_admin.is_(True),
            User.status == UserStatus.active,
        )
    ).all()


def register_municipal_user(*, email, name, password, municipality, language="nb", job_title=None, phone=None):
    """A person registers for a kommune. The first user waits for IMDi, later ones for the kommune's admin.

    Gives the new User, or None when the address already has a user: then that user is told by e-mail (in their
    language) that they have an account and how to log in or choose a new password, and the caller answers exactly
    as for a new registration, so the page tells nobody which addresses have accounts."""
    email = normalise_email(email)
    _check_password(password, email)
    existing = find_user_by_email(email)
    if existing is not None:
        User(password_hash="").set_password(password)  # the same work as creating the user
        queue_notice("account_exists", to=existing.email, user=existing, language=existing.language,
                     context={"reset_minutes": RESET_MAX_AGE // 60})
        return None
    user = User(
        email=email,
        name=name.strip(),
        role=Role.municipal,
        municipality_id=municipality.id,
        language=language,
        job_title=job_title,
        phone=phone,
        status=UserStatus.pending,
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(user, user, "register", to_state="pending")
    queue_confirmation(user)
    admins = municipality_admins(municipality.id)
    if not admins:
        admins = db.session.scalars(
            select(User).where(User.role == Role.admin, User.status == UserStatus.active)
        ).all()
    for admin in admins:
        queue_notice(
            "user_pending",
            to=admin.email,
            user=admin,
            language=admin.language,
            key=f"user_pending:{user.id}:{admin.id}",
            context={"candidate_name": user.name, "candidate_email": user.email,
                     "municipality_name": municipality.name, "first_user": admin.role == Role.admin},
        )
    return user


def create_staff_user(*, email, name, password, role, language="nb", actor=None):
    """An IMDi user (caseworker, reviewer, approver, administrator), active at once."""
    role = Role(role)
    if role == Role.municipal:
        raise ValidationFailed("not_staff_role", field="role")
    email = normalise_email(email)
    if find_user_by_email(email):
        raise ValidationFailed("email_taken", field="email")
    _check_password(password, email)
    user = User(email=email, name=name.strip(), role=role, language=language, status=UserStatus.active,
                approved_at=now_utc(), approved_by_id=getattr(actor, "id", None),
                email_confirmed_at=now_utc())
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, user, "create_staff_user", to_state="active", role=str(role))
    return user


def approve_user(candidate, actor):
    """Approve a pending kommune user; the kommune's first becomes its administrator."""
    if not can_approve_user(candidate, actor):
        raise NotPermitted("not_permitted")
    first = not municipality_admins(candidate.municipality_id)
    if first and actor.role != Role.admin:
        raise NotPermitted("first_user_needs_imdi")
    candidate.status = UserStatus.active
    candidate.is_municipality_admin = first
    candidate.approved_at = now_utc()
    candidate.approved_by_id = actor.id
    audit.record(actor, candidate, "approve", from_state="pending", to_state="active", municipality_admin=first)
    queue_notice(
        "user_approved", to=candidate.email, user=candidate, language=candidate.language,
        key=f"user_approved:{candidate.id}",
        context={"municipality_name": candidate.municipality.name, "municipality_admin": first},
    )
    return candidate


def reject_user(candidate, actor, reason=""):
    if not can_approve_user(candidate, actor):
        raise NotPermitted("not_permitted")
    candidate.status = UserStatus.rejected
    audit.record(actor, candidate, "reject", from_state="pending", to_state="rejected", reason=reason)
    queue_notice(
        "user_rejected", to=candidate.email, user=candidate, language=candidate.language,
        key=f"user_rejected:{candidate.id}", context={"reason": reason or ""},
    )
    return candidate


def authenticate(email, password):
    """The active user with this e-mail and password, or None. Same work whether the user exists or not."""
    user = find_user_by_email(email)
    if user is None:
        User(password_hash="").set_password(password)  # spend the same time as a real check
        return None
    if not user.check_password(password):
        return None
    return user


def start_session(user):
    """Called at login: a new server-side session whose random id goes in the cookie."""
    session = UserSession(user_id=user.id)
    db.session.add(session)
    db.session.flush()
    user.session_token = session.id
    return session


def end_session(user):
    """Called at logout: this session's id stops working, in every copy of the cookie."""
    if user.session_token:
        db.session.execute(delete(UserSession).where(UserSession.id == user.session_token))


def end_other_sessions(user):
    """After a password change or reset: every session but the current one ends."""
    query = delete(UserSession).where(UserSession.user_id == user.id)
    if user.session_token:
        query = query.where(UserSession.id != user.session_token)
    db.session.execute(query)


# Built once: the statement of every logged-in request. Only the User (and, as its mapping asks, its kommune) is
# loaded; the session row is a condition, so that a deleted row (logout, password change) still ends the session.
_USER_OF_SESSION = select(User).where(
    User.id == select(UserSession.user_id).where(UserSession.id == bindparam("token")).scalar_subquery(),
    User.status == UserStatus.active,
)


def user_for_session(token):
    """The active user (User) of the live session whose id is ``token`` (str, the random id the cookie holds), or
    None when no such session exists (ended by logout or a password change) or its user is not active. The
    user's ``session_token`` is set to ``token``."""
    if not isinstance(token, str) or not token:
        return None
    user = db.session.scalar(_USER_OF_SESSION, {"token": token})
    if user is not None:
        user.session_token = token
    return user


def update_profile(user, *, name, language, job_title=None, phone=None):
    user.name = name.strip()
    user.language = language
    user.job_title = job_title
    user.phone = phone
    return user


def change_password(user, current_password, new_password):
    if not user.check_password(current_password):
        raise ValidationFailed("wrong_password", field="current_password")
    _check_password(new_password, user.email)
    user.set_password(new_password)
    user.password_changed_at = now_utc()
    end_other_sessions(user)
    audit.record(user, user, "change_password")
    return user


def _serializer(salt):
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def reset_token(user):
    # The hash is part of the payload: once the password changes, the token is spent.
    return _serializer("password-reset").dumps({"id": user.id, "h": user.password_hash[-16:]})


def request_password_reset(email):
    """Queue a reset link if the address belongs to a user. Says nothing about whether it does."""
    user = find_user_by_email(email)
    if user is None or user.status in (UserStatus.rejected, UserStatus.disabled):
        return None
    token = reset_token(user)
    queue_notice(
        "password_reset", to=user.email, user=user, language=user.language,
        context={"token": token, "valid_minutes": RESET_MAX_AGE // 60},
    )
    return token


def user_for_reset_token(token):
    try:
        data = _serializer("password-reset").loads(token, max_age=RESET_MAX_AGE)
    except (SignatureExpired, BadSignature):
        return None
    user = db.session.get(User, data.get("id"))
    if user is None or user.password_hash[-16:] != data.get("h"):
        return None
    return user


def reset_password(token, new_password):
    user = user_for_reset_token(token)
    if user is None:
        raise ValidationFailed("token_invalid", field="password")
    _check_password(new_password, user.email)
    user.set_password(new_password)
    user.password_changed_at = now_utc()
    user.session_token = None
    end_other_sessions(user)
    audit.record(user, user, "reset_password")
    return user


def queue_confirmation(user):
    token = _serializer("confirm-email").dumps({"id": user.id, "e": user.email})
    queue_notice("confirm_email", to=user.email, user=user, language=user.language,
                 key=f"confirm_email:{user.id}:{user.email}", context={"token": token})
    return token


def confirm_email(token):
    try:
        data = _serializer("confirm-email").loads(token, max_age=CONFIRM_MAX_AGE)
    except (SignatureExpired, BadSignature):
        return None
    user = db.session.get(User, data.get("id"))
    if user is None or user.email != data.get("e"):
        return None
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now_utc()
        audit.record(user, user, "confirm_email")
    return user


def municipalities():
    return db.session.scalars(select(Municipality).order_by(Municipality.name)).all()


def queue_unlock_link(email, token, *, lock_minutes, valid_minutes):
    """After the failure that paused logging in with ``email`` (str): the user who has that address gets the link
    that lifts the pause (``token`` from grants.accounts.throttling.unlock_token), in their language. An address
    without a user, or a rejected or disabled user, gets nothing. Gives the notice id or None."""
    user = find_user_by_email(email)
    if user is None or user.status in (UserStatus.rejected, UserStatus.disabled):
        return None
    return queue_notice("account_locked", to=user.email, user=user, language=user.language,
                        context={"token": token, "lock_minutes": lock_minutes, "valid_minutes": valid_minutes})
