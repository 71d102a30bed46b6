"""Login, logout, registration, profile, password, and approval of users."""

from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

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
)
from grants.accounts.models import Municipality, Role, User, UserStatus
from grants.accounts.permissions import can_approve_user
from grants.core.urls import safe_next
from grants.errors import ValidationFailed, message_for
from grants.extensions import db, limiter, login_manager
from grants.frame import put_error

bp = Blueprint("accounts", __name__, url_prefix="/konto")


@login_manager.user_loader
def load_user(token):
    return ops.user_for_session(token)


login_manager.login_view = "accounts.login"
login_manager.login_message = None
login_manager.session_protection = "strong"


def _login_limit():
    return current_app.config["LOGIN_LIMIT"]


def _login_account_key():
    return "login:" + (request.form.get("email") or "").strip().lower()


def staff_required(*roles):
    if not current_user.is_authenticated:
        abort(401)
    if not current_user.has_role(*roles):
        abort(403)


@bp.route("/logg-inn", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_login_account_key)
def login():
    form = LoginForm(next=request.args.get("next"))
    if form.validate_on_submit():
        user = ops.authenticate(form.email.data, form.password.data)
        if user is None or user.status != UserStatus.active:
            if user is not None and user.status == UserStatus.pending:
                form.form_errors.append(_("Your user account is waiting for approval."))
            else:
                form.form_errors.append(_("The e-mail address or password is wrong."))
            return render_template("accounts/login.html", form=form), 200
        session.clear()  # a new session at login: nothing from before survives
        session.permanent = True  # clear() dropped it: the cookie must expire with the idle time from the start
        ops.start_session(user)
        db.session.commit()
        login_user(user)
        session["login_at"] = datetime.now(UTC).timestamp()
        return redirect(safe_next(form.next.data, url_for("public.home")))
    return render_template("accounts/login.html", form=form)


@bp.route("/logg-ut", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        ops.end_session(current_user._get_current_object())
        db.session.commit()
    logout_user()
    session.clear()
    if request.form.get("idle"):  # the page logged out at the idle end (static/js/app.js)
        flash(_("You were logged out because you had been inactive for a while. Log in again to go on."), "info")
    else:
        flash(_("You are logged out."), "info")
    if request.form.get("kept"):  # the page saved its draft form first
        flash(_("What you had typed is saved as a draft."), "info")
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
    return render_template("accounts/profile.html", form=form), 422 if form.errors else 200


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
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password():
    form = ResetRequestForm()
    if form.validate_on_submit():
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
            ops.reset_password(token, form.password.data)
        except ValidationFailed as error:
            db.session.rollback()
            put_error(form, error)
            return render_template("accounts/reset.html", form=form), 422
        db.session.commit()
        flash(_("Your password is changed. You can log in now."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form), 422 if form.errors else 200


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
    return render_template("accounts/approvals.html", pending=pending, first_users=first_users, staff=staff,
                           form=DecisionForm())


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
