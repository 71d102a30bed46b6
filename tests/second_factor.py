"""The tests' side of the second factor: IMDi staff made by the factories have an authenticator app (a secret in
totp_credentials, as enrolment leaves it), and the login helpers type a real code of that app, computed with pyotp
from the user's secret, on the real code page (/konto/kode)."""

import re
import time

import pyotp

from grants.accounts import mfa
from grants.accounts import second_factor as rules
from grants.accounts.models import TotpCredential
from grants.extensions import db

CODE_PAGE = "/konto/kode"


def give_second_factor(user, secret=None):
    """Set up ``user``'s authenticator app with ``secret`` (a new random one by default) as enrolment would,
    without its audit entry or recovery codes; gives the secret."""
    secret = secret or pyotp.random_base32()
    credential = db.session.get(TotpCredential, user.id)
    if credential is None:
        credential = TotpCredential(user_id=user.id)
        db.session.add(credential)
    credential.secret_encrypted = mfa.encrypt(secret)
    credential.last_step = None
    db.session.flush()
    return secret


def app_code(user, now=None):
    """The code ``user``'s app shows, for a time step the server has not accepted yet: the step now, or the next
    one (the server takes one step either side). A test that logs the same person in more often than that within
    30 seconds has the server forget the last step it accepted, which stands for waiting for the next code: the
    replay rule itself is tested in tests/unit/test_second_factor.py and tests/web/test_second_factor.py."""
    credential = db.session.get(TotpCredential, user.id)
    db.session.refresh(credential)
    secret = mfa.decrypt(credential.secret_encrypted)
    step = rules.step_at(now if now is not None else time.time())
    if credential.last_step is not None and credential.last_step >= step:
        if credential.last_step + 1 <= step + rules.VALID_WINDOW:
            step = credential.last_step + 1
        else:
            credential.last_step = None
    # No transaction left open by the test's session: on SQLite every transaction holds the write lock (BEGIN
    # IMMEDIATE), which would keep a worker or the live server waiting.
    db.session.commit()
    return rules.code_for_step(secret, step)


def pass_second_factor(client, user, response, csrf=False):
    """After a password POST whose ``response`` sent ``user`` to the code page: type the app's code there (with
    ``csrf``, the CSRF token of the code page, as a browser sends it: the login began a new session). Gives the
    code page's answer (a redirect to where the login was going), or ``response`` when no code was asked."""
    if response.status_code != 302 or not response.headers["Location"].endswith(CODE_PAGE):
        return response
    data = {"code": app_code(user)}
    if csrf:
        page = client.get(CODE_PAGE).get_data(as_text=True)
        data["csrf_token"] = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    answer = client.post(CODE_PAGE, data=data)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return answer
