"""The throttles of grants.accounts.throttle bound to the app: settings from config.py, counters in Redis or memory
(one store per app, made at first use), the client address after ProxyFix, and the single-use unlock link.

Everything here is switched off with RATELIMIT_ENABLED=0 (the tests' default): then every check allows."""

import math
import secrets
import threading

from flask import current_app, request
from flask_babel import ngettext
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from grants.accounts.throttle import ALLOWED, LoginPolicy, LoginThrottle, RateLimit, counters_for

_EXTENSION = "grants_throttle"
_LOCK = threading.Lock()


def enabled():
    """True when the app's throttles count (RATELIMIT_ENABLED)."""
    return bool(current_app.config.get("RATELIMIT_ENABLED"))


def counters():
    """The app's counter store (made once per app, shared by its threads)."""
    store = current_app.extensions.get(_EXTENSION)
    if store is None:
        with _LOCK:
            store = current_app.extensions.get(_EXTENSION)
            if store is None:
                store = current_app.extensions[_EXTENSION] = counters_for(current_app.config)
    return store


def _prefix():
    return (current_app.config.get("RATELIMIT_KEY_PREFIX") or "") + "grants:"


def _secret():
    return current_app.config["SECRET_KEY"]


def login_policy(config=None):
    """The LoginPolicy of the app's settings (LOGIN_FREE_FAILURES, LOGIN_MAX_DELAY_SECONDS, LOGIN_LOCK_AFTER,
    LOGIN_LOCK_MINUTES, LOGIN_FAILURE_WINDOW_MINUTES)."""
    config = config or current_app.config
    return LoginPolicy(
        free_failures=int(config["LOGIN_FREE_FAILURES"]),
        max_delay=int(config["LOGIN_MAX_DELAY_SECONDS"]),
        lock_after=int(config["LOGIN_LOCK_AFTER"]),
        lock_seconds=int(config["LOGIN_LOCK_MINUTES"]) * 60,
        window_seconds=int(config["LOGIN_FAILURE_WINDOW_MINUTES"]) * 60,
    )


def login_throttle():
    """The per-account LoginThrottle of the app."""
    return LoginThrottle(counters(), login_policy(), prefix=_prefix(), secret=_secret())


def client_address():
    """The client's address: ``request.remote_addr``, which ProxyFix (PROXY_FIX=number of trusted proxies) has set
    from X-Forwarded-For. Without PROXY_FIX the header is the client's own word and is not read."""
    return request.remote_addr or "unknown"


def _rate_limit(setting, name):
    return RateLimit(counters(), current_app.config[setting], name, prefix=_prefix(), secret=_secret())


def hit_login_address():
    """Count a login attempt from the client's address against LOGIN_LIMIT (a Verdict)."""
    if not enabled():
        return ALLOWED
    return _rate_limit("LOGIN_LIMIT", "login-address").hit(client_address())


def hit_mail_request(form_name, email):
    """Count a registration or password reset request (``form_name`` "register" or "reset") for the typed
    ``email`` and the client's address against ACCOUNT_MAIL_LIMIT_PER_EMAIL and ACCOUNT_MAIL_LIMIT_PER_CLIENT.
    Gives the first refusal (LIMITED) or ALLOWED; both counts go up either way."""
    if not enabled():
        return ALLOWED
    by_email = _rate_limit("ACCOUNT_MAIL_LIMIT_PER_EMAIL", f"{form_name}-email").hit(email)
    by_client = _rate_limit("ACCOUNT_MAIL_LIMIT_PER_CLIENT", f"{form_name}-client").hit(client_address())
    refused = [v for v in (by_email, by_client) if not v.allowed]
    return max(refused, key=lambda v: v.seconds) if refused else ALLOWED


def begin_login(email):
    """Before a password is checked: ALLOWED (the account's turn is taken) or a Verdict to wait."""
    return login_throttle().begin(email) if enabled() else ALLOWED


def login_failed(email):
    """After a wrong password (or an unknown address): what holds for the next attempt (a Verdict)."""
    return login_throttle().failed(email) if enabled() else ALLOWED


def login_succeeded(email):
    if enabled():
        login_throttle().succeeded(email)


# --- codes of the second factor ----------------------------------------------------------------------------------
# Wrong codes (and used or out-of-time ones) are counted per account like wrong passwords, with the same policy,
# on a count of their own: a right password does not wipe out the wrong codes typed after it.

def code_throttle():
    """The per-account LoginThrottle of second-factor codes (the account is the user's id)."""
    return LoginThrottle(counters(), login_policy(), prefix=_prefix() + "code:", secret=_secret())


def begin_code(user):
    """Before a code of ``user`` is checked: ALLOWED (the account's turn is taken) or a Verdict to wait."""
    return code_throttle().begin(str(user.id)) if enabled() else ALLOWED


def code_failed(user):
    """After a code of ``user`` was refused: what holds for the next attempt (a Verdict)."""
    return code_throttle().failed(str(user.id)) if enabled() else ALLOWED


def code_succeeded(user):
    if enabled():
        code_throttle().succeeded(str(user.id))


# --- the unlock link --------------------------------------------------------------------------------------------

def _serializer():
    return URLSafeTimedSerializer(_secret(), salt="unlock-account")


def unlock_link_seconds():
    return int(current_app.config["UNLOCK_LINK_MINUTES"]) * 60


def unlock_token(email):
    """A signed token that lifts the pause on ``email`` once, within UNLOCK_LINK_MINUTES."""
    return _serializer().dumps({"e": (email or "").strip().lower(), "n": secrets.token_urlsafe(12)})


def _load(token):
    try:
        data = _serializer().loads(token, max_age=unlock_link_seconds())
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict) or not data.get("e") or not data.get("n"):
        return None
    return data


def unlock_token_valid(token):
    """True if ``token`` is signed, in time and not used yet (does not use it)."""
    data = _load(token)
    return data is not None and counters().get(f"{_prefix()}throttle:unlock-used:{data['n']}") == 0


def use_unlock_token(token):
    """Lift the pause named by ``token``: gives the e-mail address it was for, or None if the token is forged,
    too old or already used. Single use: the token's random part is counted atomically, and only the first
    counts."""
    data = _load(token)
    if data is None:
        return None
    if counters().incr(f"{_prefix()}throttle:unlock-used:{data['n']}", unlock_link_seconds()) != 1:
        return None
    LoginThrottle(counters(), login_policy(), prefix=_prefix(), secret=_secret()).unlock(data["e"])
    return data["e"]


# --- what a refused person is told (the login, the code and the provider's sign-in say the same) ----------------

def minutes(seconds):
    """Whole minutes (at least 1) of a wait of ``seconds``, rounded up."""
    return max(1, math.ceil(seconds / 60))


def wait_message(seconds):
    """"Wait N seconds before you try again." in the request's language."""
    return ngettext("Wait %(num)d second before you try again.", "Wait %(num)d seconds before you try again.",
                    seconds)


def network_message(seconds):
    """The refusal of a login from an address over LOGIN_LIMIT, with the minutes to wait (``seconds`` rounded up)."""
    return ngettext("Too many login attempts from your network. Wait %(num)d minute and try again.",
                    "Too many login attempts from your network. Wait %(num)d minutes and try again.",
                    minutes(seconds))
