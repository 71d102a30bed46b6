"""Use cases of the second factor (tofaktor) of IMDi's staff: enrolment, checking a code or a recovery code,
new recovery codes, a reset by an administrator. The rules are in grants.accounts.second_factor; this module keeps
their facts in the database. They flush, never commit, and take the acting user as a parameter.

The TOTP secret is kept encrypted (Fernet: AES-128-CBC with an HMAC) under a key derived from MFA_ENCRYPTION_KEY,
or from SECRET_KEY when that is not set: a copy of the database alone gives nobody the codes."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import delete, func, select, update

from grants.accounts import second_factor as rules
from grants.accounts.models import RecoveryCode, TotpCredential, UserSession
from grants.core import audit
from grants.core.timeutil import now_utc
from grants.errors import ValidationFailed
from grants.extensions import db

TOTP, RECOVERY = "totp", "recovery"


def _fernet(config=None):
    config = config or current_app.config
    material = config.get("MFA_ENCRYPTION_KEY") or config["SECRET_KEY"]
    key = hashlib.sha256(b"grants second factor|" + str(material).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret, config=None):
    """``secret`` (str) encrypted for the database or the session (str)."""
    return _fernet(config).encrypt(secret.encode()).decode("ascii")


def decrypt(token, config=None):
    """The secret of an ``encrypt``-ed token, or None when the token was not made with this app's key."""
    try:
        return _fernet(config).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def is_required(user, config=None):
    """True when ``user`` must use a second factor (their role is in MFA_REQUIRED_ROLES)."""
    config = config or current_app.config
    return rules.required_for(user.role, config["MFA_REQUIRED_ROLES"])


def credential_of(user):
    """The user's TotpCredential, or None when they have not enrolled."""
    return db.session.get(TotpCredential, user.id)


def secret_of(user):
    """The user's TOTP secret in clear (str), or None. For the demo's own accounts and the tests only: no page
    shows a secret after enrolment."""
    credential = credential_of(user)
    return decrypt(credential.secret_encrypted) if credential is not None else None


def remaining_recovery_codes(user):
    """How many of the user's recovery codes are still unused (int)."""
    return db.session.scalar(select(func.count()).select_from(RecoveryCode)
                             .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


def _refuse(check):
    """The ValidationFailed for a TOTP code that was not accepted (its message says what to do)."""
    key = {rules.REPLAYED: "code_used", rules.SKEWED: "code_clock"}.get(check.outcome, "code_wrong")
    return ValidationFailed(key, field="code")


def _new_codes(user):
    codes = rules.new_recovery_codes()
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=rules.hash_recovery_code(c)) for c in codes)
    return codes


def enrol(user, secret, typed, now):
    """Enrol ``user`` with ``secret`` once ``typed`` is a right code of it at ``now`` (seconds since the epoch):
    the first enrolment, or a new phone in place of the old one.

    Gives the list of new recovery codes (shown once) at the first enrolment, or None when the user already had a
    second factor (their recovery codes stay as they were). Raises ValidationFailed (field "code") when the code is
    wrong, or from a clock that is off. Writes the audit entry."""
    check = rules.check_code(secret, typed, now)
    if not check.accepted:
        raise _refuse(check)
    credential = credential_of(user)
    first = credential is None
    if first:
        credential = TotpCredential(user_id=user.id)
        db.session.add(credential)
    credential.secret_encrypted = encrypt(secret)
    credential.enrolled_at = now_utc()
    credential.last_step = check.step
    db.session.flush()
    if first:
        codes = _new_codes(user)
        audit.record(user, user, "enrol_second_factor", recovery_codes=len(codes))
        return codes
    audit.record(user, user, "replace_second_factor")
    return None


def verify(user, typed, now):
    """Check what ``user`` typed: a code from their app (six digits) or one of their recovery codes, at ``now``
    (seconds since the epoch). Gives TOTP or RECOVERY, the kind that was accepted; the code cannot be used again
    (the time step is remembered; the recovery code is marked used, with an audit entry).

    Raises ValidationFailed (field "code"): "code_wrong", "code_used" (the app's code of a step already used),
    "code_clock" (a code of a time more than a step away: the phone's clock), "recovery_code_used", or
    "not_enrolled" when the user has no second factor. Both acceptances are conditional updates, so two requests
    with the same code cannot both get in."""
    credential = credential_of(user)
    if credential is None:
        raise ValidationFailed("not_enrolled", field="code")
    if rules.looks_like_totp(typed):
        secret = decrypt(credential.secret_encrypted)
        if secret is None:  # the key changed since enrolment: no code can be right
            raise ValidationFailed("code_wrong", field="code")
        check = rules.check_code(secret, typed, now, credential.last_step)
        if not check.accepted:
            raise _refuse(check)
        taken = db.session.execute(
            update(TotpCredential)
            .where(TotpCredential.user_id == user.id,
                   (TotpCredential.last_step.is_(None)) | (TotpCredential.last_step < check.step))
            .values(last_step=check.step).execution_options(synchronize_session=False))
        if taken.rowcount != 1:
            raise ValidationFailed("code_used", field="code")
        db.session.expire(credential)
        return TOTP
    return _use_recovery_code(user, typed)


def _use_recovery_code(user, typed):
    if not rules.normalise_recovery_code(typed):
        raise ValidationFailed("code_wrong", field="code")
    row = db.session.scalar(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                       RecoveryCode.code_hash == rules.hash_recovery_code(typed)))
    if row is None:
        raise ValidationFailed("code_wrong", field="code")
    if row.used_at is not None:
        raise ValidationFailed("recovery_code_used", field="code")
    taken = db.session.execute(
        update(RecoveryCode).where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
        .values(used_at=now_utc()).execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise ValidationFailed("recovery_code_used", field="code")
    db.session.expire(row)
    audit.record(user, user, "use_recovery_code", remaining=remaining_recovery_codes(user))
    return RECOVERY


def regenerate_recovery_codes(user):
    """New recovery codes for ``user`` in place of all the old ones (used or not). Gives the codes (list of str),
    shown once. The caller has checked a code first. Writes the audit entry."""
    codes = _new_codes(user)
    db.session.flush()
    audit.record(user, user, "regenerate_recovery_codes", recovery_codes=len(codes))
    return codes


def reset(user, actor):
    """An administrator takes away ``user``'s second factor (a lost phone and lost recovery codes): the secret and
    the recovery codes are deleted and every session of the user ends, so their next login asks them to enrol
    again. Writes the audit entry with the administrator as actor."""
    db.session.execute(delete(TotpCredential).where(TotpCredential.user_id == user.id))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    audit.record(actor, user, "reset_second_factor")
    return user
