"""Login, logout, registration, profile, password, and approval of users."""

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select

from grants.accounts import mfa, mfa_session, oidc, oidc_ops, throttling
from grants.accounts import operations as ops
from grants.accounts.forms import (
    DecisionForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    RegisterForm,
    ResetForm,
    ResetRequestForm,
    StaffUserForm,
    UnlockForm,
)
from grants.accounts.models import Municipality, Role, TotpCredential, User, UserStatus
from grants.accounts.permissions import can_approve_user
from grants.accounts.throttle import LOCKED, WAIT
from grants.core.timeutil import now_utc, to_oslo
from grants.core.urls import safe_next
from grants.errors import ValidationFailed, message_for
from grants.extensions import db, login_manager
from grants.frame import put_error

bp = Blueprint("accounts", __name__, url_prefix="/konto")


@login_manager.user_loader
def load_user(token):
    return ops.user_for_session(token)


login_manager.login_view = "accounts.login"
login_manager.login_message = None
login_manager.session_protection = "strong"


def _paused_message(seconds):
    until = to_oslo(now_utc() + timedelta(seconds=seconds)).strftime("%H:%M")
    return _("After many failed attempts, logging in with this e-mail address is paused until %(time)s. If the "
             "address belongs to a user, we have sent it a link that lifts the pause at once.", time=until)


def _refused(template, form, messages, seconds, **context):
    """The form again, with what it had typed and the reason in the error summary: 429 with Retry-After."""
    form.form_errors.extend(messages)
    return render_template(template, form=form, **context), 429, {"Retry-After": str(max(1, int(seconds)))}


def _throttled_login(form, verdict):
    """A login attempt refused before its password was checked (the account waits or is paused)."""
    if verdict.state == LOCKED:
        messages = [_paused_message(verdict.seconds)]
    else:
        messages = [_("Too many failed attempts with this e-mail address."), throttling.wait_message(verdict.seconds)]
    return _refused("accounts/login.html", form, messages, verdict.seconds)


