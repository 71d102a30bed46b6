"""Administrators create and change rounds."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from grants.accounts.permissions import can_manage_rounds
from grants.errors import ValidationFailed
from grants.extensions import db
from grants.rounds import operations as ops
from grants.rounds.forms import RoundForm
from grants.rounds.models import Round, Scheme
from grants.rounds.queries import round_with_criteria

bp = Blueprint("rounds", __name__, url_prefix="/admin/utlysninger")

ROUND_ERRORS = {
    "deadline_before_opening": lambda: _("The deadline must be after the opening."),
    "budget_not_positive": lambda: _("The amount must be more than zero."),
}


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
        getattr(form, error.detail["field"]).errors.append(ROUND_ERRORS[error.message]())
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
    if request.method == "GET":
        form.budget.data = round_.budget
    if form.validate_on_submit() and _save(form, round_) is not None:
        flash(_("The round is saved."), "success")
        return redirect(url_for("rounds.edit", round_id=round_.id))
    return render_template("rounds/edit.html", form=form, round=round_), 422 if form.errors else 200
