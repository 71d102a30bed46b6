"""The decisions' pages: approval by a second pair of eyes and release, for IMDi's approvers (under
/saksbehandling), and the decision as the kommune reads it, with its letter and the appeal (under /soknader).

Every view names its parts for grants.frame.act: load (404), permission (403), form, one operation, where to go."""

from io import BytesIO

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from grants.accounts.mfa_session import fresh_second_factor
from grants.accounts.permissions import can_work_on_round, is_approver
from grants.applications.views import load_application
from grants.decisions import letters, permissions, queries
from grants.decisions import operations as ops
from grants.decisions.forms import AppealForm
from grants.decisions.models import (
    APPEAL_STATE_TITLES,
    DECISION_STATE_TITLES,
    OUTCOME_TITLES,
    Decision,
    DecisionState,
)
from grants.errors import DomainError, error_message, message_for
from grants.extensions import db
from grants.frame import act, acting_user
from grants.i18n import title_in
from grants.rounds.models import Round

bp = Blueprint("decisions", __name__)



def _allow(allowed):
    if not allowed:
        abort(403)


def _round(round_id):
    _allow(can_work_on_round(current_user))
    return db.get_or_404(Round, round_id)


# --- approval and release (IMDi) -------------------------------------------------------------------------------

@bp.route("/saksbehandling/runder/<int:round_id>/godkjenning")
@login_required
def approvals(round_id):
    round_ = _round(round_id)
    _allow(is_approver(current_user))
    proposals = queries.proposals(round_.id)
    return render_template("decisions/approvals.html", round=round_, proposals=proposals,
                           approvable=permissions.approvable(proposals, acting_user()),
                           committed=ops.committed_amount(round_.id))


@bp.route("/saksbehandling/vedtak/<int:decision_id>/godkjenn", methods=["POST"])
@login_required
@fresh_second_factor
def approve(decision_id):
    _allow(is_approver(current_user))  # before loading: nobody else learns which decisions exist
    decision = db.get_or_404(Decision, decision_id)
    _allow(permissions.can_approve(decision, acting_user()))
    back = (url_for("review.case", application_id=decision.application_id) if request.form.get("back") == "case"
            else url_for("decisions.approvals", round_id=decision.round_id))
    # A grant that no longer fits the budget is said on the page the approver came from.
    return act(lambda: ops.approve_decision(decision, acting_user()), done=back, refused=back,
               success=_("The decision for %(reference)s is approved.", reference=decision.application.reference))


@bp.route("/saksbehandling/runder/<int:round_id>/godkjenning/alle", methods=["POST"])
@login_required
@fresh_second_factor
def approve_all(round_id):
    round_ = _round(round_id)
    _allow(is_approver(current_user))
    approved, refused = ops.approve_all(round_, acting_user())
    db.session.commit()
    flash(ngettext("%(num)d decision was approved.", "%(num)d decisions were approved.", len(approved)),
          "success")
    for decision, error in refused:
        flash(_("%(reference)s was not approved: %(reason)s", reference=decision.application.reference,
                reason=error_message(error)), "error")
    return redirect(url_for("decisions.approvals", round_id=round_.id))


@bp.route("/saksbehandling/runder/<int:round_id>/send-ut", methods=["GET", "POST"])
@login_required
@fresh_second_factor
def release(round_id):
    round_ = _round(round_id)
    _allow(permissions.can_release(current_user))
    if request.method == "GET":
        approved = [d for d in queries.proposals(round_.id) if d.state == DecisionState.approved]
        held = [(d, message_for(key)) for d in approved if (key := ops.release_blocker(d)) is not None]
        ready = [d for d in approved if all(d is not h for h, _reason in held)]
        return render_template("decisions/release.html", round=round_, approved=ready, held=held)
    released, held = ops.release_round(round_, acting_user())
    db.session.commit()
    flash(ngettext("%(num)d decision was sent.", "%(num)d decisions were sent.", len(released)), "success")
    if held:  # still approved: the release page lists each with what stands in its way
        flash(ngettext("%(num)d decision could not be sent; see why below.",
                       "%(num)d decisions could not be sent; see why below.", len(held)), "error")
        return redirect(url_for("decisions.release", round_id=round_.id))
    return redirect(url_for("decisions.approvals", round_id=round_.id))


# --- the decision as the kommune reads it ----------------------------------------------------------------------

def _kommune_page(application, released, form, can_appeal, status=200):
    # The letter is made by the worker just after the release; until it is there, it is made here for the page.
    letter_html = (released.letter_html or letters.render_letter_html(released)) if released is not None else None
    return render_template(
        "decisions/kommune_decision.html", application=application, decision=released, form=form,
        can_appeal=can_appeal, letter_html=letter_html,
        appeals=queries.appeals_for(application.id) if released is not None else [],
        appeal_deadline=ops.appeal_deadline(released) if released is not None else None,
    ), status


@bp.route("/soknader/<int:application_id>/vedtak", methods=["GET", "POST"])
@login_required
def kommune_decision(application_id):
    """The decision as the kommune reads it: only once released; before that, "Under consideration"."""
    application = load_application(application_id)
    released = queries.released_decision(application.id)
    can_appeal = released is not None and permissions.can_appeal(released, acting_user())
    form = AppealForm()
    if request.method == "GET":
        return _kommune_page(application, released, form, can_appeal)
    _allow(can_appeal)
    # Every refusal (the deadline passed a moment ago, appeals closed...) is shown under the text, which is kept.
    return act(lambda: ops.lodge_appeal(released, acting_user(), form.text.data), form=form, field="text",
               on_form=(DomainError,),
               again=lambda f: _kommune_page(application, released, f, can_appeal)[0],
               success=_("Your appeal is received. IMDi will consider it."),
               done=url_for("decisions.kommune_decision", application_id=application.id))


@bp.route("/soknader/<int:application_id>/vedtak/<int:decision_id>.pdf")
@login_required
def decision_pdf(application_id, decision_id):
    application = load_application(application_id)
    released = db.session.get(Decision, decision_id)
    if released is None or released.application_id != application.id or released.released_at is None:
        abort(404)
    return send_file(BytesIO(released.letter_pdf or letters.render_letter_pdf(released)), mimetype="application/pdf",
                     as_attachment=True, download_name=letters.attachment_filename(released), max_age=0)


# --- names in the user's language --------------------------------------------------------------------------------

@bp.app_template_global()
def decision_state_label(state):
    return title_in(DECISION_STATE_TITLES, state)


@bp.app_template_global()
def outcome_label(outcome):
    return title_in(OUTCOME_TITLES, outcome)


@bp.app_template_global()
def appeal_state_label(state):
    return title_in(APPEAL_STATE_TITLES, state)

