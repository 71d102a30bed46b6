"""Signing in with ID-porten and Ansattporten (OpenID Connect), invitations to a kommune, and the kommuner's
organisation numbers: pages on the accounts blueprint. The rules are in grants.accounts.oidc, the provider talk in
grants.accounts.oidc_client, the use cases in grants.accounts.oidc_ops."""

import logging
from datetime import UTC, datetime

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from grants.accounts import mfa, mfa_session, oidc, oidc_client, oidc_ops, throttling
from grants.accounts import operations as ops
from grants.accounts.models import Municipality, Role, UserStatus
from grants.accounts.oidc_client import SignInFailed
from grants.accounts.oidc_forms import CompleteForm, InviteForm, OrganisationNumberForm
from grants.accounts.oidc_ops import SignInRefused
from grants.accounts.views import bp
from grants.core.urls import safe_next
from grants.errors import ValidationFailed
from grants.extensions import db
from grants.frame import put_error
from grants.i18n import current_language

log = logging.getLogger(__name__)

PROVIDER = "<any(idporten,ansattporten):provider>"
FLOW, SIGNED_IN, PENDING, INVITED = "oidc_flow", "oidc", "oidc_pending", "oidc_invitation"


def _offered(provider):
    settings = oidc_client.settings(provider)
    if settings is None:
        abort(404)
    return settings


def password_login_offered():
    """Whether any role may log in with a password (the pages of failure link to the password login if so)."""
    return bool(oidc.password_roles(current_app.config))


# --- what the pages say -----------------------------------------------------------------------------------------

def _failure_text(reason, title):
    texts = {
        oidc_client.UNREACHABLE: _("%(provider)s cannot be reached right now, so you are not logged in. Try again "
                                   "in a few minutes.", provider=title),
        oidc_client.NONSENSE: _("%(provider)s gave an answer we could not use, so you are not logged in. Try again "
                                "later.", provider=title),
        oidc_client.STATE: _("This login did not start in this browser, or it has been used already. Start the "
                             "login again."),
        oidc_client.CANCELLED: _("The login at %(provider)s was cancelled or did not succeed.", provider=title),
        oidc_client.REFUSED: _("%(provider)s did not accept the login, perhaps because it had been used already. "
                               "Start the login again.", provider=title),
        oidc_client.TOKEN: _("The answer from %(provider)s could not be verified, so you are not logged in. Start "
                             "the login again.", provider=title),
        oidc_client.NO_SUBJECT: _("The answer from %(provider)s did not say who you are, so you are not logged in.",
                                  provider=title),
    }
    return texts[reason]


def _refusal_text(refusal, title):
    reason = refusal.reason
    texts = {
        "no_kommune": (_("You are not linked to a municipality yet"),
                       _("You logged in with %(provider)s, but no municipality has given you access to the grant "
                         "portal. Ask your municipality's administrator for an invitation, open the link in it and "
                         "log in with %(provider)s again.", provider=title)),
        "no_organisation": (_("No organisation chosen"),
                            _("%(provider)s did not say which organisation you act for. Log in again and choose "
                              "your municipality.", provider=title)),
        "not_kommune": (_("The organisation is not a municipality we know"),
                        _("The grant portal is for municipalities, and the organisation you chose is not one whose "
                          "organisation number IMDi has recorded. Log in again and choose your municipality, or ask "
                          "IMDi to record its organisation number.")),
        "pending": (_("Waiting for approval"), _("Your user account is waiting for approval.")),
        "inactive": (_("Your user account is not active"),
                     _("Your user account has not been approved or is disabled. Contact your municipality's "
                       "administrator or IMDi.")),
        "wrong_organisation": (_("You act for another organisation"),
                               _("In %(provider)s you did not choose the municipality your user belongs to. Log in "
                                 "again and choose it.", provider=title)),
        "invitation_invalid": (_("The invitation cannot be used"),
                               _("The invitation has been used already, has expired or does not exist. Ask your "
                                 "municipality's administrator for a new one.")),
        "email_taken": (_("The e-mail address has a user already"),
                        _("A user with the invitation's e-mail address exists already. Log in as that user, or ask "
                          "for an invitation to another address.")),
        "linked_elsewhere": (_("Linked to another user"),
                             _("This %(provider)s login is linked to another user of the grant portal.",
                               provider=title)),
    }
    return texts[reason]


