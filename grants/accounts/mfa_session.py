"""The second factor in the web session: the half-logged-in step between a right password and the code, the time
of the last check, the rule that keeps a staff user without a second factor on the enrolment page, and the guard
that asks for a fresh code before approving and publishing.

What the Flask session (signed cookie) holds:

* ``mfa_pending``: {"u": user id, "at": when the password was right, "next": where to go}. Nobody is logged in
  while it is there; it lasts MFA_LOGIN_MINUTES. Only the code page reads it.
* ``mfa_at``: when this session last passed a second-factor check (seconds since the epoch). A staff user who must
  use a second factor reaches nothing but the enrolment and code pages without it (``confine``).
* ``mfa_enrol``: the secret being enrolled, encrypted (the page shows it; the cookie does not).
* ``mfa_renew_at``: when a code allowed this session to replace the phone (the enrolment page, for a few minutes).
"""

import time
from datetime import timedelta
from functools import wraps

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user

from grants.accounts import mfa, throttling
from grants.accounts import operations as ops
from grants.accounts import second_factor as rules
from grants.accounts.forms import ConfirmActionForm
from grants.accounts.models import User, UserStatus
from grants.accounts.throttle import LOCKED
from grants.core.timeutil import now_utc, to_oslo
from grants.core.urls import safe_next
from grants.errors import ValidationFailed
from grants.extensions import db
from grants.frame import put_error

PENDING, CHECKED, ENROL, RENEW = "mfa_pending", "mfa_at", "mfa_enrol", "mfa_renew_at"
RENEW_SECONDS = 10 * 60  # how long a code typed on the security page allows enrolling a new phone
REPLAY_SKIP = {"csrf_token", "mfa_code", "mfa_back"}  # form fields the confirm page does not carry back

# What a staff user without a second factor (or without a check in this session) may reach: the pages that give
# them one, logging out, keeping the session alive, the language switch, and static files.
OPEN_ENDPOINTS = {
    "accounts.enrol", "accounts.confirm_code", "accounts.logout", "accounts.keep_session", "accounts.second_factor",
    "accounts.login", "public.set_language", "static",
}


def now():
    return time.time()


# --- logging in ---------------------------------------------------------------------------------------------------

def complete_login(user, *, checked):
    """Log ``user`` in: a new session (nothing from before survives but what the half-logged-in state carries, see
    ``start_pending``), a new server-side UserSession, the login time, and the time of the second-factor check when
    ``checked``. Commits."""
    pending = session.get(PENDING)
    carried = pending.get("carry") if isinstance(pending, dict) and pending.get("u") == user.id else None
    session.clear()
    session.permanent = True  # clear() dropped it: the cookie must expire with the idle time from the start
    ops.start_session(user)
    db.session.commit()
    login_user(user)
    session["login_at"] = now()
    if checked:
        session[CHECKED] = now()
    if isinstance(carried, dict):
        session.update(carried)


def start_pending(user, next_url, carry=None):
    """After a right password (or a sign-in through ID-porten or Ansattporten) of a user with a second factor: the
    half-logged-in state (nobody logged in). ``carry`` (a dict of session keys, e.g. the provider's ID token for
    single logout) is put into the session once the code is right."""
    lang = session.get("lang")  # the code page speaks the language chosen before the password
    session.clear()
    session.permanent = True
    if lang:
        session["lang"] = lang
    session[PENDING] = {"u": user.id, "at": now(), "next": next_url or "", **({"carry": carry} if carry else {})}


def pending_login():
    """(user, next) of the half-logged-in state, or (None, None) when there is none, it is older than
    MFA_LOGIN_MINUTES (it is then dropped), or its user can no longer log in."""
    state = session.get(PENDING)
    if not isinstance(state, dict):
        return None, None
    if now() - float(state.get("at", 0)) > int(current_app.config["MFA_LOGIN_MINUTES"]) * 60:
        session.pop(PENDING, None)
        return None, None
    user = db.session.get(User, state.get("u"))
    if user is None or user.status != UserStatus.active:
        session.pop(PENDING, None)
        return None, None
    return user, state.get("next") or ""


def mark_checked():
    session[CHECKED] = now()


def needs_fresh_check():
    """True when this session's last second-factor check is older than MFA_REAUTH_MINUTES (or there was none)."""
    return rules.needs_fresh_check(session.get(CHECKED), now(), int(current_app.config["MFA_REAUTH_MINUTES"]))


def must_use(user):
    """True when ``user`` (logged in) must use a second factor."""
    return getattr(user, "is_authenticated", False) and mfa.is_required(user)


# --- checking a typed code -----------------------------------------------------------------------------------------

def _paused_message(seconds):
    until = to_oslo(now_utc() + timedelta(seconds=seconds)).strftime("%H:%M")
    return _("After many wrong codes, codes for your account are refused until %(time)s. If you cannot wait, ask an "
             "administrator at IMDi for help.", time=until)


