"""The second factor's facts in the database (grants/accounts/mfa.py), on the ``app`` fixture's SQLite: the
enrolment, a code accepted once, a recovery code used once, the secret encrypted under the app's key."""

import time

import pyotp
import pytest

from grants.accounts import mfa
from grants.accounts import second_factor as rules
from grants.accounts.models import Role, TotpCredential
from grants.errors import ValidationFailed
from grants.extensions import db
from tests.factories import UserFactory


@pytest.fixture
def enrolled(app):
    user = UserFactory(role=Role.approver, second_factor=False)
    secret = rules.new_secret()
    now = time.time()
    codes = mfa.enrol(user, secret, pyotp.TOTP(secret).at(now - 30), now)  # the step before: now stays free
    db.session.commit()
    return user, secret, codes


def refusal(user, typed, now):
    with pytest.raises(ValidationFailed) as refused:
        mfa.verify(user, typed, now)
    db.session.rollback()
    return refused.value.message


def test_enrolment_needs_a_right_code_and_gives_ten_recovery_codes(app):
    user = UserFactory(role=Role.caseworker, second_factor=False)
    secret = rules.new_secret()
    with pytest.raises(ValidationFailed) as wrong:
        mfa.enrol(user, secret, "12345x", time.time())
    assert wrong.value.message == "code_wrong" and mfa.credential_of(user) is None
    codes = mfa.enrol(user, secret, pyotp.TOTP(secret).now(), time.time())
    assert len(codes) == 10 and mfa.remaining_recovery_codes(user) == 10
    newer = rules.new_secret()
    assert mfa.enrol(user, newer, pyotp.TOTP(newer).now(), time.time()) is None  # a new phone: the codes stay
    assert mfa.secret_of(user) == newer and mfa.remaining_recovery_codes(user) == 10


def test_a_code_is_accepted_once(enrolled):
    user, secret, _codes = enrolled
    now = time.time()
    code = pyotp.TOTP(secret).at(now)
    assert mfa.verify(user, code, now) == mfa.TOTP
    db.session.commit()
    assert refusal(user, code, now + 5) == "code_used"
    assert refusal(user, pyotp.TOTP(secret).at(now - 30), now) == "code_used"  # an earlier step too
    assert mfa.verify(user, pyotp.TOTP(secret).at(now + 30), now) == mfa.TOTP  # the next step is new


def test_a_code_from_a_wrong_clock_is_refused_as_such(enrolled):
    user, secret, _codes = enrolled
    now = time.time()
    assert refusal(user, pyotp.TOTP(secret).at(now + 90), now) == "code_clock"
    assert refusal(user, pyotp.TOTP(secret).at(now - 150), now) == "code_clock"


def test_a_recovery_code_works_once(enrolled):
    user, _secret, codes = enrolled
    assert mfa.verify(user, codes[0], time.time()) == mfa.RECOVERY
    db.session.commit()
    assert refusal(user, codes[0], time.time()) == "recovery_code_used"
    assert refusal(user, "zzzzz-zzzzz", time.time()) == "code_wrong"
    assert mfa.remaining_recovery_codes(user) == 9


def test_new_recovery_codes_end_the_old_ones(enrolled):
    user, _secret, old = enrolled
    new = mfa.regenerate_recovery_codes(user)
    db.session.commit()
    assert refusal(user, old[1], time.time()) == "code_wrong"
    assert mfa.verify(user, new[1], time.time()) == mfa.RECOVERY


def test_the_secret_is_encrypted_under_the_apps_key(app, enrolled):
    user, secret, _codes = enrolled
    stored = db.session.get(TotpCredential, user.id).secret_encrypted
    assert secret not in stored and mfa.decrypt(stored) == secret
    other = dict(app.config, MFA_ENCRYPTION_KEY="another key")
    assert mfa.decrypt(stored, other) is None


def test_a_reset_takes_the_second_factor_away(enrolled):
    user, secret, _codes = enrolled
    admin = UserFactory(role=Role.admin)
    mfa.reset(user, admin)
    db.session.commit()
    assert mfa.credential_of(user) is None and mfa.remaining_recovery_codes(user) == 0
    assert refusal(user, pyotp.TOTP(secret).now(), time.time()) == "not_enrolled"