REFUSAL_STATUS = {"pending": 200, "email_taken": 409, "linked_elsewhere": 409}


def _failure_page(provider, reason):
    title = oidc.PROVIDER_TITLES[provider]
    status = 502 if reason in (oidc_client.UNREACHABLE, oidc_client.NONSENSE) else 400
    return render_template("accounts/oidc_problem.html", heading=_("You are not logged in"),
                           message=_failure_text(reason, title), provider=provider, provider_title=title,
                           try_again=True, password_login=password_login_offered()), status


def _refusal_page(provider, refusal):
    title = oidc.PROVIDER_TITLES[provider]
    heading, message = _refusal_text(refusal, title)
    return render_template("accounts/oidc_problem.html", heading=heading, message=message, provider=provider,
                           provider_title=title, try_again=refusal.reason not in ("pending", "inactive"),
                           password_login=password_login_offered()), REFUSAL_STATUS.get(refusal.reason, 403)


# --- signing in -------------------------------------------------------------------------------------------------

@bp.route(f"/oidc/{PROVIDER}/logg-inn")
def oidc_start(provider):
    """Send the browser to the provider's login (a GET: a link, so that the redirect to another host is not a form
    submission, which the Content-Security-Policy's form-action would stop). With ?koble=1 a logged-in user links
    the provider's login to their own user instead."""
    _offered(provider)
    flow = {"provider": provider, "next": safe_next(request.args.get("next"), "")}
    if provider == oidc.IDPORTEN and session.get(INVITED):
        flow["invitation"] = session[INVITED]
    if request.args.get("koble") and current_user.is_authenticated:
        flow["link_user"] = current_user.id
    session[FLOW] = flow
    params = oidc_client.authorization_details_param(provider)
    params["ui_locales"] = current_language()  # "nb", "nn" or "en", as ID-porten names them
    try:
        return oidc_client.begin(provider, url_for("accounts.oidc_callback", provider=provider, _external=True),
                                 **params)
    except SignInFailed as failure:
        log.warning("sign-in with %s could not start: %s", provider, failure)
        session.pop(FLOW, None)
        return _failure_page(provider, failure.reason)


def _log_in(user, provider, id_token):
    """The same start of a session as the password login's (grants.accounts.mfa_session.complete_login), remembering
    the provider and its ID token for single logout."""
    mfa_session.complete_login(user, checked=False)
    session[SIGNED_IN] = {"provider": provider, "id_token": id_token}


