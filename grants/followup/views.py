"""The grant's pages: the kommune's answer to its grant (under /soknader) and IMDi's overview of a round's grants
(under /saksbehandling). Every view names its parts for grants.frame.act."""

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.accounts.mfa_session import fresh_second_factor
from grants.applications.views import load_application
from grants.core import spreadsheet
from grants.core.timeutil import now_utc, oslo_date
from grants.extensions import db
from grants.followup import figures, permissions, reports
from grants.followup import operations as ops
from grants.followup.figures import REPORT_STATUS_TITLES
from grants.followup.forms import AcceptForm, DeclineForm, PaidForm, PaymentForm
from grants.followup.models import (
    GRANT_STATE_TITLES,
    PAYMENT_STATE_TITLES,
    REPORT_STATE_TITLES,
    Grant,
    Payment,
)
from grants.frame import act, acting_user
from grants.i18n import title_in
from grants.rounds.models import Round

bp = Blueprint("followup", __name__)



def _grant_page(application, grant, accept_form, decline_form):
    user = acting_user()
    return render_template("followup/grant.html", application=application, grant=grant, accept_form=accept_form,
                           decline_form=decline_form, can_answer=permissions.can_answer(grant, user),
                           latest_report=reports.latest_report(grant), can_report=reports.may_write(grant, user),
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
    if not permissions.can_answer(grant, acting_user()):
        abort(403)
    here = url_for("followup.grant", application_id=application.id)
    if request.form.get("answer") == "decline":
        return act(lambda: ops.decline_grant(grant, acting_user(), decline_form.reason.data), form=decline_form,
                   again=lambda f: _grant_page(application, grant, AcceptForm(formdata=None, prefix="accept"), f),
                   success=_("The grant is declined. IMDi is told."), done=here)
    return act(lambda: ops.accept_grant(grant, acting_user(), account=accept_form.account.data,
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
    grants, waiting, reports = ops.round_overview(round_.id)
    follow_up = figures.per_grant(round_.id)
    return render_template("followup/round_grants.html", round=round_, grants=grants, waiting=waiting,
                           reports=reports, today=oslo_date(now_utc()), follow_up={f.grant_id: f for f in follow_up},
                           figures=figures.for_round(round_.id, follow_up=follow_up))


# --- IMDi: one grant and its payments ------------------------------------------------------------------------

def _staff_grant(grant_id):
    if not permissions.can_follow_up(current_user):
        abort(403)
    return db.get_or_404(Grant, grant_id)


def _imdi_grant_page(grant, payment_form=None, paid_forms=None):
    user = acting_user()
    payments = sorted(grant.payments, key=lambda p: p.id)
    can_propose = permissions.can_propose_payment(grant, user)
    paid_forms = paid_forms or {}
    return render_template(
        "followup/imdi_grant.html", grant=grant, application=grant.application, payments=payments,
        payable=ops.payable_now(grant), held_back=ops.held_back(grant), paid=sum(p.amount for p in payments
                                                                                 if p.is_paid),
        payment_form=payment_form or (PaymentForm(formdata=None, prefix="payment") if can_propose else None),
        can_approve={p.id for p in payments if permissions.can_approve_payment(p, user)},
        can_handle=permissions.can_handle_payment(grant, user),
        paid_forms={p.id: paid_forms.get(p.id) or PaidForm(formdata=None, prefix=f"paid-{p.id}")
                    for p in payments if p.awaits_payment})


@bp.route("/saksbehandling/tilsagn/<int:grant_id>")
@login_required
def imdi_grant(grant_id):
    """IMDi's page of one grant: its answer, its payments, and what can be paid now."""
    return _imdi_grant_page(_staff_grant(grant_id))


@bp.route("/saksbehandling/tilsagn/<int:grant_id>/utbetalinger", methods=["POST"])
@login_required
def propose_payment(grant_id):
    grant = _staff_grant(grant_id)
    if not permissions.can_propose_payment(grant, acting_user()):
        abort(403)
    form = PaymentForm(prefix="payment")
    return act(lambda: ops.propose_payment(grant, acting_user(), form.amount.amount, form.note.data), form=form,
               again=lambda f: _imdi_grant_page(grant, payment_form=f),
               success=_("The payment is proposed. Another person must approve it."),
               done=url_for("followup.imdi_grant", grant_id=grant.id) + "#payments")


def _staff_payment(payment_id):
    if not permissions.can_follow_up(current_user):
        abort(403)
    return db.get_or_404(Payment, payment_id)


@bp.route("/saksbehandling/utbetalinger/<int:payment_id>/godkjenn", methods=["POST"])
@login_required
@fresh_second_factor
def approve_payment(payment_id):
    payment = _staff_payment(payment_id)
    if not permissions.can_approve_payment(payment, acting_user()):
        abort(403)
    back = url_for("followup.imdi_grant", grant_id=payment.grant_id) + "#payments"
    return act(lambda: ops.approve_payment(payment, acting_user()), refused=back, done=back,
               success=_("The payment is approved and goes into the payment file."))


@bp.route("/saksbehandling/utbetalinger/<int:payment_id>/betalt", methods=["POST"])
@login_required
@fresh_second_factor
def mark_paid(payment_id):
    payment = _staff_payment(payment_id)
    grant = payment.grant
    if not permissions.can_handle_payment(grant, acting_user()):
        abort(403)
    form = PaidForm(prefix=f"paid-{payment.id}")
    back = url_for("followup.imdi_grant", grant_id=grant.id) + "#payments"
    return act(lambda: ops.mark_paid(payment, acting_user(), form.paid_on.data), form=form, refused=back, done=back,
               again=lambda f: _imdi_grant_page(grant, paid_forms={payment.id: f}),
               success=_("The payment is recorded as paid. The municipality is told."))


@bp.route("/saksbehandling/utbetalinger/<int:payment_id>/trekk", methods=["POST"])
@login_required
def withdraw_payment(payment_id):
    payment = _staff_payment(payment_id)
    if not permissions.can_handle_payment(payment.grant, acting_user()):
        abort(403)
    back = url_for("followup.imdi_grant", grant_id=payment.grant_id) + "#payments"
    return act(lambda: ops.withdraw_payment(payment, acting_user()), refused=back, done=back,
               success=_("The payment is withdrawn."))


@bp.route("/saksbehandling/runder/<int:round_id>/utbetalingsfil.<any(csv,xlsx):fmt>")
@login_required
def payment_file(round_id, fmt):
    """The round's approved payments not yet paid, as a file for the accounting system (CSV for Excel, or XLSX)."""
    if not permissions.can_follow_up(current_user):
        abort(403)
    round_ = db.get_or_404(Round, round_id)
    rows = ops.payment_file_rows(round_.id)
    name = f"utbetalinger-{round_.reference_prefix}"
    if fmt == "csv":
        return Response(spreadsheet.to_csv(ops.PAYMENT_FILE_HEADER, rows), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    body = spreadsheet.to_xlsx(ops.PAYMENT_FILE_HEADER, rows, name,
                               kroner_columns=(ops.PAYMENT_FILE_HEADER.index("amount"),))
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@bp.app_template_global()
def payment_state_label(payment):
    return title_in(PAYMENT_STATE_TITLES, payment.state)


@bp.app_template_global()
def grant_state_label(grant):
    """What a grant's state is called for people, in their language."""
    return title_in(GRANT_STATE_TITLES, grant.state)


@bp.app_template_global()
def grant_for(application):
    """The grant of ``application`` for a page that links to it, or None."""
    return ops.grant_of(application)


@bp.app_template_global()
def report_state_label(report):
    """What a version of a report's state is called for people, in their language."""
    return title_in(REPORT_STATE_TITLES, report.state)


@bp.app_template_global()
def report_status_label(status):
    """Where a grant's report stands (grants.followup.figures.ReportStatus), for people, in their language."""
    return title_in(REPORT_STATUS_TITLES, status)
