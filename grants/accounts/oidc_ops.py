"""Use cases of signing in with ID-porten and Ansattporten: linked identities, invitations to a kommune, the first
Ansattporten sign-in, and the kommuner's organisation numbers. They flush, never commit; the acting user is a
parameter. The person's identifier arrives here already as its keyed digest (grants.accounts.oidc.subject_digest)."""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from grants.accounts import oidc
from grants.accounts.models import Municipality, Role, User, UserStatus, email_lookup, normalise_email
from grants.accounts.oidc_models import ExternalIdentity, Invitation
from grants.accounts.operations import municipality_admins, queue_confirmation
from grants.core import audit
from grants.core.timeutil import now_utc
from grants.errors import NotPermitted, ValidationFailed
from grants.extensions import db
from grants.notify.outbox import queue_notice

# A user who signs in only through a provider has no password: this never matches one (werkzeug's
# check_password_hash answers False for a value with no method). A password reset can still set one.
NO_PASSWORD = "!oidc"  # noqa: S105 - the mark of no password, not one


class SignInRefused(Exception):
    """The provider vouched for the person, but this app cannot let them in: ``reason`` names why (the page says
    it). Nothing has been created."""

    def __init__(self, reason, **detail):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def identity_for(provider, subject):
    """The ExternalIdentity of ``provider`` (str) with the subject digest ``subject`` (64 hex digits), or None."""
    return db.session.scalar(select(ExternalIdentity).where(ExternalIdentity.provider == provider,
                                                            ExternalIdentity.subject == subject))


def user_for_identity(identity, *, organisations=None):
    """The user a linked identity may log in as. ``organisations`` (list of organisation numbers from Ansattporten's
    token, or None for ID-porten): a kommune user from Ansattporten must still act for their kommune.

    Gives the active User, with the identity's last use recorded. Raises SignInRefused: "pending" (waits for
    approval), "inactive" (rejected or disabled), "wrong_organisation" (Ansattporten's token does not name the
    user's kommune)."""
    user = identity.user
    if user.status == UserStatus.pending:
        raise SignInRefused("pending")
    if user.status != UserStatus.active:
        raise SignInRefused("inactive")
    if organisations is not None and user.role == Role.municipal:
        number = user.municipality.organisation_number if user.municipality else None
        if number is None or number not in organisations:
            raise SignInRefused("wrong_organisation")
    identity.last_used_at = now_utc()
    return user


def link_identity(user, provider, subject):
    """Link the person behind ``subject`` at ``provider`` to ``user`` (who is signed in already and asked for it).
    Raises SignInRefused("linked_elsewhere") when that person is linked to another user; linking twice to the same
    user gives the existing link."""
    existing = identity_for(provider, subject)
    if existing is not None:
        if existing.user_id != user.id:
            raise SignInRefused("linked_elsewhere")
        return existing
    identity = ExternalIdentity(provider=provider, subject=subject, user_id=user.id, last_used_at=now_utc())
    db.session.add(identity)
    db.session.flush()
    audit.record(user, user, "link_identity", provider=provider)
    return identity


# --- invitations ------------------------------------------------------------------------------------------------

def can_invite(user):
    """A kommune's active administrator invites people to that kommune."""
    return (getattr(user, "is_authenticated", False) and user.role == Role.municipal and user.is_municipality_admin
            and user.status == UserStatus.active)


def invite(actor, *, email, name, language="nb", days=14):
    """The kommune administrator ``actor`` invites a person (``email``, ``name``, ``language`` of the e-mail) to
    their kommune. The person gets an e-mail with a link valid for ``days``; opening it and signing in with
    ID-porten makes them an active user of the kommune.

    Gives (Invitation, token): the token is in the link only; the database keeps its SHA-256. Raises NotPermitted
    when ``actor`` may not invite, ValidationFailed("email_taken", field="email") when a user has that address."""
    if not can_invite(actor):
        raise NotPermitted("not_permitted")
    email = normalise_email(email)
    if db.session.scalar(select(User.id).where(email_lookup(email))) is not None:
        raise ValidationFailed("email_taken", field="email")
    token = secrets.token_urlsafe(32)
    invitation = Invitation(token_digest=_digest(token), email=email, name=name.strip(), language=language,
                            municipality_id=actor.municipality_id, invited_by_id=actor.id,
                            expires_at=now_utc() + timedelta(days=days))
    db.session.add(invitation)
    db.session.flush()
    audit.record(actor, invitation, "invite", to_state="open", municipality=actor.municipality.number)
    queue_notice("invitation", to=email, name=invitation.name, language=language,
                 key=f"invitation:{invitation.id}",
                 context={"token": token, "municipality_name": actor.municipality.name, "inviter_name": actor.name,
                          "valid_days": days})
    return invitation, token


def invitation_for_token(token):
    """The open Invitation whose link holds ``token``: not used, not expired. None otherwise."""
    if not token or not isinstance(token, str) or len(token) > 200:
        return None
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_digest == _digest(token)))
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now_utc():
        return None
    return invitation


def open_invitations(municipality_id):
    """The kommune's invitations not used yet and not expired, newest first."""
    return db.session.scalars(
        select(Invitation).where(Invitation.municipality_id == municipality_id, Invitation.used_at.is_(None),
                                 Invitation.expires_at > now_utc()).order_by(Invitation.created_at.desc())
    ).all()


