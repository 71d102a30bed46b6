"""The pages of the second factor (tofaktor) of IMDi's staff, on the accounts blueprint: the code after the
password, enrolment with a QR code, the security page (new phone, new recovery codes), the code asked for a
session that has had no check, and an administrator's reset of a colleague's second factor."""

import io
from urllib.parse import quote

import segno
from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from grants.accounts import mfa
from grants.accounts import mfa_session as state
from grants.accounts import second_factor as rules
from grants.accounts.forms import CodeForm, EnrolForm, ManageSecondFactorForm
from grants.accounts.models import Role, User
from grants.accounts.views import bp
from grants.core.urls import safe_next
from grants.errors import ValidationFailed
from grants.extensions import db
from grants.frame import acting_user, put_error

PENDING_SECRET_SECONDS = 15 * 60  # how long an enrolment page's secret stays the same (a reload shows it again)


@bp.before_app_request
def _confine_staff_without_second_factor():
    return state.confine()


def _landing(next_url):
    return safe_next(next_url, url_for("public.home"))


# --- the code after the password ---------------------------------------------------------------------------------

@bp.route("/kode", methods=["GET", "POST"])
def second_factor():
    """The step after a right password: the code from the app (or a recovery code). Nobody is logged in until
    it is right; the step lasts MFA_LOGIN_MINUTES."""
    user, next_url = state.pending_login()
    if user is None:
        flash(_("Log in again: the time to type the code ran out, or you have not typed your password."), "info")
        return redirect(url_for("accounts.login"))
    form = CodeForm()
    if form.validate_on_submit():
        kind, status, headers = state.check_typed_code(user, form)
        if kind is not None:
            state.complete_login(user, checked=True)
            if kind == mfa.RECOVERY:
                flash(state.recovery_notice(user), "info")
            return redirect(_landing(next_url))
        return render_template("accounts/second_factor.html", form=form), status, headers
    return render_template("accounts/second_factor.html", form=form), 422 if form.errors else 200


# --- enrolment -----------------------------------------------------------------------------------------------------

def _qr_svg(uri):
    """The otpauth URI as an inline SVG QR code (segno): no script, no style attribute (the CSP allows neither),
    a white quiet zone so that it reads in dark mode too, and a title for screen readers."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", xmldecl=False, svgns=True, scale=5, border=4,
                                    dark="#000", light="#fff", svgclass="qr-code", lineclass=None,
                                    title=_("QR code for your authenticator app"))
    svg = out.getvalue().decode("utf-8")
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704 - made by segno from our own URI


def _pending_secret():
    """The secret shown on the enrolment page: the same one until it is confirmed or PENDING_SECRET_SECONDS pass."""
    pending = session.get(state.ENROL)
    if isinstance(pending, dict) and state.now() - float(pending.get("at", 0)) < PENDING_SECRET_SECONDS:
        secret = mfa.decrypt(pending.get("s", ""))
        if secret:
            return secret
    secret = rules.new_secret()
    session[state.ENROL] = {"s": mfa.encrypt(secret), "at": state.now()}
    return secret


def _may_enrol(user):
    """A user may enrol when they must use a second factor and either have none yet, or typed a code on the
    security page in the last minutes (a new phone)."""
    if not mfa.is_required(user):
        return False
    if mfa.credential_of(user) is None:
        return True
    renew = session.get(state.RENEW)
    return renew is not None and 0 <= state.now() - float(renew) < state.RENEW_SECONDS


def _codes_page(codes, next_url=None):
    text = "\n".join([_("Recovery codes for IMDi tilskudd (%(email)s). Each code works once.",
                        email=current_user.email), "", *codes, ""])
    return render_template("accounts/recovery_codes.html", codes=codes, next_url=_landing(next_url),
                           download="data:text/plain;charset=utf-8," + quote(text))


@bp.route("/tofaktor/ny", methods=["GET", "POST"])
@login_required
def enrol():
    """Set up the app: a QR code and the secret as text, then the first code. At the first enrolment the recovery
    codes come next, shown once."""
    user = acting_user()
    if not _may_enrol(user):
        if mfa.is_required(user):
            flash(_("To set up a new phone, type a code first."), "info")
            return redirect(url_for("accounts.security"))
        abort(404)
    next_url = request.args.get("next")
    secret = _pending_secret()
    form = EnrolForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = mfa.enrol(user, secret, form.code.data, state.now())
        except ValidationFailed as error:
            db.session.rollback()
            put_error(form, error)
            status = 422
        else:
            db.session.commit()
            session.pop(state.ENROL, None)
            session.pop(state.RENEW, None)
            state.mark_checked()
            if codes is None:
                flash(_("Your new app is set up. Codes from the old one no longer work."), "success")
                return redirect(url_for("accounts.security"))
            return _codes_page(codes, next_url)
    elif form.errors:
        status = 422
    uri = rules.provisioning_uri(secret, user.email, current_app.config["MFA_ISSUER"])
    return render_template("accounts/enrol.html", form=form, qr=_qr_svg(uri), secret=rules.grouped(secret),
                           renewing=mfa.credential_of(user) is not None), status


# --- the security page -------------------------------------------------------------------------------------------

@bp.route("/tofaktor", methods=["GET", "POST"])
@login_required
def security():
    """A staff user's second factor: when it was set up, how many recovery codes are left; after a code, a new phone
    or new recovery codes."""
    user = acting_user()
    if not mfa.is_required(user):
        abort(404)
    form = ManageSecondFactorForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        action = request.form.get("action")
        if action not in ("renew", "codes"):
            abort(400)
        kind, status, headers = state.check_typed_code(user, form)
        if kind is not None:
            state.mark_checked()
            if action == "renew":
                session[state.RENEW] = state.now()
                session.pop(state.ENROL, None)
                return redirect(url_for("accounts.enrol"))
            codes = mfa.regenerate_recovery_codes(user)
            db.session.commit()
            return _codes_page(codes, url_for("accounts.security"))
    elif form.errors:
        status = 422
    return render_template("accounts/security.html", form=form, credential=mfa.credential_of(user),
                           remaining=mfa.remaining_recovery_codes(user)), status, headers


@bp.route("/bekreft-kode", methods=["GET", "POST"])
@login_required
def confirm_code():
    """A code for a session that has had no second-factor check (one from before the second factor was required),
    then on to ``next``."""
    user = acting_user()
    next_url = request.args.get("next")
    if not mfa.is_required(user) or mfa.credential_of(user) is None:
        return redirect(_landing(next_url))
    form = CodeForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        kind, status, headers = state.check_typed_code(user, form)
        if kind is not None:
            state.mark_checked()
            if kind == mfa.RECOVERY:
                flash(state.recovery_notice(user), "info")
            return redirect(_landing(next_url))
    elif form.errors:
        status = 422
    return render_template("accounts/confirm_code.html", form=form), status, headers


# --- an administrator's reset ------------------------------------------------------------------------------------

@bp.route("/brukere/<int:user_id>/tofaktor/nullstill", methods=["POST"])
@login_required
@state.fresh_second_factor
def reset_second_factor(user_id):
    """An administrator takes away a colleague's second factor (lost phone and recovery codes): the colleague sets
    it up again at their next login."""
    if current_user.role != Role.admin:
        abort(403)
    colleague = db.get_or_404(User, user_id)
    if colleague.role == Role.municipal or colleague.id == current_user.id:
        abort(403)
    mfa.reset(colleague, acting_user())
    db.session.commit()
    flash(_("The second factor of %(name)s is reset. They set it up again at their next login.",
            name=colleague.name), "success")
    return redirect(url_for("accounts.approvals"))