def _throttle_messages(verdict):
    if verdict.state == LOCKED:
        return [_paused_message(verdict.seconds)]
    return [_("Too many wrong codes."), throttling.wait_message(verdict.seconds)] if verdict.seconds else []


def check_typed_code(user, form, field_name="code"):
    """Check the form's field ``field_name`` for ``user`` through the per-account throttle (grants.accounts.throttling).

    Gives (kind, None, None) with kind mfa.TOTP or mfa.RECOVERY when it was right (the use is committed, so a
    later failure of the request cannot make the code usable again), or (None, status, headers) with the refusal
    put beside the field and in the form's error summary: 422 for a wrong, used or out-of-time code (counted as a
    failure), 429 with Retry-After while the account must wait."""
    turn = throttling.begin_code(user)
    if not turn.allowed:
        form.form_errors.extend(_throttle_messages(turn))
        return None, 429, {"Retry-After": str(max(1, int(turn.seconds)))}
    try:
        kind = mfa.verify(user, getattr(form, field_name).data or "", now())
    except ValidationFailed as error:
        db.session.rollback()
        if error.message == "not_enrolled":
            put_error(form, error, field_name)
            return None, 422, {}
        verdict = throttling.code_failed(user)
        put_error(form, error, field_name)
        form.form_errors.extend(_throttle_messages(verdict) if not verdict.allowed else [])
        return None, 422, {}
    db.session.commit()
    throttling.code_succeeded(user)
    return kind, None, None


def recovery_notice(user):
    """The message after a recovery code was used: how many are left, and what to do when few are."""
    left = mfa.remaining_recovery_codes(user)
    text = ngettext("You used a recovery code. You have %(num)d left.",
                    "You used a recovery code. You have %(num)d left.", left)
    if left <= 3:
        text += " " + _("Make new recovery codes on the page Second factor, and set up your app again if you have "
                        "lost your phone.")
    return text


# --- every request: no staff page without a second factor -------------------------------------------------------------

def confine():
    """Before every request: a logged-in user who must use a second factor reaches only OPEN_ENDPOINTS until
    they have one (the enrolment page) and have passed a check in this session (the code page). Gives a redirect,
    or None to go on."""
    if request.endpoint in OPEN_ENDPOINTS or request.endpoint is None or request.path.startswith("/static/"):
        return None
    if not current_user.is_authenticated or session.get(CHECKED) is not None:
        return None
    user = current_user._get_current_object()
    if not mfa.is_required(user):
        return None
    here = request.full_path.rstrip("?") if request.method == "GET" else ""
    if mfa.credential_of(user) is None:
        return redirect(url_for("accounts.enrol", next=here or None))
    return redirect(url_for("accounts.confirm_code", next=here or None))


# --- step-up before approving and publishing -------------------------------------------------------------------

def _replayed_fields():
    return [(key, value) for key, value in request.form.items(multi=True) if key not in REPLAY_SKIP]


def _back_url():
    """Where "Cancel" on the confirm page leads: the page the guarded form was on. Kept in the confirm page's own
    form (``mfa_back``) from its first showing, since after a wrong code the referrer is the guarded address
    itself, which answers POST only."""
    kept = request.form.get("mfa_back")
    if kept:
        return safe_next(kept, url_for("public.home"))
    referrer = request.referrer or ""
    root = request.host_url
    if referrer.startswith(root):
        return safe_next("/" + referrer[len(root):], url_for("public.home"))
    return url_for("public.home")


def fresh_second_factor(view):
    """A POST that approves or publishes: when this session's last second-factor check is older than
    MFA_REAUTH_MINUTES, the answer is a page that asks for a code and carries the form's own fields back (nothing
    is kept on the server; what was typed is not lost). That page posts to the same address with the code as
    ``mfa_code`` and the same CSRF protection; a right code marks the check fresh and the view runs on that very
    request. A wrong code shows the page again with the error. Users without a second factor pass through."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if request.method != "POST" or not must_use(current_user) or not needs_fresh_check():
            return view(*args, **kwargs)
        user = current_user._get_current_object()
        # The view's own form checks the CSRF token of this request; this one only reads the code.
        form = ConfirmActionForm(meta={"csrf": False})
        status, headers = 200, {}
        if "mfa_code" in request.form:
            if not form.validate():
                status = 422
            else:
                kind, status, headers = check_typed_code(user, form, "mfa_code")
                if kind is not None:
                    mark_checked()
                    if kind == mfa.RECOVERY:
                        flash(recovery_notice(user), "info")
                    return view(*args, **kwargs)
        return render_template("accounts/confirm_action.html", form=form, fields=_replayed_fields(),
                               action=request.path, back=_back_url()), status, headers

    return guarded
