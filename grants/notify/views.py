"""The administrators' outbox: every notice, its state, the reason it failed, and a resend button."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from grants.extensions import db
from grants.notify.delivery import resend
from grants.notify.messages import render_notice
from grants.notify.models import Notice, NoticeState

bp = Blueprint("notify", __name__, url_prefix="/admin/utsendinger")
PAGE_SIZE = 50
# Who may read the outbox: a predicate (user -> bool) the app gives when it registers the blueprint, so that this
# infrastructure knows no roles of its own. Nobody until then.
_may_view = {"check": lambda _user: False}


def allow_viewers(check):
    """Let the users for whom ``check(user)`` is true read the outbox and resend failed notices."""
    _may_view["check"] = check


@bp.before_request
@login_required
def _admins_only():
    if not _may_view["check"](current_user):
        abort(403)


@bp.route("/")
def outbox():
    state = request.args.get("state")
    page = max(request.args.get("page", 1, type=int), 1)
    query = select(Notice).order_by(Notice.created_at.desc(), Notice.id.desc())  # newest first, by when made
    if state in NoticeState.__members__:
        query = query.where(Notice.state == state)
    notices = db.session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    counts = dict(db.session.execute(select(Notice.state, func.count()).group_by(Notice.state)).all())
    return render_template("notify/outbox.html", notices=notices, counts=counts, state=state, page=page,
                           page_size=PAGE_SIZE, states=list(NoticeState), form=FlaskForm())


@bp.route("/<int:notice_id>")
def show(notice_id):
    notice = db.get_or_404(Notice, notice_id)
    subject, text, _html = render_notice(notice)
    return render_template("notify/notice.html", notice=notice, subject=subject, text=text, form=FlaskForm())


@bp.route("/<int:notice_id>/send-igjen", methods=["POST"])
def resend_notice(notice_id):
    notice = db.get_or_404(Notice, notice_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if notice.state != NoticeState.failed:
        flash(_("Only a failed notice can be sent again."), "warning")
    else:
        resend(notice, current_user)
        db.session.commit()
        flash(_("The notice is queued again."), "success")
    return redirect(url_for("notify.show", notice_id=notice.id))