@bp.route(f"/oidc/{PROVIDER}/svar")
def oidc_callback(provider):
    """Where the provider sends the browser back (a GET with code and state). Checks the answer (Authlib), then
    finds the user linked to the person, or makes one from an invitation (ID-porten) or a kommune's organisation
    number (Ansattporten). Every failure gives a page that says what happened; nothing is half made."""
    _offered(provider)
    flow = session.pop(FLOW, None) or {}
    by_address = throttling.hit_login_address()  # a sign-in counts against LOGIN_LIMIT like a password attempt
    if not by_address.allowed:
        return render_template("accounts/oidc_problem.html", heading=_("You are not logged in"),
                               message=throttling.network_message(by_address.seconds),
                               provider=provider, provider_title=oidc.PROVIDER_TITLES[provider], try_again=False,
                               password_login=password_login_offered()), 429, {
                                   "Retry-After": str(max(1, int(by_address.seconds)))}
    try:
        claims, id_token = oidc_client.finish(provider)
    except SignInFailed as failure:
        log.warning("sign-in with %s failed: %s", provider, failure)
        return _failure_page(provider, failure.reason)
    if flow.get("provider") != provider:
        return _failure_page(provider, oidc_client.STATE)
    subject = oidc.subject_digest(oidc.subject_key(current_app.config), provider, oidc.subject_of(claims))
    organisations = oidc.organisation_numbers(claims) if provider == oidc.ANSATTPORTEN else None
    notice = None
    try:
        if flow.get("link_user"):
            return _link(provider, subject, id_token, flow)
        identity = oidc_ops.identity_for(provider, subject)
        if identity is not None:
            user = oidc_ops.user_for_identity(identity, organisations=organisations)
            invitation = oidc_ops.invitation_for_token(flow.get("invitation"))
            if invitation is not None:  # invited again, though the person has a user: say why nothing changed
                notice = _("You already have a user for %(mine)s, and you are logged in with it. The invitation "
                           "to %(other)s was not used: a person has one user in this service.",
                           mine=user.municipality.name if user.municipality else "IMDi",
                           other=invitation.municipality.name)
        elif provider == oidc.IDPORTEN:
            if not flow.get("invitation"):
                raise SignInRefused("no_kommune")
            user = oidc_ops.accept_invitation(flow["invitation"], provider, subject)
            session.pop(INVITED, None)
        else:
            if not organisations:
                raise SignInRefused("no_organisation")
            municipality = oidc_ops.municipality_for_organisations(organisations)
            if municipality is None:
                raise SignInRefused("not_kommune")
            session[PENDING] = {"provider": provider, "subject": subject, "municipality_id": municipality.id,
                                "at": datetime.now(UTC).timestamp(), "next": flow.get("next") or "",
                                "name": _text_claim(claims, "name"), "email": _text_claim(claims, "email")}
            return redirect(url_for("accounts.oidc_complete"))
    except SignInRefused as refusal:
        db.session.rollback()
        return _refusal_page(provider, refusal)
    if mfa.is_required(user) and mfa.credential_of(user) is not None:
        # IMDi staff type their code after a provider's sign-in too, as after a password: the same step, which
        # keeps the provider's ID token for single logout until the code is right (grants.accounts.mfa_session).
        mfa_session.start_pending(user, safe_next(flow.get("next"), ""),
                                  carry={SIGNED_IN: {"provider": provider, "id_token": id_token}})
        return redirect(url_for("accounts.second_factor"))
    _log_in(user, provider, id_token)
    if notice:
        flash(notice, "info")
    return redirect(safe_next(flow.get("next"), url_for("public.home")))


def _text_claim(claims, name):
    value = claims.get(name)
    return value.strip()[:200] if isinstance(value, str) else ""


def _link(provider, subject, id_token, flow):
    if not current_user.is_authenticated or current_user.id != flow["link_user"]:
        return _failure_page(provider, oidc_client.STATE)
    oidc_ops.link_identity(current_user._get_current_object(), provider, subject)
    db.session.commit()
    session[SIGNED_IN] = {"provider": provider, "id_token": id_token}
    flash(_("You can now log in with %(provider)s.", provider=oidc.PROVIDER_TITLES[provider]), "success")
    return redirect(url_for("accounts.profile"))


