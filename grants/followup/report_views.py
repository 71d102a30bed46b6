"""The report's pages: the kommune writes and sends its report on a grant (under /soknader), IMDi's caseworker reads
and assesses it (under /saksbehandling). Views are thin: they load, check who may, and run one use case of
grants.followup.reports through grants.frame.act."""

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from grants import drafts
from grants.accounts.mfa_session import fresh_second_factor
from grants.applications import attachments as files
from grants.applications.views import load_application
from grants.core.money import parse_kroner
from grants.core.timeutil import now_utc, oslo_date
from grants.errors import DomainError, StaleData
from grants.extensions import db
from grants.followup import operations as ops
from grants.followup import permissions, reports
from grants.followup.forms import (
    ApproveReportForm,
    ApproveWithClaimForm,
    ReportAttachmentForm,
    ReportForm,
    ReturnReportForm,
)
from grants.followup.models import Grant, Report, ReportAttachment
from grants.followup.views import bp
from grants.frame import act, acting_user, put_error
from grants.i18n import kroner


def _grant_of(application):
    grant = ops.grant_of(application)
    if grant is None:
        abort(404)
    return grant


def report_form(grant, report, formdata=None):
    """The report's form for ``grant``: from ``formdata`` (a POST), else from what ``report`` (a version, or None)
    holds; one spending entry per line of the granted budget, each labelled with the line and its budget."""
    lines = grant.application.cost_lines
    if formdata is None:
        formdata = MultiDict(list(((report.answers if report else None) or {}).items()))
    form = ReportForm(formdata=formdata)
    while len(form.spending.entries) < len(lines):
        form.spending.append_entry()
    del form.spending.entries[len(lines):]
    for entry, line in zip(form.spending.entries, lines, strict=True):
        entry.label.text = _("%(line)s (budget %(amount)s)", line=line.description, amount=kroner(line.amount))
    if report is not None:
        form.version.data = str(report.version)
    return form


def spending_rows(grant, report):
    """(cost line, kroner spent or None) for each line of the granted budget, as ``report`` says."""
    answers = (report.answers or {}) if report else {}
    rows = []
    for index, line in enumerate(grant.application.cost_lines):
        try:
            spent = parse_kroner(answers.get(f"spending-{index}"))
        except ValueError:
            spent = None
        rows.append((line, spent))
    return rows


def _report_page(application, grant, form, attachment_form=None, status=200):
    versions = reports.reports_of(grant)
    draft = versions[-1] if versions and versions[-1].is_draft else None
    returned = next((v for v in reversed(versions) if v.is_returned), None)
    page = render_template(
        "followup/report_form.html", application=application, grant=grant, form=form, versions=versions,
        draft=draft, returned=returned, attachment_form=attachment_form or ReportAttachmentForm(formdata=None),
        paid=ops.paid_on_grant(grant), max_attachments=reports.MAX_ATTACHMENTS)
    return page, status


@bp.route("/soknader/<int:application_id>/rapport", methods=["GET", "POST"])
@login_required
def report(application_id):
    """The kommune's report on its grant: written in any order and kept as a draft, then sent. Someone who may
    not write it (IMDi, a partner kommune, a report already sent) is shown the versions sent."""
    application = load_application(application_id)
    grant = _grant_of(application)
    user = acting_user()
    if not reports.may_write(grant, user):
        if request.method == "POST":
            abort(403)
        latest = next((v for v in reversed(reports.reports_of(grant)) if not v.is_draft), None)
        if latest is None:
            abort(404)
        return redirect(url_for("followup.report_version", application_id=application.id, number=latest.number))
    if request.method == "GET":
        return _report_page(application, grant, report_form(grant, reports.latest_report(grant)))
    form = report_form(grant, None, request.form)
    valid = form.validate()
    here = url_for("followup.report", application_id=application.id)
    if drafts.leaving(request.form) and not reports.changes_draft(grant, _typed(form)):
        # Left as it came, by a language button or a link: nothing to keep, no new draft.
        target = drafts.leave(request.form, here)
        db.session.commit()
        return redirect(target)
    draft, refused = _keep_typed(application, grant, form)
    if refused is not None:
        return refused
    # A language button or a link left by (grants.drafts): the draft is kept, go where it leads.
    target = drafts.leave(request.form, here, lambda: _("The draft is saved. Send the report when it is complete."))
    if target is not None:
        db.session.commit()
        return redirect(target)
    if request.form.get("action") != "submit":
        flash(_("The draft is saved. Send the report when it is complete."), "success")
        return redirect(url_for("followup.report", application_id=application.id))
    if not valid:
        flash(_("Saved. Some fields need attention before you can send the report."), "warning")
        return _report_page(application, grant, form, status=422)
    return act(lambda: reports.submit(draft, user, participants=form.participants.data,
                                      spending=[entry.amount for entry in form.spending],
                                      own_contribution=form.own_contribution.amount, unused=form.unused.amount),
               form=form, again=lambda f: _report_page(application, grant, f)[0],
               done=lambda sent: url_for("followup.report_version", application_id=application.id,
                                         number=sent.number),
               success=_("The report is sent. A receipt is sent to you by e-mail."))


