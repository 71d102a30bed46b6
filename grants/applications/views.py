"""The applicant's pages: dashboard, sections, attachments, check and submit, receipt, withdrawal."""

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants import drafts
from grants.applications import attachments as files
from grants.applications import operations as ops
from grants.applications import permissions, queries, sections, workflow
from grants.applications.documents import application_pdf
from grants.applications.forms import SECTION_FORMS, SECTION_TITLES, AttachmentForm, SubmitForm, WithdrawForm
from grants.applications.models import Attachment
from grants.applications.workflow import DECIDED_STATES, State
from grants.errors import DeadlinePassed, StaleData, ValidationFailed, message_for, render_error
from grants.extensions import db
from grants.frame import act
from grants.i18n import current_language
from grants.rounds.models import Round
from grants.rounds.queries import open_rounds

bp = Blueprint("applications", __name__, url_prefix="/soknader")


def load_application(application_id, *, edit=False):
    """The application for a kommune's page (or IMDi's reading of it): 404 if there is none, 404 to a kommune
    that may not see it (it learns nothing of others' applications), 403 to anyone else. ``edit``: the lead
    kommune's staff may change it now, or DeadlinePassed (the draft is kept and can be read)."""
    application = queries.application_for_view(application_id)
    if application is None:
        abort(404)
    user = current_user._get_current_object()
    if not permissions.can_view(application, user):
        abort(404 if user.role == "municipal" else 403)
    if edit and not permissions.can_edit(application, user):
        if application.state == State.draft and application.round.deadline_passed():
            raise DeadlinePassed("draft_locked")
        abort(403)
    return application


@bp.before_request
@login_required
def _logged_in():
    return None


def saved_rows(form):
    """(label, value) of each field of a section's form as people read it, in the page's language
    (grants.applications.sections.shown_rows)."""
    return sections.shown_rows(form, current_language())


def _field_named(form, name):
    """The field of ``form`` posted as ``name``, looking into list entries ("cost_lines-0-amount"); None if none."""
    for field in form:
        if field.name == name:
            return field
        if field.type == "FieldList":
            for entry in field.entries:
                found = _field_named(entry.form, name) if hasattr(entry, "form") else None
                if found is not None:
                    return found
    return None


@bp.context_processor
def _helpers():
    def section_form(application, section):
        """The section's form as saved, validated, so that what is not valid reads with its reason."""
        return sections.saved_section(application, section)

    return {"budget_totals": sections.budget_totals, "saved_rows": saved_rows, "section_form": section_form}


@bp.route("/")
def dashboard():
    if current_user.role != "municipal":
        abort(403)
    listing = queries.for_municipality(current_user.municipality_id, page=request.args.get("side", 1, type=int))
    return render_template("applications/dashboard.html", listing=listing, applications=listing.applications,
                           rounds=open_rounds())


@bp.route("/ny", methods=["POST"])
def start():
    round_ = db.get_or_404(Round, request.form.get("round_id", type=int))
    if not permissions.can_start_application(round_, current_user):
        abort(403)
    application = ops.start_application(round_, current_user)
    db.session.commit()
    return redirect(url_for("applications.overview", application_id=application.id))


@bp.route("/<int:application_id>")
def overview(application_id):
    application = load_application(application_id)
    return render_template(
        "applications/overview.html", application=application, status=sections.section_states(application),
        can_edit=permissions.can_edit(application, current_user),
        actions={str(t.action): t for t in workflow.available(application, current_user)},
        is_partner=permissions.is_partner_staff(application, current_user),
    )


def _section_page(application, section, form, *, conflict=None, saved=None, status=200):
    number, count = sections.position(section)
    page = render_template("applications/section.html", application=application, section=section,
                           title=SECTION_TITLES[section], form=form, conflict=conflict, saved=saved,
                           number=number, count=count)
    return page, status


def _kept_notice(section, valid):
    """The notice on the page a user goes on to after leaving a section whose draft was saved."""
    if valid:
        return _("%(section)s is saved.", section=SECTION_TITLES[section])
    return _("%(section)s is saved as a draft. Some fields need attention before you can submit.",
             section=SECTION_TITLES[section])


