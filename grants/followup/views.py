"""The grant's pages: the kommune's answer to its grant (under /soknader) and IMDi's overview of a round's grants
(under /saksbehandling). Every view names its parts for grants.frame.act."""

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from grants.applications.views import load_application
from grants.core.timeutil import now_utc, oslo_date
from grants.extensions import db
from grants.followup import operations as ops
from grants.followup import permissions
from grants.followup.forms import AcceptForm, DeclineForm
from grants.followup.models import Grant
from grants.frame import act
from grants.rounds.models import Round

bp = Blueprint("followup", __name__)


def _user():
    return current_user._get_current_object()


def _grant_page(application, grant, accept_form, decline_form):
    return render_template("followup/grant.html", application=application, grant=grant, accept_form=accept_form,
                           decline_form=decline_form, can_answer=permissions.can_answer(grant, _user()),
                           late=grant.awaits_answer and oslo_date(now_utc()) > grant.answer_by)


@bp.route("/soknader/<int:application_id>/tilsagn", methods=["GET", "POST"])
@login_required
def grant(application_id):
    """The grant as the kommune reads it, with its answer: accept (and the account) or decline."""
    application = load_application(application_id)
    grant = ops.grant_of(application)
    if grant is None:
        abort(404)
    accept_form, decline_form = AcceptForm(prefix="accept"), DeclineForm(prefix="decline")
    if request.method == "GET":
        return _grant_page(application, grant, accept_form, decline_form)
    if not permissions.can_answer(grant, _user()):
        abort(403)
    here = url_for("followup.grant", application_id=application.id)
    if request.form.get("answer") == "decline":
        return act(lambda: ops.decline_grant(grant, _user(), decline_form.reason.data), form=decline_form,
                   again=lambda f: _grant_page(application, grant, AcceptForm(formdata=None, prefix="accept"), f),
                   success=_("The grant is declined. IMDi is told."), done=here)
    return act(lambda: ops.accept_grant(grant, _user(), account=accept_form.account.data,
                                        confirms_conditions=accept_form.confirms_conditions.data),
               form=accept_form, field="account",
               again=lambda f: _grant_page(application, grant, f, DeclineForm(formdata=None, prefix="decline")),
               success=_("The grant is accepted. A receipt is sent to you by e-mail."), done=here)


@bp.route("/saksbehandling/runder/<int:round_id>/tilsagn")
@login_required
def round_grants(round_id):
    """IMDi's overview of a round's grants: each with its amount, the kommune's answer and when it is due."""
    if not permissions.can_follow_up(current_user):
        abort(403)
    round_ = db.get_or_404(Round, round_id)
    grants = db.session.scalars(select(Grant).where(Grant.round_id == round_.id).order_by(Grant.id)).all()
    today = oslo_date(now_utc())
    return render_template("followup/round_grants.html", round=round_, grants=grants, today=today,
                           totals={"offered": sum(g.amount for g in grants if g.awaits_answer),
                                   "accepted": sum(g.amount for g in grants if g.is_accepted),
                                   "declined": sum(g.amount for g in grants if g.is_declined)})


@bp.app_template_global()
def grant_state_label(grant):
    """What a grant's state is called for people, in their language."""
    if grant.is_accepted:
        return _("Accepted")
    if grant.is_declined:
        return _("Declined by the municipality")
    return _("Waiting for the municipality's answer")


@bp.app_template_global()
def grant_for(application):
    """The grant of ``application`` for a page that links to it, or None."""
    return ops.grant_of(application)