def _typed(form):
    """The report's own fields as posted ({name: str}), or None when the request carried none of them."""
    names = form.own_fields()
    return {name: request.form.get(name, "") for name in names} if any(n in request.form for n in names) else None


def _keep_typed(application, grant, form):
    """Save what was typed on the report's page as the draft, valid or not, and commit it: a draft is never lost,
    whichever button was pressed (send, save, upload or remove a document). This is the one place a report view
    commits outside grants.frame.act: the draft must stay even when the step that follows is refused.
    Returns (draft, None), or (None, the page again with the error) when the save is refused: a value far over
    its limit (422), or someone else's save since the page was opened (409: the page then carries the version
    saved now, so that saving again on purpose goes through). A request that carries none of the report's fields
    keeps the draft as it is."""
    try:
        draft = reports.keep_typed(grant, acting_user(), _typed(form),
                                   base_version=request.form.get("version", type=int))
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        put_error(form, error)
        stale = isinstance(error, StaleData)
        if stale:
            form.version.data = str(reports.latest_report(grant).version)
        return None, _report_page(application, grant, form, status=409 if stale else 422)
    form.version.data = str(draft.version)
    return draft, None


@bp.route("/soknader/<int:application_id>/rapport/<int:number>")
@login_required
def report_version(application_id, number):
    """One version of the report as sent (the receipt after sending), for the kommune and for IMDi."""
    application = load_application(application_id)
    grant = _grant_of(application)
    version = db.session.scalar(db.select(Report).where(Report.grant_id == grant.id, Report.number == number))
    if version is None or version.is_draft:
        abort(404)
    return render_template("followup/report_version.html", application=application, grant=grant, report=version,
                           rows=spending_rows(grant, version), paid=ops.paid_on_grant(grant),
                           can_write=reports.may_write(grant, acting_user()),
                           min_participants=reports.MIN_PARTICIPANTS)


@bp.route("/soknader/<int:application_id>/rapport/vedlegg", methods=["POST"])
@login_required
def add_report_attachment(application_id):
    application = load_application(application_id)
    grant = _grant_of(application)
    user = acting_user()
    if not reports.may_write(grant, user):
        abort(403)
    form = report_form(grant, None, request.form)
    draft, refused = _keep_typed(application, grant, form)
    if refused is not None:
        return refused
    upload_form = ReportAttachmentForm()
    here = url_for("followup.report", application_id=application.id) + "#documents"

    def add():
        upload = upload_form.file.data
        return reports.add_attachment(draft, user, upload.filename, upload.read())

    return act(add, form=upload_form, field="file",
               again=lambda f: _report_page(application, grant, form, attachment_form=f)[0],
               done=here, success=lambda a: _("%(name)s is added to the report.", name=a.original_name))


@bp.route("/soknader/<int:application_id>/rapport/vedlegg/<int:report_attachment_id>/slett", methods=["POST"])
@login_required
def remove_report_attachment(application_id, report_attachment_id):
    application = load_application(application_id)
    grant = _grant_of(application)
    attachment = db.session.get(ReportAttachment, report_attachment_id)
    if attachment is None or attachment.report.grant_id != grant.id:
        abort(404)
    if not reports.may_write(grant, acting_user()):
        abort(403)
    _draft, refused = _keep_typed(application, grant, report_form(grant, None, request.form))
    if refused is not None:
        return refused
    here = url_for("followup.report", application_id=application.id) + "#documents"
    return act(lambda: reports.remove_attachment(attachment, acting_user()), refused=here, done=here,
               success=_("%(name)s is removed from the report.", name=attachment.original_name))


@bp.route("/rapportvedlegg/<int:report_attachment_id>")
@login_required
def report_attachment(report_attachment_id):
    """A document with a report, for those who may see the grant (404 to anyone else: they learn nothing)."""
    attachment = db.session.get(ReportAttachment, report_attachment_id)
    if attachment is None or not reports.may_read_attachment(attachment, current_user):
        abort(404)
    return send_file(files.path_of(attachment), mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachment.original_name, max_age=0)


