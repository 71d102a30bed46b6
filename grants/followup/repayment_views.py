"""The pages of repayment claims (krav om tilbakebetaling), on the follow-up's blueprint: IMDi proposes, approves,
withdraws and records repayments on its grant page (the section templates/followup/_claims.html), and lists the
overdue claims; the kommune reads its claims on its grant page (templates/followup/_kommune_claims.html) and their
letters, as a page and as PDF. Every change runs through grants.frame.act."""

from io import BytesIO

from flask import abort, g, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.accounts.mfa_session import fresh_second_factor
from grants.applications.views import load_application
from grants.core.timeutil import now_utc, oslo_date
from grants.extensions import db
from grants.followup import letters, permissions
from grants.followup import repayments as ops
from grants.followup.forms import ClaimForm, RepaymentForm
from grants.followup.models import CLAIM_STATE_TITLES, RepaymentClaim
from grants.followup.views import _imdi_grant_page, _staff_grant, bp
from grants.frame import act, acting_user
from grants.i18n import title_in
from grants.rounds.models import Round

# --- IMDi's grant page: the claims section --------------------------------------------------------------------


@bp.app_template_global()
def claims_section(grant):
    """What templates/followup/_claims.html shows on IMDi's grant page: the grant's claims (newest first), what
    can still be claimed back, and the forms the signed-in user may use. A form shown again with its errors (a
    refused POST) comes from ``g.claim_forms``."""
    user = acting_user()
    shown_again = g.get("claim_forms", {})
    claims = ops.claims_of(grant)
    rights = ops.rights_on(grant, user)
    return {
        "claims": claims,
        "claimable": ops.claimable(grant),
        "form": shown_again.get("claim") or (ClaimForm(formdata=None, prefix="claim") if rights.propose else None),
        "can_approve": {c.id for c in claims if c.awaits_approval and rights.may_approve(c)},
        "can_handle": rights.handle,
        "repayment_forms": {c.id: shown_again.get(c.id) or RepaymentForm(formdata=None, prefix=f"repaid-{c.id}")
                            for c in claims if c.is_collecting and rights.handle},
        "today": oslo_date(now_utc()),
    }


def _page_again(grant, forms):
    """IMDi's grant page again, with ``forms`` ({"claim": form} or {claim id: form}) showing their errors."""
    g.claim_forms = forms
    return _imdi_grant_page(grant)


def _back(grant_id):
    return url_for("followup.imdi_grant", grant_id=grant_id) + "#claims"


@bp.route("/saksbehandling/tilsagn/<int:grant_id>/tilbakebetalingskrav", methods=["POST"])
@login_required
def propose_claim(grant_id):
    grant = _staff_grant(grant_id)
    if not ops.can_propose_claim(grant, acting_user()):
        abort(403)
    form = ClaimForm(prefix="claim")
    return act(lambda: ops.propose_claim(grant, acting_user(), amount=form.amount.amount, reason=form.reason.data,
                                         due_on=form.due_on.data),
               form=form, again=lambda f: _page_again(grant, {"claim": f}), done=_back(grant.id),
               success=_("The repayment claim is proposed. Another person must approve it before it is sent."))


def _staff_claim(claim_id):
    if not permissions.can_follow_up(current_user):
        abort(403)
    return db.get_or_404(RepaymentClaim, claim_id)


@bp.route("/saksbehandling/tilbakebetalingskrav/<int:claim_id>/godkjenn", methods=["POST"])
@login_required
@fresh_second_factor
def approve_claim(claim_id):
    claim = _staff_claim(claim_id)
    if not ops.can_approve_claim(claim, acting_user()):
        abort(403)
    back = _back(claim.grant_id)
    return act(lambda: ops.approve_claim(claim, acting_user()), refused=back, done=back,
               success=_("The repayment claim is approved. The letter is sent to the municipality."))


