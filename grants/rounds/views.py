"""Administrators create and change rounds."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from grants.accounts.permissions import can_manage_rounds
from grants.errors import ValidationFailed
from grants.extensions import db
from grants.frame import act, put_error
from grants.rounds import operations as ops
from grants.rounds.forms import DeadlineChangeForm, RoundForm
from grants.rounds.models import Round, Scheme
from grants.rounds.queries import round_with_criteria

bp = Blueprint("rounds", __name__, url_prefix="/admin/utlysninger")

@bp.before_request
@login_required
def _admins_only():
    if not can_manage_rounds(current_user):
        abort(403)


@bp.route("/")
def admin_list():
    rounds = db.session.scalars(select(Round).order_by(Round.deadline_at.desc())).all()
    return render_template("rounds/admin_list.html", rounds=rounds)


def _save(form, round_=None):
    try:
        if round_ is None:
            scheme = db.session.scalar(select(Scheme).order_by(Scheme.id))
            round_ = ops.create_round(scheme, current_user, criteria=form.criteria_values(), **form.values())
        else:
            ops.update_round(round_, current_user, **form.values())
            ops.set_criteria(round_, form.criteria_values())
        db.session.flush()
    except ValidationFailed as error:
        db.session.rollback()
        put_error(form, error)
        return None
    db.session.commit()
    return round_


@bp.route("/ny", methods=["GET", "POST"])
def new():
    form = RoundForm()
    if request.method == "GET":
        for code, weight, nb, nn, en in ops.DEFAULT_CRITERIA:
            form.criteria.append_entry({"code": code, "weight": weight, "title_nb": nb, "title_nn": nn,
                                        "title_en": en, "scale_min": 1, "scale_max": 6})
        form.criteria.entries.pop(0)
    if form.validate_on_submit() and (round_ := _save(form)) is not None:
        flash(_("The round is created."), "success")
        return redirect(url_for("public.round_detail", round_id=round_.id))
    return render_template("rounds/edit.html", form=form, round=None), 422 if form.errors else 200


@bp.route("/<int:round_id>", methods=["GET", "POST"])
def edit(round_id):
    round_ = round_with_criteria(round_id) or abort(404)
    form = RoundForm(obj=round_)
    locked = ops.has_received_applications(round_)
    if locked:  # shown as they are; the server refuses a change all the same (update_round)
        for name in ops.LOCKED_ONCE_RECEIVED:
            form[name].render_kw = {**(form[name].render_kw or {}), "readonly": True}
    if request.method == "GET":
        form.budget.data = round_.budget
    if form.validate_on_submit() and _save(form, round_) is not None:
        flash(_("The round is saved."), "success")
        return redirect(url_for("rounds.edit", round_id=round_.id))
    return render_template("rounds/edit.html", form=form, round=round_, locked=locked), \
        422 if form.errors else 200


@bp.route("/<int:round_id>/frist", methods=["GET", "POST"])
def change_deadline(round_id):
    round_ = db.get_or_404(Round, round_id)
    form = DeadlineChangeForm()
    if request.method == "GET":
        form.deadline_date.data = round_.deadline_date
        return render_template("rounds/change_deadline.html", form=form, round=round_)
    return act(lambda: ops.change_deadline(round_, current_user, form.deadline_date.data, form.reason.data),
               form=form, again=lambda f: render_template("rounds/change_deadline.html", form=f, round=round_),
               success=lambda told: ngettext("The deadline is changed. %(num)d person is told by e-mail.",
                                             "The deadline is changed. %(num)d people are told by e-mail.", told),
               done=url_for("rounds.edit", round_id=round_.id))
