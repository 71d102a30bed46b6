"""The messages of a case: the kommune's page (under /soknader) and IMDi's (under /saksbehandling), the documents
attached to messages, and the documents the kommune sends afterwards to its application while IMDi asks for
information. Every view that changes something names its parts for grants.frame.act."""

from flask import Blueprint, abort, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_required

from grants.applications import attachments as files
from grants.applications import queries as application_queries
from grants.applications.views import load_application
from grants.core.timeutil import now_utc, oslo_date
from grants.frame import act, acting_user
from grants.messages import operations as ops
from grants.messages import permissions, queries
from grants.messages.forms import ImdiMessageForm, MessageForm, SupplementForm

bp = Blueprint("messages", __name__)


def _page(application, form, *, imdi, supplement_form=None):
    user = acting_user()
    request_ = ops.open_request(application)
    can_add_supplement = not imdi and permissions.can_add_supplement(application, user)
    return render_template(
        "messages/thread.html", application=application, messages=ops.thread(application, user), form=form,
        imdi=imdi, can_write=permissions.can_write(application, user), request_=request_,
        late=request_ is not None and oslo_date(now_utc()) > request_.answer_by,
        can_ask=imdi and permissions.can_ask(application, user), supplements=queries.supplements(application),
        can_add_supplement=can_add_supplement,
        supplement_form=supplement_form or (SupplementForm(prefix="supplement") if can_add_supplement else None))


def _sent(message):
    if message.internal:
        return _("The note is saved.")
    if message.attachments:
        return ngettext("The message is sent with %(num)d document.", "The message is sent with %(num)d documents.",
                        len(message.attachments))
    return _("The message is sent.")


def _answer(application, form, *, imdi, back):
    if not permissions.can_write(application, acting_user()):
        abort(403)
    return act(lambda: ops.write(application, acting_user(), form.body.data,
                                 internal=getattr(form, "internal", None) is not None and form.internal.data,
                                 answer_by=form.answer_by.data if imdi else None, uploads=form.uploads()),
               form=form, again=lambda f: _page(application, f, imdi=imdi), success=_sent,
               done=back + "#new-message")


@bp.route("/soknader/<int:application_id>/meldinger", methods=["GET", "POST"])
@login_required
def kommune_thread(application_id):
    application = load_application(application_id)  # 404 for a kommune that has no part in it
    if not permissions.can_read(application, acting_user()):
        abort(404)
    if permissions.sees_internal(acting_user()):  # IMDi's staff read the case's messages on IMDi's side
        return redirect(url_for("messages.imdi_thread", application_id=application.id))
    form = MessageForm()
    if request.method == "GET":
        return _page(application, form, imdi=False)
    return _answer(application, form, imdi=False,
                   back=url_for("messages.kommune_thread", application_id=application.id))


@bp.route("/saksbehandling/soknader/<int:application_id>/meldinger", methods=["GET", "POST"])
@login_required
def imdi_thread(application_id):
    if not permissions.sees_internal(acting_user()):
        abort(403)
    application = application_queries.application_for_view(application_id)
    if application is None or not permissions.can_read(application, acting_user()):
        abort(404)
    form = ImdiMessageForm()
    if request.method == "GET":
        return _page(application, form, imdi=True)
    return _answer(application, form, imdi=True,
                   back=url_for("messages.imdi_thread", application_id=application.id))


@bp.route("/soknader/<int:application_id>/meldinger/vedlegg/<int:file_id>")
@login_required
def download(application_id, file_id):
    """A document attached to a message, for whoever may read the message (both sides use this address); 404 to
    anyone else, who learns nothing of the case, not even that the document exists."""
    item = queries.message_attachment(application_id, file_id)
    application = application_queries.application_for_view(application_id) if item is not None else None
    if application is None or not permissions.can_download(item.message, acting_user()):
        abort(404)
    response = send_file(files.path_of(item), mimetype=item.content_type, as_attachment=True,
                         download_name=item.original_name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/soknader/<int:application_id>/meldinger/ettersending", methods=["POST"])
@login_required
def add_supplement(application_id):
    """The lead kommune adds a document to its submitted application while IMDi's request for information is
    open; the page of the messages shows the form."""
    application = load_application(application_id)  # 404 for a kommune that has no part in it
    if not permissions.can_supplement(application, acting_user()):
        abort(403)
    form = SupplementForm(prefix="supplement")
    back = url_for("messages.kommune_thread", application_id=application.id)
    upload = form.file.data
    return act(lambda: ops.add_supplement(application, acting_user(), upload.filename, upload.read()),
               form=form, field="file",
               again=lambda f: _page(application, MessageForm(formdata=None), imdi=False, supplement_form=f),
               success=lambda supplement: _("The document %(name)s is added to the application.",
                                            name=supplement.attachment.original_name),
               done=back + "#supplements", refused=back)


@bp.app_template_global()
def supplements_of(application):
    """The documents the kommune sent afterwards to ``application`` (Supplement rows), for the pages that list
    the application's documents."""
    return queries.supplements(application)