@bp.route("/saksbehandling/tilbakebetalingskrav/<int:claim_id>/trekk", methods=["POST"])
@login_required
def withdraw_claim(claim_id):
    claim = _staff_claim(claim_id)
    if not ops.can_handle_claim(claim.grant, acting_user()):
        abort(403)
    back = _back(claim.grant_id)
    return act(lambda: ops.withdraw_claim(claim, acting_user()), refused=back, done=back,
               success=_("The repayment claim is withdrawn."))


@bp.route("/saksbehandling/tilbakebetalingskrav/<int:claim_id>/innbetalinger", methods=["POST"])
@login_required
def record_repayment(claim_id):
    claim = _staff_claim(claim_id)
    grant = claim.grant
    if not ops.can_handle_claim(grant, acting_user()):
        abort(403)
    form = RepaymentForm(prefix=f"repaid-{claim.id}")
    back = _back(grant.id)
    return act(lambda: ops.record_repayment(claim, acting_user(), amount=form.amount.amount,
                                            received_on=form.received_on.data),
               form=form, again=lambda f: _page_again(grant, {claim.id: f}), refused=back, done=back,
               success=lambda repayment: _("The repayment is recorded. The claim is repaid in full.")
               if repayment.claim.is_repaid else _("The repayment is recorded."))


# --- IMDi: the overdue claims -----------------------------------------------------------------------------------

@bp.route("/saksbehandling/tilbakebetalinger")
@login_required
def overdue_claims():
    """IMDi's list of the claims whose due date has passed and that are not wholly repaid, of one round
    (``?runde=<id>``) or of all."""
    if not permissions.can_follow_up(current_user):
        abort(403)
    round_id = request.args.get("runde", type=int)
    round_ = db.get_or_404(Round, round_id) if round_id is not None else None
    today = oslo_date(now_utc())
    rows = ops.overdue_claims(today, round_id=round_.id if round_ else None)
    return render_template("followup/overdue_claims.html", rows=rows, round=round_, today=today,
                           total=sum(claim.amount - received for claim, received in rows))


# --- the kommune's side: its claims and their letters -------------------------------------------------------------

@bp.app_template_global()
def kommune_claims(grant):
    """The claims of ``grant`` the kommune has been sent (approved, or repaid since), newest first."""
    return [claim for claim in ops.claims_of(grant) if claim.has_letter]


def _claim_with_letter(application_id, claim_id):
    """The claim for its letter: whoever may see the application (404 for another kommune); a proposal not yet
    approved only for IMDi's staff (a preview), 404 for the kommune."""
    application = load_application(application_id)
    claim = db.session.get(RepaymentClaim, claim_id)
    if claim is None or claim.grant.application_id != application.id:
        abort(404)
    if not claim.has_letter and not permissions.can_follow_up(current_user):
        abort(404)
    return application, claim


@bp.route("/soknader/<int:application_id>/tilbakebetaling/<int:claim_id>")
@login_required
def claim_letter(application_id, claim_id):
    """The claim letter as a page, with a link to the PDF."""
    application, claim = _claim_with_letter(application_id, claim_id)
    return render_template("followup/claim_letter.html", application=application, claim=claim,
                           letter_html=letters.render_letter_html(claim),
                           staff=permissions.can_follow_up(current_user))


@bp.route("/soknader/<int:application_id>/tilbakebetaling/<int:claim_id>.pdf")
@login_required
def claim_letter_pdf(application_id, claim_id):
    _application, claim = _claim_with_letter(application_id, claim_id)
    return send_file(BytesIO(letters.render_letter_pdf(claim)), mimetype="application/pdf", as_attachment=True,
                     download_name=letters.attachment_filename(claim), max_age=0)


# --- names in the user's language --------------------------------------------------------------------------------

@bp.app_template_global()
def claim_state_label(claim):
    """What a claim's state is called for people, in their language."""
    return title_in(CLAIM_STATE_TITLES, claim.state)