@bp.route("/<int:application_id>/del/<any(" + ",".join(SECTION_FORMS) + "):section>", methods=["GET", "POST"])
def section(application_id, section):
    """A section of the draft. Every post keeps what was typed, valid or not. "Save" goes back to the overview
    when the section is valid, "Save and continue" (``then=next``) to the next section (after the last: the
    check page). Leaving by a language button or a link (grants.drafts) keeps the draft first, saving only when
    something changed, then goes where it leads."""
    application = load_application(application_id, edit=True)
    if request.method == "GET":
        form = sections.build_form(application, section)
        if ops.section_answers(application, section) is not None:
            sections.validate_section(application, section, form)
            # What was saved carries no CSRF token; the page's form has its own, so that is no error to show.
            if "csrf_token" in form:
                form["csrf_token"].errors = []
        return _section_page(application, section, form)
    form = sections.build_form(application, section, request.form)
    editing_lines = section == "budget" and ("add_line" in request.form or "remove_line" in request.form)
    if section == "budget" and "add_line" in request.form:
        form.cost_lines.append_entry()
    elif section == "budget" and "remove_line" in request.form and len(form.cost_lines.entries) > 1:
        form.cost_lines.pop_entry()
    valid = sections.validate_section(application, section, form)
    leaving = drafts.leaving(request.form)
    changed = not leaving or ops.changes_draft(application, section, form, request.form)
    if changed:
        base = request.form.get("version", type=int)
        try:
            ops.save_section(application, current_user, section, request.form, base_version=base, form=form)
            db.session.commit()
        except ValidationFailed as error:  # a value far beyond any field's limit: nothing saved, all shown
            db.session.rollback()
            field = _field_named(form, error.detail.get("field"))
            message = message_for("too_long_value")
            if field is None:
                form.form_errors.append(message)
            else:
                field.errors = [*(field.errors or []), message]
            return _section_page(application, section, form, status=422)
        except StaleData as error:
            db.session.rollback()
            conflict = error.detail.get("meta") or {}
            application = queries.application_for_view(application_id)
            saved = sections.build_form(application, section)
            form.version.data = str(application.version)
            return _section_page(application, section, form, conflict=conflict, saved=saved, status=409)
    if leaving:
        here = url_for("applications.section", application_id=application.id, section=section)
        target = drafts.leave(request.form, here, (lambda: _kept_notice(section, valid)) if changed else None)
        db.session.commit()
        return redirect(target)
    if valid and not editing_lines:
        flash(_("%(section)s is saved.", section=SECTION_TITLES[section]), "success")
        if request.form.get("then") == "next":
            following = sections.following(section)
            if following is None:
                return redirect(url_for("applications.check", application_id=application.id))
            return redirect(url_for("applications.section", application_id=application.id, section=following))
        return redirect(url_for("applications.overview", application_id=application.id))
    if editing_lines:
        # A line added or taken away: the budget comes back to go on writing, not with the new empty line's errors.
        _forget_errors(form)
        form.version.data = str(application.version)
        return _section_page(application, section, form)
    if not valid:
        flash(_("Saved. Some fields need attention before you can submit."), "warning")
    form.version.data = str(application.version)
    return _section_page(application, section, form, status=200 if valid else 422)


def _forget_errors(form):
    """Clear the errors of ``form`` and of every form inside it (the budget's cost lines)."""
    form.form_errors = []
    for field in form:
        field.errors = []
        for entry in getattr(field, "entries", ()):
            if hasattr(entry, "form"):
                _forget_errors(entry.form)