def accept_invitation(token, provider, subject):
    """The invited person has signed in with ID-porten (``provider``, ``subject`` digest, not linked to anyone yet)
    after opening the invitation link ``token``. Creates their user, active in the invitation's kommune (the
    kommune's administrator vouched for them by inviting them; the e-mail address is confirmed by the link that
    reached it), links the identity, and spends the invitation.

    Gives the new User. Raises SignInRefused("invitation_invalid") when the invitation is used, expired or unknown,
    ("email_taken") when a user has the address meanwhile, ("linked_elsewhere") when the person is linked already.
    Nothing is created when it raises."""
    invitation = invitation_for_token(token)
    if invitation is None:
        raise SignInRefused("invitation_invalid")
    if identity_for(provider, subject) is not None:
        raise SignInRefused("linked_elsewhere")
    if db.session.scalar(select(User.id).where(email_lookup(invitation.email))) is not None:
        raise SignInRefused("email_taken")
    now = now_utc()
    user = User(email=invitation.email, name=invitation.name, role=Role.municipal,
                municipality_id=invitation.municipality_id, language=invitation.language,
                status=UserStatus.active, approved_at=now, approved_by_id=invitation.invited_by_id,
                email_confirmed_at=now, password_hash=NO_PASSWORD)
    db.session.add(user)
    db.session.flush()
    db.session.add(ExternalIdentity(provider=provider, subject=subject, user_id=user.id, last_used_at=now))
    invitation.used_at = now
    invitation.user_id = user.id
    audit.record(user, user, "accept_invitation", to_state="active", provider=provider, invitation=invitation.id)
    audit.record(user, invitation, "accept_invitation", from_state="open", to_state="used")
    return user


# --- Ansattporten -----------------------------------------------------------------------------------------------

def municipality_for_organisations(numbers):
    """The kommune whose organisation number is the first of ``numbers`` (list of str) that belongs to one, or
    None."""
    if not numbers:
        return None
    found = {m.organisation_number: m for m in db.session.scalars(
        select(Municipality).where(Municipality.organisation_number.in_(list(numbers))))}
    for number in numbers:
        if number in found:
            return found[number]
    return None


def register_from_ansattporten(*, provider, subject, municipality, email, name, language="nb"):
    """The first Ansattporten sign-in of a person acting for ``municipality``, with the ``email`` and ``name`` they
    gave: a pending kommune user linked to the identity, approved like any registration (the kommune's
    administrators, or IMDi for a kommune's first user, are told by e-mail); the address gets a confirmation link.

    Gives the User. Raises ValidationFailed("email_taken", field="email") when a user has the address,
    SignInRefused("linked_elsewhere") when the identity is linked already (signed in twice at once)."""
    email = normalise_email(email)
    if identity_for(provider, subject) is not None:
        raise SignInRefused("linked_elsewhere")
    if db.session.scalar(select(User.id).where(email_lookup(email))) is not None:
        raise ValidationFailed("email_taken", field="email")
    user = User(email=email, name=name.strip(), role=Role.municipal, municipality_id=municipality.id,
                language=language, status=UserStatus.pending, password_hash=NO_PASSWORD)
    db.session.add(user)
    db.session.flush()
    db.session.add(ExternalIdentity(provider=provider, subject=subject, user_id=user.id, last_used_at=now_utc()))
    audit.record(user, user, "register", to_state="pending", provider=provider)
    queue_confirmation(user)
    admins = municipality_admins(municipality.id) or db.session.scalars(
        select(User).where(User.role == Role.admin, User.status == UserStatus.active)).all()
    for admin in admins:
        queue_notice("user_pending", to=admin.email, user=admin, language=admin.language,
                     key=f"user_pending:{user.id}:{admin.id}",
                     context={"candidate_name": user.name, "candidate_email": user.email,
                              "municipality_name": municipality.name, "first_user": admin.role == Role.admin})
    return user


# --- the kommuner's organisation numbers ------------------------------------------------------------------------

def set_organisation_number(municipality, number, actor):
    """IMDi's administrator ``actor`` records ``municipality``'s organisation number (``number``: 9 digits with a
    valid MOD11 check digit, spaces allowed; empty removes it). Raises NotPermitted for anyone else;
    ValidationFailed "organisation_number_invalid" or "organisation_number_taken" (another kommune has it), both on
    the field "organisation_number"."""
    if actor.role != Role.admin:
        raise NotPermitted("not_permitted")
    cleaned = None
    if number and number.strip():
        cleaned = oidc.valid_organisation_number(number)
        if cleaned is None:
            raise ValidationFailed("organisation_number_invalid", field="organisation_number")
        holder = db.session.scalar(select(Municipality).where(Municipality.organisation_number == cleaned,
                                                              Municipality.id != municipality.id))
        if holder is not None:
            raise ValidationFailed("organisation_number_taken", field="organisation_number",
                                   municipality=holder.name)
    previous = municipality.organisation_number
    municipality.organisation_number = cleaned
    db.session.flush()
    audit.record(actor, municipality, "set_organisation_number", previous=previous, number=cleaned)
    return municipality


def linked_providers(user):
    """The names of the providers ("idporten", "ansattporten") ``user`` (a User) can log in with already: the
    profile offers to link only the others."""
    return set(db.session.scalars(select(ExternalIdentity.provider).where(ExternalIdentity.user_id == user.id)))


def has_password(user):
    """False for a user who has only ever signed in through a provider (NO_PASSWORD): there is no password to
    change, and the profile says so instead of asking for the current one."""
    return bool(user.password_hash) and user.password_hash != NO_PASSWORD
