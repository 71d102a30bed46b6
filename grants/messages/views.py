"""The messages of a case: the kommune's page (under /soknader) and IMDi's (under /saksbehandling). Every view
names its parts for grants.frame.act."""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from grants.applications import queries as application_queries
from grants.applications.views import load_application
from grants.core.timeutil import now_utc, oslo_date
from grants.frame import act, acting_user
from grants.messages import operations as ops
from grants.messages import permissions
from grants.messages.forms import ImdiMessageForm, MessageForm

bp = Blueprint("messages", __name__)



def _page(application, form, *, imdi):
    user = acting_user()
    request_ = ops.open_request(application)
    return render_template(
        "messages/thread.html", application=application, messages=ops.thread(application, user), form=form,
        imdi=imdi, can_write=permissions.can_write(application, user), request_=request_,
        late=request_ is not None and oslo_date(now_utc()) > request_.answer_by,
        can_ask=imdi and permissions.can_ask(application, user))


def _answer(application, form, *, imdi, back):
    if not permissions.can_write(application, acting_user()):
        abort(403)
    return act(lambda: ops.write(application, acting_user(), form.body.data,
                                 internal=getattr(form, "internal", None) is not None and form.internal.data,
                                 answer_by=form.answer_by.data if imdi else None),
               form=form, again=lambda f: _page(application, f, imdi=imdi),
               success=_("The message is sent.") if not (imdi and form.internal.data) else _("The note is saved."),
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