@bp.route("/<int:application_id>/vedlegg", methods=["GET", "POST"])
def attachments(application_id):
    application = load_application(application_id)
    can_edit = permissions.can_edit(application, current_user)
    form = AttachmentForm()
    status = 200
    if request.method == "POST":
        if not can_edit:
            abort(403)
        upload = form.file.data
        return act(lambda: files.add_attachment(application, current_user, upload.filename, upload.read(),
                                                form.purpose.data),
                   form=form, field="file",
                   again=lambda f: render_template("applications/attachments.html", application=application,
                                                   form=f, can_edit=can_edit),
                   success=lambda _attachment: _("The file %(name)s is uploaded.",
                                                 name=files.clean_filename(upload.filename)),
                   done=url_for("applications.attachments", application_id=application.id))
    return render_template("applications/attachments.html", application=application, form=form,
                           can_edit=can_edit), status


@bp.route("/<int:application_id>/vedlegg/<int:attachment_id>")
def download(application_id, attachment_id):
    application = load_application(application_id)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.application_id != application.id:
        abort(404)
    if not permissions.can_download_attachment(application, current_user):
        abort(403)
    return send_file(files.path_of(attachment), mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachment.original_name, max_age=0)


@bp.route("/<int:application_id>/vedlegg/<int:attachment_id>/slett", methods=["POST"])
def remove(application_id, attachment_id):
    application = load_application(application_id, edit=True)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.application_id != application.id:
        abort(404)
    return act(lambda: files.remove_attachment(attachment, current_user),
               success=_("The file %(name)s is removed.", name=attachment.original_name),
               done=url_for("applications.attachments", application_id=application.id))


@bp.route("/<int:application_id>/kontroll")
def check(application_id):
    application = load_application(application_id)
    if application.state != State.draft:
        return redirect(url_for("applications.receipt", application_id=application.id))
    form = SubmitForm(submission_key=secrets.token_urlsafe(24))
    status = sections.completeness(application)
    complete = all(s == "complete" for _section, _title, s, _errors in status)
    submit = next((t for t in workflow.available(application, current_user) if t.action == workflow.Action.submit),
                  None)
    return render_template("applications/check.html", application=application, status=status, form=form,
                           complete=complete, can_submit=submit is not None, submit=submit)


@bp.route("/<int:application_id>/send", methods=["POST"])
def submit(application_id):
    application = load_application(application_id)
    form = SubmitForm()
    if not form.validate_on_submit():
        abort(400)
    problems = sections.problems(application) if application.state == State.draft else []
    try:
        ops.submit_application(application, current_user, submission_key=form.submission_key.data,
                               snapshot=sections.snapshot(application), problems=problems)
    except ValidationFailed:
        db.session.rollback()
        flash(_("The application is not complete. See what is missing below."), "error")
        return redirect(url_for("applications.check", application_id=application_id))
    db.session.commit()
    return redirect(url_for("applications.receipt", application_id=application_id))


@bp.route("/<int:application_id>/kvittering")
def receipt(application_id):
    application = load_application(application_id)
    if application.reference is None:
        return redirect(url_for("applications.overview", application_id=application.id))
    return render_template("applications/receipt.html", application=application)


@bp.route("/<int:application_id>/soknad.pdf")
def pdf(application_id):
    application = load_application(application_id)
    from io import BytesIO

    name = f"soknad-{application.reference or application.id}.pdf"
    return send_file(BytesIO(application_pdf(application)), mimetype="application/pdf", as_attachment=True,
                     download_name=name, max_age=0)


@bp.route("/<int:application_id>/trekk", methods=["GET", "POST"])
def withdraw(application_id):
    application = load_application(application_id)
    if not permissions.can_withdraw(application, current_user):
        if permissions.is_lead_staff(application, current_user) and application.state in DECIDED_STATES:
            return render_error(409, _("IMDi has decided on this application and sent the decision, so it can no "
                                       "longer be withdrawn. If you do not want a grant you were given, contact "
                                       "IMDi."))
        abort(403)
    form = WithdrawForm()
    if request.method == "GET":
        return render_template("applications/withdraw.html", application=application, form=form)
    return act(lambda: ops.withdraw_application(application, current_user, form.reason.data), form=form,
               field="reason", again=lambda f: render_template("applications/withdraw.html", application=application,
                                                               form=f),
               success=_("The application is withdrawn."),
               done=url_for("applications.overview", application_id=application.id))