# --- IMDi: assessing the report --------------------------------------------------------------------------------

def _claim_form(report, formdata=None):
    """The form that approves ``report`` with a repayment claim: the amount starts as the unused funds reported,
    the due date 30 days ahead."""
    if formdata is not None:
        return ApproveWithClaimForm(formdata=formdata, prefix="claim")
    return ApproveWithClaimForm(formdata=None, prefix="claim",
                     data={"amount": report.unused or None if report else None,
                           "due_on": oslo_date(now_utc()) + timedelta(days=30)})


def _assess_page(grant, approve_form=None, return_form=None, claim_form=None, status=200):
    versions = reports.reports_of(grant)
    sent = [v for v in versions if not v.is_draft]
    current = sent[-1] if sent else None
    can_assess = current is not None and current.awaits_assessment and reports.may_assess(grant, acting_user())
    page = render_template(
        "followup/report_assess.html", grant=grant, application=grant.application, versions=sent, report=current,
        rows=spending_rows(grant, current) if current else [], paid=ops.paid_on_grant(grant),
        min_participants=reports.MIN_PARTICIPANTS, can_assess=can_assess,
        drafting=bool(versions) and versions[-1].is_draft,
        approve_form=approve_form or ApproveReportForm(formdata=None, prefix="approve"),
        return_form=return_form or ReturnReportForm(formdata=None, prefix="return"),
        claim_form=claim_form or _claim_form(current))
    return page, status


def _staff_grant(grant_id):
    if not permissions.can_follow_up(current_user):
        abort(403)
    return db.get_or_404(Grant, grant_id)


@bp.route("/saksbehandling/tilsagn/<int:grant_id>/rapport")
@login_required
def assess_report(grant_id):
    """IMDi's reading of a grant's report: the version sent last beside the granted budget, the earlier versions,
    and the caseworker's assessment: approve, or return for changes."""
    return _assess_page(_staff_grant(grant_id))


def _staff_report(report_id):
    if not permissions.can_follow_up(current_user):
        abort(403)
    report = db.get_or_404(Report, report_id)
    if not reports.may_assess(report.grant, acting_user()):
        abort(403)
    return report


@bp.route("/saksbehandling/rapporter/<int:report_id>/godkjenn", methods=["POST"])
@login_required
@fresh_second_factor
def approve_report(report_id):
    report = _staff_report(report_id)
    form = ApproveReportForm(prefix="approve")
    back = url_for("followup.assess_report", grant_id=report.grant_id)
    return act(lambda: reports.approve(report, acting_user(), form.note.data), form=form, field="note",
               again=lambda f: _assess_page(report.grant, approve_form=f)[0], refused=back, done=back,
               success=_("The report is approved and the case is closed. The municipality is told."))


@bp.route("/saksbehandling/rapporter/<int:report_id>/godkjenn-med-krav", methods=["POST"])
@login_required
@fresh_second_factor
def approve_report_with_claim(report_id):
    """Approve the report and propose a repayment claim on the grant (unused funds, or money not used as granted);
    a second person approves the claim before the kommune gets its letter."""
    report = _staff_report(report_id)
    form = _claim_form(report, request.form)
    back = url_for("followup.assess_report", grant_id=report.grant_id)
    return act(lambda: reports.approve_with_claim(report, acting_user(), form.note.data, amount=form.amount.amount,
                                                  reason=form.reason.data, due_on=form.due_on.data),
               form=form, again=lambda f: _assess_page(report.grant, claim_form=f)[0], refused=back,
               done=url_for("followup.imdi_grant", grant_id=report.grant_id) + "#claims",
               success=_("The report is approved and the repayment claim proposed. Another person must approve the "
                         "claim before the municipality gets its letter."))


@bp.route("/saksbehandling/rapporter/<int:report_id>/returner", methods=["POST"])
@login_required
def return_report(report_id):
    report = _staff_report(report_id)
    form = ReturnReportForm(prefix="return")
    back = url_for("followup.assess_report", grant_id=report.grant_id)
    return act(lambda: reports.return_for_changes(report, acting_user(), form.message.data, form.resubmit_by.data),
               form=form, again=lambda f: _assess_page(report.grant, return_form=f)[0], refused=back, done=back,
               success=_("The report is returned for changes. The municipality is told."))
