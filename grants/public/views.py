"""Public pages: the rounds, a round's call text, the accessibility statement, the language switch."""

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_login import current_user

from grants.core.urls import safe_next
from grants.extensions import db
from grants.i18n import LANGUAGE_NAMES
from grants.rounds.queries import public_rounds, round_with_criteria
from grants.templating import landing_endpoint

bp = Blueprint("public", __name__)


@bp.route("/")
def index():
    open_, upcoming, past = public_rounds()
    return render_template("public/index.html", open_rounds=open_, upcoming=upcoming, past=past)


@bp.route("/start")
def home():
    """Where a user lands after logging in."""
    return redirect(url_for(landing_endpoint(current_user)))


@bp.route("/utlysninger/<int:round_id>")
def round_detail(round_id):
    round_ = round_with_criteria(round_id) or abort(404)
    return render_template("public/round.html", round=round_)


@bp.route("/tilgjengelighet")
def accessibility():
    return render_template("public/accessibility.html")


@bp.route("/sprak", methods=["POST"])
def set_language():
    lang = request.form.get("lang")
    if lang not in LANGUAGE_NAMES:
        abort(400)
    session["lang"] = lang
    if current_user.is_authenticated:
        current_user.language = lang
        db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("public.index")))


@bp.route("/helse")
def health():
    """For load balancers: the app answers and the database answers."""
    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}