@bp.route("/oidc/fullfor", methods=["GET", "POST"])
def oidc_complete():
    """The first Ansattporten sign-in of a person acting for a kommune: their name and e-mail address, then a
    pending user that the kommune's administrator approves. Until the form is sent nothing is stored but the
    session's note of who signed in (for OIDC_COMPLETE_MINUTES)."""
    pending = session.get(PENDING)
    limit = current_app.config.get("OIDC_COMPLETE_MINUTES", 15) * 60
    if not pending or datetime.now(UTC).timestamp() - pending.get("at", 0) > limit:
        session.pop(PENDING, None)
        flash(_("The login has expired. Start it again."), "error")
        return redirect(url_for("accounts.login"))
    municipality = db.session.get(Municipality, pending["municipality_id"])
    form = CompleteForm(data={"name": pending.get("name"), "email": pending.get("email")}
                        if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            oidc_ops.register_from_ansattporten(
                provider=pending["provider"], subject=pending["subject"], municipality=municipality,
                email=form.email.data, name=form.name.data, language=form.language.data)
        except ValidationFailed as error:
            db.session.rollback()
            put_error(form, error)
            return render_template("accounts/oidc_complete.html", form=form, municipality=municipality), 422
        except SignInRefused as refusal:
            db.session.rollback()
            session.pop(PENDING, None)
            return _refusal_page(pending["provider"], refusal)
        db.session.commit()
        session.pop(PENDING, None)
        return render_template("accounts/registered.html", municipality=municipality)
    status = 422 if form.errors else 200
    return render_template("accounts/oidc_complete.html", form=form, municipality=municipality), status


# --- single logout ----------------------------------------------------------------------------------------------

def end_provider_session(signed_in):
    """After the app's own logout (grants.accounts.views.logout): for a user who signed in with a provider, the
    page that takes the browser on to the provider's end-session endpoint (id_token_hint, post_logout_redirect_uri
    and state), or None when there is none to go to."""
    provider = (signed_in or {}).get("provider")
    if provider not in oidc.PROVIDERS or oidc_client.settings(provider) is None:
        return None
    url = oidc_client.logout_url(provider, signed_in.get("id_token"),
                                 url_for("accounts.oidc_logged_out", provider=provider, _external=True))
    if url is None:
        return None
    return render_template("accounts/oidc_logout.html", url=url, provider_title=oidc.PROVIDER_TITLES[provider])


@bp.route(f"/oidc/{PROVIDER}/logget-ut")
def oidc_logged_out(provider):
    """Where the provider's end-session endpoint sends the browser back."""
    _offered(provider)
    if oidc_client.check_logout(provider):
        flash(_("You are logged out of %(provider)s too.", provider=oidc.PROVIDER_TITLES[provider]), "info")
    return redirect(url_for("public.index"))


# --- invitations ------------------------------------------------------------------------------------------------

@bp.route("/invitasjon/<token>")
def invitation(token):
    """The page the invitation's link opens: who invites, to which kommune, and the button to log in with
    ID-porten. The token waits in the session for the sign-in."""
    found = oidc_ops.invitation_for_token(token)
    if found is None:
        return render_template("accounts/oidc_problem.html", heading=_("The invitation cannot be used"),
                               message=_("The invitation has been used already, has expired or does not exist. Ask "
                                         "your municipality's administrator for a new one."),
                               provider=None, try_again=False, password_login=password_login_offered()), 404
    session[INVITED] = token
    return render_template("accounts/invitation.html", invitation=found,
                           idporten=oidc_client.settings(oidc.IDPORTEN) is not None)


@bp.route("/invitasjoner", methods=["GET", "POST"])
@login_required
def invitations():
    """A kommune administrator's invitations: send one, and see those not used yet."""
    actor = current_user._get_current_object()
    if not oidc_ops.can_invite(actor):
        abort(403)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            oidc_ops.invite(actor, email=form.email.data, name=form.name.data, language=form.language.data,
                            days=current_app.config.get("INVITATION_DAYS", 14))
        except ValidationFailed as error:
            db.session.rollback()
            put_error(form, error)
        else:
            db.session.commit()
            flash(_("The invitation is sent to %(email)s.", email=form.email.data.strip().lower()), "success")
            return redirect(url_for("accounts.invitations"))
    return render_template("accounts/invitations.html", form=form,
                           invitations=oidc_ops.open_invitations(actor.municipality_id),
                           idporten=oidc_client.settings(oidc.IDPORTEN) is not None), 422 if form.errors else 200


# --- the kommuner's organisation numbers ------------------------------------------------------------------------

@bp.route("/organisasjonsnummer", methods=["GET", "POST"])
@login_required
def organisation_numbers():
    """IMDi's administrator records a kommune's organisation number (Ansattporten links people to the kommune by
    it), while no register with the numbers is available to the app."""
    if current_user.role != Role.admin or current_user.status != UserStatus.active:
        abort(403)
    municipalities = ops.municipalities()
    form = OrganisationNumberForm()
    form.municipality.choices = [("", _("Choose a municipality"))] + [
        (m.number, f"{m.display_name} ({m.number})") for m in municipalities]
    if form.validate_on_submit():
        municipality = db.session.scalar(select(Municipality).where(Municipality.number == form.municipality.data))
        try:
            oidc_ops.set_organisation_number(municipality, form.organisation_number.data or "", current_user)
        except ValidationFailed as error:
            db.session.rollback()
            put_error(form, error)
        else:
            db.session.commit()
            flash(_("The organisation number of %(municipality)s is saved.", municipality=municipality.name),
                  "success")
            return redirect(url_for("accounts.organisation_numbers"))
    recorded = [m for m in municipalities if m.organisation_number]
    return render_template("accounts/organisation_numbers.html", form=form, recorded=recorded,
                           missing=len(municipalities) - len(recorded)), 422 if form.errors else 200


@bp.app_template_global("sign_in_providers")
def sign_in_providers():
    """The configured providers (grants.accounts.oidc.ProviderSettings) for the login page's buttons."""
    return oidc.offered_providers(current_app.config)