def _after_failure(email, verdict):
    """Messages after a wrong password: what holds for the next attempt. The failure that pauses the address
    sends its owner the unlock link (nothing for an address without a user: the answer is the same)."""
    if verdict.state == LOCKED:
        if verdict.newly_locked:
            ops.queue_unlock_link(email, throttling.unlock_token(email),
                                  lock_minutes=throttling.minutes(verdict.seconds),
                                  valid_minutes=throttling.unlock_link_seconds() // 60)
            db.session.commit()
        return [_paused_message(verdict.seconds)]
    if verdict.state == WAIT:
        return [throttling.wait_message(verdict.seconds)]
    return []


def _too_many_requests(seconds):
    minutes = throttling.minutes(seconds)
    return ngettext(
        "Too many requests for this e-mail address or from your network, so nothing was sent. Wait %(num)d "
        "minute and try again.",
        "Too many requests for this e-mail address or from your network, so nothing was sent. Wait %(num)d "
        "minutes and try again.", minutes)


def staff_required(*roles):
    if not current_user.is_authenticated:
        abort(401)
    if not current_user.has_role(*roles):
        abort(403)


@bp.route("/logg-inn", methods=["GET", "POST"])
def login():
    form = LoginForm(next=request.args.get("next"))
    if request.method == "POST":
        by_address = throttling.hit_login_address()
        if not by_address.allowed:
            return _refused("accounts/login.html", form, [throttling.network_message(by_address.seconds)],
                            by_address.seconds)
    if form.validate_on_submit():
        turn = throttling.begin_login(form.email.data)
        if not turn.allowed:
            return _throttled_login(form, turn)
        user = ops.authenticate(form.email.data, form.password.data)
        if user is not None and user.status == UserStatus.pending:
            throttling.login_succeeded(form.email.data)  # the right password: no failure to count
            # Nothing to correct: the password was right. Said as a notice, not in the error summary.
            return render_template("accounts/login.html", form=form, pending=True), 200
        if user is None or user.status != UserStatus.active:
            verdict = throttling.login_failed(form.email.data)
            form.form_errors.append(_("The e-mail address or password is wrong."))
            form.form_errors.extend(_after_failure(form.email.data, verdict))
            return render_template("accounts/login.html", form=form), 200
        if not oidc.password_login_allowed(current_app.config, user.role):  # PASSWORD_LOGIN_ROLES
            throttling.login_succeeded(form.email.data)
            form.form_errors.append(_("Users with your role log in with ID-porten or Ansattporten, not with a "
                                      "password."))
            return render_template("accounts/login.html", form=form), 403
        throttling.login_succeeded(form.email.data)
        next_url = safe_next(form.next.data, "")
        if mfa.is_required(user):
            if mfa.credential_of(user) is not None:
                # Not logged in yet: the code comes first (grants.accounts.mfa_session).
                mfa_session.start_pending(user, next_url)
                return redirect(url_for("accounts.second_factor"))
            # Logged in, but kept on the enrolment page until the second factor is set up.
            mfa_session.complete_login(user, checked=False)
            return redirect(url_for("accounts.enrol", next=next_url or None))
        mfa_session.complete_login(user, checked=False)
        return redirect(next_url or url_for("public.home"))
    return render_template("accounts/login.html", form=form)


@bp.route("/logg-ut", methods=["POST"])
def logout():
    signed_in = session.get("oidc")  # signed in with ID-porten or Ansattporten: end that session too
    lang = session.get("lang")
    if current_user.is_authenticated:
        lang = current_user.language  # the pages after logging out speak the language of the one who left
        ops.end_session(current_user._get_current_object())
        db.session.commit()
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    if request.form.get("idle"):  # the page logged out at the idle end (static/js/app.js)
        flash(_("You were logged out because you had been inactive for a while. Log in again to go on."), "info")
    else:
        flash(_("You are logged out."), "info")
    if request.form.get("kept"):  # the page saved its draft form first
        flash(_("What you had typed is saved as a draft."), "info")
    if signed_in:
        from grants.accounts.oidc_views import end_provider_session

        page = end_provider_session(signed_in)
        if page is not None:
            return page
    return redirect(url_for("public.index"))


@bp.route("/okt", methods=["POST"])
@login_required
def keep_session():
    """"Continue logged in" in the warning before the idle end (WCAG 2.2.1): the session starts its idle time
    again. Any request of a logged-in user does that (the session cookie is signed anew with the time); this one
    does nothing else, and answers 204 No Content. CSRF-protected like every POST; the absolute limit
    (SESSION_ABSOLUTE_HOURS) still holds."""
    session.modified = True
    return "", 204


@bp.route("/registrer", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    form.municipality.choices = [("", _("Choose a municipality"))] + [
        (m.number, f"{m.display_name} ({m.number})") for m in ops.municipalities()
    ]
    if form.validate_on_submit():
        verdict = throttling.hit_mail_request("register", form.email.data)
        if not verdict.allowed:
            return _refused("accounts/register.html", form, [_too_many_requests(verdict.seconds)], verdict.seconds)
        municipality = db.session.scalar(select(Municipality).where(Municipality.number == form.municipality.data))
        try:
            ops.register_municipal_user(
                email=form.email.data, name=form.name.data, password=form.password.data,
                municipality=municipality, language=form.language.data,
                job_title=form.job_title.data or None, phone=form.phone.data or None,
            )
        except ValidationFailed as error:
            db.session.rollback()
            put_error(form, error)
            return render_template("accounts/register.html", form=form), 422
        db.session.commit()
        return render_template("accounts/registered.html", municipality=municipality)
    status = 422 if form.errors else 200
    return render_template("accounts/register.html", form=form), status


@bp.route("/bekreft/<token>")
def confirm(token):
    user = ops.confirm_email(token)
    if user is None:
        flash(message_for("token_invalid"), "error")
        return redirect(url_for("public.index"))
    db.session.commit()
    flash(_("Thank you, your e-mail address is confirmed."), "success")
    return redirect(url_for("accounts.login"))


@bp.route("/profil", methods=["GET", "POST"])
@login_required
def profile():
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        ops.update_profile(user, name=form.name.data, language=form.language.data,
                           job_title=form.job_title.data or None, phone=form.phone.data or None)
        db.session.commit()
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=form, second_factor_required=mfa.is_required(user),
                           linked=oidc_ops.linked_providers(user), has_password=oidc_ops.has_password(user)), \
        422 if form.errors else 200


@bp.route("/passord", methods=["GET", "POST"])
@login_required
def password():
    user = current_user._get_current_object()
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            ops.change_password(user, form.current_password.data, form.password.data)
        except ValidationFailed as error:
            db.session.rollback()
            put_error(form, error)
            return render_template("accounts/password.html", form=form), 422
        db.session.commit()
        flash(_("Your password is changed. Other sessions are logged out."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/password.html", form=form), 422 if form.errors else 200


@bp.route("/glemt-passord", methods=["GET", "POST"])
def forgot_password():
    form = ResetRequestForm()
    if form.validate_on_submit():
        verdict = throttling.hit_mail_request("reset", form.email.data)
        if not verdict.allowed:
            return _refused("accounts/forgot.html", form, [_too_many_requests(verdict.seconds)], verdict.seconds)
        ops.request_password_reset(form.email.data)
        db.session.commit()
        return render_template("accounts/reset_sent.html")
    return render_template("accounts/forgot.html", form=form), 422 if form.errors else 200


@bp.route("/nytt-passord/<token>", methods=["GET", "POST"])
def reset_password(token):
    if ops.user_for_reset_token(token) is None:
        flash(message_for("token_invalid"), "error")
        return redirect(url_for("accounts.forgot_password"))
    form = ResetForm()
    if form.validate_on_submit():
        try:
            user = ops.reset_password(token, form.password.data)
        except ValidationFailed as error:
            db.session.rollback()
            put_error(form, error)
            return render_template("accounts/reset.html", form=form), 422
        db.session.commit()
        throttling.login_throttle().unlock(user.email)  # the owner proved it: a pause on the address ends too
        flash(_("Your password is changed. You can log in now."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form), 422 if form.errors else 200


@bp.route("/las-opp/<token>", methods=["GET", "POST"])
def unlock(token):
    """The link in the e-mail sent when logging in with an address was paused: a page with one button, which lifts
    the pause (once; the link is signed and lives UNLOCK_LINK_MINUTES)."""
    form = UnlockForm()
    if form.validate_on_submit():
        if throttling.use_unlock_token(token) is None:
            flash(message_for("token_invalid"), "error")
            return redirect(url_for("accounts.login"))
        flash(_("Logging in with your e-mail address is open again. Log in now."), "success")
        return redirect(url_for("accounts.login"))
    if not throttling.unlock_token_valid(token):
        flash(message_for("token_invalid"), "error")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/unlock.html", form=form)


def _pending_for(user):
    query = select(User).where(User.status == UserStatus.pending).order_by(User.created_at)
    if user.role == Role.admin:
        return [u for u in db.session.scalars(query) if can_approve_user(u, user)]
    return db.session.scalars(query.where(User.municipality_id == user.municipality_id)).all()


@bp.route("/brukere")
@login_required
def approvals():
    staff_required("admin")
    pending = _pending_for(current_user)
    first_users = {u.id for u in pending if not ops.municipality_admins(u.municipality_id)} if pending else set()
    staff = db.session.scalars(select(User).where(User.role != Role.municipal).order_by(User.name)).all()
    enrolled = dict(db.session.execute(select(TotpCredential.user_id, TotpCredential.enrolled_at)).all())
    return render_template("accounts/approvals.html", pending=pending, first_users=first_users, staff=staff,
                           enrolled=enrolled, form=DecisionForm())


@bp.route("/kolleger")
@login_required
def colleagues():
    if current_user.role != Role.municipal or not current_user.is_municipality_admin:
        abort(403)
    pending = _pending_for(current_user)
    members = db.session.scalars(
        select(User).where(User.municipality_id == current_user.municipality_id, User.status == UserStatus.active)
        .order_by(User.name)
    ).all()
    return render_template("accounts/colleagues.html", pending=pending, members=members, form=DecisionForm())


@bp.route("/brukere/<int:user_id>/<any(godkjenn,avvis):verdict>", methods=["POST"])
@login_required
def decide_user(user_id, verdict):
    candidate = db.get_or_404(User, user_id)
    actor = current_user._get_current_object()
    if not can_approve_user(candidate, actor):
        abort(403)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    if verdict == "godkjenn":
        ops.approve_user(candidate, actor)
        flash(_("%(name)s is approved.", name=candidate.name), "success")
    else:
        ops.reject_user(candidate, actor, form.reason.data or "")
        flash(_("%(name)s is not approved.", name=candidate.name), "info")
    db.session.commit()
    return redirect(url_for("accounts.approvals" if actor.role == Role.admin else "accounts.colleagues"))


@bp.route("/brukere/ny", methods=["GET", "POST"])
@login_required
def new_staff_user():
    staff_required("admin")
    form = StaffUserForm()
    if form.validate_on_submit():
        try:
            ops.create_staff_user(email=form.email.data, name=form.name.data, password=form.password.data,
                                  role=form.role.data, language=form.language.data, actor=current_user)
        except ValidationFailed as error:
            db.session.rollback()
            put_error(form, error)
            return render_template("accounts/new_staff.html", form=form), 422
        db.session.commit()
        flash(_("The user is created."), "success")
        return redirect(url_for("accounts.approvals"))
    return render_template("accounts/new_staff.html", form=form), 422 if form.errors else 200
